//! Owned Rust values for the C ABI's output structs, and the small enums and flag sets.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};
use std::path::PathBuf;

use vgpu_sys as sys;

use crate::error::ErrorCode;
use crate::raw::{fixed, fixed_opt, fixed_path, owned};

/// How a physical GPU shares itself out (`vgpu_gpu_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GpuMode {
    /// All time-sliced vGPUs have one framebuffer size.
    EqualSize,
    /// vGPUs of different sizes at fixed placements.
    MixedSize,
    /// MIG-backed vGPUs on GPU instances.
    Mig,
    /// A mode this version of the bindings does not know.
    Unknown(u32),
}

impl GpuMode {
    pub(crate) fn from_raw(mode: u32) -> GpuMode {
        match mode {
            sys::VGPU_MODE_EQUAL_SIZE => GpuMode::EqualSize,
            sys::VGPU_MODE_MIXED_SIZE => GpuMode::MixedSize,
            sys::VGPU_MODE_MIG => GpuMode::Mig,
            other => GpuMode::Unknown(other),
        }
    }
}

/// Where a vGPU is in its life (`vgpu_state`; docs/ledger.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstanceState {
    /// Its place is taken; the backend is creating it.
    Reserved,
    /// It exists; a VM may use it.
    Active,
    /// The backend is destroying it; its place is still taken.
    Releasing,
    /// A state this version of the bindings does not know.
    Unknown(u32),
}

impl InstanceState {
    fn from_raw(state: u32) -> InstanceState {
        match state {
            sys::VGPU_STATE_RESERVED => InstanceState::Reserved,
            sys::VGPU_STATE_ACTIVE => InstanceState::Active,
            sys::VGPU_STATE_RELEASING => InstanceState::Releasing,
            other => InstanceState::Unknown(other),
        }
    }
}

/// Log levels (`vgpu_log_level`), lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detail for developers.
    Debug,
    /// Something changed (a vGPU created, a ledger repaired).
    Info,
    /// Something was wrong and was handled.
    Warning,
    /// An operation failed (the error is also returned).
    Error,
}

impl LogLevel {
    pub(crate) fn raw(self) -> i32 {
        (match self {
            LogLevel::Debug => sys::VGPU_LOG_DEBUG,
            LogLevel::Info => sys::VGPU_LOG_INFO,
            LogLevel::Warning => sys::VGPU_LOG_WARNING,
            LogLevel::Error => sys::VGPU_LOG_ERROR,
        }) as i32
    }

    /// The library sends 0 to 3; anything else is clamped.
    pub(crate) fn from_raw(level: i32) -> LogLevel {
        match level {
            l if l <= sys::VGPU_LOG_DEBUG as i32 => LogLevel::Debug,
            l if l == sys::VGPU_LOG_INFO as i32 => LogLevel::Info,
            l if l == sys::VGPU_LOG_WARNING as i32 => LogLevel::Warning,
            _ => LogLevel::Error,
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        })
    }
}

/// What this build of the library can do (`vgpu_features()`), a set of `vgpu_feature` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Features(u32);

impl Features {
    /// The simulated host backend ("sim").
    pub const SIM: Features = Features(sys::VGPU_FEATURE_SIM);
    /// The nvidia-vgpu VF sysfs backend ("nvidia-vfio").
    pub const NVIDIA_VFIO: Features = Features(sys::VGPU_FEATURE_NVIDIA_VFIO);
    /// The mediated-device backend ("mdev").
    pub const MDEV: Features = Features(sys::VGPU_FEATURE_MDEV);
    /// The nouveau ioctl backend through libdrm ("nouveau").
    pub const NOUVEAU: Features = Features(sys::VGPU_FEATURE_NOUVEAU);
    /// The host-wide ledger shared by processes.
    pub const SHARED_LEDGER: Features = Features(sys::VGPU_FEATURE_SHARED_LEDGER);
    /// Placement policies from a callback ([`crate::ManagerOptions::custom_policy`]).
    pub const CUSTOM_POLICY: Features = Features(sys::VGPU_FEATURE_CUSTOM_POLICY);

