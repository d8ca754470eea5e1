//go:build ignore

/*
 * fs_lock.c - advisory locks taken by one process on files in a scratch
 * directory under /tmp: fcntl record locks (F_GETLK, F_SETLK, F_SETLKW),
 * open file description locks (F_OFD_GETLK, F_OFD_SETLK) and flock.
 *
 * Follows fcntl(2) ("Advisory record locking": a process never conflicts with
 * its own locks, so F_GETLK on a range it holds reports F_UNLCK; locks are
 * released when any descriptor of the file is closed; "Open file description
 * locks (non-POSIX)": they conflict between two open file descriptions even in
 * one process, F_OFD_GETLK reports l_pid -1, l_pid must be 0 when setting;
 * ERRORS: EAGAIN, EBADF for a lock type the open mode does not allow, EINVAL)
 * and flock(2) (locks belong to the open file description: converting one's
 * own lock works, a second open(2) of the file is treated independently;
 * LOCK_UN; NOTES: flock and fcntl locks do not interact; ERRORS: EINVAL,
 * EBADF, EWOULDBLOCK).
 *
 * The calls under test are made raw through syscall(2). No second process is
 * started: conflicts are observed through OFD locks and separate opens.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <sys/file.h>

static long xfcntl_lk(int fd, int cmd, struct flock *fl) { return syscall(SYS_fcntl, fd, cmd, fl); }
static long xflock(int fd, int op) { return syscall(SYS_flock, fd, op); }

static struct flock lk(short type, long start, long len) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return fl;
}

static int lock_file(void) {
  put_file(P("f"), "0123456789", 0644);
  return must_open(P("f"), O_RDWR, 0);
}

TEST(fcntl_getlk_on_own_lock_reports_unlck) {
  int fd = lock_file();
  struct flock fl = lk(F_WRLCK, 0, 10);
  CHECK_EQ(xfcntl_lk(fd, F_SETLK, &fl), 0);
  struct flock q = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(fd, F_GETLK, &q), 0);
  CHECK_EQ(q.l_type, F_UNLCK);
  /* so does an unlocked file */
  int fd2 = must_open(P("f"), O_RDWR, 0);
  q = lk(F_RDLCK, 20, 5);
  CHECK_EQ(xfcntl_lk(fd2, F_GETLK, &q), 0);
  CHECK_EQ(q.l_type, F_UNLCK);
  close(fd2);
  close(fd);
}

TEST(fcntl_setlk_own_locks_never_conflict) {
  int fd = lock_file();
  int fd2 = must_open(P("f"), O_RDWR, 0);
  struct flock fl = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(fd, F_SETLK, &fl), 0);
  /* the same process through another descriptor: no conflict */
  fl = lk(F_WRLCK, 2, 3);
  CHECK_EQ(xfcntl_lk(fd2, F_SETLK, &fl), 0);
  /* downgrade and upgrade parts of the range */
  fl = lk(F_RDLCK, 0, 5);
  CHECK_EQ(xfcntl_lk(fd, F_SETLK, &fl), 0);
  fl = lk(F_WRLCK, 1, 1);
  CHECK_EQ(xfcntl_lk(fd, F_SETLK, &fl), 0);
  /* F_SETLKW does not wait for the process's own locks */
  fl = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(fd2, F_SETLKW, &fl), 0);
  fl = lk(F_UNLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(fd, F_SETLK, &fl), 0);
  /* unlocking what is not locked is fine */
  CHECK_EQ(xfcntl_lk(fd, F_SETLK, &fl), 0);
  close(fd2);
  close(fd);
}

TEST(fcntl_lock_mode_must_match_open_mode_ebadf) {
  put_file(P("f"), "0123456789", 0644);
  int ro = must_open(P("f"), O_RDONLY, 0);
  int wo = must_open(P("f"), O_WRONLY, 0);
  struct flock fl = lk(F_WRLCK, 0, 1);
  CHECK_ERRNO(xfcntl_lk(ro, F_SETLK, &fl), EBADF);
  fl = lk(F_RDLCK, 0, 1);
  CHECK_ERRNO(xfcntl_lk(wo, F_SETLK, &fl), EBADF);
  fl = lk(F_RDLCK, 0, 1);
  CHECK_EQ(xfcntl_lk(ro, F_SETLK, &fl), 0);
  fl = lk(F_WRLCK, 0, 1);
  CHECK_EQ(xfcntl_lk(wo, F_SETLK, &fl), 0);
  fl = lk(F_WRLCK, 0, 1);
  CHECK_ERRNO(xfcntl_lk(-1, F_SETLK, &fl), EBADF);
  close(ro);
  close(wo);
}

