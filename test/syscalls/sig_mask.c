//go:build ignore

/*
 * sig_mask.c - blocked and pending signals: delivery when a blocked signal is
 * unblocked, sigpending, sigsuspend, sigtimedwait and sigwaitinfo (with and
 * without timeouts), rt_sigqueueinfo/sigqueue and the value they carry,
 * signalfd, kill's existence check with signal 0 and ESRCH, and queueing:
 * a standard signal is pending at most once while real-time signals queue,
 * in order.
 *
 * Follows sigprocmask(2), sigpending(2), sigsuspend(2) (returns -1 EINTR; the
 * mask is restored), sigwaitinfo(2) (sigtimedwait: EAGAIN on timeout, a zero
 * timeout polls; the signal is taken off the pending set), rt_sigqueueinfo(2)
 * (EPERM for si_code >= 0 or SI_TKILL to another process), sigqueue(3)
 * (SI_QUEUE, si_value), signalfd(2) (struct signalfd_siginfo, SFD_NONBLOCK,
 * SFD_CLOEXEC, reading consumes the signal; ERRORS: EINVAL), kill(2)
 * ("If sig is 0, then no signal is sent, but existence and permission checks
 * are still performed"; ESRCH, EINVAL), tgkill(2) and signal(7) ("Queueing
 * and delivery semantics for standard signals", "Real-time signals": queued,
 * same signal in order sent, lowest-numbered first; Linux gives standard
 * signals priority over real-time ones).
 *
 * Waiting is done with the raw rt_sigtimedwait: glibc's wrappers report a
 * signal sent with tgkill (SI_TKILL) as SI_USER. Cases about the order of
 * delivery to handlers block all signals in sa_mask, so one handler runs at a
 * time; otherwise the kernel sets up a frame for every deliverable signal at
 * once and the handler of the last one set up runs first.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"

#include <poll.h>
#include <sys/signalfd.h>

static volatile sig_atomic_t hits;
static int seen[16];
static int seen_val[16];
static volatile int nseen;

static void count_handler(int sig) {
  if (nseen < 16) seen[nseen++] = sig;
  hits++;
}

static void value_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (nseen < 16) {
    seen[nseen] = sig;
    seen_val[nseen] = si->si_value.sival_int;
    nseen++;
  }
  hits++;
}

static void reset(void) {
  hits = 0;
  nseen = 0;
  memset(seen, 0, sizeof seen);
  memset(seen_val, 0, sizeof seen_val);
}

static sigset_t set_of(int a, int b) {
  sigset_t s;
  sigemptyset(&s);
  if (a) sigaddset(&s, a);
  if (b) sigaddset(&s, b);
  return s;
}

/* rt_sigtimedwait, raw: glibc's sigwaitinfo/sigtimedwait rewrite si_code
 * SI_TKILL to SI_USER, and the code is part of what is checked here */
static long waitsig(uint64_t set, siginfo_t *si, const struct timespec *ts) {
  return syscall(SYS_rt_sigtimedwait, &set, si, ts, 8);
}

/* on_signal_ordered: a handler that blocks every other signal while it runs,
 * so that pending signals are handled one at a time, in delivery order (with
 * an empty sa_mask, the kernel would stack a frame for each deliverable
 * signal at once and the last one stacked would run first) */
static void on_signal_ordered(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigfillset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) FAILF("sigaction(%d): %s", sig, strerror(errno));
}

static long queue_to(pid_t pid, int sig, int value, int code) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = sig;
  si.si_code = code;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = value;
  return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}

TEST(blocked_signal_delivered_on_unblock) {
  reset();
  uint64_t old = raw_mask();
  on_signal(SIGUSR1, count_handler, 0);
  block_sig(SIGUSR1);
  CHECK_OK(raise(SIGUSR1));
  CHECK_EQ(hits, 0);
  CHECK(raw_pending() & SIGBIT(SIGUSR1));
  /* delivered before sigprocmask returns */
  unblock_sig(SIGUSR1);
  CHECK_EQ(hits, 1);
  CHECK(!(raw_pending() & SIGBIT(SIGUSR1)));
  raw_setmask(old);
}

