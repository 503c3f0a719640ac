// A backend of your own (docs/writing-a-backend.md): a toy "kernel" that keeps each vGPU as a
// file in a directory, registered under a name, driven through vgpu::Manager, and tested the
// way the built-in backends are: the hardware rules hold, a vGPU made behind the Manager's
// back is adopted, an unknown vGPU is not_found.
//
//   ./custom_backend [DIRECTORY]      (default: a new directory under /tmp, removed at the end)
#include <vgpu/manager.hpp>
#include <vgpu/sys/backend.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// [backend]
// Each vGPU is a file DIRECTORY/vgpus/UUID holding "GPU TYPE PLACEMENT OWNER": what a kernel
// interface would show in sysfs. The GPUs are fixed: two A16s.
class DirectoryBackend final : public vgpu::sys::Backend {
 public:
  DirectoryBackend(fs::path directory, std::vector<vgpu::PhysicalGpu> gpus)
      : directory_(std::move(directory)), gpus_(std::move(gpus)) {}

  std::string_view name() const override { return "directory"; }

  vgpu::Result<std::vector<vgpu::PhysicalGpu>> gpus() override { return gpus_; }

  vgpu::Result<std::vector<vgpu::VgpuInstance>> instances() override {
    std::vector<vgpu::VgpuInstance> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(directory_ / "vgpus", ec)) {
      auto uuid = vgpu::Uuid::parse(entry.path().filename().string());
      if (!uuid) continue;  // not one of ours
      vgpu::VgpuInstance v;
      v.uuid = *uuid;
      std::string gpu;
      std::ifstream(entry.path()) >> gpu >> v.type_name >> v.placement >> v.owner;
      auto address = vgpu::PciAddress::parse(gpu);
      if (!address) return address.error().with_context(entry.path().string());
      v.gpu = *address;
      v.device = device(v.uuid);
      out.push_back(std::move(v));
    }
    if (ec)
      return vgpu::fail(vgpu::Errc::io_error, "cannot list " + directory_.string(), ec.value());
    return out;
  }

  // The backend enforces what the hardware enforces: the type must be one of the GPU's, and
  // the vGPU must fit next to the ones the GPU holds (GpuOccupancy applies NVIDIA's rules).
  vgpu::Result<vgpu::VgpuInstance> create(const vgpu::sys::CreateRequest& request) override {
    const vgpu::PhysicalGpu* gpu = find(request.gpu);
    if (!gpu) return vgpu::fail(vgpu::Errc::not_found, "no GPU " + request.gpu.to_string());
    const vgpu::VgpuType* type = gpu->model->find_type(request.type_name);
    if (!type)
      return vgpu::fail(vgpu::Errc::not_supported,
                        gpu->model->name + " has no vGPU type " + request.type_name);
    auto existing = instances();
    if (!existing) return existing.error();
    vgpu::GpuOccupancy occupancy(*gpu);
    for (const auto& v : *existing)
      if (v.gpu == request.gpu)
        (void)occupancy.add(v.uuid, *gpu->model->find_type(v.type_name), v.placement);
    if (auto fits = occupancy.add(request.uuid, *type, request.placement); !fits)
      return fits.error();

    const fs::path file = directory_ / "vgpus" / request.uuid.to_string();
    std::ofstream(file) << request.gpu.to_string() << ' ' << request.type_name << ' '
                        << request.placement << ' ' << (request.owner.empty() ? "-" : request.owner)
                        << '\n';
    if (!fs::exists(file)) return vgpu::fail(vgpu::Errc::io_error, "cannot write " + file.string());
    return vgpu::VgpuInstance{request.uuid,        request.type_name, request.gpu,
                              request.placement,   request.owner,     {},
                              device(request.uuid)};
  }

  vgpu::Result<void> destroy(const vgpu::Uuid& uuid) override {
    std::error_code ec;
    if (!fs::remove(directory_ / "vgpus" / uuid.to_string(), ec))
      return vgpu::fail(ec ? vgpu::Errc::io_error : vgpu::Errc::not_found,
                        "no vGPU " + uuid.to_string() + " in " + directory_.string());
    return {};
  }

 private:
  // What a VMM is given (VgpuInstance::device; the ledger keeps at most 63 bytes of it).
  static std::string device(const vgpu::Uuid& uuid) { return "directory:" + uuid.to_string(); }

  const vgpu::PhysicalGpu* find(const vgpu::PciAddress& address) const {
    for (const auto& g : gpus_)
      if (g.address == address) return &g;
    return nullptr;
  }

  fs::path directory_;
  std::vector<vgpu::PhysicalGpu> gpus_;
};
// [backend]

