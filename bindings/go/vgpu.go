// Package vgpu partitions NVIDIA GPUs into vGPUs for virtual machines: a Go binding of the
// vgpu C ABI (vgpu.h, libvgpu.so.1).
//
// The binding is cgo over vgpu.h itself: cgo reads the header when the package is built, so
// every struct, function and constant comes from the header and nothing is mirrored by hand.
// The header and the library are found like any C dependency: installed under /usr or
// /usr/local they need nothing; elsewhere set CGO_CFLAGS and CGO_LDFLAGS (see README.md).
//
//	m, err := vgpu.Open(vgpu.Options{}) // the built-in simulated host
//	if err != nil {
//		return err
//	}
//	defer m.Close()
//	made, err := m.Create(vgpu.Request{Type: "A16-2Q", Owner: "vm-1"})
//
// Errors are *Error values carrying the C status code; errors.Is(err, vgpu.ErrNotFound) and
// friends test the code, and errors.Is(err, fs.ErrNotExist) works through the OS errno.
// A Manager is safe for concurrent use by goroutines.
package vgpu

/*
#cgo LDFLAGS: -lvgpu
#include <stdlib.h>
#include <vgpu.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// ABIVersionMajor and ABIVersionMinor are the C ABI version of the vgpu.h this package was
// built against.
const (
	ABIVersionMajor = C.VGPU_ABI_VERSION_MAJOR
	ABIVersionMinor = C.VGPU_ABI_VERSION_MINOR
)

// Version is the library's product version, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.vgpu_version())
}

// ABIVersion is the C ABI version the loaded library implements.
func ABIVersion() (major, minor int) {
	v := uint32(C.vgpu_abi_version())
	return int(v >> 16), int(v & 0xffff)
}

// Feature is a bit of Features().
type Feature uint32

// The features of vgpu_features().
const (
	FeatureSim          Feature = C.VGPU_FEATURE_SIM
	FeatureNvidiaVFIO   Feature = C.VGPU_FEATURE_NVIDIA_VFIO
	FeatureMdev         Feature = C.VGPU_FEATURE_MDEV
	FeatureNouveau      Feature = C.VGPU_FEATURE_NOUVEAU
	FeatureSharedLedger Feature = C.VGPU_FEATURE_SHARED_LEDGER
	FeatureCustomPolicy Feature = C.VGPU_FEATURE_CUSTOM_POLICY
)

// Features says what this build of the library can do.
func Features() Feature {
	return Feature(C.vgpu_features())
}

// BackendNames lists the backends the library can open ("sim", "nvidia-vfio", ...).
func BackendNames() ([]string, error) {
	return names("vgpu_backend_names", func(out **C.char, n *C.size_t) C.int {
		return C.vgpu_backend_names(out, n)
	})
}

// PolicyNames lists the built-in placement policies, "fragmentation-aware" first.
func PolicyNames() ([]string, error) {
	return names("vgpu_policy_names", func(out **C.char, n *C.size_t) C.int {
		return C.vgpu_policy_names(out, n)
	})
}

func names(op string, fn func(**C.char, *C.size_t) C.int) ([]string, error) {
	var n C.size_t
	if err := call(op, func() C.int { return fn(nil, &n) }); err != nil {
		return nil, err
	}
	for {
		if n == 0 {
			return []string{}, nil
		}
		// The array receives pointers to static C strings: C memory, so no Go pointer rule.
		buf := (**C.char)(C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
		err := call(op, func() C.int { return fn(buf, &n) })
		if err == nil {
			out := make([]string, n)
			for i, p := range unsafe.Slice(buf, n) {
				out[i] = C.GoString(p)
			}
			C.free(unsafe.Pointer(buf))
			return out, nil
		}
		C.free(unsafe.Pointer(buf))
		if !isStatus(err, StatusBufferTooSmall) {
			return nil, err
		}
	}
}

// call runs one C call and reads vgpu_last_error() on the same OS thread (it is per thread).
func call(op string, f func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc == C.VGPU_OK {
		return nil
	}
	return lastError(op, rc)
}
