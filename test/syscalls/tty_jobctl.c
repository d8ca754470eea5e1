//go:build ignore

/*
 * tty_jobctl.c - terminal job control that stops processes: a background
 * process that reads its controlling terminal is stopped by SIGTTIN, one
 * that writes with TOSTOP or changes the settings by SIGTTOU, and the
 * foreground group is stopped by VSUSP (^Z, SIGTSTP); once continued and
 * brought to the foreground, the reader gets its input.
 *
 * Follows termios(3) ("Job control" and TOSTOP, VSUSP), tcsetpgrp(3) and
 * signal(7) (the default action of SIGTTIN, SIGTTOU and SIGTSTP is to
 * stop), with wait(2) WUNTRACED and WCONTINUED to see the stops.
 *
 * Every stop happens inside a session made by a setsid() child (the
 * "leader"), whose own parent is outside the session; the stopped process
 * is a child of the leader in a group of its own, so that group is not
 * orphaned and the signal stops it rather than failing with EIO. The
 * leader reports to the test process through a pipe.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/ttyutil.h"

/* wait_stopped: in the leader, wait for child g to stop with sig */
static void wait_stopped(pid_t g, int sig) {
  int st;
  CHILD_CHECK(waitpid(g, &st, WUNTRACED) == g);
  CHILD_CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == sig);
}

/* continue_in_foreground: make g's group the foreground and continue it.
 * The child must not exit before this returns: a child that has exited by
 * the time of the waitpid is reported as exited, not continued (natively
 * too), so the cases make it wait on a pipe. */
static void continue_in_foreground(int r, pid_t g) {
  block_sig(SIGTTOU); /* the leader is now in the background */
  CHILD_CHECK(tcsetpgrp(r, g) == 0);
  CHILD_CHECK(kill(-g, SIGCONT) == 0);
  int st;
  CHILD_CHECK(waitpid(g, &st, WCONTINUED) == g);
  CHILD_CHECK(WIFCONTINUED(st));
}

/* expect_child_ok: in the leader, child g must exit 0 */
static void expect_child_ok(pid_t g) {
  int st;
  CHILD_CHECK(waitpid(g, &st, 0) == g);
  CHILD_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(background_read_stops_with_sigttin) {
  int m = xmaster();
  const char *name = replica_name(m);
  int ready[2];
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(ready[0]);
    int r = leader_with_ctty(name);
    pid_t g = fork();
    if (g == 0) {
      setpgid(0, 0);
      char buf[16];
      ssize_t n = read(r, buf, sizeof buf); /* stops first */
      CHILD_CHECK(n == 3 && memcmp(buf, "in\n", 3) == 0);
      _exit(0);
    }
    setpgid(g, g);
    wait_stopped(g, SIGTTIN);
    continue_in_foreground(r, g);
    put1(ready[1], 'c');
    expect_child_ok(g);
    _exit(0);
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'c');
  type_in(m, "in\n");
  expect_exit(pid, 0);
  close(m);
}

TEST(background_write_with_tostop_stops_with_sigttou) {
  int m = xmaster();
  const char *name = replica_name(m);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    int r = leader_with_ctty(name);
    struct termios t;
    CHILD_CHECK(tcgetattr(r, &t) == 0);
    t.c_lflag |= TOSTOP;
    CHILD_CHECK(tcsetattr(r, TCSANOW, &t) == 0);
    int go[2];
    CHILD_CHECK(pipe(go) == 0);
    pid_t g = fork();
    if (g == 0) {
      close(go[1]);
      setpgid(0, 0);
      CHILD_CHECK(write(r, "out", 3) == 3); /* stops first */
      get1(go[0]); /* exits only after the leader has seen it continue */
      _exit(0);
    }
    close(go[0]);
    setpgid(g, g);
    wait_stopped(g, SIGTTOU);
    continue_in_foreground(r, g);
    put1(go[1], 'x');
    expect_child_ok(g);
    _exit(0);
  }
  expect_exit(pid, 0);
  expect_output(m, "out");
  close(m);
}

TEST(background_tcsetattr_stops_with_sigttou) {
  int m = xmaster();
  const char *name = replica_name(m);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    int r = leader_with_ctty(name);
    int go[2];
    CHILD_CHECK(pipe(go) == 0);
    pid_t g = fork();
    if (g == 0) {
      close(go[1]);
      setpgid(0, 0);
      struct termios t;
      CHILD_CHECK(tcgetattr(r, &t) == 0); /* reading settings is allowed */
      t.c_lflag &= ~ECHO;
      CHILD_CHECK(tcsetattr(r, TCSANOW, &t) == 0); /* stops first */
      get1(go[0]); /* exits only after the leader has seen it continue */
      _exit(0);
    }
    close(go[0]);
    setpgid(g, g);
    wait_stopped(g, SIGTTOU);
    continue_in_foreground(r, g);
    put1(go[1], 'x');
    expect_child_ok(g);
    struct termios t;
    CHILD_CHECK(tcgetattr(r, &t) == 0);
    CHILD_CHECK((t.c_lflag & ECHO) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  close(m);
}

TEST(vsusp_stops_foreground_group) {
  int m = xmaster();
  const char *name = replica_name(m);
  int ready[2];
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(ready[0]);
    int r = leader_with_ctty(name);
    int go[2];
    CHILD_CHECK(pipe(go) == 0);
    pid_t g = fork();
    if (g == 0) {
      close(go[1]);
      setpgid(0, 0);
      get1(go[0]); /* in the foreground now */
      char buf[16];
      ssize_t n = read(r, buf, sizeof buf); /* ^Z stops it here */
      CHILD_CHECK(n == 5 && memcmp(buf, "more\n", 5) == 0);
      _exit(0);
    }
    close(go[0]);
    setpgid(g, g);
    CHILD_CHECK(tcsetpgrp(r, g) == 0);
    put1(go[1], 'g');
    put1(ready[1], 'f');
    wait_stopped(g, SIGTSTP);
    put1(ready[1], 's');
    CHILD_CHECK(kill(-g, SIGCONT) == 0);
    expect_child_ok(g);
    _exit(0);
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'f');
  type_in(m, "\x1a");
  CHECK_EQ(get1(ready[0]), 's');
  type_in(m, "more\n");
  expect_exit(pid, 0);
  close(m);
}
