// Helpers of callbacks.c that the Go side calls (see callbacks.go).
#ifndef VGPU_GO_CALLBACKS_H
#define VGPU_GO_CALLBACKS_H

#include <stdint.h>
#include <vgpu.h>

// Points the options' log_fn and/or policy_fn at the Go trampolines, with payload handle.
void vgpu_go_set_callbacks(vgpu_manager_options_t* options, uintptr_t handle, int log,
                           int policy);
// vgpu_manager_set_log() with the Go log trampoline (log != 0) or none.
int vgpu_go_set_log(vgpu_manager_t* manager, int log, int level, uintptr_t handle);

#endif
