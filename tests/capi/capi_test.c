/* The C ABI, exercised through vgpu.h alone: every function, and each error it documents.
   Runs on the built-in simulated host (4 A16 GPUs, 2 L40S in mixed-size mode, 1 A100 in MIG
   mode) and on a simulated host file in a private temporary directory. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "vgpu.h"

#define GIB (UINT64_C(1) << 30)

static char scratch[256];

static vgpu_manager_t* open_builtin(void) {
  vgpu_manager_t* m = NULL;
  CHECK_OK(vgpu_manager_open(&m, NULL));
  return m;
}

/* The first GPU of a model on the built-in host. */
static void first_gpu_of(char* out, vgpu_manager_t* m, const char* model) {
  vgpu_gpu_info_t gpus[16];
  size_t n = 16;
  gpus[0] = (vgpu_gpu_info_t)VGPU_GPU_INFO_INIT;
  out[0] = '\0';
  CHECK_OK(vgpu_manager_gpus(gpus, &n, m));
  for (size_t i = 0; i < n; ++i)
    if (strcmp(gpus[i].model, model) == 0) {
      strcpy(out, gpus[i].pci_address);
      return;
    }
}

static size_t instance_count(vgpu_manager_t* m) {
  size_t n = 0;
  CHECK_OK(vgpu_manager_instances(NULL, &n, m));
  return n;
}

static void test_version_and_features(void) {
  CHECK(strcmp(vgpu_version(), "") != 0);
  CHECK(vgpu_abi_version() >> 16 == VGPU_ABI_VERSION_MAJOR);
  CHECK((vgpu_abi_version() & 0xffff) == VGPU_ABI_VERSION_MINOR);
  const uint32_t f = vgpu_features();
  CHECK(f & VGPU_FEATURE_SIM);
  CHECK(f & VGPU_FEATURE_NVIDIA_VFIO);
  CHECK(f & VGPU_FEATURE_MDEV);
  CHECK(f & VGPU_FEATURE_NOUVEAU);
  CHECK(f & VGPU_FEATURE_SHARED_LEDGER);
  CHECK(f & VGPU_FEATURE_CUSTOM_POLICY);
}

static void test_status_names(void) {
  CHECK(strcmp(vgpu_status_name(VGPU_OK), "ok") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_INVALID_ARGUMENT), "invalid_argument") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_NO_CAPACITY), "no_capacity") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_BUSY), "busy") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_NOT_SUPPORTED), "not_supported") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_PERMISSION), "permission_denied") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_VERSION_MISMATCH), "version_mismatch") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_CONFLICT), "conflict") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_IO), "io_error") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_INTERNAL), "internal") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_BUFFER_TOO_SMALL), "buffer_too_small") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_NO_MEMORY), "no_memory") == 0);
  CHECK(strcmp(vgpu_status_name(VGPU_E_BAD_HANDLE), "bad_handle") == 0);
  CHECK(strcmp(vgpu_status_name(-99), "unknown") == 0);
  CHECK(strcmp(vgpu_status_name(5), "unknown") == 0);
}

static void test_last_error_and_free(void) {
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_backend_names(NULL, NULL));
  CHECK(vgpu_last_error()->os_errno == 0);
  CHECK_MESSAGE("count is NULL");
  size_t n = 0;
  CHECK_OK(vgpu_backend_names(NULL, &n)); /* success resets the thread's error */
  CHECK(vgpu_last_error()->code == VGPU_OK);
  CHECK(strcmp(vgpu_last_error()->message, "") == 0);
  vgpu_free(NULL);
}

static void test_name_lists(void) {
  const char* names[16];
  size_t n = 0;
  CHECK_OK(vgpu_backend_names(NULL, &n));
  CHECK(n >= 4 && n <= 16);
  n = 16;
  CHECK_OK(vgpu_backend_names(names, &n));
  int has_sim = 0, has_vfio = 0;
  for (size_t i = 0; i < n; ++i) {
    has_sim |= strcmp(names[i], "sim") == 0;
    has_vfio |= strcmp(names[i], "nvidia-vfio") == 0;
  }
  CHECK(has_sim && has_vfio);
  size_t small = 1;
  const char* one[1] = {"untouched"};
  CHECK_FAILS(VGPU_E_BUFFER_TOO_SMALL, vgpu_backend_names(one, &small));
  CHECK(small == n);
  CHECK(strcmp(one[0], "untouched") == 0);

  n = 16;
  CHECK_OK(vgpu_policy_names(names, &n));
  CHECK(n >= 5);
  CHECK(strcmp(names[0], "fragmentation-aware") == 0);
  small = 2;
  CHECK_FAILS(VGPU_E_BUFFER_TOO_SMALL, vgpu_policy_names(names, &small));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_policy_names(names, NULL));
}

