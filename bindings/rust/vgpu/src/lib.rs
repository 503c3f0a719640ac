//! Safe Rust bindings of vgpu: partition physical NVIDIA GPUs into vGPUs for virtual machines.
//!
//! This crate wraps the stable C ABI (`include/vgpu.h`, `libvgpu.so.1`) through the raw
//! declarations of `vgpu-sys`. Nothing here needs `unsafe`: results are owned Rust values,
//! errors are [`Error`]s, lists follow the C two-call pattern internally, arrays the library
//! allocates are freed with `vgpu_free()` even if converting them panics, and closures
//! replace C callbacks.
//!
//! ```no_run
//! let m = vgpu::Manager::open(vgpu::ManagerOptions::new())?; // the built-in simulated host
//! let made = m.create(&vgpu::Request::of_type("A16-2Q").owner("vm-1"))?;
//! println!("{} on {} at slot {}", made[0].uuid, made[0].gpu, made[0].placement);
//! m.destroy(&made[0].uuid)?;
//! # Ok::<(), vgpu::Error>(())
//! ```
//!
//! A [`Manager`] is `Send + Sync` (the library serialises calls on one manager): share it
//! between threads with `Arc<Manager>`.
#![warn(missing_docs)]

mod callbacks;
mod error;
mod manager;
mod options;
mod raw;
mod request;
mod types;

pub use callbacks::Candidate;
pub use error::{Error, ErrorCode, Result};
pub use manager::Manager;
pub use options::ManagerOptions;
pub use request::{Affinity, Request};
pub use types::{
    AbiVersion, ApplyFlags, ApplySummary, Availability, Features, GpuInfo, GpuMode, Instance,
    InstanceState, LogLevel, ManagerInfo, PlanEntry, Reconciliation, Refusal, Repair, RepairKind,
    TypeInfo, Verdict,
};

use vgpu_sys as sys;

/// Bytes in a GiB, for framebuffer sizes.
pub const GIB: u64 = 1 << 30;

/// The library's product version, e.g. "0.1.0".
pub fn version() -> String {
    // SAFETY: vgpu_version() returns a static NUL-terminated string.
    unsafe { raw::owned(sys::vgpu_version()) }
}

/// The C ABI version the loaded library implements (compare with [`AbiVersion::BINDINGS`]).
pub fn abi_version() -> AbiVersion {
    // SAFETY: no arguments, no state.
    let v = unsafe { sys::vgpu_abi_version() };
    AbiVersion {
        major: v >> 16,
        minor: v & 0xffff,
    }
}

/// What this build of the library can do.
pub fn features() -> Features {
    // SAFETY: no arguments, no state.
    Features::from_bits(unsafe { sys::vgpu_features() })
}

/// Names of the backends this library can open ("sim", "nvidia-vfio", ...).
pub fn backend_names() -> Result<Vec<String>> {
    raw::static_names(sys::vgpu_backend_names)
}

/// Names of the built-in placement policies ("fragmentation-aware", "best-fit", ...), in
/// documentation order.
pub fn policy_names() -> Result<Vec<String>> {
    raw::static_names(sys::vgpu_policy_names)
}

#[cfg(test)]
mod tests;
