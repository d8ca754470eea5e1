//go:build ignore

/*
 * proc_pgrp.c - process groups and sessions: getpgrp, getpgid, setpgid,
 * getsid and setsid, their error rules, and signals sent to a whole group
 * with kill(0, sig) and kill(-pgid, sig), and waiting by group.
 *
 * Follows setpgid(2) (DESCRIPTION; ERRORS: EACCES for a child that has
 * performed an execve, EINVAL for a negative pgid, EPERM for a session
 * leader, another session or a group that does not exist in the session,
 * ESRCH for a process that is neither the caller nor its child), getsid(2)
 * and setsid(2) (EPERM when the caller is a process group leader), credentials(7)
 * ("Process groups and sessions": a child of fork inherits them), kill(2)
 * (pid 0 and negative pid; ESRCH) and wait(2) (pid 0 and pid < -1).
 *
 * Cases that signal their own group first make sure the test process leads
 * a group of its own (setpgid(0, 0)), as it does under the Go harness, which
 * starts every case in a new process group.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/exechelper.h"

/* own_group: make the test process the leader of its own process group */
static void own_group(void) {
  if (getpgrp() != getpid()) CHECK_OK(setpgid(0, 0));
  CHECK_EQ(getpgrp(), getpid());
}

/* a child that waits for the gate to close (EOF), then exits 0 */
static pid_t gated_child(int gate[2]) {
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    _exit(0);
  }
  return pid;
}

TEST(getpgrp_getpgid_agree) {
  pid_t g = getpgrp(); /* 0 when the group leader is outside our pid ns */
  CHECK(g >= 0);
  CHECK_EQ(getpgid(0), g);
  CHECK_EQ(getpgid(getpid()), g);
  CHECK_EQ(syscall(SYS_getpgrp), g);
}

TEST(getsid_zero_is_self) {
  /* 0 is a valid answer: the session leader may live in an ancestor pid
   * namespace (as on CI machines that run us inside a container). */
  pid_t s = getsid(0);
  CHECK(s >= 0);
  CHECK_EQ(getsid(getpid()), s);
}

TEST(getpgid_getsid_nonexistent_esrch) {
  pid_t dead = dead_pid();
  CHECK_ERRNO(getpgid(dead), ESRCH);
  CHECK_ERRNO(getsid(dead), ESRCH);
}

TEST(child_inherits_group_and_session) {
  pid_t g = getpgrp(), s = getsid(0);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(getpgrp() == g);
    CHILD_CHECK(getsid(0) == s);
    _exit(0);
  }
  CHECK_EQ(getpgid(pid), g);
  CHECK_EQ(getsid(pid), s);
  expect_exit(pid, 0);
}

TEST(setsid_by_group_leader_eperm) {
  own_group();
  CHECK_ERRNO(setsid(), EPERM);
}

TEST(setsid_in_child_makes_new_session) {
  pid_t s = getsid(0);
  int p[2];
  xpipe(p);
  int gate[2];
  xpipe(gate);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    pid_t me = getpid();
    CHILD_CHECK(setsid() == me);
    CHILD_CHECK(getsid(0) == me);
    CHILD_CHECK(getpgrp() == me);
    /* now a session leader (and so a group leader): setsid again fails */
    CHILD_CHECK(setsid() == -1 && errno == EPERM);
    put1(p[1], 's');
    get1(gate[0]);
    _exit(0);
  }
  close(p[1]); /* so a child that dies early gives EOF, not a hang */
  CHECK_EQ(get1(p[0]), 's');
  CHECK_EQ(getsid(pid), pid);
  CHECK_EQ(getpgid(pid), pid);
  CHECK_EQ(getsid(0), s); /* ours did not change */
  /* a child in another session cannot be moved */
  CHECK_ERRNO(setpgid(pid, getpgrp()), EPERM);
  CHECK_ERRNO(setpgid(pid, pid), EPERM);
  close(gate[1]);
  expect_exit(pid, 0);
}

TEST(session_leader_cannot_setpgid) {
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(setsid() == getpid());
    CHILD_CHECK(setpgid(0, 0) == -1 && errno == EPERM);
    CHILD_CHECK(setpgid(0, getpid()) == -1 && errno == EPERM);
    _exit(0);
  }
  expect_exit(pid, 0);
}

TEST(setpgid_child_into_new_group) {
  int gate[2];
  xpipe(gate);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(gate[1]);
    get1(gate[0]);
    /* the parent's setpgid is visible here */
    CHILD_CHECK(getpgrp() == getpid());
    _exit(0);
  }
  CHECK_OK(setpgid(pid, pid));
  CHECK_EQ(getpgid(pid), pid);
  CHECK(getpgrp() != pid);
  /* and back into ours */
  CHECK_OK(setpgid(pid, getpgrp()));
  CHECK_EQ(getpgid(pid), getpgrp());
  CHECK_OK(setpgid(pid, 0)); /* 0: the child's own pid */
  CHECK_EQ(getpgid(pid), pid);
  close(gate[1]);
  expect_exit(pid, 0);
}

TEST(setpgid_self_in_child) {
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(setpgid(0, 0) == 0);
    CHILD_CHECK(getpgrp() == getpid());
    CHILD_CHECK(getsid(0) == getsid(getppid()));
    _exit(0);
  }
  expect_exit(pid, 0);
}

