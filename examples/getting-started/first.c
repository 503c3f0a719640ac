/* The first C program of docs/getting-started.md (and the README's C quickstart): one vGPU
 * for one VM on the built-in simulated host, through the C ABI, then released. */
#include <stdio.h>
#include <vgpu.h>

int main(void) {
  /* [quickstart] */
  vgpu_manager_t* m = NULL;
  if (vgpu_manager_open(&m, NULL) != VGPU_OK) /* NULL: the built-in simulated host */
    return fprintf(stderr, "%s\n", vgpu_last_error()->message), 1;
  vgpu_request_t request = VGPU_REQUEST_INIT; /* versioned structs, zero = default */
  request.type = "A16-4Q";
  request.owner = "vm-1";
  vgpu_instance_info_t vgpu = VGPU_INSTANCE_INFO_INIT;
  if (vgpu_manager_create(&vgpu, 1, m, &request) == VGPU_OK)
    printf("%s on %s at slot %u\n", vgpu.uuid, vgpu.gpu, vgpu.placement);
  vgpu_manager_destroy(m, vgpu.uuid);
  vgpu_manager_close(m);
  /* [quickstart] */
  return 0;
}
