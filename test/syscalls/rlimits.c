//go:build ignore

/*
 * rlimits.c - resource limits: getrlimit, setrlimit and prlimit64, and the
 * RLIMIT_NOFILE limit as the descriptor table enforces it.
 *
 * Follows getrlimit(2) (DESCRIPTION: RLIMIT_NOFILE, RLIMIT_CORE, RLIMIT_STACK;
 * prlimit with pid 0 meaning the caller; ERRORS: EINVAL for a bad resource or
 * rlim_cur > rlim_max), dup(2) (EBADF: newfd out of the allowed range; EMFILE)
 * and fcntl(2) (F_DUPFD: EINVAL when arg is not below RLIMIT_NOFILE).
 *
 * All calls are raw: the kernel's struct rlimit is two unsigned longs, and a
 * limit value of ~0UL is RLIM_INFINITY.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct krlimit {
  unsigned long cur, max;
};

#define BAD_RESOURCE 100

static struct krlimit get(int res) {
  struct krlimit r = {1234, 5678};
  if (syscall(SYS_getrlimit, res, &r) != 0) FAILF("getrlimit(%d): %s", res, strerror(errno));
  return r;
}

static long set(int res, unsigned long cur, unsigned long max) {
  struct krlimit r = {cur, max};
  return syscall(SYS_setrlimit, res, &r);
}

TEST(getrlimit_sane) {
  int res[] = {RLIMIT_NOFILE, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_AS, RLIMIT_DATA};
  for (unsigned i = 0; i < sizeof res / sizeof res[0]; i++) {
    struct krlimit r = get(res[i]);
    if (r.cur > r.max) FAILF("resource %d: soft %lu above hard %lu", res[i], r.cur, r.max);
  }
  struct krlimit nofile = get(RLIMIT_NOFILE);
  CHECK(nofile.cur >= 3);
  CHECK(nofile.cur != RLIM_INFINITY);
  CHECK(get(RLIMIT_STACK).cur > 0);
}

TEST(setrlimit_soft_round_trip) {
  struct krlimit r = get(RLIMIT_NOFILE);
  CHECK(r.max >= 64);
  CHECK_EQ(set(RLIMIT_NOFILE, 64, r.max), 0);
  struct krlimit n = get(RLIMIT_NOFILE);
  CHECK_EQ(n.cur, 64);
  CHECK_EQ(n.max, r.max);
  /* the soft limit may go back up to the hard limit */
  CHECK_EQ(set(RLIMIT_NOFILE, r.cur, r.max), 0);
  n = get(RLIMIT_NOFILE);
  CHECK_EQ(n.cur, r.cur);
  CHECK_EQ(n.max, r.max);
}

TEST(setrlimit_lower_hard_round_trip) {
  /* lowering the hard limit needs no privilege; stay at or below the inherited one */
  unsigned long h = get(RLIMIT_CORE).max;
  if (h > 4096) h = 4096;
  CHECK_EQ(set(RLIMIT_CORE, 0, h), 0);
  struct krlimit n = get(RLIMIT_CORE);
  CHECK_EQ(n.cur, 0);
  CHECK_EQ(n.max, h);
  CHECK_EQ(set(RLIMIT_CORE, h, h), 0);
  n = get(RLIMIT_CORE);
  CHECK_EQ(n.cur, h);
  CHECK_EQ(n.max, h);
}

TEST(setrlimit_soft_above_hard_einval) {
  struct krlimit before = get(RLIMIT_NOFILE);
  CHECK_ERRNO(set(RLIMIT_NOFILE, 2, 1), EINVAL);
  CHECK_ERRNO(set(RLIMIT_CORE, 1, 0), EINVAL);
  struct krlimit bad = {100, 10};
  CHECK_ERRNO(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &bad, NULL), EINVAL);
  struct krlimit after = get(RLIMIT_NOFILE);
  CHECK_EQ(after.cur, before.cur);
  CHECK_EQ(after.max, before.max);
}

