/*
 * procutil.h - helpers shared by the proc_*.c, sig_*.c and ipc_*.c conformance
 * tests, which fork children, wait for them and pass bytes through pipes.
 *
 * Include it after harness.h. The rules it supports:
 *
 *  - A forked child never returns into the harness and never calls exit(3)
 *    (which would flush stdio buffers copied from the parent and run the
 *    parent's atexit handlers, such as the scratch-directory cleanup of
 *    fsutil.h). It checks with CHILD_CHECK, which on failure prints a line to
 *    stderr and ends the child with _exit(CHILD_FAILED); the parent then sees
 *    an unexpected wait status and fails the case.
 *  - xfork() flushes stdio first, so nothing buffered is written twice.
 *  - Children that could block forever arm child_guard(), an alarm that kills
 *    them with SIGALRM after a generous delay; it is a failure guard only,
 *    never part of what is tested.
 *  - Ordering between processes is made with pipes (put1/get1), never with
 *    sleeps.
 *
 * The setup helpers use libc; the calls a case is about are made by the case.
 */
#ifndef SBX_PROCUTIL_H
#define SBX_PROCUTIL_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the exit code of a child whose CHILD_CHECK failed */
#define CHILD_FAILED 99

static __attribute__((unused, noreturn)) void child_fail(int line, const char *what) {
  int e = errno;
  dprintf(2, "FAIL %s (child, %s:%d): %s (errno=%d %s)\n", sbx_current ? sbx_current : "?",
          __FILE__, line, what, e, strerror(e));
  _exit(CHILD_FAILED);
}

/* CHILD_CHECK(cond): in a forked child, end it with CHILD_FAILED unless cond holds */
#define CHILD_CHECK(cond)                                  \
  do { if (!(cond)) child_fail(__LINE__, #cond); } while (0)

/* child_guard: a stuck child is killed by SIGALRM after this many seconds */
static __attribute__((unused)) void child_guard(unsigned secs) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigaction(SIGALRM, &sa, NULL);
  alarm(secs);
}

/* guard_alarm / guard_off: a failure guard for a blocking call in the test
 * process itself: a SIGALRM handler without SA_RESTART and an alarm, so a
 * wait that never ends is cut short with EINTR (and the case fails) rather
 * than hanging. Not for cases that use SIGALRM themselves. */
static __attribute__((unused)) void guard_alarm_handler(int sig) { (void)sig; }
static __attribute__((unused)) void guard_alarm(unsigned secs) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = guard_alarm_handler;
  sigaction(SIGALRM, &sa, NULL);
  alarm(secs);
}
static __attribute__((unused)) void guard_off(void) { alarm(0); }

/* xfork: fork, flushing stdio first; fail the case when fork fails */
static __attribute__((unused)) pid_t xfork(void) {
  fflush(NULL);
  pid_t p = fork();
  if (p < 0) FAILF("fork: %s", strerror(errno));
  return p;
}

/* describe a wait status for failure messages */
static __attribute__((unused)) const char *status_str(int st) {
  static char buf[96];
  if (WIFEXITED(st))
    snprintf(buf, sizeof buf, "exited with %d%s", WEXITSTATUS(st),
             WEXITSTATUS(st) == CHILD_FAILED ? " (a CHILD_CHECK failed)" : "");
  else if (WIFSIGNALED(st))
    snprintf(buf, sizeof buf, "killed by signal %d%s", WTERMSIG(st),
             WCOREDUMP(st) ? " (core dumped)" : "");
  else if (WIFSTOPPED(st))
    snprintf(buf, sizeof buf, "stopped by signal %d", WSTOPSIG(st));
  else
    snprintf(buf, sizeof buf, "status 0x%x", st);
  return buf;
}

/* reap: wait for this child (any state change it reports with no options) */
static __attribute__((unused)) int reap(pid_t pid) {
  int st;
  for (;;) {
    pid_t r = waitpid(pid, &st, 0);
    if (r == pid) return st;
    if (r < 0 && errno == EINTR) continue;
    FAILF("waitpid(%d): returned %d: %s", (int)pid, (int)r, strerror(errno));
  }
}

/* expect_exit: the child must exit normally with this code */
static __attribute__((unused)) void expect_exit(pid_t pid, int code) {
  int st = reap(pid);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != code)
    FAILF("child %d %s, want exit code %d", (int)pid, status_str(st), code);
}

/* expect_killed: the child must be killed by this signal */
static __attribute__((unused)) void expect_killed(pid_t pid, int sig) {
  int st = reap(pid);
  if (!WIFSIGNALED(st) || WTERMSIG(st) != sig)
    FAILF("child %d %s, want killed by signal %d", (int)pid, status_str(st), sig);
}

/* xpipe: a pipe whose ends are close-on-exec */
static __attribute__((unused)) void xpipe(int p[2]) {
  if (pipe2(p, O_CLOEXEC) != 0) FAILF("pipe2: %s", strerror(errno));
}

