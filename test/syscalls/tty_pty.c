//go:build ignore

/*
 * tty_pty.c - pseudo-terminals: opening a pair (posix_openpt, grantpt,
 * unlockpt, ptsname, openpty, TIOCGPTN, TIOCGPTPEER, the replica lock), what
 * the two ends look like (fstat, ttyname, isatty), the line discipline
 * (canonical editing with VERASE, VKILL, VWERASE, VLNEXT and VEOF; echo;
 * ICRNL and ONLCR; non-canonical VMIN and VTIME; flushing; FIONREAD; poll),
 * window sizes and SIGWINCH, controlling terminals (acquired on open by a
 * session leader without O_NOCTTY, TIOCSCTTY, TIOCNOTTY, /dev/tty),
 * foreground process groups (tcsetpgrp, tcgetpgrp, tcgetsid), ISIG
 * characters and TIOCSIG, TIOCSTI, background access that does not stop
 * (EIO, EINTR), and hang-ups when either end goes away.
 *
 * Follows pty(7) (the master and replica; EIO on the master once the
 * replica is closed), posix_openpt(3), grantpt(3), unlockpt(3), ptsname(3),
 * openpty(3), ttyname(3), isatty(3) (ENOTTY), termios(3) ("Canonical and
 * noncanonical mode": one line per read, VMIN/VTIME cases A to D; the
 * special characters; the flag descriptions; tcflush; tcsetattr
 * TCSAFLUSH), tcgetpgrp(3)/tcsetpgrp(3) (ENOTTY, EPERM, and ESRCH as
 * Linux returns it), tcgetsid(3), credentials(7) ("Sessions": acquiring a
 * controlling terminal) and ioctl_tty(2) (TIOCSCTTY and its steal
 * argument, TIOCNOTTY, TIOCGPGRP/TIOCGSID also on the master side,
 * TIOCSWINSZ and SIGWINCH, TIOCGPTN, TIOCSPTLCK/TIOCGPTLCK, TIOCGPTPEER,
 * TIOCSIG, TIOCSTI, TIOCGETD/TIOCSETD, TIOCEXCL/TIOCNXCL/TIOCGEXCL,
 * TIOCOUTQ).
 * Where the man pages leave a detail open the case follows what Linux does
 * (each case passes natively first): a replica read after the master closed
 * returns 0 and a write fails with EIO; closing the master sends SIGHUP to
 * the session leader only (the foreground group hears of it when the leader
 * exits); tcsetpgrp from an orphaned background group fails with ENOTTY;
 * echo rubs a tab out by columns and VWERASE stops at punctuation (n_tty's
 * eraser); a hung-up replica answers requests with EIO.
 *
 * Session work happens in setsid() children, so no case depends on whether
 * the test process has a controlling terminal. Cases that need a process to
 * be stopped (SIGTTIN, SIGTTOU, SIGTSTP with their default action) are in
 * pending/tty_jobctl.c.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/ttyutil.h"

#include <pty.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* own_group: make the test process the leader of its own process group */
static void own_group(void) {
  if (getpgrp() != getpid()) CHECK_OK(setpgid(0, 0));
  CHECK_EQ(getpgrp(), getpid());
}

/* child_read_exact: in a child, the next read of fd returns exactly s */
static void child_read_exact(int fd, const char *s) {
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n != (ssize_t)strlen(s)) dprintf(2, "read %zd bytes %s\n", n, show(buf, (int)n));
  CHILD_CHECK(n == (ssize_t)strlen(s));
  CHILD_CHECK(memcmp(buf, s, (size_t)n) == 0);
}

/* fork_background: in a session leader, fork a member of the session that
 * leads a process group of its own and waits for gate to close; the group
 * is set on both sides so the caller can use it at once */
static pid_t fork_background(int gate[2]) {
  pid_t g = fork();
  CHILD_CHECK(g >= 0);
  if (g == 0) {
    close(gate[1]);
    setpgid(0, 0);
    get1(gate[0]);
    _exit(0);
  }
  setpgid(g, g);
  CHILD_CHECK(getpgid(g) == g);
  return g;
}

static volatile sig_atomic_t caught;
static void count_sig(int sig) { (void)sig; caught++; }

/* ---- opening a pair ---- */

TEST(openpt_grantpt_unlockpt_ptsname) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  CHECK(m >= 0);
  CHECK_EQ(grantpt(m), 0);
  CHECK_EQ(unlockpt(m), 0);
  char *name = ptsname(m);
  CHECK(name != NULL);
  CHECK(strncmp(name, "/dev/pts/", 9) == 0);
  int r = open(name, O_RDWR | O_NOCTTY);
  CHECK(r >= 0);
  /* the two ends are connected */
  CHECK_EQ(write(r, "x", 1), 1);
  expect_output(m, "x");
  close(r);
  close(m);
}

TEST(replica_locked_until_unlockpt) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  CHECK(m >= 0);
  const char *name = replica_name(m);
  int lock = -1;
  CHECK_EQ(ioctl(m, TIOCGPTLCK, &lock), 0);
  CHECK_EQ(lock, 1);
  CHECK_ERRNO(open(name, O_RDWR | O_NOCTTY), EIO);
  CHECK_EQ(unlockpt(m), 0);
  CHECK_EQ(ioctl(m, TIOCGPTLCK, &lock), 0);
  CHECK_EQ(lock, 0);
  int r = open(name, O_RDWR | O_NOCTTY);
  CHECK(r >= 0);
  CHECK_EQ(write(r, "y", 1), 1);
  expect_output(m, "y");
  /* locking again refuses new opens */
  lock = 1;
  CHECK_EQ(ioctl(m, TIOCSPTLCK, &lock), 0);
  CHECK_ERRNO(open(name, O_RDWR | O_NOCTTY), EIO);
  close(r);
  close(m);
}

TEST(pty_calls_on_non_masters_fail) {
  int m, r;
  xpair(&m, &r);
  int p[2];
  xpipe(p);
  CHECK_ERRNO(grantpt(p[0]), EINVAL);
  CHECK_ERRNO(grantpt(r), EINVAL);
  CHECK_ERRNO(unlockpt(r), EINVAL);
  errno = 0;
  CHECK(ptsname(r) == NULL);
  CHECK_EQ(errno, ENOTTY);
  close(p[0]);
  close(p[1]);
  close(r);
  close(m);
}

TEST(tiocgptn_names_the_replica) {
  int m = xmaster();
  unsigned n = 12345;
  CHECK_EQ(ioctl(m, TIOCGPTN, &n), 0);
  char want[64];
  snprintf(want, sizeof want, "/dev/pts/%u", n);
  CHECK(strcmp(ptsname(m), want) == 0);
  struct stat st;
  CHECK_EQ(stat(want, &st), 0);
  CHECK(S_ISCHR(st.st_mode));
  /* the replica does not answer the master's requests */
  int r = xreplica(m, O_NOCTTY);
  CHECK_ERRNO(ioctl(r, TIOCGPTN, &n), ENOTTY);
  close(r);
  close(m);
}

