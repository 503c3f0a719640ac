"""Plan, explain, reconcile (two managers on one simulated host file), apply and restore."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import vgpu
from conftest import GIB


def test_plan(m: vgpu.Manager) -> None:
    plan = m.plan([vgpu.Request(type="A16-8Q", count=2),
                   {"type": "A16-16Q", "count": 9},  # cannot fit
                   vgpu.Request(min_framebuffer=10 * GIB)])
    assert len(plan) == 4  # two for the first, one refusal, one for the third
    first = [e for e in plan if e.request == 0]
    assert len(first) == 2 and all(e.placed and e.type == "A16-8Q" for e in first)
    assert all(e.uuid and len(e.uuid) == 36 for e in first)
    [refused] = [e for e in plan if e.request == 1]
    assert not refused.placed and refused.status == vgpu.Status.NO_CAPACITY
    assert refused.reason and refused.uuid is None
    [third] = [e for e in plan if e.request == 2]
    assert third.placed and third.gpu
    assert m.instances() == []  # planning creates nothing
    assert m.plan([]) == []
    with pytest.raises(vgpu.InvalidArgument):
        m.plan([{"type": "A16-2Q", "vm_uuid": "0b7a4a70-1111-4222-8333-944455556666"}])
    with pytest.raises(TypeError):
        m.plan([42])  # type: ignore[list-item]


def test_explain(m: vgpu.Manager) -> None:
    verdicts = m.explain(vgpu.Request(type="A16-2Q"))
    assert len(verdicts) == 7
    assert sum(v.eligible for v in verdicts) == 4
    [chosen] = [v for v in verdicts if v.chosen]
    assert chosen.eligible and chosen.type == "A16-2Q"
    assert all(v.reason for v in verdicts if not v.eligible)  # L40S and A100 say why not
    with pytest.raises(vgpu.NotFound):
        m.explain({"type": "A16-5Q"})


def test_reconcile_between_two_managers(host: Path, tmp_path: Path) -> None:
    with vgpu.Manager(sim_host=host) as a, vgpu.Manager(sim_host=host) as b:
        assert a.describe().ledger == str(host) + ".ledger"
        [v] = a.create("A16-2Q")
        assert [i.uuid for i in b.instances()] == [v.uuid]  # same host, same ledger
        # Another ledger, not reconciled at open: it adopts the vGPU on reconcile.
        with vgpu.Manager(sim_host=host, ledger=tmp_path / "other.ledger",
                          skip_reconcile_on_open=True) as c:
            assert c.instances() == []
            report = c.reconcile()
            assert report.in_progress == 0
            [repair] = report.repairs
            assert repair.kind == vgpu.RepairKind.ADOPTED and repair.uuid == v.uuid
            assert repair.text
            assert c.reconcile().repairs == ()
            a.destroy(v.uuid)
            assert b.instances() == []
            [gone] = c.reconcile().repairs
            assert gone.kind == vgpu.RepairKind.RELEASED_VANISHED


def test_apply_and_restore(host: Path) -> None:
    state = {"vgpus": [{"type": "A16-2Q", "count": 3}]}
    with vgpu.Manager(sim_host=host) as m:
        s = m.apply(state, dry_run=True)
        assert s.created == 3 and m.instances() == []
        s = m.apply(json.dumps(state))
        assert (s.created, s.kept) == (3, 0) and len(m.instances()) == 3
        s = m.apply(state)  # idempotent
        assert (s.created, s.kept) == (0, 3)
        with pytest.raises(vgpu.InvalidArgument) as e:
            m.apply({"vgpu": []})
        assert "vgpu" in e.value.message
        with pytest.raises(vgpu.NoCapacity):
            m.apply({"vgpus": [{"type": "A16-16Q", "count": 3}]})
        # "Reboot": the vGPUs vanish; restore brings them back with the same UUIDs.
        before = sorted(i.uuid for i in m.instances())
        for i in m.instances():
            m.destroy(i.uuid)
        s = m.restore()
        assert s.created == 3
        assert sorted(i.uuid for i in m.instances()) == before
        assert m.apply({"vgpus": []}, prune=True).destroyed == 3
