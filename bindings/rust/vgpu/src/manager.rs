//! [`Manager`]: the one object a hypervisor holds (`vgpu_manager_t`).

use std::ffi::CString;
use std::fmt;
use std::os::raw::c_void;
use std::ptr::{self, NonNull};
use std::sync::Mutex;

use vgpu_sys as sys;

use crate::callbacks::{self, LogHook, PolicyHook};
use crate::error::{check, Error, ErrorCode, Result};
use crate::options::ManagerOptions;
use crate::raw::{c_path, c_string, init, ptr_of, two_call, LibArray};
use crate::request::{CArray, RawRequest, Request};
use crate::types::{
    ApplyFlags, ApplySummary, Availability, GpuInfo, Instance, LogLevel, ManagerInfo, PlanEntry,
    Reconciliation, Repair, TypeInfo, Verdict,
};

/// A manager: the catalog, a backend, the host's ledger and a placement engine
/// (`vgpu_manager_t`). Closed when dropped; its vGPUs stay.
///
/// `Manager` is `Send + Sync`: share it between threads with an `Arc<Manager>`; the library
/// serialises the calls on one manager.
pub struct Manager {
    raw: NonNull<sys::vgpu_manager_t>,
    /// A heap byte whose address identifies this manager to its callbacks.
    token: Box<u8>,
    /// The log closure the library calls now (replaced by set_log, freed after close).
    log: Mutex<Option<Box<LogHook>>>,
    /// The custom policy, for the manager's whole life (freed after close).
    _policy: Option<Box<PolicyHook>>,
}

// SAFETY: vgpu.h, "Conventions", Threads: "Every function may be called from any thread.
// Calls on one manager are serialised inside the library", and a manager is "Opaque;
// thread-safe". So the handle may move to another thread (Send) and be used from several at
// once (Sync). What the Manager owns besides is Send + Sync too: the closures are required to
// be `Send + Sync` because the library calls them on whichever thread makes a call, and the
// log slot is behind a Mutex. Closing needs `&mut self` (Drop), so no call is in flight then.
unsafe impl Send for Manager {}
// SAFETY: see `Send` above.
unsafe impl Sync for Manager {}

impl Manager {
    /// Opens a manager: loads the catalog, opens the backend and the host's ledger and
    /// (unless told not to) reconciles them.
    pub fn open(options: ManagerOptions) -> Result<Manager> {
        let token = Box::new(0u8);
        let owner = &*token as *const u8 as usize;
        let ManagerOptions {
            backend,
            sim_host,
            sysfs_root,
            state_dir,
            ledger,
            private_ledger,
            durable,
            ledger_group,
            skip_reconcile_on_open,
            definitions,
            catalogs,
            policy,
            policy_fn,
            policy_placement_sensitive,
            one_type_per_gpu,
            log_fn,
            log_level,
        } = options;

        let backend = backend
            .as_deref()
            .map(|s| c_string(s, "backend"))
            .transpose()?;
        let sim_host = sim_host
            .as_deref()
            .map(|p| c_path(p, "sim_host"))
            .transpose()?;
        let sysfs_root = sysfs_root
            .as_deref()
            .map(|p| c_path(p, "sysfs_root"))
            .transpose()?;
        let state_dir = state_dir
            .as_deref()
            .map(|p| c_path(p, "state_dir"))
            .transpose()?;
        let ledger = ledger.as_deref().map(|p| c_path(p, "ledger")).transpose()?;
        let definitions = definitions
            .as_deref()
            .map(|p| c_path(p, "definitions"))
            .transpose()?;
        let policy = policy
            .as_deref()
            .map(|s| c_string(s, "policy"))
            .transpose()?;
        let catalogs = catalogs
            .iter()
            .enumerate()
            .map(|(i, p)| c_path(p, &format!("catalogs[{}]", i)))
            .collect::<Result<Vec<CString>>>()?;
        let catalogs = CArray::from_c_strings(catalogs);
        let log = log_fn.map(|f| Box::new(LogHook { owner, f }));
        let policy_hook = policy_fn.map(|f| Box::new(PolicyHook { owner, f }));

        let mut o = init(
            sys::vgpu_manager_options_init,
            sys::VGPU_MANAGER_OPTIONS_VERSION,
        );
        o.backend = ptr_of(&backend);
        o.sim_host = ptr_of(&sim_host);
        o.sysfs_root = ptr_of(&sysfs_root);
        o.state_dir = ptr_of(&state_dir);
        o.ledger = ptr_of(&ledger);
        o.private_ledger = private_ledger;
        o.durable = durable;
        o.share_ledger_with_group = ledger_group.is_some();
        o.ledger_group = ledger_group.unwrap_or(0);
        o.skip_reconcile_on_open = skip_reconcile_on_open;
        o.definitions = ptr_of(&definitions);
        o.catalogs = catalogs.ptr();
        o.catalog_count = catalogs.len();
        o.policy = ptr_of(&policy);
        if let Some(hook) = &policy_hook {
            o.policy_fn = Some(callbacks::policy_trampoline);
            o.policy_payload = &**hook as *const PolicyHook as *mut c_void;
        }
        o.policy_placement_sensitive = policy_placement_sensitive;
        o.one_type_per_gpu = one_type_per_gpu;
        if let Some(hook) = &log {
            o.log_fn = Some(callbacks::log_trampoline);
            o.log_payload = &**hook as *const LogHook as *mut c_void;
        }
        o.log_level = log_level.unwrap_or(LogLevel::Debug).raw();

        let mut out: *mut sys::vgpu_manager_t = ptr::null_mut();
        // SAFETY: `o` and every string and array it points to live until the call returns
        // (the library copies them); the hooks live as long as the manager (below).
        check(unsafe { sys::vgpu_manager_open(&mut out, &o) })?;
        let raw = NonNull::new(out).ok_or_else(|| {
            Error::new(
                ErrorCode::Internal,
                "vgpu_manager_open() succeeded with a NULL manager",
            )
        })?;
        Ok(Manager {
            raw,
            token,
            log: Mutex::new(log),
            _policy: policy_hook,
        })
    }

