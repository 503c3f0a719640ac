#include "kernel.hpp"

#include "backends/sysfs/sysfs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

namespace vgpu::emu {
namespace {

using nlohmann::json;
using sysfs::trim;
using Kind = Node::Kind;

constexpr std::uint32_t synthetic_id_base = 2000;

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  std::string part;
  for (char c : path) {
    if (c == '/') {
      if (!part.empty()) out.push_back(std::move(part));
      part.clear();
    } else {
      part += c;
    }
  }
  if (!part.empty()) out.push_back(std::move(part));
  return out;
}

std::optional<std::uint32_t> decimal(std::string_view text) {
  const std::string t = trim(text);
  if (t.empty() || t.size() > 9) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return v;
}

Node dir(std::vector<std::string> entries) {
  Node n;
  n.kind = Kind::dir;
  n.entries = std::move(entries);
  return n;
}

Node link(std::string target) {
  Node n;
  n.kind = Kind::link;
  n.target = std::move(target);
  return n;
}

Node text_file(std::string text) {
  Node n;
  n.kind = Kind::file;
  n.mode = 0444;
  n.read = [text = std::move(text)](std::string& out) {
    out = text;
    return 0;
  };
  return n;
}

std::string hex4(unsigned v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%04x", v);
  return b;
}

int errno_by_name(const std::string& name) {
  static const std::map<std::string, int> names = {
      {"EACCES", EACCES}, {"EPERM", EPERM},   {"EBUSY", EBUSY},   {"ENODEV", ENODEV},
      {"EINVAL", EINVAL}, {"ENOSPC", ENOSPC}, {"ENOENT", ENOENT}, {"EIO", EIO},
      {"EEXIST", EEXIST}, {"EUSERS", EUSERS}, {"ERANGE", ERANGE}, {"EAGAIN", EAGAIN}};
  if (auto it = names.find(name); it != names.end()) return it->second;
  if (auto n = decimal(name)) return static_cast<int>(*n);
  return 0;
}

std::string description_of(const VgpuType& t) {
  std::ostringstream d;
  d << "num_heads=" << t.max_heads << ", frl_config=" << t.frame_rate_limit
    << ", framebuffer=" << t.framebuffer.in_mib()
    << "M, max_resolution=" << (t.max_heads ? t.max_resolution.to_string() : "0x0")
    << ", max_instance=" << t.max_instances;
  return d.str();
}

}  // namespace

