package vgpu

/*
#include <vgpu.h>
*/
import "C"

import (
	"errors"
	"syscall"
)

// Status is a status code of the C ABI: 0 is success, failures are negative.
type Status int

// The status codes of vgpu.h (values from the header, through cgo).
const (
	StatusOK              Status = C.VGPU_OK
	StatusInvalidArgument Status = C.VGPU_E_INVALID_ARGUMENT
	StatusNotFound        Status = C.VGPU_E_NOT_FOUND
	StatusNoCapacity      Status = C.VGPU_E_NO_CAPACITY
	StatusBusy            Status = C.VGPU_E_BUSY
	StatusNotSupported    Status = C.VGPU_E_NOT_SUPPORTED
	StatusPermission      Status = C.VGPU_E_PERMISSION
	StatusVersionMismatch Status = C.VGPU_E_VERSION_MISMATCH
	StatusConflict        Status = C.VGPU_E_CONFLICT
	StatusIO              Status = C.VGPU_E_IO
	StatusInternal        Status = C.VGPU_E_INTERNAL
	StatusBufferTooSmall  Status = C.VGPU_E_BUFFER_TOO_SMALL
	StatusNoMemory        Status = C.VGPU_E_NO_MEMORY
	StatusBadHandle       Status = C.VGPU_E_BAD_HANDLE
)

// String is the status's stable short name, e.g. "no_capacity" (vgpu_status_name).
func (s Status) String() string {
	return C.GoString(C.vgpu_status_name(C.int(s)))
}

// Error is a failed vgpu call: the status code and what vgpu_last_error() said.
//
// errors.Is(err, ErrNotFound) (or any sentinel below) is true for every *Error with that
// code. When the failure has an OS errno, errors.Unwrap gives it, so
// errors.Is(err, fs.ErrNotExist) works too.
type Error struct {
	Code    Status        // the status, a negative code
	Errno   syscall.Errno // the OS errno behind the failure, or 0
	Message string        // what went wrong and what to do
	Op      string        // the C function that failed, e.g. "vgpu_manager_create"
}

func (e *Error) Error() string {
	if e.Op == "" {
		return "vgpu: " + e.Message
	}
	return "vgpu: " + e.Op + ": " + e.Message
}

// Is reports whether target is an *Error with the same code (such as a sentinel).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Unwrap is the OS errno behind the failure, if there is one.
func (e *Error) Unwrap() error {
	if e.Errno != 0 {
		return e.Errno
	}
	return nil
}

func sentinel(code Status) error {
	return &Error{Code: code, Message: code.String()}
}

// Sentinels for errors.Is: one per failure code.
var (
	ErrInvalidArgument = sentinel(StatusInvalidArgument)
	ErrNotFound        = sentinel(StatusNotFound)
	ErrNoCapacity      = sentinel(StatusNoCapacity)
	ErrBusy            = sentinel(StatusBusy)
	ErrNotSupported    = sentinel(StatusNotSupported)
	ErrPermission      = sentinel(StatusPermission)
	ErrVersionMismatch = sentinel(StatusVersionMismatch)
	ErrConflict        = sentinel(StatusConflict)
	ErrIO              = sentinel(StatusIO)
	ErrInternal        = sentinel(StatusInternal)
	ErrBufferTooSmall  = sentinel(StatusBufferTooSmall)
	ErrNoMemory        = sentinel(StatusNoMemory)
	ErrBadHandle       = sentinel(StatusBadHandle)
)

// lastError is the *Error of a call that just returned rc on this OS thread.
func lastError(op string, rc C.int) error {
	e := C.vgpu_last_error()
	out := &Error{Code: Status(rc), Op: op}
	if e.code == rc {
		out.Message = C.GoString(e.message)
		out.Errno = syscall.Errno(e.os_errno)
	}
	if out.Message == "" {
		out.Message = "failed with " + out.Code.String()
	}
	return out
}

func isStatus(err error, code Status) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
