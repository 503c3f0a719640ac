// Running commands from tests: the real tools (vgpuctl, mdevctl, virt-xml-validate, python3)
// with their exit code and output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace vgpu::test {

struct Run {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs @p command with /bin/sh and returns its exit code and stdout.
inline Run capture(const std::string& command) {
  Run r;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
    r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs @p command with /bin/sh; stdout and stderr are captured apart.
inline Run run(const std::string& command) {
  namespace fs = std::filesystem;
  static int serial = 0;
  const fs::path err_file =
      fs::temp_directory_path() /
      ("vgpu-test-stderr-" + std::to_string(::getpid()) + "-" + std::to_string(++serial));
  Run r = capture(command + " 2>" + err_file.string());
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  std::error_code ec;
  fs::remove(err_file, ec);
  return r;
}

// Runs @p command with stderr folded into stdout.
inline Run shell(const std::string& command) {
  return capture(command + " 2>&1");
}

// mdevctl as root sees an emulated tree whose root is @p root (vgpu-kernel-emu), mounted over
// /sys and /etc/mdevctl.d in a private mount namespace.
inline Run mdevctl(const std::filesystem::path& root, const std::string& args) {
  return shell("unshare -m sh -c 'mount --bind " + root.string() + "/sys /sys && mount --bind " +
               root.string() + "/etc/mdevctl.d /etc/mdevctl.d && mdevctl " + args + "'");
}

// True when mdevctl and private mount namespaces are available; says loudly when not.
inline bool mdevctl_usable() {
  if (shell("command -v mdevctl").code != 0) {
    WARN("=== MDEVCTL MISSING (Debian package mdevctl): interoperability NOT TESTED ===");
    return false;
  }
  auto probe = shell("unshare -m sh -c 'mount -t tmpfs none /mnt'");
  if (probe.code != 0) {
    WARN("=== unshare -m / mount not permitted here ("
         << probe.out << "): mdevctl interoperability NOT TESTED ===");
    return false;
  }
  return true;
}

}  // namespace vgpu::test
