// The RFC's VF sysfs interface: enable VFs through sriov_numvfs, read each VF's
// nvidia/creatable_vgpu_types, create by writing a type id to nvidia/current_vgpu_type,
// destroy by writing 0, choose the placement through nvidia/vgpu_params in mixed-size mode.
//
// The kernel keeps no UUID, owner or creation time for a VF's vGPU, so the backend records them
// in <state_dir>/nvidia-vfio/<VF address> (JSON). A record counts only while the VF still holds
// the type it names; a vGPU without a valid record gets a UUID derived from its VF address and
// type id (stable across calls, documented in docs/backends.md).
#include "backends/nvidia_vfio/nvidia_vfio.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

namespace vgpu::sys::nvidia_vfio {
namespace {

namespace fs = std::filesystem;

constexpr std::uint16_t nvidia_vendor = 0x10de;

// A UUID for a vGPU vgpu did not create: the same VF and type id always give the same one
// (UUID version 8, "custom", RFC 9562; two 64-bit FNV-1a hashes of the text).
Uuid derived_uuid(const PciAddress& vf, std::uint32_t type_id) {
  const std::string text = "vgpu-vf:" + vf.to_string() + ":" + std::to_string(type_id);
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t h = 1469598103934665603ull ^ (half * 0x9e3779b97f4a7c15ull);
    for (char c : text) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    for (std::size_t i = 0; i < 8; ++i)
      bytes[half * 8 + i] = static_cast<std::uint8_t>(h >> (8 * i));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x80);
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);
  return Uuid(bytes);
}

Result<std::uint32_t> read_u32(const fs::path& path) {
  auto text = sysfs::read(path);
  if (!text) return text.error();
  auto n = sysfs::parse_number(*text);
  if (!n || *n > UINT32_MAX)
    return fail(Errc::io_error, path.string() + " holds " + detail::quoted(*text) +
                                    ", not a number; the driver or the file is broken "
                                    "(report it with the file's content)");
  return static_cast<std::uint32_t>(*n);
}

// What writing @p id to current_vgpu_type failing with errno means.
Error current_type_error(const Error& e, const PciAddress& gpu, const PciAddress& vf,
                         std::uint32_t id, std::string_view type) {
  const std::string what = "cannot create " + std::string(type) + " (type id " +
                           std::to_string(id) + ") on VF " + vf.to_string() + " of GPU " +
                           gpu.to_string();
  switch (e.os_errno()) {
    case EBUSY:
      return fail(Errc::busy,
                  what +
                      ": the VF's VFIO device is open (a VM is using it); stop that VM or "
                      "let vgpu pick another VF",
                  EBUSY);
    case ENODEV:
      return fail(Errc::not_supported,
                  what +
                      ": the driver does not know this type id; the catalog and the driver "
                      "disagree (see nvidia/creatable_vgpu_types of the VF) - update the "
                      "catalog or the driver",
                  ENODEV);
    case EINVAL:
      return fail(Errc::conflict,
                  what +
                      ": another vGPU type is active on this GPU (equal-size mode hosts one "
                      "framebuffer size per GPU); destroy those vGPUs or use another GPU",
                  EINVAL);
    case ENOSPC:
      return fail(Errc::no_capacity,
                  what +
                      ": the GPU already holds the maximum number of vGPUs of this type; "
                      "destroy one or use another GPU",
                  ENOSPC);
    case EACCES:
    case EPERM:
      return fail(Errc::permission_denied,
                  what +
                      ": permission denied; run as root or as a member of the group that "
                      "owns the VF's vfio device and sysfs files",
                  e.os_errno());
    case ENOENT:
      return fail(Errc::not_found,
                  what +
                      ": the VF vanished (VFs were disabled or the device was removed); "
                      "list the GPUs again",
                  ENOENT);
    default:
      return e.with_context(what);
  }
}

}  // namespace

