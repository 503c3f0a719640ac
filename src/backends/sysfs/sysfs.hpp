// Reading and writing sysfs attributes under one root, keeping the errno. Internal to libvgpu.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/model/pci_address.hpp"

namespace vgpu::sysfs {

namespace fs = std::filesystem;

// Reads the attribute; its text without the trailing newline(s). Errors carry the errno and
// a generic meaning (generic_error()); backends remap the errnos that mean more for a file.
Result<std::string> read(const fs::path& path);
// The attribute's text, or "" when it cannot be read (optional attributes).
std::string read_or_empty(const fs::path& path);
// Writes @p value in one write(2), as sysfs stores expect. Errors as for read().
Result<void> write(const fs::path& path, std::string_view value);
// The final component of the symlink's target ("nouveau" for driver -> .../drivers/nouveau).
std::optional<std::string> link_name(const fs::path& link);
// The target of a symlink, as written.
std::optional<fs::path> link_target(const fs::path& link);
// Entry names of a directory, sorted; empty if it cannot be read.
std::vector<std::string> list(const fs::path& dir);
bool exists(const fs::path& path);

// @p s without surrounding blanks and line ends.
inline std::string trim(std::string_view s) {
  constexpr std::string_view blanks = " \t\r\n";
  while (!s.empty() && blanks.find(s.front()) != std::string_view::npos)
    s.remove_prefix(1);
  while (!s.empty() && blanks.find(s.back()) != std::string_view::npos)
    s.remove_suffix(1);
  return std::string(s);
}

// Parses a sysfs number: decimal or 0x-prefixed hex up to 2^64 - 1, surrounding blanks allowed.
std::optional<std::uint64_t> parse_number(std::string_view text);

// The error for errno @p code on @p path that needs no backend-specific meaning (EACCES,
// ENOENT, EIO...), with a message that names the file and says what to do. @p doing: "read",
// "write 5 to".
Error generic_error(int code, const fs::path& path, std::string_view doing);

// Where a backend looks: every path derived from one root.
class Root {
 public:
  explicit Root(fs::path root) : root_(std::move(root)) {}
  [[nodiscard]] const fs::path& root() const { return root_; }
  [[nodiscard]] fs::path pci_devices() const { return root_ / "sys/bus/pci/devices"; }
  [[nodiscard]] fs::path pci_device(const PciAddress& a) const {
    return pci_devices() / a.to_string();
  }
  [[nodiscard]] fs::path mdev_bus() const { return root_ / "sys/class/mdev_bus"; }
  [[nodiscard]] fs::path mdev_devices() const { return root_ / "sys/bus/mdev/devices"; }

 private:
  fs::path root_;
};

// The PCI root ("pci0000:40") a device hangs off, from its canonical sysfs path; empty if the
// path does not say.
std::string pci_root_of(const fs::path& device);
// NUMA node of a PCI device (numa_node attribute; -1 or missing: unknown).
std::optional<std::uint32_t> numa_node_of(const fs::path& device);

}  // namespace vgpu::sysfs