TEST(sigpending_reports_blocked_signals) {
  uint64_t old = raw_mask();
  raw_setmask(SIGBIT(SIGUSR1) | SIGBIT(SIGUSR2) | SIGBIT(SIGRTMIN + 1));
  sigset_t p;
  CHECK_OK(sigpending(&p));
  CHECK(!sigismember(&p, SIGUSR1) && !sigismember(&p, SIGUSR2));
  CHECK_OK(raise(SIGUSR2));
  CHECK_OK(raise(SIGRTMIN + 1));
  CHECK_OK(sigpending(&p));
  CHECK(!sigismember(&p, SIGUSR1));
  CHECK(sigismember(&p, SIGUSR2));
  CHECK(sigismember(&p, SIGRTMIN + 1));
  CHECK_EQ(raw_pending(), SIGBIT(SIGUSR2) | SIGBIT(SIGRTMIN + 1));
  signal(SIGUSR2, SIG_IGN);
  signal(SIGRTMIN + 1, SIG_IGN);
  CHECK_EQ(raw_pending(), 0);
  raw_setmask(old);
}

TEST(sigsuspend_waits_for_signal_from_child) {
  reset();
  uint64_t old = raw_mask();
  on_signal(SIGUSR1, count_handler, 0);
  block_sig(SIGUSR1);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(kill(getppid(), SIGUSR1) == 0);
    _exit(0);
  }
  sigset_t none;
  sigemptyset(&none);
  CHECK_ERRNO(sigsuspend(&none), EINTR);
  CHECK_EQ(hits, 1);
  /* the mask from before sigsuspend is back */
  CHECK(raw_mask() & SIGBIT(SIGUSR1));
  expect_exit(pid, 0);
  raw_setmask(old);
}

TEST(sigsuspend_returns_at_once_for_pending_signal) {
  reset();
  uint64_t old = raw_mask();
  on_signal(SIGUSR2, count_handler, 0);
  raw_setmask(SIGBIT(SIGUSR2) | SIGBIT(SIGHUP));
  CHECK_OK(raise(SIGUSR2));
  sigset_t s = set_of(SIGHUP, 0);
  CHECK_ERRNO(sigsuspend(&s), EINTR);
  CHECK_EQ(hits, 1);
  CHECK_EQ(raw_mask(), SIGBIT(SIGUSR2) | SIGBIT(SIGHUP));
  raw_setmask(old);
}

TEST(sigtimedwait_takes_pending_signal) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR1);
  CHECK_OK(raise(SIGUSR1));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  struct timespec ts = {5, 0};
  CHECK_EQ(waitsig(SIGBIT(SIGUSR1), &si, &ts), SIGUSR1);
  CHECK_EQ(si.si_signo, SIGUSR1);
  CHECK_EQ(si.si_code, SI_TKILL);
  CHECK_EQ(si.si_pid, getpid());
  CHECK(!(raw_pending() & SIGBIT(SIGUSR1)));
  raw_setmask(old);
}

TEST(sigtimedwait_timeout_eagain) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR1);
  struct timespec zero = {0, 0};
  CHECK_ERRNO(waitsig(SIGBIT(SIGUSR1), NULL, &zero), EAGAIN);
  struct timespec ts = {0, 20 * 1000000};
  long long t0 = now_ns();
  CHECK_ERRNO(waitsig(SIGBIT(SIGUSR1), NULL, &ts), EAGAIN);
  CHECK(now_ns() - t0 >= 19 * 1000000LL);
  raw_setmask(old);
}

TEST(sigtimedwait_bad_timeout_einval) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR1);
  uint64_t s = SIGBIT(SIGUSR1);
  struct timespec bad = {0, 1000000000}, neg = {-1, 0};
  CHECK_ERRNO(syscall(SYS_rt_sigtimedwait, &s, NULL, &bad, 8), EINVAL);
  CHECK_ERRNO(syscall(SYS_rt_sigtimedwait, &s, NULL, &neg, 8), EINVAL);
  CHECK_ERRNO(syscall(SYS_rt_sigtimedwait, &s, NULL, &(struct timespec){0, 0}, 4), EINVAL);
  raw_setmask(old);
}

TEST(sigwaitinfo_signal_from_child) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR2);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(kill(getppid(), SIGUSR2) == 0);
    _exit(0);
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitsig(SIGBIT(SIGUSR2), &si, NULL), SIGUSR2);
  CHECK_EQ(si.si_code, SI_USER);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_uid, getuid());
  expect_exit(pid, 0);
  raw_setmask(old);
}

TEST(sigqueue_value_to_self) {
  uint64_t old = raw_mask();
  int sig = SIGRTMIN + 1;
  block_sig(sig);
  union sigval v = {.sival_int = 1234};
  CHECK_OK(sigqueue(getpid(), sig, v));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitsig(SIGBIT(sig), &si, NULL), sig);
  CHECK_EQ(si.si_code, SI_QUEUE);
  CHECK_EQ(si.si_value.sival_int, 1234);
  CHECK_EQ(si.si_pid, getpid());
  raw_setmask(old);
}