static void test_init_functions(void) {
  vgpu_manager_options_t o;
  memset(&o, 0xff, sizeof o);
  vgpu_manager_options_init(&o, VGPU_MANAGER_OPTIONS_VERSION);
  CHECK(o.version == VGPU_MANAGER_OPTIONS_VERSION && o.backend == NULL && !o.private_ledger);
  vgpu_request_t r;
  memset(&r, 0xff, sizeof r);
  vgpu_request_init(&r, VGPU_REQUEST_VERSION);
  CHECK(r.version == VGPU_REQUEST_VERSION && r.type == NULL && r.count == 0);
  vgpu_gpu_info_t g;
  vgpu_gpu_info_init(&g, VGPU_GPU_INFO_VERSION);
  CHECK(g.version == VGPU_GPU_INFO_VERSION && g.pci_address[0] == '\0');
  vgpu_type_info_t t;
  vgpu_type_info_init(&t, VGPU_TYPE_INFO_VERSION);
  CHECK(t.version == VGPU_TYPE_INFO_VERSION);
  vgpu_availability_t a;
  vgpu_availability_init(&a, VGPU_AVAILABILITY_VERSION);
  CHECK(a.version == VGPU_AVAILABILITY_VERSION);
  vgpu_instance_info_t i;
  vgpu_instance_info_init(&i, VGPU_INSTANCE_INFO_VERSION);
  CHECK(i.version == VGPU_INSTANCE_INFO_VERSION);
  /* NULL is ignored; an unknown version is stamped so the next call explains it. */
  vgpu_request_init(NULL, VGPU_REQUEST_VERSION);
  vgpu_request_init(&r, 77);
  CHECK(r.version == 77);
}

static void test_open_errors(void) {
  vgpu_manager_t* m = (vgpu_manager_t*)&scratch; /* must stay untouched on failure */
  vgpu_manager_options_t o = VGPU_MANAGER_OPTIONS_INIT;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_open(NULL, &o));

  o.version = 0;
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_open(&m, &o));
  CHECK_MESSAGE("vgpu_manager_options_t has version 0");
  o.version = VGPU_MANAGER_OPTIONS_VERSION + 1;
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_open(&m, &o));
  CHECK_MESSAGE("newer vgpu.h");
  o.version = VGPU_MANAGER_OPTIONS_VERSION;

  o.backend = "no-such-backend";
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_open(&m, &o));
  o.backend = NULL;

  o.policy = "fastest";
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_open(&m, &o));
  CHECK_MESSAGE("best-fit");
  o.policy = NULL;

  o.catalog_count = 2;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_open(&m, &o));
  CHECK_MESSAGE("catalogs is NULL");
  o.catalog_count = 0;

  o.log_level = 9;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_open(&m, &o));
  o.log_level = 0;

  o.ledger = "/tmp/not-for-the-builtin-host";
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_open(&m, &o));
  o.ledger = NULL;

  o.sim_host = "/nonexistent/host.json";
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_open(&m, &o));
  o.sim_host = NULL;

  const char* catalogs[] = {"/nonexistent/catalog.json"};
  o.catalogs = catalogs;
  o.catalog_count = 1;
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_open(&m, &o));
  CHECK(m == (vgpu_manager_t*)&scratch);
}

static void test_handles(void) {
  vgpu_manager_t* m = open_builtin();
  size_t n = 0;
  CHECK_OK(vgpu_manager_gpus(NULL, &n, m));
  CHECK_OK(vgpu_manager_close(m));
  /* A closed handle, a foreign pointer and NULL are errors, never crashes. */
  CHECK_FAILS(VGPU_E_BAD_HANDLE, vgpu_manager_gpus(NULL, &n, m));
  CHECK_FAILS(VGPU_E_BAD_HANDLE, vgpu_manager_close(m));
  CHECK_FAILS(VGPU_E_BAD_HANDLE, vgpu_manager_gpus(NULL, &n, (vgpu_manager_t*)&scratch));
  CHECK_MESSAGE("not open");
  CHECK_FAILS(VGPU_E_BAD_HANDLE, vgpu_manager_gpus(NULL, &n, NULL));
  CHECK_MESSAGE("NULL");
  CHECK_FAILS(VGPU_E_BAD_HANDLE, vgpu_manager_destroy(NULL, "x"));
  vgpu_manager_info_t info = VGPU_MANAGER_INFO_INIT;
  CHECK_FAILS(VGPU_E_BAD_HANDLE, vgpu_manager_describe(&info, NULL));
  CHECK_FAILS(VGPU_E_BAD_HANDLE, vgpu_manager_set_log(NULL, NULL, 0, NULL));
  CHECK_OK(vgpu_manager_close(NULL));
}

static void test_info(void) {
  vgpu_manager_t* m = open_builtin();
  vgpu_manager_info_t info = VGPU_MANAGER_INFO_INIT;
  CHECK_OK(vgpu_manager_describe(&info, m));
  CHECK(info.gpu_count == 7);
  CHECK(strcmp(info.backend, "sim") == 0);
  CHECK(strcmp(info.policy, "fragmentation-aware") == 0);
  CHECK(strcmp(info.ledger, "") == 0); /* the built-in host's ledger is private */
  CHECK(!info.ledger_rebuilt && !info.ledger_replayed);
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_describe(NULL, m));
  vgpu_manager_info_t zero;
  memset(&zero, 0, sizeof zero);
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_describe(&zero, m));
  vgpu_manager_close(m);
}

