//go:build ignore

/*
 * ipc_poll.c - waiting for descriptors: poll, ppoll, select and pselect6 on
 * pipes (readable, writable, POLLHUP, POLLERR, POLLNVAL, timeouts, signal
 * masks), epoll (epoll_create1, epoll_ctl ADD/MOD/DEL and its errors,
 * epoll_wait with level- and edge-triggered events, EPOLLONESHOT, the data
 * field, timeouts, a wakeup by another process), and eventfd (counter and
 * semaphore semantics, EFD_NONBLOCK, overflow) on its own and in epoll.
 *
 * Follows poll(2) (DESCRIPTION: events/revents, POLLHUP, POLLERR, POLLNVAL,
 * a negative fd is ignored, timeout 0 returns at once; ppoll: the sigmask
 * argument, EINTR), select(2) (DESCRIPTION; "On Linux, select() modifies
 * timeout to reflect the amount of time not slept"; ERRORS: EBADF, EINVAL;
 * pselect6's sigmask), epoll(7) ("Level-triggered and edge-triggered"),
 * epoll_create(2) (EPOLL_CLOEXEC; EINVAL), epoll_ctl(2) (EPOLL_CTL_ADD/MOD/
 * DEL, EPOLLET, EPOLLONESHOT; ERRORS: EBADF, EEXIST, EINVAL, ENOENT, EPERM),
 * epoll_wait(2) (timeout, data returned as registered; EINVAL), eventfd(2)
 * (read returns and resets the counter, or returns 1 and decrements with
 * EFD_SEMAPHORE; EAGAIN when 0; write of 0xffffffffffffffff is EINVAL; a
 * write that would overflow blocks or fails with EAGAIN; EINVAL for buffers
 * under 8 bytes; readable when > 0, writable when a 1 can be added) and
 * pipe(7).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/fsutil.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>

#define MS 1000000L

static int epoll_new(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) FAILF("epoll_create1: %s", strerror(errno));
  return ep;
}

static void ep_add(int ep, int fd, unsigned events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) FAILF("EPOLL_CTL_ADD %d: %s", fd, strerror(errno));
}

static int ep_wait0(int ep, struct epoll_event *evs, int max) { return epoll_wait(ep, evs, max, 0); }

TEST(poll_empty_pipe_writable_not_readable) {
  int p[2];
  xpipe(p);
  struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
  CHECK_EQ(poll(pf, 2, 0), 1);
  CHECK_EQ(pf[0].revents, 0);
  CHECK_EQ(pf[1].revents, POLLOUT);
}

TEST(poll_pipe_readable_after_write) {
  int p[2];
  xpipe(p);
  CHECK_EQ(write(p[1], "x", 1), 1);
  struct pollfd pf = {p[0], POLLIN | POLLOUT, 0};
  CHECK_EQ(poll(&pf, 1, 0), 1);
  /* only what was asked for and applies: a read end is never writable */
  CHECK_EQ(pf.revents, POLLIN);
}

TEST(poll_pollhup_after_writer_closes) {
  int p[2];
  xpipe(p);
  CHECK_EQ(write(p[1], "x", 1), 1);
  close(p[1]);
  struct pollfd pf = {p[0], POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 0), 1);
  CHECK_EQ(pf.revents, POLLIN | POLLHUP);
  char c;
  CHECK_EQ(read(p[0], &c, 1), 1);
  /* POLLHUP is reported even when not asked for */
  pf.events = 0;
  CHECK_EQ(poll(&pf, 1, 0), 1);
  CHECK_EQ(pf.revents, POLLHUP);
}

TEST(poll_pollerr_after_reader_closes) {
  int p[2];
  xpipe(p);
  close(p[0]);
  struct pollfd pf = {p[1], POLLOUT, 0};
  CHECK_EQ(poll(&pf, 1, 0), 1);
  CHECK(pf.revents & POLLERR);
}

TEST(poll_closed_fd_pollnval_negative_ignored) {
  int p[2];
  xpipe(p);
  close(p[0]);
  struct pollfd pf[3] = {{p[0], POLLIN, 0x7f}, {-1, POLLIN, 0x7f}, {p[1], POLLOUT, 0}};
  /* the closed descriptor has POLLNVAL, which counts; the negative one is ignored */
  CHECK_EQ(poll(pf, 3, 0), 2);
  CHECK_EQ(pf[0].revents, POLLNVAL);
  CHECK_EQ(pf[1].revents, 0);
  CHECK(pf[2].revents & POLLERR);
}

