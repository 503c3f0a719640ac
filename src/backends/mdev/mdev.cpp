// The mdev interface: parents in <root>/sys/class/mdev_bus, types in
// <parent>/mdev_supported_types/<type-id>/{name,description,available_instances,device_api,
// create}, devices in <root>/sys/bus/mdev/devices/<uuid> with mdev_type and remove.
// mdev stores the UUID; the owner, placement and creation time live in <state_dir>/mdev/<uuid>.
#include "backends/mdev/mdev.hpp"

#include <algorithm>
#include <cerrno>
#include <set>

#include "backends/sysfs/records.hpp"
#include "backends/sysfs/sysfs.hpp"

namespace vgpu::sys::mdev {
namespace {

namespace fs = std::filesystem;

// One mdev type of one parent.
struct MdevType {
  std::string id;         // directory name, e.g. "nvidia-558"
  std::string name;       // name attribute, e.g. "GRID A16-2Q"
  std::string canonical;  // catalog name, or empty when the catalog has no such type
  Description description;
  std::uint32_t available = 0;
  fs::path dir;
};

struct Parent {
  PciAddress address;
  fs::path dir;
  std::shared_ptr<const GpuModel> model;  // null: no catalog model matches its types
  std::vector<MdevType> types;
};

class MdevBackend final : public Backend {
 public:
  explicit MdevBackend(BackendOptions options)
      : options_(std::move(options)),
        root_(options_.sysfs_root),
        records_(options_.state_dir, "mdev") {}

  std::string_view name() const override { return "mdev"; }

  Result<std::vector<PhysicalGpu>> gpus() override {
    auto parents = read_parents();
    if (!parents) return parents.error();
    std::vector<PhysicalGpu> out;
    for (const auto& p : *parents) {
      if (!p.model) continue;  // e.g. Intel GVT-g: nothing in the catalog to place with
      PhysicalGpu g;
      g.address = p.address;
      g.model = p.model;
      g.numa_node = sysfs::numa_node_of(p.dir);
      g.pci_root = sysfs::pci_root_of(p.dir);
      out.push_back(std::move(g));
    }
    return out;
  }

  Result<std::vector<VgpuInstance>> instances() override {
    std::vector<Parent> parents;  // read as devices name them: a host without mdevs reads none
    std::vector<VgpuInstance> out;
    std::map<std::string, std::vector<std::size_t>> unplaced;  // parent -> indexes into out
    for (const auto& entry : sysfs::list(root_.mdev_devices())) {
      auto uuid = Uuid::parse(entry);
      if (!uuid) continue;
      const fs::path dev = root_.mdev_devices() / entry;
      std::error_code ec;
      const fs::path real = fs::canonical(dev, ec);
      if (ec) continue;  // removed while we looked
      auto parent_address = PciAddress::parse(real.parent_path().filename().string());
      auto type_id = sysfs::link_name(dev / "mdev_type");
      if (!parent_address || !type_id) continue;
      auto p = std::find_if(parents.begin(), parents.end(),
                            [&](const Parent& x) { return x.address == *parent_address; });
      if (p == parents.end()) {
        auto read = read_parent(*parent_address);
        if (!read) {
          if (read.error().code() == Errc::not_found) continue;
          return read.error();
        }
        parents.push_back(std::move(*read));
        p = parents.end() - 1;
      }
      if (!p->model) continue;
      auto t = std::find_if(p->types.begin(), p->types.end(),
                            [&](const MdevType& x) { return x.id == *type_id; });
      if (t == p->types.end() || t->canonical.empty())
        return fail(Errc::not_supported, "mdev " + entry + " on " + p->address.to_string() +
                                             " has type " + *type_id +
                                             ", which the catalog does not name; add it to a "
                                             "catalog file");
      VgpuInstance v;
      v.uuid = *uuid;
      v.type_name = t->canonical;
      v.gpu = p->address;
      v.device = dev.string();
      if (auto r = records_.load(uuid->to_string()); r && r->type == v.type_name) {
        v.owner = r->owner;
        v.placement = r->placement;
        v.created_at = r->created();
      } else {
        unplaced[p->address.to_string()].push_back(out.size());
      }
      out.push_back(std::move(v));
    }
    for (const auto& [parent, indexes] : unplaced) {
      // (A named copy: clang 14 cannot capture a structured binding.)
      const std::string& name = parent;
      const auto p = std::find_if(parents.begin(), parents.end(),
                                  [&](const Parent& x) { return x.address.to_string() == name; });
      sysfs::place_unrecorded(*p->model, p->address, out, indexes);
    }
    return out;
  }

