/* What a VMM written in C does with vgpu over a VM's life (docs/integrating-c.md):
 *
 *   1. at start-up: open a manager and reconcile (repairs what a crashed VMM left behind);
 *   2. VM start: create the VM's vGPUs, all or nothing, recorded with the VM's name and UUID,
 *      and hand each device to QEMU (a VF's PCI address, or an mdev's sysfs path);
 *   3. when a request does not fit: ask why, GPU by GPU;
 *   4. VM stop: destroy the vGPUs, retrying while the device is still busy;
 *   5. at shutdown: close the manager (the vGPUs of running VMs stay).
 *
 *   ./vmm_lifecycle [BACKEND]      (default: the built-in simulated host)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vgpu.h>

enum { max_vgpus = 4 };

struct vm {
  const char* name;
  const char* uuid;
  vgpu_instance_info_t vgpus[max_vgpus];
  uint32_t count;
};

static void report(const char* what) {
  const vgpu_error_t* e = vgpu_last_error();
  fprintf(stderr, "%s: %s [%s]\n", what, e->message, vgpu_status_name(e->code));
}

static void log_to_stderr(int level, const char* message, void* payload) {
  (void)payload;
  static const char* const names[] = {"debug", "info", "warning", "error"};
  fprintf(stderr, "vgpu %s: %s\n", names[level], message);
}

/* 1. Start-up. */
static vgpu_manager_t* start_up(const char* backend) {
  /* [open] */
  vgpu_manager_options_t options = VGPU_MANAGER_OPTIONS_INIT;
  options.backend = backend;      /* "auto": the kernel interface this host has; NULL: simulated */
  options.log_fn = log_to_stderr; /* the library never prints */
  options.log_level = VGPU_LOG_WARNING;
  vgpu_manager_t* m = NULL;
  if (vgpu_manager_open(&m, &options) != VGPU_OK) {
    report("vgpu_manager_open");
    return NULL;
  }
  /* [open] */
  /* [reconcile] */
  vgpu_repair_t* repairs = NULL;
  size_t n = 0;
  if (vgpu_manager_reconcile(&repairs, &n, NULL, m, VGPU_REPAIR_VERSION) != VGPU_OK)
    report("vgpu_manager_reconcile");
  for (size_t i = 0; i < n; ++i)
    printf("repaired: %s\n", repairs[i].text);
  vgpu_free(repairs);
  /* [reconcile] */
  return m;
}

/* 3. Why a request does not fit. */
static void explain(vgpu_manager_t* m, const vgpu_request_t* request) {
  /* [explain] */
  vgpu_verdict_t* verdicts = NULL;
  size_t n = 0;
  if (vgpu_manager_explain(&verdicts, &n, m, request, VGPU_VERDICT_VERSION) != VGPU_OK) {
    report("vgpu_manager_explain");
    return;
  }
  for (size_t i = 0; i < n; ++i)
    printf("  %s: %s\n", verdicts[i].gpu,
           verdicts[i].eligible ? "could take one vGPU" : verdicts[i].reason);
  vgpu_free(verdicts);
  /* [explain] */
}

/* 2. VM start: @p count vGPUs of at least @p gib GiB, Q series. */
static int start_vm(vgpu_manager_t* m, struct vm* vm, uint32_t count, uint64_t gib) {
  /* [create] */
  vgpu_request_t request = VGPU_REQUEST_INIT;
  request.min_framebuffer_bytes = gib << 30;
  request.series = 'Q';
  request.count = count;    /* all or nothing; on distinct GPUs by default */
  request.owner = vm->name; /* recorded in the ledger, shown by vgpuctl list */
  request.vm_uuid = vm->uuid;
  if (count > max_vgpus) return -1;
  vm->vgpus[0] = (vgpu_instance_info_t)VGPU_INSTANCE_INFO_INIT;
  const int rc = vgpu_manager_create(vm->vgpus, max_vgpus, m, &request);
  /* [create] */
  if (rc == VGPU_E_NO_CAPACITY) {
    printf("%s: %u x %llu GiB does not fit on this host:\n", vm->name, count,
           (unsigned long long)gib);
    explain(m, &request);
    return rc;
  }
  if (rc != VGPU_OK) {
    report("vgpu_manager_create");
    return rc;
  }
  vm->count = count;
  printf("%s: qemu-system-x86_64 ...", vm->name);
  for (uint32_t i = 0; i < count; ++i) {
    const vgpu_instance_info_t* v = &vm->vgpus[i];
    if (v->device[0] == '\0')
      printf(" [%s %s on %s: simulated, no device]", v->type, v->uuid, v->gpu);
    else if (v->device[0] == '/')
      printf(" -device vfio-pci,sysfsdev=%s", v->device); /* an mdev */
    else
      printf(" -device vfio-pci,host=%s", v->device); /* an SR-IOV VF */
  }
  printf("\n");
  return VGPU_OK;
}

/* 4. VM stop. A device a VM still holds is busy for a moment after QEMU exits: retry. */
static int stop_vm(vgpu_manager_t* m, struct vm* vm) {
  int result = VGPU_OK;
  for (uint32_t i = 0; i < vm->count; ++i) {
    /* [destroy] */
    int rc = VGPU_E_BUSY;
    for (int attempt = 0; attempt < 5 && rc == VGPU_E_BUSY; ++attempt) {
      rc = vgpu_manager_destroy(m, vm->vgpus[i].uuid);
      if (rc == VGPU_E_BUSY) {
        struct timespec pause = {0, 100000000L << attempt};
        nanosleep(&pause, NULL);
      }
    }
    /* Already gone: someone reconciled it. */
    if (rc == VGPU_E_NOT_FOUND) rc = VGPU_OK;
    /* [destroy] */
    if (rc != VGPU_OK) {
      report("vgpu_manager_destroy");
      result = rc;
    }
  }
  printf("%s: stopped, %u vGPUs released\n", vm->name, vm->count);
  vm->count = 0;
  return result;
}

int main(int argc, char** argv) {
  vgpu_manager_t* m = start_up(argc > 1 ? argv[1] : NULL);
  if (m == NULL) return EXIT_FAILURE;
  struct vm web = {.name = "vm-web", .uuid = "6f1c2b0e-3a4d-4e5f-8a6b-7c8d9e0f1a2b"};
  struct vm train = {.name = "vm-train", .uuid = "0b7a4a70-1111-4222-8333-944455556666"};
  int failures = 0;
  failures += start_vm(m, &web, 1, 4) != VGPU_OK;
  failures += start_vm(m, &train, 2, 40) != VGPU_OK;
  /* A third VM asks for more than the host has: refused with reasons, nothing created. */
  struct vm huge = {.name = "vm-huge", .uuid = "5d3c1e2f-0000-4000-8000-000000000001"};
  failures += start_vm(m, &huge, 4, 48) != VGPU_E_NO_CAPACITY;
  failures += stop_vm(m, &train) != VGPU_OK;
  failures += stop_vm(m, &web) != VGPU_OK;
  size_t left = 0;
  failures += vgpu_manager_instances(NULL, &left, m) != VGPU_OK || left != 0;
  failures += vgpu_manager_close(m) != VGPU_OK; /* 5. */
  printf("%s\n", failures == 0 ? "lifecycle OK" : "lifecycle FAILED");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
