// NVIDIA vgpu-device-manager configs (api/spec/v1/spec.go):
//
//   version: v1
//   vgpu-configs:
//     NAME:
//       - devices: all | [0, 1]          # GPU indices, PCI bus order
//         device-filter: "0x25B610DE"    # optional: PCI device and vendor id, or a list of them
//         vgpu-devices: {"A16-2Q": 8}
//
// Export describes what each GPU holds now; import turns one config into a HostState.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include "common/read_file.hpp"
#include "formats/common.hpp"

namespace vgpu::formats {
namespace detail {

Result<std::vector<Document>> nvidia_vgpu_config(const Inventory& inventory,
                                                 const ExportOptions& options) {
  auto gpus = selected_gpus(inventory, options);
  if (!gpus) return gpus.error();
  if (options.config_name.empty())
    return fail(Errc::invalid_argument, "the config needs a name; give --config NAME");
  // GPUs with the same vGPUs share an entry; entries in the order of their first GPU.
  std::vector<std::pair<ojson, std::vector<std::size_t>>> entries;
  for (const auto* g : *gpus) {
    std::map<std::string, std::uint32_t> counts;
    for (const auto& o : g->occupancy.occupants())
      ++counts[o.type->name];
    ojson devices = ojson::object();
    for (const auto& [type, n] : counts)
      devices[type] = n;
    const auto index = static_cast<std::size_t>(g - inventory.gpus.data());
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const auto& e) { return e.first == devices; });
    if (it == entries.end())
      entries.push_back({devices, {index}});
    else
      it->second.push_back(index);
  }
  ojson list = ojson::array();
  const bool all = !options.gpu && entries.size() == 1;
  for (const auto& [devices, indices] : entries)
    list.push_back({{"devices", all ? ojson("all") : ojson(indices)}, {"vgpu-devices", devices}});
  if (list.empty()) list.push_back({{"devices", "all"}, {"vgpu-devices", ojson::object()}});
  ojson doc = {{"version", "v1"}, {"vgpu-configs", {{options.config_name, list}}}};
  return std::vector<Document>{{"nvidia-vgpu-config", "", to_yaml(doc)}};
}

}  // namespace detail

namespace {

// Reads a vgpu-device-manager document with errors "ORIGIN:LINE:COLUMN: PATH: message".
class Reader {
 public:
  Reader(std::string_view origin, const TypeCatalog& catalog)
      : origin_(origin), catalog_(catalog) {}

  [[nodiscard]] Error error(const YAML::Node& at, const std::string& path,
                            const std::string& message) const {
    const YAML::Mark m = at.Mark();
    std::string where = origin_;
    if (!m.is_null())
      where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    // Paths hold the file's own keys (config names, type names), which may hold any byte.
    return fail(
        Errc::invalid_argument,
        where + ": " + (path.empty() ? "" : vgpu::detail::escape_bytes(path) + ": ") + message);
  }

  // The entries of mapping @p node, keys checked against @p allowed and for duplicates.
  Result<std::vector<std::pair<std::string, YAML::Node>>> mapping(
      const YAML::Node& node, const std::string& path, std::initializer_list<const char*> allowed,
      const std::string& what) const {
    if (!node.IsMap()) return error(node, path, "expected " + what + ", got " + describe(node));
    std::vector<std::pair<std::string, YAML::Node>> out;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar())
        return error(kv.first, path, "a key must be text, got " + describe(kv.first));
      const std::string key = kv.first.Scalar();
      for (const auto& seen : out)
        if (seen.first == key)
          return error(kv.first, path,
                       "key " + vgpu::detail::quoted(key) + " appears twice; keep one");
      if (allowed.size() != 0 &&
          std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; })) {
        std::string valid;
        for (const char* a : allowed)
          valid += (valid.empty() ? "" : ", ") + std::string(a);
        return error(kv.first, path,
                     "unknown key " + vgpu::detail::quoted(key) + "; valid keys here: " + valid);
      }
      out.emplace_back(key, kv.second);
    }
    return out;
  }

  // A decimal number written plain (not quoted), at most @p max.
  Result<std::uint32_t> number(const YAML::Node& node, const std::string& path,
                               std::uint32_t max) const {
    const bool plain = node.IsScalar() && node.Tag() == "?";
    const std::string text = node.IsScalar() ? node.Scalar() : "";
    if (!plain || text.empty() || text.size() > 9 ||
        !std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return error(node, path, "expected a whole number, got " + describe(node));
    const auto n = std::stoul(text);
    if (n > max)
      return error(node, path, text + " is too large (at most " + std::to_string(max) + ")");
    return static_cast<std::uint32_t>(n);
  }

  [[nodiscard]] static std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
      case YAML::NodeType::Null:
        return "nothing";
      case YAML::NodeType::Scalar:
        return (node.Tag() == "?" ? "" : "the text ") + vgpu::detail::quoted(node.Scalar());
      case YAML::NodeType::Sequence:
        return "a list";
      case YAML::NodeType::Map:
        return "a mapping";
      case YAML::NodeType::Undefined:
        break;
    }
    return "nothing";
  }

  [[nodiscard]] const TypeCatalog& catalog() const { return catalog_; }

 private:
  std::string origin_;
  const TypeCatalog& catalog_;
};