TEST(replica_fstat_is_char_device_136) {
  int m, r;
  xpair(&m, &r);
  unsigned n;
  CHECK_EQ(ioctl(m, TIOCGPTN, &n), 0);
  struct stat st, st2;
  CHECK_EQ(fstat(r, &st), 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_EQ(major(st.st_rdev), 136);
  CHECK_EQ(minor(st.st_rdev), n);
  CHECK_EQ(stat(ptsname(m), &st2), 0);
  CHECK_EQ(st2.st_rdev, st.st_rdev);
  CHECK_EQ(st2.st_ino, st.st_ino);
  CHECK_EQ(st2.st_dev, st.st_dev);
  /* the master is /dev/ptmx, 5:2 */
  CHECK_EQ(fstat(m, &st), 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_EQ(st.st_rdev, makedev(5, 2));
  close(r);
  close(m);
}

TEST(ttyname_matches_ptsname) {
  int m, r;
  xpair(&m, &r);
  char *tn = ttyname(r);
  CHECK(tn != NULL);
  CHECK(strcmp(tn, ptsname(m)) == 0);
  close(r);
  close(m);
}

TEST(isatty_both_ends_not_pipe) {
  int m, r;
  xpair(&m, &r);
  CHECK_EQ(isatty(m), 1);
  CHECK_EQ(isatty(r), 1);
  int p[2];
  xpipe(p);
  errno = 0;
  CHECK_EQ(isatty(p[0]), 0);
  CHECK_EQ(errno, ENOTTY);
  struct termios t;
  CHECK_ERRNO(tcgetattr(p[1], &t), ENOTTY);
  int nul = open("/dev/null", O_RDWR);
  CHECK(nul >= 0);
  errno = 0;
  CHECK_EQ(isatty(nul), 0);
  CHECK_EQ(errno, ENOTTY);
  close(nul);
  close(p[0]);
  close(p[1]);
  close(r);
  close(m);
}

TEST(default_termios_is_cooked) {
  int m, r;
  xpair(&m, &r);
  struct termios t = xgetattr(r);
  CHECK((t.c_lflag & (ICANON | ECHO | ISIG)) == (ICANON | ECHO | ISIG));
  CHECK(t.c_iflag & ICRNL);
  CHECK((t.c_oflag & (OPOST | ONLCR)) == (OPOST | ONLCR));
  CHECK_EQ(t.c_cc[VINTR], 3);
  CHECK_EQ(t.c_cc[VQUIT], 0x1c);
  CHECK_EQ(t.c_cc[VERASE], 0x7f);
  CHECK_EQ(t.c_cc[VKILL], 0x15);
  CHECK_EQ(t.c_cc[VEOF], 4);
  CHECK_EQ(t.c_cc[VSUSP], 0x1a);
  CHECK_EQ(t.c_cc[VMIN], 1);
  CHECK_EQ(t.c_cc[VTIME], 0);
  /* both ends share the settings */
  struct termios tm = xgetattr(m);
  CHECK_EQ(tm.c_lflag, t.c_lflag);
  CHECK_EQ(tm.c_iflag, t.c_iflag);
  close(r);
  close(m);
}

TEST(openpty_gives_a_connected_pair) {
  int m = -1, r = -1;
  char name[64];
  struct winsize ws = {.ws_row = 33, .ws_col = 77};
  CHECK_EQ(openpty(&m, &r, name, NULL, &ws), 0);
  CHECK(strcmp(ttyname(r), name) == 0);
  struct winsize got;
  CHECK_EQ(ioctl(r, TIOCGWINSZ, &got), 0);
  CHECK_EQ(got.ws_row, 33);
  CHECK_EQ(got.ws_col, 77);
  type_in(m, "hi\n");
  char buf[16];
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  CHECK(memcmp(buf, "hi\n", 3) == 0);
  close(r);
  close(m);
}

TEST(openpty_applies_termios) {
  int m0, r0;
  xpair(&m0, &r0);
  struct termios t = xgetattr(r0);
  t.c_lflag &= ~ECHO;
  int m, r;
  CHECK_EQ(openpty(&m, &r, NULL, &t, NULL), 0);
  CHECK_EQ(xgetattr(r).c_lflag & ECHO, 0);
  CHECK(xgetattr(r).c_lflag & ICANON);
  close(r);
  close(m);
  close(r0);
  close(m0);
}

TEST(forkpty_child_runs_on_the_terminal) {
  int m = -1;
  char name[64];
  fflush(NULL);
  pid_t pid = forkpty(&m, name, NULL, NULL);
  CHECK(pid >= 0);
  if (pid == 0) {
    child_guard(20);
    /* login_tty made a session with the replica as controlling terminal
     * and standard streams */
    CHILD_CHECK(getsid(0) == getpid());
    CHILD_CHECK(isatty(0) && isatty(1) && isatty(2));
    CHILD_CHECK(tcgetsid(0) == getpid());
    CHILD_CHECK(tcgetpgrp(1) == getpid());
    CHILD_CHECK(strcmp(ttyname(0), name) == 0);
    char line[16];
    CHILD_CHECK(read(0, line, sizeof line) == 5 && memcmp(line, "ping\n", 5) == 0);
    CHILD_CHECK(write(1, "pong\n", 5) == 5);
    _exit(0);
  }
  type_in(m, "ping\n");
  expect_output(m, "ping\r\npong\r\n");
  expect_exit(pid, 0);
  /* the replica's last holder is gone */
  char c;
  CHECK_ERRNO(read(m, &c, 1), EIO);
  close(m);
}

TEST(tiocgptpeer_opens_the_replica) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  CHECK(m >= 0);
  /* locked: the peer cannot be opened either */
  CHECK_ERRNO(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY), EIO);
  CHECK_EQ(unlockpt(m), 0);
  int r = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  CHECK(r >= 0);
  CHECK_EQ(fcntl(r, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(fcntl(r, F_GETFL) & O_ACCMODE, O_RDWR);
  char *tn = ttyname(r);
  CHECK(tn != NULL);
  CHECK(strcmp(tn, ptsname(m)) == 0);
  type_in(m, "q\n");
  char buf[8];
  CHECK_EQ(read(r, buf, sizeof buf), 2);
  /* asked of the replica, it is not a master */
  CHECK_ERRNO(ioctl(r, TIOCGPTPEER, O_RDWR | O_NOCTTY), EIO);
  close(r);
  close(m);
}

/* ---- canonical mode ---- */

TEST(canon_line_only_after_newline) {
  int m, r;
  xpair(&m, &r);
  type_in(m, "ab");
  CHECK(quiet_for(r, 200));
  type_in(m, "c\n");
  char buf[64];
  CHECK_EQ(read(r, buf, sizeof buf), 4);
  CHECK(memcmp(buf, "abc\n", 4) == 0);
  close(r);
  close(m);
}

TEST(canon_one_line_per_read) {
  int m, r;
  xpair(&m, &r);
  type_in(m, "one\ntwo\n");
  char buf[64];
  CHECK_EQ(read(r, buf, sizeof buf), 4);
  CHECK(memcmp(buf, "one\n", 4) == 0);
  CHECK_EQ(read(r, buf, sizeof buf), 4);
  CHECK(memcmp(buf, "two\n", 4) == 0);
  /* a short buffer takes the line in pieces */
  type_in(m, "hello\n");
  CHECK_EQ(read(r, buf, 2), 2);
  CHECK(memcmp(buf, "he", 2) == 0);
  CHECK_EQ(read(r, buf, 3), 3);
  CHECK(memcmp(buf, "llo", 3) == 0);
  CHECK_EQ(read(r, buf, sizeof buf), 1);
  CHECK_EQ(buf[0], '\n');
  close(r);
  close(m);
}

TEST(canon_verase_vkill_vwerase) {
  int m, r;
  xpair(&m, &r);
  type_in(m, "\x7f" "abx\x7f\n");
  char buf[64];
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  CHECK(memcmp(buf, "ab\n", 3) == 0);
  type_in(m, "xyz\x15" "cd\n");
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  CHECK(memcmp(buf, "cd\n", 3) == 0);
  type_in(m, "foo bar\x17" "baz\n");
  CHECK_EQ(read(r, buf, sizeof buf), 8);
  CHECK(memcmp(buf, "foo baz\n", 8) == 0);
  /* VERASE changed with tcsetattr */
  struct termios t = xgetattr(r);
  t.c_cc[VERASE] = '#';
  xsetattr(r, &t);
  type_in(m, "ab#c\x7f\n");
  CHECK_EQ(read(r, buf, sizeof buf), 4);
  CHECK(memcmp(buf, "ac\x7f\n", 4) == 0);
  close(r);
  close(m);
}

TEST(canon_vlnext_quotes_next_char) {
  int m, r;
  xpair(&m, &r);
  type_in(m, "a\x16\x7f\x16\x15" "b\n");
  char buf[64];
  CHECK_EQ(read(r, buf, sizeof buf), 5);
  CHECK(memcmp(buf, "a\x7f\x15" "b\n", 5) == 0);
  close(r);
  close(m);
}

TEST(canon_veof_empty_line_reads_0) {
  int m, r;
  xpair(&m, &r);
  type_in(m, "\x04");
  char buf[64];
  CHECK_EQ(read(r, buf, sizeof buf), 0);
  /* the terminal stays usable after the end-of-file */
  type_in(m, "ab\x04");
  CHECK_EQ(read(r, buf, sizeof buf), 2);
  CHECK(memcmp(buf, "ab", 2) == 0);
  type_in(m, "z\n");
  CHECK_EQ(read(r, buf, sizeof buf), 2);
  close(r);
  close(m);
}

TEST(canon_icrnl_and_igncr) {
  int m, r;
  xpair(&m, &r);
  set_lflag(r, 0, ECHO);
  type_in(m, "a\r");
  char buf[64];
  CHECK_EQ(read(r, buf, sizeof buf), 2);
  CHECK(memcmp(buf, "a\n", 2) == 0);
  struct termios t = xgetattr(r);
  t.c_iflag &= ~ICRNL;
  xsetattr(r, &t);
  type_in(m, "b\r\n");
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  CHECK(memcmp(buf, "b\r\n", 3) == 0);
  t.c_iflag |= IGNCR;
  xsetattr(r, &t);
  type_in(m, "c\rd\n");
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  CHECK(memcmp(buf, "cd\n", 3) == 0);
  close(r);
  close(m);
}

/* ---- echo and output processing ---- */

TEST(echo_on_shows_input_on_master) {
  int m, r;
  xpair(&m, &r);
  type_in(m, "hi\n");
  expect_output(m, "hi\r\n");
  /* ECHOE: an erase rubs the character out; ECHOCTL: ^X for controls */
  type_in(m, "ab\x7f\x01\n");
  expect_output(m, "ab\b \b^A\r\n");
  char buf[64];
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  CHECK(memcmp(buf, "a\x01\n", 3) == 0);
  close(r);
  close(m);
}

TEST(echo_off_shows_nothing) {
  int m, r;
  xpair(&m, &r);
  set_lflag(r, 0, ECHO);
  type_in(m, "secret\n");
  char buf[64];
  CHECK_EQ(read(r, buf, sizeof buf), 7);
  CHECK(quiet_for(m, 200));
  /* ECHONL alone echoes the newline */
  set_lflag(r, ECHONL, 0);
  type_in(m, "pw\n");
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  expect_output(m, "\r\n");
  CHECK(quiet_for(m, 200));
  close(r);
  close(m);
}

TEST(onlcr_and_opost_on_output) {
  int m, r;
  xpair(&m, &r);
  CHECK_EQ(write(r, "x\ny\n", 4), 4);
  expect_output(m, "x\r\ny\r\n");
  struct termios t = xgetattr(r);
  t.c_oflag &= ~ONLCR;
  xsetattr(r, &t);
  CHECK_EQ(write(r, "a\n", 2), 2);
  expect_output(m, "a\n");
  t.c_oflag |= ONLCR | OCRNL;
  t.c_oflag &= ~OPOST;
  xsetattr(r, &t);
  CHECK_EQ(write(r, "b\r\n", 3), 3);
  expect_output(m, "b\r\n");
  t.c_oflag |= OPOST;
  xsetattr(r, &t);
  CHECK_EQ(write(r, "c\r", 2), 2);
  expect_output(m, "c\n");
  close(r);
  close(m);
}

TEST(echo_of_erasing_follows_linux) {
  int m, r;
  xpair(&m, &r);
  char buf[64];
  /* a tab is rubbed out back to where it started: the line began after a
   * prompt in column 4, and "x" took one more column */
  CHECK_EQ(write(r, "ab> ", 4), 4);
  expect_output(m, "ab> ");
  type_in(m, "x\t\x7f");
  expect_output(m, "x\t\b\b\b");
  /* VWERASE: a word ends at punctuation once letters were seen */
  type_in(m, "a.b-c_d\x17");
  expect_output(m, "a.b-c_d\b \b\b \b\b \b");
  /* VREPRINT shows the line again */
  type_in(m, "\x12");
  expect_output(m, "^R\r\nxa.b-");
  type_in(m, "\n");
  expect_output(m, "\r\n");
  CHECK_EQ(read(r, buf, sizeof buf), 6);
  CHECK(memcmp(buf, "xa.b-\n", 6) == 0);
  /* without ECHOE the erase character is echoed; a control character
   * echoed raw (no ECHOCTL) takes no column to rub out */
  set_lflag(r, 0, ECHOE);
  type_in(m, "q\x7f");
  expect_output(m, "q^?");
  set_lflag(r, ECHOE, ECHOCTL);
  type_in(m, "\x01\x7f");
  expect_output(m, "\x01");
  /* VKILL without ECHOKE: the kill character, then a newline (ECHOK) */
  set_lflag(r, ECHOCTL, ECHOKE);
  type_in(m, "zz\x15");
  expect_output(m, "zz^U\r\n");
  CHECK(quiet_for(m, 100));
  close(r);
  close(m);
}

TEST(xtabs_expands_tabs_on_output) {
  int m, r;
  xpair(&m, &r);
  struct termios t = xgetattr(r);
  t.c_oflag = (t.c_oflag & ~TABDLY) | XTABS;
  xsetattr(r, &t);
  CHECK_EQ(write(r, "a\tbc\td\n\te", 10), 10);
  expect_output(m, "a       bc      d\r\n        e");
  close(r);
  close(m);
}

/* pollout_within: POLLOUT on fd is (want 1) or is not (want 0) reported
 * within ms milliseconds */
static int pollout_within(int fd, int want, int ms) {
  for (int i = 0; i <= ms; i += 5) {
    struct pollfd pf = {fd, POLLOUT, 0};
    CHECK(poll(&pf, 1, 0) >= 0);
    if (!!(pf.revents & POLLOUT) == want) return 1;
    sleep_ms(5);
  }
  return 0;
}

TEST(ixon_stop_and_start_output) {
  int m, r;
  xpair(&m, &r);
  CHECK_OK(fcntl(r, F_SETFL, O_NONBLOCK));
  /* ^S stops the replica's output: writes wait, echoes are held */
  type_in(m, "\x13");
  CHECK(pollout_within(r, 0, 5000));
  CHECK_ERRNO(write(r, "x", 1), EAGAIN);
  type_in(m, "ab");
  CHECK(quiet_for(m, 200));
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    CHILD_CHECK(fcntl(r, F_SETFL, 0) == 0);
    CHILD_CHECK(write(r, "late", 4) == 4); /* waits for ^Q */
    _exit(0);
  }
  CHECK(quiet_for(m, 200));
  /* ^Q starts it again: the held echo, then the waiting write */
  type_in(m, "\x11");
  expect_output(m, "ablate");
  expect_exit(pid, 0);
  CHECK_OK(fcntl(r, F_SETFL, O_NONBLOCK));
  CHECK_EQ(write(r, "y", 1), 1);
  expect_output(m, "y");
  /* IXANY: any character starts it */
  struct termios t = xgetattr(r);
  t.c_iflag |= IXANY;
  xsetattr(r, &t);
  type_in(m, "\x13");
  CHECK(pollout_within(r, 0, 5000));
  type_in(m, "c");
  expect_output(m, "c");
  CHECK(pollout_within(r, 1, 5000));
  close(r);
  close(m);
}

TEST(tcflow_suspends_and_resumes_output) {
  int m, r;
  xpair(&m, &r);
  CHECK_OK(fcntl(r, F_SETFL, O_NONBLOCK));
  CHECK_EQ(tcflow(r, TCOOFF), 0);
  CHECK_ERRNO(write(r, "x", 1), EAGAIN);
  /* START from the keyboard does not undo TCOOFF */
  type_in(m, "\x11");
  CHECK(quiet_for(m, 200));
  CHECK_ERRNO(write(r, "x", 1), EAGAIN);
  CHECK_EQ(tcflow(r, TCOON), 0);
  CHECK_EQ(write(r, "z", 1), 1);
  expect_output(m, "z");
  /* TCIOFF and TCION send STOP and START to the other side */
  CHECK_EQ(tcflow(r, TCIOFF), 0);
  expect_output(m, "\x13");
  CHECK_EQ(tcflow(r, TCION), 0);
  expect_output(m, "\x11");
  CHECK_ERRNO(tcflow(r, 99), EINVAL);
  /* turning IXON off starts output stopped by STOP */
  type_in(m, "\x13");
  CHECK(pollout_within(r, 0, 5000));
  struct termios t = xgetattr(r);
  t.c_iflag &= ~IXON;
  xsetattr(r, &t);
  CHECK_EQ(write(r, "w", 1), 1);
  expect_output(m, "w");
  close(r);
  close(m);
}

/* ---- non-canonical mode ---- */

TEST(noncanon_vmin1_vtime0_returns_what_is_there) {
  int m, r;
  xpair(&m, &r);
  set_raw(r, 1, 0);
  type_in(m, "xyz");
  char buf[64];
  int got = 0;
  while (got < 3) {
    ssize_t n = read(r, buf + got, sizeof buf - (size_t)got);
    CHECK(n >= 1);
    got += (int)n;
  }
  CHECK_EQ(got, 3);
  CHECK(memcmp(buf, "xyz", 3) == 0);
  /* no line editing or translation */
  type_in(m, "\x7f\r");
  CHECK_EQ(read_within(r, buf, 2, 5000), 2);
  CHECK(memcmp(buf, "\x7f\n", 2) == 0); /* ICRNL is an input flag: still on */
  /* VLNEXT only quotes in canonical mode, even with IEXTEN */
  set_lflag(r, IEXTEN, 0);
  type_in(m, "\x16q");
  CHECK_EQ(read_within(r, buf, 2, 5000), 2);
  CHECK(memcmp(buf, "\x16q", 2) == 0);
  close(r);
  close(m);
}

TEST(noncanon_vmin0_vtime0_returns_at_once) {
  int m, r;
  xpair(&m, &r);
  set_raw(r, 0, 0);
  char buf[8];
  long long t0 = now_ns();
  CHECK_EQ(read(r, buf, sizeof buf), 0);
  CHECK(now_ns() - t0 < 1000000000LL);
  type_in(m, "k");
  CHECK(wait_readable(r, 5000));
  CHECK_EQ(read(r, buf, sizeof buf), 1);
  CHECK_EQ(buf[0], 'k');
  close(r);
  close(m);
}

TEST(noncanon_vtime_timeout) {
  int m, r;
  xpair(&m, &r);
  set_raw(r, 0, 3); /* 0.3 s overall */
  char buf[8];
  long long t0 = now_ns();
  CHECK_EQ(read(r, buf, sizeof buf), 0);
  long long d = now_ns() - t0;
  CHECK(d >= 200000000LL);
  CHECK(d < 5000000000LL);
  /* VMIN > 0, VTIME > 0: the timer runs between bytes, once one came */
  set_raw(r, 5, 2);
  type_in(m, "ab");
  t0 = now_ns();
  CHECK_EQ(read(r, buf, sizeof buf), 2);
  CHECK(now_ns() - t0 < 5000000000LL);
  CHECK(memcmp(buf, "ab", 2) == 0);
  close(r);
  close(m);
}

TEST(noncanon_vmin_counts_for_read_and_poll) {
  int m, r;
  xpair(&m, &r);
  set_raw(r, 3, 0);
  type_in(m, "ab");
  /* with VTIME 0, poll waits for VMIN bytes as a read would */
  CHECK(quiet_for(r, 300));
  type_in(m, "c");
  CHECK(wait_readable(r, 5000));
  char buf[8];
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  CHECK(memcmp(buf, "abc", 3) == 0);
  close(r);
  close(m);
}

TEST(leaving_canon_makes_partial_line_readable) {
  int m, r;
  xpair(&m, &r);
  type_in(m, "ab");
  expect_output(m, "ab"); /* echoed: the discipline has taken it */
  char buf[8];
  CHECK(quiet_for(r, 100));
  set_raw(r, 1, 0);
  CHECK(wait_readable(r, 5000));
  CHECK_EQ(read(r, buf, sizeof buf), 2);
  CHECK(memcmp(buf, "ab", 2) == 0);
  close(r);
  close(m);
}

/* ---- non-blocking, flushing, FIONREAD, poll ---- */

TEST(nonblocking_reads_eagain) {
  int m = xmaster();
  int r = xreplica(m, O_NOCTTY | O_NONBLOCK);
  char buf[8];
  CHECK_ERRNO(read(r, buf, sizeof buf), EAGAIN);
  type_in(m, "ab");
  expect_output(m, "ab");
  CHECK_ERRNO(read(r, buf, sizeof buf), EAGAIN); /* no full line yet */
  type_in(m, "\n");
  CHECK(wait_readable(r, 5000));
  CHECK_EQ(read(r, buf, sizeof buf), 3);
  /* the master too, with nothing to read */
  expect_output(m, "\r\n");
  CHECK_OK(fcntl(m, F_SETFL, O_NONBLOCK));
  CHECK_ERRNO(read(m, buf, sizeof buf), EAGAIN);
  close(r);
  close(m);
}

TEST(tcsaflush_and_tciflush_discard_input) {
  int m, r;
  xpair(&m, &r);
  set_lflag(r, 0, ECHO);
  type_in(m, "old\n");
  CHECK(wait_readable(r, 5000));
  struct termios t = xgetattr(r);
  CHECK_EQ(tcsetattr(r, TCSAFLUSH, &t), 0);
  CHECK(quiet_for(r, 100));
  type_in(m, "new\n");
  char buf[16];
  CHECK_EQ(read(r, buf, sizeof buf), 4);
  CHECK(memcmp(buf, "new\n", 4) == 0);
  type_in(m, "stale\n");
  CHECK(wait_readable(r, 5000));
  CHECK_EQ(tcflush(r, TCIFLUSH), 0);
  CHECK(quiet_for(r, 100));
  type_in(m, "fresh\n");
  CHECK_EQ(read(r, buf, sizeof buf), 6);
  CHECK(memcmp(buf, "fresh\n", 6) == 0);
  CHECK_ERRNO(tcflush(r, 12345), EINVAL);
  close(r);
  close(m);
}

TEST(fionread_counts_whole_lines) {
  int m, r;
  xpair(&m, &r);
  int n = -1;
  CHECK_EQ(ioctl(r, FIONREAD, &n), 0);
  CHECK_EQ(n, 0);
  type_in(m, "ab\ncd");
  expect_output(m, "ab\r\ncd");
  CHECK(wait_readable(r, 5000));
  CHECK_EQ(ioctl(r, FIONREAD, &n), 0);
  CHECK_EQ(n, 3); /* the partial line is not counted */
  set_raw(r, 1, 0);
  CHECK_EQ(ioctl(r, FIONREAD, &n), 0);
  CHECK_EQ(n, 5);
  /* the master counts what the replica wrote */
  CHECK_EQ(write(r, "wxyz", 4), 4);
  for (int i = 0; i < 500; i++) {
    CHECK_EQ(ioctl(m, FIONREAD, &n), 0);
    if (n == 4) break;
    sleep_ms(10);
  }
  CHECK_EQ(n, 4);
  /* a pty has no output queue of its own: TIOCOUTQ is 0 on both sides */
  CHECK_EQ(ioctl(r, TIOCOUTQ, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(ioctl(m, TIOCOUTQ, &n), 0);
  CHECK_EQ(n, 0);
  close(r);
  close(m);
}

TEST(poll_master_and_replica) {
  int m, r;
  xpair(&m, &r);
  struct pollfd pf = {m, POLLIN | POLLOUT, 0};
  CHECK_EQ(poll(&pf, 1, 0), 1);
  CHECK_EQ(pf.revents, POLLOUT);
  CHECK_EQ(write(r, "x", 1), 1);
  CHECK(wait_readable(m, 5000));
  char buf[8];
  CHECK_EQ(read(m, buf, sizeof buf), 1);
  /* the replica: readable only once a line is complete */
  set_lflag(r, 0, ECHO);
  type_in(m, "ab");
  CHECK(quiet_for(r, 200));
  pf.fd = r;
  pf.events = POLLOUT;
  CHECK_EQ(poll(&pf, 1, 0), 1);
  CHECK_EQ(pf.revents, POLLOUT);
  type_in(m, "\n");
  CHECK(wait_readable(r, 5000));
  close(r);
  close(m);
}

/* ---- window size ---- */

TEST(winsize_round_trip) {
  int m, r;
  xpair(&m, &r);
  struct winsize w = {.ws_row = 24, .ws_col = 80, .ws_xpixel = 1, .ws_ypixel = 2}, got;
  CHECK_EQ(ioctl(m, TIOCSWINSZ, &w), 0);
  memset(&got, 0, sizeof got);
  CHECK_EQ(ioctl(r, TIOCGWINSZ, &got), 0);
  CHECK_EQ(got.ws_row, 24);
  CHECK_EQ(got.ws_col, 80);
  CHECK_EQ(got.ws_xpixel, 1);
  CHECK_EQ(got.ws_ypixel, 2);
  w.ws_row = 50;
  CHECK_EQ(ioctl(r, TIOCSWINSZ, &w), 0);
  CHECK_EQ(ioctl(m, TIOCGWINSZ, &got), 0);
  CHECK_EQ(got.ws_row, 50);
  close(r);
  close(m);
}

TEST(sigwinch_to_foreground_group_on_change) {
  int m = xmaster();
  const char *name = replica_name(m);
  int ready[2], go[2];
  xpipe(ready);
  xpipe(go);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(m);
    /* a handler, as programs that care have: the default action of
     * SIGWINCH is to ignore it */
    on_signal(SIGWINCH, count_sig, 0);
    block_sig(SIGWINCH);
    int r = leader_with_ctty(name);
    CHILD_CHECK(tcgetpgrp(r) == getpid());
    put1(ready[1], 1);
    CHILD_CHECK(wait_sig(SIGWINCH, 10) == SI_KERNEL);
    put1(ready[1], 2);
    get1(go[0]);
    /* the same size again is no change: no signal */
    CHILD_CHECK(!sig_pending(SIGWINCH));
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  CHECK_EQ(get1(ready[0]), 1);
  struct winsize w = {.ws_row = 30, .ws_col = 90};
  CHECK_EQ(ioctl(m, TIOCSWINSZ, &w), 0);
  CHECK_EQ(get1(ready[0]), 2);
  CHECK_EQ(ioctl(m, TIOCSWINSZ, &w), 0);
  put1(go[1], 0);
  expect_exit(pid, 0);
  close(m);
}

/* ---- controlling terminals ---- */

TEST(setsid_open_acquires_ctty) {
  int m = xmaster();
  const char *name = replica_name(m);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    int r = leader_with_ctty(name);
    CHILD_CHECK(tcgetpgrp(r) == getpid());
    int t = open("/dev/tty", O_RDWR);
    CHILD_CHECK(t >= 0);
    CHILD_CHECK(tcgetsid(t) == getpid());
    CHILD_CHECK(write(t, "via-tty", 7) == 7);
    pid_t v = 0;
    CHILD_CHECK(ioctl(r, TIOCGSID, &v) == 0 && v == getpid());
    _exit(0);
  }
  expect_exit(pid, 0);
  expect_output(m, "via-tty");
  close(m);
}

TEST(setsid_open_noctty_does_not_acquire) {
  int m = xmaster();
  const char *name = replica_name(m);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    CHILD_CHECK(setsid() == getpid());
    CHILD_CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
    int r = open(name, O_RDWR | O_NOCTTY);
    CHILD_CHECK(r >= 0);
    CHILD_CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
    CHILD_CHECK(tcgetsid(r) == -1 && errno == ENOTTY);
    CHILD_CHECK(tcgetpgrp(r) == -1 && errno == ENOTTY);
    /* a master opened without O_NOCTTY never becomes one */
    int m2 = open("/dev/ptmx", O_RDWR);
    CHILD_CHECK(m2 >= 0);
    CHILD_CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
    /* nor does a replica opened by a process that leads no session */
    pid_t g = fork();
    if (g == 0) {
      int r2 = open(name, O_RDWR);
      CHILD_CHECK(r2 >= 0);
      CHILD_CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
      _exit(0);
    }
    int st;
    CHILD_CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* and then TIOCSCTTY takes it */
    CHILD_CHECK(ioctl(r, TIOCSCTTY, 0) == 0);
    CHILD_CHECK(tcgetsid(r) == getpid());
    CHILD_CHECK(ioctl(r, TIOCSCTTY, 0) == 0); /* again: already ours */
    int t = open("/dev/tty", O_RDWR);
    CHILD_CHECK(t >= 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  close(m);
}

TEST(tiocsctty_by_non_leader_eperm) {
  int m, r;
  xpair(&m, &r);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    /* a fork child never leads a session */
    CHILD_CHECK(getsid(0) != getpid());
    CHILD_CHECK(ioctl(r, TIOCSCTTY, 0) == -1 && errno == EPERM);
    _exit(0);
  }
  expect_exit(pid, 0);
  close(r);
  close(m);
}

TEST(tiocsctty_other_session_eperm_unless_stolen) {
  int m = xmaster();
  const char *name = replica_name(m);
  int ready[2], go[2], done[2];
  xpipe(ready);
  xpipe(go);
  xpipe(done);
  pid_t a = xfork();
  if (a == 0) { /* the first session holds the terminal */
    child_guard(20);
    close(ready[0]);
    close(go[1]);
    leader_with_ctty(name);
    put1(ready[1], 'a');
    get1(go[0]);
    /* stolen: the session has no terminal any more */
    CHILD_CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  CHECK_EQ(get1(ready[0]), 'a');
  pid_t b = xfork();
  if (b == 0) {
    child_guard(20);
    CHILD_CHECK(setsid() == getpid());
    int r = open(name, O_RDWR); /* it controls a session: not taken */
    CHILD_CHECK(r >= 0);
    CHILD_CHECK(tcgetsid(r) == -1 && errno == ENOTTY);
    CHILD_CHECK(ioctl(r, TIOCSCTTY, 0) == -1 && errno == EPERM);
    CHILD_CHECK(ioctl(r, TIOCSCTTY, 1) == 0); /* root may steal it */
    CHILD_CHECK(tcgetsid(r) == getpid());
    CHILD_CHECK(tcgetpgrp(r) == getpid());
    /* a second terminal cannot replace the first */
    int m2 = posix_openpt(O_RDWR | O_NOCTTY);
    CHILD_CHECK(m2 >= 0 && unlockpt(m2) == 0);
    int r2 = open(ptsname(m2), O_RDWR | O_NOCTTY);
    CHILD_CHECK(r2 >= 0);
    CHILD_CHECK(ioctl(r2, TIOCSCTTY, 0) == -1 && errno == EPERM);
    _exit(0);
  }
  expect_exit(b, 0);
  put1(go[1], 'g');
  expect_exit(a, 0);
  close(m);
}

TEST(tiocnotty_leader_gives_up_ctty) {
  int m, r;
  xpair(&m, &r);
  /* not our controlling terminal */
  CHECK_ERRNO(ioctl(r, TIOCNOTTY), ENOTTY);
  const char *name = replica_name(m);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    block_sig(SIGHUP);
    block_sig(SIGCONT);
    int r2 = leader_with_ctty(name);
    CHILD_CHECK(ioctl(r2, TIOCNOTTY) == 0);
    /* the leader's foreground group (its own) is told */
    CHILD_CHECK(sig_pending(SIGHUP));
    CHILD_CHECK(sig_pending(SIGCONT));
    CHILD_CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
    CHILD_CHECK(tcgetsid(r2) == -1 && errno == ENOTTY);
    _exit(0);
  }
  expect_exit(pid, 0);
  pid_t v;
  CHECK_ERRNO(ioctl(m, TIOCGSID, &v), ENOTTY);
  close(r);
  close(m);
}

/* ---- foreground process groups ---- */

TEST(tcsetpgrp_to_group_in_session) {
  int m = xmaster();
  const char *name = replica_name(m);
  int info[2], go[2];
  xpipe(info);
  xpipe(go);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(info[0]);
    close(go[1]);
    int r = leader_with_ctty(name);
    int gate[2];
    CHILD_CHECK(pipe(gate) == 0);
    pid_t g = fork_background(gate);
    CHILD_CHECK(tcsetpgrp(r, g) == 0);
    CHILD_CHECK(tcgetpgrp(r) == g);
    CHILD_CHECK(write_all(info[1], &g, sizeof g) == 0);
    get1(go[0]);
    /* back to the leader's group: a background caller needs SIGTTOU
     * blocked (or ignored) to do it */
    block_sig(SIGTTOU);
    CHILD_CHECK(tcsetpgrp(r, getpid()) == 0);
    CHILD_CHECK(tcgetpgrp(r) == getpid());
    close(gate[1]);
    CHILD_CHECK(waitpid(g, NULL, 0) == g);
    _exit(0);
  }
  close(info[1]);
  close(go[0]);
  pid_t g = 0;
  CHECK_EQ(read_all(info[0], &g, sizeof g), sizeof g);
  /* the master reports the foreground group and session to anyone */
  pid_t v = 0;
  CHECK_EQ(ioctl(m, TIOCGPGRP, &v), 0);
  CHECK_EQ(v, g);
  CHECK_EQ(ioctl(m, TIOCGSID, &v), 0);
  CHECK_EQ(v, pid);
  put1(go[1], 'g');
  expect_exit(pid, 0);
  close(m);
}

TEST(tcsetpgrp_errors) {
  own_group();
  pid_t outside = getpgrp();
  int m, r0;
  xpair(&m, &r0);
  /* not the caller's controlling terminal */
  CHECK_ERRNO(tcsetpgrp(r0, getpgrp()), ENOTTY);
  CHECK_ERRNO(tcgetpgrp(r0), ENOTTY);
  int m2 = xmaster();
  const char *name = replica_name(m), *name2 = replica_name(m2);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    int r = leader_with_ctty(name);
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    CHILD_CHECK(waitpid(dead, NULL, 0) == dead);
    CHILD_CHECK(tcsetpgrp(r, dead) == -1 && errno == ESRCH);
    CHILD_CHECK(tcsetpgrp(r, outside) == -1 && errno == EPERM);
    CHILD_CHECK(tcsetpgrp(r, -1) == -1 && errno == EINVAL);
    CHILD_CHECK(tcgetpgrp(r) == getpid());
    /* another terminal, not controlling */
    int r2 = open(name2, O_RDWR | O_NOCTTY);
    CHILD_CHECK(r2 >= 0);
    CHILD_CHECK(tcsetpgrp(r2, getpid()) == -1 && errno == ENOTTY);
    CHILD_CHECK(tcgetpgrp(r2) == -1 && errno == ENOTTY);
    _exit(0);
  }
  expect_exit(pid, 0);
  close(r0);
  close(m2);
  close(m);
}

