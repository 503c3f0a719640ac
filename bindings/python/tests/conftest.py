"""Fixtures: managers on the built-in simulated host and on simulated host files.

The library comes from $VGPU_LIBRARY (ctest sets it to the built libvgpu.so.1) or the system
loader. $VGPU_LEDGER_WORKER (tests/ledger/ledger_worker.cpp, set by ctest) lets a test hold a
reservation in another process; tests that need it are skipped without it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import pytest

import vgpu

GIB = 1 << 30


@pytest.fixture
def m() -> Iterator[vgpu.Manager]:
    """A manager on the built-in simulated host (4x A16, 2x L40S mixed, 1x A100 MIG)."""
    with vgpu.Manager() as manager:
        yield manager


def write_host(path: Path, gpus: list[dict[str, object]] | None = None) -> Path:
    path.write_text(json.dumps({"gpus": gpus or [{"model": "A16", "count": 2}]}) + "\n")
    return path


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A simulated host file with two A16 GPUs; its ledger is host.json.ledger next to it."""
    return write_host(tmp_path / "host.json")


@pytest.fixture
def ledger_worker() -> str:
    path = os.environ.get("VGPU_LEDGER_WORKER")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("VGPU_LEDGER_WORKER (the build's vgpu_ledger_worker) is not set")
    return path
