/*
 * harness.h - the tiny test framework every conformance test in test/syscalls uses.
 *
 * A test binary holds many cases. Run with no argument it lists the case names,
 * one per line; run with a case name it runs that case alone and exits 0 when it
 * passes, or prints "FAIL <case>: <why>" to stderr and exits 1. The Go harness
 * (syscalls_test.go) runs every case natively first and then under sbx.
 *
 * The helpers make raw system calls through syscall(2) where libc would hide the
 * kernel's answer (errno values, bad pointers), so the test checks the kernel.
 */
#ifndef SBX_HARNESS_H
#define SBX_HARNESS_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sbx_case_fn)(void);
struct sbx_case { const char *name; sbx_case_fn fn; };

#define SBX_MAX_CASES 256
static struct sbx_case sbx_cases[SBX_MAX_CASES];
static int sbx_ncases;
static const char *sbx_current;

#define TEST(id)                                                           \
  static void sbx_test_##id(void);                                         \
  __attribute__((constructor)) static void sbx_register_##id(void) {       \
    sbx_cases[sbx_ncases].name = #id;                                      \
    sbx_cases[sbx_ncases++].fn = sbx_test_##id;                            \
  }                                                                        \
  static void sbx_test_##id(void)

#define FAILF(...)                                                         \
  do {                                                                     \
    fprintf(stderr, "FAIL %s (%s:%d): ", sbx_current, __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__);                                          \
    fprintf(stderr, "\n");                                                 \
    exit(1);                                                               \
  } while (0)

/* CHECK(cond): the condition must hold. */
#define CHECK(cond)                                                        \
  do { if (!(cond)) FAILF("check failed: %s (errno=%d %s)", #cond, errno,  \
                          strerror(errno)); } while (0)

/* CHECK_EQ(a, b): both sides as long long. */
#define CHECK_EQ(a, b)                                                     \
  do { long long _a = (long long)(a), _b = (long long)(b);                 \
       if (_a != _b) FAILF("%s == %lld, want %s == %lld", #a, _a, #b, _b); \
  } while (0)

/* CHECK_ERRNO(expr, err): expr must return -1 with errno == err. */
#define CHECK_ERRNO(expr, err)                                             \
  do { errno = 0; long long _r = (long long)(expr);                        \
       if (_r != -1 || errno != (err))                                     \
         FAILF("%s returned %lld errno %d (%s), want -1 errno %d (%s)",    \
               #expr, _r, errno, strerror(errno), err, strerror(err));     \
  } while (0)

/* CHECK_OK(expr): expr must not return -1. */
#define CHECK_OK(expr)                                                     \
  do { errno = 0; long long _r = (long long)(expr);                        \
       if (_r == -1) FAILF("%s failed: errno %d (%s)", #expr, errno,       \
                           strerror(errno)); } while (0)

int main(int argc, char **argv) {
  if (argc < 2) {
    for (int i = 0; i < sbx_ncases; i++) printf("%s\n", sbx_cases[i].name);
    return 0;
  }
  for (int i = 0; i < sbx_ncases; i++) {
    if (strcmp(sbx_cases[i].name, argv[1]) == 0) {
      sbx_current = sbx_cases[i].name;
      sbx_cases[i].fn();
      return 0;
    }
  }
  fprintf(stderr, "no case named %s\n", argv[1]);
  return 2;
}

#endif
