"""Log and policy callbacks: delivered, kept alive, and guarded against re-entry."""
from __future__ import annotations

import gc
import logging
import math
import sys

import pytest

import vgpu
from conftest import GIB


def test_log_callback() -> None:
    seen: list[tuple[vgpu.LogLevel, str]] = []
    with vgpu.Manager(log=lambda level, msg: seen.append((level, msg)),
                      log_level=vgpu.LogLevel.INFO) as m:
        [v] = m.create("A16-2Q")
        assert any(level == vgpu.LogLevel.INFO and "created" in msg and v.uuid in msg
                   for level, msg in seen)
        assert all(isinstance(level, vgpu.LogLevel) and level >= vgpu.LogLevel.INFO
                   for level, _ in seen)
        # Only warnings and errors now: a successful create says nothing.
        seen.clear()
        m.set_log(lambda level, msg: seen.append((level, msg)), vgpu.LogLevel.WARNING)
        m.create("A16-2Q")
        assert seen == []
        m.set_log(lambda level, msg: seen.append((level, msg)), vgpu.LogLevel.INFO)
        m.create("A16-2Q")
        assert len(seen) == 1
        m.set_log(None)
        seen.clear()
        m.create("A16-2Q")
        assert seen == []
        with pytest.raises(vgpu.InvalidArgument):
            m.set_log(print, 4)  # type: ignore[arg-type]


def test_log_to_a_logging_logger(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("vgpu.test")
    with caplog.at_level(logging.INFO, logger="vgpu.test"):
        with vgpu.Manager(log=logger, log_level=vgpu.LogLevel.INFO) as m:
            m.create("A16-2Q")
    assert any(r.levelno == logging.INFO and "created" in r.getMessage() for r in caplog.records)


def test_callbacks_live_as_long_as_the_manager() -> None:
    seen: list[str] = []

    def make() -> vgpu.Manager:
        # The lambdas are referenced only by the manager.
        return vgpu.Manager(log=lambda level, msg: seen.append(msg),
                            policy_fn=lambda c: float(c.used_framebuffer_bytes))

    m = make()
    gc.collect()
    m.create("A16-2Q")
    assert any("created" in s for s in seen)
    m.close()


def test_policy_callback() -> None:
    calls: list[vgpu.Candidate] = []

    def prefer_l40s(c: vgpu.Candidate) -> float:
        calls.append(c)
        return (0.0 if "L40S" in c.model else 1e12) + c.used_framebuffer_bytes

    with vgpu.Manager(policy="l40s-first", policy_fn=prefer_l40s) as m:
        assert m.describe().policy == "l40s-first"
        [v] = m.create(min_framebuffer=4 * GIB, series="Q")
        assert v.type.startswith("L40S")
        assert calls and isinstance(calls[0], vgpu.Candidate)
        assert calls[0].type and calls[0].gpu_framebuffer_bytes > 0
        assert calls[0].requested_bytes == 4 * GIB


def test_failing_policy_counts_as_infinity(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))

    def broken(c: vgpu.Candidate) -> float:
        raise ZeroDivisionError("policy bug")

    with vgpu.Manager(policy_fn=broken) as m:
        assert m.describe().policy == "custom"
        [v] = m.create("A16-2Q")  # every GPU equally bad: placement still works
        assert v.gpu
    assert reported and all(isinstance(e, ZeroDivisionError) for e in reported)
    with vgpu.Manager(policy_fn=lambda c: math.nan) as m:
        m.create("A16-2Q")


def test_callbacks_must_not_reenter_their_manager() -> None:
    outcomes: list[str] = []
    holder: list[vgpu.Manager] = []

    def log(level: vgpu.LogLevel, msg: str) -> None:
        try:
            holder[0].gpus()
            outcomes.append("reentered")
        except RuntimeError as e:
            outcomes.append(str(e))

    with vgpu.Manager(log=log) as m:
        holder.append(m)
        m.create("A16-2Q")
        assert outcomes and all("must not call into the manager" in o for o in outcomes)
        assert len(m.gpus()) == 7  # outside the callback, fine