static void test_gpus(void) {
  vgpu_manager_t* m = open_builtin();
  size_t n = 0;
  CHECK_OK(vgpu_manager_gpus(NULL, &n, m));
  CHECK(n == 7);
  vgpu_gpu_info_t gpus[7];
  gpus[0] = (vgpu_gpu_info_t)VGPU_GPU_INFO_INIT;
  CHECK_OK(vgpu_manager_gpus(gpus, &n, m));
  int a16 = 0, l40s_mixed = 0, a100_mig = 0;
  for (size_t i = 0; i < n; ++i) {
    CHECK(gpus[i].version == VGPU_GPU_INFO_VERSION);
    CHECK(gpus[i].index == i);
    CHECK(strlen(gpus[i].pci_address) == 12);
    CHECK(gpus[i].vgpu_count == 0 && gpus[i].used_framebuffer_bytes == 0);
    a16 += strcmp(gpus[i].model, "NVIDIA A16") == 0 && gpus[i].framebuffer_bytes == 16 * GIB;
    l40s_mixed += strstr(gpus[i].model, "L40S") != NULL && gpus[i].mode == VGPU_MODE_MIXED_SIZE;
    a100_mig += strstr(gpus[i].model, "A100") != NULL && gpus[i].mode == VGPU_MODE_MIG;
  }
  CHECK(a16 == 4 && l40s_mixed == 2 && a100_mig == 1);
  if (n > 1) CHECK(strcmp(gpus[0].pci_address, gpus[1].pci_address) < 0);

  /* Too small: the need comes back, the array stays untouched. */
  vgpu_gpu_info_t two[2];
  two[0] = (vgpu_gpu_info_t)VGPU_GPU_INFO_INIT;
  two[1] = (vgpu_gpu_info_t)VGPU_GPU_INFO_INIT;
  size_t cap = 2;
  CHECK_FAILS(VGPU_E_BUFFER_TOO_SMALL, vgpu_manager_gpus(two, &cap, m));
  CHECK(cap == 7);
  CHECK(two[0].pci_address[0] == '\0');
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_gpus(gpus, NULL, m));
  gpus[0].version = 0;
  n = 7;
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_gpus(gpus, &n, m));
  gpus[0].version = 1000;
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_gpus(gpus, &n, m));
  vgpu_manager_close(m);
}

static void test_types_and_find_type(void) {
  vgpu_manager_t* m = open_builtin();
  char a16[VGPU_PCI_ADDRESS_SIZE];
  first_gpu_of(a16, m, "NVIDIA A16");
  size_t n = 0;
  CHECK_OK(vgpu_manager_types(NULL, &n, m, a16));
  CHECK(n >= 10);
  vgpu_type_info_t* types = calloc(n, sizeof *types);
  vgpu_type_info_init(&types[0], VGPU_TYPE_INFO_VERSION);
  CHECK_OK(vgpu_manager_types(types, &n, m, a16));
  int found = 0;
  for (size_t i = 0; i < n; ++i)
    if (strcmp(types[i].name, "A16-2Q") == 0) {
      found = 1;
      CHECK(types[i].framebuffer_bytes == 2 * GIB);
      CHECK(types[i].series == 'Q');
      CHECK(types[i].max_heads == 4);
      CHECK(types[i].max_resolution_width == 3840 && types[i].max_resolution_height == 2400);
      CHECK(types[i].max_instances == 8);
      CHECK(strcmp(types[i].model, "NVIDIA A16") == 0);
      CHECK(!types[i].mig_backed);
    }
  CHECK(found);
  free(types);

  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_types(NULL, &n, m, "not-an-address"));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_types(NULL, &n, m, NULL));
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_types(NULL, &n, m, "0000:ff:1f.7"));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_types(NULL, NULL, m, a16));

  /* A MIG-backed type carries its profile and placements. */
  vgpu_type_info_t t = VGPU_TYPE_INFO_INIT;
  CHECK_OK(vgpu_manager_find_type(&t, m, "A100D-3-40C"));
  CHECK(t.mig_backed && t.mig_profile[0] != '\0' && t.placement_count > 0);
  CHECK(t.framebuffer_bytes == 40 * GIB);
  CHECK_OK(vgpu_manager_find_type(&t, m, "nvidia a16-2q")); /* loose spelling */
  CHECK(strcmp(t.name, "A16-2Q") == 0);
  vgpu_type_info_t keep = t;
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_find_type(&t, m, "A16-3Q"));
  CHECK(memcmp(&keep, &t, sizeof t) == 0);
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_find_type(&t, m, NULL));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_find_type(NULL, m, "A16-2Q"));
  t.version = 0;
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_find_type(&t, m, "A16-2Q"));
  vgpu_manager_close(m);
}

