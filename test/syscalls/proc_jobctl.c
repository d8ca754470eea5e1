//go:build ignore

/*
 * proc_jobctl.c - job control: stop signals stopping a whole process,
 * SIGCONT resuming it, the parent's SIGCHLD for both, and the rules that
 * tie stop signals and SIGCONT together.
 *
 * Follows signal(7) ("Stop" and "Cont" default actions; SIGSTOP cannot be
 * caught, blocked or ignored; "Interruption of system calls ... by stop
 * signals"), sigaction(2) (SA_NOCLDSTOP: "do not receive notification when
 * child processes stop ... or resume"; SIGCHLD's si_code CLD_STOPPED and
 * CLD_CONTINUED with si_status the signal; EINVAL for SIGKILL/SIGSTOP),
 * kill(2) (a negative pid is a process group; SIGCONT may be sent to a
 * process that is not stopped), wait(2) (WUNTRACED, WCONTINUED, WNOWAIT),
 * POSIX's rules that generating SIGCONT discards pending stop signals and
 * generating a stop signal discards a pending SIGCONT, whatever the mask,
 * credentials(7) and setsid(2) (orphaned process groups: SIGTSTP, SIGTTIN
 * and SIGTTOU with the default action are discarded there; a process group
 * orphaned by an exit while one of its members is stopped gets SIGHUP and
 * SIGCONT) and proc(5) (state T in /proc/[pid]/stat).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* a child that answers each byte on req[0] with the same byte on ans[1],
 * until req is closed */
static pid_t echo_child(int req[2], int ans[2], void (*setup)(void)) {
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(req[1]);
    close(ans[0]);
    if (setup) setup();
    for (int c; (c = get1(req[0])) >= 0;) put1(ans[1], (char)c);
    _exit(0);
  }
  close(req[0]);
  close(ans[1]);
  return pid;
}

/* the child answers a ping */
static int answers(int req, int ans, char c) {
  if (put1(req, c) != 0) return 0;
  return get1(ans) == c;
}

static void stop_and_wait(pid_t pid, int sig) {
  CHECK_OK(kill(pid, sig));
  int st;
  CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
  if (!WIFSTOPPED(st) || WSTOPSIG(st) != sig) FAILF("child %s, want stopped by %d", status_str(st), sig);
}

static volatile long *counter;
static void *count_forever(void *arg) {
  (void)arg;
  for (;;) __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
  return NULL;
}

TEST(sigstop_stops_every_thread) {
  counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(counter != MAP_FAILED);
  int ready[2];
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    pthread_t th;
    CHILD_CHECK(pthread_create(&th, NULL, count_forever, NULL) == 0);
    put1(ready[1], 'r');
    for (;;) pause(); /* the main thread sleeps in a system call */
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  while (*counter == 0) sched_yield();
  guard_alarm(10);
  stop_and_wait(pid, SIGSTOP);
  CHECK_EQ(proc_state(pid), 'T');
  long a = *counter;
  sleep_ms(100);
  /* the counting thread is stopped too */
  CHECK_EQ(*counter, a);
  CHECK_OK(kill(pid, SIGCONT));
  int st;
  CHECK_EQ(waitpid(pid, &st, WCONTINUED), pid);
  CHECK(WIFCONTINUED(st));
  while (*counter == a) sched_yield();
  guard_off();
  CHECK_OK(kill(pid, SIGKILL));
  expect_killed(pid, SIGKILL);
}

TEST(kill_process_group_stops_and_continues_all) {
  int gate[2];
  xpipe(gate);
  pid_t a = xfork();
  if (a == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(1);
  }
  CHECK_OK(setpgid(a, a));
  pid_t b = xfork();
  if (b == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(2);
  }
  CHECK_OK(setpgid(b, a));
  guard_alarm(10);
  CHECK_OK(kill(-a, SIGSTOP));
  int seen = 0, st;
  for (int i = 0; i < 2; i++) {
    pid_t r = waitpid(-a, &st, WUNTRACED);
    CHECK(r == a || r == b);
    CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
    seen |= r == a ? 1 : 2;
  }
  CHECK_EQ(seen, 3);
  CHECK_OK(kill(-a, SIGCONT));
  seen = 0;
  for (int i = 0; i < 2; i++) {
    pid_t r = waitpid(-a, &st, WCONTINUED);
    CHECK(r == a || r == b);
    CHECK(WIFCONTINUED(st));
    seen |= r == a ? 1 : 2;
  }
  CHECK_EQ(seen, 3);
  guard_off();
  close(gate[1]);
  expect_exit(a, 1);
  expect_exit(b, 2);
}

static int cont_pipe = -1;
static void cont_handler(int sig) { put1(cont_pipe, sig == SIGCONT ? 'C' : '?'); }
static int handler_fd[2];
static void catch_cont(void) {
  cont_pipe = handler_fd[1];
  on_signal(SIGCONT, cont_handler, SA_RESTART);
}