    /// The set of these bits (unknown bits are kept).
    pub const fn from_bits(bits: u32) -> Features {
        Features(bits)
    }
    /// The bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Whether every feature of `other` is in `self`.
    pub const fn contains(self, other: Features) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Features {
    type Output = Features;
    fn bitor(self, rhs: Features) -> Features {
        Features(self.0 | rhs.0)
    }
}

/// Flags of [`crate::Manager::apply`] (`vgpu_apply_flag`). `ApplyFlags::default()` is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ApplyFlags(u32);

impl ApplyFlags {
    /// No flag: make the host match, keep vGPUs the state does not name.
    pub const NONE: ApplyFlags = ApplyFlags(0);
    /// Say what would change; change nothing.
    pub const DRY_RUN: ApplyFlags = ApplyFlags(sys::VGPU_APPLY_DRY_RUN);
    /// Also destroy vGPUs the state does not name.
    pub const PRUNE: ApplyFlags = ApplyFlags(sys::VGPU_APPLY_PRUNE);

    /// The flags from raw bits (the library refuses unknown bits with
    /// [`ErrorCode::InvalidArgument`]).
    pub const fn from_bits(bits: u32) -> ApplyFlags {
        ApplyFlags(bits)
    }
    /// The bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: ApplyFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for ApplyFlags {
    type Output = ApplyFlags;
    fn bitor(self, rhs: ApplyFlags) -> ApplyFlags {
        ApplyFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for ApplyFlags {
    fn bitor_assign(&mut self, rhs: ApplyFlags) {
        self.0 |= rhs.0;
    }
}

/// The C ABI version (`vgpu_abi_version()`): the major version is the library's SONAME
/// version, the minor one grows when functions, fields or codes are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbiVersion {
    /// Changes only when the ABI changes incompatibly.
    pub major: u32,
    /// Grows when functions, struct fields or codes are added.
    pub minor: u32,
}

impl AbiVersion {
    /// The version of the vgpu.h these bindings were generated from.
    pub const BINDINGS: AbiVersion = AbiVersion {
        major: sys::VGPU_ABI_VERSION_MAJOR,
        minor: sys::VGPU_ABI_VERSION_MINOR,
    };

