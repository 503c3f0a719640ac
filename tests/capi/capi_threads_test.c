/* The C ABI's thread-safety promises, with POSIX threads: calls on one manager from many
   threads, a per-thread last error, and a manager closed while other threads are inside
   calls on it. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "vgpu.h"

enum { threads = 4, cycles = 200 };

static vgpu_manager_t* shared;
static atomic_int failures;

static void* churn(void* arg) {
  (void)arg;
  vgpu_request_t r = VGPU_REQUEST_INIT;
  r.type = "A16-1B";
  r.allow_shared_gpu = true;
  for (int i = 0; i < cycles; ++i) {
    vgpu_instance_info_t v = VGPU_INSTANCE_INFO_INIT;
    if (vgpu_manager_create(&v, 1, shared, &r) != VGPU_OK ||
        vgpu_manager_destroy(shared, v.uuid) != VGPU_OK)
      atomic_fetch_add(&failures, 1);
  }
  return NULL;
}

static void test_many_threads_one_manager(void) {
  CHECK_OK(vgpu_manager_open(&shared, NULL));
  pthread_t t[threads];
  for (int i = 0; i < threads; ++i)
    CHECK(pthread_create(&t[i], NULL, churn, NULL) == 0);
  for (int i = 0; i < threads; ++i)
    pthread_join(t[i], NULL);
  CHECK(atomic_load(&failures) == 0);
  size_t n = 99;
  CHECK_OK(vgpu_manager_instances(NULL, &n, shared));
  CHECK(n == 0);
  CHECK_OK(vgpu_manager_close(shared));
}

static int other_thread_code = 1;

static void* fail_in_other_thread(void* arg) {
  (void)arg;
  vgpu_manager_destroy(NULL, "x");
  other_thread_code = vgpu_last_error()->code;
  return NULL;
}

static void test_last_error_is_per_thread(void) {
  size_t n = 0;
  CHECK_OK(vgpu_backend_names(NULL, &n));
  pthread_t t;
  CHECK(pthread_create(&t, NULL, fail_in_other_thread, NULL) == 0);
  pthread_join(t, NULL);
  CHECK(other_thread_code == VGPU_E_BAD_HANDLE);
  CHECK(vgpu_last_error()->code == VGPU_OK);
}

static atomic_int calls_before_close;
static atomic_int bad_handles;
static atomic_int other_errors;

static void* query_until_closed(void* arg) {
  vgpu_manager_t* m = arg;
  for (;;) {
    vgpu_gpu_info_t gpus[8];
    size_t n = 8;
    gpus[0] = (vgpu_gpu_info_t)VGPU_GPU_INFO_INIT;
    const int rc = vgpu_manager_gpus(gpus, &n, m);
    if (rc == VGPU_E_BAD_HANDLE) {
      atomic_fetch_add(&bad_handles, 1);
      return NULL;
    }
    if (rc != VGPU_OK) atomic_fetch_add(&other_errors, 1);
    atomic_fetch_add(&calls_before_close, 1);
  }
}

static void test_close_while_in_use(void) {
  vgpu_manager_t* m = NULL;
  CHECK_OK(vgpu_manager_open(&m, NULL));
  pthread_t t[threads];
  for (int i = 0; i < threads; ++i)
    CHECK(pthread_create(&t[i], NULL, query_until_closed, m) == 0);
  while (atomic_load(&calls_before_close) < 200) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  CHECK_OK(vgpu_manager_close(m));
  for (int i = 0; i < threads; ++i)
    pthread_join(t[i], NULL);
  CHECK(atomic_load(&bad_handles) == threads);
  CHECK(atomic_load(&other_errors) == 0);
}

int main(void) {
  RUN(test_many_threads_one_manager);
  RUN(test_last_error_is_per_thread);
  RUN(test_close_while_in_use);
  return check_summary();
}