Result<std::vector<KernelType>> parse_creatable(std::string_view text, std::string_view origin) {
  std::vector<KernelType> out;
  std::size_t line_no = 0;
  std::istringstream in{std::string(text)};
  for (std::string raw; std::getline(in, raw);) {
    ++line_no;
    const std::string line = sysfs::trim(raw);
    if (line.empty()) continue;
    const auto colon = line.find(':');
    const std::string left = sysfs::trim(std::string_view(line).substr(0, colon));
    if (colon != std::string::npos && out.empty() && line_no == 1 && left == "ID") continue;
    auto id = sysfs::parse_number(left);
    const std::string name = colon == std::string::npos
                                 ? std::string()
                                 : sysfs::trim(std::string_view(line).substr(colon + 1));
    if (!id || *id == 0 || *id > UINT32_MAX || name.empty())
      return fail(Errc::io_error, std::string(origin) + ": line " + std::to_string(line_no) +
                                      " is " + detail::quoted(line) +
                                      ", expected \"ID : vGPU name\"; the driver or the file is "
                                      "broken (report it with the file's content)");
    out.push_back({static_cast<std::uint32_t>(*id), name});
  }
  return out;
}

std::optional<std::uint32_t> placement_param(std::string_view params) {
  constexpr std::string_view key = "vgpu-placement-id=";
  const auto at = params.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = params.substr(at + key.size());
  const auto end = rest.find_first_of(", \n");
  auto n = sysfs::parse_number(rest.substr(0, end));
  if (!n || *n > 1024) return std::nullopt;
  return static_cast<std::uint32_t>(*n);
}

std::map<std::uint32_t, std::string> parse_type_ids(std::string_view text) {
  std::map<std::uint32_t, std::string> ids;
  std::istringstream in{std::string(text)};
  std::uint32_t id;
  std::string name;
  while (in >> id && std::getline(in >> std::ws, name))
    ids[id] = name;
  return ids;
}

std::string type_ids_text(const std::map<std::uint32_t, std::string>& ids) {
  std::ostringstream out;
  for (const auto& [id, name] : ids)
    out << id << ' ' << name << '\n';
  return out.str();
}

bool looks_like_vgpu_pf(const fs::path& dir) {
  // sriov_totalvfs first: most PCI functions of a GPU host are VFs, which lack it.
  auto total = sysfs::read(dir / "sriov_totalvfs");
  if (!total) return false;
  auto n = sysfs::parse_number(*total);
  if (!n || *n == 0) return false;
  auto vendor = sysfs::read(dir / "vendor");
  if (!vendor || sysfs::parse_number(*vendor) != nvidia_vendor) return false;
  bool any_vf = false;
  for (const auto& entry : sysfs::list(dir)) {
    if (entry.rfind("virtfn", 0) != 0) continue;
    any_vf = true;
    if (sysfs::exists(dir / entry / "nvidia/current_vgpu_type")) return true;
  }
  if (any_vf) return false;
  // No VFs yet: a PF bound to a driver that provides the interface once VFs exist.
  auto driver = sysfs::link_name(dir / "driver");
  return driver && (*driver == "nvidia" || *driver == "nouveau" || *driver == "nova_core" ||
                    *driver == "nova-core");
}

struct NvidiaVfioBackend::VfState {
  PciAddress address;
  std::uint32_t current = 0;
  std::string params;
};

NvidiaVfioBackend::NvidiaVfioBackend(BackendOptions options, std::vector<PciAddress> only)
    : options_(std::move(options)),
      only_(std::move(only)),
      root_(options_.sysfs_root),
      records_(options_.state_dir, "nvidia-vfio") {
  load_type_ids();
}

