/// @file
/// @brief vgpu::HostLedger: the host-wide record of every vGPU, shared by all processes.
///
/// The ledger is a memory-mapped file (default `/run/vgpu/ledger`) that every process on a
/// host using vgpu maps. It holds the host's GPUs and one record per vGPU: where it sits,
/// its type, who owns it and whether it is reserved, active or being released. There is no
/// daemon: a process takes the host-wide lock (an open-file-description lock, which the
/// kernel drops when the holder dies), reads what others committed, stages its changes and
/// commits them through a redo journal, so that killing a process at any instruction leaves
/// either the whole commit or none of it. docs/ledger.md describes the format and protocol.
///
/// Applications use vgpu::Manager, which keeps the ledger, the placement engine and the
/// backend in step; the ledger is public for tools that inspect or repair it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/model/gpu.hpp"
#include "vgpu/model/pci_address.hpp"
#include "vgpu/model/uuid.hpp"

namespace vgpu {

/// Where a vGPU is in its life.
enum class VgpuState : std::uint8_t {
  reserved = 1,   ///< Its place is taken; the backend is creating it.
  active = 2,     ///< It exists; a VM may use it.
  releasing = 3,  ///< The backend is destroying it; its place is still taken.
};

/// "reserved", "active" or "releasing".
inline std::string_view to_string(VgpuState s) {
  switch (s) {
    case VgpuState::reserved:
      return "reserved";
    case VgpuState::active:
      return "active";
    case VgpuState::releasing:
      return "releasing";
  }
  return "unknown";
}

/// A process, identified so that a reused PID is not mistaken for it: the PID, its start
/// time (clock ticks after boot, /proc/PID/stat field 22) and the boot it ran in.
struct ProcessIdentity {
  std::uint32_t pid = 0;         ///< 0: no process (e.g. a vGPU adopted from the backend).
  std::uint64_t start_time = 0;  ///< Start time in clock ticks after boot.
  std::uint32_t boot = 0;        ///< A hash of /proc/sys/kernel/random/boot_id.

  /// The calling process.
  VGPU_API static ProcessIdentity self();
  /// Whether this process is still running (same PID, start time and boot). All processes
  /// sharing a ledger must see one PID namespace (docs/ledger.md).
  [[nodiscard]] VGPU_API bool alive() const;
  /// Equal when all fields are.
  friend bool operator==(const ProcessIdentity&, const ProcessIdentity&) = default;
};

/// Longest type name a record holds, in bytes.
inline constexpr std::size_t max_record_type_name = 31;
/// Longest owner (VM name) a record holds, in bytes.
inline constexpr std::size_t max_record_owner = 71;
/// Longest device string a record holds, in bytes.
inline constexpr std::size_t max_record_device = 63;

/// One vGPU as the ledger records it.
struct VgpuRecord {
  Uuid uuid;                              ///< The vGPU.
  PciAddress gpu;                         ///< The physical GPU it sits on.
  std::string type_name;                  ///< Canonical type name, e.g. "A16-2Q".
  std::uint32_t placement = 0;            ///< Start slot.
  VgpuState state = VgpuState::reserved;  ///< Where it is in its life.
  std::string owner;                      ///< The VM's name (free-form; may be empty).
  std::optional<Uuid> vm_uuid;            ///< The VM's UUID, when given.
  ProcessIdentity process;                ///< Who reserved or is releasing it (0 when adopted).
  std::string device;                     ///< What the VMM is given (VgpuInstance::device).
  std::chrono::system_clock::time_point created_at;  ///< When it was reserved or adopted.
  std::chrono::system_clock::time_point updated_at;  ///< Its last change.

