// Helpers for the ledger and Manager tests: temporary directories, simulated host files,
// child processes (fork + exec of vgpu_ledger_worker) and checks of ledger against backend.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "vgpu/catalog_io.hpp"
#include "vgpu/host.hpp"
#include "vgpu/ledger.hpp"
#include "vgpu/manager.hpp"
#include "vgpu/placement/occupancy.hpp"
#include "vgpu/sys/simulated_host.hpp"

namespace vgpu::test {

/// The host most tests share: four A16 GPUs (equal-size) and two L40S in mixed-size mode.
inline constexpr const char* default_host_json =
    R"({"gpus":[{"model":"A16","count":4},{"model":"L40S","count":2,"mode":"mixed"}]})";

/// A private temporary directory (mode 0700), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vgpu-ledger-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Writes a simulated host file (host description JSON) and returns its path.
inline std::filesystem::path make_host(const TempDir& dir,
                                       const std::string& json = default_host_json,
                                       const std::string& name = "host.json") {
  auto path = dir / name;
  write_file(path, json);
  return path;
}

/// Manager options for a shared simulated host file and a ledger file.
inline ManagerOptions options_for(const std::filesystem::path& host,
                                  const std::filesystem::path& ledger) {
  ManagerOptions o;
  o.sim_host = host;
  o.ledger = ledger;
  return o;
}

/// The catalog type @p name (throws if unknown).
inline TypeRef type(const std::string& name) {
  static const TypeCatalog catalog = builtin_catalog();
  return catalog.find_type(name).value();
}

/// A UUID that encodes (@p a, @p b), for records the tests can name in advance.
inline Uuid numbered_uuid(std::uint32_t a, std::uint32_t b) {
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < 4; ++i) {
    bytes[i] = static_cast<std::uint8_t>(a >> (8 * i));
    bytes[12 + i] = static_cast<std::uint8_t>(b >> (8 * i));
  }
  bytes[6] = 0x40;  // version 4
  bytes[8] = 0x80;  // variant 1
  return Uuid(bytes);
}

/// An active A16-2Q record (on GPU 0000:41:00.0) named numbered_uuid(@p a, @p b).
inline VgpuRecord numbered_record(std::uint32_t a, std::uint32_t b) {
  VgpuRecord r;
  r.uuid = numbered_uuid(a, b);
  r.gpu = *PciAddress::parse("0000:41:00.0");
  r.type_name = "A16-2Q";
  r.placement = b % 8 * 2;
  r.state = VgpuState::active;
  r.owner = "vm-" + std::to_string(a) + "-" + std::to_string(b);
  r.process = ProcessIdentity::self();
  r.device = "/dev/vgpu-test";
  r.created_at = r.updated_at = std::chrono::system_clock::time_point(std::chrono::seconds(a));
  return r;
}

/// A child process running vgpu_ledger_worker with @p args, its stdout on a pipe and,
/// optionally, its stdin on a pipe the parent writes (or closes to release it).
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
        bool stdin_pipe = false) {
    int out[2];
    int in[2] = {-1, -1};
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    if (stdin_pipe && ::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_s{VGPU_LEDGER_WORKER};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e)
      if (std::strncmp(*e, "VGPU_TEST_CRASH=", 16) != 0) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_s)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      if (stdin_pipe) ::dup2(in[0], 0);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
    if (stdin_pipe) {
      ::close(in[0]);
      in_ = in[1];
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  Child(Child&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)),
        out_(std::exchange(o.out_, -1)),
        in_(std::exchange(o.in_, -1)),
        buffer_(std::move(o.buffer_)),
        status_(o.status_) {}
  ~Child() {
    close_stdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (out_ >= 0) ::close(out_);
  }

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] int out_fd() const { return out_; }

  /// Closes the child's stdin (a child blocked reading it goes on).
  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  /// The next line the child wrote, or nullopt at end of file.
  std::optional<std::string> line() {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string l = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return l;
      }
      char chunk[4096];
      const ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Every remaining line, until the child closes its stdout.
  std::vector<std::string> lines() {
    std::vector<std::string> out;
    while (auto l = line())
      out.push_back(*l);
    return out;
  }

  /// Reads what is available now without blocking (complete lines only).
  std::vector<std::string> drain() {
    const int flags = ::fcntl(out_, F_GETFL);
    ::fcntl(out_, F_SETFL, flags | O_NONBLOCK);
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    ::fcntl(out_, F_SETFL, flags);
    std::vector<std::string> out;
    std::size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      out.push_back(buffer_.substr(0, nl));
      buffer_.erase(0, nl + 1);
    }
    return out;
  }

  /// Waits for the child; returns its wait status.
  int wait() {
    if (pid_ <= 0) return status_;
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status_;
  }

  /// True (and reaped) if the child has already ended.
  bool ended() {
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

  void kill9() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  std::string buffer_;
  int status_ = 0;
};

