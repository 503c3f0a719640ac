//! Helpers between Rust values and the C ABI: strings in and out, the two-call list pattern,
//! and arrays the library allocates.

use std::ffi::{CStr, CString, OsString};
use std::os::raw::{c_char, c_int, c_void};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::ptr;

use vgpu_sys as sys;

use crate::error::{check, Error, ErrorCode, Result};

/// `text` as a C string; a NUL inside it is an invalid argument named after `what`.
pub(crate) fn c_string(text: &str, what: &str) -> Result<CString> {
    CString::new(text).map_err(|e| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "{} contains a NUL byte at position {}",
                what,
                e.nul_position()
            ),
        )
    })
}

/// `path` as a C string (its bytes as they are: Linux paths need not be UTF-8).
pub(crate) fn c_path(path: &Path, what: &str) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|e| {
        Error::new(
            ErrorCode::InvalidArgument,
            format!(
                "{} ({}) contains a NUL byte at position {}",
                what,
                path.display(),
                e.nul_position()
            ),
        )
    })
}

/// The pointer of an optional C string (NULL for `None`).
pub(crate) fn ptr_of(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |c| c.as_ptr())
}

/// The text of a NUL-terminated fixed-size `char` array (the whole array if it has no NUL).
pub(crate) fn fixed(chars: &[c_char]) -> String {
    let bytes = fixed_bytes(chars);
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// [`fixed`], with "" meaning `None`.
pub(crate) fn fixed_opt(chars: &[c_char]) -> Option<String> {
    let s = fixed(chars);
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// A path from a fixed-size array, "" meaning `None`.
pub(crate) fn fixed_path(chars: &[c_char]) -> Option<PathBuf> {
    let bytes = fixed_bytes(chars);
    if bytes.is_empty() {
        None
    } else {
        Some(PathBuf::from(OsString::from_vec(bytes)))
    }
}

fn fixed_bytes(chars: &[c_char]) -> Vec<u8> {
    chars
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect()
}

/// An owned copy of a C string the library returned (NULL gives "").
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the duration of the call.
pub(crate) unsafe fn owned(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // The caller's contract makes this sound (no inner unsafe block: rustc 1.63 would
        // call it unused, newer ones do not).
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// A versioned struct filled with its defaults by the library's `vgpu_<x>_init` function `f`
/// (the C `VGPU_<X>_INIT` macros have no counterpart in Rust). Only for vgpu.h's init
/// functions, which write one `T` and nothing else.
pub(crate) fn init<T: Default>(f: unsafe extern "C" fn(*mut T, u32), version: u32) -> T {
    let mut x = T::default();
    // SAFETY: `f` is one of vgpu.h's init functions for T, given a valid T.
    unsafe { f(&mut x, version) };
    x
}

/// The two-call pattern (vgpu.h, "Lists"): learns the count with `out` NULL, allocates that
/// many elements (each a copy of `template`, whose `version` is set), fills them, and loops
/// while the second call reports `VGPU_E_BUFFER_TOO_SMALL` because the state grew between
/// the calls. `call(out, count)` makes the C call.
pub(crate) fn two_call<T: Copy>(
    template: T,
    mut call: impl FnMut(*mut T, &mut usize) -> c_int,
) -> Result<Vec<T>> {
    let mut need = 0usize;
    check(call(ptr::null_mut(), &mut need))?;
    loop {
        if need == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![template; need];
        let mut count = buf.len();
        let status = call(buf.as_mut_ptr(), &mut count);
        if status == sys::VGPU_OK {
            buf.truncate(count);
            return Ok(buf);
        }
        if status != sys::VGPU_E_BUFFER_TOO_SMALL {
            return Err(Error::last(status));
        }
        // Grew meanwhile: `count` is the new need (never less than what did not fit).
        need = count.max(buf.len() + 1);
    }
}

/// An array the library allocated (plan, explain, reconcile), freed with vgpu_free() when
/// dropped, so also when converting its elements panics or fails.
pub(crate) struct LibArray<T> {
    pub(crate) ptr: *mut T,
    pub(crate) len: usize,
}

impl<T> LibArray<T> {
    pub(crate) fn new() -> LibArray<T> {
        LibArray {
            ptr: ptr::null_mut(),
            len: 0,
        }
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            // SAFETY: the library returned `len` initialised elements at `ptr`, which stay
            // valid until vgpu_free() in drop().
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

impl<T> Drop for LibArray<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` is NULL or the library's allocation, freed exactly once.
        unsafe { sys::vgpu_free(self.ptr as *mut c_void) };
        self.ptr = ptr::null_mut();
    }
}

/// Names the library returns as static strings (vgpu_backend_names(), vgpu_policy_names()).
pub(crate) fn static_names(
    f: unsafe extern "C" fn(*mut *const c_char, *mut usize) -> c_int,
) -> Result<Vec<String>> {
    let names = two_call(ptr::null::<c_char>(), |out, count| {
        // SAFETY: `out` is NULL or has `*count` elements; `count` is valid.
        unsafe { f(out, count) }
    })?;
    // SAFETY: the names are static NUL-terminated strings (vgpu.h).
    Ok(names.into_iter().map(|p| unsafe { owned(p) }).collect())
}