TEST(poll_timeout_zero_and_20ms) {
  int p[2];
  xpipe(p);
  struct pollfd pf = {p[0], POLLIN, 0};
  long long t0 = now_ns();
  CHECK_EQ(poll(&pf, 1, 0), 0);
  CHECK(now_ns() - t0 < 1000 * MS);
  t0 = now_ns();
  CHECK_EQ(poll(&pf, 1, 20), 0);
  CHECK(now_ns() - t0 >= 19 * MS);
  CHECK_EQ(pf.revents, 0);
  /* no descriptors at all: a plain sleep */
  t0 = now_ns();
  CHECK_EQ(poll(NULL, 0, 20), 0);
  CHECK(now_ns() - t0 >= 19 * MS);
}

TEST(poll_wakes_when_child_writes) {
  int p[2], go[2];
  xpipe(p);
  xpipe(go);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    CHILD_CHECK(get1(go[0]) == 'g');
    CHILD_CHECK(write(p[1], "w", 1) == 1);
    _exit(0);
  }
  put1(go[1], 'g');
  struct pollfd pf = {p[0], POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 10000), 1);
  CHECK_EQ(pf.revents, POLLIN);
  expect_exit(pid, 0);
}

TEST(poll_nfds_over_rlimit_nofile_einval) {
  struct rlimit rl;
  CHECK_OK(getrlimit(RLIMIT_NOFILE, &rl));
  rl.rlim_cur = 64;
  CHECK_OK(setrlimit(RLIMIT_NOFILE, &rl));
  /* a valid array either way: only nfds decides */
  struct pollfd pf[65];
  for (int i = 0; i < 65; i++) pf[i] = (struct pollfd){-1, POLLIN, 0};
  CHECK_EQ(syscall(SYS_poll, pf, 64, 0), 0);
  CHECK_ERRNO(syscall(SYS_poll, pf, 65, 0), EINVAL);
}

static volatile sig_atomic_t hits;
static void count_handler(int sig) { (void)sig; hits++; }

TEST(ppoll_sigmask_lets_pending_signal_in) {
  hits = 0;
  uint64_t old = raw_mask();
  on_signal(SIGUSR1, count_handler, 0);
  block_sig(SIGUSR1);
  CHECK_OK(raise(SIGUSR1));
  int p[2];
  xpipe(p);
  struct pollfd pf = {p[0], POLLIN, 0};
  struct timespec ts = {5, 0};
  sigset_t none;
  sigemptyset(&none);
  CHECK_ERRNO(ppoll(&pf, 1, &ts, &none), EINTR);
  CHECK_EQ(hits, 1);
  /* the old mask is back */
  CHECK(raw_mask() & SIGBIT(SIGUSR1));
  /* with the signal kept blocked, ppoll just times out */
  CHECK_OK(raise(SIGUSR1));
  struct timespec short_ts = {0, 10 * MS};
  CHECK_EQ(ppoll(&pf, 1, &short_ts, NULL), 0);
  CHECK_EQ(hits, 1);
  raw_setmask(old);
  CHECK_EQ(hits, 2);
}

TEST(select_readable_and_writable_sets) {
  int p[2];
  xpipe(p);
  fd_set r, w;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(p[0], &r);
  FD_SET(p[1], &w);
  struct timeval tv = {0, 0};
  int nfds = (p[0] > p[1] ? p[0] : p[1]) + 1;
  CHECK_EQ(select(nfds, &r, &w, NULL, &tv), 1);
  CHECK(!FD_ISSET(p[0], &r));
  CHECK(FD_ISSET(p[1], &w));
  CHECK_EQ(write(p[1], "x", 1), 1);
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(p[0], &r);
  FD_SET(p[1], &w);
  CHECK_EQ(select(nfds, &r, &w, NULL, &tv), 2);
  CHECK(FD_ISSET(p[0], &r));
  CHECK(FD_ISSET(p[1], &w));
}

TEST(select_eof_is_readable) {
  int p[2];
  xpipe(p);
  close(p[1]);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  struct timeval tv = {0, 0};
  CHECK_EQ(select(p[0] + 1, &r, NULL, NULL, &tv), 1);
  CHECK(FD_ISSET(p[0], &r));
}

TEST(select_timeout_updates_timeval) {
  int p[2];
  xpipe(p);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  struct timeval tv = {0, 20000};
  long long t0 = now_ns();
  CHECK_EQ(syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv), 0);
  CHECK(now_ns() - t0 >= 19 * MS);
  /* the set is cleared and, on Linux, the time left (none) written back */
  CHECK(!FD_ISSET(p[0], &r));
  CHECK_EQ(tv.tv_sec, 0);
  CHECK_EQ(tv.tv_usec, 0);
}