static void test_create_destroy(void) {
  vgpu_manager_t* m = open_builtin();
  vgpu_request_t r = VGPU_REQUEST_INIT;
  r.type = "A16-4Q";
  r.count = 2;
  r.owner = "vm-1";
  r.vm_uuid = "0b7a4a70-1111-4222-8333-944455556666";
  vgpu_instance_info_t made[2];
  made[0] = (vgpu_instance_info_t)VGPU_INSTANCE_INFO_INIT;
  CHECK_OK(vgpu_manager_create(made, 2, m, &r));
  CHECK(strcmp(made[0].type, "A16-4Q") == 0 && strcmp(made[1].type, "A16-4Q") == 0);
  CHECK(strcmp(made[0].gpu, made[1].gpu) != 0); /* one VM's vGPUs on distinct GPUs */
  CHECK(made[0].state == VGPU_STATE_ACTIVE);
  CHECK(strcmp(made[0].owner, "vm-1") == 0);
  CHECK(strcmp(made[0].vm_uuid, r.vm_uuid) == 0);
  CHECK(made[0].pid == (uint32_t)getpid());
  CHECK(made[0].created_at_us > 0 && made[0].updated_at_us >= made[0].created_at_us);
  CHECK(instance_count(m) == 2);

  vgpu_instance_info_t one = VGPU_INSTANCE_INFO_INIT;
  CHECK_OK(vgpu_manager_instance(&one, m, made[1].uuid));
  CHECK(strcmp(one.gpu, made[1].gpu) == 0 && one.placement == made[1].placement);

  /* The GPU now shows the vGPU. */
  vgpu_gpu_info_t gpus[7];
  size_t n = 7;
  gpus[0] = (vgpu_gpu_info_t)VGPU_GPU_INFO_INIT;
  CHECK_OK(vgpu_manager_gpus(gpus, &n, m));
  uint32_t total = 0;
  for (size_t i = 0; i < n; ++i)
    total += gpus[i].vgpu_count;
  CHECK(total == 2);

  /* Creatable: the A16 that holds a 4Q has 3 more 4Q and nothing of another size. */
  vgpu_availability_t avail[32];
  size_t an = 32;
  avail[0] = (vgpu_availability_t)VGPU_AVAILABILITY_INIT;
  CHECK_OK(vgpu_manager_creatable(avail, &an, m, made[0].gpu));
  int four_q = 0;
  for (size_t i = 0; i < an; ++i) {
    if (strcmp(avail[i].type, "A16-4Q") == 0) four_q = (int)avail[i].remaining;
    CHECK(strstr(avail[i].type, "-4") != NULL);
  }
  CHECK(four_q == 3);
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_creatable(avail, &an, m, "0000:ff:00.0"));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_creatable(avail, NULL, m, made[0].gpu));

  /* A capacity too small is refused before anything is created. */
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(made, 1, m, &r));
  CHECK(instance_count(m) == 2);

  /* Output is optional. */
  vgpu_request_t single = VGPU_REQUEST_INIT;
  single.type = "L40S-12Q";
  CHECK_OK(vgpu_manager_create(NULL, 0, m, &single));
  CHECK(instance_count(m) == 3);

  CHECK_OK(vgpu_manager_destroy(m, made[0].uuid));
  CHECK_OK(vgpu_manager_destroy(m, made[1].uuid));
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_destroy(m, made[1].uuid));
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_instance(&one, m, made[1].uuid));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_destroy(m, "not-a-uuid"));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_destroy(m, NULL));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_instance(&one, m, "zz"));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_instance(NULL, m, made[1].uuid));
  CHECK(instance_count(m) == 1);
  vgpu_manager_close(m);
}

static void test_create_by_requirement_and_constraints(void) {
  vgpu_manager_t* m = open_builtin();
  vgpu_request_t r = VGPU_REQUEST_INIT;
  r.min_framebuffer_bytes = 3 * GIB;
  r.series = 'Q';
  r.model = "A16";
  vgpu_instance_info_t v = VGPU_INSTANCE_INFO_INIT;
  CHECK_OK(vgpu_manager_create(&v, 1, m, &r));
  CHECK(strcmp(v.type, "A16-4Q") == 0); /* the smallest Q type with at least 3 GiB */

  /* Only the GPU named, at the slot named. */
  char l40s[VGPU_PCI_ADDRESS_SIZE];
  first_gpu_of(l40s, m, "NVIDIA L40S");
  const char* allowed[] = {l40s};
  vgpu_request_t p = VGPU_REQUEST_INIT;
  p.type = "L40S-8Q";
  p.allowed_gpus = allowed;
  p.allowed_gpu_count = 1;
  p.has_placement = true;
  p.placement = 16;
  CHECK_OK(vgpu_manager_create(&v, 1, m, &p));
  CHECK(strcmp(v.gpu, l40s) == 0 && v.placement == 16);
  /* The same slot again overlaps. */
  CHECK_FAILS(VGPU_E_NO_CAPACITY, vgpu_manager_create(&v, 1, m, &p));

  /* Denied GPUs are avoided. */
  vgpu_request_t d = VGPU_REQUEST_INIT;
  d.type = "L40S-8Q";
  d.denied_gpus = allowed;
  d.denied_gpu_count = 1;
  CHECK_OK(vgpu_manager_create(&v, 1, m, &d));
  CHECK(strcmp(v.gpu, l40s) != 0);

  /* Chosen UUIDs are used; using one again is a conflict. */
  const char* uuids[] = {"11111111-2222-4333-8444-555555555555"};
  vgpu_request_t u = VGPU_REQUEST_INIT;
  u.type = "A16-1B";
  u.uuids = uuids;
  u.uuid_count = 1;
  CHECK_OK(vgpu_manager_create(&v, 1, m, &u));
  CHECK(strcmp(v.uuid, uuids[0]) == 0);
  CHECK_FAILS(VGPU_E_CONFLICT, vgpu_manager_create(&v, 1, m, &u));
  vgpu_manager_close(m);
}

