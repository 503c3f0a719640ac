"""The exception hierarchy: one class per vgpu_status failure code."""
from __future__ import annotations

from typing import Any

from ._enums import Status
from ._lib import lib, text


class Error(Exception):
    """A failed vgpu call: the C ABI's status code and vgpu_last_error().

    Attributes:
        code: The status (a negative :class:`Status`).
        name: Its stable short name (``vgpu_status_name()``), e.g. ``"no_capacity"``.
        os_errno: The OS errno behind the failure, or 0.
        message: What went wrong and what to do.
    """

    code: Status
    name: str
    os_errno: int
    message: str

    def __init__(self, code: int, message: str, os_errno: int = 0) -> None:
        super().__init__(message)
        try:
            self.code = Status(code)
        except ValueError:  # a code newer than this binding
            self.code = code  # type: ignore[assignment]
        self.name = text(lib().vgpu_status_name(code))
        self.os_errno = os_errno
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        errno_part = f", os_errno={self.os_errno}" if self.os_errno else ""
        return f"{type(self).__name__}({self.name}, {self.message!r}{errno_part})"


class InvalidArgument(Error, ValueError):
    """An argument, file or text is malformed or out of range."""


class NotFound(Error, LookupError):
    """A named GPU, type, vGPU or file does not exist."""


class NoCapacity(Error):
    """Valid, but no GPU can host the request now."""


class Busy(Error):
    """In use: a VM holds the device, or another process works on it."""


class NotSupported(Error):
    """The GPU, its mode or the backend cannot do this at all."""


class PermissionDenied(Error):
    """The OS refused access, or a shared file is not safe to use."""


class VersionMismatch(Error):
    """A struct, file or plug-in has a version this build cannot use."""


class Conflict(Error):
    """Conflicts with existing state (a UUID already in use)."""


class IoError(Error):
    """Reading or writing a file or device failed (see ``os_errno``)."""


class InternalError(Error):
    """A bug in vgpu: please report it with the message."""


class BufferTooSmall(Error):
    """An output array was too small (the binding retries; seen only if the state keeps
    changing)."""


class NoMemory(Error, MemoryError):
    """Memory ran out."""


class BadHandle(Error):
    """The manager is closed (or the handle is not one the library knows)."""


_BY_CODE: dict[int, type[Error]] = {
    Status.INVALID_ARGUMENT: InvalidArgument,
    Status.NOT_FOUND: NotFound,
    Status.NO_CAPACITY: NoCapacity,
    Status.BUSY: Busy,
    Status.NOT_SUPPORTED: NotSupported,
    Status.PERMISSION: PermissionDenied,
    Status.VERSION_MISMATCH: VersionMismatch,
    Status.CONFLICT: Conflict,
    Status.IO: IoError,
    Status.INTERNAL: InternalError,
    Status.BUFFER_TOO_SMALL: BufferTooSmall,
    Status.NO_MEMORY: NoMemory,
    Status.BAD_HANDLE: BadHandle,
}


def error_class(code: int) -> type[Error]:
    """The exception class for a status code (:class:`Error` for codes newer than this
    binding)."""
    return _BY_CODE.get(code, Error)


def make_error(code: int, message: str, os_errno: int = 0) -> Error:
    return error_class(code)(code, message, os_errno)


def last_error(code: int) -> Error:
    """The exception for a call that just returned ``code`` on this thread."""
    e: Any = lib().vgpu_last_error()
    message = text(e.message) if e.code == code else ""
    os_errno = int(e.os_errno) if e.code == code else 0
    if not message:
        message = f"vgpu call failed with {text(lib().vgpu_status_name(code))}"
    return make_error(code, message, os_errno)


def check(code: int) -> None:
    """Raises the exception for ``code`` unless it is VGPU_OK."""
    if code != 0:
        raise last_error(code)


__all__ = [
    "Error", "InvalidArgument", "NotFound", "NoCapacity", "Busy", "NotSupported",
    "PermissionDenied", "VersionMismatch", "Conflict", "IoError", "InternalError",
    "BufferTooSmall", "NoMemory", "BadHandle", "error_class",
]
