//! Unit tests of the crate's internals against the real library: the error conversion for
//! codes the safe API cannot provoke, the two-call loop, and string helpers.

use std::cell::Cell;
use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr;

use vgpu_sys as sys;

use crate::error::{check, Error, ErrorCode};
use crate::raw::{fixed, fixed_opt, two_call};

const ALL: [ErrorCode; 13] = [
    ErrorCode::InvalidArgument,
    ErrorCode::NotFound,
    ErrorCode::NoCapacity,
    ErrorCode::Busy,
    ErrorCode::NotSupported,
    ErrorCode::Permission,
    ErrorCode::VersionMismatch,
    ErrorCode::Conflict,
    ErrorCode::Io,
    ErrorCode::Internal,
    ErrorCode::BufferTooSmall,
    ErrorCode::NoMemory,
    ErrorCode::BadHandle,
];

#[test]
fn every_code_round_trips_and_has_the_library_name() {
    for code in ALL {
        assert_eq!(ErrorCode::from_raw(code.raw()), Some(code));
        // SAFETY: vgpu_status_name() returns a static string.
        let name = unsafe { CStr::from_ptr(sys::vgpu_status_name(code.raw())) };
        assert_eq!(name.to_str().unwrap(), code.name(), "{:?}", code);
    }
    assert_eq!(ErrorCode::from_raw(sys::VGPU_OK), None);
    assert_eq!(ErrorCode::from_raw(-99), Some(ErrorCode::Unknown(-99)));
    assert_eq!(ErrorCode::Unknown(-99).raw(), -99);
    assert_eq!(ErrorCode::Unknown(-99).name(), "unknown");
}

// A closed handle cannot exist in the safe API; the raw call shows the conversion.
#[test]
fn bad_handle_from_a_real_failure() {
    let mut n = 0usize;
    // SAFETY: a NULL handle is reported, never dereferenced (vgpu.h, Handles).
    let status = unsafe { sys::vgpu_manager_gpus(ptr::null_mut(), &mut n, ptr::null_mut()) };
    let e = check(status).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadHandle);
    assert!(e.message.contains("NULL"), "{}", e.message);
    assert!(e.to_string().starts_with("bad_handle: "), "{}", e);
}

// The safe API loops on VGPU_E_BUFFER_TOO_SMALL; a raw call with a short array shows the code.
#[test]
fn buffer_too_small_from_a_real_failure() {
    let mut one = [ptr::null::<c_char>(); 1];
    let mut count = one.len();
    // SAFETY: `one` has `count` elements.
    let status = unsafe { sys::vgpu_backend_names(one.as_mut_ptr(), &mut count) };
    let e = check(status).unwrap_err();
    assert_eq!(e.code, ErrorCode::BufferTooSmall);
    assert!(count > 1);
    assert_eq!(e.os_errno, 0);
}

#[test]
fn two_call_loops_while_the_list_grows() {
    // A list of 3 that grows to 5 between the count and the fill, then to 6.
    let size = Cell::new(3usize);
    let calls = Cell::new(0);
    let list = two_call(0u32, |out, count| {
        calls.set(calls.get() + 1);
        let n = size.get();
        if out.is_null() {
            *count = n;
            size.set(5);
            return sys::VGPU_OK;
        }
        if *count < n {
            *count = n;
            size.set(6);
            // A real failure, so that the thread's last error is set as the library would.
            let mut one = [ptr::null::<c_char>(); 1];
            let mut c = 1usize;
            // SAFETY: `one` has one element.
            return unsafe { sys::vgpu_backend_names(one.as_mut_ptr(), &mut c) };
        }
        for i in 0..n {
            // SAFETY: the buffer has `*count` >= n elements.
            unsafe { *out.add(i) = i as u32 };
        }
        *count = n;
        sys::VGPU_OK
    })
    .unwrap();
    assert_eq!(list, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(calls.get(), 4);
}

#[test]
fn two_call_stops_on_other_errors() {
    let e = two_call(0u32, |_, _| {
        // SAFETY: a NULL count is reported as an invalid argument.
        unsafe { sys::vgpu_backend_names(ptr::null_mut(), ptr::null_mut()) }
    })
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("count is NULL"), "{}", e.message);
}

#[test]
fn fixed_strings() {
    let mut a = [0 as c_char; 8];
    for (i, b) in b"A16-2Q".iter().enumerate() {
        a[i] = *b as c_char;
    }
    assert_eq!(fixed(&a), "A16-2Q");
    assert_eq!(fixed_opt(&[0 as c_char; 4]), None);
    // No NUL: the whole array; invalid UTF-8 is replaced, not an error.
    let full = [b'x' as c_char, 0xffu8 as c_char];
    assert_eq!(fixed(&full), "x\u{fffd}");
}

#[test]
fn error_display_and_traits() {
    let e = Error {
        code: ErrorCode::Io,
        os_errno: 5,
        message: "cannot read x".into(),
    };
    assert_eq!(e.to_string(), "io_error: cannot read x (os error 5)");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
    assert!(boxed.to_string().contains("cannot read x"));
}