static void test_create_errors(void) {
  vgpu_manager_t* m = open_builtin();
  vgpu_instance_info_t v = VGPU_INSTANCE_INFO_INIT;
  vgpu_request_t r = VGPU_REQUEST_INIT;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, NULL));

  r.type = "A16-3Q";
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_create(&v, 1, m, &r));
  r.type = "A16-16Q";
  r.count = 5; /* four A16 GPUs, one 16Q each */
  vgpu_instance_info_t five[5];
  five[0] = (vgpu_instance_info_t)VGPU_INSTANCE_INFO_INIT;
  CHECK_FAILS(VGPU_E_NO_CAPACITY, vgpu_manager_create(five, 5, m, &r));
  CHECK(instance_count(m) == 0); /* all or nothing */

  vgpu_request_t both = VGPU_REQUEST_INIT;
  both.type = "A16-2Q";
  both.min_heads = 2;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, &both));
  CHECK_MESSAGE("one or the other");

  vgpu_request_t bad = VGPU_REQUEST_INIT;
  bad.series = 'X';
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, &bad));
  bad.series = 0;
  bad.min_resolution_width = 1920;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, &bad));
  bad.min_resolution_width = 0;
  bad.affinity = 7;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, &bad));
  bad.affinity = VGPU_AFFINITY_NONE;
  bad.vm_uuid = "vm";
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, &bad));
  bad.vm_uuid = NULL;
  bad.allowed_gpu_count = 1;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, &bad));
  bad.allowed_gpu_count = 0;
  const char* nowhere[] = {"0000:99:00.0"};
  bad.allowed_gpus = nowhere;
  bad.allowed_gpu_count = 1;
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_create(&v, 1, m, &bad));
  bad.allowed_gpus = NULL;
  bad.allowed_gpu_count = 0;
  const char* two_uuids[] = {"11111111-2222-4333-8444-555555555555",
                             "11111111-2222-4333-8444-555555555556"};
  bad.uuids = two_uuids;
  bad.uuid_count = 2; /* count is 1 */
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, &bad));
  bad.uuids = NULL;
  bad.uuid_count = 0;
  bad.owner =
      "an owner name that is far too long for the ledger, which keeps seventy-one "
      "bytes at most";
  bad.type = "A16-2Q";
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_create(&v, 1, m, &bad));

  vgpu_request_t old = VGPU_REQUEST_INIT;
  old.version = 0;
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_create(&v, 1, m, &old));
  vgpu_request_t ok = VGPU_REQUEST_INIT;
  ok.type = "A16-2Q";
  v.version = 0;
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_create(&v, 1, m, &ok));
  CHECK(instance_count(m) == 0);
  vgpu_manager_close(m);
}

static void test_plan(void) {
  vgpu_manager_t* m = open_builtin();
  vgpu_request_t a = VGPU_REQUEST_INIT, b = VGPU_REQUEST_INIT, c = VGPU_REQUEST_INIT;
  a.type = "A16-8Q";
  a.count = 2;
  b.type = "A16-16Q";
  b.count = 9; /* cannot fit */
  c.min_framebuffer_bytes = 10 * GIB;
  const vgpu_request_t* batch[] = {&a, &b, &c};
  vgpu_plan_entry_t* plan = NULL;
  size_t n = 0;
  CHECK_OK(vgpu_manager_plan(&plan, &n, m, batch, 3, VGPU_PLAN_ENTRY_VERSION));
  CHECK(n == 4); /* two for a, one refusal for b, one for c */
  int placed_a = 0, refused_b = 0, placed_c = 0;
  for (size_t i = 0; plan != NULL && i < n; ++i) {
    CHECK(plan[i].version == VGPU_PLAN_ENTRY_VERSION);
    if (plan[i].request == 0 && plan[i].status == VGPU_OK)
      placed_a += strcmp(plan[i].type, "A16-8Q") == 0 && strlen(plan[i].uuid) == 36;
    if (plan[i].request == 1)
      refused_b += plan[i].status == VGPU_E_NO_CAPACITY && strlen(plan[i].reason) > 0;
    if (plan[i].request == 2) placed_c += plan[i].status == VGPU_OK && plan[i].gpu[0] != '\0';
  }
  CHECK(placed_a == 2 && refused_b == 1 && placed_c == 1);
  vgpu_free(plan);
  CHECK(instance_count(m) == 0); /* planning creates nothing */

  plan = NULL;
  CHECK_OK(vgpu_manager_plan(&plan, &n, m, NULL, 0, VGPU_PLAN_ENTRY_VERSION));
  CHECK(n == 0 && plan == NULL);
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT,
              vgpu_manager_plan(&plan, &n, m, NULL, 2, VGPU_PLAN_ENTRY_VERSION));
  const vgpu_request_t* holes[] = {&a, NULL};
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT,
              vgpu_manager_plan(&plan, &n, m, holes, 2, VGPU_PLAN_ENTRY_VERSION));
  CHECK_MESSAGE("requests[1]");
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_plan(&plan, &n, m, batch, 3, 0));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT,
              vgpu_manager_plan(NULL, &n, m, batch, 3, VGPU_PLAN_ENTRY_VERSION));
  vgpu_manager_close(m);
}

