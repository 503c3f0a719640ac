package vgpu

/*
#include <stdlib.h>
#include <vgpu.h>
#include "callbacks.h"
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Options says how to open a manager. The zero value opens the built-in simulated host.
type Options struct {
	// Backend: "sim" (default), "nvidia-vfio", "mdev", "nouveau" or "auto".
	Backend string
	// SimHost: for "sim", a host description file that processes share; "" is the built-in
	// host (4x A16, 2x L40S mixed-size, 1x A100 MIG), private to the manager.
	SimHost string
	// SysfsRoot and StateDir: for kernel backends, where sysfs and /dev are found and where
	// backend state is kept.
	SysfsRoot, StateDir string
	// Ledger: the ledger file ("": $VGPU_LEDGER, SimHost+".ledger", or /run/vgpu/ledger).
	Ledger string
	// PrivateLedger: a private in-memory ledger whatever else is set.
	PrivateLedger bool
	// Durable: flush every ledger commit to stable storage.
	Durable bool
	// ShareLedgerWithGroup: share the ledger with group LedgerGroup (mode 0660).
	ShareLedgerWithGroup bool
	LedgerGroup          uint32
	// SkipReconcileOnOpen: do not reconcile ledger and backend when opening.
	SkipReconcileOnOpen bool
	// Definitions: where Apply and Restore keep definitions ("": next to the ledger).
	Definitions string
	// Catalogs: extra catalog files or directories loaded over the built-in catalog.
	Catalogs []string
	// Policy: a built-in placement policy (see PolicyNames), or PolicyFunc's name.
	Policy string
	// PolicyFunc: a custom placement policy; lower scores win. It must be deterministic,
	// return quickly and not use the manager. A panic in it scores +Inf and is re-raised by
	// the method that made the call, once the library has returned.
	PolicyFunc func(Candidate) float64
	// PolicyPlacementSensitive: PolicyFunc's score depends on the placement slot.
	PolicyPlacementSensitive bool
	// OneTypePerGPU: allow one vGPU type per GPU in equal-size mode.
	OneTypePerGPU bool
	// Log receives log messages of LogLevel and above. It is called while the manager is
	// locked: it must return quickly and must not use the manager (that would deadlock).
	Log      func(level LogLevel, message string)
	LogLevel LogLevel
}

// ApplyOptions are the flags of Apply.
type ApplyOptions struct {
	DryRun bool // say what would change; change nothing
	Prune  bool // also destroy vGPUs the state does not name
}

// Manager is an open vgpu_manager_t: catalog, backend, the host's ledger and a placement
// engine. It is safe for concurrent use; calls on one manager are serialised inside the
// library. Close it when done; a finalizer closes a forgotten one, as a safety net only.
type Manager struct {
	mu     sync.RWMutex // calls hold it for reading, Close for writing
	h      *C.vgpu_manager_t
	cb     *callbacks
	handle cgo.Handle
}

// Open opens a manager: it loads the catalog, opens the backend and the host's ledger and
// (unless told not to) reconciles them.
func Open(opts Options) (*Manager, error) {
	var a arena
	defer a.free()
	o := (*C.vgpu_manager_options_t)(a.alloc(unsafe.Sizeof(C.vgpu_manager_options_t{})))
	C.vgpu_manager_options_init(o, C.VGPU_MANAGER_OPTIONS_VERSION)
	o.backend = a.optStr(opts.Backend)
	o.sim_host = a.optStr(opts.SimHost)
	o.sysfs_root = a.optStr(opts.SysfsRoot)
	o.state_dir = a.optStr(opts.StateDir)
	o.ledger = a.optStr(opts.Ledger)
	o.private_ledger = C.bool(opts.PrivateLedger)
	o.durable = C.bool(opts.Durable)
	o.share_ledger_with_group = C.bool(opts.ShareLedgerWithGroup)
	o.ledger_group = C.uint32_t(opts.LedgerGroup)
	o.skip_reconcile_on_open = C.bool(opts.SkipReconcileOnOpen)
	o.definitions = a.optStr(opts.Definitions)
	o.catalogs, o.catalog_count = a.strs(opts.Catalogs)
	o.policy = a.optStr(opts.Policy)
	o.policy_placement_sensitive = C.bool(opts.PolicyPlacementSensitive)
	o.one_type_per_gpu = C.bool(opts.OneTypePerGPU)
	o.log_level = C.int(opts.LogLevel)

	m := &Manager{cb: &callbacks{log: opts.Log, policy: opts.PolicyFunc}}
	m.handle = cgo.NewHandle(m.cb)
	C.vgpu_go_set_callbacks(o, C.uintptr_t(m.handle), cbool(opts.Log != nil),
		cbool(opts.PolicyFunc != nil))
	var h *C.vgpu_manager_t
	err := call("vgpu_manager_open", func() C.int { return C.vgpu_manager_open(&h, o) })
	if err != nil {
		m.handle.Delete()
		m.cb.rethrow()
		return nil, err
	}
	m.h = h
	runtime.SetFinalizer(m, (*Manager).Close)
	m.cb.rethrow() // a callback that panicked while the manager opened
	return m, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Close closes the manager; its vGPUs stay. It waits for calls in other goroutines to
// finish. Using the manager afterwards (Close included) fails with ErrBadHandle.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return closed("vgpu_manager_close")
	}
	h := m.h
	m.h = nil
	runtime.SetFinalizer(m, nil)
	err := call("vgpu_manager_close", func() C.int { return C.vgpu_manager_close(h) })
	m.handle.Delete()
	return err
}

func closed(op string) error {
	return &Error{Code: StatusBadHandle, Op: op, Message: "the manager is closed"}
}

// do runs one C call on the manager's handle.
func (m *Manager) do(op string, f func(h *C.vgpu_manager_t) C.int) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	h := m.h
	if h == nil {
		return closed(op)
	}
	err := call(op, func() C.int { return f(h) })
	runtime.KeepAlive(m) // the finalizer must not close h during the call
	m.cb.rethrow()
	return err
}

// list runs a two-call list function: count, allocate, fill; again if the state changed.
func list[T any, G any](m *Manager, op string, version C.uint32_t, setVersion func(*T, C.uint32_t),
	fn func(out *T, count *C.size_t, h *C.vgpu_manager_t) C.int, conv func(*T) G) ([]G, error) {
	var n C.size_t
	if err := m.do(op, func(h *C.vgpu_manager_t) C.int { return fn(nil, &n, h) }); err != nil {
		return nil, err
	}
	for {
		if n == 0 {
			return []G{}, nil
		}
		// Go memory without Go pointers in it: C may fill it.
		buf := make([]T, n)
		setVersion(&buf[0], version)
		err := m.do(op, func(h *C.vgpu_manager_t) C.int { return fn(&buf[0], &n, h) })
		if err == nil {
			out := make([]G, n)
			for i := range out {
				out[i] = conv(&buf[i])
			}
			return out, nil
		}
		if !isStatus(err, StatusBufferTooSmall) {
			return nil, err
		}
	}
}

// one runs a call that fills the versioned struct out, and converts it.
func one[T any, G any](m *Manager, op string, out *T, fn func(*T, *C.vgpu_manager_t) C.int,
	conv func(*T) G) (G, error) {
	if err := m.do(op, func(h *C.vgpu_manager_t) C.int { return fn(out, h) }); err != nil {
		var zero G
		return zero, err
	}
	return conv(out), nil
}

// block converts the n elements of an array the library allocated, and frees it.
func block[T any, G any](p *T, n C.size_t, conv func(*T) G) []G {
	out := make([]G, n)
	if p != nil {
		defer C.vgpu_free(unsafe.Pointer(p))
		items := unsafe.Slice(p, int(n))
		for i := range items {
			out[i] = conv(&items[i])
		}
	}
	return out
}

// Describe says what the manager is connected to.
func (m *Manager) Describe() (ManagerInfo, error) {
	out := C.vgpu_manager_info_t{version: C.VGPU_MANAGER_INFO_VERSION}
	return one(m, "vgpu_manager_describe", &out, func(out *C.vgpu_manager_info_t, h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_describe(out, h)
	}, infoFromC)
}

// SetLog replaces the log callback (nil: no logging); level is the lowest level passed on.
func (m *Manager) SetLog(fn func(level LogLevel, message string), level LogLevel) error {
	handle := C.uintptr_t(m.handle)
	err := m.do("vgpu_manager_set_log", func(h *C.vgpu_manager_t) C.int {
		return C.vgpu_go_set_log(h, cbool(fn != nil), C.int(level), handle)
	})
	if err == nil {
		m.cb.setLogger(fn)
	}
	return err
}

// GPUs lists the host's GPUs in PCI address order.
func (m *Manager) GPUs() ([]GPU, error) {
	return list(m, "vgpu_manager_gpus", C.VGPU_GPU_INFO_VERSION,
		func(x *C.vgpu_gpu_info_t, v C.uint32_t) { x.version = v },
		func(out *C.vgpu_gpu_info_t, n *C.size_t, h *C.vgpu_manager_t) C.int {
			return C.vgpu_manager_gpus(out, n, h)
		}, gpuFromC)
}

// Types lists the vGPU types GPU gpu (a PCI address) supports in its current mode.
func (m *Manager) Types(gpu string) ([]Type, error) {
	g := C.CString(gpu)
	defer C.free(unsafe.Pointer(g))
	return list(m, "vgpu_manager_types", C.VGPU_TYPE_INFO_VERSION,
		func(x *C.vgpu_type_info_t, v C.uint32_t) { x.version = v },
		func(out *C.vgpu_type_info_t, n *C.size_t, h *C.vgpu_manager_t) C.int {
			return C.vgpu_manager_types(out, n, h, g)
		}, typeFromC)
}

// Creatable lists the types that can be created on GPU gpu now, with what remains of each.
func (m *Manager) Creatable(gpu string) ([]Availability, error) {
	g := C.CString(gpu)
	defer C.free(unsafe.Pointer(g))
	return list(m, "vgpu_manager_creatable", C.VGPU_AVAILABILITY_VERSION,
		func(x *C.vgpu_availability_t, v C.uint32_t) { x.version = v },
		func(out *C.vgpu_availability_t, n *C.size_t, h *C.vgpu_manager_t) C.int {
			return C.vgpu_manager_creatable(out, n, h, g)
		}, availabilityFromC)
}

// FindType looks a type up by name ("A16-2Q"; case-insensitive).
func (m *Manager) FindType(name string) (Type, error) {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	out := C.vgpu_type_info_t{version: C.VGPU_TYPE_INFO_VERSION}
	return one(m, "vgpu_manager_find_type", &out, func(out *C.vgpu_type_info_t, h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_find_type(out, h, n)
	}, typeFromC)
}

// Instances lists every vGPU the host's ledger records.
func (m *Manager) Instances() ([]Instance, error) {
	return list(m, "vgpu_manager_instances", C.VGPU_INSTANCE_INFO_VERSION,
		func(x *C.vgpu_instance_info_t, v C.uint32_t) { x.version = v },
		func(out *C.vgpu_instance_info_t, n *C.size_t, h *C.vgpu_manager_t) C.int {
			return C.vgpu_manager_instances(out, n, h)
		}, instanceFromC)
}

// Instance looks one vGPU up by UUID.
func (m *Manager) Instance(uuid string) (Instance, error) {
	u := C.CString(uuid)
	defer C.free(unsafe.Pointer(u))
	out := C.vgpu_instance_info_t{version: C.VGPU_INSTANCE_INFO_VERSION}
	return one(m, "vgpu_manager_instance", &out, func(out *C.vgpu_instance_info_t, h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_instance(out, h, u)
	}, instanceFromC)
}

// Create creates the vGPUs of r where the policy says, all or nothing.
func (m *Manager) Create(r Request) ([]Instance, error) {
	var a arena
	defer a.free()
	req := a.request(&r)
	n := r.Count
	if n == 0 {
		n = 1
	}
	out := make([]C.vgpu_instance_info_t, n)
	out[0].version = C.VGPU_INSTANCE_INFO_VERSION
	err := m.do("vgpu_manager_create", func(h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_create(&out[0], C.size_t(n), h, req)
	})
	if err != nil {
		return nil, err
	}
	made := make([]Instance, n)
	for i := range made {
		made[i] = instanceFromC(&out[i])
	}
	return made, nil
}

// Destroy destroys vGPU uuid.
func (m *Manager) Destroy(uuid string) error {
	u := C.CString(uuid)
	defer C.free(unsafe.Pointer(u))
	return m.do("vgpu_manager_destroy", func(h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_destroy(h, u)
	})
}

// Plan plans several requests together on a copy of the current state (largest first),
// creating nothing: one entry per planned vGPU of each placed request and one per refused
// request, in input order.
func (m *Manager) Plan(requests []Request) ([]PlanEntry, error) {
	var a arena
	defer a.free()
	var reqs **C.vgpu_request_t
	if len(requests) > 0 {
		reqs = (**C.vgpu_request_t)(a.alloc(uintptr(len(requests)) * unsafe.Sizeof(reqs)))
		array := unsafe.Slice(reqs, len(requests))
		for i := range requests {
			array[i] = a.request(&requests[i])
		}
	}
	var out *C.vgpu_plan_entry_t
	var n C.size_t
	err := m.do("vgpu_manager_plan", func(h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_plan(&out, &n, h, reqs, C.size_t(len(requests)),
			C.VGPU_PLAN_ENTRY_VERSION)
	})
	if err != nil {
		return nil, err
	}
	return block(out, n, planEntryFromC), nil
}

// Explain says where r would go and why each GPU would or would not take it.
func (m *Manager) Explain(r Request) ([]Verdict, error) {
	var a arena
	defer a.free()
	req := a.request(&r)
	var out *C.vgpu_verdict_t
	var n C.size_t
	err := m.do("vgpu_manager_explain", func(h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_explain(&out, &n, h, req, C.VGPU_VERDICT_VERSION)
	})
	if err != nil {
		return nil, err
	}
	return block(out, n, verdictFromC), nil
}

// Reconcile compares the ledger with the backend and repairs the ledger.
func (m *Manager) Reconcile() (Reconciliation, error) {
	var out *C.vgpu_repair_t
	var n, inProgress C.size_t
	err := m.do("vgpu_manager_reconcile", func(h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_reconcile(&out, &n, &inProgress, h, C.VGPU_REPAIR_VERSION)
	})
	if err != nil {
		return Reconciliation{}, err
	}
	return Reconciliation{Repairs: block(out, n, repairFromC), InProgress: int(inProgress)}, nil
}

// Apply makes the host hold the vGPUs a host-state document (the JSON of `vgpuctl apply`)
// asks for, idempotently.
func (m *Manager) Apply(state []byte, opts ApplyOptions) (ApplySummary, error) {
	s := C.CString(string(state))
	defer C.free(unsafe.Pointer(s))
	var flags C.uint32_t
	if opts.DryRun {
		flags |= C.VGPU_APPLY_DRY_RUN
	}
	if opts.Prune {
		flags |= C.VGPU_APPLY_PRUNE
	}
	out := C.vgpu_apply_summary_t{version: C.VGPU_APPLY_SUMMARY_VERSION}
	return one(m, "vgpu_manager_apply", &out, func(out *C.vgpu_apply_summary_t, h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_apply(out, h, s, flags)
	}, summaryFromC)
}

// Restore re-creates every stored definition that does not exist (after a reboot).
func (m *Manager) Restore() (ApplySummary, error) {
	out := C.vgpu_apply_summary_t{version: C.VGPU_APPLY_SUMMARY_VERSION}
	return one(m, "vgpu_manager_restore", &out, func(out *C.vgpu_apply_summary_t, h *C.vgpu_manager_t) C.int {
		return C.vgpu_manager_restore(out, h)
	}, summaryFromC)
}