TEST(rlimit_bad_resource_einval) {
  struct krlimit r = {1, 1};
  CHECK_ERRNO(syscall(SYS_getrlimit, BAD_RESOURCE, &r), EINVAL);
  CHECK_ERRNO(syscall(SYS_getrlimit, RLIM_NLIMITS, &r), EINVAL);
  CHECK_ERRNO(syscall(SYS_setrlimit, BAD_RESOURCE, &r), EINVAL);
  CHECK_ERRNO(syscall(SYS_prlimit64, 0, BAD_RESOURCE, NULL, &r), EINVAL);
  CHECK_ERRNO(syscall(SYS_prlimit64, 0, -1, NULL, &r), EINVAL);
}

TEST(prlimit64_pid_zero_get_and_set) {
  struct krlimit cur = get(RLIMIT_NOFILE);
  struct krlimit old = {1, 1};
  CHECK_EQ(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &old), 0);
  CHECK_EQ(old.cur, cur.cur);
  CHECK_EQ(old.max, cur.max);

  /* set and fetch the previous value in one call */
  struct krlimit nw = {48, cur.max};
  old.cur = old.max = 1;
  CHECK_EQ(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &nw, &old), 0);
  CHECK_EQ(old.cur, cur.cur);
  CHECK_EQ(old.max, cur.max);
  CHECK_EQ(get(RLIMIT_NOFILE).cur, 48);

  /* neither pointer: nothing to do, still success */
  CHECK_EQ(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, NULL), 0);
}

TEST(prlimit64_own_pid_same_as_zero) {
  long pid = syscall(SYS_getpid);
  unsigned long h = get(RLIMIT_CORE).max;
  if (h > 8192) h = 8192;
  struct krlimit nw = {0, h};
  CHECK_EQ(syscall(SYS_prlimit64, pid, RLIMIT_CORE, &nw, NULL), 0);
  struct krlimit a = {1, 1}, b = {2, 2};
  CHECK_EQ(syscall(SYS_prlimit64, pid, RLIMIT_CORE, NULL, &a), 0);
  CHECK_EQ(syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, &b), 0);
  CHECK_EQ(a.cur, 0);
  CHECK_EQ(a.max, h);
  CHECK_EQ(b.cur, a.cur);
  CHECK_EQ(b.max, a.max);
}

TEST(rlimit_nofile_limits_dup2_and_dupfd) {
  struct krlimit r = get(RLIMIT_NOFILE);
  CHECK_EQ(set(RLIMIT_NOFILE, 50, r.max), 0);
  CHECK_EQ(syscall(SYS_dup2, 1, 49), 49);
  CHECK_ERRNO(syscall(SYS_dup2, 1, 50), EBADF);
  CHECK_ERRNO(syscall(SYS_dup2, 1, 60), EBADF);
  CHECK_ERRNO(syscall(SYS_dup3, 1, 60, O_CLOEXEC), EBADF);
  CHECK_ERRNO(syscall(SYS_fcntl, 1, F_DUPFD, 50), EINVAL);
  CHECK_ERRNO(syscall(SYS_fcntl, 1, F_DUPFD_CLOEXEC, 60), EINVAL);
}

TEST(rlimit_nofile_dup_emfile) {
  struct krlimit r = get(RLIMIT_NOFILE);
  CHECK_EQ(set(RLIMIT_NOFILE, 20, r.max), 0);
  int n = 0;
  for (;;) {
    errno = 0;
    long fd = syscall(SYS_dup, 1);
    if (fd == -1) break;
    if (fd >= 20) FAILF("dup returned %ld with RLIMIT_NOFILE 20", fd);
    if (++n > 20) FAILF("more than 20 descriptors under RLIMIT_NOFILE 20");
  }
  CHECK_EQ(errno, EMFILE);
  CHECK(n > 0);
  /* every slot below the limit is taken now */
  CHECK_ERRNO(syscall(SYS_fcntl, 1, F_DUPFD, 0), EMFILE);
  /* closing one makes room again */
  CHECK_EQ(syscall(SYS_close, 19), 0);
  CHECK_EQ(syscall(SYS_dup, 1), 19);
}
