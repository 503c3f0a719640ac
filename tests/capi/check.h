/* A tiny test harness for the C ABI tests: they use nothing but vgpu.h and libc, so they
   run as the C programs a hypervisor would write. Each failed check prints its line and the
   library's last error; main() ends with "N passed, N failed". */
#ifndef VGPU_TEST_CHECK_H
#define VGPU_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpu.h"

static int check_passed = 0;
static int check_failed = 0;

static void check_report(int ok, const char* file, int line, const char* what) {
  if (ok) {
    ++check_passed;
    return;
  }
  ++check_failed;
  fprintf(stderr, "%s:%d: FAILED: %s\n  last error: %s (%d) %s\n", file, line, what,
          vgpu_status_name(vgpu_last_error()->code), vgpu_last_error()->code,
          vgpu_last_error()->message);
}

/** A condition that must hold. */
#define CHECK(cond) check_report((cond) != 0, __FILE__, __LINE__, #cond)
/** A call that must succeed. */
#define CHECK_OK(call) check_report((call) == VGPU_OK, __FILE__, __LINE__, #call)
/** A call that must fail with @p status, leaving a non-empty message naming the problem. */
#define CHECK_FAILS(status, call)                                                      \
  do {                                                                                 \
    int check_rc_ = (call);                                                            \
    check_report(check_rc_ == (status) && vgpu_last_error()->code == (status) &&       \
                     vgpu_last_error()->message[0] != '\0',                            \
                 __FILE__, __LINE__, #call " fails with " #status);                    \
    if (check_rc_ != (status))                                                         \
      fprintf(stderr, "  returned %d (%s)\n", check_rc_, vgpu_status_name(check_rc_)); \
  } while (0)
/** The last error's message contains @p text. */
#define CHECK_MESSAGE(text)                                                            \
  check_report(strstr(vgpu_last_error()->message, (text)) != NULL, __FILE__, __LINE__, \
               "message contains \"" text "\"")

/** Runs one test function, naming it in the output. */
#define RUN(test)                                                        \
  do {                                                                   \
    int before_ = check_failed;                                          \
    test();                                                              \
    printf("%s %s\n", check_failed == before_ ? "ok  " : "FAIL", #test); \
  } while (0)

/** Prints the closing line and gives the exit status. */
static int check_summary(void) {
  printf("%d passed, %d failed\n", check_passed, check_failed);
  return check_failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