/* put1 / get1: one byte through a pipe; get1 returns -1 at EOF or on error */
static __attribute__((unused)) int put1(int fd, char c) {
  for (;;) {
    ssize_t r = write(fd, &c, 1);
    if (r == 1) return 0;
    if (r < 0 && errno == EINTR) continue;
    return -1;
  }
}
static __attribute__((unused)) int get1(int fd) {
  unsigned char c;
  for (;;) {
    ssize_t r = read(fd, &c, 1);
    if (r == 1) return c;
    if (r < 0 && errno == EINTR) continue;
    return -1;
  }
}

/* write_all / read_all: loop over short transfers and EINTR; read_all reads to
 * EOF or until cap bytes, and returns the count (-1 on error) */
static __attribute__((unused)) int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}
static __attribute__((unused)) long read_all(int fd, void *buf, size_t cap) {
  char *p = buf;
  size_t got = 0;
  while (got < cap) {
    ssize_t r = read(fd, p + got, cap - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (long)got;
}

/* dead_pid: the pid of a child that has exited and been reaped, so no process
 * has it (Linux hands pids out cyclically, so it is not reused at once) */
static __attribute__((unused)) pid_t dead_pid(void) {
  pid_t p = xfork();
  if (p == 0) _exit(0);
  expect_exit(p, 0);
  return p;
}

/* grandchild: fork a child that forks a grandchild and reaps it; both live
 * until the caller closes gate[1] (the write end of a pipe made by the
 * caller). Returns the grandchild's pid, a live process that is not our
 * child; *child gets the child's pid, to be reaped with expect_exit(.., 0). */
static __attribute__((unused)) pid_t grandchild(int gate[2], pid_t *child) {
  int p[2];
  xpipe(p);
  pid_t c = xfork();
  if (c == 0) {
    child_guard(20);
    close(gate[1]);
    close(p[0]);
    pid_t g = fork();
    if (g == 0) {
      close(p[1]);
      get1(gate[0]);
      _exit(0);
    }
    CHILD_CHECK(g > 0);
    CHILD_CHECK(write_all(p[1], &g, sizeof g) == 0);
    int st;
    CHILD_CHECK(waitpid(g, &st, 0) == g);
    CHILD_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    _exit(0);
  }
  close(p[1]);
  pid_t g = 0;
  if (read_all(p[0], &g, sizeof g) != sizeof g) FAILF("no grandchild pid from the child");
  close(p[0]);
  *child = c;
  return g;
}

/* kernel signal masks (bit n-1 is signal n), through the raw system calls */
#define SIGBIT(sig) (1ULL << ((sig) - 1))
static __attribute__((unused)) uint64_t raw_mask(void) {
  uint64_t m = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, 8) != 0) FAILF("rt_sigprocmask: %s", strerror(errno));
  return m;
}
static __attribute__((unused)) void raw_setmask(uint64_t m) {
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &m, NULL, 8) != 0) FAILF("rt_sigprocmask: %s", strerror(errno));
}
static __attribute__((unused)) void block_sig(int sig) {
  uint64_t m = SIGBIT(sig);
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &m, NULL, 8) != 0) FAILF("rt_sigprocmask: %s", strerror(errno));
}
static __attribute__((unused)) void unblock_sig(int sig) {
  uint64_t m = SIGBIT(sig);
  if (syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, 8) != 0) FAILF("rt_sigprocmask: %s", strerror(errno));
}
static __attribute__((unused)) uint64_t raw_pending(void) {
  uint64_t m = 0;
  if (syscall(SYS_rt_sigpending, &m, 8) != 0) FAILF("rt_sigpending: %s", strerror(errno));
  return m;
}

/* on_signal: install a handler (sa_handler) with the given flags and an empty sa_mask */
static __attribute__((unused)) void on_signal(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) FAILF("sigaction(%d): %s", sig, strerror(errno));
}
/* on_siginfo: install an SA_SIGINFO handler */
static __attribute__((unused)) void on_siginfo(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = flags | SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) FAILF("sigaction(%d): %s", sig, strerror(errno));
}

/* monotonic time in nanoseconds, and a plain sleep for children */
static __attribute__((unused)) long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static __attribute__((unused)) void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* proc_state: the state letter of pid from /proc/<pid>/stat, 0 if unreadable */
static __attribute__((unused)) char proc_state(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *rp = strrchr(buf, ')'); /* the command name may hold anything */
  if (rp == NULL || rp[1] != ' ') return 0;
  return rp[2];
}

/* wait_blocked: used by a child about to interrupt pid (its parent) with a
 * signal: wait min_ms, then until pid sleeps in a system call (state 'S' in
 * /proc/<pid>/stat), for at most 5 s. Where /proc cannot tell, the minimum
 * wait alone has to do. */
static __attribute__((unused)) void wait_blocked(pid_t pid, long min_ms) {
  sleep_ms(min_ms);
  for (int i = 0; i < 5000; i++) {
    char st = proc_state(pid);
    if (st == 0 || st == 'S') return;
    sleep_ms(1);
  }
}

/* no_core: make sure a child killed by a core-dumping signal leaves no core
 * file behind (and so reports no core dump in its wait status) */
static __attribute__((unused)) void no_core(void) {
  struct rlimit rl = {0, 0};
  setrlimit(RLIMIT_CORE, &rl);
}

#endif
