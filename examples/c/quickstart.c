/* The C quickstart: what a hypervisor written in C does with vgpu.
 *
 * Opens a manager on the built-in simulated host (pass a backend name, e.g. "nvidia-vfio" or
 * "auto", to drive a real host as root), lists the GPUs and what an A16 can host, creates
 * two vGPUs for one VM, shows them, and destroys them again.
 *
 *   cc -std=c99 quickstart.c $(pkg-config --cflags --libs vgpu) -o quickstart
 *   ./quickstart [BACKEND]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vgpu.h>

/* Prints the last error of a failed call and says which call it was. */
static int fail(const char* call) {
  const vgpu_error_t* e = vgpu_last_error();
  fprintf(stderr, "%s failed: %s (%s)\n", call, e->message, vgpu_status_name(e->code));
  return EXIT_FAILURE;
}

static void on_log(int level, const char* message, void* payload) {
  (void)payload;
  if (level >= VGPU_LOG_INFO) printf("  [vgpu] %s\n", message);
}

int main(int argc, char** argv) {
  vgpu_manager_options_t options = VGPU_MANAGER_OPTIONS_INIT;
  options.backend = argc > 1 ? argv[1] : NULL; /* NULL: the simulated host */
  options.log_fn = on_log;
  options.log_level = VGPU_LOG_INFO;
  vgpu_manager_t* m = NULL;
  if (vgpu_manager_open(&m, &options) != VGPU_OK) return fail("vgpu_manager_open");
  printf("libvgpu %s\n", vgpu_version());

  /* The GPUs: ask for the count, then fill an array. */
  size_t n = 0;
  if (vgpu_manager_gpus(NULL, &n, m) != VGPU_OK) return fail("vgpu_manager_gpus");
  vgpu_gpu_info_t* gpus = calloc(n, sizeof *gpus);
  if (gpus == NULL) return EXIT_FAILURE;
  if (n > 0) gpus[0] = (vgpu_gpu_info_t)VGPU_GPU_INFO_INIT;
  if (vgpu_manager_gpus(gpus, &n, m) != VGPU_OK) return fail("vgpu_manager_gpus");
  for (size_t i = 0; i < n; ++i)
    printf("GPU %s  %-22s %3" PRIu64 " GiB\n", gpus[i].pci_address, gpus[i].model,
           gpus[i].framebuffer_bytes >> 30);

  /* What the first GPU can host now. */
  vgpu_availability_t avail[64];
  size_t an = 64;
  avail[0] = (vgpu_availability_t)VGPU_AVAILABILITY_INIT;
  if (n > 0 && vgpu_manager_creatable(avail, &an, m, gpus[0].pci_address) == VGPU_OK) {
    printf("%s can host:", gpus[0].pci_address);
    for (size_t i = 0; i < an; ++i)
      printf(" %s x%u", avail[i].type, avail[i].remaining);
    printf("\n");
  }
  free(gpus);

  /* Two vGPUs of 4 GiB for one VM, on distinct GPUs (the default for one VM). */
  vgpu_request_t request = VGPU_REQUEST_INIT;
  request.type = "A16-4Q";
  request.count = 2;
  request.owner = "vm-quickstart";
  vgpu_instance_info_t made[2];
  made[0] = (vgpu_instance_info_t)VGPU_INSTANCE_INFO_INIT;
  if (vgpu_manager_create(made, 2, m, &request) != VGPU_OK) return fail("vgpu_manager_create");
  for (int i = 0; i < 2; ++i)
    printf("created %s  %s on %s at slot %u\n", made[i].uuid, made[i].type, made[i].gpu,
           made[i].placement);

  /* A request that cannot fit says why. */
  vgpu_request_t too_big = VGPU_REQUEST_INIT;
  too_big.type = "A16-16Q";
  too_big.count = 8;
  if (vgpu_manager_create(NULL, 0, m, &too_big) == VGPU_E_NO_CAPACITY)
    printf("8 x A16-16Q: %s\n", vgpu_status_name(vgpu_last_error()->code));

  for (int i = 0; i < 2; ++i)
    if (vgpu_manager_destroy(m, made[i].uuid) != VGPU_OK) return fail("vgpu_manager_destroy");
  n = 0;
  if (vgpu_manager_instances(NULL, &n, m) != VGPU_OK) return fail("vgpu_manager_instances");
  printf("%zu vGPUs left\n", n);
  return vgpu_manager_close(m) == VGPU_OK && n == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