TEST(sigcont_to_running_process_runs_handler_no_report) {
  int req[2], ans[2];
  xpipe(req);
  xpipe(ans);
  xpipe(handler_fd);
  pid_t pid = echo_child(req, ans, catch_cont);
  close(handler_fd[1]);
  CHECK(answers(req[1], ans[0], 'a'));
  CHECK_OK(kill(pid, SIGCONT));
  CHECK_EQ(get1(handler_fd[0]), 'C');
  /* nothing was stopped, so there is nothing to report */
  int st;
  CHECK_EQ(waitpid(pid, &st, WCONTINUED | WUNTRACED | WNOHANG), 0);
  CHECK(answers(req[1], ans[0], 'b'));
  close(req[1]);
  expect_exit(pid, 0);
}

/* a SIGCHLD handler that records each siginfo and reports it on a pipe */
static siginfo_t chld_info[8];
static int chld_count;
static int chld_fd[2];
static void chld_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  if (chld_count < 8) chld_info[chld_count] = *si;
  chld_count++;
  put1(chld_fd[1], 'S');
}

/* the next SIGCHLD the handler recorded */
static siginfo_t next_sigchld(void) {
  static int taken;
  guard_alarm(10);
  int c = get1(chld_fd[0]);
  guard_off();
  if (c != 'S') FAILF("no SIGCHLD came");
  return chld_info[taken++];
}

TEST(sigchld_siginfo_for_stop_and_continue) {
  int gate[2];
  xpipe(gate);
  xpipe(chld_fd);
  on_siginfo(SIGCHLD, chld_handler, SA_RESTART);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(0);
  }
  CHECK_OK(kill(pid, SIGSTOP));
  siginfo_t si = next_sigchld();
  CHECK_EQ(si.si_signo, SIGCHLD);
  CHECK_EQ(si.si_code, CLD_STOPPED);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_status, SIGSTOP);
  CHECK_EQ(si.si_uid, getuid());
  CHECK_OK(kill(pid, SIGCONT));
  si = next_sigchld();
  CHECK_EQ(si.si_code, CLD_CONTINUED);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_status, SIGCONT);
  close(gate[1]);
  si = next_sigchld();
  CHECK_EQ(si.si_code, CLD_EXITED);
  expect_exit(pid, 0);
}

TEST(sa_nocldstop_suppresses_stop_and_continue_sigchld) {
  int gate[2];
  xpipe(gate);
  xpipe(chld_fd);
  on_siginfo(SIGCHLD, chld_handler, SA_RESTART | SA_NOCLDSTOP);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(0);
  }
  guard_alarm(10);
  stop_and_wait(pid, SIGSTOP);
  CHECK_OK(kill(pid, SIGCONT));
  int st;
  CHECK_EQ(waitpid(pid, &st, WCONTINUED), pid);
  CHECK(WIFCONTINUED(st));
  guard_off();
  close(gate[1]);
  /* the exit is notified, and it is the first SIGCHLD */
  siginfo_t si = next_sigchld();
  CHECK_EQ(si.si_code, CLD_EXITED);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(chld_count, 1);
  expect_exit(pid, 0);
}

TEST(sigcont_discards_pending_stop_signal) {
  int req[2], ans[2];
  xpipe(req);
  xpipe(ans);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(req[1]);
    close(ans[0]);
    block_sig(SIGTSTP);
    put1(ans[1], 'r');
    get1(req[0]);
    /* the parent sent SIGTSTP: pending, since blocked */
    CHILD_CHECK(raw_pending() & SIGBIT(SIGTSTP));
    put1(ans[1], 'p');
    get1(req[0]);
    /* the parent sent SIGCONT: the stop signal is gone */
    CHILD_CHECK(!(raw_pending() & SIGBIT(SIGTSTP)));
    unblock_sig(SIGTSTP);
    _exit(0);
  }
  close(req[0]);
  close(ans[1]);
  CHECK_EQ(get1(ans[0]), 'r');
  CHECK_OK(kill(pid, SIGTSTP));
  put1(req[1], 'n');
  CHECK_EQ(get1(ans[0]), 'p');
  CHECK_OK(kill(pid, SIGCONT));
  put1(req[1], 'n');
  expect_exit(pid, 0);
}

