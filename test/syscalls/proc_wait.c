//go:build ignore

/*
 * proc_wait.c - waiting for children: wait4, waitpid and waitid. WNOHANG,
 * ECHILD, choosing a child by pid or taking any, the wait status macros for
 * normal exits and deaths by signal, stop and continue reports, the siginfo
 * waitid fills in, WNOWAIT, zombies, resource usage from wait4, and children
 * that are reaped automatically when SIGCHLD is ignored.
 *
 * Follows wait(2) (DESCRIPTION: the pid argument, WNOHANG, WUNTRACED,
 * WCONTINUED, the W* macros, waitid's idtype/options (WEXITED, WSTOPPED,
 * WCONTINUED, WNOWAIT) and the siginfo_t fields si_pid, si_uid, si_signo,
 * si_status and si_code (CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED,
 * CLD_CONTINUED); "WNOHANG ... no children in a waitable state" zeroes si_pid
 * and si_signo on Linux; NOTES: zombies, SIGCHLD set to SIG_IGN; ERRORS:
 * ECHILD, EINVAL), wait4(2) (rusage), core(5) (no core file when RLIMIT_CORE
 * is 0: such children report no core dump), kill(2) and sched_getscheduler(2)
 * (a zombie still exists
 * for kill) and signal(7).
 *
 * The raw waitid system call's fifth argument (a struct rusage, filled only
 * when a child is reported) is checked too.
 *
 * Reparenting to an init process is not tested: the test binary is not pid 1.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"

#include <sched.h>
#include <sys/resource.h>

/* a child that exits when the parent closes the write end of gate */
static pid_t gated_child(int gate[2], int code) {
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(code);
  }
  return pid;
}

/* wait (without reaping) until pid is a zombie */
static void wait_zombie(pid_t pid) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) != 0) FAILF("waitid WNOWAIT: %s", strerror(errno));
}

TEST(wnohang_running_child_returns_zero) {
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate, 4);
  int st = 12345;
  CHECK_EQ(waitpid(pid, &st, WNOHANG), 0);
  CHECK_EQ(wait4(-1, &st, WNOHANG, NULL), 0);
  close(gate[1]);
  expect_exit(pid, 4);
}

TEST(waitid_wnohang_running_child_zeroes_siginfo) {
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate, 0);
  siginfo_t si;
  memset(&si, 0x5a, sizeof si);
  CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0);
  CHECK_EQ(si.si_pid, 0);
  CHECK_EQ(si.si_signo, 0);
  close(gate[1]);
  expect_exit(pid, 0);
}

TEST(no_children_echild) {
  int st;
  CHECK_ERRNO(wait4(-1, &st, 0, NULL), ECHILD);
  CHECK_ERRNO(waitpid(-1, &st, WNOHANG), ECHILD);
  CHECK_ERRNO(wait(&st), ECHILD);
  siginfo_t si;
  CHECK_ERRNO(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
  CHECK_ERRNO(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), ECHILD);
}

TEST(wait_for_non_child_echild) {
  int st;
  siginfo_t si;
  CHECK_ERRNO(waitpid(getpid(), &st, 0), ECHILD);
  CHECK_ERRNO(waitpid(dead_pid(), &st, 0), ECHILD);
  /* a live grandchild is not ours to wait for */
  int gate[2];
  xpipe(gate);
  pid_t child;
  pid_t g = grandchild(gate, &child);
  CHECK_ERRNO(waitpid(g, &st, WNOHANG), ECHILD);
  CHECK_ERRNO(waitpid(g, &st, 0), ECHILD);
  CHECK_ERRNO(waitid(P_PID, g, &si, WEXITED), ECHILD);
  close(gate[1]);
  expect_exit(child, 0);
}