Result<PhysicalFunction> NvidiaVfioBackend::read_pf(const PciAddress& address) {
  PhysicalFunction pf;
  pf.address = address;
  pf.dir = root_.pci_device(address);
  auto vendor = read_u32(pf.dir / "vendor");
  if (!vendor) return vendor.error();
  auto device = read_u32(pf.dir / "device");
  if (!device) return device.error();
  pf.vendor_id = static_cast<std::uint16_t>(*vendor);
  pf.device_id = static_cast<std::uint16_t>(*device);
  pf.driver = sysfs::link_name(pf.dir / "driver").value_or("");
  auto total = read_u32(pf.dir / "sriov_totalvfs");
  if (!total) return total.error();
  auto num = read_u32(pf.dir / "sriov_numvfs");
  if (!num) return num.error();
  pf.total_vfs = *total;
  pf.num_vfs = *num;
  std::vector<std::pair<std::uint32_t, PciAddress>> vfs;
  for (const auto& entry : sysfs::list(pf.dir)) {
    if (entry.rfind("virtfn", 0) != 0) continue;
    auto index = sysfs::parse_number(std::string_view(entry).substr(6));
    auto target = sysfs::link_name(pf.dir / entry);
    if (!index || !target) continue;
    auto vf = PciAddress::parse(*target);
    if (!vf)
      return fail(Errc::io_error, (pf.dir / entry).string() + " points to " +
                                      detail::quoted(*target) + ", not a PCI device");
    vfs.emplace_back(static_cast<std::uint32_t>(*index), *vf);
  }
  std::sort(vfs.begin(), vfs.end());
  for (const auto& [index, vf] : vfs)
    pf.vfs.push_back(vf);
  return pf;
}

Result<std::vector<PhysicalFunction>> NvidiaVfioBackend::physical_functions() {
  std::vector<PhysicalFunction> out;
  if (!only_.empty()) {
    for (const auto& a : only_) {
      auto pf = read_pf(a);
      if (!pf) return pf.error();
      out.push_back(std::move(*pf));
    }
    return out;
  }
  for (const auto& entry : sysfs::list(root_.pci_devices())) {
    auto address = PciAddress::parse(entry);
    if (!address || !looks_like_vgpu_pf(root_.pci_devices() / entry)) continue;
    auto pf = read_pf(*address);
    if (!pf) return pf.error();
    out.push_back(std::move(*pf));
  }
  return out;
}

Result<NvidiaVfioBackend::VfState> NvidiaVfioBackend::read_vf(const PhysicalFunction& pf,
                                                              const PciAddress& vf) {
  (void)pf;
  VfState s;
  s.address = vf;
  const fs::path dir = root_.pci_device(vf) / "nvidia";
  auto current = read_u32(dir / "current_vgpu_type");
  if (!current) return current.error();
  s.current = *current;
  if (s.current != 0) {
    auto params = sysfs::read(dir / "vgpu_params");
    if (params) s.params = *params;
  }
  return s;
}

Result<std::vector<KernelType>> NvidiaVfioBackend::creatable_on(const PciAddress& vf) {
  const fs::path file = root_.pci_device(vf) / "nvidia/creatable_vgpu_types";
  auto text = sysfs::read(file);
  if (!text) return text.error();
  auto types = parse_creatable(*text, file.string());
  if (types) learn(*types);
  return types;
}

void NvidiaVfioBackend::learn(const std::vector<KernelType>& types) {
  bool changed = false;
  for (const auto& t : types) {
    auto ref = options_.catalog->try_find_type(t.name);
    const std::string canonical = ref ? ref->type->name : t.name;
    auto [it, inserted] = type_names_.emplace(t.id, canonical);
    if (!inserted && it->second != canonical) {
      it->second = canonical;
      inserted = true;
    }
    changed = changed || inserted;
  }
  if (changed) save_type_ids();
}

std::optional<std::string> NvidiaVfioBackend::type_name_for(std::uint32_t id) const {
  if (auto it = type_names_.find(id); it != type_names_.end()) return it->second;
  if (auto ref = options_.catalog->find_type(VgpuTypeId{id})) return ref->type->name;
  return std::nullopt;
}

std::optional<std::uint32_t> NvidiaVfioBackend::type_id_for(const std::string& canonical) const {
  for (const auto& [id, name] : type_names_)
    if (name == canonical) return id;
  if (auto ref = options_.catalog->try_find_type(canonical); ref && ref->type->id.value != 0)
    return ref->type->id.value;
  return std::nullopt;
}