constexpr std::uint32_t max_count = 4096;

// One entry of a config, read but not yet matched to GPUs.
struct Entry {
  YAML::Node node;
  std::string path;
  bool all = false;
  std::vector<std::pair<std::uint32_t, YAML::Node>> indices;
  std::vector<std::uint32_t> filters;  // (device << 16) | vendor
  std::vector<std::tuple<TypeRef, std::uint32_t, YAML::Node>> types;
};

Result<std::uint32_t> device_filter(const Reader& r, const YAML::Node& node,
                                    const std::string& path) {
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  if (!node.IsScalar())
    return r.error(node, path,
                   "expected a PCI id such as \"0x25B610DE\", got " + Reader::describe(node));
  if (text.find(':') != std::string::npos)
    return r.error(node, path,
                   "subsystem ids (" + vgpu::detail::quoted(text) +
                       ") are not supported: vgpu does not know the GPUs' subsystem ids; filter "
                       "by device and vendor id (\"0xDDDDVVVV\") or list the GPUs in devices");
  const bool hex = text.size() == 10 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') &&
                   std::all_of(text.begin() + 2, text.end(),
                               [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!hex)
    return r.error(node, path,
                   "expected a PCI device and vendor id as 0x followed by 8 hex digits (device, "
                   "then vendor: \"0x25B610DE\" for an A16), got " +
                       Reader::describe(node));
  return static_cast<std::uint32_t>(std::stoul(text.substr(2), nullptr, 16));
}

Result<Entry> read_entry(const Reader& r, const YAML::Node& node, const std::string& path) {
  auto fields = r.mapping(node, path, {"devices", "device-filter", "vgpu-devices"},
                          "an entry with devices and vgpu-devices");
  if (!fields) return fields.error();
  Entry e;
  e.node = node;
  e.path = path;
  bool has_devices = false, has_types = false;
  for (const auto& [key, value] : *fields) {
    const std::string at = path + "." + key;
    if (key == "devices") {
      has_devices = true;
      if (value.IsScalar() && value.Scalar() == "all") {
        e.all = true;
      } else if (value.IsSequence()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
          auto n = r.number(value[i], at + "[" + std::to_string(i) + "]", 1u << 16);
          if (!n) return n.error();
          e.indices.emplace_back(*n, value[i]);
        }
      } else {
        return r.error(value, at,
                       "expected \"all\" or a list of GPU indices such as [0, 1], got " +
                           Reader::describe(value));
      }
    } else if (key == "device-filter") {
      if (value.IsSequence()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
          auto f = device_filter(r, value[i], at + "[" + std::to_string(i) + "]");
          if (!f) return f.error();
          e.filters.push_back(*f);
        }
      } else {
        auto f = device_filter(r, value, at);
        if (!f) return f.error();
        e.filters.push_back(*f);
      }
    } else {
      has_types = true;
      if (value.IsNull()) continue;  // "vgpu-devices:" with nothing: no vGPUs
      auto types =
          r.mapping(value, at, {}, "a mapping of vGPU types to counts, e.g. {\"A16-2Q\": 4}");
      if (!types) return types.error();
      for (const auto& [name, count] : *types) {
        const std::string type_at = at + "." + vgpu::detail::printable(name);
        auto ref = r.catalog().find_type(name);
        if (!ref) return r.error(count, type_at, ref.error().message());
        auto n = r.number(count, type_at, max_count);
        if (!n) return n.error();
        if (*n == 0)
          return r.error(count, type_at,
                         "the count must be at least 1; leave the type out instead");
        if (!e.types.empty() &&
            std::get<0>(e.types.front()).type->is_mig_backed() != ref->type->is_mig_backed())
          return r.error(count, type_at,
                         "cannot mix time-sliced and MIG-backed vGPU types on one GPU (" +
                             std::get<0>(e.types.front()).type->name + " and " + ref->type->name +
                             "); put them in entries for different GPUs");
        e.types.emplace_back(*ref, *n, count);
      }
    }
  }
  if (!has_devices)
    return r.error(node, path, "missing devices: say which GPUs (\"all\" or indices like [0, 1])");
  if (!has_types)
    return r.error(node, path,
                   "missing vgpu-devices: say which vGPUs those GPUs get, e.g. {\"A16-2Q\": 4} "
                   "(or {} for none)");
  return e;
}