    fn owner(&self) -> usize {
        &*self.token as *const u8 as usize
    }

    /// The handle, after checking the call does not come from this manager's own callback.
    fn handle(&self) -> Result<*mut sys::vgpu_manager_t> {
        callbacks::not_reentrant(self.owner())?;
        Ok(self.raw.as_ptr())
    }

    /// What the manager is connected to: backend, policy, ledger, definitions.
    pub fn describe(&self) -> Result<ManagerInfo> {
        let m = self.handle()?;
        let mut info = Box::new(sys::vgpu_manager_info_t::default());
        info.version = sys::VGPU_MANAGER_INFO_VERSION;
        // SAFETY: `info` is a versioned struct the library fills.
        check(unsafe { sys::vgpu_manager_describe(&mut *info, m) })?;
        Ok(ManagerInfo::from_raw(&info))
    }

    /// Replaces the log closure: messages of `level` and above go to `f` (same rules as
    /// [`ManagerOptions::log`]).
    pub fn set_log<F>(&self, level: LogLevel, f: F) -> Result<()>
    where
        F: Fn(LogLevel, &str) + Send + Sync + 'static,
    {
        let hook = Box::new(LogHook {
            owner: self.owner(),
            f: Box::new(f),
        });
        self.replace_log(level, Some(hook))
    }

    /// Stops logging.
    pub fn clear_log(&self) -> Result<()> {
        self.replace_log(LogLevel::Debug, None)
    }

    fn replace_log(&self, level: LogLevel, hook: Option<Box<LogHook>>) -> Result<()> {
        let m = self.handle()?;
        let mut slot = self
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (f, payload) = match &hook {
            Some(h) => (
                Some(callbacks::log_trampoline as _),
                &**h as *const LogHook as *mut c_void,
            ),
            None => (None, ptr::null_mut()),
        };
        // SAFETY: the new hook lives in `slot` from now on. The old one is freed only after
        // the library has dropped it: calls on a manager are serialised (vgpu.h) and the log
        // callback runs inside them, so once this call returns no call can reach the old one.
        check(unsafe { sys::vgpu_manager_set_log(m, f, level.raw(), payload) })?;
        *slot = hook;
        Ok(())
    }

    /// The host's GPUs, in PCI address order.
    pub fn gpus(&self) -> Result<Vec<GpuInfo>> {
        let m = self.handle()?;
        let template = init(sys::vgpu_gpu_info_init, sys::VGPU_GPU_INFO_VERSION);
        let list = two_call(template, |out, count| {
            // SAFETY: `out` is NULL or holds `*count` versioned elements.
            unsafe { sys::vgpu_manager_gpus(out, count, m) }
        })?;
        Ok(list.iter().map(GpuInfo::from_raw).collect())
    }