TEST(stop_signal_discards_pending_sigcont) {
  int req[2], ans[2];
  xpipe(req);
  xpipe(ans);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(req[1]);
    close(ans[0]);
    block_sig(SIGCONT);
    block_sig(SIGTSTP);
    put1(ans[1], 'r');
    get1(req[0]);
    CHILD_CHECK(raw_pending() & SIGBIT(SIGCONT));
    put1(ans[1], 'p');
    get1(req[0]);
    /* SIGTSTP was generated: SIGCONT is no longer pending */
    uint64_t p = raw_pending();
    CHILD_CHECK(!(p & SIGBIT(SIGCONT)));
    CHILD_CHECK(p & SIGBIT(SIGTSTP));
    _exit(0);
  }
  close(req[0]);
  close(ans[1]);
  CHECK_EQ(get1(ans[0]), 'r');
  CHECK_OK(kill(pid, SIGCONT));
  put1(req[1], 'n');
  CHECK_EQ(get1(ans[0]), 'p');
  CHECK_OK(kill(pid, SIGTSTP));
  put1(req[1], 'n');
  expect_exit(pid, 0);
}

static void ignore_tstp(void) { signal(SIGTSTP, SIG_IGN); }

TEST(ignored_stop_signal_does_not_stop) {
  int req[2], ans[2];
  xpipe(req);
  xpipe(ans);
  pid_t pid = echo_child(req, ans, ignore_tstp);
  CHECK(answers(req[1], ans[0], 'a'));
  CHECK_OK(kill(pid, SIGTSTP));
  CHECK(answers(req[1], ans[0], 'b'));
  int st;
  CHECK_EQ(waitpid(pid, &st, WUNTRACED | WNOHANG), 0);
  close(req[1]);
  expect_exit(pid, 0);
}

static int tstp_pipe = -1;
static void tstp_handler(int sig) { put1(tstp_pipe, sig == SIGTSTP ? 'T' : '?'); }
static void catch_tstp(void) {
  tstp_pipe = handler_fd[1];
  on_signal(SIGTSTP, tstp_handler, SA_RESTART);
}

TEST(caught_stop_signal_runs_handler_instead) {
  int req[2], ans[2];
  xpipe(req);
  xpipe(ans);
  xpipe(handler_fd);
  pid_t pid = echo_child(req, ans, catch_tstp);
  close(handler_fd[1]);
  CHECK(answers(req[1], ans[0], 'a'));
  CHECK_OK(kill(pid, SIGTSTP));
  CHECK_EQ(get1(handler_fd[0]), 'T');
  CHECK(answers(req[1], ans[0], 'b'));
  int st;
  CHECK_EQ(waitpid(pid, &st, WUNTRACED | WNOHANG), 0);
  close(req[1]);
  expect_exit(pid, 0);
}

TEST(sigstop_cannot_be_caught_or_ignored) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  CHECK_ERRNO(sigaction(SIGSTOP, &sa, NULL), EINVAL);
  sa.sa_handler = cont_handler;
  CHECK_ERRNO(sigaction(SIGSTOP, &sa, NULL), EINVAL);
  /* and blocking it has no effect */
  block_sig(SIGSTOP);
  CHECK(!(raw_mask() & SIGBIT(SIGSTOP)));
}

TEST(stopped_child_killed_by_sigkill) {
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
  stop_and_wait(pid, SIGSTOP);
  /* other signals wait for the continue; SIGKILL does not */
  CHECK_OK(kill(pid, SIGTERM));
  CHECK_OK(kill(pid, SIGKILL));
  expect_killed(pid, SIGKILL);
  guard_off();
}

TEST(wnowait_leaves_stop_report) {
  int gate[2];
  xpipe(gate);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(5);
  }
  guard_alarm(10);
  CHECK_OK(kill(pid, SIGSTOP));
  siginfo_t si;
  for (int i = 0; i < 2; i++) {
    memset(&si, 0, sizeof si);
    CHECK_EQ(waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT), 0);
    CHECK_EQ(si.si_code, CLD_STOPPED);
    CHECK_EQ(si.si_status, SIGSTOP);
  }
  int st;
  CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
  CHECK(WIFSTOPPED(st));
  CHECK_EQ(waitpid(pid, &st, WUNTRACED | WNOHANG), 0);
  CHECK_OK(kill(pid, SIGCONT));
  guard_off();
  close(gate[1]);
  /* the continue was not waited for; the exit is reported all the same */
  expect_exit(pid, 5);
}

/* Runs in a child that made its own session: its process group is then
 * orphaned (its parent is in another session). */
TEST(tstp_discarded_in_orphaned_pgrp_sigstop_not) {
  int req[2], ans[2];
  xpipe(req);
  xpipe(ans);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(req[1]);
    close(ans[0]);
    CHILD_CHECK(setsid() == getpid());
    for (int c; (c = get1(req[0])) >= 0;) put1(ans[1], (char)c);
    _exit(0);
  }
  close(req[0]);
  close(ans[1]);
  CHECK(answers(req[1], ans[0], 'a'));
  guard_alarm(10);
  CHECK_OK(kill(pid, SIGTSTP));
  CHECK_OK(kill(pid, SIGTTIN));
  CHECK_OK(kill(pid, SIGTTOU));
  /* still running: the three were discarded */
  CHECK(answers(req[1], ans[0], 'b'));
  int st;
  CHECK_EQ(waitpid(pid, &st, WUNTRACED | WNOHANG), 0);
  stop_and_wait(pid, SIGSTOP);
  CHECK_OK(kill(pid, SIGCONT));
  CHECK(answers(req[1], ans[0], 'c'));
  guard_off();
  close(req[1]);
  expect_exit(pid, 0);
}

