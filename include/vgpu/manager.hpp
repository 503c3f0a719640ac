/// @file
/// @brief vgpu::Manager: the one object a hypervisor holds.
///
/// A Manager composes the type catalog, a backend (the kernel interface), the host's ledger
/// (shared by every process on the host) and a placement engine that mirrors the ledger.
/// Creating a vGPU is two-phase: the placement is reserved in the ledger, the backend
/// creates the device, and the record becomes active; if the backend fails, the reservation
/// is rolled back. Processes need no daemon: they agree through the ledger (docs/ledger.md).
///
/// @code
/// vgpu::ManagerOptions options;                 // simulated host, private ledger
/// auto manager = vgpu::Manager::open(std::move(options)).value();
/// auto type = manager->catalog().find_type("A16-2Q").value();
/// auto vgpus = manager->create(vgpu::Request::of(type, 2));
/// @endcode
///
/// Thread safety: every method may be called from any thread; calls on one Manager are
/// serialised internally, and Managers in other threads or processes coordinate through
/// the ledger. The library never prints: it reports through ManagerOptions::logger.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vgpu/catalog.hpp"
#include "vgpu/error.hpp"
#include "vgpu/export.hpp"
#include "vgpu/host_state.hpp"
#include "vgpu/ledger.hpp"
#include "vgpu/placement/batch.hpp"
#include "vgpu/placement/engine.hpp"
#include "vgpu/placement/policy.hpp"
#include "vgpu/sys/backend.hpp"

namespace vgpu {

/// Severity of a log message.
enum class LogLevel {
  debug,    ///< Detail for developers.
  info,     ///< Something changed (a vGPU created, a ledger repaired).
  warning,  ///< Something was wrong and was handled.
  error,    ///< An operation failed (the error is also returned).
};

/// Receives the library's log messages. Called from the thread that made the call; must
/// not call back into the Manager.
using LogCallback = std::function<void(LogLevel level, std::string_view message)>;

/// How to open a Manager.
struct ManagerOptions {
  /// Backend name: "sim" (the simulated host, default), "nvidia-vfio", "mdev", "nouveau",
  /// "auto", or one added with sys::register_backend(). A ready backend can be given in
  /// @p backend_instance instead.
  std::string backend = "sim";
  /// Options for a kernel backend (sysfs root, state directory, GPU modes); its catalog is
  /// the Manager's. Unused for "sim".
  sys::BackendOptions backend_options;
  /// A backend the Manager takes over; when set, @p backend and @p sim_host are ignored.
  std::unique_ptr<sys::Backend> backend_instance;
  /// For "sim": a host description file (docs/host-description.md) that holds the simulated
  /// host's state and is shared by every process that names it. Empty: the built-in host,
  /// private to this Manager.
  std::filesystem::path sim_host;
  /// Extra catalog files or directories, loaded over the built-in catalog.
  std::vector<std::filesystem::path> catalogs;
  /// Let @p catalogs replace built-in models of the same name.
  bool replace_catalog = false;
  /// Placement policy by name (vgpu::make_policy()).
  std::string policy = "fragmentation-aware";
  /// A custom policy; when set, @p policy is ignored.
  std::shared_ptr<Policy> custom_policy;
  /// Hardware rules for the simulated host and the engine.
  OccupancyOptions rules;
  /// The ledger file. Empty: a private ledger for the built-in simulated host (which
  /// lives in this process only); else $VGPU_LEDGER if set; else `SIM_HOST.ledger` for a
  /// simulated host file; else `ROOT/run/vgpu/ledger` for a kernel backend whose sysfs root
  /// is ROOT (not "/"); else /run/vgpu/ledger. Giving one for the built-in simulated
  /// host is an error (Errc::invalid_argument).
  std::filesystem::path ledger;
  /// Use a private in-memory ledger whatever else is set (tests, one-shot tools).
  bool private_ledger = false;
  /// Share the ledger with this group (mode 0660) instead of keeping it private (0600).
  std::optional<gid_t> ledger_group;
  /// Flush every ledger commit to stable storage (LedgerOptions::durable).
  bool durable = false;
  /// Where apply() keeps the definitions restore() re-creates. Empty: next to the ledger
  /// (`LEDGER.definitions.json`), except for the default ledger on tmpfs
  /// (/run/vgpu/ledger), whose definitions go to /var/lib/vgpu/definitions.json so that
  /// they survive the reboot restore() is for.
  std::filesystem::path definitions;
  /// Reconcile the ledger with the backend when opening (recommended; off only for
  /// benchmarks whose processes each hold a private backend).
  bool reconcile_on_open = true;
  /// Log messages go here (default: nowhere).
  LogCallback logger;
};

/// Per-call options of Manager::create().
struct CreateOptions {
  std::vector<Uuid> uuids;      ///< One UUID per vGPU (default: random).
  std::optional<Uuid> vm_uuid;  ///< The VM's UUID, recorded with the vGPUs.
};

/// A type that can be created on a GPU now.
struct TypeAvailability {
  const VgpuType* type = nullptr;         ///< The type.
  std::uint32_t remaining = 0;            ///< How many more fit now.
  std::vector<std::uint32_t> placements;  ///< Start slots free for it now.
};

/// A GPU and how much of it is in use: one entry of Manager::usage().
struct GpuUsage {
  GpuIndex index = 0;          ///< Its engine index (its position in Manager::gpus()).
  PhysicalGpu gpu;             ///< The GPU.
  Bytes used_framebuffer;      ///< Framebuffer its vGPUs hold.
  std::size_t vgpu_count = 0;  ///< vGPUs on it (reserved, active or releasing).
};

/// What reconcile() found and did.
struct ReconcileReport {
  /// One repair.
  struct Action {
    /// Kinds of repair.
    enum class Kind {
      adopted,                  ///< A vGPU the backend has but the ledger did not: recorded.
      released_vanished,        ///< A recorded vGPU the backend no longer has: released.
      rolled_back_reservation,  ///< A reservation whose process died: undone.
      finished_release,         ///< A release whose process died: completed.
      updated,                  ///< A record that disagreed with the backend: corrected.
    };
    Kind kind;         ///< What was done.
    Uuid uuid;         ///< The vGPU.
    std::string text;  ///< A sentence saying what and why.
  };
  std::vector<Action> actions;  ///< Repairs, in the order they were made.
  /// Records left alone because their process is still working on them.
  std::size_t in_progress = 0;
};

/// "adopted", "released-vanished", ...
VGPU_API std::string_view to_string(ReconcileReport::Action::Kind kind);

/// What apply() or restore() did.
struct ApplyReport {
  std::vector<VgpuRecord> kept;       ///< Wanted vGPUs that already existed.
  std::vector<VgpuRecord> created;    ///< vGPUs created by this run.
  std::vector<VgpuRecord> destroyed;  ///< vGPUs destroyed by this run (ApplyOptions::prune).
  std::vector<VgpuRecord> extra;      ///< Existing vGPUs the state does not name, kept.
};

/// The Manager. See the file comment.
class VGPU_API Manager {
 public:
  /// Opens the catalog, backend and ledger, and (by default) reconciles them.
  static Result<std::unique_ptr<Manager>> open(ManagerOptions options);
  ~Manager();                                   ///< Closes the ledger handle; vGPUs stay.
  Manager(const Manager&) = delete;             ///< Not copyable.
  Manager& operator=(const Manager&) = delete;  ///< Not copyable.