  /// The instance view of the record.
  [[nodiscard]] VgpuInstance instance() const {
    return VgpuInstance{uuid, type_name, gpu, placement, owner, created_at, device};
  }
};

/// A physical GPU as the ledger records it (the ledger's view of the host).
struct LedgerGpu {
  PciAddress address;                  ///< PCI address.
  std::string model;                   ///< Model name, e.g. "A16" (at most 47 bytes).
  GpuMode mode = GpuMode::equal_size;  ///< Mode.
  /// Equal when all fields are.
  friend bool operator==(const LedgerGpu&, const LedgerGpu&) = default;
};

/// How to open a ledger.
struct LedgerOptions {
  /// The ledger file. Empty: a private ledger in anonymous memory, gone when the last handle
  /// closes (for one-shot tools and tests; nothing is shared).
  std::filesystem::path path;
  /// Create the file (and its directory) group-readable and -writable for this group
  /// (mode 0660, directory 0770) instead of 0600 (directory 0700).
  std::optional<gid_t> group;
  /// Flush every commit to stable storage (msync + fsync) before returning, so commits also
  /// survive power loss. Off by default: a commit survives the death of any process without
  /// it, and the default location (/run) does not survive a reboot anyway.
  bool durable = false;
};

/// What happened when a ledger was opened.
struct LedgerOpenReport {
  bool created = false;              ///< The file was new (or was rebuilt).
  bool replayed_journal = false;     ///< A commit interrupted by a crash was completed.
  std::string corruption;            ///< Empty, or what was wrong with the file found there.
  std::filesystem::path kept_aside;  ///< Where the corrupted file was moved for inspection.
};

/// What changed in the ledger since this handle last looked (see LedgerTransaction::delta()).
struct LedgerDelta {
  /// True when the handle could not follow the changes one by one (first look, many commits
  /// by others, a rebuilt file): @p upserted then holds every record and @p removed is empty.
  bool full = false;
  std::vector<Uuid> removed;         ///< vGPUs whose records are gone.
  std::vector<VgpuRecord> upserted;  ///< Records that are new or changed.
  bool gpus_changed = false;         ///< The GPU table changed.
};

/// Staged changes and a consistent view, inside HostLedger::transact().
///
/// Reads see the committed state plus what was staged in this transaction. Nothing is
/// visible to other processes until the transaction commits, and then all of it is.
class VGPU_API LedgerTransaction {
 public:
  /// The record of @p uuid, or nullopt.
  [[nodiscard]] std::optional<VgpuRecord> find(const Uuid& uuid) const;
  /// Every record, in slot order.
  [[nodiscard]] std::vector<VgpuRecord> records() const;
  /// The GPU table.
  [[nodiscard]] std::vector<LedgerGpu> gpus() const;
  /// What others changed since this handle's previous transaction (own commits excluded).
  [[nodiscard]] const LedgerDelta& delta() const;
  /// Inserts or replaces the record of @p record.uuid. Fails with Errc::invalid_argument
  /// when a string is longer than the record holds (max_record_*), and Errc::no_capacity
  /// when the transaction stages more changes than one commit holds (512).
  Result<void> put(const VgpuRecord& record);
  /// Removes the record of @p uuid (Errc::not_found if there is none).
  Result<void> erase(const Uuid& uuid);
  /// Replaces the GPU table (at most 256 GPUs; model names at most 47 bytes).
  Result<void> set_gpus(const std::vector<LedgerGpu>& gpus);
  /// Number of changes staged so far.
  [[nodiscard]] std::size_t staged() const;

  /// @cond INTERNAL
  struct Impl;
  explicit LedgerTransaction(Impl& impl) : impl_(impl) {}
  /// @endcond

 private:
  Impl& impl_;
};

/// A process's handle on the host's ledger.
///
/// Thread safety: a handle may be used from many threads; transactions through one handle
/// run one at a time. Any number of handles, in any number of processes, may open one file.
class VGPU_API HostLedger {
 public:
  /// Current on-disk format version.
  static constexpr std::uint32_t format_version = 1;

  /// Opens the ledger at @p options.path, creating it (and its directory) if missing.
  ///
  /// Refuses (Errc::permission_denied) a path that is a symlink, a file owned by another
  /// user or writable by others, and a directory writable by others without the sticky bit.
  /// A file written by a newer vgpu is refused (Errc::version_mismatch). A file whose
  /// checksums do not match is moved aside to `PATH.corrupt-TIMESTAMP`, a new empty ledger
  /// replaces it and open_report() says so; the Manager then rebuilds it from the backend.
  static Result<HostLedger> open(const LedgerOptions& options);

  /// The default path: $VGPU_LEDGER when set and non-empty, else /run/vgpu/ledger.
  static std::filesystem::path default_path();

  HostLedger(HostLedger&&) noexcept;             ///< Moves the handle.
  HostLedger& operator=(HostLedger&&) noexcept;  ///< Moves the handle.
  ~HostLedger();                                 ///< Closes the handle (unmaps the file).

  /// Runs @p fn under the host-wide lock and commits what it staged, all or nothing, if it
  /// returns success. If @p fn fails, nothing it staged is committed and its error is
  /// returned. When the commit returns, it survives the death of any process (and, with
  /// LedgerOptions::durable, power loss).
  Result<void> transact(const std::function<Result<void>(LedgerTransaction&)>& fn);

  /// A snapshot of every record.
  Result<std::vector<VgpuRecord>> records();

  /// Checks every invariant: checksums, one record per UUID, valid states and strings.
  /// Returns the first violation found.
  Result<void> check();

  /// Number of commits since the file was created.
  Result<std::uint64_t> commits();

  /// What open() found and did.
  [[nodiscard]] const LedgerOpenReport& open_report() const;

  /// The file (empty for a private ledger).
  [[nodiscard]] const std::filesystem::path& path() const;

  /// @cond INTERNAL
  struct Impl;
  /// @endcond

 private:
  explicit HostLedger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vgpu
