//go:build ignore

/*
 * efault.c - bad user pointers handed to the kernel must fail with EFAULT, not
 * crash the caller or the kernel.
 *
 * Follows the EFAULT entries under ERRORS in write(2), writev(2) (readv(2)
 * page), uname(2), clock_gettime(2), gettimeofday(2), getrandom(2),
 * sigprocmask(2), sigaction(2), sigaltstack(2), nanosleep(2), getrlimit(2),
 * sched_getaffinity(2) and getcwd(3) ("C library/kernel differences").
 *
 * All calls go through syscall(2): libc wrappers may read the memory in user
 * space first (vDSO clocks, sigprocmask's copy of the set) and would crash
 * instead of letting the kernel answer.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PG 4096L

/* an address that is certainly not mapped: a page we map and unmap again */
static void *unmapped_page(void) {
  void *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  CHECK_OK(munmap(p, PG));
  return p;
}

/* a mapped page nobody may read or write */
static void *prot_none_page(void) {
  void *p = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  return p;
}

/* a kernel-half address: never accessible from user space */
#define KERNEL_ADDR ((void *)0xffffffff81000000UL)

TEST(write_from_address_one_efault) {
  CHECK_ERRNO(syscall(SYS_write, 1, (void *)1, 10), EFAULT);
}

TEST(write_from_unmapped_page_efault) {
  CHECK_ERRNO(syscall(SYS_write, 1, unmapped_page(), 10), EFAULT);
}

TEST(write_from_prot_none_page_efault) {
  CHECK_ERRNO(syscall(SYS_write, 1, prot_none_page(), 10), EFAULT);
}

TEST(write_from_kernel_address_efault) {
  CHECK_ERRNO(syscall(SYS_write, 1, KERNEL_ADDR, 10), EFAULT);
}

TEST(write_zero_bytes_bad_pointer_ok) {
  /* nothing is copied, so nothing can fault */
  CHECK_EQ(syscall(SYS_write, 1, (void *)1, 0), 0);
}

TEST(writev_bad_iovec_array_efault) {
  CHECK_ERRNO(syscall(SYS_writev, 1, (void *)1, 1), EFAULT);
  CHECK_ERRNO(syscall(SYS_writev, 1, unmapped_page(), 2), EFAULT);
}

TEST(writev_bad_base_in_iovec_efault) {
  struct iovec iov[1] = {{.iov_base = unmapped_page(), .iov_len = 8}};
  CHECK_ERRNO(syscall(SYS_writev, 1, iov, 1), EFAULT);
}

TEST(uname_bad_pointer_efault) {
  CHECK_ERRNO(syscall(SYS_uname, (void *)1), EFAULT);
  CHECK_ERRNO(syscall(SYS_uname, unmapped_page()), EFAULT);
}

TEST(uname_read_only_buffer_efault) {
  void *p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(p != MAP_FAILED);
  CHECK_ERRNO(syscall(SYS_uname, p), EFAULT);
}

TEST(clock_gettime_bad_pointer_efault) {
  CHECK_ERRNO(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)1), EFAULT);
  CHECK_ERRNO(syscall(SYS_clock_gettime, CLOCK_REALTIME, unmapped_page()), EFAULT);
}

TEST(clock_getres_bad_pointer_efault) {
  CHECK_ERRNO(syscall(SYS_clock_getres, CLOCK_MONOTONIC, unmapped_page()), EFAULT);
}

TEST(gettimeofday_bad_pointer_efault) {
  CHECK_ERRNO(syscall(SYS_gettimeofday, unmapped_page(), NULL), EFAULT);
}

TEST(getrandom_into_unmapped_efault) {
  CHECK_ERRNO(syscall(SYS_getrandom, unmapped_page(), 16, 0), EFAULT);
}

TEST(getrandom_into_prot_none_efault) {
  CHECK_ERRNO(syscall(SYS_getrandom, prot_none_page(), 16, 0), EFAULT);
}

TEST(rt_sigprocmask_bad_set_efault) {
  unsigned long old = 0;
  CHECK_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)1, &old, 8), EFAULT);
  CHECK_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, unmapped_page(), NULL, 8), EFAULT);
}

TEST(rt_sigprocmask_bad_oldset_efault) {
  CHECK_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, unmapped_page(), 8), EFAULT);
}

TEST(rt_sigaction_bad_act_efault) {
  CHECK_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, unmapped_page(), NULL, 8), EFAULT);
  CHECK_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, NULL, unmapped_page(), 8), EFAULT);
}

TEST(sigaltstack_bad_pointer_efault) {
  CHECK_ERRNO(syscall(SYS_sigaltstack, unmapped_page(), NULL), EFAULT);
  CHECK_ERRNO(syscall(SYS_sigaltstack, NULL, unmapped_page()), EFAULT);
}

TEST(nanosleep_bad_request_efault) {
  CHECK_ERRNO(syscall(SYS_nanosleep, unmapped_page(), NULL), EFAULT);
}

TEST(getrlimit_bad_pointer_efault) {
  CHECK_ERRNO(syscall(SYS_getrlimit, 7 /* RLIMIT_NOFILE */, unmapped_page()), EFAULT);
  CHECK_ERRNO(syscall(SYS_prlimit64, 0, 7, unmapped_page(), NULL), EFAULT);
}

TEST(sched_getaffinity_bad_pointer_efault) {
  CHECK_ERRNO(syscall(SYS_sched_getaffinity, 0, 128, unmapped_page()), EFAULT);
}

TEST(getcwd_bad_pointer_efault) {
  CHECK_ERRNO(syscall(SYS_getcwd, unmapped_page(), 4096), EFAULT);
}