TEST(master_side_session_requests) {
  int m = xmaster();
  const char *name = replica_name(m);
  /* no session yet: no foreground group, no session id */
  pid_t v = 77;
  CHECK_EQ(ioctl(m, TIOCGPGRP, &v), 0);
  CHECK_EQ(v, 0);
  CHECK_ERRNO(ioctl(m, TIOCGSID, &v), ENOTTY);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    int r = leader_with_ctty(name);
    /* the master is never the controlling terminal itself */
    CHILD_CHECK(ioctl(m, TIOCNOTTY) == -1 && errno == ENOTTY);
    CHILD_CHECK(tcgetsid(r) == getpid());
    /* but the foreground group of its replica can be set through it */
    CHILD_CHECK(tcsetpgrp(m, getpid()) == 0);
    CHILD_CHECK(tcgetpgrp(m) == getpid());
    _exit(0);
  }
  expect_exit(pid, 0);
  close(m);
}

/* ---- signals from the keyboard ---- */

/* isig_case: a session leader with the terminal waits for sig, which the
 * test types as c; input typed before it is discarded (no NOFLSH) */
static void isig_case(char c, int sig) {
  int m = xmaster();
  const char *name = replica_name(m);
  int ready[2];
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(ready[0]);
    block_sig(sig);
    int r = leader_with_ctty(name);
    struct termios t;
    CHILD_CHECK(tcgetattr(r, &t) == 0);
    t.c_lflag &= ~ECHO;
    CHILD_CHECK(tcsetattr(r, TCSANOW, &t) == 0);
    put1(ready[1], 'r');
    CHILD_CHECK(wait_sig(sig, 10) == SI_KERNEL);
    child_read_exact(r, "after\n");
    _exit(0);
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  char in[] = "junk\nmore?after\n";
  in[9] = c;
  type_in(m, in);
  expect_exit(pid, 0);
  close(m);
}

