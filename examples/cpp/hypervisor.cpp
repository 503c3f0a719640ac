// What a VMM written in C++ does with vgpu::Manager over a VM's life (docs/getting-started.md):
//
//   1. reserve the VM's vGPUs, by type or by requirement (all or nothing, recorded with the
//      VM's name and UUID in the host's ledger);
//   2. build the device argument the VMM needs for each (QEMU's -device vfio-pci,...);
//   3. start the VM: here a stand-in child process that is given those arguments;
//   4. stop the VM, then release its vGPUs, retrying while the device is still busy;
//   and, when a request does not fit, refuse to start the VM and say why, GPU by GPU.
//
//   ./hypervisor [BACKEND]      (default: the built-in simulated host)
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vgpu/manager.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

struct Vm {
  explicit Vm(std::string vm_name) : name(std::move(vm_name)) {}
  std::string name;
  vgpu::Uuid uuid = vgpu::Uuid::generate();
  std::vector<vgpu::VgpuRecord> vgpus;
  pid_t process = -1;
};

void print_error(const std::string& what, const vgpu::Error& e) {
  std::fprintf(stderr, "%s: %s [%s]\n", what.c_str(), e.message().c_str(),
               std::string(vgpu::to_string(e.code())).c_str());
}

// [device-argument]
// What QEMU is given for a vGPU: an mdev by its sysfs path, an SR-IOV VF by its PCI address.
// The simulated host has no device node (empty), so there is nothing to pass.
std::vector<std::string> qemu_device_arguments(const vgpu::VgpuRecord& v) {
  if (v.device.empty()) return {};
  if (v.device.front() == '/') return {"-device", "vfio-pci,sysfsdev=" + v.device};
  return {"-device", "vfio-pci,host=" + v.device};
}
// [device-argument]

// [reserve]
// 1. Reserves the VM's vGPUs. Errc::no_capacity is an answer, not a failure of the VMM: the
// VM is not started, and the caller (a scheduler) may try another host.
vgpu::Result<void> reserve(vgpu::Manager& manager, Vm& vm, vgpu::Request request) {
  request.owner = vm.name;  // recorded in the ledger; `vgpuctl list` shows it
  vgpu::CreateOptions options;
  options.vm_uuid = vm.uuid;
  auto created = manager.create(request, options);
  if (!created) {
    if (created.error().code() == vgpu::Errc::no_capacity) {
      std::printf("%s: does not fit on this host, not started:\n", vm.name.c_str());
      if (auto why = manager.explain(request))
        for (const auto& gpu : why->gpus)
          if (!gpu.eligible) std::printf("  %s\n", gpu.reason.c_str());
    }
    return created.error();
  }
  vm.vgpus = std::move(*created);
  return {};
}
// [reserve]