static void test_explain(void) {
  vgpu_manager_t* m = open_builtin();
  vgpu_request_t r = VGPU_REQUEST_INIT;
  r.type = "A16-2Q";
  vgpu_verdict_t* v = NULL;
  size_t n = 0;
  CHECK_OK(vgpu_manager_explain(&v, &n, m, &r, VGPU_VERDICT_VERSION));
  CHECK(n == 7);
  int eligible = 0, chosen = 0, reasons = 0;
  for (size_t i = 0; v != NULL && i < n; ++i) {
    eligible += v[i].eligible;
    chosen += v[i].chosen;
    reasons += !v[i].eligible && strlen(v[i].reason) > 0; /* L40S and A100 say why not */
  }
  CHECK(eligible == 4 && chosen == 1 && reasons == 3);
  vgpu_free(v);
  vgpu_request_t unknown = VGPU_REQUEST_INIT;
  unknown.type = "A16-5Q";
  CHECK_FAILS(VGPU_E_NOT_FOUND, vgpu_manager_explain(&v, &n, m, &unknown, VGPU_VERDICT_VERSION));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_explain(&v, &n, m, NULL, VGPU_VERDICT_VERSION));
  /* A request the engine rejects outright is an error, not an empty list of verdicts (found
     by the API-sequence fuzzer). */
  vgpu_request_t two_at_one_slot = VGPU_REQUEST_INIT;
  two_at_one_slot.type = "A16-2Q";
  two_at_one_slot.count = 2;
  two_at_one_slot.has_placement = true;
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT,
              vgpu_manager_explain(&v, &n, m, &two_at_one_slot, VGPU_VERDICT_VERSION));
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_explain(&v, &n, m, &r, 2));
  vgpu_manager_close(m);
}

struct log_sink {
  int messages;
  int created;
  int below_level;
  int min_level;
};

static void on_log(int level, const char* message, void* payload) {
  struct log_sink* sink = payload;
  ++sink->messages;
  if (strstr(message, "created") != NULL) ++sink->created;
  if (level < sink->min_level) ++sink->below_level;
}

static void test_logging(void) {
  struct log_sink sink = {0, 0, 0, VGPU_LOG_INFO};
  vgpu_manager_options_t o = VGPU_MANAGER_OPTIONS_INIT;
  o.log_fn = on_log;
  o.log_payload = &sink;
  o.log_level = VGPU_LOG_INFO;
  vgpu_manager_t* m = NULL;
  CHECK_OK(vgpu_manager_open(&m, &o));
  vgpu_request_t r = VGPU_REQUEST_INIT;
  r.type = "A16-2Q";
  CHECK_OK(vgpu_manager_create(NULL, 0, m, &r));
  CHECK(sink.created == 1 && sink.below_level == 0);

  /* Only warnings and errors now: a failed create warns, a successful one says nothing. */
  sink.min_level = VGPU_LOG_WARNING;
  CHECK_OK(vgpu_manager_set_log(m, on_log, VGPU_LOG_WARNING, &sink));
  CHECK_OK(vgpu_manager_create(NULL, 0, m, &r));
  CHECK(sink.created == 1 && sink.below_level == 0);

  CHECK_OK(vgpu_manager_set_log(m, NULL, 0, NULL));
  const int before = sink.messages;
  CHECK_OK(vgpu_manager_create(NULL, 0, m, &r));
  CHECK(sink.messages == before);
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_set_log(m, on_log, 4, &sink));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_set_log(m, on_log, -1, &sink));
  vgpu_manager_close(m);
}

struct policy_state {
  int calls;
  int saw_version;
};

/* Prefers L40S GPUs, then the least used GPU: a policy a C program might write. */
static double prefer_l40s(const vgpu_candidate_t* c, void* payload) {
  struct policy_state* s = payload;
  ++s->calls;
  s->saw_version = (int)c->version;
  const double model = strstr(c->model, "L40S") != NULL ? 0.0 : 1e12;
  return model + (double)c->used_framebuffer_bytes;
}

static double always_nan(const vgpu_candidate_t* c, void* payload) {
  (void)c;
  (void)payload;
  return NAN;
}

