//go:build ignore

/*
 * proc_clone_files.c - a process created by clone(2) with CLONE_FILES shares
 * its parent's descriptor table: a descriptor one opens the other sees, one
 * closes the other loses; and when the child exits, the table (and so the
 * parent's descriptors) stays: clone(2), "CLONE_FILES": "the calling process
 * and the child process share the same file descriptor table", which lives as
 * long as one of them does. execve(2) unshares the table first, so the
 * close-on-exec descriptors close for the new program only.
 *
 * Found by test/stress: sbx closed every descriptor of the shared table when
 * the child exited, and the parent's close-on-exec ones when the child
 * exec'd.
 */
#include "harness.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* clone_files runs fn in a child sharing our table and returns its exit code. */
static int clone_files(int (*fn)(long), long arg) {
  long pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) syscall(SYS_exit_group, fn(arg));
  CHECK(pid > 0);
  int st;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static int do_nothing(long arg) { (void)arg; return 0; }

TEST(child_exit_keeps_parent_fds) {
  int p[2];
  CHECK_OK(pipe(p));
  CHECK_EQ(clone_files(do_nothing, 0), 0);
  CHECK_EQ(write(p[1], "x", 1), 1);
  char c;
  CHECK_EQ(read(p[0], &c, 1), 1);
  CHECK_EQ(c, 'x');
  close(p[0]);
  close(p[1]);
}

static int open_null(long arg) { (void)arg; return dup2(0, 100) == 100 ? 0 : 1; }

TEST(child_dup_seen_by_parent) {
  close(100);
  CHECK_EQ(clone_files(open_null, 0), 0);
  CHECK_OK(fcntl(100, F_GETFD));
  close(100);
}

static int close_fd(long fd) { return close((int)fd) == 0 ? 0 : 1; }

TEST(child_close_seen_by_parent) {
  int fd = dup(0);
  CHECK(fd >= 0);
  CHECK_EQ(clone_files(close_fd, fd), 0);
  CHECK_ERRNO(fcntl(fd, F_GETFD), EBADF);
}

static int exec_true(long arg) {
  (void)arg;
  execl("/bin/true", "true", (char *)NULL);
  return 127;
}

/* execve(2): "the file descriptor table is unshared, undoing the effect of
 * the CLONE_FILES flag of clone(2)": close-on-exec descriptors close in the
 * new program's table only. */
TEST(child_exec_keeps_parent_cloexec_fds) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  CHECK_EQ(clone_files(exec_true, 0), 0);
  CHECK_OK(fcntl(fd, F_GETFD));
  close(fd);
}
