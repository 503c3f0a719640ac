// A C++ program that uses the C ABI through vgpu.h alone (as a C++ VMM or a binding
// generator would): the INIT macros must compile warning-free under strict C++ flags.
#include <cstdio>
#include <cstring>

#include "vgpu.h"

int main() {
  vgpu_manager_options_t options = VGPU_MANAGER_OPTIONS_INIT;
  options.policy = "best-fit";
  vgpu_manager_t* m = nullptr;
  if (vgpu_manager_open(&m, &options) != VGPU_OK) {
    std::fprintf(stderr, "open: %s\n", vgpu_last_error()->message);
    return 1;
  }
  vgpu_request_t request = VGPU_REQUEST_INIT;
  request.type = "A16-8Q";
  vgpu_instance_info_t made = VGPU_INSTANCE_INFO_INIT;
  int failures = 0;
  failures += vgpu_manager_create(&made, 1, m, &request) != VGPU_OK;
  failures += std::strcmp(made.type, "A16-8Q") != 0;
  failures += vgpu_manager_destroy(m, made.uuid) != VGPU_OK;
  failures += vgpu_manager_close(m) != VGPU_OK;
  std::printf("%d passed, %d failed\n", 4 - failures, failures);
  return failures == 0 ? 0 : 1;
}
