"""Value types: frozen dataclasses for the structs of vgpu.h, and the request."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from ._enums import Affinity, GpuMode, RepairKind, State, Status
from ._lib import ffi, text


def _opt(s: str) -> Optional[str]:
    return s or None


def _time(us: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(us / 1e6, tz=datetime.timezone.utc)


def _enum(cls: Any, value: int) -> Any:
    try:
        return cls(value)
    except ValueError:  # a value newer than this binding
        return value


@dataclass(frozen=True)
class GpuInfo:
    """One physical GPU of the host (``vgpu_gpu_info_t``)."""

    index: int
    pci_address: str
    model: str
    mode: GpuMode
    numa_node: Optional[int]
    pci_root: Optional[str]
    framebuffer_bytes: int
    used_framebuffer_bytes: int
    vgpu_count: int

    @classmethod
    def _from_c(cls, c: Any) -> GpuInfo:
        return cls(index=c.index, pci_address=text(c.pci_address), model=text(c.model),
                   mode=_enum(GpuMode, c.mode),
                   numa_node=None if c.numa_node < 0 else c.numa_node,
                   pci_root=_opt(text(c.pci_root)), framebuffer_bytes=c.framebuffer_bytes,
                   used_framebuffer_bytes=c.used_framebuffer_bytes, vgpu_count=c.vgpu_count)


@dataclass(frozen=True)
class TypeInfo:
    """A vGPU type of one GPU model (``vgpu_type_info_t``)."""

    name: str
    model: str
    driver_id: Optional[int]
    series: str
    mig_backed: bool
    deprecated: bool
    framebuffer_bytes: int
    max_heads: int
    max_resolution: Optional[Tuple[int, int]]
    max_instances: int
    max_instances_mixed: int
    placement_size: int
    placements: Tuple[int, ...]
    mig_profile: Optional[str]

    @classmethod
    def _from_c(cls, c: Any) -> TypeInfo:
        resolution = (c.max_resolution_width, c.max_resolution_height)
        return cls(name=text(c.name), model=text(c.model), driver_id=c.driver_id or None,
                   series=c.series.decode("ascii", "replace"), mig_backed=bool(c.mig_backed),
                   deprecated=bool(c.deprecated), framebuffer_bytes=c.framebuffer_bytes,
                   max_heads=c.max_heads, max_resolution=resolution if resolution[0] else None,
                   max_instances=c.max_instances, max_instances_mixed=c.max_instances_mixed,
                   placement_size=c.placement_size,
                   placements=tuple(c.placements[0:c.placement_count]),
                   mig_profile=_opt(text(c.mig_profile)))


@dataclass(frozen=True)
class Availability:
    """A type that can be created on a GPU now (``vgpu_availability_t``)."""

    type: str
    remaining: int
    free_placements: Tuple[int, ...]

    @classmethod
    def _from_c(cls, c: Any) -> Availability:
        return cls(type=text(c.type), remaining=c.remaining,
                   free_placements=tuple(c.free_placements[0:c.free_placement_count]))


@dataclass(frozen=True)
class Instance:
    """A vGPU as the host's ledger records it (``vgpu_instance_info_t``)."""

    uuid: str
    state: State
    gpu: str
    type: str
    placement: int
    owner: Optional[str]
    vm_uuid: Optional[str]
    device: str
    pid: Optional[int]
    created_at_us: int
    updated_at_us: int

    @property
    def created_at(self) -> datetime.datetime:
        """When it was reserved or adopted (UTC)."""
        return _time(self.created_at_us)

    @property
    def updated_at(self) -> datetime.datetime:
        """Its last change (UTC)."""
        return _time(self.updated_at_us)

    @classmethod
    def _from_c(cls, c: Any) -> Instance:
        return cls(uuid=text(c.uuid), state=_enum(State, c.state), gpu=text(c.gpu),
                   type=text(c.type), placement=c.placement, owner=_opt(text(c.owner)),
                   vm_uuid=_opt(text(c.vm_uuid)), device=text(c.device), pid=c.pid or None,
                   created_at_us=c.created_at_us, updated_at_us=c.updated_at_us)