TEST(waitpid_specific_pid_leaves_others) {
  pid_t a = xfork();
  if (a == 0) _exit(1);
  pid_t b = xfork();
  if (b == 0) _exit(2);
  wait_zombie(a);
  wait_zombie(b);
  int st;
  CHECK_EQ(waitpid(b, &st, 0), b);
  CHECK(WIFEXITED(st));
  CHECK_EQ(WEXITSTATUS(st), 2);
  /* a is still there to be reaped */
  CHECK_EQ(waitpid(b, &st, WNOHANG) == -1 && errno == ECHILD, 1);
  CHECK_EQ(waitpid(-1, &st, 0), a);
  CHECK_EQ(WEXITSTATUS(st), 1);
  CHECK_ERRNO(waitpid(-1, &st, WNOHANG), ECHILD);
}

TEST(waitpid_minus_one_reaps_any_child) {
  pid_t pids[4];
  for (int i = 0; i < 4; i++) {
    pids[i] = xfork();
    if (pids[i] == 0) _exit(10 + i);
  }
  int seen = 0;
  for (int n = 0; n < 4; n++) {
    int st;
    pid_t r = waitpid(-1, &st, 0);
    int i;
    for (i = 0; i < 4; i++)
      if (pids[i] == r) break;
    if (i == 4) FAILF("waitpid(-1) returned %d, not one of our children", (int)r);
    CHECK(!(seen & (1 << i)));
    seen |= 1 << i;
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 10 + i);
  }
  CHECK_EQ(seen, 15);
  int st;
  CHECK_ERRNO(waitpid(-1, &st, 0), ECHILD);
}

TEST(wait4_blocks_until_child_exits) {
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate, 3);
  close(gate[1]); /* lets the child go; wait4 must block until it is gone */
  int st;
  CHECK_EQ(wait4(pid, &st, 0, NULL), pid);
  CHECK(WIFEXITED(st));
  CHECK(!WIFSIGNALED(st));
  CHECK(!WIFSTOPPED(st));
  CHECK_EQ(WEXITSTATUS(st), 3);
}

TEST(status_of_child_killed_by_sigkill) {
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate, 0);
  CHECK_OK(kill(pid, SIGKILL));
  int st;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFSIGNALED(st));
  CHECK(!WIFEXITED(st));
  CHECK_EQ(WTERMSIG(st), SIGKILL);
  CHECK(!WCOREDUMP(st));
}

TEST(status_of_child_killed_by_sigsegv) {
  pid_t pid = xfork();
  if (pid == 0) {
    no_core();
    signal(SIGSEGV, SIG_DFL);
    *(volatile int *)8 = 1;
    _exit(0);
  }
  int st;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFSIGNALED(st));
  CHECK_EQ(WTERMSIG(st), SIGSEGV);
  /* RLIMIT_CORE is 0, so no core was written */
  CHECK(!WCOREDUMP(st));
}

TEST(status_of_child_killed_by_sigabrt) {
  pid_t pid = xfork();
  if (pid == 0) {
    no_core();
    abort();
  }
  int st;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFSIGNALED(st));
  CHECK_EQ(WTERMSIG(st), SIGABRT);
  CHECK(!WCOREDUMP(st));
}

TEST(status_of_child_raising_sigterm) {
  pid_t pid = xfork();
  if (pid == 0) {
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    _exit(0);
  }
  expect_killed(pid, SIGTERM);
}

TEST(waitid_exited_siginfo) {
  pid_t pid = xfork();
  if (pid == 0) _exit(71);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_PID, pid, &si, WEXITED), 0);
  CHECK_EQ(si.si_signo, SIGCHLD);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_uid, getuid());
  CHECK_EQ(si.si_code, CLD_EXITED);
  CHECK_EQ(si.si_status, 71);
  /* it was reaped */
  CHECK_ERRNO(waitid(P_PID, pid, &si, WEXITED), ECHILD);
}

TEST(waitid_killed_siginfo) {
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate, 0);
  CHECK_OK(kill(pid, SIGKILL));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_PID, pid, &si, WEXITED), 0);
  CHECK_EQ(si.si_signo, SIGCHLD);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_code, CLD_KILLED);
  CHECK_EQ(si.si_status, SIGKILL);
}