// [register]
// The factory open_backend() (and so the Manager) calls with the caller's BackendOptions; the
// catalog in them is never null. The directory is BackendOptions::state_dir.
vgpu::Result<void> register_directory_backend() {
  return vgpu::sys::register_backend(
      "directory",
      [](const vgpu::sys::BackendOptions& options)
          -> vgpu::Result<std::unique_ptr<vgpu::sys::Backend>> {
        auto a16 = options.catalog->find_model("A16");
        if (!a16) return a16.error();
        std::vector<vgpu::PhysicalGpu> gpus;
        for (const char* address : {"0000:81:00.0", "0000:82:00.0"}) {
          vgpu::PhysicalGpu gpu;
          gpu.address = vgpu::PciAddress::parse(address).value();
          gpu.model = *a16;  // equal-size mode, like a GPU fresh from the driver
          gpus.push_back(std::move(gpu));
        }
        std::error_code ec;
        fs::create_directories(options.state_dir / "vgpus", ec);
        if (ec)
          return vgpu::fail(vgpu::Errc::io_error, "cannot create " + options.state_dir.string(),
                            ec.value());
        return std::unique_ptr<vgpu::sys::Backend>(
            std::make_unique<DirectoryBackend>(options.state_dir, std::move(gpus)));
      });
}
// [register]

int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  failures += ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool scratch = argc < 2;
  const fs::path directory =
      scratch ? fs::temp_directory_path() /
                    ("vgpu-directory-backend-" + vgpu::Uuid::generate().to_string())
              : fs::path(argv[1]);
  if (auto ok = register_directory_backend(); !ok)
    return std::fprintf(stderr, "%s\n", ok.error().message().c_str()), 1;

  // [open]
  vgpu::ManagerOptions options;
  options.backend = "directory";
  options.backend_options.state_dir = directory;
  options.ledger = directory / "ledger";  // the host's ledger: every process names the same one
  auto opened = vgpu::Manager::open(std::move(options));
  if (!opened) return std::fprintf(stderr, "%s\n", opened.error().message().c_str()), 1;
  vgpu::Manager& manager = **opened;
  // [open]

  // [test]
  // Through the Manager: placed by the policy, created by the backend, recorded in the ledger.
  auto a16_4q = manager.catalog().find_type("A16-4Q").value();
  auto created = manager.create(vgpu::Request::of(a16_4q, 2));
  check(created && created->size() == 2, "two A16-4Q created through the Manager");
  if (!created) std::printf("  %s\n", created.error().message().c_str());
  if (created)
    for (const auto& v : *created)
      std::printf("  %s on %s at slot %u, device %s\n", v.type_name.c_str(),
                  v.gpu.to_string().c_str(), v.placement, v.device.c_str());

  // The hardware rules hold in the backend itself: an A16 in equal-size mode hosts one size.
  vgpu::sys::BackendOptions backend_options;
  backend_options.state_dir = directory;
  auto backend = vgpu::sys::open_backend("directory", backend_options);
  check(backend && vgpu::sys::check_interface_version(**backend).has_value(),
        "opened by name, interface version accepted");
  if (backend && created && !created->empty()) {
    vgpu::sys::CreateRequest wrong{vgpu::Uuid::generate(), created->front().gpu, "A16-16Q", 0, ""};
    auto refused = (*backend)->create(wrong);
    check(!refused && refused.error().code() == vgpu::Errc::no_capacity,
          "A16-16Q refused next to an A16-4Q");

    // A vGPU made behind the Manager's back (another tool) is adopted by reconcile.
    vgpu::sys::CreateRequest other{vgpu::Uuid::generate(), created->front().gpu, "A16-4Q", 4,
                                   "other-tool"};
    check((*backend)->create(other).has_value(), "created directly in the backend");
    auto report = manager.reconcile();
    check(report && report->actions.size() == 1 &&
              report->actions[0].kind == vgpu::ReconcileReport::Action::Kind::adopted,
          "adopted by reconcile");
    check((*backend)->destroy(vgpu::Uuid::generate()).error().code() == vgpu::Errc::not_found,
          "destroying an unknown vGPU is not_found");
  }

  // Every vGPU is released through the Manager; the directory is empty again.
  for (const auto& v : manager.instances().value())
    check(manager.destroy(v.uuid).has_value(), "destroyed through the Manager");
  check(fs::is_empty(directory / "vgpus"), "the backend holds no vGPUs");
  // [test]

  if (scratch) fs::remove_all(directory);
  std::printf("%s\n", failures == 0 ? "custom backend OK" : "custom backend FAILED");
  return failures == 0 ? 0 : 1;
}