TEST(rt_sigqueueinfo_raw_value_and_code) {
  uint64_t old = raw_mask();
  int sig = SIGRTMIN + 2;
  block_sig(sig);
  CHECK_OK(queue_to(getpid(), sig, -77, SI_QUEUE));
  /* to itself a process may use any code, even a positive one */
  CHECK_OK(queue_to(getpid(), sig, 5, SI_USER));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitsig(SIGBIT(sig), &si, NULL), sig);
  CHECK_EQ(si.si_code, SI_QUEUE);
  CHECK_EQ(si.si_value.sival_int, -77);
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitsig(SIGBIT(sig), &si, NULL), sig);
  CHECK_EQ(si.si_code, SI_USER);
  raw_setmask(old);
}

TEST(sigqueue_to_child_carries_value) {
  int sig = SIGRTMIN + 3;
  uint64_t old = raw_mask();
  block_sig(sig); /* inherited by the child, so nothing is lost before it waits */
  int ready[2];
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    siginfo_t si;
    CHILD_CHECK(waitsig(SIGBIT(sig), &si, NULL) == sig);
    CHILD_CHECK(si.si_code == SI_QUEUE);
    CHILD_CHECK(si.si_value.sival_int == 77);
    CHILD_CHECK(si.si_pid == getppid());
    _exit(0);
  }
  union sigval v = {.sival_int = 77};
  CHECK_OK(sigqueue(pid, sig, v));
  expect_exit(pid, 0);
  raw_setmask(old);
}

TEST(rt_sigqueueinfo_kernel_codes_to_other_eperm) {
  int gate[2];
  xpipe(gate);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(0);
  }
  CHECK_ERRNO(queue_to(pid, SIGUSR1, 1, SI_USER), EPERM);
  CHECK_ERRNO(queue_to(pid, SIGUSR1, 1, SI_KERNEL), EPERM);
  CHECK_ERRNO(queue_to(pid, SIGUSR1, 1, SI_TKILL), EPERM);
  CHECK_ERRNO(queue_to(dead_pid(), SIGUSR1, 1, SI_QUEUE), ESRCH);
  close(gate[1]);
  expect_exit(pid, 0);
}

TEST(signalfd_reads_blocked_signal) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR1);
  sigset_t s = set_of(SIGUSR1, 0);
  int fd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
  CHECK(fd >= 0);
  CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
  struct signalfd_siginfo ssi;
  CHECK_ERRNO(read(fd, &ssi, sizeof ssi), EAGAIN);
  CHECK_OK(raise(SIGUSR1));
  memset(&ssi, 0, sizeof ssi);
  CHECK_EQ(read(fd, &ssi, sizeof ssi), sizeof ssi);
  CHECK_EQ(ssi.ssi_signo, SIGUSR1);
  CHECK_EQ(ssi.ssi_code, SI_TKILL);
  CHECK_EQ(ssi.ssi_pid, getpid());
  CHECK_EQ(ssi.ssi_uid, getuid());
  /* reading consumed it */
  CHECK(!(raw_pending() & SIGBIT(SIGUSR1)));
  CHECK_ERRNO(read(fd, &ssi, sizeof ssi), EAGAIN);
  close(fd);
  raw_setmask(old);
}

TEST(signalfd_carries_sigqueue_value) {
  int sig = SIGRTMIN + 4;
  uint64_t old = raw_mask();
  block_sig(sig);
  sigset_t s = set_of(sig, 0);
  int fd = signalfd(-1, &s, SFD_NONBLOCK);
  CHECK(fd >= 0);
  union sigval v = {.sival_int = 31337};
  CHECK_OK(sigqueue(getpid(), sig, v));
  CHECK_OK(sigqueue(getpid(), sig, (union sigval){.sival_int = 2}));
  /* one read may return several */
  struct signalfd_siginfo ssi[4];
  memset(ssi, 0, sizeof ssi);
  CHECK_EQ(read(fd, ssi, sizeof ssi), 2 * sizeof ssi[0]);
  CHECK_EQ(ssi[0].ssi_signo, sig);
  CHECK_EQ(ssi[0].ssi_code, SI_QUEUE);
  CHECK_EQ(ssi[0].ssi_int, 31337);
  CHECK_EQ(ssi[1].ssi_int, 2);
  close(fd);
  raw_setmask(old);
}

