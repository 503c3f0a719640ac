package vgpu

/*
#include <stdlib.h>
#include <vgpu.h>
*/
import "C"

import "unsafe"

// Request says what to create, plan or explain: Count vGPUs of Type, or of the smallest type
// meeting the requirement fields (MinFramebufferBytes ... GPUMilli), all or nothing. Zero
// values mean "no constraint", as zeroed fields of vgpu_request_t do.
type Request struct {
	Type string // by name ("A16-2Q"); "" picks by the requirement fields

	MinFramebufferBytes uint64
	MinHeads            uint32
	MinResolutionWidth  uint32 // set both or neither
	MinResolutionHeight uint32
	Series              byte // 'Q', 'B', 'A' or 'C'; 0: any
	ExcludeMIGBacked    bool
	IncludeDeprecated   bool
	Model               string // only this GPU model
	GPUMilli            uint32 // also at least this fraction of the GPU, in thousandths

	Count       uint32   // how many vGPUs (0 means 1)
	Owner       string   // the VM's name, recorded with the vGPUs
	VMUUID      string   // the VM's UUID, recorded with the vGPUs (Create only)
	UUIDs       []string // one per vGPU, or none for random ones (Create only)
	AllowedGPUs []string // only these GPUs (PCI addresses)
	DeniedGPUs  []string // never these GPUs

	NUMANode       *uint32 // only GPUs on this NUMA node
	Placement      *uint32 // only this start slot (single-vGPU requests)
	AllowSharedGPU bool    // let vGPUs of one request or owner share a GPU
	Affinity       Affinity
}

// arena owns the C memory a call's arguments point to; free releases all of it.
type arena struct {
	ptrs []unsafe.Pointer
}

func (a *arena) alloc(size uintptr) unsafe.Pointer {
	p := C.malloc(C.size_t(size)) // cgo's malloc never returns nil
	a.ptrs = append(a.ptrs, p)
	return p
}

func (a *arena) str(s string) *C.char {
	p := C.CString(s)
	a.ptrs = append(a.ptrs, unsafe.Pointer(p))
	return p
}

// optStr is NULL for "" (the C ABI's "not set").
func (a *arena) optStr(s string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(s)
}

func (a *arena) strs(list []string) (**C.char, C.size_t) {
	if len(list) == 0 {
		return nil, 0
	}
	p := (**C.char)(a.alloc(uintptr(len(list)) * unsafe.Sizeof((*C.char)(nil))))
	array := unsafe.Slice(p, len(list))
	for i, s := range list {
		array[i] = a.str(s)
	}
	return p, C.size_t(len(list))
}

func (a *arena) free() {
	for _, p := range a.ptrs {
		C.free(p)
	}
	a.ptrs = nil
}

// request builds r as a vgpu_request_t in C memory (its strings too).
func (a *arena) request(r *Request) *C.vgpu_request_t {
	c := (*C.vgpu_request_t)(a.alloc(unsafe.Sizeof(C.vgpu_request_t{})))
	C.vgpu_request_init(c, C.VGPU_REQUEST_VERSION)
	c._type = a.optStr(r.Type)
	c.min_framebuffer_bytes = C.uint64_t(r.MinFramebufferBytes)
	c.min_heads = C.uint32_t(r.MinHeads)
	c.min_resolution_width = C.uint32_t(r.MinResolutionWidth)
	c.min_resolution_height = C.uint32_t(r.MinResolutionHeight)
	c.series = C.char(r.Series)
	c.exclude_mig_backed = C.bool(r.ExcludeMIGBacked)
	c.include_deprecated = C.bool(r.IncludeDeprecated)
	c.model = a.optStr(r.Model)
	c.gpu_milli = C.uint32_t(r.GPUMilli)
	c.count = C.uint32_t(r.Count)
	c.owner = a.optStr(r.Owner)
	c.vm_uuid = a.optStr(r.VMUUID)
	c.uuids, c.uuid_count = a.strs(r.UUIDs)
	c.allowed_gpus, c.allowed_gpu_count = a.strs(r.AllowedGPUs)
	c.denied_gpus, c.denied_gpu_count = a.strs(r.DeniedGPUs)
	if r.NUMANode != nil {
		c.has_numa_node = true
		c.numa_node = C.uint32_t(*r.NUMANode)
	}
	if r.Placement != nil {
		c.has_placement = true
		c.placement = C.uint32_t(*r.Placement)
	}
	c.allow_shared_gpu = C.bool(r.AllowSharedGPU)
	c.affinity = C.uint32_t(r.Affinity)
	return c
}
