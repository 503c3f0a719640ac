// OpenStack Placement: one child resource provider per physical GPU under the compute node's
// root provider, modelled as Nova's libvirt driver does (nova/virt/libvirt/driver.py,
// _get_gpu_inventories): one vGPU type per GPU, total = existing vGPUs of that type + what
// can still be created, min_unit = step_size = 1, reserved = 0, max_unit = total,
// allocation_ratio = 1.0, and a custom trait naming the type.
#include <cctype>
#include <map>

#include "formats/common.hpp"

namespace vgpu::formats::detail {
namespace {

// "NVIDIA A16-2Q", "a16-2q", "RTX6000-Ada-1Q" -> "A162Q", "RTX6000ADA1Q": how a type name
// given for --type is compared with the catalog's spelling.
std::string loose_key(std::string_view name) {
  std::string key;
  for (char c : name)
    if (std::isalnum(static_cast<unsigned char>(c)))
      key += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string_view prefix : {"NVIDIA", "GRID"})
    if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0)
      key.erase(0, prefix.size());
  return key;
}

// The type GPU @p g offers Placement: the type of most of its vGPUs, else the first of
// @p wanted it can create; null when neither.
const TypeOffer* offered_type(const GpuInventory& g, const std::vector<std::string>& wanted) {
  const TypeOffer* best = nullptr;
  for (const auto& t : g.types)
    if (t.existing > 0 && (!best || t.existing > best->existing)) best = &t;
  if (best) return best;
  for (const auto& name : wanted)
    for (const auto& t : g.types)
      if (loose_key(t.type->name) == loose_key(name) && t.available > 0) return &t;
  return nullptr;
}

// A numeric NVIDIA mdev type id ("nvidia-558" -> "558"), else empty.
std::string numeric_id(const std::string& kernel_id) {
  const std::string prefix = "nvidia-";
  if (kernel_id.rfind(prefix, 0) != 0 || kernel_id.size() == prefix.size()) return "";
  const std::string digits = kernel_id.substr(prefix.size());
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return "";
  return digits;
}

}  // namespace

Result<std::vector<Document>> placement(const Inventory& inventory, const ExportOptions& options) {
  auto gpus = selected_gpus(inventory, options);
  if (!gpus) return gpus.error();
  for (const auto& name : options.placement_types) {
    bool known = false;
    for (const auto& g : inventory.gpus)
      for (const auto& t : g.types)
        known = known || loose_key(t.type->name) == loose_key(name);
    if (!known)
      return fail(Errc::invalid_argument,
                  "--type " + vgpu::detail::quoted(name) +
                      ": no GPU of this host offers that type in its current mode "
                      "(`vgpuctl types --creatable` lists what each GPU offers)");
  }
  if (inventory.node.empty() || inventory.node.size() > 150)
    return fail(Errc::invalid_argument,
                "the host name " + vgpu::detail::quoted(inventory.node) +
                    " cannot prefix a resource provider name (1 to 150 characters, Placement "
                    "allows 200 in all); give --node NAME");

  ojson providers = ojson::array();
  std::map<std::string, std::vector<std::string>> addresses_by_type;  // Nova's [mdev_*] groups
  std::vector<std::string> enabled;                                   // in order of first use
  for (const auto* g : *gpus) {
    const TypeOffer* t = offered_type(*g, options.placement_types);
    if (!t) continue;
    const std::uint32_t total = t->existing + t->available;
    if (total == 0) continue;  // Nova deletes such a provider
    const std::string type = upper_identifier(t->type->name);
    const std::string resource_class =
        options.custom_resource_class ? "CUSTOM_VGPU_" + type : std::string("VGPU");
    ojson traits = ojson::array({"CUSTOM_NVIDIA_" + type});
    if (auto id = numeric_id(t->kernel_id); !id.empty()) traits.push_back("CUSTOM_NVIDIA_" + id);
    ojson provider = {{"name", inventory.node + "_" + nodedev_name(g->gpu().address)},
                      {"parent_provider_name", inventory.node},
                      {"inventories",
                       {{resource_class,
                         {{"total", total},
                          {"reserved", 0},
                          {"min_unit", 1},
                          {"max_unit", total},
                          {"step_size", 1},
                          {"allocation_ratio", 1.0}}}}},
                      {"traits", traits},
                      {"gpu", g->gpu().address.to_string()},
                      {"vgpu_type", t->type->name},
                      {"mdev_type", t->kernel_id},
                      {"existing_vgpus", t->existing}};
    providers.push_back(std::move(provider));
    auto& list = addresses_by_type[t->kernel_id];
    if (list.empty()) enabled.push_back(t->kernel_id);
    list.push_back(g->gpu().address.to_string());
  }

  ojson nova = {{"devices", {{"enabled_mdev_types", enabled}}}};
  for (const auto& id : enabled) {
    ojson group = {{"device_addresses", addresses_by_type[id]}};
    if (options.custom_resource_class) {
      for (const auto& p : providers)
        if (p["mdev_type"] == id) group["mdev_class"] = p["inventories"].begin().key();
    }
    nova["mdev_" + id] = std::move(group);
  }
  ojson doc = {{"root_provider_name", inventory.node},
               {"resource_providers", std::move(providers)},
               {"nova_conf", std::move(nova)}};
  return std::vector<Document>{{"placement", "", dump(doc)}};
}

}  // namespace vgpu::formats::detail
