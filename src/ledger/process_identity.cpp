// ProcessIdentity: a PID plus what tells a reused PID apart (start time, boot).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "ledger/crc32c.hpp"
#include "vgpu/ledger.hpp"

namespace vgpu {
namespace {

// Field 22 of /proc/PID/stat (starttime), or 0 if the process does not exist or is a zombie.
// The command
// name (field 2) may hold spaces and parentheses, so fields are counted after the last ')'.
std::uint64_t start_time_of(std::uint32_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return 0;
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return 0;
    // A zombie (killed, not yet reaped) or dead task will never finish what it started.
    if (i == 3 && (field == "Z" || field == "X" || field == "x")) return 0;
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

std::uint32_t boot_hash() {
  static const std::uint32_t hash = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return ledger::crc32c(id.data(), id.size());
  }();
  return hash;
}

}  // namespace

ProcessIdentity ProcessIdentity::self() {
  // Cached per process; a forked child gets a new PID, so the cache is keyed on it.
  static thread_local ProcessIdentity cached;
  const auto pid = static_cast<std::uint32_t>(::getpid());
  if (cached.pid != pid) cached = ProcessIdentity{pid, start_time_of(pid), boot_hash()};
  return cached;
}

bool ProcessIdentity::alive() const {
  if (pid == 0 || boot != boot_hash()) return false;
  const std::uint64_t now = start_time_of(pid);
  return now != 0 && now == start_time;
}

}  // namespace vgpu