TEST(signalfd_poll_and_blocking_read_from_child) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR2);
  sigset_t s = set_of(SIGUSR2, 0);
  int fd = signalfd(-1, &s, 0);
  CHECK(fd >= 0);
  struct pollfd pf = {fd, POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 0), 0);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(kill(getppid(), SIGUSR2) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK_EQ(poll(&pf, 1, 5000), 1);
  CHECK(pf.revents & POLLIN);
  struct signalfd_siginfo ssi;
  CHECK_EQ(read(fd, &ssi, sizeof ssi), sizeof ssi);
  CHECK_EQ(ssi.ssi_signo, SIGUSR2);
  CHECK_EQ(ssi.ssi_code, SI_USER);
  CHECK_EQ(ssi.ssi_pid, pid);
  close(fd);
  raw_setmask(old);
}

TEST(signalfd_update_mask_and_errors) {
  uint64_t old = raw_mask();
  raw_setmask(SIGBIT(SIGUSR1) | SIGBIT(SIGUSR2));
  sigset_t s = set_of(SIGUSR1, 0);
  int fd = signalfd(-1, &s, SFD_NONBLOCK);
  CHECK(fd >= 0);
  CHECK_OK(raise(SIGUSR2));
  struct signalfd_siginfo ssi;
  CHECK_ERRNO(read(fd, &ssi, sizeof ssi), EAGAIN);
  /* passing the descriptor back replaces its mask */
  s = set_of(SIGUSR2, 0);
  CHECK_EQ(signalfd(fd, &s, 0), fd);
  CHECK_EQ(read(fd, &ssi, sizeof ssi), sizeof ssi);
  CHECK_EQ(ssi.ssi_signo, SIGUSR2);
  /* a buffer smaller than one record */
  CHECK_OK(raise(SIGUSR2));
  CHECK_ERRNO(read(fd, &ssi, sizeof ssi - 1), EINVAL);
  CHECK_ERRNO(signalfd(-1, &s, 0x4000000), EINVAL);
  CHECK_ERRNO(syscall(SYS_signalfd4, -1, &s, 4, 0), EINVAL);
  int p[2];
  xpipe(p);
  CHECK_ERRNO(signalfd(p[0], &s, 0), EINVAL);
  close(fd);
  signal(SIGUSR2, SIG_IGN);
  raw_setmask(old);
}

TEST(kill_signal_zero_checks_existence) {
  CHECK_EQ(kill(getpid(), 0), 0);
  int gate[2];
  xpipe(gate);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(0);
  }
  CHECK_EQ(kill(pid, 0), 0);
  close(gate[1]);
  expect_exit(pid, 0);
  CHECK_ERRNO(kill(pid, 0), ESRCH);
}

TEST(kill_nonexistent_pid_esrch) {
  pid_t dead = dead_pid();
  CHECK_ERRNO(kill(dead, SIGUSR1), ESRCH);
  CHECK_ERRNO(kill(dead, 0), ESRCH);
  CHECK_ERRNO(syscall(SYS_tgkill, getpid(), dead, 0), ESRCH);
  CHECK_ERRNO(syscall(SYS_tgkill, dead, dead, SIGUSR1), ESRCH);
  CHECK_ERRNO(syscall(SYS_tkill, dead, 0), ESRCH);
}

TEST(kill_stopped_child) {
  int gate[2];
  xpipe(gate);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(0);
  }
  guard_alarm(10);
  CHECK_OK(kill(pid, SIGSTOP));
  int st;
  CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
  guard_off();
  CHECK(WIFSTOPPED(st));
  /* a stopped process exists and SIGKILL still ends it */
  CHECK_EQ(kill(pid, 0), 0);
  CHECK_OK(kill(pid, SIGKILL));
  expect_killed(pid, SIGKILL);
  CHECK_ERRNO(kill(pid, SIGKILL), ESRCH);
}

TEST(kill_invalid_signal_einval) {
  CHECK_ERRNO(kill(getpid(), 65), EINVAL);
  CHECK_ERRNO(kill(getpid(), -1), EINVAL);
  CHECK_ERRNO(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 65), EINVAL);
  CHECK_ERRNO(syscall(SYS_tgkill, 0, syscall(SYS_gettid), SIGUSR1), EINVAL);
  CHECK_ERRNO(syscall(SYS_tgkill, getpid(), 0, SIGUSR1), EINVAL);
}

TEST(standard_signal_does_not_queue) {
  reset();
  uint64_t old = raw_mask();
  on_signal(SIGUSR1, count_handler, 0);
  block_sig(SIGUSR1);
  CHECK_OK(kill(getpid(), SIGUSR1));
  CHECK_OK(kill(getpid(), SIGUSR1));
  CHECK_OK(kill(getpid(), SIGUSR1));
  unblock_sig(SIGUSR1);
  CHECK_EQ(hits, 1);
  /* the same for signals sent to the thread */
  reset();
  block_sig(SIGUSR1);
  CHECK_OK(raise(SIGUSR1));
  CHECK_OK(raise(SIGUSR1));
  unblock_sig(SIGUSR1);
  CHECK_EQ(hits, 1);
  raw_setmask(old);
}