TEST(waitid_sigsegv_without_core_is_cld_killed) {
  pid_t pid = xfork();
  if (pid == 0) {
    no_core();
    signal(SIGSEGV, SIG_DFL);
    *(volatile int *)8 = 1;
    _exit(0);
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_PID, pid, &si, WEXITED), 0);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_code, CLD_KILLED);
  CHECK_EQ(si.si_status, SIGSEGV);
}

TEST(waitid_p_all_any_child) {
  pid_t pid = xfork();
  if (pid == 0) _exit(8);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_ALL, 0, &si, WEXITED), 0);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_status, 8);
}

TEST(waitid_wnowait_leaves_child_reapable) {
  pid_t pid = xfork();
  if (pid == 0) _exit(33);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_code, CLD_EXITED);
  CHECK_EQ(si.si_status, 33);
  /* again: still there */
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT | WNOHANG), 0);
  CHECK_EQ(si.si_pid, pid);
  /* and reapable with the same status */
  int st;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFEXITED(st));
  CHECK_EQ(WEXITSTATUS(st), 33);
  CHECK_ERRNO(waitpid(pid, &st, WNOHANG), ECHILD);
}

TEST(zombie_exists_until_reaped) {
  pid_t pid = xfork();
  if (pid == 0) _exit(0);
  wait_zombie(pid);
  /* a zombie is still a process as far as kill is concerned */
  CHECK_EQ(kill(pid, 0), 0);
  CHECK_EQ(kill(pid, SIGTERM), 0);
  CHECK_EQ(getpgid(pid), getpgrp());
  /* and to the scheduler queries, which find the task until it is reaped */
  CHECK_EQ(sched_getscheduler(pid), SCHED_OTHER);
  struct sched_param sp;
  CHECK_EQ(sched_getparam(pid, &sp), 0);
  CHECK_EQ(sp.sched_priority, 0);
  expect_exit(pid, 0);
  CHECK_ERRNO(kill(pid, 0), ESRCH);
  CHECK_ERRNO(sched_getscheduler(pid), ESRCH);
}

TEST(stopped_and_continued_reports) {
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate, 6);
  guard_alarm(10);
  CHECK_OK(kill(pid, SIGSTOP));
  int st;
  CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
  CHECK(WIFSTOPPED(st));
  CHECK_EQ(WSTOPSIG(st), SIGSTOP);
  CHECK(!WIFEXITED(st) && !WIFSIGNALED(st));
  /* the stop is reported once */
  CHECK_EQ(waitpid(pid, &st, WUNTRACED | WNOHANG), 0);
  CHECK_OK(kill(pid, SIGCONT));
  CHECK_EQ(waitpid(pid, &st, WCONTINUED), pid);
  CHECK(WIFCONTINUED(st));
  CHECK_EQ(waitpid(pid, &st, WCONTINUED | WNOHANG), 0);
  guard_off();
  close(gate[1]);
  expect_exit(pid, 6);
}

TEST(waitid_stopped_and_continued_siginfo) {
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate, 0);
  guard_alarm(10);
  CHECK_OK(kill(pid, SIGSTOP));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_PID, pid, &si, WSTOPPED), 0);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_code, CLD_STOPPED);
  CHECK_EQ(si.si_status, SIGSTOP);
  CHECK_OK(kill(pid, SIGCONT));
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitid(P_PID, pid, &si, WCONTINUED), 0);
  CHECK_EQ(si.si_pid, pid);
  CHECK_EQ(si.si_code, CLD_CONTINUED);
  CHECK_EQ(si.si_status, SIGCONT);
  guard_off();
  close(gate[1]);
  expect_exit(pid, 0);
}

TEST(stopped_child_not_reported_without_wuntraced) {
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate, 0);
  guard_alarm(10);
  CHECK_OK(kill(pid, SIGSTOP));
  siginfo_t si;
  CHECK_EQ(waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT), 0);
  guard_off();
  int st;
  CHECK_EQ(waitpid(pid, &st, WNOHANG), 0);
  CHECK_OK(kill(pid, SIGKILL));
  expect_killed(pid, SIGKILL);
}