@dataclass(frozen=True)
class PlanEntry:
    """One planned vGPU, or one refused request, of :meth:`Manager.plan`."""

    request: int
    status: Status
    reason: Optional[str]
    uuid: Optional[str]
    gpu: Optional[str]
    type: Optional[str]
    placement: int
    score: float

    @property
    def placed(self) -> bool:
        """The request's vGPU was placed (otherwise :attr:`reason` says why not)."""
        return self.status == Status.OK

    @classmethod
    def _from_c(cls, c: Any) -> PlanEntry:
        return cls(request=c.request, status=_enum(Status, c.status),
                   reason=_opt(text(c.reason)), uuid=_opt(text(c.uuid)), gpu=_opt(text(c.gpu)),
                   type=_opt(text(c.type)), placement=c.placement, score=c.score)


@dataclass(frozen=True)
class Verdict:
    """One GPU's verdict on a request, from :meth:`Manager.explain`."""

    gpu: str
    eligible: bool
    chosen: bool
    type: Optional[str]
    placement: int
    score: float
    reason: Optional[str]

    @classmethod
    def _from_c(cls, c: Any) -> Verdict:
        return cls(gpu=text(c.gpu), eligible=bool(c.eligible), chosen=bool(c.chosen),
                   type=_opt(text(c.type)), placement=c.placement, score=c.score,
                   reason=_opt(text(c.reason)))


@dataclass(frozen=True)
class Repair:
    """One repair made by :meth:`Manager.reconcile`."""

    kind: RepairKind
    uuid: str
    text: str

    @classmethod
    def _from_c(cls, c: Any) -> Repair:
        return cls(kind=_enum(RepairKind, c.kind), uuid=text(c.uuid), text=text(c.text))


@dataclass(frozen=True)
class ReconcileReport:
    """What :meth:`Manager.reconcile` repaired, and how many records it left to live
    processes."""

    repairs: Tuple[Repair, ...]
    in_progress: int


@dataclass(frozen=True)
class ApplySummary:
    """What :meth:`Manager.apply` or :meth:`Manager.restore` did."""

    kept: int
    created: int
    destroyed: int
    extra: int

    @classmethod
    def _from_c(cls, c: Any) -> ApplySummary:
        return cls(kept=c.kept, created=c.created, destroyed=c.destroyed, extra=c.extra)


@dataclass(frozen=True)
class ManagerInfo:
    """What a manager is connected to (``vgpu_manager_info_t``)."""

    gpu_count: int
    backend: str
    policy: str
    ledger: Optional[str]
    definitions: Optional[str]
    ledger_rebuilt: bool
    ledger_replayed: bool
    ledger_kept_aside: Optional[str]
    reconciled_at_open: int

    @classmethod
    def _from_c(cls, c: Any) -> ManagerInfo:
        return cls(gpu_count=c.gpu_count, backend=text(c.backend), policy=text(c.policy),
                   ledger=_opt(text(c.ledger)), definitions=_opt(text(c.definitions)),
                   ledger_rebuilt=bool(c.ledger_rebuilt), ledger_replayed=bool(c.ledger_replayed),
                   ledger_kept_aside=_opt(text(c.ledger_kept_aside)),
                   reconciled_at_open=c.reconciled_at_open)


@dataclass(frozen=True)
class Candidate:
    """What a custom placement policy scores: one vGPU of one type at one placement on one
    GPU (``vgpu_candidate_t``). Lower scores win."""

    model: str
    mode: GpuMode
    numa_node: Optional[int]
    gpu_framebuffer_bytes: int
    used_framebuffer_bytes: int
    vgpu_count: int
    type: str
    type_framebuffer_bytes: int
    placement: int
    placement_size: int
    requested_bytes: int

    @classmethod
    def _from_c(cls, c: Any) -> Candidate:
        return cls(model=text(c.model), mode=_enum(GpuMode, c.mode),
                   numa_node=None if c.numa_node < 0 else c.numa_node,
                   gpu_framebuffer_bytes=c.gpu_framebuffer_bytes,
                   used_framebuffer_bytes=c.used_framebuffer_bytes, vgpu_count=c.vgpu_count,
                   type=text(c.type), type_framebuffer_bytes=c.type_framebuffer_bytes,
                   placement=c.placement, placement_size=c.placement_size,
                   requested_bytes=c.requested_bytes)