bool matches_filter(const Entry& e, const PhysicalGpu& gpu) {
  if (e.filters.empty()) return true;
  for (auto f : e.filters) {
    const auto device = static_cast<std::uint16_t>(f >> 16);
    const auto vendor = static_cast<std::uint16_t>(f & 0xffff);
    const auto& ids = gpu.model->pci_device_ids;
    if (vendor == 0x10de && std::find(ids.begin(), ids.end(), device) != ids.end()) return true;
  }
  return false;
}

Result<HostState> parse_document(const Reader& r, const YAML::Node& root,
                                 const std::vector<PhysicalGpu>& gpus, std::string_view wanted) {
  auto top = r.mapping(root, "", {"version", "vgpu-configs"},
                       "a vgpu-device-manager config (version: v1, vgpu-configs: ...)");
  if (!top) return top.error();
  YAML::Node configs;
  bool versioned = false, has_configs = false;
  for (const auto& [key, value] : *top) {
    if (key == "version") {
      if (!value.IsScalar() || value.Scalar() != "v1")
        return r.error(value, "version",
                       "unknown version " + Reader::describe(value) + "; vgpu reads version v1");
      versioned = true;
    } else {
      configs = value;
      has_configs = true;
    }
  }
  if (!versioned)
    return r.error(root, "", "missing version: the file must start with \"version: v1\"");
  if (!has_configs)
    return r.error(root, "",
                   "missing vgpu-configs: add the named configs (vgpu-configs: NAME: ...)");
  auto named = r.mapping(configs, "vgpu-configs", {}, "a mapping of config names to entries");
  if (!named) return named.error();
  if (named->empty()) return r.error(configs, "vgpu-configs", "no config in it; add at least one");

  std::map<std::string, std::vector<Entry>> read;
  for (const auto& [name, list] : *named) {
    // Paths name the file's own keys, which may hold any byte, and end up inside messages
    // (other entries' paths too): printable from the start.
    const std::string path = "vgpu-configs." + vgpu::detail::printable(name);
    if (!list.IsSequence() || list.size() == 0)
      return r.error(
          list, path,
          "expected a list of at least one entry (- devices: ..., "
          "vgpu-devices: ...), got " +
              (list.IsSequence() ? std::string("an empty list") : Reader::describe(list)));
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto e = read_entry(r, list[i], path + "[" + std::to_string(i) + "]");
      if (!e) return e.error();
      read[name].push_back(std::move(*e));
    }
  }

  std::string chosen(wanted);
  std::string names;
  for (const auto& [name, list] : read)
    names += (names.empty() ? "" : ", ") + vgpu::detail::printable(name);
  if (chosen.empty()) {
    if (read.count("default"))
      chosen = "default";
    else if (read.size() == 1)
      chosen = read.begin()->first;
    else
      return r.error(configs, "vgpu-configs",
                     "the file has several configs (" + names +
                         ") and none is called \"default\"; choose one with --config NAME");
  }
  auto it = read.find(chosen);
  if (it == read.end())
    return r.error(configs, "vgpu-configs",
                   "no config " + vgpu::detail::quoted(chosen) + "; the file has " + names);

  HostState state;
  std::map<std::size_t, std::string> claimed;  // GPU index -> entry path
  for (const auto& e : it->second) {
    std::vector<std::pair<std::size_t, YAML::Node>> targets;
    if (e.all) {
      for (std::size_t i = 0; i < gpus.size(); ++i)
        targets.emplace_back(i, e.node);
    } else {
      for (const auto& [index, node] : e.indices) {
        if (index >= gpus.size())
          return r.error(node, e.path + ".devices",
                         "no GPU with index " + std::to_string(index) + ": this host has " +
                             std::to_string(gpus.size()) + " GPUs (indices 0 to " +
                             std::to_string(gpus.size() == 0 ? 0 : gpus.size() - 1) +
                             ", in PCI address order; `vgpuctl gpus` lists them)");
        targets.emplace_back(index, node);
      }
    }
    for (const auto& [index, node] : targets) {
      const PhysicalGpu& gpu = gpus[index];
      if (!matches_filter(e, gpu)) continue;
      const std::string label = "GPU " + std::to_string(index) + " (" + gpu.address.to_string() +
                                ", " + gpu.model->name + ")";
      if (auto [c, fresh] = claimed.emplace(index, e.path); !fresh)
        return r.error(node, e.path + ".devices",
                       c->second == e.path ? label + " is listed twice; list it once"
                                           : label + " is already configured by " + c->second +
                                                 "; name each GPU in one entry");
      for (const auto& [ref, count, type_node] : e.types) {
        if (ref.model->name != gpu.model->name)
          return r.error(type_node, e.path + ".vgpu-devices." + ref.type->name,
                         label + " has no " + ref.type->name + " (a " + ref.model->name +
                             " type); give this GPU a type of its own model "
                             "(`vgpuctl types --gpu " +
                             gpu.address.to_string() + "`)");
        // What no mode of the GPU can hold is the file's mistake: said here, at its line,
        // rather than by apply() later. Whether the types fit together is apply()'s to say.
        const std::uint32_t most = std::max(ref.type->max_instances, ref.type->max_instances_mixed);
        if (count > most)
          return r.error(type_node, e.path + ".vgpu-devices." + ref.type->name,
                         label + " holds at most " + std::to_string(most) + " " + ref.type->name +
                             ", not " + std::to_string(count) + "; lower the count");
        DesiredVgpus d;
        d.type = ref.type->name;
        d.count = count;
        d.gpu = gpu.address;
        state.vgpus.push_back(std::move(d));
      }
    }
  }
  return state;
}