TEST(wait_invalid_options_einval) {
  int st;
  siginfo_t si;
  CHECK_ERRNO(waitpid(-1, &st, 0x40000), EINVAL);
  /* waitid needs at least one of WEXITED, WSTOPPED, WCONTINUED */
  CHECK_ERRNO(waitid(P_ALL, 0, &si, WNOHANG), EINVAL);
  CHECK_ERRNO(waitid(P_ALL, 0, &si, 0), EINVAL);
  CHECK_ERRNO(waitid((idtype_t)77, 0, &si, WEXITED), EINVAL);
}

TEST(wait4_fills_rusage) {
  pid_t pid = xfork();
  if (pid == 0) {
    /* touch 4 MiB so the child's peak resident size is clearly nonzero */
    char *mem = malloc(4 << 20);
    CHILD_CHECK(mem != NULL);
    memset(mem, 1, 4 << 20);
    struct timespec ts;
    do clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); while (ts.tv_sec == 0 && ts.tv_nsec < 20000000);
    _exit(0);
  }
  struct rusage ru;
  memset(&ru, 0xff, sizeof ru);
  int st;
  CHECK_EQ(wait4(pid, &st, 0, &ru), pid);
  CHECK(WIFEXITED(st));
  CHECK(ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
  CHECK(ru.ru_stime.tv_sec >= 0 && ru.ru_stime.tv_usec >= 0 && ru.ru_stime.tv_usec < 1000000);
  long long us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  /* the child burned 20 ms of CPU */
  CHECK(us >= 10000);
  CHECK(us < 10000000);
  /* in kilobytes */
  CHECK(ru.ru_maxrss >= 2048);
}

TEST(sigchld_ignored_children_reaped_automatically) {
  CHECK(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
  pid_t pid = xfork();
  if (pid == 0) _exit(0);
  int st;
  /* blocks until the child has terminated, then fails: nothing to report */
  CHECK_ERRNO(waitpid(pid, &st, 0), ECHILD);
  CHECK_ERRNO(kill(pid, 0), ESRCH);
  signal(SIGCHLD, SIG_DFL);
}

TEST(sa_nocldwait_children_reaped_automatically) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = SA_NOCLDWAIT;
  CHECK_OK(sigaction(SIGCHLD, &sa, NULL));
  pid_t pid = xfork();
  if (pid == 0) _exit(0);
  int st;
  CHECK_ERRNO(wait(&st), ECHILD);
  CHECK_ERRNO(kill(pid, 0), ESRCH);
}

/* The raw waitid system call takes a fifth argument, a struct rusage that
 * gets the reaped child's usage (glibc's waitid passes NULL). */
TEST(raw_waitid_fills_rusage) {
  pid_t pid = xfork();
  if (pid == 0) {
    struct timespec ts;
    do clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); while (ts.tv_sec == 0 && ts.tv_nsec < 20000000);
    _exit(0);
  }
  siginfo_t si;
  struct rusage ru;
  memset(&ru, 0xff, sizeof ru);
  memset(&si, 0, sizeof si);
  CHECK_EQ(syscall(SYS_waitid, P_PID, pid, &si, WEXITED, &ru), 0);
  CHECK_EQ(si.si_pid, pid);
  long long us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  CHECK(us >= 10000);
  CHECK(us < 10000000);
  /* nothing reported: the rusage is left alone */
  int gate[2];
  xpipe(gate);
  pid = gated_child(gate, 0);
  memset(&ru, 0x5a, sizeof ru);
  CHECK_EQ(syscall(SYS_waitid, P_PID, pid, &si, WEXITED | WNOHANG, &ru), 0);
  CHECK_EQ(ru.ru_maxrss, 0x5a5a5a5a5a5a5a5aLL);
  close(gate[1]);
  expect_exit(pid, 0);
}