TEST(select_errors) {
  fd_set r;
  FD_ZERO(&r);
  int p[2];
  xpipe(p);
  close(p[1]);
  FD_SET(p[1], &r); /* closed */
  struct timeval tv = {0, 0};
  CHECK_ERRNO(select(p[1] + 1, &r, NULL, NULL, &tv), EBADF);
  FD_ZERO(&r);
  CHECK_ERRNO(select(-1, &r, NULL, NULL, &tv), EINVAL);
  struct timeval bad = {-1, 0};
  CHECK_ERRNO(syscall(SYS_select, 1, NULL, NULL, NULL, &bad), EINVAL);
}

TEST(pselect6_timeout_and_sigmask) {
  hits = 0;
  uint64_t old = raw_mask();
  on_signal(SIGUSR2, count_handler, 0);
  block_sig(SIGUSR2);
  int p[2];
  xpipe(p);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  struct timespec ts = {0, 20 * MS};
  long long t0 = now_ns();
  CHECK_EQ(pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL), 0);
  CHECK(now_ns() - t0 >= 19 * MS);
  CHECK_OK(raise(SIGUSR2));
  sigset_t none;
  sigemptyset(&none);
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  ts.tv_sec = 5;
  CHECK_ERRNO(pselect(p[0] + 1, &r, NULL, NULL, &ts, &none), EINTR);
  CHECK_EQ(hits, 1);
  CHECK(raw_mask() & SIGBIT(SIGUSR2));
  raw_setmask(old);
}

TEST(epoll_create_flags_and_errors) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  CHECK_EQ(fcntl(ep, F_GETFD), FD_CLOEXEC);
  int ep2 = epoll_create1(0);
  CHECK(ep2 >= 0);
  CHECK_EQ(fcntl(ep2, F_GETFD), 0);
  CHECK_ERRNO(epoll_create1(0x1), EINVAL);
  CHECK_ERRNO(syscall(SYS_epoll_create, 0), EINVAL);
  int ep3 = syscall(SYS_epoll_create, 1);
  CHECK(ep3 >= 0);
  close(ep);
  close(ep2);
  close(ep3);
}

TEST(epoll_level_triggered_reports_until_drained) {
  int p[2];
  xpipe(p);
  int ep = epoll_new();
  ep_add(ep, p[0], EPOLLIN, 0xabcdef0123ULL);
  struct epoll_event evs[4];
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
  CHECK_EQ(write(p[1], "ab", 2), 2);
  CHECK_EQ(ep_wait0(ep, evs, 4), 1);
  CHECK_EQ(evs[0].events, EPOLLIN);
  CHECK_EQ(evs[0].data.u64, 0xabcdef0123ULL);
  /* still readable: reported again */
  CHECK_EQ(ep_wait0(ep, evs, 4), 1);
  char c;
  CHECK_EQ(read(p[0], &c, 1), 1);
  CHECK_EQ(ep_wait0(ep, evs, 4), 1);
  CHECK_EQ(read(p[0], &c, 1), 1);
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
}

TEST(epoll_edge_triggered_reports_once_per_change) {
  int p[2];
  xpipe(p);
  int ep = epoll_new();
  ep_add(ep, p[0], EPOLLIN | EPOLLET, 1);
  struct epoll_event evs[4];
  CHECK_EQ(write(p[1], "ab", 2), 2);
  CHECK_EQ(ep_wait0(ep, evs, 4), 1);
  CHECK(evs[0].events & EPOLLIN);
  /* no new data: not reported again, although still readable */
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
  char c;
  CHECK_EQ(read(p[0], &c, 1), 1);
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
  /* new data is a new edge */
  CHECK_EQ(write(p[1], "c", 1), 1);
  CHECK_EQ(ep_wait0(ep, evs, 4), 1);
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
}

TEST(epoll_oneshot_disabled_until_mod) {
  int p[2];
  xpipe(p);
  int ep = epoll_new();
  ep_add(ep, p[0], EPOLLIN | EPOLLONESHOT, 7);
  struct epoll_event evs[4];
  CHECK_EQ(write(p[1], "a", 1), 1);
  CHECK_EQ(ep_wait0(ep, evs, 4), 1);
  CHECK_EQ(evs[0].data.u64, 7);
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
  CHECK_EQ(write(p[1], "b", 1), 1);
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
  /* still registered: ADD fails, MOD re-arms */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = 8};
  CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
  CHECK_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
  CHECK_EQ(ep_wait0(ep, evs, 4), 1);
  CHECK_EQ(evs[0].data.u64, 8);
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
}

