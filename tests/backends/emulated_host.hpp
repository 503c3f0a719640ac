// A test fixture: vgpu-kernel-emu serving an emulated host under a temporary root, and the
// BackendOptions that point the backends at it. When FUSE cannot mount here the fixture says
// so loudly and the test returns early (Catch2 v2 has no "skipped").
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "vgpu/catalog_io.hpp"
#include "vgpu/sys/backend.hpp"

namespace vgpu::test {

namespace fs = std::filesystem;

// A PCI address the test spells correctly.
inline PciAddress pci(const char* text) {
  return *PciAddress::parse(text);
}

class EmulatedHost {
 public:
  // @p host: the emulator's host file (docs/backends.md), e.g.
  // {"interface": "vf", "vfs": 4, "host": {"gpus": [{"model": "A16"}]}}.
  explicit EmulatedHost(const nlohmann::json& host) {
    char pattern[] = "/tmp/vgpu-emu-test.XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir_ = pattern;
    root_ = dir_ / "root";
    {
      std::ofstream out(dir_ / "host.json");
      out << host.dump();
    }
    if (::access("/dev/fuse", R_OK | W_OK) != 0) {
      why_ = "/dev/fuse is missing or not accessible";
      warn();
      return;
    }
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // The emulator must not inherit umockdev's preload from a test run under it, nor
      // outlive a test that crashes (it would keep the mount and the test's stdout).
      ::unsetenv("LD_PRELOAD");
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      const std::string log = (dir_ / "emulator.log").string();
      std::freopen(log.c_str(), "w", stderr);
      std::freopen("/dev/null", "w", stdout);
      ::execl(VGPU_KERNEL_EMU_PATH, VGPU_KERNEL_EMU_PATH, "--host", (dir_ / "host.json").c_str(),
              root_.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (fs::exists(root_ / "sys/vgpu-emulator/control")) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream log(dir_ / "emulator.log");
        std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (code == 77) {
          why_ = text;
          warn();
          return;
        }
        FAIL("vgpu-kernel-emu exited with " << code << ": " << text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL("vgpu-kernel-emu did not mount " << root_ << " within 10 s");
  }

  ~EmulatedHost() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  EmulatedHost(const EmulatedHost&) = delete;
  EmulatedHost& operator=(const EmulatedHost&) = delete;

  // False when FUSE cannot mount here (already reported).
  [[nodiscard]] bool ok() const { return why_.empty(); }
  [[nodiscard]] const fs::path& root() const { return root_; }
  [[nodiscard]] fs::path sys(const std::string& relative) const { return root_ / "sys" / relative; }

  // One command for the emulator (open/close DEVICE, fail SUFFIX ERRNO, garbage SUFFIX TEXT,
  // unplug VF, clear).
  void control(const std::string& command) const {
    std::ofstream out(root_ / "sys/vgpu-emulator/control");
    out << command;
    out.flush();
    REQUIRE(out.good());
  }

  // The emulator's view of its devices.
  [[nodiscard]] nlohmann::json state() const {
    std::ifstream in(root_ / "sys/vgpu-emulator/state");
    return nlohmann::json::parse(in);
  }

  [[nodiscard]] sys::BackendOptions options() const {
    sys::BackendOptions o;
    o.sysfs_root = root_;
    o.catalog = std::make_shared<const TypeCatalog>(builtin_catalog());
    return o;
  }

  [[nodiscard]] std::unique_ptr<sys::Backend> open(const std::string& name,
                                                   sys::BackendOptions o) const {
    auto b = sys::open_backend(name, o);
    if (!b) FAIL("open_backend(" << name << "): " << b.error().message());
    return std::move(*b);
  }
  [[nodiscard]] std::unique_ptr<sys::Backend> open(const std::string& name) const {
    return open(name, options());
  }

 private:
  void warn() const {
    WARN("=== FUSE UNAVAILABLE: the emulated-kernel test cannot run here (" << why_
                                                                            << "); NOT TESTED ===");
    std::fprintf(stderr, "vgpu tests: FUSE UNAVAILABLE (%s): emulated-kernel test NOT RUN\n",
                 why_.c_str());
  }

  fs::path dir_, root_;
  pid_t pid_ = -1;
  std::string why_;
};

}  // namespace vgpu::test
