//go:build ignore

/*
 * fds.c - the file descriptor table, exercised on the standard streams only:
 * dup, dup2, dup3, close, fcntl(F_GETFD/F_SETFD/F_DUPFD/F_DUPFD_CLOEXEC),
 * write and writev.
 *
 * Follows dup(2) (DESCRIPTION for dup, dup2, dup3; ERRORS), close(2) (ERRORS),
 * fcntl(2) ("Duplicating a file descriptor", "File descriptor flags", ERRORS),
 * write(2) (ERRORS) and writev(2) (readv(2) page: DESCRIPTION, ERRORS: EINVAL
 * for iovcnt < 0 or > IOV_MAX, which is 1024 on Linux).
 *
 * Whatever is written goes to stdout; the bytes themselves are not checked,
 * only what the kernel returns. Descriptors 100 and up are assumed free at
 * start, as they are in a freshly executed test binary.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define MSG "."
#define MSGLEN 1

static long xwrite(int fd, const void *buf, long n) { return syscall(SYS_write, fd, buf, n); }

static int is_open(int fd) { return syscall(SYS_fcntl, fd, F_GETFD) != -1; }

TEST(dup_stdout_and_write) {
  long fd = syscall(SYS_dup, 1);
  CHECK(fd >= 0 && fd != 1 && fd != 2);
  CHECK_EQ(xwrite(fd, MSG, MSGLEN), MSGLEN);
  /* the copy does not inherit close-on-exec */
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFD), 0);
  CHECK_EQ(syscall(SYS_close, fd), 0);
  CHECK_ERRNO(xwrite(fd, MSG, MSGLEN), EBADF);
  /* stdout itself is still fine */
  CHECK_EQ(xwrite(1, MSG, MSGLEN), MSGLEN);
}

TEST(dup_returns_lowest_free) {
  long a = syscall(SYS_dup, 1);
  long b = syscall(SYS_dup, 1);
  CHECK(a >= 0 && a != 1 && a != 2);
  CHECK(b > a);
  CHECK_EQ(syscall(SYS_close, a), 0);
  CHECK_EQ(syscall(SYS_dup, 1), a);
}

TEST(dup_bad_fd_ebadf) {
  CHECK_ERRNO(syscall(SYS_dup, 12345), EBADF);
  CHECK_ERRNO(syscall(SYS_dup, -1), EBADF);
}

TEST(dup2_to_chosen_fd_and_write) {
  CHECK(!is_open(100));
  CHECK_EQ(syscall(SYS_dup2, 1, 100), 100);
  CHECK(is_open(100));
  CHECK_EQ(xwrite(100, MSG, MSGLEN), MSGLEN);
  CHECK_EQ(syscall(SYS_close, 100), 0);
  CHECK(!is_open(100));
}

TEST(dup2_replaces_open_fd_and_clears_cloexec) {
  CHECK_EQ(syscall(SYS_dup3, 1, 101, O_CLOEXEC), 101);
  CHECK_EQ(syscall(SYS_fcntl, 101, F_GETFD), FD_CLOEXEC);
  /* dup2 onto an open descriptor closes it first; the new one has no FD_CLOEXEC */
  CHECK_EQ(syscall(SYS_dup2, 2, 101), 101);
  CHECK_EQ(syscall(SYS_fcntl, 101, F_GETFD), 0);
  CHECK_EQ(xwrite(101, MSG, MSGLEN), MSGLEN);
}

