"""vgpu.Manager: the C ABI's vgpu_manager_t as a Python object."""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import weakref
from typing import (Any, Callable, Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar,
                    Union)

from ._enums import Affinity, ApplyFlag, Feature, LogLevel, Status
from ._errors import BadHandle, check, make_error
from ._lib import ffi, lib, text
from ._types import (ApplySummary, Availability, Candidate, GpuInfo, Instance, ManagerInfo,
                     PlanEntry, ReconcileReport, Repair, Request, TypeInfo, Verdict, _CRequest)

#: Receives log messages: ``log(level, message)``. Called while the manager is locked, on the
#: thread making the call: it must return quickly and must not use the same manager.
LogCallback = Callable[[LogLevel, str], None]
#: A custom placement policy: scores a candidate, lower wins; must be deterministic.
PolicyCallback = Callable[[Candidate], float]
StrPath = Union[str, "os.PathLike[str]"]
RequestLike = Union[Request, Mapping[str, Any]]
T = TypeVar("T")

_PY_LEVELS = {LogLevel.DEBUG: logging.DEBUG, LogLevel.INFO: logging.INFO,
              LogLevel.WARNING: logging.WARNING, LogLevel.ERROR: logging.ERROR}


def version() -> str:
    """The library's product version, e.g. ``"0.1.0"``."""
    return text(lib().vgpu_version())


def abi_version() -> Tuple[int, int]:
    """The C ABI version the loaded library implements, as ``(major, minor)``."""
    v = int(lib().vgpu_abi_version())
    return v >> 16, v & 0xFFFF


def features() -> Feature:
    """What the loaded library can do."""
    return Feature(int(lib().vgpu_features()))


def status_name(code: int) -> str:
    """The stable short name of a status code, e.g. ``"no_capacity"`` (``"unknown"``)."""
    return text(lib().vgpu_status_name(code))


def _names(fn: Any) -> List[str]:
    count = ffi.new("size_t *")
    check(fn(ffi.NULL, count))
    while True:
        out = ffi.new("const char *[]", max(count[0], 1))
        rc = fn(out, count)
        if rc != Status.BUFFER_TOO_SMALL:
            check(rc)
            return [text(out[i]) for i in range(count[0])]


def backend_names() -> List[str]:
    """The backends the library can open (``"sim"``, ``"nvidia-vfio"``, ...)."""
    return _names(lib().vgpu_backend_names)


def policy_names() -> List[str]:
    """The built-in placement policies (``"fragmentation-aware"``, ``"best-fit"``, ...)."""
    return _names(lib().vgpu_policy_names)


class _Guard(threading.local):
    """Per thread: how deep this thread is inside the manager's callbacks."""

    depth = 0


def _block(out: Any, count: Any, conv: Callable[[Any], T]) -> List[T]:
    """Converts the ``*count`` elements of an array the library allocated in ``*out``, and
    frees it."""
    try:
        return [conv(out[0][i]) for i in range(count[0])]
    finally:
        lib().vgpu_free(out[0])


def _close_handle(handle: Any, callbacks: List[Any]) -> None:
    # The finalizer of a Manager that was never closed. ``callbacks`` is passed only to keep
    # them alive until the library has let go of them.
    lib().vgpu_manager_close(handle)
    del callbacks