static void test_custom_policy(void) {
  struct policy_state s = {0, 0};
  vgpu_manager_options_t o = VGPU_MANAGER_OPTIONS_INIT;
  o.policy = "l40s-first";
  o.policy_fn = prefer_l40s;
  o.policy_payload = &s;
  vgpu_manager_t* m = NULL;
  CHECK_OK(vgpu_manager_open(&m, &o));
  vgpu_manager_info_t info = VGPU_MANAGER_INFO_INIT;
  CHECK_OK(vgpu_manager_describe(&info, m));
  CHECK(strcmp(info.policy, "l40s-first") == 0);
  vgpu_request_t r = VGPU_REQUEST_INIT;
  r.min_framebuffer_bytes = 4 * GIB;
  r.series = 'Q';
  vgpu_instance_info_t v = VGPU_INSTANCE_INFO_INIT;
  CHECK_OK(vgpu_manager_create(&v, 1, m, &r));
  CHECK(strncmp(v.type, "L40S", 4) == 0);
  CHECK(s.calls > 0 && s.saw_version == VGPU_CANDIDATE_VERSION);
  vgpu_manager_close(m);

  /* A NaN score counts as +infinity: every GPU is equally bad, and placement still works. */
  o.policy = NULL;
  o.policy_fn = always_nan;
  CHECK_OK(vgpu_manager_open(&m, &o));
  CHECK_OK(vgpu_manager_describe(&info, m));
  CHECK(strcmp(info.policy, "custom") == 0);
  CHECK_OK(vgpu_manager_create(&v, 1, m, &r));
  vgpu_manager_close(m);
}

/* A simulated host file in a private directory; shared by the managers that name it. */
static void make_host_file(char* dir, char* host, char* ledger) {
  strcpy(dir, "/tmp/vgpu-capi-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  sprintf(host, "%s/host.json", dir);
  sprintf(ledger, "%s/host.json.ledger", dir);
  FILE* f = fopen(host, "w");
  CHECK(f != NULL);
  if (f == NULL) return;
  fputs("{\"gpus\": [{\"model\": \"A16\", \"count\": 2}]}\n", f);
  fclose(f);
}

static void remove_dir(const char* dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

static void test_shared_host_reconcile(void) {
  char dir[64], host[128], ledger[128], other[128];
  make_host_file(dir, host, ledger);
  vgpu_manager_options_t o = VGPU_MANAGER_OPTIONS_INIT;
  o.sim_host = host;
  vgpu_manager_t *a = NULL, *b = NULL;
  CHECK_OK(vgpu_manager_open(&a, &o));
  vgpu_manager_info_t info = VGPU_MANAGER_INFO_INIT;
  CHECK_OK(vgpu_manager_describe(&info, a));
  CHECK(strcmp(info.ledger, ledger) == 0);
  vgpu_request_t r = VGPU_REQUEST_INIT;
  r.type = "A16-2Q";
  vgpu_instance_info_t v = VGPU_INSTANCE_INFO_INIT;
  CHECK_OK(vgpu_manager_create(&v, 1, a, &r));

  /* A second manager on the same host and ledger sees the vGPU. */
  CHECK_OK(vgpu_manager_open(&b, &o));
  CHECK(instance_count(b) == 1);

  /* A manager with another ledger, not reconciled at open, adopts it on reconcile. */
  vgpu_manager_t* c = NULL;
  sprintf(other, "%s/other.ledger", dir);
  o.ledger = other;
  o.skip_reconcile_on_open = true;
  CHECK_OK(vgpu_manager_open(&c, &o));
  CHECK(instance_count(c) == 0);
  vgpu_repair_t* repairs = NULL;
  size_t n = 0, in_progress = 99;
  CHECK_OK(vgpu_manager_reconcile(&repairs, &n, &in_progress, c, VGPU_REPAIR_VERSION));
  CHECK(n == 1 && in_progress == 0);
  if (n == 1 && repairs != NULL) {
    CHECK(repairs[0].kind == VGPU_REPAIR_ADOPTED);
    CHECK(strcmp(repairs[0].uuid, v.uuid) == 0);
    CHECK(strlen(repairs[0].text) > 0);
  }
  vgpu_free(repairs);
  CHECK_OK(vgpu_manager_reconcile(NULL, &n, NULL, c, VGPU_REPAIR_VERSION));
  CHECK(n == 0);
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT,
              vgpu_manager_reconcile(NULL, NULL, NULL, c, VGPU_REPAIR_VERSION));
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_reconcile(NULL, &n, NULL, c, 0));

  /* Destroyed through a, released through the reconcile of c. */
  CHECK_OK(vgpu_manager_destroy(a, v.uuid));
  CHECK(instance_count(b) == 0);
  CHECK_OK(vgpu_manager_reconcile(&repairs, &n, NULL, c, VGPU_REPAIR_VERSION));
  CHECK(n == 1 && repairs != NULL && repairs[0].kind == VGPU_REPAIR_RELEASED_VANISHED);
  vgpu_free(repairs);
  vgpu_manager_close(c);
  vgpu_manager_close(b);
  vgpu_manager_close(a);
  remove_dir(dir);
}