TEST(dup2_same_fd_returns_it) {
  CHECK_EQ(syscall(SYS_dup2, 1, 1), 1);
  CHECK_EQ(syscall(SYS_dup2, 2, 2), 2);
  /* does not touch the flags either */
  CHECK_EQ(syscall(SYS_fcntl, 1, F_SETFD, FD_CLOEXEC), 0);
  CHECK_EQ(syscall(SYS_dup2, 1, 1), 1);
  CHECK_EQ(syscall(SYS_fcntl, 1, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(xwrite(1, MSG, MSGLEN), MSGLEN);
}

TEST(dup2_bad_fds_ebadf) {
  CHECK_ERRNO(syscall(SYS_dup2, 12345, 102), EBADF);
  CHECK(!is_open(102));
  /* same number but not open: EBADF, not success */
  CHECK_ERRNO(syscall(SYS_dup2, 103, 103), EBADF);
  CHECK_ERRNO(syscall(SYS_dup2, 1, -1), EBADF);
}

TEST(dup3_cloexec_and_write) {
  CHECK_EQ(syscall(SYS_dup3, 1, 104, O_CLOEXEC), 104);
  CHECK_EQ(syscall(SYS_fcntl, 104, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(xwrite(104, MSG, MSGLEN), MSGLEN);
  CHECK_EQ(syscall(SYS_dup3, 1, 105, 0), 105);
  CHECK_EQ(syscall(SYS_fcntl, 105, F_GETFD), 0);
}

TEST(dup3_same_fd_einval) {
  CHECK_ERRNO(syscall(SYS_dup3, 1, 1, 0), EINVAL);
  CHECK_ERRNO(syscall(SYS_dup3, 2, 2, O_CLOEXEC), EINVAL);
}

TEST(dup3_bad_flags_einval) {
  CHECK_ERRNO(syscall(SYS_dup3, 1, 106, O_NONBLOCK), EINVAL);
  CHECK_ERRNO(syscall(SYS_dup3, 1, 106, 0x1), EINVAL);
  CHECK(!is_open(106));
}

TEST(close_bad_fd_ebadf) {
  CHECK_ERRNO(syscall(SYS_close, 12345), EBADF);
  CHECK_ERRNO(syscall(SYS_close, -1), EBADF);
  CHECK_ERRNO(syscall(SYS_close, 107), EBADF);
}

TEST(close_twice_ebadf) {
  long fd = syscall(SYS_dup, 1);
  CHECK(fd >= 0 && fd != 1 && fd != 2);
  CHECK_EQ(syscall(SYS_close, fd), 0);
  CHECK_ERRNO(syscall(SYS_close, fd), EBADF);
}

TEST(write_to_closed_fd_ebadf) {
  CHECK_EQ(syscall(SYS_dup2, 1, 108), 108);
  CHECK_EQ(xwrite(108, MSG, MSGLEN), MSGLEN);
  CHECK_EQ(syscall(SYS_close, 108), 0);
  CHECK_ERRNO(xwrite(108, MSG, MSGLEN), EBADF);
  CHECK_ERRNO(xwrite(-1, MSG, MSGLEN), EBADF);
  CHECK_ERRNO(xwrite(99999, MSG, MSGLEN), EBADF);
}

TEST(fcntl_fd_cloexec_round_trip) {
  long fd = syscall(SYS_dup, 1);
  CHECK(fd >= 0 && fd != 1 && fd != 2);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFD), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFD), FD_CLOEXEC);
  /* the flag belongs to the descriptor, not the open file */
  CHECK_EQ(syscall(SYS_fcntl, 1, F_GETFD), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_SETFD, 0), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFD), 0);
}

TEST(fcntl_dupfd_lowest_at_or_above) {
  CHECK(!is_open(110));
  CHECK(!is_open(111));
  CHECK_EQ(syscall(SYS_fcntl, 1, F_DUPFD, 110), 110);
  CHECK_EQ(syscall(SYS_fcntl, 1, F_DUPFD, 110), 111);
  CHECK_EQ(syscall(SYS_fcntl, 110, F_GETFD), 0);
  CHECK_EQ(xwrite(111, MSG, MSGLEN), MSGLEN);
  CHECK_EQ(syscall(SYS_close, 110), 0);
  CHECK_EQ(syscall(SYS_fcntl, 1, F_DUPFD, 110), 110);
  /* below the argument never comes back even if free */
  long fd = syscall(SYS_fcntl, 1, F_DUPFD, 3);
  CHECK(fd >= 3 && fd < 110);
  fd = syscall(SYS_fcntl, 1, F_DUPFD, 0);
  CHECK(fd >= 0 && fd < 110 && fd != 1 && fd != 2);
}

TEST(fcntl_dupfd_cloexec_sets_flag) {
  CHECK(!is_open(120));
  CHECK_EQ(syscall(SYS_fcntl, 1, F_DUPFD_CLOEXEC, 120), 120);
  CHECK_EQ(syscall(SYS_fcntl, 120, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(xwrite(120, MSG, MSGLEN), MSGLEN);
}

TEST(fcntl_errors) {
  CHECK_ERRNO(syscall(SYS_fcntl, 12345, F_GETFD), EBADF);
  CHECK_ERRNO(syscall(SYS_fcntl, 12345, F_DUPFD, 0), EBADF);
  CHECK_ERRNO(syscall(SYS_fcntl, 1, F_DUPFD, -1), EINVAL);
  CHECK_ERRNO(syscall(SYS_fcntl, 1, 0x7fff), EINVAL);
}

TEST(writev_gathers_buffers) {
  struct iovec iov[3] = {{(void *)"a", 1}, {(void *)"", 0}, {(void *)"bc", 2}};
  CHECK_EQ(syscall(SYS_writev, 1, iov, 3), 3);
  CHECK_EQ(syscall(SYS_writev, 1, iov, 0), 0);
}

TEST(writev_bad_iovcnt_einval) {
  struct iovec iov[1] = {{(void *)MSG, MSGLEN}};
  CHECK_ERRNO(syscall(SYS_writev, 1, iov, -1), EINVAL);
  CHECK_ERRNO(syscall(SYS_writev, 1, iov, 1025), EINVAL);
  CHECK_ERRNO(syscall(SYS_writev, 1, iov, 100000), EINVAL);
}

TEST(writev_closed_fd_ebadf) {
  struct iovec iov[1] = {{(void *)MSG, MSGLEN}};
  CHECK_ERRNO(syscall(SYS_writev, 12345, iov, 1), EBADF);
}

TEST(write_zero_bytes_returns_zero) {
  CHECK_EQ(xwrite(1, MSG, 0), 0);
  CHECK_EQ(xwrite(2, MSG, 0), 0);
}
