//go:build ignore

/*
 * proc_fork.c - creating processes: fork, vfork and clone with SIGCHLD, and
 * what the child gets: a copy-on-write copy of memory (globals, a big heap
 * region, a MAP_PRIVATE file mapping), shared MAP_SHARED memory, regions
 * marked MADV_DONTFORK (absent in the child) and MADV_WIPEONFORK (zeroed in
 * the child), a copy of the descriptor table whose open files (and so file
 * offsets) are shared, the signal mask but no pending signals, no interval
 * timers and no parent-death signal; and how the exit code of a child comes
 * back through wait.
 *
 * Follows fork(2) (DESCRIPTION: the list of what the child does not inherit;
 * NOTES: copy-on-write; RETURN VALUE), vfork(2) (DESCRIPTION: the parent is
 * suspended until the child calls _exit or execve), clone(2) ("The child
 * termination signal"; __WALL/__WCLONE from wait(2) for children that do not
 * signal SIGCHLD), madvise(2) (MADV_DONTFORK, MADV_WIPEONFORK), mmap(2)
 * (MAP_SHARED, MAP_PRIVATE), open(2) ("open file description"), _exit(2)
 * (stdio buffers are not flushed, unlike exit(3)), getpid(2), prctl(2)
 * (PR_SET_PDEATHSIG: "cleared for the child of a fork") and getitimer(2)
 * ("A child created via fork(2) does not inherit its parent's interval
 * timers").
 *
 * Children report through pipes and their exit codes; see data/procutil.h.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/fsutil.h"
#include "data/exechelper.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>

static volatile int shared_global = 1;

TEST(fork_returns_child_pid_and_zero) {
  int p[2];
  xpipe(p);
  pid_t parent = getpid();
  pid_t pid = xfork();
  if (pid == 0) {
    pid_t me = (pid_t)syscall(SYS_getpid);
    CHILD_CHECK(me != parent);
    CHILD_CHECK(write_all(p[1], &me, sizeof me) == 0);
    _exit(0);
  }
  CHECK(pid > 0);
  CHECK(pid != parent);
  pid_t reported = 0;
  CHECK_EQ(read_all(p[0], &reported, sizeof reported), sizeof reported);
  CHECK_EQ(reported, pid);
  expect_exit(pid, 0);
}

TEST(fork_child_getppid_is_parent) {
  pid_t parent = getpid();
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(syscall(SYS_getppid) == parent);
    /* a single-threaded child: its thread id is its pid */
    CHILD_CHECK(syscall(SYS_gettid) == syscall(SYS_getpid));
    _exit(0);
  }
  expect_exit(pid, 0);
}

TEST(raw_fork_syscall) {
  /* the child only makes raw system calls: glibc was bypassed */
  long pid = syscall(SYS_fork);
  if (pid == 0) syscall(SYS_exit_group, 23);
  CHECK(pid > 0);
  expect_exit((pid_t)pid, 23);
}

TEST(vfork_child_exit_code) {
  pid_t pid = vfork();
  if (pid == 0) _exit(42);
  CHECK(pid > 0);
  expect_exit(pid, 42);
}

TEST(vfork_then_execve) {
  char *const argv[] = {"helper", "--exit", "17", NULL};
  pid_t pid = vfork();
  if (pid == 0) {
    syscall(SYS_execve, "/proc/self/exe", argv, environ);
    _exit(127);
  }
  CHECK(pid > 0);
  expect_exit(pid, 17);
}

TEST(clone_sigchld_behaves_like_fork) {
  long pid = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
  if (pid == 0) {
    shared_global = 77; /* a private copy: the parent must not see it */
    syscall(SYS_exit_group, 5);
  }
  CHECK(pid > 0);
  expect_exit((pid_t)pid, 5);
  CHECK_EQ(shared_global, 1);
}

TEST(clone_without_exit_signal_needs_wall) {
  /* exit signal 0: a "clone" child, which wait ignores without __WALL/__WCLONE */
  long pid = syscall(SYS_clone, 0L, 0L, 0L, 0L, 0L);
  if (pid == 0) syscall(SYS_exit_group, 9);
  CHECK(pid > 0);
  int st;
  CHECK_ERRNO(waitpid((pid_t)pid, &st, WNOHANG), ECHILD);
  CHECK_EQ(waitpid((pid_t)pid, &st, __WALL), pid);
  CHECK(WIFEXITED(st));
  CHECK_EQ(WEXITSTATUS(st), 9);
}