    /// The vGPU types GPU `gpu` (a PCI address, "0000:41:00.0" or "41:00.0") supports in its
    /// current mode.
    pub fn types(&self, gpu: &str) -> Result<Vec<TypeInfo>> {
        let m = self.handle()?;
        let gpu = c_string(gpu, "gpu")?;
        let template = init(sys::vgpu_type_info_init, sys::VGPU_TYPE_INFO_VERSION);
        let list = two_call(template, |out, count| {
            // SAFETY: as in gpus(); `gpu` is a C string.
            unsafe { sys::vgpu_manager_types(out, count, m, gpu.as_ptr()) }
        })?;
        Ok(list.iter().map(TypeInfo::from_raw).collect())
    }

    /// The types that can be created on GPU `gpu` now, with what remains of each.
    pub fn creatable(&self, gpu: &str) -> Result<Vec<Availability>> {
        let m = self.handle()?;
        let gpu = c_string(gpu, "gpu")?;
        let template = init(sys::vgpu_availability_init, sys::VGPU_AVAILABILITY_VERSION);
        let list = two_call(template, |out, count| {
            // SAFETY: as in types().
            unsafe { sys::vgpu_manager_creatable(out, count, m, gpu.as_ptr()) }
        })?;
        Ok(list.iter().map(Availability::from_raw).collect())
    }

    /// Looks a type up in the catalog by name ("A16-2Q"; case-insensitive, "NVIDIA" and
    /// "GRID" prefixes accepted). [`ErrorCode::NotFound`]'s message suggests near names.
    pub fn find_type(&self, name: &str) -> Result<TypeInfo> {
        let m = self.handle()?;
        let name = c_string(name, "name")?;
        let mut t = init(sys::vgpu_type_info_init, sys::VGPU_TYPE_INFO_VERSION);
        // SAFETY: `t` is a versioned struct the library fills; `name` is a C string.
        check(unsafe { sys::vgpu_manager_find_type(&mut t, m, name.as_ptr()) })?;
        Ok(TypeInfo::from_raw(&t))
    }

    /// Every vGPU the host's ledger records (reserved, active or releasing).
    pub fn instances(&self) -> Result<Vec<Instance>> {
        let m = self.handle()?;
        let list = two_call(instance_template(), |out, count| {
            // SAFETY: as in gpus().
            unsafe { sys::vgpu_manager_instances(out, count, m) }
        })?;
        Ok(list.iter().map(Instance::from_raw).collect())
    }

    /// One vGPU by UUID.
    pub fn instance(&self, uuid: &str) -> Result<Instance> {
        let m = self.handle()?;
        let uuid = c_string(uuid, "uuid")?;
        let mut i = instance_template();
        // SAFETY: `i` is a versioned struct; `uuid` is a C string.
        check(unsafe { sys::vgpu_manager_instance(&mut i, m, uuid.as_ptr()) })?;
        Ok(Instance::from_raw(&i))
    }

    /// Creates the vGPUs of `request` where the policy says, all or nothing (two-phase and
    /// crash-safe: on any failure everything this call did is undone).
    pub fn create(&self, request: &Request) -> Result<Vec<Instance>> {
        let m = self.handle()?;
        let r = request.to_raw()?;
        let n = request.vgpu_count();
        let mut out = Vec::new();
        out.try_reserve_exact(n).map_err(|_| {
            Error::new(
                ErrorCode::NoMemory,
                format!("no memory for the {} vGPUs requested", n),
            )
        })?;
        out.resize(n, instance_template());
        // SAFETY: `out` has `out.len()` versioned elements; `r` keeps its strings alive.
        check(unsafe { sys::vgpu_manager_create(out.as_mut_ptr(), out.len(), m, &r.raw) })?;
        Ok(out.iter().map(Instance::from_raw).collect())
    }

    /// Destroys vGPU `uuid` (two-phase, like create). [`ErrorCode::Busy`]: a VM uses it, or
    /// another live process is creating or destroying it; it stays.
    pub fn destroy(&self, uuid: &str) -> Result<()> {
        let m = self.handle()?;
        let uuid = c_string(uuid, "uuid")?;
        // SAFETY: `uuid` is a C string.
        check(unsafe { sys::vgpu_manager_destroy(m, uuid.as_ptr()) })
    }