  Result<std::vector<std::string>> supported_types(const PciAddress& gpu) override {
    auto p = read_parent(gpu);
    if (!p) return p.error();
    std::vector<std::string> out;
    for (const auto& t : p->types)
      if (!t.canonical.empty()) out.push_back(t.canonical);
    return out;
  }

  Result<std::vector<std::string>> creatable_types(const PciAddress& gpu) override {
    auto p = read_parent(gpu, true);
    if (!p) return p.error();
    std::vector<std::string> out;
    for (const auto& t : p->types)
      if (!t.canonical.empty() && t.available > 0) out.push_back(t.canonical);
    return out;
  }

  Result<std::vector<GpuInfo>> gpu_info() override {
    auto parents = read_parents();
    if (!parents) return parents.error();
    std::vector<GpuInfo> out;
    for (const auto& p : *parents) {
      GpuInfo info;
      info.address = p.address;
      info.vendor_id = static_cast<std::uint16_t>(
          sysfs::parse_number(sysfs::read_or_empty(p.dir / "vendor")).value_or(0));
      info.device_id = static_cast<std::uint16_t>(
          sysfs::parse_number(sysfs::read_or_empty(p.dir / "device")).value_or(0));
      info.driver = sysfs::link_name(p.dir / "driver").value_or("");
      info.interface = "mdev";
      out.push_back(std::move(info));
    }
    return out;
  }

  Result<VgpuInstance> create(const CreateRequest& request) override {
    auto p = read_parent(request.gpu, true);
    if (!p) return p.error();
    if (!p->model)
      return fail(Errc::not_supported,
                  "mdev parent " + request.gpu.to_string() + " has no vGPU type the catalog knows");
    auto t = std::find_if(p->types.begin(), p->types.end(),
                          [&](const MdevType& x) { return x.canonical == request.type_name; });
    if (t == p->types.end())
      return fail(Errc::not_supported, "GPU " + request.gpu.to_string() + " (" + p->model->name +
                                           ") offers no mdev type for " + request.type_name);
    if (sysfs::exists(root_.mdev_devices() / request.uuid.to_string()))
      return fail(Errc::conflict, "an mdev with uuid " + request.uuid.to_string() +
                                      " already exists (`vgpuctl list`)");
    const std::string what = "cannot create " + request.type_name + " (mdev type " + t->id +
                             ") on GPU " + request.gpu.to_string();
    if (t->available == 0) return no_instances_left(*t, what, 0);
    if (auto ok = sysfs::write(t->dir / "create", request.uuid.to_string()); !ok) {
      switch (ok.error().os_errno()) {
        case EEXIST:
          return fail(Errc::conflict,
                      what + ": an mdev with uuid " + request.uuid.to_string() + " already exists",
                      EEXIST);
        case EUSERS:
        case ENOSPC:
        case EDQUOT:
          return no_instances_left(*t, what, ok.error().os_errno());
        case EINVAL:
          return fail(Errc::conflict,
                      what +
                          ": the driver refused it (another type is active on the GPU, or "
                          "the UUID was rejected); see `vgpuctl types --creatable`",
                      EINVAL);
        case EBUSY:
          return fail(Errc::busy, what + ": the GPU is busy; retry", EBUSY);
        case EACCES:
        case EPERM:
          return fail(Errc::permission_denied,
                      what + ": permission denied; writing mdev create files needs root",
                      ok.error().os_errno());
        default:
          return ok.error().with_context(what);
      }
    }
    const sysfs::VgpuRecord r{request.uuid,      request.type_name, 0,
                              request.placement, request.owner,     sysfs::VgpuRecord::now()};
    if (auto ok = records_.save(request.uuid.to_string(), r); !ok) {
      (void)sysfs::write(root_.mdev_devices() / request.uuid.to_string() / "remove", "1");
      return ok.error();
    }
    VgpuInstance v;
    v.uuid = request.uuid;
    v.type_name = request.type_name;
    v.gpu = request.gpu;
    v.placement = request.placement;
    v.owner = request.owner;
    v.created_at = r.created();
    v.device = (root_.mdev_devices() / request.uuid.to_string()).string();
    return v;
  }