Result<std::unique_ptr<Kernel>> Kernel::load(const std::string& path, const TypeCatalog& catalog) {
  std::ifstream in(path);
  if (!in) return fail(Errc::not_found, "cannot open emulator host file " + path);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("host"))
    return fail(Errc::invalid_argument,
                path +
                    ": expected a JSON object with \"host\" (a host description, "
                    "docs/host-description.md) and optional \"interface\", \"driver\", "
                    "\"vfs\", \"vfs_enabled\", \"one_type_per_gpu\", \"overrides\"");
  auto kernel = std::make_unique<Kernel>();
  auto read_options = [](const json& o, Options base) -> Result<Options> {
    for (const auto& [key, value] : o.items()) {
      if (key == "interface") {
        const auto s = value.get<std::string>();
        if (s != "vf" && s != "mdev")
          return fail(Errc::invalid_argument, "interface must be \"vf\" or \"mdev\"");
        base.interface = s == "vf" ? Interface::vf : Interface::mdev;
      } else if (key == "driver") {
        base.driver = value.get<std::string>();
      } else if (key == "vfs") {
        base.vfs = value.get<std::uint32_t>();
      } else if (key == "vfs_enabled") {
        base.vfs_enabled = value.get<bool>();
      } else if (key == "one_type_per_gpu") {
        base.one_type_per_gpu = value.get<bool>();
      } else if (key != "host" && key != "overrides") {
        return fail(Errc::invalid_argument, "unknown key " + detail::quoted(key));
      }
    }
    return base;
  };
  try {
    auto options = read_options(j, Options{});
    if (!options) return options.error().with_context(path);
    kernel->options_ = *options;
    auto host = parse_host_description(j["host"].dump(), path + ": host", catalog);
    if (!host) return host.error();
    // Driver type ids: the catalog's where it has them, else a stable synthetic one.
    std::map<std::string, std::uint32_t> ids;
    std::uint32_t next = synthetic_id_base;
    for (const auto& m : catalog.models())
      for (const auto& t : m->types)
        ids[t.name] = t.id.value ? t.id.value : next++;
    for (const auto& pg : host->gpus) {
      Options o = kernel->options_;
      if (j.contains("overrides") && j["overrides"].contains(pg.address.to_string())) {
        auto over = read_options(j["overrides"][pg.address.to_string()], o);
        if (!over) return over.error().with_context(path + ": overrides");
        o = *over;
      }
      Gpu g;
      g.address = pg.address;
      g.model = pg.model;
      g.mode = pg.mode == GpuMode::mig ? GpuMode::equal_size : pg.mode;
      g.numa_node = pg.numa_node;
      char root[32];
      std::snprintf(root, sizeof root, "pci%04x:%02x", pg.address.domain(), pg.address.bus());
      g.pci_root = pg.pci_root.empty() ? root : pg.pci_root;
      g.interface = o.interface;
      g.driver = o.driver;
      g.total_vfs = o.interface == Interface::vf ? o.vfs : 0;
      for (const auto& t : pg.model->types) {
        if (t.is_mig_backed()) continue;  // the VF interface and mdev offer time-sliced types
        g.types.push_back({ids[t.name], "NVIDIA " + t.name, &t});
      }
      kernel->gpus_.push_back(std::move(g));
      if (o.interface == Interface::vf && o.vfs_enabled)
        kernel->set_num_vfs(kernel->gpus_.back(), std::to_string(o.vfs));
    }
    for (const auto& v : host->vgpus)
      if (auto ok = kernel->adopt(v); !ok) return ok.error().with_context(path);
  } catch (const json::exception& e) {
    return fail(Errc::invalid_argument, path + ": " + e.what());
  }
  return kernel;
}

Result<void> Kernel::adopt(const VgpuInstance& v) {
  Gpu* g = gpu_at(v.gpu);
  auto t = std::find_if(g->types.begin(), g->types.end(),
                        [&](const DriverType& d) { return d.type->name == v.type_name; });
  if (t == g->types.end()) return fail(Errc::not_supported, v.type_name + " is not offered");
  if (g->interface == Interface::mdev) {
    if (int e = mdev_create(*g, static_cast<std::size_t>(t - g->types.begin()), v.uuid.to_string()))
      return fail(Errc::conflict, "cannot create mdev " + v.uuid.to_string(), -e);
    return {};
  }
  for (auto& vf : g->vfs) {
    if (vf.current) continue;
    if (g->mode == GpuMode::mixed_size)
      vf.params = "vgpu-placement-id=" + std::to_string(v.placement);
    if (int e = set_current(*g, vf, std::to_string(t->id)))
      return fail(Errc::conflict, "cannot create " + v.type_name, -e);
    return {};
  }
  return fail(Errc::no_capacity, "no free VF on " + v.gpu.to_string());
}

Gpu* Kernel::gpu_at(const PciAddress& a) {
  for (auto& g : gpus_)
    if (g.address == a) return &g;
  return nullptr;
}

std::pair<Gpu*, Vf*> Kernel::vf_at(const PciAddress& a) {
  for (auto& g : gpus_)
    for (auto& vf : g.vfs)
      if (vf.address == a) return {&g, &vf};
  return {nullptr, nullptr};
}

std::pair<Gpu*, Mdev*> Kernel::mdev_of(const Uuid& u) {
  for (auto& g : gpus_)
    for (auto& m : g.mdevs)
      if (m.uuid == u) return {&g, &m};
  return {nullptr, nullptr};
}

const DriverType* Kernel::type_by_id(const Gpu& g, std::uint32_t id) const {
  for (const auto& t : g.types)
    if (t.id == id) return &t;
  return nullptr;
}