    /// Whether a library of this version has everything `wanted` has (same major, at least
    /// its minor).
    pub fn provides(self, wanted: AbiVersion) -> bool {
        self.major == wanted.major && self.minor >= wanted.minor
    }
}

impl fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// One physical GPU of the host ([`crate::Manager::gpus`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GpuInfo {
    /// Position in [`crate::Manager::gpus`] (PCI order).
    pub index: u32,
    /// The GPU (SR-IOV PF), e.g. "0000:41:00.0".
    pub pci_address: String,
    /// Catalog model name, e.g. "NVIDIA A16".
    pub model: String,
    /// How it shares itself out.
    pub mode: GpuMode,
    /// NUMA node, when known.
    pub numa_node: Option<u32>,
    /// PCI root ("pci0000:40"), when known.
    pub pci_root: Option<String>,
    /// The GPU's framebuffer.
    pub framebuffer_bytes: u64,
    /// Framebuffer its vGPUs take.
    pub used_framebuffer_bytes: u64,
    /// vGPUs on it (reserved, active or releasing).
    pub vgpu_count: u32,
}

impl GpuInfo {
    pub(crate) fn from_raw(g: &sys::vgpu_gpu_info_t) -> GpuInfo {
        GpuInfo {
            index: g.index,
            pci_address: fixed(&g.pci_address),
            model: fixed(&g.model),
            mode: GpuMode::from_raw(g.mode),
            numa_node: u32::try_from(g.numa_node).ok(),
            pci_root: fixed_opt(&g.pci_root),
            framebuffer_bytes: g.framebuffer_bytes,
            used_framebuffer_bytes: g.used_framebuffer_bytes,
            vgpu_count: g.vgpu_count,
        }
    }
}

/// A vGPU type of one GPU model, from the catalog ([`crate::Manager::types`],
/// [`crate::Manager::find_type`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypeInfo {
    /// The driver's numeric type id, when known.
    pub driver_id: Option<u32>,
    /// Canonical name, e.g. "A16-2Q".
    pub name: String,
    /// The GPU model it belongs to, e.g. "NVIDIA A16".
    pub model: String,
    /// 'Q', 'B', 'A' or 'C'.
    pub series: char,
    /// Sits on a MIG GPU instance.
    pub mig_backed: bool,
    /// The vendor marks the type deprecated.
    pub deprecated: bool,
    /// Framebuffer given to the VM.
    pub framebuffer_bytes: u64,
    /// Maximum virtual display heads (0: no display).
    pub max_heads: u32,
    /// Maximum width per head (0: no display).
    pub max_resolution_width: u32,
    /// Maximum height per head (0: no display).
    pub max_resolution_height: u32,
    /// Most per GPU in equal-size (or MIG) mode.
    pub max_instances: u32,
    /// Most per GPU in mixed-size mode; 0: not allowed there.
    pub max_instances_mixed: u32,
    /// Slots one instance occupies.
    pub placement_size: u32,
    /// Allowed start slots (mixed-size or MIG).
    pub placements: Vec<u32>,
    /// MIG profile ("3g.40gb"), for MIG-backed types.
    pub mig_profile: Option<String>,
}

impl TypeInfo {
    pub(crate) fn from_raw(t: &sys::vgpu_type_info_t) -> TypeInfo {
        let n = (t.placement_count as usize).min(t.placements.len());
        TypeInfo {
            driver_id: if t.driver_id == 0 {
                None
            } else {
                Some(t.driver_id)
            },
            name: fixed(&t.name),
            model: fixed(&t.model),
            series: char::from(t.series as u8),
            mig_backed: t.mig_backed,
            deprecated: t.deprecated,
            framebuffer_bytes: t.framebuffer_bytes,
            max_heads: t.max_heads,
            max_resolution_width: t.max_resolution_width,
            max_resolution_height: t.max_resolution_height,
            max_instances: t.max_instances,
            max_instances_mixed: t.max_instances_mixed,
            placement_size: t.placement_size,
            placements: t.placements[..n].to_vec(),
            mig_profile: fixed_opt(&t.mig_profile),
        }
    }
}

/// A type that can be created on a GPU now ([`crate::Manager::creatable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Availability {
    /// The type's name ([`crate::Manager::find_type`] has the rest).
    pub type_name: String,
    /// How many more fit on the GPU now.
    pub remaining: u32,
    /// Start slots free for it now.
    pub free_placements: Vec<u32>,
}

impl Availability {
    pub(crate) fn from_raw(a: &sys::vgpu_availability_t) -> Availability {
        let n = (a.free_placement_count as usize).min(a.free_placements.len());
        Availability {
            type_name: fixed(&a.type_),
            remaining: a.remaining,
            free_placements: a.free_placements[..n].to_vec(),
        }
    }
}

/// A vGPU as the host's ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Instance {
    /// The vGPU's UUID.
    pub uuid: String,
    /// Where it is in its life.
    pub state: InstanceState,
    /// The physical GPU it sits on (PCI address).
    pub gpu: String,
    /// Its type, e.g. "A16-2Q".
    pub type_name: String,
    /// Start slot.
    pub placement: u32,
    /// The VM's name, if recorded.
    pub owner: Option<String>,
    /// The VM's UUID, if recorded.
    pub vm_uuid: Option<String>,
    /// What the VMM is given: a VF's PCI address or an mdev's sysfs path ("" when the
    /// backend has none, as the simulated host).
    pub device: String,
    /// The process that reserved or is releasing it, if any.
    pub pid: Option<u32>,
    /// When it was reserved or adopted, in microseconds since 1970.
    pub created_at_us: i64,
    /// Its last change, in microseconds since 1970.
    pub updated_at_us: i64,
}

