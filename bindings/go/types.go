package vgpu

/*
#include <vgpu.h>
*/
import "C"

import "time"

// GPUMode is how a physical GPU shares itself out.
type GPUMode uint32

// The GPU modes of vgpu.h.
const (
	ModeEqualSize GPUMode = C.VGPU_MODE_EQUAL_SIZE // all time-sliced vGPUs of one size
	ModeMixedSize GPUMode = C.VGPU_MODE_MIXED_SIZE // vGPUs of different sizes at fixed placements
	ModeMIG       GPUMode = C.VGPU_MODE_MIG        // MIG-backed vGPUs on GPU instances
)

func (m GPUMode) String() string {
	switch m {
	case ModeEqualSize:
		return "equal-size"
	case ModeMixedSize:
		return "mixed-size"
	case ModeMIG:
		return "mig"
	}
	return "unknown"
}

// State is where a vGPU is in its life.
type State uint32

// The vGPU states of vgpu.h.
const (
	StateReserved  State = C.VGPU_STATE_RESERVED  // its place is taken; the backend creates it
	StateActive    State = C.VGPU_STATE_ACTIVE    // it exists; a VM may use it
	StateReleasing State = C.VGPU_STATE_RELEASING // the backend is destroying it
)

func (s State) String() string {
	switch s {
	case StateReserved:
		return "reserved"
	case StateActive:
		return "active"
	case StateReleasing:
		return "releasing"
	}
	return "unknown"
}

// LogLevel is the level of a log message.
type LogLevel int

// The log levels of vgpu.h.
const (
	LogDebug   LogLevel = C.VGPU_LOG_DEBUG
	LogInfo    LogLevel = C.VGPU_LOG_INFO
	LogWarning LogLevel = C.VGPU_LOG_WARNING
	LogError   LogLevel = C.VGPU_LOG_ERROR
)

func (l LogLevel) String() string {
	switch l {
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarning:
		return "warning"
	case LogError:
		return "error"
	}
	return "unknown"
}

// Affinity says which GPUs the vGPUs of one request must share.
type Affinity uint32

// The affinities of vgpu.h.
const (
	AffinityNone     Affinity = C.VGPU_AFFINITY_NONE      // only the host
	AffinityNUMANode Affinity = C.VGPU_AFFINITY_NUMA_NODE // one NUMA node
	AffinityPCIRoot  Affinity = C.VGPU_AFFINITY_PCI_ROOT  // one PCI root
)

// RepairKind is the kind of a repair Reconcile made.
type RepairKind uint32

// The repair kinds of vgpu.h.
const (
	RepairAdopted          RepairKind = C.VGPU_REPAIR_ADOPTED
	RepairReleasedVanished RepairKind = C.VGPU_REPAIR_RELEASED_VANISHED
	RepairRolledBack       RepairKind = C.VGPU_REPAIR_ROLLED_BACK
	RepairFinishedRelease  RepairKind = C.VGPU_REPAIR_FINISHED_RELEASE
	RepairUpdated          RepairKind = C.VGPU_REPAIR_UPDATED
)

// GPU is one physical GPU of the host.
type GPU struct {
	Index                int
	PCIAddress           string // the GPU (SR-IOV PF), e.g. "0000:41:00.0"
	Model                string // e.g. "NVIDIA A16"
	Mode                 GPUMode
	NUMANode             int    // -1 when unknown
	PCIRoot              string // "pci0000:40", or "" when unknown
	FramebufferBytes     uint64
	UsedFramebufferBytes uint64 // taken by its vGPUs
	VGPUCount            int    // vGPUs on it (reserved, active or releasing)
}

