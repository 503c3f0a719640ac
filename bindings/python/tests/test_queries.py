"""GPUs, types, availability and the manager's description, on the built-in host."""
from __future__ import annotations

import dataclasses

import pytest

import vgpu
from conftest import GIB


def first_gpu(m: vgpu.Manager, model: str) -> str:
    return next(g.pci_address for g in m.gpus() if g.model == model)


def test_describe(m: vgpu.Manager) -> None:
    info = m.describe()
    assert info.gpu_count == 7
    assert info.backend == "sim"
    assert info.policy == "fragmentation-aware"
    assert info.ledger is None  # the built-in host's ledger is private
    assert not info.ledger_rebuilt


def test_gpus(m: vgpu.Manager) -> None:
    gpus = m.gpus()
    assert len(gpus) == 7
    assert [g.index for g in gpus] == list(range(7))
    assert sorted(g.pci_address for g in gpus) == [g.pci_address for g in gpus]
    a16 = [g for g in gpus if g.model == "NVIDIA A16"]
    assert len(a16) == 4 and all(g.framebuffer_bytes == 16 * GIB for g in a16)
    assert all(g.mode == vgpu.GpuMode.EQUAL_SIZE for g in a16)
    assert sum(g.mode == vgpu.GpuMode.MIXED_SIZE for g in gpus) == 2
    assert sum(g.mode == vgpu.GpuMode.MIG for g in gpus) == 1
    assert all(g.vgpu_count == 0 and g.used_framebuffer_bytes == 0 for g in gpus)
    with pytest.raises(dataclasses.FrozenInstanceError):
        gpus[0].vgpu_count = 3  # type: ignore[misc]


def test_types(m: vgpu.Manager) -> None:
    types = {t.name: t for t in m.types(first_gpu(m, "NVIDIA A16"))}
    assert len(types) >= 10
    t = types["A16-2Q"]
    assert t.framebuffer_bytes == 2 * GIB and t.series == "Q" and t.max_heads == 4
    assert t.max_resolution == (3840, 2400) and t.max_instances == 8
    assert t.model == "NVIDIA A16" and not t.mig_backed and t.mig_profile is None
    with pytest.raises(vgpu.InvalidArgument):
        m.types("not-an-address")
    with pytest.raises(vgpu.NotFound):
        m.types("0000:ff:1f.7")


def test_find_type(m: vgpu.Manager) -> None:
    mig = m.find_type("A100D-3-40C")
    assert mig.mig_backed and mig.mig_profile and mig.placements
    assert mig.framebuffer_bytes == 40 * GIB
    assert m.find_type("nvidia a16-2q").name == "A16-2Q"  # loose spelling
    with pytest.raises(vgpu.NotFound) as e:
        m.find_type("A16-3Q")
    assert e.value.code == vgpu.Status.NOT_FOUND and e.value.name == "not_found"
    assert "A16-3Q" in e.value.message


def test_creatable(m: vgpu.Manager) -> None:
    [v] = m.create("A16-4Q")
    avail = {a.type: a for a in m.creatable(v.gpu)}
    assert avail["A16-4Q"].remaining == 3
    assert all("-4" in name for name in avail)  # equal-size: only the 4 GiB types now
    assert avail["A16-4Q"].free_placements
    with pytest.raises(vgpu.NotFound):
        m.creatable("0000:ff:00.0")


def test_lists_are_read_before_their_array_is_freed(m: vgpu.Manager,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # An element of a cffi array (out[i]) does not own its memory. The lists once converted
    # their elements after the array was freed, and read whatever the allocator had left
    # there (CI saw vgpu_count != 0 on a fresh host). Here every array the binding allocates
    # is filled with 0xA5 the moment cffi frees it, so reading one late cannot pass.
    import cffi

    from vgpu._lib import ffi

    c = cffi.FFI()
    c.cdef("void *malloc(size_t); void *memset(void *, int, size_t); void free(void *);")
    libc = c.dlopen(None)
    sizes: dict[int, int] = {}

    def alloc(size: int) -> object:
        addr = int(c.cast("uintptr_t", libc.malloc(max(size, 1))))
        sizes[addr] = size
        return ffi.cast("void *", addr)

    def scrub(p: object) -> None:
        addr = int(ffi.cast("uintptr_t", p))
        libc.memset(c.cast("void *", addr), 0xA5, sizes.pop(addr))
        libc.free(c.cast("void *", addr))

    monkeypatch.setattr(ffi, "new", ffi.new_allocator(alloc, scrub))
    a16 = first_gpu(m, "NVIDIA A16")
    made = m.create("A16-4Q", owner="vm-1")
    gpus = m.gpus()
    assert [g.index for g in gpus] == list(range(7))
    assert sum(g.vgpu_count for g in gpus) == 1
    assert [g.used_framebuffer_bytes for g in gpus if g.vgpu_count] == [4 * GIB]
    assert {t.name for t in m.types(a16)} >= {"A16-4Q", "A16-16Q"}
    assert {a.type for a in m.creatable(a16)} >= {"A16-4Q"}
    assert [(i.uuid, i.owner) for i in m.instances()] == [(made[0].uuid, "vm-1")]