// The kernel's rules for one more vGPU of @p t on @p g: 0, or the errno the driver returns.
int Kernel::rule_errno(const Gpu& g, const DriverType& t, std::optional<std::uint32_t> requested,
                       std::uint32_t* chosen) const {
  struct Active {
    const DriverType* type;
    std::uint32_t placement;
  };
  std::vector<Active> active;
  for (const auto& vf : g.vfs)
    if (vf.current) active.push_back({type_by_id(g, vf.current), vf.placement});
  for (const auto& m : g.mdevs)
    active.push_back({&g.types[m.type], m.placement});
  const VgpuType& type = *t.type;
  if (g.mode == GpuMode::mixed_size) {
    if (type.max_instances_mixed == 0) return EINVAL;
    const auto same = std::count_if(active.begin(), active.end(),
                                    [&](const Active& a) { return a.type->id == t.id; });
    if (static_cast<std::uint32_t>(same) >= type.max_instances_mixed) return ENOSPC;
    std::vector<std::uint32_t> candidates = type.placement_ids;
    if (requested) {
      if (std::find(candidates.begin(), candidates.end(), *requested) == candidates.end())
        return EINVAL;
      candidates = {*requested};
    }
    for (std::uint32_t p : candidates) {
      const bool overlaps = std::any_of(active.begin(), active.end(), [&](const Active& a) {
        return p < a.placement + a.type->type->placement_size &&
               a.placement < p + type.placement_size;
      });
      if (!overlaps) {
        if (chosen) *chosen = p;
        return 0;
      }
    }
    return ENOSPC;
  }
  const bool one_type = options_.one_type_per_gpu || g.interface == Interface::mdev;
  for (const auto& a : active) {
    if (one_type ? a.type->id != t.id : a.type->type->framebuffer != type.framebuffer)
      return EINVAL;
  }
  if (active.size() >= type.max_instances) return ENOSPC;
  std::set<std::uint32_t> used;
  for (const auto& a : active)
    used.insert(a.placement);
  std::uint32_t start = 0;
  while (used.count(start))
    start += type.placement_size;
  if (chosen) *chosen = start;
  return 0;
}

std::uint32_t Kernel::available(const Gpu& g, const DriverType& t) const {
  if (rule_errno(g, t, std::nullopt, nullptr) != 0) return 0;
  std::uint32_t used = 0;
  for (const auto& m : g.mdevs)
    if (g.types[m.type].type->framebuffer == t.type->framebuffer) ++used;
  const std::uint32_t max =
      g.mode == GpuMode::mixed_size ? t.type->max_instances_mixed : t.type->max_instances;
  return max > used ? max - used : 0;
}

std::vector<const DriverType*> Kernel::creatable(const Gpu& g) const {
  std::vector<const DriverType*> out;
  for (const auto& t : g.types)
    if (rule_errno(g, t, std::nullopt, nullptr) == 0) out.push_back(&t);
  return out;
}

int Kernel::set_num_vfs(Gpu& g, std::string_view text) {
  auto n = decimal(text);
  if (!n) return -EINVAL;
  if (*n > g.total_vfs) return -ERANGE;
  if (*n == g.num_vfs) return 0;
  if (*n != 0 && g.num_vfs != 0) return -EBUSY;
  if (*n == 0) {
    for (const auto& vf : g.vfs)
      if (vf.current || vf.open) return -EBUSY;
    for (const auto& vf : g.vfs)
      removed_vf(g, vf);
    g.vfs.clear();
    g.num_vfs = 0;
    return 0;
  }
  const unsigned first = g.address.device() * 8u + g.address.function() + 4u;
  for (std::uint32_t i = 0; i < *n; ++i) {
    const unsigned devfn = first + i;
    Vf vf;
    vf.index = i;
    vf.address = *PciAddress::from_parts(
        g.address.domain(), static_cast<std::uint8_t>(g.address.bus() + devfn / 256),
        static_cast<std::uint8_t>((devfn % 256) / 8), static_cast<std::uint8_t>(devfn % 8));
    g.vfs.push_back(vf);
  }
  g.num_vfs = *n;
  return 0;
}