TEST(isig_intr_sends_sigint_to_foreground) { isig_case(3, SIGINT); }
TEST(isig_quit_sends_sigquit_to_foreground) { isig_case(0x1c, SIGQUIT); }
TEST(isig_susp_sends_sigtstp_to_foreground) { isig_case(0x1a, SIGTSTP); }

TEST(isig_echoes_caret_and_off_passes_bytes) {
  int m = xmaster();
  const char *name = replica_name(m);
  int ready[2];
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(ready[0]);
    on_signal(SIGINT, SIG_IGN, 0);
    int r = leader_with_ctty(name);
    put1(ready[1], 'r');
    /* ISIG off: ^C and ^\ are plain input */
    child_read_exact(r, "\x03\x1c\n");
    _exit(0);
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  type_in(m, "\x03");
  expect_output(m, "^C");
  int r = xreplica(m, O_NOCTTY);
  set_lflag(r, 0, ISIG | ECHO);
  type_in(m, "\x03\x1c\n");
  expect_exit(pid, 0);
  close(r);
  close(m);
}

TEST(tiocsig_and_tiocsti) {
  int m = xmaster();
  const char *name = replica_name(m);
  int ready[2];
  xpipe(ready);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(ready[0]);
    block_sig(SIGINT);
    int r = leader_with_ctty(name);
    put1(ready[1], 'r');
    /* TIOCSIG on the master signals the foreground group */
    CHILD_CHECK(wait_sig(SIGINT, 10) == SI_KERNEL);
    /* TIOCSTI: input as if typed, on one's own terminal */
    struct termios t;
    CHILD_CHECK(tcgetattr(r, &t) == 0);
    t.c_lflag &= ~ECHO;
    CHILD_CHECK(tcsetattr(r, TCSANOW, &t) == 0);
    for (const char *p = "sti\n"; *p; p++) CHILD_CHECK(ioctl(r, TIOCSTI, p) == 0);
    child_read_exact(r, "sti\n");
    _exit(0);
  }
  close(ready[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  CHECK_ERRNO(ioctl(m, TIOCSIG, SIGUSR1), EINVAL);
  CHECK_EQ(ioctl(m, TIOCSIG, SIGINT), 0);
  expect_exit(pid, 0);
  close(m);
}

TEST(line_discipline_and_exclusive_mode_requests) {
  int m, r;
  xpair(&m, &r);
  int d = -1;
  CHECK_EQ(ioctl(r, TIOCGETD, &d), 0);
  CHECK_EQ(d, N_TTY);
  d = N_TTY;
  CHECK_EQ(ioctl(r, TIOCSETD, &d), 0);
  int x = -1;
  CHECK_EQ(ioctl(r, TIOCGEXCL, &x), 0);
  CHECK_EQ(x, 0);
  CHECK_EQ(ioctl(r, TIOCEXCL), 0);
  CHECK_EQ(ioctl(r, TIOCGEXCL, &x), 0);
  CHECK_EQ(x, 1);
  CHECK_EQ(ioctl(r, TIOCNXCL), 0);
  CHECK_EQ(ioctl(r, TIOCGEXCL, &x), 0);
  CHECK_EQ(x, 0);
  /* the replica does not send signals */
  CHECK_ERRNO(ioctl(r, TIOCSIG, SIGINT), ENOTTY);
  close(r);
  close(m);
}

/* ---- background access that does not stop ---- */

TEST(background_read_sigttin_ignored_eio) {
  int m = xmaster();
  const char *name = replica_name(m);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    int r = leader_with_ctty(name);
    pid_t g = fork();
    if (g == 0) {
      CHILD_CHECK(setpgid(0, 0) == 0);
      on_signal(SIGTTIN, SIG_IGN, 0);
      char c;
      CHILD_CHECK(read(r, &c, 1) == -1 && errno == EIO);
      /* writes without TOSTOP go through */
      CHILD_CHECK(write(r, "bg", 2) == 2);
      _exit(0);
    }
    int st;
    CHILD_CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  expect_output(m, "bg");
  close(m);
}

TEST(background_access_with_handler_eintr) {
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
    pid_t g = fork();
    if (g == 0) {
      CHILD_CHECK(setpgid(0, 0) == 0);
      /* a background group whose parent is in the session: not orphaned,
       * so the signal goes to the group and the call is interrupted */
      on_signal(SIGTTIN, count_sig, 0);
      on_signal(SIGTTOU, count_sig, 0);
      char c;
      CHILD_CHECK(read(r, &c, 1) == -1 && errno == EINTR);
      CHILD_CHECK(caught == 1);
      CHILD_CHECK(write(r, "x", 1) == -1 && errno == EINTR);
      CHILD_CHECK(caught == 2);
      /* with SIGTTOU blocked, the TOSTOP write goes through */
      block_sig(SIGTTOU);
      CHILD_CHECK(write(r, "ok", 2) == 2);
      CHILD_CHECK(!sig_pending(SIGTTOU));
      _exit(0);
    }
    int st;
    CHILD_CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  expect_output(m, "ok");
  close(m);
}

TEST(orphaned_background_group_eio) {
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
    int gate[2];
    CHILD_CHECK(pipe(gate) == 0);
    pid_t g = fork_background(gate);
    CHILD_CHECK(tcsetpgrp(r, g) == 0);
    /* the leader's group is now in the background, and orphaned (its
     * only parent outside it is in another session): no stop, EIO */
    char c;
    CHILD_CHECK(read(r, &c, 1) == -1 && errno == EIO);
    CHILD_CHECK(write(r, "x", 1) == -1 && errno == EIO);
    CHILD_CHECK(tcsetattr(r, TCSANOW, &t) == -1 && errno == EIO);
    CHILD_CHECK(tcflush(r, TCIFLUSH) == -1 && errno == EIO);
    CHILD_CHECK(tcdrain(r) == -1 && errno == EIO);
    /* reading the settings and the window size is allowed */
    CHILD_CHECK(tcgetattr(r, &t) == 0);
    struct winsize w;
    CHILD_CHECK(ioctl(r, TIOCGWINSZ, &w) == 0);
    /* tcsetpgrp says ENOTTY for that EIO */
    CHILD_CHECK(tcsetpgrp(r, getpid()) == -1 && errno == ENOTTY);
    block_sig(SIGTTOU);
    CHILD_CHECK(write(r, "w", 1) == 1);
    CHILD_CHECK(tcsetpgrp(r, getpid()) == 0);
    close(gate[1]);
    CHILD_CHECK(waitpid(g, NULL, 0) == g);
    _exit(0);
  }
  expect_exit(pid, 0);
  expect_output(m, "w");
  close(m);
}