TEST(cow_child_write_invisible_to_parent) {
  shared_global = 1;
  int p[2];
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) {
    shared_global = 2;
    CHILD_CHECK(shared_global == 2);
    put1(p[1], 'w');
    _exit(0);
  }
  close(p[1]); /* so a child that dies early gives EOF, not a hang */
  CHECK_EQ(get1(p[0]), 'w');
  CHECK_EQ(shared_global, 1);
  expect_exit(pid, 0);
  CHECK_EQ(shared_global, 1);
}

TEST(cow_parent_write_invisible_to_child) {
  shared_global = 1;
  int go[2];
  xpipe(go);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(get1(go[0]) == 'g');
    CHILD_CHECK(shared_global == 1);
    _exit(0);
  }
  shared_global = 3;
  put1(go[1], 'g');
  expect_exit(pid, 0);
  CHECK_EQ(shared_global, 3);
}

TEST(cow_big_heap_region) {
  const size_t n = 2 << 20;
  unsigned char *buf = malloc(n);
  CHECK(buf != NULL);
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 7);
  int go[2];
  xpipe(go);
  pid_t pid = xfork();
  if (pid == 0) {
    /* wait for the parent to scribble on the first half, which we must not see */
    CHILD_CHECK(get1(go[0]) == 'g');
    for (size_t i = 0; i < n; i += 4093) CHILD_CHECK(buf[i] == (unsigned char)(i * 7));
    for (size_t i = 0; i < n; i++) buf[i] = 0xA5;
    for (size_t i = 0; i < n; i += 4093) CHILD_CHECK(buf[i] == 0xA5);
    _exit(0);
  }
  memset(buf, 0x5A, n / 2);
  put1(go[1], 'g');
  expect_exit(pid, 0);
  for (size_t i = 0; i < n / 2; i += 4093) CHECK_EQ(buf[i], 0x5A);
  for (size_t i = n / 2; i < n; i++)
    if (buf[i] != (unsigned char)(i * 7)) FAILF("byte %zu is 0x%x after the child wrote", i, buf[i]);
  free(buf);
}

TEST(cow_map_private_file_mapping) {
  put_file(P("f"), "original contents", 0644);
  int fd = must_open(P("f"), O_RDWR, 0);
  char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(m != MAP_FAILED);
  memcpy(m, "PARENT", 6); /* the parent's own private copy of the page */
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(memcmp(m, "PARENT", 6) == 0);
    memcpy(m, "child!", 6);
    CHILD_CHECK(memcmp(m, "child!", 6) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK(memcmp(m, "PARENT", 6) == 0);
  /* neither private write reached the file */
  char buf[32] = {0};
  CHECK_EQ(pread(fd, buf, sizeof buf - 1, 0), 17);
  CHECK(strcmp(buf, "original contents") == 0);
  munmap(m, 4096);
  close(fd);
}

TEST(map_shared_anonymous_is_shared) {
  volatile int *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  m[0] = 1;
  int go[2], back[2];
  xpipe(go);
  xpipe(back);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(m[0] == 1);
    m[1] = 22;
    put1(back[1], 'c');
    CHILD_CHECK(get1(go[0]) == 'p');
    CHILD_CHECK(m[2] == 33);
    _exit(0);
  }
  close(back[1]);
  CHECK_EQ(get1(back[0]), 'c');
  CHECK_EQ(m[1], 22);
  m[2] = 33;
  put1(go[1], 'p');
  expect_exit(pid, 0);
  munmap((void *)m, 4096);
}

