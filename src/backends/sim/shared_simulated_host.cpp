// A simulated host shared by processes through its host description file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ledger/secure_file.hpp"
#include "vgpu/host.hpp"
#include "vgpu/sys/simulated_host.hpp"

namespace vgpu::sys {
namespace {

std::filesystem::path lock_path(const std::filesystem::path& host) {
  auto p = host;
  p += ".lock";
  return p;
}

class SharedSimulatedHost final : public Backend {
 public:
  SharedSimulatedHost(std::filesystem::path path, std::shared_ptr<const TypeCatalog> catalog,
                      OccupancyOptions rules, ledger::UniqueFd lock)
      : path_(std::move(path)),
        catalog_(std::move(catalog)),
        rules_(rules),
        lock_(std::move(lock)) {}

  std::string_view name() const override { return "sim"; }

  Result<std::vector<PhysicalGpu>> gpus() override {
    return locked(false, [](Backend& b) { return b.gpus(); });
  }
  Result<std::vector<VgpuInstance>> instances() override {
    return locked(false, [](Backend& b) { return b.instances(); });
  }
  Result<VgpuInstance> create(const CreateRequest& request) override {
    return locked(true, [&](Backend& b) { return b.create(request); });
  }
  Result<void> destroy(const Uuid& uuid) override {
    return locked(true, [&](Backend& b) { return b.destroy(uuid); });
  }

 private:
  // Runs @p op on the file's current state under the lock; writes the state back if
  // @p writes and the operation succeeded.
  template <class Op>
  auto locked(bool writes, Op op) -> decltype(op(std::declval<Backend&>())) {
    if (locked_by_ != ::getpid()) {
      // A forked child must not share the parent's lock (one open file description).
      auto reopened =
          ledger::open_private_file(lock_path(path_), std::nullopt, true, "simulated host lock");
      if (!reopened) return reopened.error();
      lock_ = std::move(*reopened);
      locked_by_ = ::getpid();
    }
    auto held = ledger::FileLock::acquire(lock_.get(), "simulated host " + path_.string());
    if (!held) return held.error();
    if (auto ok = refresh(); !ok) return ok.error();
    auto result = op(*inner_);
    if (result && writes) {
      HostDescription host;
      auto g = inner_->gpus();
      auto v = inner_->instances();
      if (!g) return g.error();
      if (!v) return v.error();
      host.gpus = std::move(*g);
      host.vgpus = std::move(*v);
      // Count the write before making it: a writer killed between the two then costs the
      // others a needless reload, never a missed change (with the count after the write, two
      // writers killed in a row could leave a file that looks unchanged: an inode number
      // reused, the same size, within one tick of the coarse file clock).
      if (auto ok = count_write(); !ok) {
        inner_.reset();
        return ok.error();
      }
      if (auto saved = save_host_description(host, path_); !saved) {
        inner_.reset();  // the file is the truth; reload it next time
        return saved.error();
      }
      auto now = stamp();
      if (!now) {
        inner_.reset();
        return now.error();
      }
      stamp_ = *now;
    }
    return result;
  }

  // What the state file looked like when read: the writers' counter (kept in the lock file,
  // because file times are too coarse to tell two quick writes apart) and the file's stat,
  // which also catches edits by hand.
  struct Stamp {
    std::uint64_t writes = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const Stamp& o) const {
      return writes == o.writes && ino == o.ino && size == o.size &&
             mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
    }
  };

  Result<Stamp> stamp() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0)
      return Error(Errc::not_found,
                   "simulated host " + path_.string() + ": " + std::strerror(errno), errno);
    std::uint64_t writes = 0;
    if (::pread(lock_.get(), &writes, sizeof writes, 0) < 0) writes = 0;
    return Stamp{writes, st.st_ino, st.st_size, st.st_mtim};
  }

  // Bumps the writers' counter in the lock file (under the lock).
  Result<void> count_write() {
    std::uint64_t writes = stamp_.writes + 1;
    if (::pread(lock_.get(), &writes, sizeof writes, 0) == sizeof writes) ++writes;
    if (::pwrite(lock_.get(), &writes, sizeof writes, 0) != sizeof writes)
      return Error(Errc::io_error,
                   "cannot update " + path_.string() + ".lock: " + std::strerror(errno), errno);
    return {};
  }

  Result<void> refresh() {
    auto now = stamp();
    if (!now) return now.error();
    if (inner_ && *now == stamp_) return {};
    auto host = load_host_description(path_, *catalog_, rules_);
    if (!host) return host.error();
    auto backend = make_simulated_backend(std::move(*host), rules_);
    if (!backend) return backend.error();
    inner_ = std::move(*backend);
    stamp_ = *now;
    return {};
  }

  std::filesystem::path path_;
  std::shared_ptr<const TypeCatalog> catalog_;
  OccupancyOptions rules_;
  ledger::UniqueFd lock_;
  pid_t locked_by_ = ::getpid();
  std::unique_ptr<Backend> inner_;
  Stamp stamp_;
};

}  // namespace

Result<std::unique_ptr<Backend>> open_simulated_host(const std::filesystem::path& path,
                                                     std::shared_ptr<const TypeCatalog> catalog,
                                                     OccupancyOptions rules) {
  if (!catalog) return fail(Errc::invalid_argument, "open_simulated_host needs a catalog");
  // Validate the file before creating anything next to it (a directory, a typo).
  if (auto host = load_host_description(path, *catalog, rules); !host) return host.error();
  auto lock = ledger::open_private_file(lock_path(path), std::nullopt, true, "simulated host lock");
  if (!lock) return lock.error();
  auto host =
      std::make_unique<SharedSimulatedHost>(path, std::move(catalog), rules, std::move(*lock));
  // Read it once now, so that a missing or invalid file is reported at open.
  if (auto g = host->gpus(); !g) return g.error();
  return std::unique_ptr<Backend>(std::move(host));
}

}  // namespace vgpu::sys
