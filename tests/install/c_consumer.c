/* Uses the installed C ABI: vgpu.h and libvgpu.so, nothing else. */
#include <stdio.h>
#include <vgpu.h>

int main(void) {
  vgpu_manager_t* m = NULL;
  if (vgpu_manager_open(&m, NULL) != VGPU_OK) {
    fprintf(stderr, "vgpu_manager_open: %s\n", vgpu_last_error()->message);
    return 1;
  }
  size_t n = 0;
  if (vgpu_manager_gpus(NULL, &n, m) != VGPU_OK || n == 0) return 1;
  printf("libvgpu %s (C ABI %u.%u): %zu GPUs\n", vgpu_version(), vgpu_abi_version() >> 16,
         vgpu_abi_version() & 0xffffu, n);
  return vgpu_manager_close(m) == VGPU_OK ? 0 : 1;
}