int Kernel::set_current(Gpu& g, Vf& vf, std::string_view text) {
  auto id = decimal(text);
  if (!id) return -EINVAL;
  if (vf.open) return -EBUSY;
  if (*id == 0) {
    vf.current = 0;
    vf.params.clear();
    return 0;
  }
  if (vf.current) return -EBUSY;
  const DriverType* t = type_by_id(g, *id);
  if (!t) return -ENODEV;
  std::optional<std::uint32_t> requested;
  if (g.mode == GpuMode::mixed_size) {
    const auto at = vf.params.find("vgpu-placement-id=");
    if (at != std::string::npos) {
      requested =
          decimal(vf.params.substr(at + 18, vf.params.find_first_of(", ", at + 18) - (at + 18)));
      if (!requested) return -EINVAL;
    }
  }
  std::uint32_t placement = 0;
  // Stricter than the shipping driver, which accepts an unusable placement and fails at VM
  // start: the emulator refuses it here (EINVAL, or ENOSPC when it is taken).
  if (int e = rule_errno(g, *t, requested, &placement)) return -e;
  vf.current = *id;
  vf.placement = placement;
  return 0;
}

int Kernel::mdev_create(Gpu& g, std::size_t type, std::string_view text) {
  auto uuid = Uuid::parse(trim(text));
  if (!uuid) return -EINVAL;
  if (mdev_of(*uuid).first) return -EEXIST;
  if (available(g, g.types[type]) == 0) return -EUSERS;
  std::uint32_t placement = 0;
  if (int e = rule_errno(g, g.types[type], std::nullopt, &placement)) return -e;
  g.mdevs.push_back({*uuid, type, placement, false});
  return 0;
}

int Kernel::mdev_remove(Gpu& g, const Uuid& uuid, std::string_view text) {
  if (trim(text) != "1") return -EINVAL;
  auto it =
      std::find_if(g.mdevs.begin(), g.mdevs.end(), [&](const Mdev& m) { return m.uuid == uuid; });
  if (it == g.mdevs.end()) return -ENODEV;
  if (it->open) return -EBUSY;
  const std::string device = "/devices/" + g.pci_root + "/" + g.address.to_string() + "/";
  removed_.push_back("/bus/mdev/devices/" + uuid.to_string());
  removed_.push_back(device + uuid.to_string());
  removed_.push_back(device + "mdev_supported_types/nvidia-" +
                     std::to_string(g.types[it->type].id) + "/devices/" + uuid.to_string());
  g.mdevs.erase(it);
  return 0;
}

// Commands (one per write): "open DEVICE", "close DEVICE" (a VF address or an mdev UUID: its
// VFIO device is open, as when a VM runs), "fail PATH-SUFFIX ERRNO" (every read and write of
// matching files fails), "fail-write PATH-SUFFIX ERRNO" (only writes fail), "garbage PATH-SUFFIX
// TEXT" (reads return TEXT), "unplug VF" (the VF vanishes), "clear" (no faults or garbage).
int Kernel::control(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string command, arg;
  in >> command >> arg;
  if (command == "clear") {
    faults_.clear();
    write_faults_.clear();
    garbage_.clear();
    return 0;
  }
  if (command == "open" || command == "close") {
    const bool open = command == "open";
    if (auto a = PciAddress::parse(arg)) {
      auto [g, vf] = vf_at(*a);
      if (!vf) return -ENOENT;
      vf->open = open;
      return 0;
    }
    if (auto u = Uuid::parse(arg)) {
      auto [g, m] = mdev_of(*u);
      if (!m) return -ENOENT;
      m->open = open;
      return 0;
    }
    return -EINVAL;
  }
  if (command == "fail" || command == "fail-write") {
    std::string name;
    in >> name;
    const int e = errno_by_name(name);
    if (arg.empty() || e <= 0) return -EINVAL;
    (command == "fail" ? faults_ : write_faults_)[arg] = e;
    return 0;
  }
  if (command == "garbage") {
    std::string rest;
    std::getline(in, rest);
    if (arg.empty()) return -EINVAL;
    garbage_[arg] = trim(rest) + "\n";
    return 0;
  }
  if (command == "unplug") {
    auto a = PciAddress::parse(arg);
    if (!a) return -EINVAL;
    auto [g, vf] = vf_at(*a);
    if (!vf) return -ENOENT;
    removed_vf(*g, *vf);
    g->vfs.erase(g->vfs.begin() + (vf - g->vfs.data()));
    return 0;
  }
  return -EINVAL;
}

