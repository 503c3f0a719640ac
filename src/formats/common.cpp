// Helpers the export formats share. See common.hpp.
#include "formats/common.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace vgpu::formats::detail {
namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// Replaces every run of characters @p keep refuses by one @p sep, and trims @p sep at both
// ends; @p map turns a kept character into its output form.
template <typename Keep, typename Map>
std::string squeeze(std::string_view text, char sep, Keep keep, Map map) {
  std::string out;
  for (char c : text) {
    if (keep(c))
      out += map(c);
    else if (!out.empty() && out.back() != sep)
      out += sep;
  }
  while (!out.empty() && out.back() == sep)
    out.pop_back();
  return out;
}

// A string YAML 1.1 and 1.2 both read back as this string when it is written plain.
bool plain_yaml(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    const bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) return false;
  }
  static constexpr std::array<std::string_view, 10> special = {
      "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan"};
  const std::string lower = vgpu::detail::to_lower(s);
  return std::find(special.begin(), special.end(), lower) == special.end();
}

std::string yaml_flow(const ojson& array);

std::string yaml_scalar(const ojson& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (plain_yaml(s)) return s;
  }
  if (j.is_object()) return "{}";
  if (j.is_array()) return j.empty() ? "[]" : yaml_flow(j);
  // JSON's double-quoted strings, numbers, booleans and null are valid YAML.
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

// A short list of scalars, written in flow style: "[0, 1]".
std::string yaml_flow(const ojson& array) {
  if (!array.is_array()) return "";
  std::string out;
  for (const auto& item : array) {
    if (item.is_object() || item.is_array()) return "";
    out += (out.empty() ? "[" : ", ") + yaml_scalar(item);
  }
  return out.size() < 60 ? out + "]" : "";
}

bool yaml_block(const ojson& j) {
  return (j.is_object() || j.is_array()) && !j.empty() && yaml_flow(j).empty();
}

void write_yaml_object(std::string& out, const ojson& object, std::size_t indent, bool after_dash);
void write_yaml_array(std::string& out, const ojson& array, std::size_t indent);

// Writes @p value after the "key:" of a mapping entry or the "-" of a list item at @p indent.
void write_yaml_value(std::string& out, const ojson& value, std::size_t indent, bool item) {
  if (!yaml_block(value)) {
    out += " " + yaml_scalar(value) + "\n";
  } else if (value.is_object()) {
    out += item ? " " : "\n";  // an object in a list starts on the dash's line
    write_yaml_object(out, value, indent + 2, item);
  } else {
    out += "\n";
    write_yaml_array(out, value, item ? indent + 2 : indent);
  }
}

// Writes the entries of @p object at @p indent; with @p after_dash the first entry follows a
// "- " already written.
void write_yaml_object(std::string& out, const ojson& object, std::size_t indent, bool after_dash) {
  bool first = true;
  for (const auto& [key, value] : object.items()) {
    if (!(first && after_dash)) out.append(indent, ' ');
    first = false;
    out += yaml_scalar(ojson(key)) + ":";
    write_yaml_value(out, value, indent, false);
  }
}

void write_yaml_array(std::string& out, const ojson& array, std::size_t indent) {
  for (const auto& item : array) {
    out.append(indent, ' ');
    out += "-";
    write_yaml_value(out, item, indent, true);
  }
}

}  // namespace

std::string dns_label(std::string_view text) {
  return squeeze(
      text, '-', [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; },
      [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
}

bool is_dns_label(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  if (!is_lower_alnum(text.front()) || !is_lower_alnum(text.back())) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool is_dns_subdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    if (!is_dns_label(text.substr(start, dot == std::string_view::npos ? dot : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string upper_identifier(std::string_view text) {
  return squeeze(
      text, '_', [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; },
      [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
}

std::string nodedev_name(const PciAddress& address) {
  std::string name = "pci_" + address.to_string();
  std::replace(name.begin(), name.end(), ':', '_');
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

Result<std::vector<const GpuInventory*>> selected_gpus(const Inventory& inventory,
                                                       const ExportOptions& options) {
  std::vector<const GpuInventory*> out;
  for (const auto& g : inventory.gpus)
    if (!options.gpu || g.gpu().address == *options.gpu) out.push_back(&g);
  if (options.gpu && out.empty())
    return fail(Errc::not_found,
                "no GPU " + options.gpu->to_string() + " on this host (`vgpuctl gpus` lists them)");
  return out;
}

Result<std::vector<SelectedVgpu>> selected_vgpus(const Inventory& inventory,
                                                 const ExportOptions& options) {
  auto gpus = selected_gpus(inventory, options);
  if (!gpus) return gpus.error();
  std::vector<SelectedVgpu> out;
  for (const auto* g : *gpus)
    for (const auto& v : g->vgpus)
      if (v.state == VgpuState::active && (!options.uuid || v.uuid == *options.uuid))
        out.push_back({g, &v});
  if (!options.uuid || !out.empty()) return out;
  const std::string uuid = options.uuid->to_string();
  for (const auto& g : inventory.gpus)
    for (const auto& v : g.vgpus) {
      if (v.uuid != *options.uuid) continue;
      if (v.state != VgpuState::active)
        return fail(Errc::not_found,
                    "vGPU " + uuid + " is " + std::string(to_string(v.state)) +
                        " (another process is creating or destroying it); export it once "
                        "`vgpuctl list` shows it active");
      return fail(Errc::not_found, "vGPU " + uuid + " is on GPU " + v.gpu.to_string() + ", not " +
                                       options.gpu->to_string() + "; drop --gpu or name its GPU");
    }
  return fail(Errc::not_found, "no vGPU " + uuid + " on this host (`vgpuctl list` lists them)");
}

const TypeOffer* find_offer(const GpuInventory& gpu, std::string_view name) {
  for (const auto& t : gpu.types)
    if (t.type->name == name) return &t;
  return nullptr;
}

std::string dump(const ojson& j) {
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

std::string to_yaml(const ojson& j) {
  std::string out;
  if (j.is_object() && !j.empty())
    write_yaml_object(out, j, 0, false);
  else if (j.is_array() && !j.empty())
    write_yaml_array(out, j, 0);
  else
    out = yaml_scalar(j) + "\n";
  return out;
}

}  // namespace vgpu::formats::detail
