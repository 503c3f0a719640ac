#include "backends/sysfs/sysfs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vgpu::sysfs {

Error generic_error(int code, const fs::path& path, std::string_view doing) {
  const std::string what = std::string("cannot ") + std::string(doing) + " " + path.string();
  switch (code) {
    case EACCES:
    case EPERM:
      return fail(Errc::permission_denied,
                  what +
                      ": permission denied; run as root (sysfs vGPU files are root-only) or "
                      "as a member of the group that owns them",
                  code);
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return fail(Errc::not_found,
                  what +
                      ": it does not exist (the device vanished, or the driver is not "
                      "loaded); list the GPUs again",
                  code);
    case EBUSY:
      return fail(Errc::busy, what + ": device or resource busy; retry when it is released", code);
    default:
      return fail(Errc::io_error, what + ": " + std::strerror(code), code);
  }
}

Result<std::string> read(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return generic_error(errno, path, "read");
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int code = errno;
      ::close(fd);
      return generic_error(code, path, "read");
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0'))
    text.pop_back();
  return text;
}

std::string read_or_empty(const fs::path& path) {
  auto text = read(path);
  return text ? std::move(*text) : std::string();
}

Result<void> write(const fs::path& path, std::string_view value) {
  const std::string doing = "write '" + std::string(value) + "' to";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return generic_error(errno, path, doing);
  ssize_t n;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  const int code = n < 0 ? errno : 0;
  ::close(fd);
  if (n < 0) return generic_error(code, path, doing);
  if (static_cast<std::size_t>(n) != value.size())
    return fail(Errc::io_error, "short write to " + path.string(), EIO);
  return {};
}

std::optional<fs::path> link_target(const fs::path& link) {
  std::error_code ec;
  auto target = fs::read_symlink(link, ec);
  if (ec) return std::nullopt;
  return target;
}

std::optional<std::string> link_name(const fs::path& link) {
  auto target = link_target(link);
  if (!target) return std::nullopt;
  return target->filename().string();
}

std::vector<std::string> list(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

bool exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n'))
    text.remove_suffix(1);
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  // Any length: the overflow check below refuses what does not fit in 64 bits (a limit of 16
  // characters refused decimal numbers from 10^16 that fit).
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9')
      digit = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      digit = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      digit = c - 'A' + 10;
    else
      return std::nullopt;
    if (value > (UINT64_MAX - static_cast<std::uint64_t>(digit)) / static_cast<std::uint64_t>(base))
      return std::nullopt;
    value = value * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(digit);
  }
  return value;
}

std::string pci_root_of(const fs::path& device) {
  std::error_code ec;
  const fs::path real = fs::canonical(device, ec);
  if (ec) return {};
  for (const auto& part : real) {
    const std::string s = part.string();
    if (s.rfind("pci", 0) == 0 && s.find(':') != std::string::npos) return s;
  }
  return {};
}

std::optional<std::uint32_t> numa_node_of(const fs::path& device) {
  auto text = read(device / "numa_node");
  if (!text || text->empty() || text->front() == '-') return std::nullopt;
  auto n = parse_number(*text);
  if (!n || *n > 1024) return std::nullopt;
  return static_cast<std::uint32_t>(*n);
}

}  // namespace vgpu::sysfs