@dataclass(frozen=True)
class Request:
    """What to create, plan or explain: ``count`` vGPUs of ``type``, or of the smallest type
    meeting the requirement fields (``min_framebuffer`` ... ``gpu_milli``), all or nothing.

    ``None``, 0 and ``False`` mean "no constraint", as zeroed fields of ``vgpu_request_t`` do.
    """

    type: Optional[str] = None
    count: int = 1
    owner: Optional[str] = None
    vm_uuid: Optional[str] = None
    uuids: Optional[Sequence[str]] = None
    allowed_gpus: Optional[Sequence[str]] = None
    denied_gpus: Optional[Sequence[str]] = None
    min_framebuffer: int = 0
    min_heads: int = 0
    min_resolution: Optional[Tuple[int, int]] = None
    series: Optional[str] = None
    model: Optional[str] = None
    gpu_milli: int = 0
    exclude_mig_backed: bool = False
    include_deprecated: bool = False
    numa_node: Optional[int] = None
    placement: Optional[int] = None
    allow_shared_gpu: bool = False
    affinity: Affinity = Affinity.NONE

    @classmethod
    def of(cls, request: Union[Request, Mapping[str, Any]]) -> Request:
        """A request from a :class:`Request` or a mapping of its fields."""
        if isinstance(request, Request):
            return request
        if isinstance(request, Mapping):
            return cls(**request)
        raise TypeError(f"a request is a vgpu.Request or a mapping, not {type(request).__name__}")


class _CRequest:
    """A ``vgpu_request_t`` built from a :class:`Request`; owns the memory its pointers use."""

    def __init__(self, lib: Any, r: Request) -> None:
        self._keep: list[Any] = []
        c = ffi.new("vgpu_request_t *")
        lib.vgpu_request_init(c, lib.VGPU_REQUEST_VERSION)
        if r.type is not None:
            c.type = self._str(r.type)
        c.min_framebuffer_bytes = r.min_framebuffer
        c.min_heads = r.min_heads
        if r.min_resolution is not None:
            c.min_resolution_width, c.min_resolution_height = r.min_resolution
        if r.series:
            if len(r.series) != 1:
                raise ValueError(f"series is one letter ('Q', 'B', 'A' or 'C'), not {r.series!r}")
            c.series = r.series.encode("ascii")
        c.exclude_mig_backed = r.exclude_mig_backed
        c.include_deprecated = r.include_deprecated
        if r.model is not None:
            c.model = self._str(r.model)
        c.gpu_milli = r.gpu_milli
        c.count = r.count
        if r.owner is not None:
            c.owner = self._str(r.owner)
        if r.vm_uuid is not None:
            c.vm_uuid = self._str(r.vm_uuid)
        if r.uuids is not None:
            c.uuids, c.uuid_count = self._strs(r.uuids)
        if r.allowed_gpus is not None:
            c.allowed_gpus, c.allowed_gpu_count = self._strs(r.allowed_gpus)
        if r.denied_gpus is not None:
            c.denied_gpus, c.denied_gpu_count = self._strs(r.denied_gpus)
        if r.numa_node is not None:
            c.has_numa_node = True
            c.numa_node = r.numa_node
        if r.placement is not None:
            c.has_placement = True
            c.placement = r.placement
        c.allow_shared_gpu = r.allow_shared_gpu
        c.affinity = int(r.affinity)
        self.ptr = c

    def _str(self, s: str) -> Any:
        if not isinstance(s, str):
            raise TypeError(f"expected a str, got {type(s).__name__}")
        p = ffi.new("char[]", s.encode("utf-8"))
        self._keep.append(p)
        return p

    def _strs(self, items: Sequence[str]) -> tuple[Any, int]:
        if isinstance(items, str):
            raise TypeError("expected a sequence of str, got a str")
        ptrs = [self._str(s) for s in items]
        arr = ffi.new("const char *[]", ptrs) if ptrs else ffi.NULL
        self._keep.append(arr)
        return arr, len(ptrs)


__all__ = [
    "GpuInfo", "TypeInfo", "Availability", "Instance", "PlanEntry", "Verdict", "Repair",
    "ReconcileReport", "ApplySummary", "ManagerInfo", "Candidate", "Request",
]