  Result<void> destroy(const Uuid& uuid) override {
    const fs::path dev = root_.mdev_devices() / uuid.to_string();
    if (!sysfs::exists(dev))
      return fail(Errc::not_found, "no mdev " + uuid.to_string() + " under " +
                                       root_.mdev_devices().string() + " (`vgpuctl list`)");
    if (auto ok = sysfs::write(dev / "remove", "1"); !ok) {
      const std::string what = "cannot remove mdev " + uuid.to_string();
      switch (ok.error().os_errno()) {
        case EBUSY:
          return fail(Errc::busy, what + ": a VM is using it; stop the VM first", EBUSY);
        case ENOENT:
        case ENODEV:
          records_.remove(uuid.to_string());
          return fail(Errc::not_found, what + ": it vanished; list the vGPUs again",
                      ok.error().os_errno());
        case EACCES:
        case EPERM:
          return fail(Errc::permission_denied, what + ": permission denied; run as root",
                      ok.error().os_errno());
        default:
          return ok.error().with_context(what);
      }
    }
    records_.remove(uuid.to_string());
    return {};
  }

  // The kernel's type ids (directory names) of parent @p address, by canonical type name.
  Result<std::map<std::string, std::string>> type_ids(const PciAddress& address) {
    auto p = read_parent(address);
    if (!p) return p.error();
    std::map<std::string, std::string> out;
    for (const auto& t : p->types)
      if (!t.canonical.empty()) out.emplace(t.canonical, t.id);
    return out;
  }

 private:
  static Error no_instances_left(const MdevType& t, const std::string& what, int os_errno) {
    std::string holders;
    for (const auto& entry : sysfs::list(t.dir.parent_path())) {
      if (entry == t.id) continue;
      const auto n = sysfs::list(t.dir.parent_path() / entry / "devices").size();
      if (n > 0) holders += (holders.empty() ? "" : ", ") + std::to_string(n) + " x " + entry;
    }
    return fail(Errc::no_capacity,
                what + ": available_instances is 0" +
                    (holders.empty() ? std::string("; the GPU holds the maximum of this type")
                                     : "; the GPU holds " + holders +
                                           " and time-sliced vGPUs of one type share a GPU") +
                    "; destroy vGPUs there or use another GPU",
                os_errno);
  }

  // @p with_available: also read available_instances (what creatable_types() and create() need).
  Result<Parent> read_parent(const PciAddress& address, bool with_available = false) {
    const fs::path link = root_.mdev_bus() / address.to_string();
    if (!sysfs::exists(link / "mdev_supported_types"))
      return fail(Errc::not_found, "no mdev parent " + address.to_string() + " under " +
                                       root_.mdev_bus().string() + " (`vgpuctl gpus`)");
    Parent p;
    p.address = address;
    p.dir = link;
    const fs::path types_dir = link / "mdev_supported_types";
    std::map<std::shared_ptr<const GpuModel>, int> votes;
    for (const auto& id : sysfs::list(types_dir)) {
      MdevType t;
      t.id = id;
      t.dir = types_dir / id;
      if (with_available) {
        auto available = sysfs::read(t.dir / "available_instances");
        if (!available) {
          if (available.error().code() == Errc::not_found) continue;  // vanished
          return available.error();
        }
        auto n = small_number(*available);
        if (!n)
          return fail(Errc::io_error, (t.dir / "available_instances").string() + " holds " +
                                          detail::quoted(*available) +
                                          ", not a number; the driver or the file is broken");
        t.available = *n;
      }
      t.name = sysfs::trim(sysfs::read_or_empty(t.dir / "name"));
      if (auto ref = options_.catalog->try_find_type(t.name.empty() ? id : t.name)) {
        t.canonical = ref->type->name;
        ++votes[ref->model];
      } else {
        // Only types the catalog does not name need their free-form description.
        t.description = parse_description(sysfs::read_or_empty(t.dir / "description"));
      }
      p.types.push_back(std::move(t));
    }
    for (const auto& [model, count] : votes)
      if (!p.model || count > votes[p.model]) p.model = model;
    if (!p.model) {
      auto device = sysfs::parse_number(sysfs::read_or_empty(link / "device"));
      auto models = options_.catalog->find_models_by_pci_device(
          static_cast<std::uint16_t>(device.value_or(0)));
      if (!models.empty()) p.model = models.front();
    }
    if (p.model) match_by_geometry(p);
    return p;
  }

