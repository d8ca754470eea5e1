//go:build ignore

/*
 * misc.c - small self-contained calls: getrandom, sched_yield,
 * sched_getaffinity, getcwd, futex (without a second thread) and system call
 * numbers that do not exist.
 *
 * Follows getrandom(2) (DESCRIPTION, GRND_NONBLOCK, ERRORS), sched_yield(2),
 * sched_setaffinity(2) ("C library/kernel differences": the raw
 * sched_getaffinity returns the number of bytes copied, and EINVAL when the
 * mask is smaller than the kernel's), getcwd(3) ("C library/kernel
 * differences": the raw call returns the length including the NUL; ERANGE),
 * futex(2) (FUTEX_WAIT, FUTEX_WAKE, ERRORS: EAGAIN, ETIMEDOUT, EINVAL, ENOSYS)
 * and syscall(2)/syscalls(2) (an unknown number fails with ENOSYS).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"

#include <linux/futex.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL

static long long mono_ns(void) {
  struct timespec ts;
  if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0) FAILF("clock_gettime: %s", strerror(errno));
  return ts.tv_sec * NS + ts.tv_nsec;
}

static int count_zero(const unsigned char *p, int n) {
  int z = 0;
  for (int i = 0; i < n; i++) z += p[i] == 0;
  return z;
}

TEST(getrandom_fills_buffer) {
  unsigned char a[256], b[256];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  CHECK_EQ(syscall(SYS_getrandom, a, sizeof a, 0), sizeof a);
  CHECK_EQ(syscall(SYS_getrandom, b, sizeof b, 0), sizeof b);
  /* 256 random bytes: about one is zero; 32 zeroes would be absurd */
  CHECK(count_zero(a, sizeof a) < 32);
  CHECK(memcmp(a, b, sizeof a) != 0);
}

TEST(getrandom_exact_length_and_no_overrun) {
  unsigned char buf[64];
  memset(buf, 0xee, sizeof buf);
  CHECK_EQ(syscall(SYS_getrandom, buf, 16, 0), 16);
  for (int i = 16; i < 64; i++)
    if (buf[i] != 0xee) FAILF("byte %d past the requested 16 was written", i);
  CHECK_EQ(syscall(SYS_getrandom, buf, 0, 0), 0);
}

TEST(getrandom_nonblock) {
  unsigned char buf[32];
  memset(buf, 0, sizeof buf);
  CHECK_EQ(syscall(SYS_getrandom, buf, sizeof buf, GRND_NONBLOCK), sizeof buf);
  CHECK(count_zero(buf, sizeof buf) < 8);
}

TEST(getrandom_bad_flags_einval) {
  unsigned char buf[16];
  CHECK_ERRNO(syscall(SYS_getrandom, buf, sizeof buf, 0x100), EINVAL);
  CHECK_ERRNO(syscall(SYS_getrandom, buf, sizeof buf, -1), EINVAL);
}

TEST(sched_yield_returns_zero) {
  for (int i = 0; i < 10; i++) CHECK_EQ(syscall(SYS_sched_yield), 0);
}

TEST(sched_getaffinity_has_a_cpu) {
  unsigned long mask[16];
  memset(mask, 0, sizeof mask);
  long n = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
  CHECK(n > 0);
  CHECK(n <= (long)sizeof mask);
  CHECK_EQ(n % sizeof(unsigned long), 0);
  int cpus = 0;
  for (long i = 0; i < n / (long)sizeof(unsigned long); i++) cpus += __builtin_popcountl(mask[i]);
  CHECK(cpus >= 1);
  /* the caller's own pid means the same thread */
  unsigned long mask2[16];
  memset(mask2, 0, sizeof mask2);
  CHECK_EQ(syscall(SYS_sched_getaffinity, syscall(SYS_getpid), sizeof mask2, mask2), n);
  CHECK(memcmp(mask, mask2, n) == 0);
}

TEST(sched_getaffinity_small_len_einval) {
  unsigned long mask[16];
  CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 1, mask), EINVAL);
  CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 0, mask), EINVAL);
  /* not a multiple of sizeof(long) */
  CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, sizeof mask - 1, mask), EINVAL);
}

