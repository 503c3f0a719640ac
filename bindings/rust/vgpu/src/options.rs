//! [`ManagerOptions`]: how to open a [`crate::Manager`] (`vgpu_manager_options_t`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::callbacks::{Candidate, LogFn, PolicyFn};
use crate::error::Result;
use crate::manager::Manager;
use crate::types::LogLevel;

/// How to open a [`Manager`], built step by step; every option has a default, and
/// `ManagerOptions::new().open()` opens the built-in simulated host (4x A16, 2x L40S in
/// mixed-size mode, 1x A100 in MIG mode) with a private ledger.
///
/// ```no_run
/// let m = vgpu::ManagerOptions::new()
///     .sim_host("/var/lib/vgpu/host.json")
///     .policy("best-fit")
///     .log(vgpu::LogLevel::Info, |level, message| eprintln!("vgpu {}: {}", level, message))
///     .open()?;
/// # Ok::<(), vgpu::Error>(())
/// ```
#[derive(Default)]
pub struct ManagerOptions {
    pub(crate) backend: Option<String>,
    pub(crate) sim_host: Option<PathBuf>,
    pub(crate) sysfs_root: Option<PathBuf>,
    pub(crate) state_dir: Option<PathBuf>,
    pub(crate) ledger: Option<PathBuf>,
    pub(crate) private_ledger: bool,
    pub(crate) durable: bool,
    pub(crate) ledger_group: Option<u32>,
    pub(crate) skip_reconcile_on_open: bool,
    pub(crate) definitions: Option<PathBuf>,
    pub(crate) catalogs: Vec<PathBuf>,
    pub(crate) policy: Option<String>,
    pub(crate) policy_fn: Option<PolicyFn>,
    pub(crate) policy_placement_sensitive: bool,
    pub(crate) one_type_per_gpu: bool,
    pub(crate) log_fn: Option<LogFn>,
    pub(crate) log_level: Option<LogLevel>,
}

impl ManagerOptions {
    /// The defaults: the built-in simulated host.
    pub fn new() -> ManagerOptions {
        ManagerOptions::default()
    }

    /// Opens a manager with these options ([`Manager::open`]).
    pub fn open(self) -> Result<Manager> {
        Manager::open(self)
    }