// Up to two: the documents in @p text. yaml-cpp 0.7 (Debian 12) reads some malformed input as
// an endless run of empty documents, on which YAML::LoadAll() never returns while it allocates
// (a fuzzing finding; yaml-cpp's upstream fix came later), so documents are counted with the
// parser and no further than needed to tell one from several.
std::size_t count_documents(const std::string& text) {
  struct Ignore final : YAML::EventHandler {
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } ignore;
  std::istringstream in(text);
  YAML::Parser parser(in);
  std::size_t n = 0;
  while (n < 2 && parser.HandleNextDocument(ignore))
    ++n;
  return n;
}

}  // namespace

Result<HostState> parse_nvidia_vgpu_config(std::string_view text, std::string_view origin,
                                           const std::vector<PhysicalGpu>& gpus,
                                           const TypeCatalog& catalog, std::string_view config) {
  const Reader r(origin, catalog);
  const std::string source(text);
  std::size_t count = 0;
  YAML::Node document;
  try {
    count = count_documents(source);
    if (count == 1) document = YAML::Load(source);
  } catch (const YAML::Exception& e) {
    std::string where(origin);
    if (!e.mark.is_null())
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return fail(
        Errc::invalid_argument,
        where + ": not valid YAML: " + vgpu::detail::escape_bytes(e.msg) +
            "; fix the file (a vgpu-device-manager config: version: v1, vgpu-configs: ...)");
  }
  if (count == 0)
    return fail(Errc::invalid_argument,
                std::string(origin) +
                    ": the file is empty; write a vgpu-device-manager config "
                    "(version: v1, vgpu-configs: ...)");
  if (count != 1)
    return fail(Errc::invalid_argument,
                std::string(origin) +
                    ": expected one YAML document, found more (or YAML that yaml-cpp reads as "
                    "endless empty documents); keep one config file per document");
  try {
    return parse_document(r, document, gpus, config);
  } catch (const YAML::Exception& e) {
    return fail(Errc::invalid_argument, std::string(origin) + ": cannot read the config: " +
                                            vgpu::detail::escape_bytes(e.msg));
  }
}

Result<HostState> load_nvidia_vgpu_config(const std::filesystem::path& path,
                                          const std::vector<PhysicalGpu>& gpus,
                                          const TypeCatalog& catalog, std::string_view config) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail(Errc::invalid_argument,
                path.string() + " is a directory; give a vgpu-device-manager config file (YAML)");
  auto text = files::read_text(path, "vgpu-device-manager config");
  if (!text) return text.error();
  return parse_nvidia_vgpu_config(*text, path.string(), gpus, catalog, config);
}

}  // namespace vgpu::formats