    /// Plans `requests` together on a copy of the current state (largest first), creating
    /// nothing: one entry per planned vGPU of each placed request and one per refused
    /// request, in input order.
    pub fn plan(&self, requests: &[Request]) -> Result<Vec<PlanEntry>> {
        let m = self.handle()?;
        let raws = requests
            .iter()
            .map(Request::to_raw)
            .collect::<Result<Vec<RawRequest>>>()?;
        let pointers: Vec<*const sys::vgpu_request_t> = raws
            .iter()
            .map(|r| &r.raw as *const sys::vgpu_request_t)
            .collect();
        let mut entries = LibArray::<sys::vgpu_plan_entry_t>::new();
        // SAFETY: `pointers` holds `len` valid requests (kept alive by `raws`); the library
        // stores its allocation in `entries`, which frees it with vgpu_free().
        check(unsafe {
            sys::vgpu_manager_plan(
                &mut entries.ptr,
                &mut entries.len,
                m,
                if pointers.is_empty() {
                    ptr::null()
                } else {
                    pointers.as_ptr()
                },
                pointers.len(),
                sys::VGPU_PLAN_ENTRY_VERSION,
            )
        })?;
        // SAFETY: the entries' strings are inside the allocation `entries` frees afterwards.
        Ok(entries
            .as_slice()
            .iter()
            .map(|e| unsafe { PlanEntry::from_raw(e) })
            .collect())
    }

    /// Says where `request` would go and why each GPU would or would not take it: one
    /// verdict per GPU, in GPU order. Nothing is created.
    pub fn explain(&self, request: &Request) -> Result<Vec<Verdict>> {
        let m = self.handle()?;
        let r = request.to_raw()?;
        let mut verdicts = LibArray::<sys::vgpu_verdict_t>::new();
        // SAFETY: as in plan().
        check(unsafe {
            sys::vgpu_manager_explain(
                &mut verdicts.ptr,
                &mut verdicts.len,
                m,
                &r.raw,
                sys::VGPU_VERDICT_VERSION,
            )
        })?;
        // SAFETY: as in plan().
        Ok(verdicts
            .as_slice()
            .iter()
            .map(|v| unsafe { Verdict::from_raw(v) })
            .collect())
    }

    /// Compares the ledger with the backend and repairs the ledger: reservations and releases
    /// of processes that died, vGPUs that vanished, vGPUs nobody recorded.
    pub fn reconcile(&self) -> Result<Reconciliation> {
        let m = self.handle()?;
        let mut repairs = LibArray::<sys::vgpu_repair_t>::new();
        let mut in_progress = 0usize;
        // SAFETY: as in plan().
        check(unsafe {
            sys::vgpu_manager_reconcile(
                &mut repairs.ptr,
                &mut repairs.len,
                &mut in_progress,
                m,
                sys::VGPU_REPAIR_VERSION,
            )
        })?;
        // SAFETY: as in plan().
        let list: Vec<Repair> = repairs
            .as_slice()
            .iter()
            .map(|r| unsafe { Repair::from_raw(r) })
            .collect();
        Ok(Reconciliation {
            repairs: list,
            in_progress,
        })
    }

    /// Makes the host hold the vGPUs a host-state document asks for (the JSON of
    /// `vgpuctl apply`, docs/vgpuctl.md), idempotently; on failure destroys what this call
    /// created. On success (unless [`ApplyFlags::DRY_RUN`]) stores the result as the
    /// definitions [`restore`](Self::restore) re-creates.
    pub fn apply(&self, host_state: &str, flags: ApplyFlags) -> Result<ApplySummary> {
        let m = self.handle()?;
        let text = c_string(host_state, "host_state")?;
        let mut s = summary_template();
        // SAFETY: `s` is a versioned struct; `text` is a C string.
        check(unsafe { sys::vgpu_manager_apply(&mut s, m, text.as_ptr(), flags.bits()) })?;
        Ok(ApplySummary::from_raw(&s))
    }

    /// Re-creates every stored definition that does not exist (after a reboot) with the same
    /// UUID, GPU, type and placement; undoes its own creations if one fails.
    pub fn restore(&self) -> Result<ApplySummary> {
        let m = self.handle()?;
        let mut s = summary_template();
        // SAFETY: `s` is a versioned struct.
        check(unsafe { sys::vgpu_manager_restore(&mut s, m) })?;
        Ok(ApplySummary::from_raw(&s))
    }
}

fn instance_template() -> sys::vgpu_instance_info_t {
    init(
        sys::vgpu_instance_info_init,
        sys::VGPU_INSTANCE_INFO_VERSION,
    )
}

fn summary_template() -> sys::vgpu_apply_summary_t {
    sys::vgpu_apply_summary_t {
        version: sys::VGPU_APPLY_SUMMARY_VERSION,
        ..Default::default()
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        // SAFETY: the handle is open (only drop closes it) and no call is in flight (drop has
        // `&mut self`). The hooks are dropped after this, when the library no longer has them.
        unsafe { sys::vgpu_manager_close(self.raw.as_ptr()) };
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("handle", &self.raw)
            .finish_non_exhaustive()
    }
}