void NvidiaVfioBackend::load_type_ids() {
  std::ifstream in(options_.state_dir / "nvidia-vfio" / "type-ids", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  type_names_ = parse_type_ids(text.str());
}

void NvidiaVfioBackend::save_type_ids() const {
  // A cache of what the driver listed: failing to write it (a read-only user) costs nothing.
  std::error_code ec;
  const fs::path dir = options_.state_dir / "nvidia-vfio";
  fs::create_directories(dir, ec);
  const fs::path tmp = dir / ("type-ids." + std::to_string(::getpid()));
  {
    std::ofstream out(tmp);
    out << type_ids_text(type_names_);
    if (!out) return;
  }
  fs::rename(tmp, dir / "type-ids", ec);
}

GpuMode NvidiaVfioBackend::mode_of(const PhysicalFunction& pf,
                                   const std::vector<VfState>& vfs) const {
  for (const auto& [address, mode] : options_.gpu_modes)
    if (address == pf.address) return mode;
  for (const auto& vf : vfs)
    if (vf.current != 0 && placement_param(vf.params)) return GpuMode::mixed_size;
  return GpuMode::equal_size;
}

Result<std::shared_ptr<const GpuModel>> NvidiaVfioBackend::model_of(const PhysicalFunction& pf) {
  const auto& catalog = *options_.catalog;
  auto by_name = [&](const std::string& name) -> std::shared_ptr<const GpuModel> {
    auto ref = catalog.try_find_type(name);
    return ref ? ref->model : nullptr;
  };
  for (const auto& vf : pf.vfs) {
    auto current = read_u32(root_.pci_device(vf) / "nvidia/current_vgpu_type");
    if (current && *current != 0) {
      if (auto name = type_name_for(*current))
        if (auto m = by_name(*name)) return m;
      continue;
    }
    auto types = creatable_on(vf);
    if (!types) continue;
    for (const auto& t : *types)
      if (auto m = by_name(t.name)) return m;
  }
  auto models = catalog.find_models_by_pci_device(pf.device_id);
  if (!models.empty()) return models.front();
  char id[8];
  std::snprintf(id, sizeof id, "%04x", pf.device_id);
  return fail(Errc::not_supported,
              "GPU " + pf.address.to_string() + " (PCI id 10de:" + id +
                  ") is not in the vGPU catalog and its VFs list no known type; add the model "
                  "to a catalog file (--catalog, docs/catalog.md)");
}

Result<std::vector<VgpuInstance>> NvidiaVfioBackend::instances_on(const PhysicalFunction& pf,
                                                                  GpuMode* mode_out) {
  std::vector<VfState> states;
  for (const auto& vf : pf.vfs) {
    auto s = read_vf(pf, vf);
    if (!s) {
      // A VF that vanished between listing and reading, or one not bound to the vGPU
      // driver, holds no vGPU.
      if (s.error().code() == Errc::not_found) continue;
      return s.error();
    }
    states.push_back(std::move(*s));
  }
  // A type id this process has not seen listed yet (a vGPU made by another tool): the free VFs
  // list the types of the active size, which usually names it.
  for (const auto& s : states) {
    if (s.current == 0 || type_name_for(s.current)) continue;
    for (const auto& other : states) {
      if (other.current != 0) continue;
      (void)creatable_on(other.address);
      if (type_name_for(s.current)) break;
    }
  }
  const GpuMode mode = mode_of(pf, states);
  if (mode_out) *mode_out = mode;
  std::vector<VgpuInstance> out;
  std::vector<std::size_t> unplaced;
  for (const auto& s : states) {
    if (s.current == 0) continue;
    VgpuInstance v;
    v.gpu = pf.address;
    v.device = s.address.to_string();
    auto record = records_.load(s.address.to_string());
    if (record && record->type_id != s.current) record.reset();
    auto name = record ? std::optional<std::string>(record->type) : type_name_for(s.current);
    if (!name)
      return fail(Errc::not_supported,
                  "VF " + s.address.to_string() + " of GPU " + pf.address.to_string() +
                      " holds vGPU type id " + std::to_string(s.current) +
                      ", which neither the catalog nor the driver's type lists name; add the "
                      "type (with its id) to a catalog file");
    v.type_name = *name;
    if (record) {
      v.uuid = record->uuid;
      v.owner = record->owner;
      v.placement = record->placement;
      v.created_at = record->created();
    } else {
      v.uuid = derived_uuid(s.address, s.current);
      auto p = placement_param(s.params);
      if (mode == GpuMode::mixed_size && p)
        v.placement = *p;
      else
        unplaced.push_back(out.size());
    }
    out.push_back(std::move(v));
  }
  if (!unplaced.empty()) {
    auto model = model_of(pf);
    if (!model) return model.error();
    sysfs::place_unrecorded(**model, pf.address, out, unplaced);
  }
  return out;
}

Result<std::vector<PhysicalGpu>> NvidiaVfioBackend::gpus() {
  auto pfs = physical_functions();
  if (!pfs) return pfs.error();
  std::vector<PhysicalGpu> out;
  for (const auto& pf : *pfs) {
    auto model = model_of(pf);
    if (!model) return model.error();
    PhysicalGpu g;
    g.address = pf.address;
    g.model = *model;
    std::vector<VfState> states;
    for (const auto& vf : pf.vfs)
      if (auto s = read_vf(pf, vf)) states.push_back(std::move(*s));
    g.mode = mode_of(pf, states);
    g.numa_node = sysfs::numa_node_of(pf.dir);
    g.pci_root = sysfs::pci_root_of(pf.dir);
    out.push_back(std::move(g));
  }
  return out;
}

Result<std::vector<VgpuInstance>> NvidiaVfioBackend::instances() {
  auto pfs = physical_functions();
  if (!pfs) return pfs.error();
  std::vector<VgpuInstance> out;
  for (const auto& pf : *pfs) {
    auto on = instances_on(pf, nullptr);
    if (!on) return on.error();
    out.insert(out.end(), on->begin(), on->end());
  }
  return out;
}

Result<std::vector<std::string>> NvidiaVfioBackend::creatable_types(const PciAddress& gpu) {
  auto pf = read_pf(gpu);
  if (!pf) return pf.error();
  if (pf->vfs.empty()) return Backend::creatable_types(gpu);  // nothing exists on it yet
  std::vector<std::string> out;
  for (const auto& vf : pf->vfs) {
    auto current = read_u32(root_.pci_device(vf) / "nvidia/current_vgpu_type");
    if (!current || *current != 0) continue;
    auto types = creatable_on(vf);
    if (!types) return types.error();
    for (const auto& t : *types) {
      auto ref = options_.catalog->try_find_type(t.name);
      std::string name = ref ? ref->type->name : t.name;
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    }
    break;  // every free VF of a PF lists the same types
  }
  return out;
}

Result<std::vector<GpuInfo>> NvidiaVfioBackend::gpu_info() {
  auto pfs = physical_functions();
  if (!pfs) return pfs.error();
  std::vector<GpuInfo> out;
  for (const auto& pf : *pfs) {
    GpuInfo info;
    info.address = pf.address;
    info.vendor_id = pf.vendor_id;
    info.device_id = pf.device_id;
    info.driver = pf.driver;
    info.interface = "nvidia-vfio";
    info.sriov_total_vfs = pf.total_vfs;
    info.sriov_num_vfs = pf.num_vfs;
    out.push_back(std::move(info));
  }
  return out;
}

Result<void> NvidiaVfioBackend::enable_vfs(PhysicalFunction& pf) {
  const fs::path file = pf.dir / "sriov_numvfs";
  if (auto ok = sysfs::write(file, std::to_string(pf.total_vfs)); !ok) {
    const std::string what = "cannot enable " + std::to_string(pf.total_vfs) + " VFs on GPU " +
                             pf.address.to_string() + " (" + file.string() + ")";
    switch (ok.error().os_errno()) {
      case EBUSY:
        return fail(Errc::busy,
                    what +
                        ": VFs are already enabled with another count; write 0 first "
                        "(only when no vGPU exists)",
                    EBUSY);
      case ERANGE:
      case EINVAL:
        return fail(Errc::invalid_argument,
                    what + ": the count exceeds sriov_totalvfs or the driver refuses it",
                    ok.error().os_errno());
      default:
        return ok.error().with_context(what);
    }
  }
  auto again = read_pf(pf.address);
  if (!again) return again.error();
  pf = std::move(*again);
  if (pf.vfs.empty())
    return fail(Errc::not_supported, "GPU " + pf.address.to_string() +
                                         " shows no VFs after enabling them; is the "
                                         "nvidia-vgpu-vfio driver loaded?");
  return {};
}

Result<VgpuInstance> NvidiaVfioBackend::create(const CreateRequest& request) {
  auto pf = read_pf(request.gpu);
  if (!pf) {
    if (pf.error().code() == Errc::not_found)
      return fail(Errc::not_found, "no GPU " + request.gpu.to_string() +
                                       " with the vGPU VF interface under " +
                                       root_.pci_devices().string() + " (`vgpuctl gpus`)");
    return pf.error();
  }
  auto model = model_of(*pf);
  if (!model) return model.error();
  const VgpuType* type = (*model)->find_type(request.type_name);
  if (!type)
    return fail(Errc::not_supported, "GPU " + request.gpu.to_string() + " (" + (*model)->name +
                                         ") does not support " + request.type_name);
  if (pf->vfs.empty())
    if (auto ok = enable_vfs(*pf); !ok) return ok.error();

  GpuMode mode = GpuMode::equal_size;
  auto existing = instances_on(*pf, &mode);
  if (!existing) return existing.error();
  auto all = instances();
  if (!all) return all.error();
  for (const auto& v : *all)
    if (v.uuid == request.uuid)
      return fail(Errc::conflict, "a vGPU with uuid " + request.uuid.to_string() +
                                      " already exists (VF " + v.device + ")");

  std::optional<PciAddress> chosen;
  std::vector<KernelType> listed;
  for (const auto& vf : pf->vfs) {
    auto current = read_u32(root_.pci_device(vf) / "nvidia/current_vgpu_type");
    if (!current || *current != 0) continue;
    chosen = vf;
    if (auto types = creatable_on(vf)) listed = std::move(*types);
    break;
  }
  if (!chosen)
    return fail(Errc::no_capacity,
                "every VF of GPU " + request.gpu.to_string() + " (" +
                    std::to_string(pf->vfs.size()) +
                    ") already holds a vGPU; destroy one (VFs can be added only while no vGPU "
                    "exists, up to sriov_totalvfs = " +
                    std::to_string(pf->total_vfs) + ")");

  std::optional<std::uint32_t> id;
  for (const auto& t : listed) {
    auto ref = options_.catalog->try_find_type(t.name);
    if ((ref ? ref->type->name : t.name) == type->name) id = t.id;
  }
  if (!id) id = type_id_for(type->name);
  if (!id) {
    std::string names;
    for (const auto& t : listed)
      names += (names.empty() ? "" : ", ") + t.name;
    return fail(Errc::no_capacity, type->name + " cannot be created on GPU " +
                                       request.gpu.to_string() + " now; the driver lists " +
                                       (names.empty() ? std::string("no creatable type") : names));
  }

  const fs::path dir = root_.pci_device(*chosen) / "nvidia";
  bool wrote_params = false;
  if (mode == GpuMode::mixed_size) {
    if (std::find(type->placement_ids.begin(), type->placement_ids.end(), request.placement) ==
        type->placement_ids.end())
      return fail(Errc::invalid_argument,
                  "placement " + std::to_string(request.placement) + " is not a placement ID of " +
                      type->name +
                      " in mixed-size mode; allowed: " + detail::join_numbers(type->placement_ids));
    for (const auto& v : *existing) {
      const VgpuType* other = (*model)->find_type(v.type_name);
      const std::uint32_t size = other ? other->placement_size : 1;
      if (request.placement < v.placement + size &&
          v.placement < request.placement + type->placement_size)
        return fail(Errc::no_capacity, "placement " + std::to_string(request.placement) + " for " +
                                           type->name + " on GPU " + request.gpu.to_string() +
                                           " overlaps vGPU " + v.uuid.to_string() + " (" +
                                           v.type_name + " at " + std::to_string(v.placement) +
                                           ", VF " + v.device + ")");
    }
    const std::string params = "vgpu-placement-id=" + std::to_string(request.placement);
    if (auto ok = sysfs::write(dir / "vgpu_params", params); !ok)
      return current_type_error(ok.error(), request.gpu, *chosen, *id, type->name);
    wrote_params = true;
  }
  if (auto ok = sysfs::write(dir / "current_vgpu_type", std::to_string(*id)); !ok) {
    if (wrote_params) (void)sysfs::write(dir / "vgpu_params", "");
    return current_type_error(ok.error(), request.gpu, *chosen, *id, type->name);
  }
  auto now = read_u32(dir / "current_vgpu_type");
  if (!now || *now != *id) {
    if (wrote_params) (void)sysfs::write(dir / "vgpu_params", "");
    return fail(Errc::io_error, "wrote type id " + std::to_string(*id) + " to " +
                                    (dir / "current_vgpu_type").string() +
                                    " without error, but it reads back " +
                                    (now ? std::to_string(*now) : now.error().message()) +
                                    "; the driver refused silently (see the kernel log)");
  }
  const sysfs::VgpuRecord r{request.uuid,      type->name,    *id,
                            request.placement, request.owner, sysfs::VgpuRecord::now()};
  if (auto ok = records_.save(chosen->to_string(), r); !ok) {
    (void)sysfs::write(dir / "current_vgpu_type", "0");
    if (wrote_params) (void)sysfs::write(dir / "vgpu_params", "");
    return ok.error();
  }
  VgpuInstance v;
  v.uuid = request.uuid;
  v.type_name = type->name;
  v.gpu = request.gpu;
  v.placement = request.placement;
  v.owner = request.owner;
  v.created_at = r.created();
  v.device = chosen->to_string();
  return v;
}

Result<void> NvidiaVfioBackend::destroy(const Uuid& uuid) {
  auto all = instances();
  if (!all) return all.error();
  auto it =
      std::find_if(all->begin(), all->end(), [&](const VgpuInstance& v) { return v.uuid == uuid; });
  if (it == all->end())
    return fail(Errc::not_found, "no vGPU " + uuid.to_string() + " on this host (`vgpuctl list`)");
  auto vf = PciAddress::parse(it->device);
  if (!vf) return vf.error();
  const fs::path dir = root_.pci_device(*vf) / "nvidia";
  if (auto ok = sysfs::write(dir / "current_vgpu_type", "0"); !ok) {
    const std::string what = "cannot destroy vGPU " + uuid.to_string() + " (" + it->type_name +
                             " on VF " + it->device + " of GPU " + it->gpu.to_string() + ")";
    switch (ok.error().os_errno()) {
      case EBUSY:
        return fail(Errc::busy,
                    what + ": a VM is using it (its VFIO device is open); stop the VM first",
                    EBUSY);
      case EACCES:
      case EPERM:
        return fail(Errc::permission_denied, what + ": permission denied; run as root",
                    ok.error().os_errno());
      case ENOENT:
        records_.remove(vf->to_string());
        return fail(Errc::not_found, what + ": the VF vanished; list the vGPUs again", ENOENT);
      default:
        return ok.error().with_context(what);
    }
  }
  (void)sysfs::write(dir / "vgpu_params", "");
  records_.remove(vf->to_string());
  return {};
}

}  // namespace vgpu::sys::nvidia_vfio