/* A ledger that belongs to another user is refused (as root: chown it to nobody). */
static void test_foreign_ledger_refused(void) {
  if (geteuid() != 0) {
    printf("  (skipped: needs root to give a file to another user)\n");
    return;
  }
  char dir[64], host[128], ledger[128];
  make_host_file(dir, host, ledger);
  FILE* f = fopen(ledger, "w");
  CHECK(f != NULL);
  if (f != NULL) fclose(f);
  CHECK(chmod(ledger, 0600) == 0 && chown(ledger, 65534, 65534) == 0);
  vgpu_manager_options_t o = VGPU_MANAGER_OPTIONS_INIT;
  o.sim_host = host;
  vgpu_manager_t* m = (vgpu_manager_t*)&scratch;
  CHECK_FAILS(VGPU_E_PERMISSION, vgpu_manager_open(&m, &o));
  CHECK_MESSAGE("uid 65534");
  CHECK(m == (vgpu_manager_t*)&scratch);
  remove_dir(dir);
}

static void test_apply_restore(void) {
  char dir[64], host[128], ledger[128];
  make_host_file(dir, host, ledger);
  vgpu_manager_options_t o = VGPU_MANAGER_OPTIONS_INIT;
  o.sim_host = host;
  vgpu_manager_t* m = NULL;
  CHECK_OK(vgpu_manager_open(&m, &o));
  const char* state = "{\"vgpus\": [{\"type\": \"A16-2Q\", \"count\": 3}]}";
  vgpu_apply_summary_t s = VGPU_APPLY_SUMMARY_INIT;
  CHECK_OK(vgpu_manager_apply(&s, m, state, VGPU_APPLY_DRY_RUN));
  CHECK(s.created == 3 && instance_count(m) == 0);
  CHECK_OK(vgpu_manager_apply(&s, m, state, 0));
  CHECK(s.created == 3 && s.kept == 0 && instance_count(m) == 3);
  CHECK_OK(vgpu_manager_apply(&s, m, state, 0)); /* idempotent */
  CHECK(s.created == 0 && s.kept == 3);
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_apply(&s, m, "{\"vgpu\": []}", 0));
  CHECK_MESSAGE("vgpu");
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_apply(&s, m, state, 1u << 7));
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_apply(&s, m, NULL, 0));
  CHECK_FAILS(VGPU_E_NO_CAPACITY,
              vgpu_manager_apply(&s, m, "{\"vgpus\": [{\"type\": \"A16-16Q\", \"count\": 3}]}", 0));
  CHECK(instance_count(m) == 3);

  /* "Reboot": the vGPUs vanish from the simulated host; restore brings them back. */
  vgpu_instance_info_t all[3];
  size_t n = 3;
  all[0] = (vgpu_instance_info_t)VGPU_INSTANCE_INFO_INIT;
  CHECK_OK(vgpu_manager_instances(all, &n, m));
  for (size_t i = 0; i < n; ++i)
    CHECK_OK(vgpu_manager_destroy(m, all[i].uuid));
  CHECK_OK(vgpu_manager_restore(&s, m));
  CHECK(s.created == 3 && instance_count(m) == 3);
  CHECK_OK(vgpu_manager_restore(NULL, m));
  vgpu_apply_summary_t zero;
  memset(&zero, 0, sizeof zero);
  CHECK_FAILS(VGPU_E_VERSION_MISMATCH, vgpu_manager_restore(&zero, m));
  vgpu_manager_close(m);
  remove_dir(dir);
}

static void test_instances_list(void) {
  vgpu_manager_t* m = open_builtin();
  vgpu_request_t r = VGPU_REQUEST_INIT;
  r.type = "A16-1Q";
  r.count = 3;
  CHECK_OK(vgpu_manager_create(NULL, 0, m, &r));
  size_t n = 0;
  CHECK_OK(vgpu_manager_instances(NULL, &n, m));
  CHECK(n == 3);
  vgpu_instance_info_t list[3];
  list[0] = (vgpu_instance_info_t)VGPU_INSTANCE_INFO_INIT;
  size_t small = 2;
  CHECK_FAILS(VGPU_E_BUFFER_TOO_SMALL, vgpu_manager_instances(list, &small, m));
  CHECK(small == 3);
  CHECK_OK(vgpu_manager_instances(list, &small, m));
  for (size_t i = 0; i < 3; ++i)
    CHECK(list[i].version == VGPU_INSTANCE_INFO_VERSION && strcmp(list[i].type, "A16-1Q") == 0);
  CHECK_FAILS(VGPU_E_INVALID_ARGUMENT, vgpu_manager_instances(list, NULL, m));
  vgpu_manager_close(m);
}

int main(void) {
  RUN(test_version_and_features);
  RUN(test_status_names);
  RUN(test_last_error_and_free);
  RUN(test_name_lists);
  RUN(test_init_functions);
  RUN(test_open_errors);
  RUN(test_handles);
  RUN(test_info);
  RUN(test_gpus);
  RUN(test_types_and_find_type);
  RUN(test_create_destroy);
  RUN(test_create_by_requirement_and_constraints);
  RUN(test_create_errors);
  RUN(test_instances_list);
  RUN(test_plan);
  RUN(test_explain);
  RUN(test_logging);
  RUN(test_custom_policy);
  RUN(test_shared_host_reconcile);
  RUN(test_foreign_ledger_refused);
  RUN(test_apply_restore);
  return check_summary();
}
