// The C side of the log and policy callbacks: C functions the library can call, which pass
// the call on to the Go functions exported in callbacks.go. The payload is a runtime/cgo
// Handle (an integer), never a Go pointer.
#include <stdint.h>

#include "_cgo_export.h"
#include "callbacks.h"

static void vgpu_go_log(int level, const char* message, void* payload) {
  vgpuGoLog(level, (char*)message, (uintptr_t)payload);
}

static double vgpu_go_policy(const vgpu_candidate_t* candidate, void* payload) {
  return vgpuGoPolicy((vgpu_candidate_t*)candidate, (uintptr_t)payload);
}

void vgpu_go_set_callbacks(vgpu_manager_options_t* options, uintptr_t handle, int log,
                           int policy) {
  if (log) {
    options->log_fn = vgpu_go_log;
    options->log_payload = (void*)handle;
  }
  if (policy) {
    options->policy_fn = vgpu_go_policy;
    options->policy_payload = (void*)handle;
  }
}

int vgpu_go_set_log(vgpu_manager_t* manager, int log, int level, uintptr_t handle) {
  if (!log) return vgpu_manager_set_log(manager, NULL, level, NULL);
  return vgpu_manager_set_log(manager, vgpu_go_log, level, (void*)handle);
}
