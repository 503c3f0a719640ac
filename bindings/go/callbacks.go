package vgpu

/*
#include <vgpu.h>
*/
import "C"

import (
	"math"
	"runtime/cgo"
	"sync"
)

// callbacks holds a manager's Go callbacks. The library gets a cgo.Handle to it as the
// payload of the C trampolines in callbacks.c, never a Go pointer.
type callbacks struct {
	mu       sync.Mutex
	log      func(LogLevel, string)
	policy   func(Candidate) float64
	panicked interface{}
}

func (cb *callbacks) logger() func(LogLevel, string) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.log
}

func (cb *callbacks) setLogger(fn func(LogLevel, string)) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	cb.log = fn
}

// catch records a panic of a callback: a panic must not unwind through the C library.
// The method that made the call panics with it once the library has returned (rethrow).
func (cb *callbacks) catch() {
	if p := recover(); p != nil {
		cb.mu.Lock()
		if cb.panicked == nil {
			cb.panicked = p
		}
		cb.mu.Unlock()
	}
}

func (cb *callbacks) rethrow() {
	cb.mu.Lock()
	p := cb.panicked
	cb.panicked = nil
	cb.mu.Unlock()
	if p != nil {
		panic(p)
	}
}

//export vgpuGoLog
func vgpuGoLog(level C.int, message *C.char, handle C.uintptr_t) {
	cb := cgo.Handle(handle).Value().(*callbacks)
	fn := cb.logger()
	if fn == nil {
		return
	}
	defer cb.catch()
	fn(LogLevel(level), C.GoString(message))
}

//export vgpuGoPolicy
func vgpuGoPolicy(candidate *C.vgpu_candidate_t, handle C.uintptr_t) (score C.double) {
	cb := cgo.Handle(handle).Value().(*callbacks)
	score = C.double(math.Inf(1)) // what a panicking policy scores
	defer cb.catch()
	return C.double(cb.policy(candidateFromC(candidate)))
}