TEST(fcntl_lock_bad_args_einval) {
  int fd = lock_file();
  struct flock fl = lk(42, 0, 1);
  CHECK_ERRNO(xfcntl_lk(fd, F_SETLK, &fl), EINVAL);
  CHECK_ERRNO(xfcntl_lk(fd, F_GETLK, &fl), EINVAL);
  fl = lk(F_WRLCK, 0, 1);
  fl.l_whence = 7;
  CHECK_ERRNO(xfcntl_lk(fd, F_SETLK, &fl), EINVAL);
  /* a range starting before offset 0 */
  fl = lk(F_WRLCK, -5, 1);
  CHECK_ERRNO(xfcntl_lk(fd, F_SETLK, &fl), EINVAL);
  fl = lk(F_WRLCK, 0, 1);
  fl.l_whence = SEEK_END;
  fl.l_start = -20;
  CHECK_ERRNO(xfcntl_lk(fd, F_SETLK, &fl), EINVAL);
  close(fd);
}

TEST(ofd_locks_conflict_between_opens) {
  int a = lock_file();
  int b = must_open(P("f"), O_RDWR, 0);
  struct flock fl = lk(F_WRLCK, 2, 4);
  CHECK_EQ(xfcntl_lk(a, F_OFD_SETLK, &fl), 0);
  fl = lk(F_WRLCK, 0, 0);
  CHECK_ERRNO(xfcntl_lk(b, F_OFD_SETLK, &fl), EAGAIN);
  fl = lk(F_RDLCK, 5, 1);
  CHECK_ERRNO(xfcntl_lk(b, F_OFD_SETLK, &fl), EAGAIN);
  /* outside the locked range is free */
  fl = lk(F_WRLCK, 6, 4);
  CHECK_EQ(xfcntl_lk(b, F_OFD_SETLK, &fl), 0);
  /* F_OFD_GETLK describes the conflicting lock, with l_pid -1 */
  struct flock q = lk(F_RDLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(b, F_OFD_GETLK, &q), 0);
  CHECK_EQ(q.l_type, F_WRLCK);
  CHECK_EQ(q.l_whence, SEEK_SET);
  CHECK_EQ(q.l_start, 2);
  CHECK_EQ(q.l_len, 4);
  CHECK_EQ(q.l_pid, -1);
  /* a dup shares the open file description and so the lock */
  int a2 = dup(a);
  q = lk(F_WRLCK, 0, 6);
  CHECK_EQ(xfcntl_lk(a2, F_OFD_GETLK, &q), 0);
  CHECK_EQ(q.l_type, F_UNLCK);
  /* unlocking releases it for the other open */
  fl = lk(F_UNLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(a2, F_OFD_SETLK, &fl), 0);
  fl = lk(F_WRLCK, 0, 6);
  CHECK_EQ(xfcntl_lk(b, F_OFD_SETLK, &fl), 0);
  close(a2);
  close(a);
  close(b);
}

TEST(ofd_lock_released_on_last_close) {
  int a = lock_file();
  int b = must_open(P("f"), O_RDWR, 0);
  struct flock fl = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(a, F_OFD_SETLK, &fl), 0);
  int a2 = dup(a);
  close(a);
  /* still held through the dup */
  fl = lk(F_WRLCK, 0, 0);
  CHECK_ERRNO(xfcntl_lk(b, F_OFD_SETLK, &fl), EAGAIN);
  close(a2);
  fl = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(b, F_OFD_SETLK, &fl), 0);
  close(b);
}

TEST(ofd_lock_l_pid_must_be_zero_einval) {
  int fd = lock_file();
  struct flock fl = lk(F_WRLCK, 0, 1);
  fl.l_pid = 1;
  CHECK_ERRNO(xfcntl_lk(fd, F_OFD_SETLK, &fl), EINVAL);
  fl.l_pid = getpid();
  CHECK_ERRNO(xfcntl_lk(fd, F_OFD_GETLK, &fl), EINVAL);
  close(fd);
}