TEST(getcwd_too_small_erange) {
  char buf[4] = {'x', 'x', 'x', 'x'};
  CHECK_ERRNO(syscall(SYS_getcwd, buf, 1), ERANGE);
  CHECK_ERRNO(syscall(SYS_getcwd, buf, 0), ERANGE);
}

TEST(getcwd_returns_absolute_path) {
  char buf[4096];
  memset(buf, 'x', sizeof buf);
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  CHECK(n > 1);
  CHECK_EQ(buf[0], '/');
  CHECK(memchr(buf, 0, sizeof buf) != NULL);
  CHECK_EQ(n, strlen(buf) + 1);
  /* exactly enough room works, one byte less does not */
  char exact[4096];
  CHECK_EQ(syscall(SYS_getcwd, exact, n), n);
  CHECK(strcmp(exact, buf) == 0);
  CHECK_ERRNO(syscall(SYS_getcwd, exact, n - 1), ERANGE);
}

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts) {
  return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static uint32_t word = 5;

TEST(futex_wait_value_mismatch_eagain) {
  struct timespec ts = {1, 0};
  long long t0 = mono_ns();
  CHECK_ERRNO(futex(&word, FUTEX_WAIT, 6, &ts), EAGAIN);
  CHECK_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 4, NULL), EAGAIN);
  /* it did not wait */
  CHECK(mono_ns() - t0 < NS / 2);
}

TEST(futex_wait_times_out) {
  struct timespec ts = {0, 10 * 1000 * 1000};
  long long t0 = mono_ns();
  CHECK_ERRNO(futex(&word, FUTEX_WAIT, 5, &ts), ETIMEDOUT);
  long long dt = mono_ns() - t0;
  if (dt < 10 * 1000 * 1000LL) FAILF("timed out after only %lld ns", dt);
  if (dt > 2 * NS) FAILF("a 10 ms wait took %lld ns", dt);
}

TEST(futex_wait_private_times_out) {
  struct timespec ts = {0, 10 * 1000 * 1000};
  long long t0 = mono_ns();
  CHECK_ERRNO(futex(&word, FUTEX_WAIT_PRIVATE, 5, &ts), ETIMEDOUT);
  CHECK(mono_ns() - t0 >= 10 * 1000 * 1000LL);
}

TEST(futex_wake_without_waiters_returns_zero) {
  CHECK_EQ(futex(&word, FUTEX_WAKE, 1, NULL), 0);
  CHECK_EQ(futex(&word, FUTEX_WAKE, 0x7fffffff, NULL), 0);
  CHECK_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL), 0);
}

TEST(futex_unaligned_address_einval) {
  static uint32_t pair[2];
  char *odd = (char *)pair + 1;
  CHECK_ERRNO(futex((uint32_t *)odd, FUTEX_WAKE, 1, NULL), EINVAL);
  struct timespec ts = {0, 1000};
  CHECK_ERRNO(futex((uint32_t *)odd, FUTEX_WAIT, 0, &ts), EINVAL);
}

TEST(futex_bad_timeout_einval) {
  struct timespec ts = {0, NS};
  CHECK_ERRNO(futex(&word, FUTEX_WAIT, 5, &ts), EINVAL);
  ts.tv_sec = -1;
  ts.tv_nsec = 0;
  CHECK_ERRNO(futex(&word, FUTEX_WAIT, 5, &ts), EINVAL);
}

TEST(futex_unknown_op_enosys) {
  CHECK_ERRNO(futex(&word, 99, 0, NULL), ENOSYS);
}

TEST(unknown_syscall_numbers_enosys) {
  CHECK_ERRNO(syscall(500), ENOSYS);
  CHECK_ERRNO(syscall(1000, 1, 2, 3), ENOSYS);
  CHECK_ERRNO(syscall(100000), ENOSYS);
  /* the process carries on normally afterwards */
  CHECK_EQ(syscall(SYS_getpid), getpid());
}