    /// The backend: "sim" (default), "nvidia-vfio", "mdev", "nouveau" or "auto" (the kernel
    /// interface this host has); see [`crate::backend_names`].
    pub fn backend(mut self, name: impl Into<String>) -> ManagerOptions {
        self.backend = Some(name.into());
        self
    }
    /// For "sim": a host description file holding a simulated host that processes share.
    pub fn sim_host(mut self, path: impl AsRef<Path>) -> ManagerOptions {
        self.sim_host = Some(path.as_ref().to_path_buf());
        self
    }
    /// For kernel backends: the root sysfs and /dev are found under.
    pub fn sysfs_root(mut self, path: impl AsRef<Path>) -> ManagerOptions {
        self.sysfs_root = Some(path.as_ref().to_path_buf());
        self
    }
    /// For kernel backends: where backend state is kept.
    pub fn state_dir(mut self, path: impl AsRef<Path>) -> ManagerOptions {
        self.state_dir = Some(path.as_ref().to_path_buf());
        self
    }
    /// The ledger file (default: $VGPU_LEDGER, else `SIM_HOST.ledger` for a simulated host
    /// file, else `<sysfs_root>/run/vgpu/ledger`). The built-in simulated host refuses one.
    pub fn ledger(mut self, path: impl AsRef<Path>) -> ManagerOptions {
        self.ledger = Some(path.as_ref().to_path_buf());
        self
    }
    /// Use a private in-memory ledger whatever else is set.
    pub fn private_ledger(mut self, private: bool) -> ManagerOptions {
        self.private_ledger = private;
        self
    }
    /// Flush every ledger commit to stable storage (slow; see docs/ledger.md).
    pub fn durable(mut self, durable: bool) -> ManagerOptions {
        self.durable = durable;
        self
    }
    /// Share the ledger with group `gid` (mode 0660) instead of 0600.
    pub fn share_ledger_with_group(mut self, gid: u32) -> ManagerOptions {
        self.ledger_group = Some(gid);
        self
    }
    /// Do not reconcile ledger and backend when opening.
    pub fn skip_reconcile_on_open(mut self, skip: bool) -> ManagerOptions {
        self.skip_reconcile_on_open = skip;
        self
    }
    /// Where apply/restore keep definitions (default: next to the ledger).
    pub fn definitions(mut self, path: impl AsRef<Path>) -> ManagerOptions {
        self.definitions = Some(path.as_ref().to_path_buf());
        self
    }
    /// Adds a catalog file or directory, loaded over the built-in catalog.
    pub fn catalog(mut self, path: impl AsRef<Path>) -> ManagerOptions {
        self.catalogs.push(path.as_ref().to_path_buf());
        self
    }
    /// A built-in placement policy by name (default "fragmentation-aware"; see
    /// [`crate::policy_names`]), or the name of the [`custom_policy`](Self::custom_policy).
    pub fn policy(mut self, name: impl Into<String>) -> ManagerOptions {
        self.policy = Some(name.into());
        self
    }
    /// A custom placement policy: scores a candidate, lower wins, ties go to the lowest GPU
    /// index; NaN counts as +infinity. It runs while the manager is locked: it must return
    /// quickly, must not fail, must give the same score for the same candidate, and must
    /// not call this manager (such a call fails with [`crate::ErrorCode::Busy`]). A panic
    /// scores +infinity. [`policy`](Self::policy) names it (default "custom").
    pub fn custom_policy<F>(mut self, score: F) -> ManagerOptions
    where
        F: Fn(&Candidate<'_>) -> f64 + Send + Sync + 'static,
    {
        self.policy_fn = Some(Box::new(score));
        self
    }
    /// The custom policy's score depends on the placement (slot), not only on GPU and type.
    pub fn policy_placement_sensitive(mut self, sensitive: bool) -> ManagerOptions {
        self.policy_placement_sensitive = sensitive;
        self
    }
    /// Allow one vGPU type per GPU in equal-size mode (older drivers, mdev).
    pub fn one_type_per_gpu(mut self, one: bool) -> ManagerOptions {
        self.one_type_per_gpu = one;
        self
    }
    /// Log messages of `level` and above go to `f` (also those of opening). It runs on the
    /// thread making a call, while the manager is locked: it must return quickly and must not
    /// call this manager (such a call fails with [`crate::ErrorCode::Busy`]). Panics are
    /// caught and ignored. [`Manager::set_log`] replaces it later.
    pub fn log<F>(mut self, level: LogLevel, f: F) -> ManagerOptions
    where
        F: Fn(LogLevel, &str) + Send + Sync + 'static,
    {
        self.log_fn = Some(Box::new(f));
        self.log_level = Some(level);
        self
    }
}

impl fmt::Debug for ManagerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagerOptions")
            .field("backend", &self.backend)
            .field("sim_host", &self.sim_host)
            .field("sysfs_root", &self.sysfs_root)
            .field("state_dir", &self.state_dir)
            .field("ledger", &self.ledger)
            .field("private_ledger", &self.private_ledger)
            .field("durable", &self.durable)
            .field("ledger_group", &self.ledger_group)
            .field("skip_reconcile_on_open", &self.skip_reconcile_on_open)
            .field("definitions", &self.definitions)
            .field("catalogs", &self.catalogs)
            .field("policy", &self.policy)
            .field("custom_policy", &self.policy_fn.is_some())
            .field(
                "policy_placement_sensitive",
                &self.policy_placement_sensitive,
            )
            .field("one_type_per_gpu", &self.one_type_per_gpu)
            .field("log", &self.log_fn.is_some())
            .field("log_level", &self.log_level)
            .finish()
    }
}