void Kernel::removed_vf(const Gpu& g, const Vf& vf) {
  removed_.push_back("/bus/pci/devices/" + vf.address.to_string());
  removed_.push_back("/devices/" + g.pci_root + "/" + vf.address.to_string());
  removed_.push_back("/devices/" + g.pci_root + "/" + g.address.to_string() + "/virtfn" +
                     std::to_string(vf.index));
}

std::vector<std::string> Kernel::take_removed() {
  std::lock_guard lock(mutex_);
  return std::exchange(removed_, {});
}

std::string Kernel::state_json() const {
  json out = json::array();
  for (const auto& g : gpus_) {
    json vfs = json::array(), mdevs = json::array();
    for (const auto& vf : g.vfs)
      vfs.push_back({{"address", vf.address.to_string()},
                     {"current_vgpu_type", vf.current},
                     {"placement", vf.placement},
                     {"open", vf.open}});
    for (const auto& m : g.mdevs)
      mdevs.push_back(
          {{"uuid", m.uuid.to_string()}, {"type", g.types[m.type].type->name}, {"open", m.open}});
    out.push_back({{"address", g.address.to_string()},
                   {"model", g.model->name},
                   {"interface", g.interface == Interface::vf ? "vf" : "mdev"},
                   {"driver", g.driver},
                   {"vfs", vfs},
                   {"mdevs", mdevs}});
  }
  return out.dump(2) + "\n";
}

std::vector<Gpu> Kernel::nouveau_gpus() {
  std::lock_guard lock(mutex_);
  std::vector<Gpu> out;
  for (const auto& g : gpus_)
    if (g.driver == "nouveau") out.push_back(g);
  return out;
}

std::uint64_t Kernel::framebuffer_used(const PciAddress& gpu) {
  std::lock_guard lock(mutex_);
  Gpu* g = gpu_at(gpu);
  if (!g) return 0;
  std::uint64_t used = 0;
  for (const auto& vf : g->vfs)
    if (const DriverType* t = vf.current ? type_by_id(*g, vf.current) : nullptr)
      used += t->type->framebuffer.count();
  return used;
}

