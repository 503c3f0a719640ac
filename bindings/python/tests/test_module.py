"""Module-level functions, enums generated from vgpu.h, and finding the library."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import vgpu
from vgpu import _cdef

PACKAGE_DIR = Path(vgpu.__file__).resolve().parent.parent


def test_version_and_abi() -> None:
    assert vgpu.version().count(".") == 2
    assert vgpu.abi_version() == (_cdef.ABI_VERSION_MAJOR, _cdef.ABI_VERSION_MINOR)


def test_features() -> None:
    f = vgpu.features()
    assert isinstance(f, vgpu.Feature)
    for bit in (vgpu.Feature.SIM, vgpu.Feature.SHARED_LEDGER, vgpu.Feature.CUSTOM_POLICY):
        assert bit in f


def test_name_lists() -> None:
    backends = vgpu.backend_names()
    assert {"sim", "nvidia-vfio", "mdev", "nouveau"} <= set(backends)
    policies = vgpu.policy_names()
    assert policies[0] == "fragmentation-aware"
    assert "best-fit" in policies


def test_status_names_and_enums() -> None:
    assert vgpu.status_name(vgpu.Status.NO_CAPACITY) == "no_capacity"
    assert vgpu.status_name(-99) == "unknown"
    # Every status the library names has a member, and every member an exception class.
    for code in range(0, -100, -1):
        if vgpu.status_name(code) == "unknown":
            break
        status = vgpu.Status(code)
        if status != vgpu.Status.OK:
            assert vgpu.error_class(code) is not vgpu.Error, status
    assert vgpu.error_class(-99) is vgpu.Error
    values = [int(vgpu.GpuMode.MIG), int(vgpu.State.ACTIVE), int(vgpu.LogLevel.ERROR),
              int(vgpu.ApplyFlag.PRUNE), int(vgpu.RepairKind.ADOPTED)]
    assert values == [2, 2, 3, 2, 0]  # the values of vgpu.h


def test_error_classes_are_pythonic() -> None:
    assert issubclass(vgpu.NotFound, LookupError) and issubclass(vgpu.NotFound, vgpu.Error)
    assert issubclass(vgpu.InvalidArgument, ValueError)
    assert issubclass(vgpu.NoMemory, MemoryError)


def test_binding_version_matches_the_library() -> None:
    pyproject = (PACKAGE_DIR / "pyproject.toml").read_text()
    assert f'version = "{vgpu.version()}"' in pyproject


def _import_in_child(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import vgpu\ntry:\n    vgpu.version()\nexcept vgpu.LibraryNotFound as e:\n" \
           "    print(e)\n    raise SystemExit(3)\n"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_library_from_a_bad_vgpu_library_path(tmp_path: Path) -> None:
    env = dict(os.environ, VGPU_LIBRARY=str(tmp_path / "libvgpu.so.1"),
               PYTHONPATH=str(PACKAGE_DIR))
    r = _import_in_child(env)
    assert r.returncode == 3, r.stderr
    assert f"VGPU_LIBRARY={tmp_path / 'libvgpu.so.1'}" in r.stdout


def test_library_not_found_names_both_ways(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VGPU_LIBRARY", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(PACKAGE_DIR)
    r = _import_in_child(env)
    if r.returncode == 0:
        pytest.skip("libvgpu.so.1 is installed where the system loader finds it")
    assert r.returncode == 3, r.stderr
    assert "VGPU_LIBRARY" in r.stdout and "libvgpu.so.1" in r.stdout