TEST(posix_lock_seen_by_ofd_getlk_and_dropped_on_any_close) {
  int a = lock_file();
  int other = must_open(P("f"), O_RDONLY, 0);
  int probe = must_open(P("f"), O_RDWR, 0);
  struct flock fl = lk(F_WRLCK, 3, 2);
  CHECK_EQ(xfcntl_lk(a, F_SETLK, &fl), 0);
  /* a process-associated lock conflicts with OFD locks and shows our pid */
  struct flock q = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(probe, F_OFD_GETLK, &q), 0);
  CHECK_EQ(q.l_type, F_WRLCK);
  CHECK_EQ(q.l_start, 3);
  CHECK_EQ(q.l_len, 2);
  CHECK_EQ(q.l_pid, getpid());
  /* closing any descriptor of the file drops the process's locks on it */
  close(other);
  q = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(probe, F_OFD_GETLK, &q), 0);
  CHECK_EQ(q.l_type, F_UNLCK);
  close(probe);
  close(a);
}

TEST(flock_ex_nb_on_self_locked_fd_succeeds) {
  int fd = lock_file();
  CHECK_EQ(xflock(fd, LOCK_EX), 0);
  CHECK_EQ(xflock(fd, LOCK_EX | LOCK_NB), 0);
  /* a dup refers to the same lock */
  int d = dup(fd);
  CHECK_EQ(xflock(d, LOCK_EX | LOCK_NB), 0);
  /* converting to shared and back */
  CHECK_EQ(xflock(fd, LOCK_SH | LOCK_NB), 0);
  CHECK_EQ(xflock(fd, LOCK_EX | LOCK_NB), 0);
  CHECK_EQ(xflock(d, LOCK_UN), 0);
  CHECK_EQ(xflock(fd, LOCK_UN), 0);
  close(d);
  close(fd);
}

TEST(flock_separate_opens_conflict) {
  int a = lock_file();
  int b = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(xflock(a, LOCK_EX | LOCK_NB), 0);
  CHECK_ERRNO(xflock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  CHECK_ERRNO(xflock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  CHECK_EQ(xflock(a, LOCK_UN), 0);
  /* shared locks coexist */
  CHECK_EQ(xflock(a, LOCK_SH | LOCK_NB), 0);
  CHECK_EQ(xflock(b, LOCK_SH | LOCK_NB), 0);
  CHECK_ERRNO(xflock(a, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  /* closing the last descriptor of an open file releases its lock */
  close(b);
  CHECK_EQ(xflock(a, LOCK_EX | LOCK_NB), 0);
  close(a);
}

TEST(flock_and_fcntl_locks_do_not_interact) {
  int a = lock_file();
  int b = must_open(P("f"), O_RDWR, 0);
  CHECK_EQ(xflock(a, LOCK_EX | LOCK_NB), 0);
  struct flock fl = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(b, F_OFD_SETLK, &fl), 0);
  struct flock q = lk(F_WRLCK, 0, 0);
  CHECK_EQ(xfcntl_lk(a, F_OFD_GETLK, &q), 0);
  CHECK_EQ(q.l_type, F_WRLCK);
  /* the OFD lock does not stop another flock either */
  CHECK_EQ(xflock(a, LOCK_UN), 0);
  CHECK_EQ(xflock(b, LOCK_EX | LOCK_NB), 0);
  close(a);
  close(b);
}

TEST(flock_errors) {
  int fd = lock_file();
  CHECK_ERRNO(xflock(fd, 0), EINVAL);
  CHECK_ERRNO(xflock(fd, LOCK_NB), EINVAL);
  CHECK_ERRNO(xflock(fd, LOCK_SH | LOCK_EX), EINVAL);
  CHECK_ERRNO(xflock(-1, LOCK_EX), EBADF);
  close(fd);
  CHECK_ERRNO(xflock(fd, LOCK_EX), EBADF);
  /* the open mode does not matter for flock */
  int ro = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(xflock(ro, LOCK_EX | LOCK_NB), 0);
  close(ro);
}
