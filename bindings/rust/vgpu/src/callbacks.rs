//! The log and policy callbacks: Rust closures behind C function pointers.
//!
//! The C library calls a trampoline with a `payload` pointing to a heap-allocated hook that
//! the [`crate::Manager`] owns (so it outlives every call that can reach it). The trampolines
//! catch panics: unwinding into C is undefined behaviour, so a panicking log closure is
//! ignored and a panicking policy closure scores +infinity (the default panic hook has
//! already printed the panic). They also note, per thread, which manager's callback is
//! running, so that a closure calling back into its own manager gets an error instead of the
//! deadlock vgpu.h warns about.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use vgpu_sys as sys;

use crate::error::{Error, ErrorCode, Result};
use crate::types::{GpuMode, LogLevel};

/// A log closure: level and message (no trailing newline).
pub(crate) type LogFn = Box<dyn Fn(LogLevel, &str) + Send + Sync + 'static>;
/// A policy closure: the score of a candidate (lower wins).
pub(crate) type PolicyFn = Box<dyn Fn(&Candidate<'_>) -> f64 + Send + Sync + 'static>;

/// What a custom placement policy scores: one vGPU of one type at one placement on one GPU
/// (`vgpu_candidate_t`). The score may depend only on these fields: the engine caches it for
/// GPUs in the same state (docs/policies.md).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Candidate<'a> {
    /// The GPU's model name.
    pub model: &'a str,
    /// The GPU's mode.
    pub mode: GpuMode,
    /// The GPU's NUMA node, when known.
    pub numa_node: Option<u32>,
    /// The GPU's framebuffer.
    pub gpu_framebuffer_bytes: u64,
    /// Framebuffer the GPU's vGPUs take now.
    pub used_framebuffer_bytes: u64,
    /// vGPUs on the GPU now.
    pub vgpu_count: u32,
    /// The type's name.
    pub type_name: &'a str,
    /// The type's framebuffer.
    pub type_framebuffer_bytes: u64,
    /// Start slot the vGPU would take.
    pub placement: u32,
    /// Slots it would occupy.
    pub placement_size: u32,
    /// Framebuffer the request asked for.
    pub requested_bytes: u64,
}

/// A log closure and the manager it belongs to.
pub(crate) struct LogHook {
    pub(crate) owner: usize,
    pub(crate) f: LogFn,
}

/// A policy closure and the manager it belongs to.
pub(crate) struct PolicyHook {
    pub(crate) owner: usize,
    pub(crate) f: PolicyFn,
}

thread_local! {
    /// The managers (their tokens) whose callbacks this thread is running, innermost last.
    static IN_CALLBACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks `owner`'s callback as running on this thread until dropped.
struct Running;

impl Running {
    fn enter(owner: usize) -> Running {
        let _ = IN_CALLBACK.try_with(|s| s.borrow_mut().push(owner));
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = IN_CALLBACK.try_with(|s| s.borrow_mut().pop());
    }
}

/// Fails if this thread is inside a callback of the manager `owner`: the manager is locked
/// by the call that invoked the callback, so calling it again would deadlock (vgpu.h,
/// `vgpu_log_fn`: "must not call back into the same manager").
pub(crate) fn not_reentrant(owner: usize) -> Result<()> {
    let inside = IN_CALLBACK
        .try_with(|s| s.borrow().contains(&owner))
        .unwrap_or(false);
    if inside {
        Err(Error::new(
            ErrorCode::Busy,
            "called from inside this manager's own log or policy callback, while the manager \
             is locked; that would deadlock (vgpu.h: a callback must not call back into the \
             same manager)",
        ))
    } else {
        Ok(())
    }
}

/// Borrowed text of a C string from the library; NULL or invalid UTF-8 text is replaced.
fn text<'a>(p: *const c_char) -> Cow<'a, str> {
    if p.is_null() {
        Cow::Borrowed("")
    } else {
        // SAFETY: the library passes NUL-terminated strings valid during the callback, and
        // the Cow does not outlive it (the caller drops it before returning).
        unsafe { CStr::from_ptr(p) }.to_string_lossy()
    }
}

/// The `vgpu_log_fn` of every manager with a log closure; `payload` is its `LogHook`.
pub(crate) extern "C" fn log_trampoline(
    level: c_int,
    message: *const c_char,
    payload: *mut c_void,
) {
    if payload.is_null() {
        return;
    }
    // SAFETY: `payload` is the LogHook the Manager keeps alive while the library can call
    // this (it is replaced only after vgpu_manager_set_log() returns, and freed after close).
    let hook = unsafe { &*(payload as *const LogHook) };
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let _running = Running::enter(hook.owner);
        let message = text(message);
        (hook.f)(LogLevel::from_raw(level), &message);
    }));
}

/// The `vgpu_policy_fn` of a manager with a custom policy; `payload` is its `PolicyHook`.
pub(crate) extern "C" fn policy_trampoline(
    candidate: *const sys::vgpu_candidate_t,
    payload: *mut c_void,
) -> f64 {
    if payload.is_null() || candidate.is_null() {
        return f64::INFINITY;
    }
    // SAFETY: as for log_trampoline; `candidate` is valid during the call (vgpu.h).
    let (hook, c) = unsafe { (&*(payload as *const PolicyHook), &*candidate) };
    catch_unwind(AssertUnwindSafe(|| {
        let _running = Running::enter(hook.owner);
        // Version 1 has every field read here; later versions only append fields.
        let model = text(c.model);
        let type_name = text(c.type_);
        let candidate = Candidate {
            model: &model,
            mode: GpuMode::from_raw(c.mode),
            numa_node: u32::try_from(c.numa_node).ok(),
            gpu_framebuffer_bytes: c.gpu_framebuffer_bytes,
            used_framebuffer_bytes: c.used_framebuffer_bytes,
            vgpu_count: c.vgpu_count,
            type_name: &type_name,
            type_framebuffer_bytes: c.type_framebuffer_bytes,
            placement: c.placement,
            placement_size: c.placement_size,
            requested_bytes: c.requested_bytes,
        };
        (hook.f)(&candidate)
    }))
    .unwrap_or(f64::INFINITY)
}