Node Kernel::with_faults(const std::string& path, Node node) {
  if (node.kind != Kind::file) return node;
  auto matches = [&](const std::string& suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (const auto& [suffix, e] : faults_) {
    if (!matches(suffix)) continue;
    const int code = e;
    node.read = [code](std::string&) { return -code; };
    if (node.write) node.write = [code](std::string_view) { return -code; };
    return node;
  }
  for (const auto& [suffix, e] : write_faults_) {
    if (!matches(suffix) || !node.write) continue;
    const int code = e;
    node.write = [code](std::string_view) { return -code; };
    break;
  }
  for (const auto& [suffix, text] : garbage_) {
    if (!matches(suffix)) continue;
    node.read = [text = text](std::string& out) {
      out = text;
      return 0;
    };
    return node;
  }
  return node;
}

Node Kernel::lookup(std::string_view path) {
  std::lock_guard lock(mutex_);
  const auto p = split(path);
  const std::string joined(path);
  auto sized = [&](std::size_t n, std::initializer_list<const char*> names) {
    if (p.size() != n) return false;
    std::size_t i = 0;
    for (const char* name : names)
      if (p[i++] != name) return false;
    return true;
  };
  if (p.empty()) return dir({"bus", "class", "devices", "vgpu-emulator"});
  if (sized(1, {"bus"})) return dir({"mdev", "pci"});
  if (sized(2, {"bus", "pci"})) return dir({"devices", "drivers"});
  if (sized(2, {"bus", "mdev"})) return dir({"devices"});
  if (sized(1, {"class"})) return dir({"mdev_bus"});
  if (sized(3, {"bus", "pci", "drivers"})) return dir({"nouveau", "nvidia", "nvidia-vgpu-vfio"});
  if (p.size() == 4 && sized(3, {"bus", "pci", "drivers"}) == false && p[0] == "bus" &&
      p[1] == "pci" && p[2] == "drivers") {
    if (p[3] == "nouveau" || p[3] == "nvidia" || p[3] == "nvidia-vgpu-vfio") return dir({});
    return {};
  }
  if (p[0] == "bus" && p.size() >= 3 && p[1] == "pci" && p[2] == "devices") {
    std::vector<std::string> names;
    for (const auto& g : gpus_) {
      if (p.size() == 4 && p[3] == g.address.to_string())
        return link("../../../devices/" + g.pci_root + "/" + p[3]);
      names.push_back(g.address.to_string());
      for (const auto& vf : g.vfs) {
        if (p.size() == 4 && p[3] == vf.address.to_string())
          return link("../../../devices/" + g.pci_root + "/" + p[3]);
        names.push_back(vf.address.to_string());
      }
    }
    if (p.size() == 3) return dir(names);
    return {};
  }
  if (p[0] == "bus" && p.size() >= 3 && p[1] == "mdev" && p[2] == "devices") {
    std::vector<std::string> names;
    for (const auto& g : gpus_)
      for (const auto& m : g.mdevs) {
        if (p.size() == 4 && p[3] == m.uuid.to_string())
          return link("../../../devices/" + g.pci_root + "/" + g.address.to_string() + "/" + p[3]);
        names.push_back(m.uuid.to_string());
      }
    if (p.size() == 3) return dir(names);
    return {};
  }
  if (p[0] == "class" && p.size() >= 2 && p[1] == "mdev_bus") {
    std::vector<std::string> names;
    for (const auto& g : gpus_) {
      if (g.interface != Interface::mdev) continue;
      if (p.size() == 3 && p[2] == g.address.to_string())
        return link("../../devices/" + g.pci_root + "/" + p[2]);
      names.push_back(g.address.to_string());
    }
    if (p.size() == 2) return dir(names);
    return {};
  }
  if (p[0] == "devices") {
    if (p.size() == 1) {
      std::set<std::string> roots;
      for (const auto& g : gpus_)
        roots.insert(g.pci_root);
      return dir({roots.begin(), roots.end()});
    }
    if (p.size() == 2) {
      std::vector<std::string> names;
      for (const auto& g : gpus_) {
        if (g.pci_root != p[1]) continue;
        names.push_back(g.address.to_string());
        for (const auto& vf : g.vfs)
          names.push_back(vf.address.to_string());
      }
      if (names.empty()) return {};
      return dir(names);
    }
    return with_faults(joined, lookup_device({p.begin() + 1, p.end()}));
  }
  if (p[0] == "vgpu-emulator") {
    if (p.size() == 1) return dir({"control", "state"});
    if (p.size() == 2 && p[1] == "state") return text_file(state_json());
    if (p.size() == 2 && p[1] == "control") {
      Node n;
      n.kind = Kind::file;
      n.mode = 0600;
      n.read = [](std::string& out) {
        out =
            "open|close DEVICE, fail|fail-write PATH-SUFFIX ERRNO, garbage PATH-SUFFIX TEXT, "
            "unplug VF, clear\n";
        return 0;
      };
      n.write = [this](std::string_view text) {
        std::lock_guard l(mutex_);
        return control(text);
      };
      return n;
    }
  }
  return {};
}

// parts: [pci root, device address, ...] under /devices.
Node Kernel::lookup_device(const std::vector<std::string>& p) {
  auto address = PciAddress::parse(p[1]);
  if (!address) return {};
  Gpu* g = gpu_at(*address);
  Vf* vf = nullptr;
  if (!g) std::tie(g, vf) = vf_at(*address);
  if (!g || g->pci_root != p[0]) return {};
  const PciAddress gpu = g->address;
  const std::size_t n = p.size() - 2;  // components below the device
  const std::string* at = n ? &p[2] : nullptr;
  auto ids_file = [&](unsigned vendor, unsigned device) -> std::optional<Node> {
    if (*at == "vendor") return text_file(hex4(vendor) + "\n");
    if (*at == "device") return text_file(hex4(device) + "\n");
    if (*at == "subsystem_vendor") return text_file(hex4(vendor) + "\n");
    if (*at == "subsystem_device") return text_file(hex4(0x1500) + "\n");
    if (*at == "class") return text_file("0x030200\n");
    if (*at == "numa_node")
      return text_file((g->numa_node ? std::to_string(*g->numa_node) : "-1") + "\n");
    return std::nullopt;
  };
  const unsigned device_id = g->model->pci_device_ids.empty() ? 0 : g->model->pci_device_ids[0];
  if (vf) {
    const PciAddress vf_address = vf->address;
    if (n == 0)
      return dir({"class", "device", "driver", "numa_node", "nvidia", "physfn", "subsystem_device",
                  "subsystem_vendor", "vendor"});
    if (n == 1) {
      if (auto f = ids_file(0x10de, device_id)) return *f;
      if (*at == "physfn") return link("../" + gpu.to_string());
      if (*at == "driver") return link("../../../bus/pci/drivers/nvidia-vgpu-vfio");
      if (*at == "nvidia") return dir({"creatable_vgpu_types", "current_vgpu_type", "vgpu_params"});
      return {};
    }
    if (n != 2 || *at != "nvidia") return {};
    const std::string& file = p[3];
    Node node;
    node.kind = Kind::file;
    if (file == "creatable_vgpu_types") {
      node.mode = 0444;
      node.read = [this, vf_address](std::string& out) {
        std::lock_guard l(mutex_);
        auto [pg, pvf] = vf_at(vf_address);
        if (!pvf) return -ENODEV;
        out.clear();
        if (pvf->current) return 0;
        auto list = creatable(*pg);
        if (list.empty()) return 0;
        out = "ID    : vGPU Name\n";
        char line[128];
        for (const auto* t : list) {
          std::snprintf(line, sizeof line, "%-5u : %s\n", t->id, t->name.c_str());
          out += line;
        }
        return 0;
      };
      return node;
    }
    if (file == "current_vgpu_type") {
      node.mode = 0644;
      node.read = [this, vf_address](std::string& out) {
        std::lock_guard l(mutex_);
        auto [pg, pvf] = vf_at(vf_address);
        if (!pvf) return -ENODEV;
        out = std::to_string(pvf->current) + "\n";
        return 0;
      };
      node.write = [this, vf_address](std::string_view text) {
        std::lock_guard l(mutex_);
        auto [pg, pvf] = vf_at(vf_address);
        if (!pvf) return -ENODEV;
        return set_current(*pg, *pvf, text);
      };
      return node;
    }
    if (file == "vgpu_params") {
      node.mode = 0644;
      node.read = [this, vf_address](std::string& out) {
        std::lock_guard l(mutex_);
        auto [pg, pvf] = vf_at(vf_address);
        if (!pvf) return -ENODEV;
        out = pvf->params.empty() ? "" : pvf->params + "\n";
        return 0;
      };
      node.write = [this, vf_address](std::string_view text) {
        std::lock_guard l(mutex_);
        auto [pg, pvf] = vf_at(vf_address);
        if (!pvf) return -ENODEV;
        if (pvf->current) return -EBUSY;
        pvf->params = trim(text);
        return 0;
      };
      return node;
    }
    return {};
  }
  // The physical function.
  if (n == 0) {
    std::vector<std::string> names = {
        "class", "device", "driver", "numa_node", "subsystem_device", "subsystem_vendor", "vendor"};
    if (g->interface == Interface::vf) {
      for (const char* s : {"sriov_numvfs", "sriov_offset", "sriov_stride", "sriov_totalvfs"})
        names.push_back(s);
      for (const auto& v : g->vfs)
        names.push_back("virtfn" + std::to_string(v.index));
    } else {
      names.push_back("mdev_supported_types");
      for (const auto& m : g->mdevs)
        names.push_back(m.uuid.to_string());
    }
    return dir(names);
  }
  if (n == 1) {
    if (auto f = ids_file(0x10de, device_id)) return *f;
    if (*at == "driver") return link("../../../bus/pci/drivers/" + g->driver);
  }
  if (g->interface == Interface::vf && n == 1) {
    if (*at == "sriov_totalvfs") return text_file(std::to_string(g->total_vfs) + "\n");
    if (*at == "sriov_offset") return text_file("4\n");
    if (*at == "sriov_stride") return text_file("1\n");
    if (*at == "sriov_numvfs") {
      Node node;
      node.kind = Kind::file;
      node.mode = 0644;
      node.read = [this, gpu](std::string& out) {
        std::lock_guard l(mutex_);
        Gpu* pg = gpu_at(gpu);
        out = std::to_string(pg->num_vfs) + "\n";
        return 0;
      };
      node.write = [this, gpu](std::string_view text) {
        std::lock_guard l(mutex_);
        return set_num_vfs(*gpu_at(gpu), text);
      };
      return node;
    }
    if (at->rfind("virtfn", 0) == 0)
      for (const auto& v : g->vfs)
        if (*at == "virtfn" + std::to_string(v.index)) return link("../" + v.address.to_string());
    return {};
  }
  if (g->interface != Interface::mdev) return {};
  if (*at == "mdev_supported_types") {
    auto type_index = [&](const std::string& name) -> std::optional<std::size_t> {
      for (std::size_t i = 0; i < g->types.size(); ++i)
        if (name == "nvidia-" + std::to_string(g->types[i].id)) return i;
      return std::nullopt;
    };
    if (n == 1) {
      std::vector<std::string> names;
      for (const auto& t : g->types)
        names.push_back("nvidia-" + std::to_string(t.id));
      return dir(names);
    }
    auto ti = type_index(p[3]);
    if (!ti) return {};
    const DriverType& t = g->types[*ti];
    const std::size_t index = *ti;
    if (n == 2)
      return dir({"available_instances", "create", "description", "device_api", "devices", "name"});
    const std::string& file = p[4];
    if (n == 3) {
      if (file == "name") return text_file(t.name + "\n");
      if (file == "description") return text_file(description_of(*t.type) + "\n");
      if (file == "device_api") return text_file("vfio-pci\n");
      if (file == "available_instances") return text_file(std::to_string(available(*g, t)) + "\n");
      if (file == "create") {
        Node node;
        node.kind = Kind::file;
        node.mode = 0200;
        node.read = [](std::string&) { return -EACCES; };
        node.write = [this, gpu, index](std::string_view text) {
          std::lock_guard l(mutex_);
          return mdev_create(*gpu_at(gpu), index, text);
        };
        return node;
      }
      if (file == "devices") {
        std::vector<std::string> names;
        for (const auto& m : g->mdevs)
          if (m.type == index) names.push_back(m.uuid.to_string());
        return dir(names);
      }
      return {};
    }
    if (n == 4 && file == "devices") {
      for (const auto& m : g->mdevs)
        if (m.type == index && m.uuid.to_string() == p[5]) return link("../../../" + p[5]);
    }
    return {};
  }
  auto uuid = Uuid::parse(*at);
  if (!uuid) return {};
  auto m = std::find_if(g->mdevs.begin(), g->mdevs.end(),
                        [&](const Mdev& x) { return x.uuid == *uuid; });
  if (m == g->mdevs.end()) return {};
  if (n == 1) return dir({"mdev_type", "remove"});
  if (n != 2) return {};
  if (p[3] == "mdev_type")
    return link("../mdev_supported_types/nvidia-" + std::to_string(g->types[m->type].id));
  if (p[3] == "remove") {
    Node node;
    node.kind = Kind::file;
    node.mode = 0200;
    node.read = [](std::string&) { return -EACCES; };
    const Uuid u = *uuid;
    node.write = [this, gpu, u](std::string_view text) {
      std::lock_guard l(mutex_);
      return mdev_remove(*gpu_at(gpu), u, text);
    };
    return node;
  }
  return {};
}

}  // namespace vgpu::emu
