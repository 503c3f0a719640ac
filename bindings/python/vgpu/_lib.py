"""Loads libvgpu.so.1 through cffi in ABI mode, with the declarations generated from vgpu.h."""
from __future__ import annotations

import os
import threading
from typing import Any

from cffi import FFI

from ._cdef import ABI_VERSION_MAJOR, ABI_VERSION_MINOR, CDEF

#: The library's file name for the C ABI this binding was generated from.
SONAME = f"libvgpu.so.{ABI_VERSION_MAJOR}"

ffi = FFI()
ffi.cdef(CDEF)

_lock = threading.Lock()
_lib: Any = None


class LibraryNotFound(ImportError):
    """libvgpu.so.1 could not be loaded (VGPU_LIBRARY, then the system loader)."""


def lib() -> Any:
    """The loaded library (loaded on first use, so ``import vgpu`` works without it)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            _lib = _load()
    return _lib


def _load() -> Any:
    path = os.environ.get("VGPU_LIBRARY")
    try:
        loaded = ffi.dlopen(path or SONAME)
    except OSError as e:
        if path:
            why = (f"cannot load the vgpu C library from VGPU_LIBRARY={path}: {e}. Point "
                   f"VGPU_LIBRARY at a built {SONAME} (e.g. build/default/{SONAME}), or unset "
                   f"it to use the {SONAME} the system loader finds")
        else:
            why = (f"cannot load the vgpu C library: VGPU_LIBRARY is not set and the system "
                   f"loader found no {SONAME} ({e}). Install libvgpu (cmake --install), add "
                   f"its directory to LD_LIBRARY_PATH, or set VGPU_LIBRARY=/path/to/{SONAME}")
        raise LibraryNotFound(why) from e
    abi = int(loaded.vgpu_abi_version())
    if abi >> 16 != ABI_VERSION_MAJOR or (abi & 0xFFFF) < ABI_VERSION_MINOR:
        raise LibraryNotFound(
            f"{path or SONAME} implements C ABI {abi >> 16}.{abi & 0xFFFF}, but this binding "
            f"was generated from vgpu.h {ABI_VERSION_MAJOR}.{ABI_VERSION_MINOR}: use a library "
            f"of ABI major {ABI_VERSION_MAJOR}, minor {ABI_VERSION_MINOR} or newer")
    return loaded


def text(chars: Any) -> str:
    """A NUL-terminated char array or char* as str ("" for NULL)."""
    if chars == ffi.NULL:
        return ""
    return ffi.string(chars).decode("utf-8", "replace")  # type: ignore[no-any-return]