// Type is a vGPU type of one GPU model.
type Type struct {
	Name                string // e.g. "A16-2Q"
	Model               string // e.g. "NVIDIA A16"
	DriverID            uint32 // 0 when unknown
	Series              byte   // 'Q', 'B', 'A' or 'C'
	MIGBacked           bool
	Deprecated          bool
	FramebufferBytes    uint64
	MaxHeads            int
	MaxResolutionWidth  int
	MaxResolutionHeight int
	MaxInstances        int // per GPU in equal-size (or MIG) mode
	MaxInstancesMixed   int // per GPU in mixed-size mode; 0: not allowed there
	PlacementSize       int
	Placements          []uint32 // allowed start slots (mixed-size or MIG)
	MIGProfile          string   // "3g.40gb", or ""
}

// Availability is a type that can be created on a GPU now.
type Availability struct {
	Type           string
	Remaining      int
	FreePlacements []uint32
}

// Instance is a vGPU as the host's ledger records it.
type Instance struct {
	UUID      string
	State     State
	GPU       string // the PCI address of its GPU
	Type      string
	Placement uint32
	Owner     string // the VM's name, or ""
	VMUUID    string // the VM's UUID, or ""
	Device    string // what the VMM is given: a VF address or an mdev path
	PID       int    // the process reserving or releasing it, or 0
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PlanEntry is one planned vGPU, or one refused request, of Plan.
type PlanEntry struct {
	Request   int   // index of the request in the input
	Err       error // nil when placed; else why the request was refused (an *Error)
	UUID      string
	GPU       string
	Type      string
	Placement uint32
	Score     float64
}

// Verdict is one GPU's verdict on a request, from Explain.
type Verdict struct {
	GPU       string
	Eligible  bool   // could take the request's first vGPU now
	Chosen    bool   // the policy would put the first vGPU here
	Type      string // the type considered on it, or "" if none fits
	Placement uint32
	Score     float64
	Reason    string // why not, when not eligible
}

// Repair is one repair Reconcile made.
type Repair struct {
	Kind RepairKind
	UUID string
	Text string
}

// Reconciliation is what Reconcile did.
type Reconciliation struct {
	Repairs    []Repair
	InProgress int // records left alone because a live process works on them
}

// ApplySummary is what Apply or Restore did.
type ApplySummary struct {
	Kept      int // wanted vGPUs that already existed
	Created   int
	Destroyed int // with ApplyOptions.Prune
	Extra     int // existing vGPUs the state does not name, kept
}

// ManagerInfo says what a manager is connected to.
type ManagerInfo struct {
	GPUCount         int
	Backend          string
	Policy           string
	Ledger           string // "" for a private ledger
	Definitions      string
	LedgerRebuilt    bool
	LedgerReplayed   bool
	LedgerKeptAside  string
	ReconciledAtOpen int
}

// Candidate is what a custom placement policy scores: one vGPU of one type at one
// placement on one GPU.
type Candidate struct {
	Model                string
	Mode                 GPUMode
	NUMANode             int
	GPUFramebufferBytes  uint64
	UsedFramebufferBytes uint64
	VGPUCount            int
	Type                 string
	TypeFramebufferBytes uint64
	Placement            uint32
	PlacementSize        uint32
	RequestedBytes       uint64
}

func str(p *C.char) string { return C.GoString(p) }

func micros(us C.int64_t) time.Time { return time.UnixMicro(int64(us)) }

func slots(a []C.uint32_t) []uint32 {
	out := make([]uint32, len(a))
	for i, v := range a {
		out[i] = uint32(v)
	}
	return out
}

func gpuFromC(c *C.vgpu_gpu_info_t) GPU {
	return GPU{Index: int(c.index), PCIAddress: str(&c.pci_address[0]), Model: str(&c.model[0]),
		Mode: GPUMode(c.mode), NUMANode: int(c.numa_node), PCIRoot: str(&c.pci_root[0]),
		FramebufferBytes: uint64(c.framebuffer_bytes), UsedFramebufferBytes: uint64(c.used_framebuffer_bytes),
		VGPUCount: int(c.vgpu_count)}
}

func typeFromC(c *C.vgpu_type_info_t) Type {
	return Type{Name: str(&c.name[0]), Model: str(&c.model[0]), DriverID: uint32(c.driver_id),
		Series: byte(c.series), MIGBacked: bool(c.mig_backed), Deprecated: bool(c.deprecated),
		FramebufferBytes: uint64(c.framebuffer_bytes), MaxHeads: int(c.max_heads),
		MaxResolutionWidth: int(c.max_resolution_width), MaxResolutionHeight: int(c.max_resolution_height),
		MaxInstances: int(c.max_instances), MaxInstancesMixed: int(c.max_instances_mixed),
		PlacementSize: int(c.placement_size), Placements: slots(c.placements[:c.placement_count]),
		MIGProfile: str(&c.mig_profile[0])}
}

func availabilityFromC(c *C.vgpu_availability_t) Availability {
	return Availability{Type: str(&c._type[0]), Remaining: int(c.remaining),
		FreePlacements: slots(c.free_placements[:c.free_placement_count])}
}

func instanceFromC(c *C.vgpu_instance_info_t) Instance {
	return Instance{UUID: str(&c.uuid[0]), State: State(c.state), GPU: str(&c.gpu[0]),
		Type: str(&c._type[0]), Placement: uint32(c.placement), Owner: str(&c.owner[0]),
		VMUUID: str(&c.vm_uuid[0]), Device: str(&c.device[0]), PID: int(c.pid),
		CreatedAt: micros(c.created_at_us), UpdatedAt: micros(c.updated_at_us)}
}

func planEntryFromC(c *C.vgpu_plan_entry_t) PlanEntry {
	e := PlanEntry{Request: int(c.request), UUID: str(&c.uuid[0]), GPU: str(&c.gpu[0]),
		Type: str(&c._type[0]), Placement: uint32(c.placement), Score: float64(c.score)}
	if c.status != C.VGPU_OK {
		e.Err = &Error{Code: Status(c.status), Message: str(c.reason), Op: "vgpu_manager_plan"}
	}
	return e
}

func verdictFromC(c *C.vgpu_verdict_t) Verdict {
	return Verdict{GPU: str(&c.gpu[0]), Eligible: bool(c.eligible), Chosen: bool(c.chosen),
		Type: str(&c._type[0]), Placement: uint32(c.placement), Score: float64(c.score),
		Reason: str(c.reason)}
}

func repairFromC(c *C.vgpu_repair_t) Repair {
	return Repair{Kind: RepairKind(c.kind), UUID: str(&c.uuid[0]), Text: str(c.text)}
}

func summaryFromC(c *C.vgpu_apply_summary_t) ApplySummary {
	return ApplySummary{Kept: int(c.kept), Created: int(c.created), Destroyed: int(c.destroyed),
		Extra: int(c.extra)}
}

func infoFromC(c *C.vgpu_manager_info_t) ManagerInfo {
	return ManagerInfo{GPUCount: int(c.gpu_count), Backend: str(&c.backend[0]), Policy: str(&c.policy[0]),
		Ledger: str(&c.ledger[0]), Definitions: str(&c.definitions[0]),
		LedgerRebuilt: bool(c.ledger_rebuilt), LedgerReplayed: bool(c.ledger_replayed),
		LedgerKeptAside: str(&c.ledger_kept_aside[0]), ReconciledAtOpen: int(c.reconciled_at_open)}
}

func candidateFromC(c *C.vgpu_candidate_t) Candidate {
	return Candidate{Model: str(c.model), Mode: GPUMode(c.mode), NUMANode: int(c.numa_node),
		GPUFramebufferBytes: uint64(c.gpu_framebuffer_bytes), UsedFramebufferBytes: uint64(c.used_framebuffer_bytes),
		VGPUCount: int(c.vgpu_count), Type: str(c._type), TypeFramebufferBytes: uint64(c.type_framebuffer_bytes),
		Placement: uint32(c.placement), PlacementSize: uint32(c.placement_size),
		RequestedBytes: uint64(c.requested_bytes)}
}