/* ---- hang-ups ---- */

TEST(master_read_eio_after_replica_closes) {
  int m, r;
  xpair(&m, &r);
  CHECK_EQ(write(r, "bye\n", 4), 4);
  CHECK(wait_readable(m, 5000));
  close(r);
  /* what was written is still read, then EIO */
  expect_output(m, "bye\r\n");
  char buf[8];
  CHECK_ERRNO(read(m, buf, sizeof buf), EIO);
  struct pollfd pf = {m, POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 0), 1);
  CHECK(pf.revents & POLLHUP);
  /* a new replica open ends the hang-up */
  r = xreplica(m, O_NOCTTY);
  CHECK_EQ(write(r, "z", 1), 1);
  expect_output(m, "z");
  close(r);
  close(m);
}

TEST(master_before_any_replica_open_is_not_hung_up) {
  int m = xmaster();
  struct pollfd pf = {m, POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 100), 0);
  CHECK_OK(fcntl(m, F_SETFL, O_NONBLOCK));
  char c;
  CHECK_ERRNO(read(m, &c, 1), EAGAIN);
  close(m);
}

TEST(replica_after_master_closes) {
  int m, r;
  xpair(&m, &r);
  char name[64];
  snprintf(name, sizeof name, "%s", ptsname(m));
  close(m);
  char buf[8];
  CHECK_EQ(read(r, buf, sizeof buf), 0);
  CHECK_ERRNO(write(r, "x", 1), EIO);
  struct pollfd pf = {r, POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 0), 1);
  CHECK(pf.revents & POLLHUP);
  /* a hung-up terminal answers requests with EIO (ENOTTY for TIOCSPGRP) */
  struct termios t;
  CHECK_ERRNO(tcgetattr(r, &t), EIO);
  struct winsize w;
  CHECK_ERRNO(ioctl(r, TIOCGWINSZ, &w), EIO);
  CHECK_ERRNO(tcsetpgrp(r, getpgrp()), ENOTTY);
  /* the name is gone from /dev/pts */
  struct stat st;
  CHECK_ERRNO(stat(name, &st), ENOENT);
  close(r);
}