TEST(map_shared_file_mapping_is_shared) {
  put_file(P("f"), "................", 0644);
  int fd = must_open(P("f"), O_RDWR, 0);
  char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(m != MAP_FAILED);
  pid_t pid = xfork();
  if (pid == 0) {
    memcpy(m, "child", 5);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK(memcmp(m, "child", 5) == 0);
  char buf[8] = {0};
  CHECK_EQ(pread(fd, buf, 5, 0), 5);
  CHECK(memcmp(buf, "child", 5) == 0);
  munmap(m, 4096);
  close(fd);
}

TEST(madv_dontfork_region_absent_in_child) {
  char *m = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  m[0] = 'a';
  m[4096] = 'b';
  CHECK_OK(madvise(m, 4096, MADV_DONTFORK));
  pid_t pid = xfork();
  if (pid == 0) {
    no_core();
    signal(SIGSEGV, SIG_DFL);
    /* the second page was inherited as usual */
    CHILD_CHECK(((volatile char *)m)[4096] == 'b');
    /* the first is not mapped at all here */
    ((volatile char *)m)[0] = 'x';
    _exit(0);
  }
  expect_killed(pid, SIGSEGV);
  CHECK_EQ(m[0], 'a');
  munmap(m, 2 * 4096);
}

TEST(madv_dontfork_undone_by_dofork) {
  char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  m[0] = 'a';
  CHECK_OK(madvise(m, 4096, MADV_DONTFORK));
  CHECK_OK(madvise(m, 4096, MADV_DOFORK));
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(((volatile char *)m)[0] == 'a');
    _exit(0);
  }
  expect_exit(pid, 0);
  munmap(m, 4096);
}

TEST(madv_wipeonfork_zeroed_in_child) {
  const size_t n = 4 * 4096;
  unsigned char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  memset(m, 0xEE, n);
  CHECK_OK(madvise(m, n, MADV_WIPEONFORK));
  pid_t pid = xfork();
  if (pid == 0) {
    for (size_t i = 0; i < n; i++) CHILD_CHECK(m[i] == 0);
    /* still mapped and writable */
    m[5] = 9;
    CHILD_CHECK(m[5] == 9);
    _exit(0);
  }
  expect_exit(pid, 0);
  for (size_t i = 0; i < n; i++)
    if (m[i] != 0xEE) FAILF("parent byte %zu changed to 0x%x", i, m[i]);
  munmap(m, n);
}

TEST(madv_wipeonfork_shared_mapping_einval) {
  void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  CHECK_ERRNO(madvise(m, 4096, MADV_WIPEONFORK), EINVAL);
  munmap(m, 4096);
}

