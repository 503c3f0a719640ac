"""Creating and destroying vGPUs, and each exception class from a real failure."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

import vgpu
from conftest import GIB

VM_UUID = "0b7a4a70-1111-4222-8333-944455556666"
UUID = "11111111-2222-4333-8444-555555555555"


def test_create_destroy(m: vgpu.Manager) -> None:
    made = m.create("A16-4Q", count=2, owner="vm-1", vm_uuid=VM_UUID)
    assert [v.type for v in made] == ["A16-4Q", "A16-4Q"]
    assert made[0].gpu != made[1].gpu  # one VM's vGPUs on distinct GPUs
    v = made[0]
    assert v.state == vgpu.State.ACTIVE and v.owner == "vm-1" and v.vm_uuid == VM_UUID
    assert v.pid == os.getpid()
    assert v.created_at_us > 0 and v.updated_at >= v.created_at
    assert len(v.uuid) == 36
    assert {i.uuid for i in m.instances()} == {x.uuid for x in made}
    assert m.instance(made[1].uuid) == made[1]
    assert sum(g.vgpu_count for g in m.gpus()) == 2

    [single] = m.create("L40S-12Q")
    assert single.owner is None and single.vm_uuid is None
    for x in made:
        m.destroy(x.uuid)
    assert [i.uuid for i in m.instances()] == [single.uuid]
    with pytest.raises(vgpu.NotFound):
        m.destroy(made[0].uuid)
    with pytest.raises(vgpu.NotFound):
        m.instance(made[0].uuid)


def test_create_by_requirement_and_constraints(m: vgpu.Manager) -> None:
    [v] = m.create(min_framebuffer=3 * GIB, series="Q", model="A16")
    assert v.type == "A16-4Q"  # the smallest Q type with at least 3 GiB
    l40s = next(g.pci_address for g in m.gpus() if g.model == "NVIDIA L40S")
    [p] = m.create("L40S-8Q", allowed_gpus=[l40s], placement=16)
    assert p.gpu == l40s and p.placement == 16
    with pytest.raises(vgpu.NoCapacity):  # the same slot again overlaps
        m.create("L40S-8Q", allowed_gpus=[l40s], placement=16)
    [d] = m.create("L40S-8Q", denied_gpus=[l40s])
    assert d.gpu != l40s
    [u] = m.create_request(vgpu.Request(type="A16-1B", uuids=[UUID]))
    assert u.uuid == UUID
    [w] = m.create_request({"type": "A16-1B", "owner": "vm-2"})
    assert w.owner == "vm-2"


def test_invalid_argument(m: vgpu.Manager) -> None:
    with pytest.raises(vgpu.InvalidArgument) as e:
        m.create("A16-2Q", min_heads=2)
    assert "one or the other" in str(e.value)
    assert isinstance(e.value, ValueError)
    bad_requests: list[dict[str, Any]] = [
        {"series": "X"}, {"min_resolution": (1920, 0)}, {"type": "A16-2Q", "affinity": 7},
        {"type": "A16-2Q", "vm_uuid": "vm"}, {"type": "A16-2Q", "uuids": [UUID, UUID]},
        {"type": "A16-2Q", "owner": "x" * 100}]
    for bad in bad_requests:
        with pytest.raises(vgpu.InvalidArgument):
            m.create_request(bad)
    with pytest.raises(vgpu.InvalidArgument):
        m.destroy("not-a-uuid")
    assert m.instances() == []


def test_not_found(m: vgpu.Manager) -> None:
    with pytest.raises(vgpu.NotFound) as e:
        m.create("A16-3Q")
    assert isinstance(e.value, LookupError)
    with pytest.raises(vgpu.NotFound):
        m.create("A16-2Q", allowed_gpus=["0000:99:00.0"])
    with pytest.raises(vgpu.NotFound):
        vgpu.Manager(sim_host="/nonexistent/host.json")


def test_no_capacity(m: vgpu.Manager) -> None:
    with pytest.raises(vgpu.NoCapacity) as e:
        m.create("A16-16Q", count=5)  # four A16 GPUs, one 16Q each
    assert e.value.code == vgpu.Status.NO_CAPACITY and e.value.message
    assert m.instances() == []  # all or nothing


def test_conflict(m: vgpu.Manager) -> None:
    m.create("A16-1B", uuids=[UUID])
    with pytest.raises(vgpu.Conflict):
        m.create("A16-1B", uuids=[UUID])


def test_not_supported(m: vgpu.Manager) -> None:
    with pytest.raises(vgpu.NotSupported) as e:
        m.restore()  # the built-in host keeps no definitions
    assert "definitions" in e.value.message


def test_version_mismatch(tmp_path: Path) -> None:
    catalog = tmp_path / "future.json"
    catalog.write_text(json.dumps({"schema": "vgpu-catalog/99", "gpus": []}))
    with pytest.raises(vgpu.VersionMismatch) as e:
        vgpu.Manager(catalogs=[catalog])
    assert "vgpu-catalog/99" in e.value.message


def test_permission_denied(host: Path) -> None:
    ledger = host.parent / "shared.ledger"
    ledger.touch()
    ledger.chmod(0o666)  # anyone could rewrite it: refused, even for root
    with pytest.raises(vgpu.PermissionDenied) as e:
        vgpu.Manager(sim_host=host, ledger=ledger)
    assert "writable by every user" in e.value.message


def test_io_error(host: Path) -> None:
    with pytest.raises(vgpu.IoError) as e:
        vgpu.Manager(sim_host=host, ledger=host.parent)  # a directory is no ledger file
    assert e.value.os_errno == errno.EISDIR


def test_busy(host: Path, ledger_worker: str) -> None:
    ledger = str(host) + ".ledger"
    with vgpu.Manager(sim_host=host) as m:
        creator = subprocess.Popen([ledger_worker, "hold-create", str(host), ledger, "A16-4Q"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert creator.stdout is not None and creator.stdin is not None
            line = creator.stdout.readline().strip()
            assert line.startswith("reserved "), line
            uuid = line.split()[1]
            with pytest.raises(vgpu.Busy) as e:
                m.destroy(uuid)
            assert f"being created by process {creator.pid}" in e.value.message
            assert m.instance(uuid).state == vgpu.State.RESERVED
            assert m.reconcile().in_progress == 1  # its process is alive: left alone
            creator.stdin.close()
            assert creator.stdout.readline().startswith("created ")
        finally:
            if creator.poll() is None:
                creator.kill()
            creator.wait(timeout=30)
        m.destroy(uuid)


def test_threads_share_a_manager(m: vgpu.Manager) -> None:
    failures: list[BaseException] = []

    def churn() -> None:
        try:
            for _ in range(20):
                [v] = m.create("A16-1Q")
                assert m.instance(v.uuid).uuid == v.uuid
                m.destroy(v.uuid)
        except BaseException as e:  # noqa: BLE001 -- reported below
            failures.append(e)

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert m.instances() == []
