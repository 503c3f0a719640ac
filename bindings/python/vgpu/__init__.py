"""Python binding of vgpu: partition NVIDIA GPUs into vGPUs for virtual machines.

A thin layer over the stable C ABI (``vgpu.h``, ``libvgpu.so.1``) through cffi in ABI mode;
the declarations and enums are generated from vgpu.h (``gen_cdef.py``).

    import vgpu
    with vgpu.Manager() as m:                      # the built-in simulated host
        [v] = m.create("A16-2Q", owner="vm-1")
        print(v.uuid, v.gpu, v.placement)
        m.destroy(v.uuid)

The library is found through ``$VGPU_LIBRARY`` (a path to libvgpu.so.1), else the system
loader; it is loaded on first use.
"""
from __future__ import annotations

from ._enums import Affinity, ApplyFlag, Feature, GpuMode, LogLevel, RepairKind, State, Status
from ._errors import (BadHandle, BufferTooSmall, Busy, Conflict, Error, InternalError,
                      InvalidArgument, IoError, NoCapacity, NoMemory, NotFound, NotSupported,
                      PermissionDenied, VersionMismatch, error_class)
from ._lib import SONAME, LibraryNotFound
from ._manager import (LogCallback, Manager, PolicyCallback, abi_version, backend_names,
                       features, policy_names, status_name, version)
from ._types import (ApplySummary, Availability, Candidate, GpuInfo, Instance, ManagerInfo,
                     PlanEntry, ReconcileReport, Repair, Request, TypeInfo, Verdict)

__all__ = [
    # functions
    "version", "abi_version", "features", "status_name", "backend_names", "policy_names",
    # the manager
    "Manager", "LogCallback", "PolicyCallback", "Request",
    # values
    "GpuInfo", "TypeInfo", "Availability", "Instance", "PlanEntry", "Verdict", "Repair",
    "ReconcileReport", "ApplySummary", "ManagerInfo", "Candidate",
    # enums
    "Status", "Feature", "GpuMode", "State", "LogLevel", "Affinity", "RepairKind", "ApplyFlag",
    # errors
    "Error", "InvalidArgument", "NotFound", "NoCapacity", "Busy", "NotSupported",
    "PermissionDenied", "VersionMismatch", "Conflict", "IoError", "InternalError",
    "BufferTooSmall", "NoMemory", "BadHandle", "error_class", "LibraryNotFound", "SONAME",
]