/* A child forks a grandchild into a new process group of the child's
 * session: the child links that group to the session, so SIGTSTP stops it. */
TEST(tstp_stops_process_in_non_orphaned_pgrp) {
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    int gate[2];
    CHILD_CHECK(pipe(gate) == 0);
    pid_t g = fork();
    if (g == 0) {
      close(gate[1]);
      setpgid(0, 0);
      get1(gate[0]);
      _exit(3);
    }
    CHILD_CHECK(g > 0);
    setpgid(g, g);
    CHILD_CHECK(kill(g, SIGTSTP) == 0);
    int st;
    CHILD_CHECK(waitpid(g, &st, WUNTRACED) == g);
    CHILD_CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTSTP);
    CHILD_CHECK(kill(g, SIGCONT) == 0);
    CHILD_CHECK(waitpid(g, &st, WCONTINUED) == g);
    CHILD_CHECK(WIFCONTINUED(st));
    close(gate[1]);
    CHILD_CHECK(waitpid(g, &st, 0) == g);
    CHILD_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    _exit(0);
  }
  expect_exit(pid, 0);
}

static int hup_pipe = -1;
static void hup_handler(int sig) {
  put1(hup_pipe, sig == SIGHUP ? 'H' : '?');
  _exit(0);
}

/* A child makes its own session and forks a grandchild into another group
 * of it; the grandchild stops. The child's exit orphans the grandchild's
 * group, which holds a stopped process: SIGHUP and SIGCONT follow. */
TEST(orphaned_stopped_pgrp_gets_sighup_and_sigcont) {
  int p[2], pidp[2];
  xpipe(p);
  xpipe(pidp);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(p[0]);
    close(pidp[0]);
    CHILD_CHECK(setsid() == getpid());
    pid_t g = fork();
    if (g == 0) {
      setpgid(0, 0);
      hup_pipe = p[1];
      on_signal(SIGHUP, hup_handler, 0);
      raise(SIGSTOP);
      /* continued without SIGHUP: wrong */
      put1(p[1], 'c');
      _exit(1);
    }
    CHILD_CHECK(g > 0);
    setpgid(g, g);
    write_all(pidp[1], &g, sizeof g);
    int st;
    CHILD_CHECK(waitpid(g, &st, WUNTRACED) == g);
    CHILD_CHECK(WIFSTOPPED(st));
    _exit(0);
  }
  close(p[1]);
  close(pidp[1]);
  pid_t g = 0;
  CHECK_EQ(read_all(pidp[0], &g, sizeof g), sizeof g);
  expect_exit(pid, 0);
  guard_alarm(10);
  int c = get1(p[0]);
  guard_off();
  if (c != 'H') kill(g, SIGKILL);
  CHECK_EQ(c, 'H');
}

TEST(blocked_sigcont_still_resumes) {
  int gate[2], ready[2];
  xpipe(gate);
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    block_sig(SIGCONT);
    put1(ready[1], 'r');
    get1(gate[0]);
    /* the SIGCONT that resumed us is pending, being blocked */
    CHILD_CHECK(raw_pending() & SIGBIT(SIGCONT));
    _exit(0);
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  guard_alarm(10);
  stop_and_wait(pid, SIGSTOP);
  CHECK_OK(kill(pid, SIGCONT));
  int st;
  CHECK_EQ(waitpid(pid, &st, WCONTINUED), pid);
  CHECK(WIFCONTINUED(st));
  guard_off();
  close(gate[1]);
  expect_exit(pid, 0);
}

TEST(read_stopped_and_continued_is_restarted) {
  int data[2], ready[2];
  xpipe(data);
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(data[1]);
    put1(ready[1], 'r');
    char c;
    /* no handler: a stop and continue must not show as EINTR */
    ssize_t n = read(data[0], &c, 1);
    CHILD_CHECK(n == 1 && c == 'd');
    _exit(0);
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  guard_alarm(10);
  /* once the child sleeps in read, stop and continue it */
  for (int i = 0; i < 5000 && proc_state(pid) != 'S'; i++) sleep_ms(1);
  stop_and_wait(pid, SIGSTOP);
  CHECK_OK(kill(pid, SIGCONT));
  int st;
  CHECK_EQ(waitpid(pid, &st, WCONTINUED), pid);
  guard_off();
  put1(data[1], 'd');
  expect_exit(pid, 0);
}