  /// The type catalog (built-in plus ManagerOptions::catalogs).
  [[nodiscard]] const TypeCatalog& catalog() const;
  /// The backend's name.
  [[nodiscard]] std::string_view backend_name() const;
  /// The placement policy's name.
  [[nodiscard]] std::string policy_name() const;
  /// The ledger file (empty for a private ledger).
  [[nodiscard]] const std::filesystem::path& ledger_path() const;
  /// Where apply() keeps definitions (empty: none, with a private ledger).
  [[nodiscard]] const std::filesystem::path& definitions_path() const;
  /// What opening the ledger found (a crash recovered, a corrupted file rebuilt ...).
  [[nodiscard]] const LedgerOpenReport& ledger_report() const;
  /// What the reconcile at open did (empty if ManagerOptions::reconcile_on_open is off).
  [[nodiscard]] const ReconcileReport& open_reconcile() const;
  /// Replaces the log callback (an empty one stops logging). Waits for a call in progress on
  /// another thread, so the old callback is not called after this returns.
  void set_logger(LogCallback logger);

  /// The host's GPUs, in PCI address order (their engine index is their position).
  [[nodiscard]] std::vector<PhysicalGpu> gpus() const;
  /// The engine index of GPU @p address (for Request::constraints), or Errc::not_found.
  [[nodiscard]] Result<GpuIndex> gpu_index(const PciAddress& address) const;
  /// The types GPU @p gpu supports in its mode.
  [[nodiscard]] Result<std::vector<const VgpuType*>> types(const PciAddress& gpu) const;
  /// The types that can be created on GPU @p gpu now, with what remains of each.
  Result<std::vector<TypeAvailability>> creatable(const PciAddress& gpu);

  /// Creates the vGPUs of @p request where the policy says (all or nothing). Fails with
  /// Errc::no_capacity (the message says why, per GPU), Errc::conflict (a UUID in use),
  /// or the backend's error, after undoing everything this call did.
  Result<std::vector<VgpuRecord>> create(const Request& request, const CreateOptions& options = {});
  /// Destroys vGPU @p uuid. Errc::not_found if it is not recorded; Errc::busy if another
  /// live process is creating or destroying it, or the backend says it is in use (it then
  /// stays active).
  Result<void> destroy(const Uuid& uuid);
  /// Every recorded vGPU (reserved, active or releasing), in ledger order.
  Result<std::vector<VgpuRecord>> instances();
  /// Plans @p requests on a copy of the current state (nothing is created).
  Result<BatchPlan> plan(const std::vector<Request>& requests, const BatchOptions& options = {});
  /// Where @p request would go and why every GPU would or would not take it.
  Result<Explanation> explain(const Request& request);
  /// Every GPU with what is in use on it, in step with the ledger, in gpus() order. Copies
  /// only these figures: use it instead of snapshot() to show or poll a host's use.
  Result<std::vector<GpuUsage>> usage();
  /// A copy of the placement engine in step with the ledger, for what-if planning
  /// (defragmentation, capacity). Changing it changes nothing on the host.
  Result<PlacementEngine> snapshot();
  /// Compares ledger and backend and repairs the ledger (see ReconcileReport).
  Result<ReconcileReport> reconcile();

  /// Makes the host hold the vGPUs @p state asks for (see host_state.hpp), creating what is
  /// missing; with ApplyOptions::prune also destroys vGPUs it does not name. Idempotent. On
  /// failure destroys what this call created and returns the error. On success (unless
  /// ApplyOptions::dry_run) stores the resulting vGPUs as the definitions restore() uses.
  Result<ApplyReport> apply(const HostState& state, const ApplyOptions& options = {});
  /// Re-creates every stored definition that does not exist (after a reboot), with the same
  /// UUID, GPU, type and placement. Fails, undoing its own creations, if one cannot be made.
  Result<ApplyReport> restore();
  /// The stored definitions.
  Result<std::vector<VgpuRecord>> definitions();

  /// @cond INTERNAL
  struct Impl;
  /// @endcond

 private:
  explicit Manager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vgpu