TEST(master_close_hangs_up_session_leader) {
  int m = xmaster();
  const char *name = replica_name(m);
  int ready[2], go[2], res[2];
  xpipe(ready);
  xpipe(go);
  xpipe(res);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(m);
    close(ready[0]);
    close(go[1]);
    close(res[0]);
    block_sig(SIGHUP);
    block_sig(SIGCONT);
    int r = leader_with_ctty(name);
    int gate[2], ack[2];
    CHILD_CHECK(pipe(gate) == 0 && pipe(ack) == 0);
    pid_t g = fork();
    CHILD_CHECK(g >= 0);
    if (g == 0) { /* the foreground group, made of one other process */
      close(gate[1]);
      close(ack[0]);
      setpgid(0, 0);
      get1(gate[0]);
      /* the leader heard of the hang-up; this group did not */
      CHILD_CHECK(!sig_pending(SIGHUP));
      put1(res[1], 'n');
      put1(ack[1], 'a');
      /* it does once the leader exits */
      CHILD_CHECK(wait_sig(SIGHUP, 10) == SI_KERNEL);
      put1(res[1], 'h');
      _exit(0);
    }
    close(gate[0]);
    close(ack[1]);
    setpgid(g, g);
    CHILD_CHECK(tcsetpgrp(r, g) == 0);
    put1(ready[1], 'r');
    get1(go[0]);
    CHILD_CHECK(wait_sig(SIGHUP, 10) == SI_KERNEL);
    CHILD_CHECK(sig_pending(SIGCONT));
    char c;
    CHILD_CHECK(read(r, &c, 1) == 0);
    CHILD_CHECK(write(r, "x", 1) == -1 && errno == EIO);
    CHILD_CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
    put1(gate[1], 'c');
    CHILD_CHECK(get1(ack[0]) == 'a');
    _exit(0); /* the member is reparented and reports through res */
  }
  close(ready[1]);
  close(go[0]);
  close(res[1]);
  CHECK_EQ(get1(ready[0]), 'r');
  close(m);
  put1(go[1], 'g');
  expect_exit(pid, 0);
  CHECK_EQ(get1(res[0]), 'n');
  CHECK_EQ(get1(res[0]), 'h');
}

TEST(leader_exit_hangs_up_foreground_group) {
  int m = xmaster();
  const char *name = replica_name(m);
  int res[2];
  xpipe(res);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(res[0]);
    int r = leader_with_ctty(name);
    int up[2];
    CHILD_CHECK(pipe(up) == 0);
    pid_t g = fork();
    CHILD_CHECK(g >= 0);
    if (g == 0) {
      close(up[0]);
      block_sig(SIGHUP);
      setpgid(0, 0);
      put1(up[1], 'r');
      CHILD_CHECK(wait_sig(SIGHUP, 10) == SI_KERNEL);
      put1(res[1], 'h');
      _exit(0);
    }
    close(up[1]);
    CHILD_CHECK(get1(up[0]) == 'r');
    setpgid(g, g);
    CHILD_CHECK(tcsetpgrp(r, g) == 0);
    _exit(0);
  }
  close(res[1]);
  expect_exit(pid, 0);
  CHECK_EQ(get1(res[0]), 'h');
  /* the terminal controls no session any more */
  pid_t v;
  CHECK_ERRNO(ioctl(m, TIOCGSID, &v), ENOTTY);
  close(m);
}