  // Types whose name the catalog does not know: matched by their description's geometry.
  static void match_by_geometry(Parent& p) {
    for (auto& t : p.types) {
      if (!t.canonical.empty()) continue;
      if (const VgpuType* found = match_description(*p.model, t.description))
        t.canonical = found->name;
    }
  }

  Result<std::vector<Parent>> read_parents() {
    std::vector<Parent> out;
    for (const auto& entry : sysfs::list(root_.mdev_bus())) {
      auto address = PciAddress::parse(entry);
      if (!address) continue;  // not a PCI parent (e.g. s390 ccw)
      auto p = read_parent(*address);
      if (!p) {
        if (p.error().code() == Errc::not_found) continue;
        return p.error();
      }
      out.push_back(std::move(*p));
    }
    return out;
  }

  BackendOptions options_;
  sysfs::Root root_;
  sysfs::RecordStore records_;
};

}  // namespace

std::optional<std::uint32_t> small_number(const std::string& text) {
  auto n = sysfs::parse_number(text);
  if (!n || *n > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(*n);
}

// "2048M", "384MB", "16G", "1024": sizes as drivers print them (bare numbers are MiB).
std::optional<Bytes> size_of(std::string text) {
  text = detail::to_lower(sysfs::trim(text));
  if (text.size() > 1 && text.back() == 'b') text.pop_back();
  if (!text.empty() && text.back() >= '0' && text.back() <= '9') text += "m";
  auto b = Bytes::parse(text);
  if (!b) return std::nullopt;
  return *b;
}

const VgpuType* match_description(const GpuModel& model, const Description& d) {
  if (!d.framebuffer) return nullptr;
  const VgpuType* found = nullptr;
  int matches = 0;
  for (const auto& c : model.types) {
    if (c.is_mig_backed() || c.framebuffer != *d.framebuffer) continue;
    if (d.heads && c.max_heads != *d.heads) continue;
    if (d.max_instances && c.max_instances != *d.max_instances) continue;
    if (d.frame_rate_limit && c.frame_rate_limit != *d.frame_rate_limit) continue;
    found = &c;
    ++matches;
  }
  return matches == 1 ? found : nullptr;
}

Description parse_description(std::string_view text) {
  Description d;
  std::string item;
  auto take = [&](std::string piece) {
    piece = sysfs::trim(piece);
    if (piece.empty()) return;
    const auto sep = piece.find_first_of("=:");
    if (sep == std::string::npos) return;
    const std::string key = detail::to_lower(sysfs::trim(std::string_view(piece).substr(0, sep)));
    const std::string value = sysfs::trim(std::string_view(piece).substr(sep + 1));
    if (key.empty()) return;
    d.fields[key] = value;
  };
  for (char c : text) {
    if (c == ',' || c == '\n') {
      take(item);
      item.clear();
    } else {
      item += c;
    }
  }
  take(item);
  auto field = [&](const char* key) -> const std::string* {
    auto it = d.fields.find(key);
    return it == d.fields.end() ? nullptr : &it->second;
  };
  if (const auto* fb = field("framebuffer")) d.framebuffer = size_of(*fb);
  if (!d.framebuffer) {
    const auto* low = field("low_gm_size");
    const auto* high = field("high_gm_size");
    if (low && high) {
      auto l = size_of(*low), h = size_of(*high);
      if (l && h) d.framebuffer = *l + *h;
    }
  }
  if (const auto* h = field("num_heads")) d.heads = small_number(*h);
  for (const char* key : {"max_resolution", "resolution"}) {
    if (const auto* r = field(key); r && !d.max_resolution)
      if (auto parsed = Resolution::parse(*r)) d.max_resolution = *parsed;
  }
  if (const auto* m = field("max_instance")) d.max_instances = small_number(*m);
  if (const auto* f = field("frl_config")) d.frame_rate_limit = small_number(*f);
  return d;
}

Result<std::map<std::string, std::string>> type_ids(const BackendOptions& options,
                                                    const PciAddress& parent) {
  return MdevBackend(options).type_ids(parent);
}

std::unique_ptr<Backend> make(const BackendOptions& options) {
  return std::make_unique<MdevBackend>(options);
}

bool host_has_mdev(const BackendOptions& options) {
  return !sysfs::list(sysfs::Root(options.sysfs_root).mdev_bus()).empty();
}

}  // namespace vgpu::sys::mdev