// 3. Starts the VM: a stand-in for qemu-system-x86_64 that is given the device arguments,
// says it is running (as QEMU would on its monitor) and runs until it is stopped.
vgpu::Result<void> start(Vm& vm) {
  std::vector<std::string> args = {"sh",
                                   "-c",
                                   "echo \"running with $*\"; exec sleep 600",
                                   "qemu",
                                   "-name",
                                   vm.name,
                                   "-uuid",
                                   vm.uuid.to_string()};
  for (const auto& v : vm.vgpus) {
    const auto device = qemu_device_arguments(v);
    if (device.empty())
      std::printf("%s: %s %s on %s at slot %u (simulated: no device)\n", vm.name.c_str(),
                  v.type_name.c_str(), v.uuid.to_string().c_str(), v.gpu.to_string().c_str(),
                  v.placement);
    args.insert(args.end(), device.begin(), device.end());
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return vgpu::fail(vgpu::Errc::io_error, "pipe", errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  const int rc = posix_spawn(&vm.process, "/bin/sh", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return vgpu::fail(vgpu::Errc::io_error, "cannot start the VM process", rc);
  }
  // Wait until the VM says it runs.
  std::string line;
  char c = 0;
  while (read(pipe_fds[0], &c, 1) == 1 && c != '\n')
    line += c;
  close(pipe_fds[0]);
  std::printf("%s: pid %d %s\n", vm.name.c_str(), static_cast<int>(vm.process), line.c_str());
  return {};
}

// [release]
// 4. Stops the VM, then releases its vGPUs. The kernel may hold a device for a moment after
// QEMU exits (Errc::busy): the vGPU stays recorded as active, so retrying is safe.
vgpu::Result<void> stop_and_release(vgpu::Manager& manager, Vm& vm) {
  if (vm.process > 0) {
    kill(vm.process, SIGTERM);
    int status = 0;
    waitpid(vm.process, &status, 0);
    vm.process = -1;
  }
  for (const auto& v : vm.vgpus) {
    auto released = manager.destroy(v.uuid);
    for (int attempt = 1; !released && released.error().code() == vgpu::Errc::busy && attempt < 5;
         ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
      released = manager.destroy(v.uuid);
    }
    if (!released && released.error().code() != vgpu::Errc::not_found)  // gone: reconciled
      return released.error().with_context("releasing " + v.uuid.to_string());
  }
  std::printf("%s: stopped, %zu vGPU(s) released\n", vm.name.c_str(), vm.vgpus.size());
  vm.vgpus.clear();
  return {};
}
// [release]

}  // namespace

int main(int argc, char** argv) {
  vgpu::ManagerOptions options;  // "sim": the built-in simulated host, private to this process
  if (argc > 1) options.backend = argv[1];
  options.logger = [](vgpu::LogLevel level, std::string_view m) {
    if (level >= vgpu::LogLevel::warning)
      std::fprintf(stderr, "vgpu: %.*s\n", static_cast<int>(m.size()), m.data());
  };
  auto opened = vgpu::Manager::open(std::move(options));
  if (!opened) return print_error("opening the manager", opened.error()), 1;
  vgpu::Manager& manager = **opened;

  // [requests]
  // By type: the VM's configuration names the vGPU type.
  Vm web("vm-web");
  auto a16_4q = manager.catalog().find_type("A16-4Q");
  if (!a16_4q) return print_error("A16-4Q", a16_4q.error()), 1;
  const vgpu::Request by_type = vgpu::Request::of(*a16_4q);

  // By requirement: two Q-series vGPUs of at least 24 GiB, each on its own GPU; the engine
  // picks, per GPU model, the smallest type that meets it.
  Vm render("vm-render");
  vgpu::TypeRequirement need;
  need.min_framebuffer = vgpu::Bytes::gib(24);
  need.series = vgpu::Series::Q;
  const vgpu::Request by_requirement = vgpu::Request::needing(need, 2);
  // [requests]

  int failures = 0;
  for (auto [vm, request] : {std::pair{&web, &by_type}, std::pair{&render, &by_requirement}}) {
    if (auto ok = reserve(manager, *vm, *request); !ok) {
      print_error(vm->name, ok.error());
      ++failures;
    } else if (auto started = start(*vm); !started) {
      print_error(vm->name, started.error());
      ++failures;
    }
  }

  // A third VM asks for more than is left (two 48 GiB vGPUs: only the L40S have them, and
  // they are half used): refused with the reasons, nothing is created, and the VMs already
  // running are untouched.
  Vm big("vm-big");
  vgpu::TypeRequirement more = need;
  more.min_framebuffer = vgpu::Bytes::gib(48);
  auto refused = reserve(manager, big, vgpu::Request::needing(more, 2));
  if (refused || refused.error().code() != vgpu::Errc::no_capacity) ++failures;

  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the VMs run
  for (Vm* vm : {&render, &web})
    if (auto ok = stop_and_release(manager, *vm); !ok) {
      print_error(vm->name, ok.error());
      ++failures;
    }
  const auto left = manager.instances();
  if (!left || !left->empty()) ++failures;
  std::printf("%s\n", failures == 0 ? "hypervisor lifecycle OK" : "hypervisor lifecycle FAILED");
  return failures == 0 ? 0 : 1;
}