inline bool killed_by_sigkill(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}
inline bool exited_ok(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// What is wrong between the ledger's records and the backend's vGPUs, and with the
/// records themselves: every record active and matching a backend vGPU (uuid, GPU, type,
/// placement) and the reverse, no placement held twice, every hardware rule (slot overlap,
/// equal-size, per-type maximum) obeyed when the records are replayed into GpuOccupancy.
/// Empty when all is well.
inline std::vector<std::string> ledger_vs_backend(const std::vector<VgpuRecord>& records,
                                                  sys::Backend& backend) {
  std::vector<std::string> problems;
  auto listed = backend.instances();
  if (!listed) return {"backend instances(): " + listed.error().message()};
  std::map<Uuid, VgpuInstance> present;
  for (const auto& v : *listed)
    present.emplace(v.uuid, v);
  for (const auto& r : records) {
    if (r.state != VgpuState::active)
      problems.push_back("record " + r.uuid.to_string() + " is " + std::string(to_string(r.state)));
    auto it = present.find(r.uuid);
    if (it == present.end()) {
      problems.push_back("record " + r.uuid.to_string() + " has no backend vGPU");
      continue;
    }
    const auto& v = it->second;
    if (v.gpu != r.gpu || v.type_name != r.type_name || v.placement != r.placement)
      problems.push_back("record " + r.uuid.to_string() + " says " + r.type_name + "@" +
                         r.gpu.to_string() + ":" + std::to_string(r.placement) + ", backend says " +
                         v.type_name + "@" + v.gpu.to_string() + ":" + std::to_string(v.placement));
    present.erase(it);
  }
  for (const auto& [u, v] : present)
    problems.push_back("backend vGPU " + u.to_string() + " has no record");
  // Replay the records into fresh occupancies: every hardware rule must hold.
  auto gpus = backend.gpus();
  if (!gpus) return {"backend gpus(): " + gpus.error().message()};
  std::map<PciAddress, GpuOccupancy> occ;
  for (const auto& g : *gpus)
    occ.emplace(g.address, GpuOccupancy(g));
  for (const auto& r : records) {
    auto it = occ.find(r.gpu);
    if (it == occ.end()) {
      problems.push_back("record " + r.uuid.to_string() + " on unknown GPU " + r.gpu.to_string());
      continue;
    }
    const VgpuType* t = it->second.gpu().model->find_type(r.type_name);
    if (!t) {
      problems.push_back("record " + r.uuid.to_string() + " of unknown type " + r.type_name);
      continue;
    }
    if (auto ok = it->second.add(r.uuid, *t, r.placement); !ok)
      problems.push_back("record " + r.uuid.to_string() +
                         " breaks a rule: " + ok.error().message());
  }
  return problems;
}

/// Opens the shared simulated host @p host on its own (as a second "kernel" view).
inline std::unique_ptr<sys::Backend> open_host(const std::filesystem::path& host) {
  return sys::open_simulated_host(host, std::make_shared<TypeCatalog>(builtin_catalog())).value();
}

/// All the records of the ledger at @p path (opens a new handle).
inline std::vector<VgpuRecord> records_of(const std::filesystem::path& path) {
  LedgerOptions o;
  o.path = path;
  return HostLedger::open(o).value().records().value();
}

/// The UUIDs of @p records.
inline std::set<Uuid> uuids_of_records(const std::vector<VgpuRecord>& records) {
  std::set<Uuid> out;
  for (const auto& r : records)
    out.insert(r.uuid);
  return out;
}

/// Joins lines for failure messages.
inline std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

}  // namespace vgpu::test
