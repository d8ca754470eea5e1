/*
 * ttyutil.h - helpers for the tty_*.c conformance tests, which open
 * pseudo-terminal pairs and pass bytes through their line discipline.
 *
 * Include it after harness.h and data/procutil.h. The rules it supports:
 *
 *  - Linux runs the line discipline asynchronously: a write to the master
 *    returns before the replica can read it, and the replica's output (echo
 *    included) reaches the master a moment later. Cases therefore wait for
 *    bytes with poll(2) and a generous deadline (read_within), and check
 *    that nothing arrives by waiting a short while (quiet_for), never by
 *    looking once at once.
 *  - Session work (setsid, controlling terminals, foreground groups) is done
 *    in forked children, so a case does not depend on whether the test
 *    process itself has a controlling terminal.
 *
 * The setup helpers use libc and fail the case on error; the calls a case is
 * about are made by the case itself.
 */
#ifndef SBX_TTYUTIL_H
#define SBX_TTYUTIL_H

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

/* xmaster: a new master, unlocked, opened with O_NOCTTY */
static __attribute__((unused)) int xmaster(void) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0) FAILF("posix_openpt: %s", strerror(errno));
  if (grantpt(m) != 0) FAILF("grantpt: %s", strerror(errno));
  if (unlockpt(m) != 0) FAILF("unlockpt: %s", strerror(errno));
  return m;
}

/* xreplica: open the replica of master m with these flags (O_RDWR added) */
static __attribute__((unused)) int xreplica(int m, int flags) {
  char *name = ptsname(m);
  if (name == NULL) FAILF("ptsname: %s", strerror(errno));
  int r = open(name, O_RDWR | flags);
  if (r < 0) FAILF("open(%s): %s", name, strerror(errno));
  return r;
}

/* xpair: a master and its replica, both O_NOCTTY */
static __attribute__((unused)) void xpair(int *m, int *r) {
  *m = xmaster();
  *r = xreplica(*m, O_NOCTTY);
}

/* xgetattr / xsetattr: tcgetattr and tcsetattr(TCSANOW) that fail the case */
static __attribute__((unused)) struct termios xgetattr(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) != 0) FAILF("tcgetattr: %s", strerror(errno));
  return t;
}
static __attribute__((unused)) void xsetattr(int fd, const struct termios *t) {
  if (tcsetattr(fd, TCSANOW, t) != 0) FAILF("tcsetattr: %s", strerror(errno));
}

/* set_lflag: turn local-mode flags on and off */
static __attribute__((unused)) void set_lflag(int fd, tcflag_t on, tcflag_t off) {
  struct termios t = xgetattr(fd);
  t.c_lflag = (t.c_lflag | on) & ~off;
  xsetattr(fd, &t);
}

/* set_raw: non-canonical mode without echo or signals, with VMIN and VTIME */
static __attribute__((unused)) void set_raw(int fd, int vmin, int vtime) {
  struct termios t = xgetattr(fd);
  t.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
  t.c_cc[VMIN] = (cc_t)vmin;
  t.c_cc[VTIME] = (cc_t)vtime;
  xsetattr(fd, &t);
}

/* type_in: write a string to the master (input typed at the terminal) */
static __attribute__((unused)) void type_in(int m, const char *s) {
  if (write_all(m, s, strlen(s)) != 0) FAILF("writing %zu bytes to the master: %s", strlen(s), strerror(errno));
}

/* read_within: read from fd until want bytes came or ms milliseconds passed
 * with nothing arriving; returns the count (stops early at EOF or error) */
static __attribute__((unused)) int read_within(int fd, char *buf, int want, int ms) {
  int got = 0;
  while (got < want) {
    struct pollfd pf = {fd, POLLIN, 0};
    int n = poll(&pf, 1, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ssize_t r = read(fd, buf + got, (size_t)(want - got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (int)r;
  }
  return got;
}

/* expect_output: the next bytes read from fd (within 5 s) are exactly s */
#define expect_output(fd, s)                                                   \
  do {                                                                         \
    const char *_want = (s);                                                   \
    int _n = (int)strlen(_want);                                               \
    char _buf[256];                                                            \
    int _got = read_within((fd), _buf, _n, 5000);                              \
    if (_got != _n || memcmp(_buf, _want, (size_t)_n) != 0)                    \
      FAILF("read %d bytes %s, want %d bytes %s", _got, show(_buf, _got), _n,  \
            show(_want, _n));                                                  \
  } while (0)

/* show: printable form of bytes for failure messages (one static buffer per
 * call site pair is enough: a message shows at most two) */
static __attribute__((unused)) const char *show(const char *b, int n) {
  static char bufs[2][600];
  static int which;
  char *o = bufs[which ^= 1], *p = o;
  *p++ = '"';
  for (int i = 0; i < n && p < o + sizeof bufs[0] - 6; i++) {
    unsigned char c = (unsigned char)b[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') *p++ = (char)c;
    else p += sprintf(p, "\\x%02x", c);
  }
  *p++ = '"';
  *p = 0;
  return o;
}

/* quiet_for: nothing becomes readable on fd for ms milliseconds */
static __attribute__((unused)) int quiet_for(int fd, int ms) {
  struct pollfd pf = {fd, POLLIN, 0};
  int n;
  do n = poll(&pf, 1, ms); while (n < 0 && errno == EINTR);
  return n == 0;
}

/* wait_readable: fd becomes readable within ms milliseconds */
static __attribute__((unused)) int wait_readable(int fd, int ms) {
  struct pollfd pf = {fd, POLLIN, 0};
  int n;
  do n = poll(&pf, 1, ms); while (n < 0 && errno == EINTR);
  return n == 1 && (pf.revents & POLLIN);
}

/* wait_sig: in a child, wait up to secs seconds for a blocked signal and
 * return its siginfo code (-1 when none came) */
static __attribute__((unused)) int wait_sig(int sig, int secs) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  struct timespec ts = {secs, 0};
  siginfo_t si;
  for (;;) {
    int r = sigtimedwait(&set, &si, &ts);
    if (r == sig) return si.si_code;
    if (r < 0 && errno == EINTR) continue;
    return -1;
  }
}

/* sig_pending: sig is pending for the calling process (it must be blocked) */
static __attribute__((unused)) int sig_pending(int sig) {
  sigset_t set;
  sigpending(&set);
  return sigismember(&set, sig);
}

/* replica_name: ptsname(m), copied (children use it after fork); the last
 * four names stay valid */
static __attribute__((unused)) const char *replica_name(int m) {
  static char names[4][64];
  static int which;
  char *n = names[which++ & 3];
  if (ptsname_r(m, n, sizeof names[0]) != 0) FAILF("ptsname_r: %s", strerror(errno));
  return n;
}

/* leader_with_ctty: in a forked child, become a session leader and open the
 * replica without O_NOCTTY, which makes it the controlling terminal */
static __attribute__((unused)) int leader_with_ctty(const char *name) {
  CHILD_CHECK(setsid() == getpid());
  int r = open(name, O_RDWR);
  CHILD_CHECK(r >= 0);
  CHILD_CHECK(tcgetsid(r) == getpid());
  return r;
}

#endif