TEST(realtime_signals_queue_in_order) {
  reset();
  uint64_t old = raw_mask();
  int sig = SIGRTMIN + 5;
  on_siginfo(sig, value_handler, 0);
  block_sig(sig);
  CHECK_OK(sigqueue(getpid(), sig, (union sigval){.sival_int = 1}));
  CHECK_OK(sigqueue(getpid(), sig, (union sigval){.sival_int = 2}));
  CHECK_OK(sigqueue(getpid(), sig, (union sigval){.sival_int = 3}));
  CHECK_EQ(hits, 0);
  unblock_sig(sig);
  CHECK_EQ(hits, 3);
  CHECK_EQ(seen_val[0], 1);
  CHECK_EQ(seen_val[1], 2);
  CHECK_EQ(seen_val[2], 3);
  raw_setmask(old);
}

TEST(realtime_signal_kill_twice_delivered_twice) {
  reset();
  uint64_t old = raw_mask();
  int sig = SIGRTMIN + 6;
  on_signal(sig, count_handler, 0);
  block_sig(sig);
  CHECK_OK(kill(getpid(), sig));
  CHECK_OK(kill(getpid(), sig));
  unblock_sig(sig);
  CHECK_EQ(hits, 2);
  raw_setmask(old);
}

TEST(realtime_lowest_number_first) {
  reset();
  uint64_t old = raw_mask();
  int lo = SIGRTMIN + 1, hi = SIGRTMIN + 7;
  on_signal_ordered(lo, count_handler);
  on_signal_ordered(hi, count_handler);
  raw_setmask(old | SIGBIT(lo) | SIGBIT(hi));
  CHECK_OK(raise(hi));
  CHECK_OK(raise(lo));
  CHECK_OK(raise(hi));
  raw_setmask(old);
  CHECK_EQ(nseen, 3);
  CHECK_EQ(seen[0], lo);
  CHECK_EQ(seen[1], hi);
  CHECK_EQ(seen[2], hi);
}

TEST(standard_signal_before_realtime) {
  reset();
  uint64_t old = raw_mask();
  int rt = SIGRTMIN;
  on_signal_ordered(rt, count_handler);
  on_signal_ordered(SIGUSR2, count_handler);
  raw_setmask(old | SIGBIT(rt) | SIGBIT(SIGUSR2));
  CHECK_OK(raise(rt));
  CHECK_OK(raise(SIGUSR2));
  raw_setmask(old);
  CHECK_EQ(nseen, 2);
  CHECK_EQ(seen[0], SIGUSR2);
  CHECK_EQ(seen[1], rt);
}

TEST(sigwaitinfo_picks_lowest_pending) {
  uint64_t old = raw_mask();
  raw_setmask(old | SIGBIT(SIGUSR2) | SIGBIT(SIGHUP) | SIGBIT(SIGRTMIN + 2));
  CHECK_OK(raise(SIGRTMIN + 2));
  CHECK_OK(raise(SIGUSR2));
  CHECK_OK(raise(SIGHUP));
  uint64_t s = SIGBIT(SIGUSR2) | SIGBIT(SIGHUP) | SIGBIT(SIGRTMIN + 2);
  CHECK_EQ(waitsig(s, NULL, NULL), SIGHUP);
  CHECK_EQ(waitsig(s, NULL, NULL), SIGUSR2);
  CHECK_EQ(waitsig(s, NULL, NULL), SIGRTMIN + 2);
  CHECK_EQ(raw_pending(), 0);
  raw_setmask(old);
}

TEST(sigprocmask_unblock_delivers_before_return_in_order) {
  reset();
  uint64_t old = raw_mask();
  on_signal(SIGUSR1, count_handler, 0);
  on_signal(SIGUSR2, count_handler, 0);
  raw_setmask(old | SIGBIT(SIGUSR1) | SIGBIT(SIGUSR2));
  CHECK_OK(raise(SIGUSR2));
  CHECK_OK(raise(SIGUSR1));
  /* unblocking only SIGUSR2 delivers only it */
  unblock_sig(SIGUSR2);
  CHECK_EQ(nseen, 1);
  CHECK_EQ(seen[0], SIGUSR2);
  unblock_sig(SIGUSR1);
  CHECK_EQ(nseen, 2);
  CHECK_EQ(seen[1], SIGUSR1);
  raw_setmask(old);
}