impl Instance {
    pub(crate) fn from_raw(i: &sys::vgpu_instance_info_t) -> Instance {
        Instance {
            uuid: fixed(&i.uuid),
            state: InstanceState::from_raw(i.state),
            gpu: fixed(&i.gpu),
            type_name: fixed(&i.type_),
            placement: i.placement,
            owner: fixed_opt(&i.owner),
            vm_uuid: fixed_opt(&i.vm_uuid),
            device: fixed(&i.device),
            pid: if i.pid == 0 { None } else { Some(i.pid) },
            created_at_us: i.created_at_us,
            updated_at_us: i.updated_at_us,
        }
    }
}

/// Why a request of [`crate::Manager::plan`] was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// What kind of refusal (usually [`ErrorCode::NoCapacity`]).
    pub code: ErrorCode,
    /// Why.
    pub reason: String,
}

/// One planned vGPU, or one refused request, of [`crate::Manager::plan`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PlanEntry {
    /// Index of the request in the input.
    pub request: usize,
    /// `None` when placed; why not when refused (the fields below are then empty).
    pub refusal: Option<Refusal>,
    /// The UUID the vGPU would get.
    pub uuid: String,
    /// Its GPU.
    pub gpu: String,
    /// Its type.
    pub type_name: String,
    /// Its start slot.
    pub placement: u32,
    /// The policy's score (lower won).
    pub score: f64,
}

impl PlanEntry {
    /// Whether the entry is a placed vGPU (not a refusal).
    pub fn placed(&self) -> bool {
        self.refusal.is_none()
    }
}

impl PlanEntry {
    /// # Safety
    /// The string pointers of `e` are NULL or valid NUL-terminated strings.
    pub(crate) unsafe fn from_raw(e: &sys::vgpu_plan_entry_t) -> PlanEntry {
        let refusal = ErrorCode::from_raw(e.status).map(|code| Refusal {
            code,
            reason: owned(e.reason),
        });
        PlanEntry {
            request: e.request as usize,
            refusal,
            uuid: fixed(&e.uuid),
            gpu: fixed(&e.gpu),
            type_name: fixed(&e.type_),
            placement: e.placement,
            score: e.score,
        }
    }
}

/// One GPU's verdict on a request, from [`crate::Manager::explain`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Verdict {
    /// The GPU (PCI address).
    pub gpu: String,
    /// Could take the request's first vGPU now.
    pub eligible: bool,
    /// The policy would put the first vGPU here.
    pub chosen: bool,
    /// The type considered on it, if any fits.
    pub type_name: Option<String>,
    /// Best start slot, when eligible.
    pub placement: u32,
    /// Its score, when eligible (lower wins).
    pub score: f64,
    /// Why not, when not eligible.
    pub reason: Option<String>,
}

impl Verdict {
    /// # Safety
    /// The string pointers of `v` are NULL or valid NUL-terminated strings.
    pub(crate) unsafe fn from_raw(v: &sys::vgpu_verdict_t) -> Verdict {
        let reason = owned(v.reason);
        Verdict {
            gpu: fixed(&v.gpu),
            eligible: v.eligible,
            chosen: v.chosen,
            type_name: fixed_opt(&v.type_),
            placement: v.placement,
            score: v.score,
            reason: if reason.is_empty() {
                None
            } else {
                Some(reason)
            },
        }
    }
}

/// Kinds of repair [`crate::Manager::reconcile`] makes (`vgpu_repair_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RepairKind {
    /// A vGPU the backend has but the ledger did not.
    Adopted,
    /// A recorded vGPU the backend no longer has.
    ReleasedVanished,
    /// A reservation whose process died, undone.
    RolledBack,
    /// A release whose process died, completed.
    FinishedRelease,
    /// A record that disagreed with the backend.
    Updated,
    /// A kind this version of the bindings does not know.
    Unknown(u32),
}

