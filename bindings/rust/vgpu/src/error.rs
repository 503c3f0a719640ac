//! `vgpu::Error`: a failed call's status code, OS errno and message (vgpu_last_error()).

use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;

use vgpu_sys as sys;

/// What kind of failure an [`Error`] is: the C ABI's `vgpu_status` codes.
///
/// The codes never change meaning; a newer library may add codes, which arrive as
/// [`ErrorCode::Unknown`] (hence `#[non_exhaustive]`: match with a `_` arm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// An argument, file or text is malformed or out of range (`VGPU_E_INVALID_ARGUMENT`).
    InvalidArgument,
    /// A named GPU, type, vGPU or file does not exist (`VGPU_E_NOT_FOUND`).
    NotFound,
    /// Valid, but no GPU can host the request now (`VGPU_E_NO_CAPACITY`).
    NoCapacity,
    /// In use: a VM holds the device, or another process works on it (`VGPU_E_BUSY`).
    Busy,
    /// The GPU, its mode or the backend cannot do this at all (`VGPU_E_NOT_SUPPORTED`).
    NotSupported,
    /// The OS refused access (`VGPU_E_PERMISSION`).
    Permission,
    /// A struct, file or plug-in has a version this build cannot use
    /// (`VGPU_E_VERSION_MISMATCH`).
    VersionMismatch,
    /// Conflicts with existing state, e.g. a UUID already in use (`VGPU_E_CONFLICT`).
    Conflict,
    /// Reading or writing a file or device failed; see [`Error::os_errno`] (`VGPU_E_IO`).
    Io,
    /// A bug in vgpu: please report it with the message (`VGPU_E_INTERNAL`).
    Internal,
    /// An output array was too small (`VGPU_E_BUFFER_TOO_SMALL`). The bindings retry the
    /// two-call pattern themselves, so a safe call never returns it.
    BufferTooSmall,
    /// Memory ran out (`VGPU_E_NO_MEMORY`).
    NoMemory,
    /// A NULL, closed or foreign handle (`VGPU_E_BAD_HANDLE`). A [`crate::Manager`] is
    /// always open, so a safe call never returns it.
    BadHandle,
    /// A code this version of the bindings does not know (from a newer library).
    Unknown(i32),
}

impl ErrorCode {
    /// The code of a C status, or `None` for `VGPU_OK` (0).
    pub fn from_raw(status: i32) -> Option<ErrorCode> {
        Some(match status {
            sys::VGPU_OK => return None,
            sys::VGPU_E_INVALID_ARGUMENT => ErrorCode::InvalidArgument,
            sys::VGPU_E_NOT_FOUND => ErrorCode::NotFound,
            sys::VGPU_E_NO_CAPACITY => ErrorCode::NoCapacity,
            sys::VGPU_E_BUSY => ErrorCode::Busy,
            sys::VGPU_E_NOT_SUPPORTED => ErrorCode::NotSupported,
            sys::VGPU_E_PERMISSION => ErrorCode::Permission,
            sys::VGPU_E_VERSION_MISMATCH => ErrorCode::VersionMismatch,
            sys::VGPU_E_CONFLICT => ErrorCode::Conflict,
            sys::VGPU_E_IO => ErrorCode::Io,
            sys::VGPU_E_INTERNAL => ErrorCode::Internal,
            sys::VGPU_E_BUFFER_TOO_SMALL => ErrorCode::BufferTooSmall,
            sys::VGPU_E_NO_MEMORY => ErrorCode::NoMemory,
            sys::VGPU_E_BAD_HANDLE => ErrorCode::BadHandle,
            other => ErrorCode::Unknown(other),
        })
    }

    /// The C status code (negative).
    pub fn raw(self) -> i32 {
        match self {
            ErrorCode::InvalidArgument => sys::VGPU_E_INVALID_ARGUMENT,
            ErrorCode::NotFound => sys::VGPU_E_NOT_FOUND,
            ErrorCode::NoCapacity => sys::VGPU_E_NO_CAPACITY,
            ErrorCode::Busy => sys::VGPU_E_BUSY,
            ErrorCode::NotSupported => sys::VGPU_E_NOT_SUPPORTED,
            ErrorCode::Permission => sys::VGPU_E_PERMISSION,
            ErrorCode::VersionMismatch => sys::VGPU_E_VERSION_MISMATCH,
            ErrorCode::Conflict => sys::VGPU_E_CONFLICT,
            ErrorCode::Io => sys::VGPU_E_IO,
            ErrorCode::Internal => sys::VGPU_E_INTERNAL,
            ErrorCode::BufferTooSmall => sys::VGPU_E_BUFFER_TOO_SMALL,
            ErrorCode::NoMemory => sys::VGPU_E_NO_MEMORY,
            ErrorCode::BadHandle => sys::VGPU_E_BAD_HANDLE,
            ErrorCode::Unknown(code) => code,
        }
    }

    /// The short stable name `vgpu_status_name()` gives the code, e.g. `"no_capacity"`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NoCapacity => "no_capacity",
            ErrorCode::Busy => "busy",
            ErrorCode::NotSupported => "not_supported",
            ErrorCode::Permission => "permission_denied",
            ErrorCode::VersionMismatch => "version_mismatch",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Io => "io_error",
            ErrorCode::Internal => "internal",
            ErrorCode::BufferTooSmall => "buffer_too_small",
            ErrorCode::NoMemory => "no_memory",
            ErrorCode::BadHandle => "bad_handle",
            ErrorCode::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed vgpu call: its code, the OS errno behind it and a message saying what went wrong
/// and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Error {
    /// What kind of failure.
    pub code: ErrorCode,
    /// The OS errno behind the failure, or 0.
    pub os_errno: i32,
    /// What went wrong and what to do.
    pub message: String,
}

/// `std::result::Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The error of the call that just returned `status` on this thread (vgpu_last_error()
    /// is per thread and reset by the next call, so this runs right after the failed call).
    pub(crate) fn last(status: c_int) -> Error {
        // SAFETY: vgpu_last_error() never returns NULL; the struct and its message stay valid
        // until the next vgpu call on this thread, and the message is copied before that.
        let (os_errno, message) = unsafe {
            let e = sys::vgpu_last_error();
            if e.is_null() {
                (0, String::new())
            } else if (*e).message.is_null() {
                ((*e).os_errno, String::new())
            } else {
                (
                    (*e).os_errno,
                    CStr::from_ptr((*e).message).to_string_lossy().into_owned(),
                )
            }
        };
        // Only failures come here; VGPU_OK would be a bug in the bindings.
        let code = ErrorCode::from_raw(status).unwrap_or(ErrorCode::Internal);
        Error {
            code,
            os_errno,
            message,
        }
    }

    /// An error the bindings detect before calling the library.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            os_errno: 0,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)?;
        if self.os_errno != 0 {
            write!(f, " (os error {})", self.os_errno)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for `VGPU_OK`, else the thread's last error.
pub(crate) fn check(status: c_int) -> Result<()> {
    if status == sys::VGPU_OK {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}