class Manager:
    """A connection to a host's GPUs: catalog, backend, the host's ledger and a placement
    engine (``vgpu_manager_t``). Use it as a context manager, or call :meth:`close`.

    Every method may be called from any thread; calls on one manager are serialised inside
    the library. Methods raise :class:`vgpu.Error` subclasses; after :meth:`close` they raise
    :class:`vgpu.BadHandle`.

    Args:
        backend: ``"sim"`` (the simulated host), ``"nvidia-vfio"``, ``"mdev"``, ``"nouveau"``
            or ``"auto"``; see :func:`backend_names`.
        sim_host: For ``"sim"``: a host description file that processes share. ``None``: the
            built-in host (4x A16, 2x L40S mixed-size, 1x A100 MIG), private to the manager.
        sysfs_root: For kernel backends: where sysfs and /dev are found.
        state_dir: For kernel backends: where backend state is kept.
        ledger: The ledger file (default: ``$VGPU_LEDGER``, ``SIM_HOST.ledger``, or
            ``/run/vgpu/ledger``).
        private_ledger: Use a private in-memory ledger whatever else is set.
        durable: Flush every ledger commit to stable storage.
        ledger_group: Share the ledger with this group id (mode 0660).
        skip_reconcile_on_open: Do not reconcile ledger and backend when opening.
        definitions: Where :meth:`apply`/:meth:`restore` keep definitions.
        catalogs: Extra catalog files or directories loaded over the built-in catalog.
        policy: A built-in placement policy (:func:`policy_names`), or the name of
            ``policy_fn`` in messages.
        policy_fn: A custom placement policy: ``policy_fn(candidate) -> float``, lower wins.
            An exception in it goes to :func:`sys.unraisablehook` and counts as ``+inf``.
        policy_placement_sensitive: ``policy_fn``'s score depends on the placement slot.
        one_type_per_gpu: Allow one vGPU type per GPU in equal-size mode.
        log: Receives log messages: ``log(level, message)``, or a :class:`logging.Logger`.
            It must return quickly and must not use this manager (that raises RuntimeError);
            an exception in it goes to :func:`sys.unraisablehook`.
        log_level: The lowest level passed to ``log``.
    """

    def __init__(self, backend: str = "sim", *, sim_host: Optional[StrPath] = None,
                 sysfs_root: Optional[StrPath] = None, state_dir: Optional[StrPath] = None,
                 ledger: Optional[StrPath] = None, private_ledger: bool = False,
                 durable: bool = False, ledger_group: Optional[int] = None,
                 skip_reconcile_on_open: bool = False, definitions: Optional[StrPath] = None,
                 catalogs: Sequence[StrPath] = (), policy: Optional[str] = None,
                 policy_fn: Optional[PolicyCallback] = None,
                 policy_placement_sensitive: bool = False, one_type_per_gpu: bool = False,
                 log: Union[LogCallback, logging.Logger, None] = None,
                 log_level: LogLevel = LogLevel.DEBUG) -> None:
        self._handle: Any = None
        self._guard = _Guard()
        # Every ffi.callback given to the library: referenced as long as this object lives
        # (a call in another thread may still use one while close() runs).
        self._callbacks: List[Any] = []
        self._close_lock = threading.Lock()
        L = lib()
        keep: List[Any] = []

        def s(value: Optional[StrPath]) -> Any:
            if value is None:
                return ffi.NULL
            p = ffi.new("char[]", os.fsencode(value))
            keep.append(p)
            return p

        o = ffi.new("vgpu_manager_options_t *")
        L.vgpu_manager_options_init(o, L.VGPU_MANAGER_OPTIONS_VERSION)
        o.backend = s(backend)
        o.sim_host = s(sim_host)
        o.sysfs_root = s(sysfs_root)
        o.state_dir = s(state_dir)
        o.ledger = s(ledger)
        o.private_ledger = private_ledger
        o.durable = durable
        if ledger_group is not None:
            o.share_ledger_with_group = True
            o.ledger_group = ledger_group
        o.skip_reconcile_on_open = skip_reconcile_on_open
        o.definitions = s(definitions)
        if isinstance(catalogs, (str, bytes)):
            raise TypeError("catalogs is a sequence of paths, not one path")
        if catalogs:
            arr = ffi.new("const char *[]", [s(c) for c in catalogs])
            keep.append(arr)
            o.catalogs = arr
            o.catalog_count = len(catalogs)
        o.policy = s(policy)
        if policy_fn is not None:
            o.policy_fn = self._policy_callback(policy_fn)
        o.policy_placement_sensitive = policy_placement_sensitive
        o.one_type_per_gpu = one_type_per_gpu
        if log is not None:
            o.log_fn = self._log_callback(log)
        o.log_level = int(log_level)
        out = ffi.new("vgpu_manager_t **")
        check(L.vgpu_manager_open(out, o))
        self._handle = out[0]
        self._finalizer = weakref.finalize(self, _close_handle, out[0], self._callbacks)

    # --- callbacks ----------------------------------------------------------------------

    def _log_callback(self, log: Union[LogCallback, logging.Logger]) -> Any:
        fn: LogCallback
        if isinstance(log, logging.Logger):
            logger = log

            def to_logger(level: LogLevel, message: str) -> None:
                logger.log(_PY_LEVELS.get(level, logging.ERROR), "%s", message)
            fn = to_logger
        elif callable(log):
            fn = log
        else:
            raise TypeError(f"log is a callable or a logging.Logger, not {type(log).__name__}")
        guard = self._guard  # not self: the callback must not keep the manager alive

        def trampoline(level: int, message: Any, payload: Any) -> None:
            guard.depth += 1
            try:
                try:
                    lv: Any = LogLevel(level)
                except ValueError:
                    lv = level
                fn(lv, text(message))
            finally:
                guard.depth -= 1

        cb = ffi.callback("vgpu_log_fn", trampoline)
        self._callbacks.append(cb)
        return cb

    def _policy_callback(self, policy_fn: PolicyCallback) -> Any:
        if not callable(policy_fn):
            raise TypeError("policy_fn must be callable")
        guard = self._guard

        def trampoline(candidate: Any, payload: Any) -> float:
            guard.depth += 1
            try:
                return float(policy_fn(Candidate._from_c(candidate)))
            finally:
                guard.depth -= 1

        cb = ffi.callback("vgpu_policy_fn", trampoline, error=math.inf)
        self._callbacks.append(cb)
        return cb

    # --- lifetime -----------------------------------------------------------------------

    def _h(self) -> Any:
        h = self._handle
        if h is None:
            raise make_error(Status.BAD_HANDLE, "this vgpu.Manager is closed")
        if self._guard.depth:
            raise RuntimeError("a vgpu log or policy callback must not call into the manager "
                               "that called it (the manager is locked: it would deadlock)")
        return h

    @property
    def closed(self) -> bool:
        """:meth:`close` was called."""
        return self._handle is None

    def close(self) -> None:
        """Closes the manager (its vGPUs stay). Closing twice does nothing."""
        with self._close_lock:
            h = self._handle
            if h is None:
                return
            self._h()  # not from inside a callback
            self._handle = None
            self._finalizer.detach()
            check(lib().vgpu_manager_close(h))

    def __enter__(self) -> Manager:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<vgpu.Manager {'closed' if self.closed else 'open'}>"

    # --- information --------------------------------------------------------------------

    def _one(self, ctype: str, version: int, fn: Any, *args: Any) -> Any:
        """Runs ``fn(out, manager, *args)``, which fills one versioned struct."""
        out = ffi.new(f"{ctype} *")
        out.version = version
        check(fn(out, self._h(), *args))
        return out

    def describe(self) -> ManagerInfo:
        """What the manager is connected to (backend, policy, ledger, ...)."""
        L = lib()
        return ManagerInfo._from_c(self._one("vgpu_manager_info_t", L.VGPU_MANAGER_INFO_VERSION,
                                             L.vgpu_manager_describe))

    def set_log(self, log: Union[LogCallback, logging.Logger, None],
                level: LogLevel = LogLevel.DEBUG) -> None:
        """Replaces the log callback (``None``: no logging)."""
        h = self._h()
        cb = ffi.NULL if log is None else self._log_callback(log)
        check(lib().vgpu_manager_set_log(h, cb, int(level), ffi.NULL))

    def _list(self, conv: Callable[[Any], T], fn: Any, ctype: str, version: int,
              *args: Any) -> List[T]:
        """Runs the two-call list function ``fn(out, count, manager, *args)`` and converts each
        element with ``conv`` while the array is alive: an element cdata (``out[i]``) does not
        own its memory, which cffi frees with ``out``."""
        h = self._h()
        count = ffi.new("size_t *")
        check(fn(ffi.NULL, count, h, *args))
        while True:
            if count[0] == 0:
                return []
            out = ffi.new(f"{ctype}[]", count[0])
            out[0].version = version
            rc = fn(out, count, h, *args)
            if rc != Status.BUFFER_TOO_SMALL:  # the state changed between the calls: again
                check(rc)
                return [conv(out[i]) for i in range(count[0])]

    def gpus(self) -> List[GpuInfo]:
        """The host's GPUs in PCI address order."""
        L = lib()
        return self._list(GpuInfo._from_c, L.vgpu_manager_gpus, "vgpu_gpu_info_t",
                          L.VGPU_GPU_INFO_VERSION)

    def types(self, gpu: str) -> List[TypeInfo]:
        """The vGPU types GPU ``gpu`` (a PCI address) supports in its current mode."""
        L = lib()
        return self._list(TypeInfo._from_c, L.vgpu_manager_types, "vgpu_type_info_t",
                          L.VGPU_TYPE_INFO_VERSION, gpu.encode())

    def creatable(self, gpu: str) -> List[Availability]:
        """The types that can be created on GPU ``gpu`` now, with what remains of each."""
        L = lib()
        return self._list(Availability._from_c, L.vgpu_manager_creatable, "vgpu_availability_t",
                          L.VGPU_AVAILABILITY_VERSION, gpu.encode())

    def find_type(self, name: str) -> TypeInfo:
        """Looks a type up by name (``"A16-2Q"``; case-insensitive)."""
        L = lib()
        return TypeInfo._from_c(self._one("vgpu_type_info_t", L.VGPU_TYPE_INFO_VERSION,
                                          L.vgpu_manager_find_type, name.encode()))

    def instances(self) -> List[Instance]:
        """Every vGPU the host's ledger records (reserved, active or releasing)."""
        L = lib()
        return self._list(Instance._from_c, L.vgpu_manager_instances, "vgpu_instance_info_t",
                          L.VGPU_INSTANCE_INFO_VERSION)

    def instance(self, uuid: str) -> Instance:
        """One vGPU by UUID."""
        L = lib()
        return Instance._from_c(self._one("vgpu_instance_info_t", L.VGPU_INSTANCE_INFO_VERSION,
                                          L.vgpu_manager_instance, uuid.encode()))

    # --- creating and destroying --------------------------------------------------------

    def create(self, type: Optional[str] = None, *, count: int = 1,
               owner: Optional[str] = None, vm_uuid: Optional[str] = None,
               uuids: Optional[Sequence[str]] = None,
               allowed_gpus: Optional[Sequence[str]] = None,
               denied_gpus: Optional[Sequence[str]] = None, min_framebuffer: int = 0,
               min_heads: int = 0, min_resolution: Optional[Tuple[int, int]] = None,
               series: Optional[str] = None, model: Optional[str] = None, gpu_milli: int = 0,
               exclude_mig_backed: bool = False, include_deprecated: bool = False,
               numa_node: Optional[int] = None, placement: Optional[int] = None,
               allow_shared_gpu: bool = False,
               affinity: Affinity = Affinity.NONE) -> List[Instance]:
        """Creates ``count`` vGPUs of ``type``, or of the smallest type meeting the
        requirement arguments, where the policy says; all or nothing. See :class:`Request`."""
        return self.create_request(Request(
            type=type, count=count, owner=owner, vm_uuid=vm_uuid, uuids=uuids,
            allowed_gpus=allowed_gpus, denied_gpus=denied_gpus, min_framebuffer=min_framebuffer,
            min_heads=min_heads, min_resolution=min_resolution, series=series, model=model,
            gpu_milli=gpu_milli, exclude_mig_backed=exclude_mig_backed,
            include_deprecated=include_deprecated, numa_node=numa_node, placement=placement,
            allow_shared_gpu=allow_shared_gpu, affinity=affinity))

    def create_request(self, request: RequestLike) -> List[Instance]:
        """:meth:`create` from a :class:`Request` (or a mapping of its fields)."""
        L = lib()
        r = Request.of(request)
        c = _CRequest(L, r)
        n = max(r.count, 1)
        out = ffi.new("vgpu_instance_info_t[]", n)
        out[0].version = L.VGPU_INSTANCE_INFO_VERSION
        check(L.vgpu_manager_create(out, n, self._h(), c.ptr))
        return [Instance._from_c(out[i]) for i in range(n)]

    def destroy(self, uuid: str) -> None:
        """Destroys vGPU ``uuid``."""
        check(lib().vgpu_manager_destroy(self._h(), uuid.encode()))

    # --- planning, explaining, repairing ------------------------------------------------

    def plan(self, requests: Iterable[RequestLike]) -> List[PlanEntry]:
        """Plans several requests together on a copy of the current state (largest first),
        creating nothing: one entry per planned vGPU and one per refused request."""
        L = lib()
        h = self._h()
        crs = [_CRequest(L, Request.of(r)) for r in requests]
        arr = ffi.new("vgpu_request_t *[]", [c.ptr for c in crs]) if crs else ffi.NULL
        out = ffi.new("vgpu_plan_entry_t **")
        count = ffi.new("size_t *")
        check(L.vgpu_manager_plan(out, count, h, arr, len(crs), L.VGPU_PLAN_ENTRY_VERSION))
        return _block(out, count, PlanEntry._from_c)

    def explain(self, request: RequestLike) -> List[Verdict]:
        """Where ``request`` would go and why each GPU would or would not take it."""
        L = lib()
        h = self._h()
        c = _CRequest(L, Request.of(request))
        out = ffi.new("vgpu_verdict_t **")
        count = ffi.new("size_t *")
        check(L.vgpu_manager_explain(out, count, h, c.ptr, L.VGPU_VERDICT_VERSION))
        return _block(out, count, Verdict._from_c)

    def reconcile(self) -> ReconcileReport:
        """Compares the ledger with the backend and repairs the ledger."""
        L = lib()
        out = ffi.new("vgpu_repair_t **")
        count = ffi.new("size_t *")
        in_progress = ffi.new("size_t *")
        check(L.vgpu_manager_reconcile(out, count, in_progress, self._h(),
                                       L.VGPU_REPAIR_VERSION))
        return ReconcileReport(repairs=tuple(_block(out, count, Repair._from_c)),
                               in_progress=in_progress[0])

    def apply(self, state: Union[str, bytes, Mapping[str, Any]], *, dry_run: bool = False,
              prune: bool = False) -> ApplySummary:
        """Makes the host hold the vGPUs a host-state document asks for (the JSON of
        ``vgpuctl apply``, as text or as a dict), idempotently."""
        L = lib()
        if isinstance(state, Mapping):
            data = json.dumps(state).encode()
        elif isinstance(state, str):
            data = state.encode()
        elif isinstance(state, bytes):
            data = state
        else:
            raise TypeError(f"state is JSON text or a mapping, not {type(state).__name__}")
        flags = (ApplyFlag.DRY_RUN if dry_run else 0) | (ApplyFlag.PRUNE if prune else 0)
        return ApplySummary._from_c(self._one("vgpu_apply_summary_t", L.VGPU_APPLY_SUMMARY_VERSION,
                                              L.vgpu_manager_apply, data, int(flags)))

    def restore(self) -> ApplySummary:
        """Re-creates every stored definition that does not exist (after a reboot)."""
        L = lib()
        return ApplySummary._from_c(self._one("vgpu_apply_summary_t", L.VGPU_APPLY_SUMMARY_VERSION,
                                              L.vgpu_manager_restore))


__all__ = ["Manager", "LogCallback", "PolicyCallback", "version", "abi_version", "features",
           "status_name", "backend_names", "policy_names"]