impl RepairKind {
    fn from_raw(kind: u32) -> RepairKind {
        match kind {
            sys::VGPU_REPAIR_ADOPTED => RepairKind::Adopted,
            sys::VGPU_REPAIR_RELEASED_VANISHED => RepairKind::ReleasedVanished,
            sys::VGPU_REPAIR_ROLLED_BACK => RepairKind::RolledBack,
            sys::VGPU_REPAIR_FINISHED_RELEASE => RepairKind::FinishedRelease,
            sys::VGPU_REPAIR_UPDATED => RepairKind::Updated,
            other => RepairKind::Unknown(other),
        }
    }
}

/// One repair made by [`crate::Manager::reconcile`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Repair {
    /// What kind of repair.
    pub kind: RepairKind,
    /// The vGPU.
    pub uuid: String,
    /// A sentence saying what and why.
    pub text: String,
}

impl Repair {
    /// # Safety
    /// The string pointers of `r` are NULL or valid NUL-terminated strings.
    pub(crate) unsafe fn from_raw(r: &sys::vgpu_repair_t) -> Repair {
        Repair {
            kind: RepairKind::from_raw(r.kind),
            uuid: fixed(&r.uuid),
            text: owned(r.text),
        }
    }
}

/// What [`crate::Manager::reconcile`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Reconciliation {
    /// The repairs made.
    pub repairs: Vec<Repair>,
    /// Records left alone because a live process is working on them.
    pub in_progress: usize,
}

/// What [`crate::Manager::apply`] or [`crate::Manager::restore`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ApplySummary {
    /// Wanted vGPUs that already existed.
    pub kept: u32,
    /// vGPUs this run created (or would create, with [`ApplyFlags::DRY_RUN`]).
    pub created: u32,
    /// vGPUs this run destroyed ([`ApplyFlags::PRUNE`]).
    pub destroyed: u32,
    /// Existing vGPUs the state does not name, kept.
    pub extra: u32,
}

impl ApplySummary {
    pub(crate) fn from_raw(s: &sys::vgpu_apply_summary_t) -> ApplySummary {
        ApplySummary {
            kept: s.kept,
            created: s.created,
            destroyed: s.destroyed,
            extra: s.extra,
        }
    }
}

/// What a manager is connected to ([`crate::Manager::describe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerInfo {
    /// The host's GPUs.
    pub gpu_count: u32,
    /// The backend's name.
    pub backend: String,
    /// The placement policy's name.
    pub policy: String,
    /// The ledger file; `None` for a private ledger.
    pub ledger: Option<PathBuf>,
    /// Where apply/restore keep definitions, if anywhere.
    pub definitions: Option<PathBuf>,
    /// Opening found a corrupted ledger, kept it aside and rebuilt it.
    pub ledger_rebuilt: bool,
    /// Opening completed a ledger commit that a crashed process had begun.
    pub ledger_replayed: bool,
    /// Where the corrupted ledger was moved.
    pub ledger_kept_aside: Option<PathBuf>,
    /// Repairs made by the reconcile at open.
    pub reconciled_at_open: u32,
}

impl ManagerInfo {
    pub(crate) fn from_raw(i: &sys::vgpu_manager_info_t) -> ManagerInfo {
        ManagerInfo {
            gpu_count: i.gpu_count,
            backend: fixed(&i.backend),
            policy: fixed(&i.policy),
            ledger: fixed_path(&i.ledger),
            definitions: fixed_path(&i.definitions),
            ledger_rebuilt: i.ledger_rebuilt,
            ledger_replayed: i.ledger_replayed,
            ledger_kept_aside: fixed_path(&i.ledger_kept_aside),
            reconciled_at_open: i.reconciled_at_open,
        }
    }
}