TEST(setpgid_non_child_esrch) {
  CHECK_ERRNO(setpgid(dead_pid(), 0), ESRCH);
  /* a grandchild is not a child */
  int gate[2];
  xpipe(gate);
  pid_t child;
  pid_t g = grandchild(gate, &child);
  CHECK_ERRNO(setpgid(g, g), ESRCH);
  CHECK_ERRNO(setpgid(g, 0), ESRCH);
  close(gate[1]);
  expect_exit(child, 0);
}

TEST(setpgid_negative_pgid_einval) {
  CHECK_ERRNO(setpgid(0, -1), EINVAL);
  CHECK_ERRNO(setpgid(getpid(), -5), EINVAL);
}

TEST(setpgid_to_missing_group_eperm) {
  pid_t dead = dead_pid();
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(setpgid(0, dead) == -1 && errno == EPERM);
    _exit(0);
  }
  expect_exit(pid, 0);
}

TEST(setpgid_child_after_execve_eacces) {
  int in[2], p[2];
  xpipe(in);
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) {
    if (dup2(in[0], 0) != 0 || dup2(p[1], 1) != 1) _exit(126);
    char *const argv[] = {"h", "--ready-wait", NULL};
    syscall(SYS_execve, "/proc/self/exe", argv, environ);
    _exit(127);
  }
  close(p[1]);
  CHECK_EQ(get1(p[0]), 'r'); /* the helper runs: the execve is done */
  CHECK_ERRNO(setpgid(pid, pid), EACCES);
  CHECK_EQ(getpgid(pid), getpgrp());
  close(in[1]);
  expect_exit(pid, 0);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1++; }

TEST(kill_zero_signals_own_group) {
  own_group();
  uint64_t old = raw_mask();
  block_sig(SIGUSR1);
  int ready[2], done[2];
  xpipe(ready);
  xpipe(done);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    /* SIGUSR1 is blocked (inherited), so it waits for us in sigwaitinfo */
    put1(ready[1], 'r');
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    siginfo_t si;
    int sig = sigwaitinfo(&s, &si);
    CHILD_CHECK(sig == SIGUSR1);
    CHILD_CHECK(si.si_pid == getppid());
    put1(done[1], 'd');
    _exit(0);
  }
  close(ready[1]);
  close(done[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  on_signal(SIGUSR1, on_usr1, 0);
  got_usr1 = 0;
  CHECK_OK(kill(0, SIGUSR1));
  CHECK_EQ(get1(done[0]), 'd');
  expect_exit(pid, 0);
  /* we are in the group too */
  CHECK(raw_pending() & SIGBIT(SIGUSR1));
  raw_setmask(old);
  CHECK_EQ(got_usr1, 1);
}

TEST(kill_negative_pgid_signals_that_group_only) {
  own_group();
  uint64_t old = raw_mask();
  block_sig(SIGUSR2);
  int ready[2], done[2];
  xpipe(ready);
  xpipe(done);
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = xfork();
    if (kids[i] == 0) {
      child_guard(20);
      put1(ready[1], 'r');
      sigset_t s;
      sigemptyset(&s);
      sigaddset(&s, SIGUSR2);
      CHILD_CHECK(sigwaitinfo(&s, NULL) == SIGUSR2);
      put1(done[1], 'd');
      _exit(0);
    }
    /* both children join a new group led by the first */
    CHECK_OK(setpgid(kids[i], kids[0]));
  }
  close(ready[1]);
  close(done[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  CHECK_EQ(get1(ready[0]), 'r');
  CHECK_OK(kill(-kids[0], SIGUSR2));
  CHECK_EQ(get1(done[0]), 'd');
  CHECK_EQ(get1(done[0]), 'd');
  expect_exit(kids[0], 0);
  expect_exit(kids[1], 0);
  /* not our group: nothing for us */
  CHECK(!(raw_pending() & SIGBIT(SIGUSR2)));
  raw_setmask(old);
}

TEST(kill_missing_group_esrch) {
  pid_t dead = dead_pid();
  CHECK_ERRNO(kill(-dead, 0), ESRCH);
  CHECK_ERRNO(kill(-dead, SIGUSR1), ESRCH);
  /* a group that exists (not ours: our group may be 1, and kill(-1, ..)
   * means every process) */
  int gate[2];
  xpipe(gate);
  pid_t pid = gated_child(gate);
  CHECK_OK(setpgid(pid, pid));
  CHECK_EQ(kill(-pid, 0), 0);
  close(gate[1]);
  expect_exit(pid, 0);
  /* a group that is gone again */
  CHECK_ERRNO(kill(-pid, 0), ESRCH);
}

TEST(waitpid_zero_waits_for_own_group_only) {
  own_group();
  int gate[2];
  xpipe(gate);
  pid_t other = gated_child(gate);
  CHECK_OK(setpgid(other, other));
  pid_t mine = xfork();
  if (mine == 0) _exit(4);
  int st;
  /* only the child in our group is reported by pid 0 */
  CHECK_EQ(waitpid(0, &st, 0), mine);
  CHECK_EQ(WEXITSTATUS(st), 4);
  CHECK_ERRNO(waitpid(0, &st, WNOHANG), ECHILD);
  /* the other one is waited for by its group */
  CHECK_EQ(waitpid(-other, &st, WNOHANG), 0);
  close(gate[1]);
  CHECK_EQ(waitpid(-other, &st, 0), other);
  CHECK(WIFEXITED(st));
}
