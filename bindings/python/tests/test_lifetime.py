"""Closing: the context manager closes, use after close raises BadHandle, finalizers."""
from __future__ import annotations

import gc
import weakref
from typing import Any, Callable

import pytest

import vgpu

UUID = "11111111-2222-4333-8444-555555555555"

CALLS: list[Callable[[vgpu.Manager], Any]] = [
    lambda m: m.describe(), lambda m: m.gpus(), lambda m: m.types("0000:41:00.0"),
    lambda m: m.creatable("0000:41:00.0"), lambda m: m.find_type("A16-2Q"),
    lambda m: m.instances(), lambda m: m.instance(UUID), lambda m: m.create("A16-2Q"),
    lambda m: m.destroy(UUID), lambda m: m.plan([{"type": "A16-2Q"}]),
    lambda m: m.explain({"type": "A16-2Q"}), lambda m: m.reconcile(),
    lambda m: m.apply({"vgpus": []}), lambda m: m.restore(), lambda m: m.set_log(None),
]


def test_context_manager_closes() -> None:
    with vgpu.Manager() as m:
        assert not m.closed
        assert "open" in repr(m)
    assert m.closed and "closed" in repr(m)


@pytest.mark.parametrize("call", CALLS)
def test_use_after_close_raises_bad_handle(call: Callable[[vgpu.Manager], Any]) -> None:
    m = vgpu.Manager()
    m.close()
    with pytest.raises(vgpu.BadHandle) as e:
        call(m)
    assert e.value.code == vgpu.Status.BAD_HANDLE and e.value.name == "bad_handle"
    assert "closed" in e.value.message


def test_close_twice_and_exceptions_in_with() -> None:
    m = vgpu.Manager()
    m.close()
    m.close()  # like a file: nothing happens
    with pytest.raises(vgpu.NotFound):
        with vgpu.Manager() as m2:
            m2.find_type("A16-3Q")
    assert m2.closed


def test_unreferenced_manager_is_finalized() -> None:
    m = vgpu.Manager(log=lambda level, msg: None)
    ref = weakref.ref(m)
    fin = m._finalizer  # noqa: SLF001 -- the safety net under test
    assert fin.alive
    del m
    gc.collect()
    assert ref() is None and not fin.alive