TEST(fork_shares_file_offset) {
  put_file(P("f"), "0123456789", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
  pid_t pid = xfork();
  if (pid == 0) {
    char buf[3];
    CHILD_CHECK(lseek(fd, 0, SEEK_CUR) == 2);
    CHILD_CHECK(read(fd, buf, 3) == 3);
    CHILD_CHECK(memcmp(buf, "234", 3) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  /* the child's read moved the offset of the shared open file description */
  CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);
  char c;
  CHECK_EQ(read(fd, &c, 1), 1);
  CHECK_EQ(c, '5');
  close(fd);
}

TEST(fork_child_close_keeps_parent_fd) {
  put_file(P("f"), "abc", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(close(fd) == 0);
    CHILD_CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
    _exit(0);
  }
  expect_exit(pid, 0);
  char buf[4];
  CHECK_EQ(read(fd, buf, 3), 3);
  CHECK(memcmp(buf, "abc", 3) == 0);
  close(fd);
}

TEST(fork_keeps_cloexec_fds_open) {
  int p[2];
  xpipe(p); /* both ends close-on-exec */
  int plain = dup(p[1]);
  CHECK(plain >= 0);
  pid_t pid = xfork();
  if (pid == 0) {
    /* close-on-exec only matters for execve: both are open, flags copied */
    CHILD_CHECK(fcntl(p[1], F_GETFD) == FD_CLOEXEC);
    CHILD_CHECK(fcntl(plain, F_GETFD) == 0);
    CHILD_CHECK(write(p[1], "x", 1) == 1);
    CHILD_CHECK(write(plain, "y", 1) == 1);
    _exit(0);
  }
  expect_exit(pid, 0);
  char buf[2];
  CHECK_EQ(read(p[0], buf, 2), 2);
  CHECK(memcmp(buf, "xy", 2) == 0);
}

TEST(fork_pids_distinct_and_increasing) {
  pid_t pids[8];
  int decreases = 0;
  for (int i = 0; i < 8; i++) {
    pids[i] = xfork();
    if (pids[i] == 0) _exit(0);
    expect_exit(pids[i], 0);
    CHECK(pids[i] != getpid());
    for (int j = 0; j < i; j++) CHECK(pids[i] != pids[j]);
    /* pids are handed out in increasing order, wrapping around at pid_max */
    if (i > 0 && pids[i] < pids[i - 1]) decreases++;
  }
  CHECK(decreases <= 1);
}

TEST(exit_codes_all_256_through_wait) {
  /* vfork keeps 256 process creations cheap; the exit path is the same */
  fflush(NULL);
  for (int code = 0; code < 256; code++) {
    pid_t pid = vfork();
    if (pid == 0) _exit(code);
    if (pid < 0) FAILF("vfork: %s", strerror(errno));
    int st = reap(pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != code || WIFSIGNALED(st))
      FAILF("_exit(%d) came back as %s", code, status_str(st));
  }
}

TEST(exit_code_truncated_to_low_byte) {
  pid_t pid = xfork();
  if (pid == 0) syscall(SYS_exit_group, 256 + 7);
  expect_exit(pid, 7);
  pid = xfork();
  if (pid == 0) _exit(-1);
  expect_exit(pid, 255);
}

TEST(_exit_does_not_flush_stdio) {
  int a[2], b[2];
  xpipe(a);
  xpipe(b);
  pid_t pid = xfork();
  if (pid == 0) {
    FILE *f = fdopen(a[1], "w");
    CHILD_CHECK(f != NULL);
    CHILD_CHECK(setvbuf(f, NULL, _IOFBF, 4096) == 0);
    fputs("lost", f);
    _exit(0);
  }
  close(a[1]);
  char buf[16];
  CHECK_EQ(read_all(a[0], buf, sizeof buf), 0);
  expect_exit(pid, 0);
  /* exit(3), by contrast, flushes */
  pid = xfork();
  if (pid == 0) {
    FILE *f = fdopen(b[1], "w");
    CHILD_CHECK(f != NULL);
    CHILD_CHECK(setvbuf(f, NULL, _IOFBF, 4096) == 0);
    fputs("kept", f);
    exit(0);
  }
  close(b[1]);
  CHECK_EQ(read_all(b[0], buf, sizeof buf), 4);
  CHECK(memcmp(buf, "kept", 4) == 0);
  expect_exit(pid, 0);
}

TEST(fork_inherits_mask_but_not_pending) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR1);
  CHECK_OK(raise(SIGUSR1));
  CHECK(raw_pending() & SIGBIT(SIGUSR1));
  pid_t pid = xfork();
  if (pid == 0) {
    uint64_t m = 0, p = ~0ULL;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8);
    syscall(SYS_rt_sigpending, &p, 8);
    CHILD_CHECK(m & SIGBIT(SIGUSR1));
    CHILD_CHECK(p == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  /* the parent's own pending signal is untouched */
  CHECK(raw_pending() & SIGBIT(SIGUSR1));
  signal(SIGUSR1, SIG_IGN); /* discard it */
  raw_setmask(old);
}

TEST(fork_inherits_signal_dispositions) {
  signal(SIGUSR2, SIG_IGN);
  pid_t pid = xfork();
  if (pid == 0) {
    struct sigaction sa;
    CHILD_CHECK(sigaction(SIGUSR2, NULL, &sa) == 0);
    CHILD_CHECK(sa.sa_handler == SIG_IGN);
    /* so raising it does nothing */
    raise(SIGUSR2);
    _exit(0);
  }
  expect_exit(pid, 0);
}

TEST(fork_clears_parent_death_signal) {
  CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR1));
  int sig = -1;
  CHECK_OK(prctl(PR_GET_PDEATHSIG, &sig));
  CHECK_EQ(sig, SIGUSR1);
  pid_t pid = xfork();
  if (pid == 0) {
    int s = -1;
    CHILD_CHECK(prctl(PR_GET_PDEATHSIG, &s) == 0);
    CHILD_CHECK(s == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK_OK(prctl(PR_SET_PDEATHSIG, 0));
}

TEST(fork_does_not_inherit_itimers) {
  struct itimerval it = {{0, 0}, {30, 0}}, cur;
  CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
  pid_t pid = xfork();
  if (pid == 0) {
    struct itimerval c;
    CHILD_CHECK(getitimer(ITIMER_REAL, &c) == 0);
    CHILD_CHECK(c.it_value.tv_sec == 0 && c.it_value.tv_usec == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK_OK(getitimer(ITIMER_REAL, &cur));
  CHECK(cur.it_value.tv_sec > 0);
  memset(&it, 0, sizeof it);
  CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
}