TEST(epoll_ctl_mod_and_del) {
  int p[2];
  xpipe(p);
  int ep = epoll_new();
  ep_add(ep, p[1], EPOLLIN, 1); /* a write end is never readable */
  struct epoll_event evs[4];
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
  struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = 2};
  CHECK_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));
  CHECK_EQ(ep_wait0(ep, evs, 4), 1);
  CHECK_EQ(evs[0].events, EPOLLOUT);
  CHECK_EQ(evs[0].data.u64, 2);
  CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
  CHECK_EQ(ep_wait0(ep, evs, 4), 0);
  CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
}

TEST(epoll_ctl_errors) {
  int p[2];
  xpipe(p);
  int ep = epoll_new();
  struct epoll_event ev = {.events = EPOLLIN};
  CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
  CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
  CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev), ENOENT);
  CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev), ENOENT);
  /* an epoll instance cannot watch itself */
  CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
  /* the first descriptor must be an epoll instance */
  CHECK_ERRNO(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev), EINVAL);
  CHECK_ERRNO(epoll_ctl(ep, 99, p[1], &ev), EINVAL);
  CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, 12345, &ev), EBADF);
  CHECK_ERRNO(epoll_ctl(12345, EPOLL_CTL_ADD, p[1], &ev), EBADF);
  /* regular files do not support epoll */
  put_file(P("f"), "x", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), EPERM);
  close(fd);
}

TEST(epoll_wait_timeout_and_errors) {
  int ep = epoll_new();
  struct epoll_event evs[2];
  long long t0 = now_ns();
  CHECK_EQ(epoll_wait(ep, evs, 2, 20), 0);
  CHECK(now_ns() - t0 >= 19 * MS);
  CHECK_ERRNO(syscall(SYS_epoll_wait, ep, evs, 0, 0), EINVAL);
  CHECK_ERRNO(syscall(SYS_epoll_wait, ep, evs, -1, 0), EINVAL);
  int p[2];
  xpipe(p);
  CHECK_ERRNO(epoll_wait(p[0], evs, 2, 0), EINVAL);
  CHECK_ERRNO(epoll_wait(12345, evs, 2, 0), EBADF);
}

TEST(epoll_maxevents_limits_and_rotates) {
  int p1[2], p2[2];
  xpipe(p1);
  xpipe(p2);
  int ep = epoll_new();
  ep_add(ep, p1[0], EPOLLIN, 1);
  ep_add(ep, p2[0], EPOLLIN, 2);
  CHECK_EQ(write(p1[1], "a", 1), 1);
  CHECK_EQ(write(p2[1], "b", 1), 1);
  struct epoll_event evs[2];
  CHECK_EQ(ep_wait0(ep, evs, 2), 2);
  CHECK(evs[0].data.u64 + evs[1].data.u64 == 3);
  /* one at a time: both still come out over two calls */
  CHECK_EQ(ep_wait0(ep, evs, 1), 1);
  uint64_t first = evs[0].data.u64;
  CHECK_EQ(ep_wait0(ep, evs, 1), 1);
  CHECK(evs[0].data.u64 != first);
}

TEST(epoll_pollhup_on_pipe_and_close_removes) {
  int p[2];
  xpipe(p);
  int ep = epoll_new();
  ep_add(ep, p[0], EPOLLIN, 5);
  close(p[1]);
  struct epoll_event evs[2];
  CHECK_EQ(ep_wait0(ep, evs, 2), 1);
  CHECK(evs[0].events & EPOLLHUP);
  /* closing the only descriptor for the file removes it from the set */
  close(p[0]);
  CHECK_EQ(ep_wait0(ep, evs, 2), 0);
}

TEST(epoll_wait_woken_by_child) {
  int p[2], go[2];
  xpipe(p);
  xpipe(go);
  int ep = epoll_new();
  ep_add(ep, p[0], EPOLLIN, 11);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    CHILD_CHECK(get1(go[0]) == 'g');
    CHILD_CHECK(write(p[1], "z", 1) == 1);
    _exit(0);
  }
  put1(go[1], 'g');
  struct epoll_event ev;
  CHECK_EQ(epoll_wait(ep, &ev, 1, 10000), 1);
  CHECK_EQ(ev.data.u64, 11);
  CHECK(ev.events & EPOLLIN);
  expect_exit(pid, 0);
}

