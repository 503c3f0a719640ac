// collect_inventory() and the format dispatch. See include/vgpu/formats.hpp.
#include <unistd.h>

#include <array>
#include <map>

#include "backends/mdev/mdev.hpp"
#include "formats/common.hpp"

namespace vgpu::formats {
namespace {

constexpr std::array<std::pair<Format, std::string_view>, 6> format_names = {{
    {Format::libvirt_nodedev, "libvirt-nodedev"},
    {Format::libvirt_hostdev, "libvirt-hostdev"},
    {Format::mdevctl, "mdevctl"},
    {Format::placement, "placement"},
    {Format::dra, "dra"},
    {Format::nvidia_vgpu_config, "nvidia-vgpu-config"},
}};

std::string system_hostname() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "localhost";
  return name.data();
}

// The kernel's type id for @p type: the mdev directory when sysfs has one, else the driver's
// id from the catalog, else a stand-in derived from the name.
std::string kernel_id(const VgpuType& type, const std::map<std::string, std::string>* mdev_ids) {
  if (mdev_ids) {
    if (auto it = mdev_ids->find(type.name); it != mdev_ids->end()) return it->second;
  }
  if (type.id.value != 0) return "nvidia-" + std::to_string(type.id.value);
  return "vgpu-" + detail::dns_label(type.name);
}

// The GPU as its kernel interface sees it: mdev allows one vGPU type per GPU
// (reference/vgpu-domain.md section 2), whatever the Manager's rules say, so what an mdev
// host offers is replayed under that rule.
Result<GpuOccupancy> occupancy_for(const GpuOccupancy& engine, const std::string& backend) {
  if (backend != "mdev" || engine.options().one_type_per_gpu) return engine;
  OccupancyOptions rules = engine.options();
  rules.one_type_per_gpu = true;
  GpuOccupancy strict(engine.gpu(), rules);
  for (const auto& o : engine.occupants())
    if (auto added = strict.add(o.uuid, *o.type, o.placement); !added)
      return added.error().with_context("GPU " + engine.gpu().address.to_string() +
                                        " holds vGPUs mdev would not allow together");
  return strict;
}

}  // namespace

std::string_view to_string(Format format) {
  for (const auto& [f, name] : format_names)
    if (f == format) return name;
  return "unknown";
}

Result<Format> parse_format(std::string_view name) {
  std::string valid;
  for (const auto& [f, n] : format_names) {
    if (n == name) return f;
    valid += (valid.empty() ? "" : ", ") + std::string(n);
  }
  return fail(Errc::invalid_argument,
              "unknown export format " + vgpu::detail::quoted(name) + "; valid formats: " + valid);
}

Result<Inventory> collect_inventory(Manager& manager, const InventoryOptions& options) {
  auto engine = manager.snapshot();
  if (!engine) return engine.error();
  auto records = manager.instances();
  if (!records) return records.error();
  Inventory inventory;
  inventory.node = options.node.empty() ? system_hostname() : options.node;
  inventory.backend = std::string(manager.backend_name());

  std::map<PciAddress, std::map<std::string, std::string>> mdev_ids;
  if (inventory.backend == "mdev") {
    sys::BackendOptions bo;
    bo.sysfs_root = options.sysfs_root;
    bo.catalog = std::make_shared<const TypeCatalog>(manager.catalog());
    bo = sys::resolve_backend_options(bo);
    for (std::size_t g = 0; g < engine->gpu_count(); ++g) {
      const PciAddress address = engine->gpu(static_cast<GpuIndex>(g)).gpu().address;
      auto ids = sys::mdev::type_ids(bo, address);
      if (!ids)
        return ids.error().with_context("reading the mdev types of GPU " + address.to_string());
      mdev_ids[address] = std::move(*ids);
    }
  }

  for (std::size_t i = 0; i < engine->gpu_count(); ++i) {
    const auto g = static_cast<GpuIndex>(i);
    auto occupancy = occupancy_for(engine->gpu(g), inventory.backend);
    if (!occupancy) return occupancy.error();
    GpuInventory gpu{*occupancy, {}, {}};
    const auto ids = mdev_ids.find(gpu.gpu().address);
    for (const VgpuType* t : engine->supported_types(g)) {
      TypeOffer offer;
      offer.type = t;
      offer.kernel_id = kernel_id(*t, ids == mdev_ids.end() ? nullptr : &ids->second);
      for (const auto& o : gpu.occupancy.occupants())
        offer.existing += o.type->name == t->name ? 1 : 0;
      offer.available = gpu.occupancy.remaining(*t);
      gpu.types.push_back(std::move(offer));
    }
    for (const auto& r : *records)
      if (r.gpu == gpu.gpu().address) gpu.vgpus.push_back(r);
    inventory.gpus.push_back(std::move(gpu));
  }
  return inventory;
}

Result<std::vector<Document>> export_documents(const Inventory& inventory, Format format,
                                               const ExportOptions& options) {
  switch (format) {
    case Format::libvirt_nodedev:
      return detail::libvirt_nodedev(inventory, options);
    case Format::libvirt_hostdev:
      return detail::libvirt_hostdev(inventory, options);
    case Format::mdevctl:
      return detail::mdevctl(inventory, options);
    case Format::placement:
      return detail::placement(inventory, options);
    case Format::dra:
      return detail::dra(inventory, options);
    case Format::nvidia_vgpu_config:
      return detail::nvidia_vgpu_config(inventory, options);
  }
  return fail(Errc::invalid_argument, "unknown export format");
}

Result<std::string> export_inventory(const Inventory& inventory, Format format,
                                     const ExportOptions& options) {
  if (format == Format::dra) {
    auto slices = detail::dra_slices(inventory, options);
    if (!slices) return slices.error();
    if (options.dra_json) {
      detail::ojson list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", *slices}};
      return detail::dump(list);
    }
    std::string out;
    for (const auto& s : *slices)
      out += "---\n" + detail::to_yaml(s);
    return out;
  }
  auto documents = export_documents(inventory, format, options);
  if (!documents) return documents.error();
  if (format == Format::mdevctl && !options.uuid) return detail::mdevctl_list(*documents);
  std::string out;
  for (const auto& d : *documents)
    out += d.text;
  return out;
}

}  // namespace vgpu::formats