TEST(eventfd_counter_semantics) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  CHECK(fd >= 0);
  CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  uint64_t v = 3;
  CHECK_EQ(write(fd, &v, 8), 8);
  v = 4;
  CHECK_EQ(write(fd, &v, 8), 8);
  v = 0;
  CHECK_EQ(read(fd, &v, 8), 8);
  CHECK_EQ(v, 7);
  /* the read reset it to zero */
  CHECK_ERRNO(read(fd, &v, 8), EAGAIN);
  close(fd);
}

TEST(eventfd_initial_value) {
  int fd = syscall(SYS_eventfd2, 42, EFD_NONBLOCK);
  CHECK(fd >= 0);
  uint64_t v = 0;
  CHECK_EQ(read(fd, &v, 8), 8);
  CHECK_EQ(v, 42);
  close(fd);
}

TEST(eventfd_semaphore) {
  int fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  CHECK(fd >= 0);
  uint64_t v;
  for (int i = 0; i < 3; i++) {
    v = 0;
    CHECK_EQ(read(fd, &v, 8), 8);
    CHECK_EQ(v, 1);
  }
  CHECK_ERRNO(read(fd, &v, 8), EAGAIN);
  v = 2;
  CHECK_EQ(write(fd, &v, 8), 8);
  CHECK_EQ(read(fd, &v, 8), 8);
  CHECK_EQ(v, 1);
  close(fd);
}

TEST(eventfd_overflow_and_bad_writes) {
  int fd = eventfd(0, EFD_NONBLOCK);
  CHECK(fd >= 0);
  uint64_t v = 0xffffffffffffffffULL;
  CHECK_ERRNO(write(fd, &v, 8), EINVAL);
  v = 0xfffffffffffffffeULL; /* the largest value the counter holds */
  CHECK_EQ(write(fd, &v, 8), 8);
  v = 1;
  CHECK_ERRNO(write(fd, &v, 8), EAGAIN);
  /* adding 0 always fits */
  v = 0;
  CHECK_EQ(write(fd, &v, 8), 8);
  uint32_t small = 1;
  CHECK_ERRNO(write(fd, &small, 4), EINVAL);
  CHECK_ERRNO(read(fd, &small, 4), EINVAL);
  CHECK_EQ(read(fd, &v, 8), 8);
  CHECK_EQ(v, 0xfffffffffffffffeULL);
  CHECK_ERRNO(syscall(SYS_eventfd2, 0, 0x2), EINVAL);
  close(fd);
}

TEST(eventfd_blocking_read_woken_by_child) {
  int fd = eventfd(0, 0);
  CHECK(fd >= 0);
  int go[2];
  xpipe(go);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    CHILD_CHECK(get1(go[0]) == 'g');
    uint64_t v = 5;
    CHILD_CHECK(write(fd, &v, 8) == 8);
    _exit(0);
  }
  put1(go[1], 'g');
  uint64_t v = 0;
  CHECK_EQ(read(fd, &v, 8), 8);
  CHECK_EQ(v, 5);
  expect_exit(pid, 0);
}

TEST(eventfd_in_epoll_and_poll) {
  int fd = eventfd(0, EFD_NONBLOCK);
  CHECK(fd >= 0);
  int ep = epoll_new();
  ep_add(ep, fd, EPOLLIN | EPOLLOUT, 9);
  struct epoll_event evs[2];
  /* zero: writable only */
  CHECK_EQ(ep_wait0(ep, evs, 2), 1);
  CHECK_EQ(evs[0].events, EPOLLOUT);
  uint64_t v = 1;
  CHECK_EQ(write(fd, &v, 8), 8);
  CHECK_EQ(ep_wait0(ep, evs, 2), 1);
  CHECK_EQ(evs[0].events, EPOLLIN | EPOLLOUT);
  CHECK_EQ(evs[0].data.u64, 9);
  /* full: readable only */
  v = 0xfffffffffffffffeULL - 1;
  CHECK_EQ(write(fd, &v, 8), 8);
  struct pollfd pf = {fd, POLLIN | POLLOUT, 0};
  CHECK_EQ(poll(&pf, 1, 0), 1);
  CHECK_EQ(pf.revents, POLLIN);
  CHECK_EQ(read(fd, &v, 8), 8);
  CHECK_EQ(ep_wait0(ep, evs, 2), 1);
  CHECK_EQ(evs[0].events, EPOLLOUT);
}
