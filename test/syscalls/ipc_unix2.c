//go:build ignore

/*
 * ipc_unix2.c - more Unix domain sockets, for what ipc_unix.c leaves out:
 * autobind, SOCK_SEQPACKET through listen/accept, MSG_TRUNC and FIONREAD,
 * SIGPIPE with and without MSG_NOSIGNAL, a full send buffer (EAGAIN and
 * POLLOUT; a smaller SO_SNDBUF fills sooner), the datagram receive queue
 * limit, poll and epoll readiness through a connection's life (EPOLLET,
 * EPOLLRDHUP), shutdown of each kind, ECONNRESET for unread data,
 * blocking calls cut by signals (EINTR, or restarted with SA_RESTART),
 * MSG_WAITALL, MSG_CTRUNC, write permission for connect, the listen backlog,
 * datagram EPERM, sendmmsg/recvmmsg and the errors of unconnected sockets.
 *
 * Follows unix(7) ("Address format": autobind, abstract names; "Socket
 * options"; "Ancillary messages": MSG_CTRUNC; "ERRORS": EACCES through write
 * permission, ECONNREFUSED, EPERM), socket(2) (ESOCKTNOSUPPORT), listen(2)
 * (backlog; EOPNOTSUPP), connect(2) (EAGAIN "insufficient entries in the
 * routing cache" is how a full backlog reads for Unix sockets), shutdown(2),
 * send(2) (EPIPE, "also get a SIGPIPE signal unless MSG_NOSIGNAL is set" for
 * stream sockets; EISCONN, EOPNOTSUPP), recv(2) (MSG_WAITALL, MSG_TRUNC;
 * "value 0 ... orderly shutdown"), poll(2) (POLLIN, POLLOUT, POLLHUP,
 * POLLRDHUP), epoll(7) (edge-triggered), signal(7) ("Interruption of system
 * calls and library functions by signal handlers": recv, send, accept,
 * connect restart with SA_RESTART), sendmmsg(2), recvmmsg(2), socket(7)
 * (SO_ERROR, SO_ACCEPTCONN, SO_SNDBUF, ENOPROTOOPT) and fstat(2) on a socket
 * (S_IFSOCK).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/fsutil.h"

#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static void xsocketpair(int type, int sv[2]) {
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) FAILF("socketpair: %s", strerror(errno));
}

static socklen_t path_addr(struct sockaddr_un *a, const char *path) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  snprintf(a->sun_path, sizeof a->sun_path, "%s", path);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static socklen_t abstract_addr(struct sockaddr_un *a, const char *tag) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "sbxtest2-%d-%s", (int)getpid(), tag);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* a bound listening socket of the given type on an abstract name */
static int listener(int type, const char *tag, struct sockaddr_un *a, socklen_t *alen, int backlog) {
  *alen = abstract_addr(a, tag);
  int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (s < 0) FAILF("socket: %s", strerror(errno));
  if (bind(s, (struct sockaddr *)a, *alen) != 0) FAILF("bind: %s", strerror(errno));
  if (listen(s, backlog) != 0) FAILF("listen: %s", strerror(errno));
  return s;
}

static short revents(int fd, short events) {
  struct pollfd p = {fd, events, 0};
  if (poll(&p, 1, 0) < 0) FAILF("poll: %s", strerror(errno));
  return p.revents;
}

TEST(autobind_gives_abstract_name) {
  int s1 = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int s2 = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  /* binding just the family asks for a name */
  sa_family_t fam = AF_UNIX;
  CHECK_OK(bind(s1, (struct sockaddr *)&fam, sizeof fam));
  CHECK_OK(bind(s2, (struct sockaddr *)&fam, sizeof fam));
  struct sockaddr_un a1, a2;
  socklen_t l1 = sizeof a1, l2 = sizeof a2;
  CHECK_OK(getsockname(s1, (struct sockaddr *)&a1, &l1));
  CHECK_OK(getsockname(s2, (struct sockaddr *)&a2, &l2));
  /* a NUL then five hex digits */
  CHECK_EQ(l1, offsetof(struct sockaddr_un, sun_path) + 6);
  CHECK_EQ(a1.sun_path[0], 0);
  for (int i = 1; i < 6; i++) CHECK(strchr("0123456789abcdef", a1.sun_path[i]) != NULL);
  CHECK(memcmp(&a1, &a2, l1) != 0);
  /* the name reaches the socket */
  CHECK_EQ(sendto(s2, "auto", 4, 0, (struct sockaddr *)&a1, l1), 4);
  char buf[8];
  struct sockaddr_un from;
  socklen_t flen = sizeof from;
  CHECK_EQ(recvfrom(s1, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 4);
  CHECK_EQ(flen, l2);
  CHECK(memcmp(&from, &a2, l2) == 0);
  /* an unbound sender has no address at all */
  int s3 = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK_EQ(sendto(s3, "anon", 4, 0, (struct sockaddr *)&a1, l1), 4);
  flen = sizeof from;
  CHECK_EQ(recvfrom(s1, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 4);
  CHECK_EQ(flen, 0);
  /* an unbound socket's own name is the bare family */
  l1 = sizeof a1;
  CHECK_OK(getsockname(s3, (struct sockaddr *)&a1, &l1));
  CHECK_EQ(l1, sizeof(sa_family_t));
}

TEST(seqpacket_listen_accept_keeps_boundaries) {
  struct sockaddr_un a;
  socklen_t alen;
  int srv = listener(SOCK_SEQPACKET, "seq", &a, &alen, 4);
  int cli = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  /* not connected yet */
  CHECK_ERRNO(send(cli, "x", 1, 0), ENOTCONN);
  CHECK_OK(connect(cli, (struct sockaddr *)&a, alen));
  int acc = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
  CHECK(acc >= 0);
  CHECK_EQ(send(cli, "alpha", 5, 0), 5);
  CHECK_EQ(send(cli, "be", 2, 0), 2);
  CHECK_EQ(send(cli, "", 0, 0), 0);
  CHECK_EQ(send(cli, "gamma-delta", 11, 0), 11);
  char buf[16];
  CHECK_EQ(recv(acc, buf, sizeof buf, 0), 5);
  CHECK(memcmp(buf, "alpha", 5) == 0);
  CHECK_EQ(recv(acc, buf, sizeof buf, 0), 2);
  CHECK_EQ(recv(acc, buf, sizeof buf, 0), 0);
  /* MSG_TRUNC returns the whole record's length; the rest is dropped */
  CHECK_EQ(recv(acc, buf, 5, MSG_TRUNC), 11);
  CHECK(memcmp(buf, "gamma", 5) == 0);
  CHECK_ERRNO(recv(acc, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  /* the listener's name is the accepted socket's own */
  struct sockaddr_un me;
  socklen_t mlen = sizeof me;
  CHECK_OK(getsockname(acc, (struct sockaddr *)&me, &mlen));
  CHECK_EQ(mlen, alen);
  CHECK(memcmp(&me, &a, alen) == 0);
  close(cli);
  CHECK_EQ(recv(acc, buf, sizeof buf, 0), 0);
  CHECK_EQ(recv(acc, buf, sizeof buf, MSG_DONTWAIT), 0);
}

TEST(fionread_and_fstat) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_EQ(write(sv[0], "abc", 3), 3);
  CHECK_EQ(write(sv[0], "defg", 4), 4);
  int n = -1;
  CHECK_OK(ioctl(sv[1], FIONREAD, &n));
  CHECK_EQ(n, 7);
  int dv[2];
  xsocketpair(SOCK_DGRAM, dv);
  CHECK_EQ(send(dv[0], "12345", 5, 0), 5);
  CHECK_EQ(send(dv[0], "12", 2, 0), 2);
  /* a datagram socket reports the next datagram */
  CHECK_OK(ioctl(dv[1], FIONREAD, &n));
  CHECK_EQ(n, 5);
  struct stat st;
  CHECK_OK(fstat(sv[0], &st));
  CHECK(S_ISSOCK(st.st_mode));
  CHECK_ERRNO(lseek(sv[0], 0, SEEK_CUR), ESPIPE);
  /* the bound path is a socket node with the umask applied */
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, P("node"));
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_OK(bind(s, (struct sockaddr *)&a, alen));
  xstat(P("node"), &st);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK_EQ(st.st_mode & 07777, 0755);
  /* opening it is not connecting */
  CHECK_ERRNO(open(P("node"), O_RDONLY | O_CLOEXEC), ENXIO);
}

static volatile sig_atomic_t got_sig;
static void count_sig(int sig) { (void)sig; got_sig++; }

TEST(sigpipe_on_stream_write_after_peer_close) {
  on_signal(SIGPIPE, count_sig, 0);
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  close(sv[1]);
  got_sig = 0;
  CHECK_ERRNO(write(sv[0], "x", 1), EPIPE);
  CHECK_EQ(got_sig, 1);
  CHECK_ERRNO(send(sv[0], "x", 1, 0), EPIPE);
  CHECK_EQ(got_sig, 2);
  CHECK_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK_EQ(got_sig, 2);
  /* after shutdown(SHUT_WR) of the writer itself, too */
  int tv[2];
  xsocketpair(SOCK_STREAM, tv);
  CHECK_OK(shutdown(tv[0], SHUT_WR));
  CHECK_ERRNO(write(tv[0], "x", 1), EPIPE);
  CHECK_EQ(got_sig, 3);
  signal(SIGPIPE, SIG_DFL);
}

/* write 4 KiB pieces to a non-blocking socket until EAGAIN; the total */
static long fill(int fd) {
  static char chunk[4096];
  long total = 0;
  for (;;) {
    long r = write(fd, chunk, sizeof chunk);
    if (r < 0) {
      CHECK_EQ(errno, EAGAIN);
      return total;
    }
    total += r;
    if (total > (64L << 20)) FAILF("the buffer never filled");
  }
}

TEST(full_send_buffer_eagain_and_pollout) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_OK(fcntl(sv[0], F_SETFL, O_NONBLOCK));
  CHECK(revents(sv[0], POLLOUT) & POLLOUT);
  static char chunk[4096];
  long total = fill(sv[0]);
  CHECK(total > 0);
  CHECK_EQ(revents(sv[0], POLLOUT) & POLLOUT, 0);
  CHECK(revents(sv[1], POLLIN) & POLLIN);
  /* draining the peer makes room again */
  static char sink[65536];
  long drained = 0;
  while (drained < total) {
    long r = read(sv[1], sink, sizeof sink);
    CHECK(r > 0);
    drained += r;
  }
  CHECK_EQ(drained, total);
  CHECK(revents(sv[0], POLLOUT) & POLLOUT);
  CHECK_EQ(write(sv[0], chunk, 10), 10);
  /* a smaller SO_SNDBUF fills sooner */
  int tv[2];
  xsocketpair(SOCK_STREAM, tv);
  CHECK_OK(fcntl(tv[0], F_SETFL, O_NONBLOCK));
  int small = 16384;
  CHECK_OK(setsockopt(tv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small));
  long less = fill(tv[0]);
  CHECK(less > 0);
  CHECK(less < total);
}

TEST(dgram_receiver_queue_limit) {
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "q");
  int rcv = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK_OK(bind(rcv, (struct sockaddr *)&a, alen));
  int snd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int sent = 0;
  for (;;) {
    long r = sendto(snd, "d", 1, MSG_DONTWAIT, (struct sockaddr *)&a, alen);
    if (r < 0) {
      CHECK_EQ(errno, EAGAIN);
      break;
    }
    if (++sent > 100000) FAILF("the receiver's queue never filled");
  }
  /* a receiver not connected back takes a bounded number of datagrams */
  CHECK(sent >= 1);
  /* once one is read, one more fits */
  char c;
  CHECK_EQ(recv(rcv, &c, 1, 0), 1);
  CHECK_EQ(sendto(snd, "d", 1, MSG_DONTWAIT, (struct sockaddr *)&a, alen), 1);
  /* a datagram larger than the send buffer can never be sent */
  int small = 4096;
  CHECK_OK(setsockopt(snd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small));
  static char big[65536];
  CHECK_ERRNO(sendto(snd, big, sizeof big, MSG_DONTWAIT, (struct sockaddr *)&a, alen), EMSGSIZE);
}

TEST(poll_through_a_connection) {
  /* an unconnected stream socket: writable-looking but hung up */
  int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_EQ(revents(u, POLLIN | POLLOUT), POLLOUT | POLLHUP);
  struct sockaddr_un a;
  socklen_t alen;
  int srv = listener(SOCK_STREAM, "poll", &a, &alen, 4);
  CHECK_EQ(revents(srv, POLLIN | POLLOUT), 0);
  int cli = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_OK(connect(cli, (struct sockaddr *)&a, alen));
  /* a pending connection makes the listener readable */
  CHECK_EQ(revents(srv, POLLIN), POLLIN);
  int acc = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
  CHECK(acc >= 0);
  CHECK_EQ(revents(srv, POLLIN), 0);
  CHECK_EQ(revents(acc, POLLIN | POLLOUT), POLLOUT);
  CHECK_EQ(write(cli, "r", 1), 1);
  CHECK_EQ(revents(acc, POLLIN | POLLOUT), POLLIN | POLLOUT);
  /* the peer's shutdown(SHUT_WR) reads as POLLRDHUP, and POLLIN for the EOF */
  CHECK_OK(shutdown(cli, SHUT_WR));
  CHECK_EQ(revents(acc, POLLIN | POLLOUT | POLLRDHUP), POLLIN | POLLOUT | POLLRDHUP);
  /* the peer's close hangs up */
  close(cli);
  short r = revents(acc, POLLIN | POLLRDHUP);
  CHECK(r & POLLHUP);
  CHECK(r & POLLIN);
  CHECK(r & POLLRDHUP);
  char c;
  CHECK_EQ(read(acc, &c, 1), 1);
  CHECK_EQ(read(acc, &c, 1), 0);
}

static int epoll_events(int ep, uint32_t *ev) {
  struct epoll_event e[4];
  int n = epoll_wait(ep, e, 4, 0);
  if (n < 0) FAILF("epoll_wait: %s", strerror(errno));
  *ev = n > 0 ? e[0].events : 0;
  return n;
}

TEST(epoll_socket_events) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  int lt = epoll_create1(EPOLL_CLOEXEC), et = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = sv[1]};
  CHECK_OK(epoll_ctl(lt, EPOLL_CTL_ADD, sv[1], &e));
  e.events |= EPOLLET;
  CHECK_OK(epoll_ctl(et, EPOLL_CTL_ADD, sv[1], &e));
  uint32_t ev;
  CHECK_EQ(epoll_events(lt, &ev), 0);
  CHECK_EQ(write(sv[0], "a", 1), 1);
  CHECK_EQ(epoll_events(lt, &ev), 1);
  CHECK_EQ(ev, EPOLLIN);
  CHECK_EQ(epoll_events(et, &ev), 1);
  /* level-triggered reports again, edge-triggered waits for new data */
  CHECK_EQ(epoll_events(lt, &ev), 1);
  CHECK_EQ(epoll_events(et, &ev), 0);
  CHECK_EQ(write(sv[0], "b", 1), 1);
  CHECK_EQ(epoll_events(et, &ev), 1);
  char buf[4];
  CHECK_EQ(read(sv[1], buf, sizeof buf), 2);
  CHECK_EQ(epoll_events(lt, &ev), 0);
  /* the peer's shutdown(SHUT_WR) */
  CHECK_OK(shutdown(sv[0], SHUT_WR));
  CHECK_EQ(epoll_events(lt, &ev), 1);
  CHECK_EQ(ev, EPOLLIN | EPOLLRDHUP);
  CHECK_EQ(epoll_events(et, &ev), 1);
}

TEST(shutdown_kinds) {
  /* SHUT_RD: our reads see EOF and the peer's writes fail */
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_OK(shutdown(sv[0], SHUT_RD));
  CHECK_ERRNO(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK_EQ(send(sv[0], "ok", 2, 0), 2);
  char buf[4];
  CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 2);
  /* SHUT_RDWR: both ways */
  int tv[2];
  xsocketpair(SOCK_STREAM, tv);
  CHECK_EQ(send(tv[1], "q", 1, 0), 1);
  CHECK_OK(shutdown(tv[0], SHUT_RDWR));
  CHECK_EQ(recv(tv[0], buf, sizeof buf, 0), 1); /* queued data stays readable */
  CHECK_EQ(recv(tv[0], buf, sizeof buf, 0), 0);
  CHECK_EQ(recv(tv[1], buf, sizeof buf, 0), 0);
  CHECK_ERRNO(send(tv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK_ERRNO(send(tv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK(revents(tv[0], POLLIN) & POLLHUP);
  /* a datagram socket shut for reading refuses what is sent to it */
  int dv[2];
  xsocketpair(SOCK_DGRAM, dv);
  CHECK_OK(shutdown(dv[1], SHUT_RD));
  CHECK_ERRNO(send(dv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK_EQ(send(dv[1], "y", 1, 0), 1);
  CHECK_EQ(recv(dv[0], buf, sizeof buf, 0), 1);
  /* and a blocking read returns 0 rather than wait */
  CHECK_EQ(recv(dv[1], buf, sizeof buf, 0), 0);
  CHECK_ERRNO(shutdown(dv[1], -1), EINVAL);
}

TEST(close_with_unread_data_resets_peer) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_EQ(write(sv[0], "mine", 4), 4);
  CHECK_EQ(write(sv[1], "left", 4), 4); /* never read by sv[0] */
  close(sv[0]);
  char buf[8];
  /* what was queued for us is still ours, then the reset, then EOF */
  CHECK_EQ(read(sv[1], buf, sizeof buf), 4);
  CHECK_ERRNO(read(sv[1], buf, sizeof buf), ECONNRESET);
  CHECK_EQ(read(sv[1], buf, sizeof buf), 0);
  /* a close with nothing unread is a plain EOF; SO_ERROR stays 0 */
  int tv[2];
  xsocketpair(SOCK_STREAM, tv);
  close(tv[0]);
  int e = -1;
  socklen_t len = sizeof e;
  CHECK_OK(getsockopt(tv[1], SOL_SOCKET, SO_ERROR, &e, &len));
  CHECK_EQ(e, 0);
  CHECK_EQ(read(tv[1], buf, sizeof buf), 0);
}

static void on_usr1(int sig) { (void)sig; }

/* interrupter: a child that sends its parent SIGUSR1 every 20 ms. Without
 * then_send it goes on until the parent closes done[1] (so a signal that
 * comes before the parent blocks cannot leave it blocked forever); with
 * then_send it sends five and then one byte on sock. */
static pid_t interrupter(int sock, int then_send, int done[2]) {
  pid_t parent = getpid();
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(done[1]);
    wait_blocked(parent, 20);
    for (int i = 0; i < (then_send ? 5 : 500); i++) {
      CHILD_CHECK(kill(parent, SIGUSR1) == 0);
      struct pollfd p = {done[0], POLLIN, 0};
      int r = poll(&p, 1, 20);
      if (r > 0 && !then_send) break;
      if (r > 0) sleep_ms(20);
    }
    if (then_send) CHILD_CHECK(write(sock, "z", 1) == 1);
    _exit(0);
  }
  close(done[0]);
  return pid;
}

TEST(blocking_calls_interrupted_by_signals) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  char c;
  int done[2];
  /* without SA_RESTART: EINTR */
  on_signal(SIGUSR1, on_usr1, 0);
  xpipe(done);
  pid_t pid = interrupter(sv[1], 0, done);
  CHECK_ERRNO(recv(sv[0], &c, 1, 0), EINTR);
  close(done[1]);
  expect_exit(pid, 0);
  struct sockaddr_un a;
  socklen_t alen;
  int srv = listener(SOCK_STREAM, "intr", &a, &alen, 1);
  xpipe(done);
  pid = interrupter(sv[1], 0, done);
  CHECK_ERRNO(accept(srv, NULL, NULL), EINTR);
  close(done[1]);
  expect_exit(pid, 0);
  /* with SA_RESTART the call goes on through the signals and gets what
   * comes after them */
  on_signal(SIGUSR1, on_usr1, SA_RESTART);
  xpipe(done);
  close(done[1]);
  pid = interrupter(sv[1], 1, done);
  CHECK_EQ(recv(sv[0], &c, 1, 0), 1);
  CHECK_EQ(c, 'z');
  expect_exit(pid, 0);
  /* SO_RCVTIMEO: EAGAIN when it passes */
  struct timeval tv = {0, 50000};
  CHECK_OK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  long long t0 = now_ns();
  CHECK_ERRNO(recv(sv[0], &c, 1, 0), EAGAIN);
  CHECK(now_ns() - t0 >= 40000000LL);
  signal(SIGUSR1, SIG_DFL);
}

TEST(msg_waitall_collects_pieces) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    CHILD_CHECK(write(sv[1], "abc", 3) == 3);
    sleep_ms(50);
    CHILD_CHECK(write(sv[1], "defgh", 5) == 5);
    _exit(0);
  }
  char buf[8];
  CHECK_EQ(recv(sv[0], buf, 8, MSG_WAITALL), 8);
  CHECK(memcmp(buf, "abcdefgh", 8) == 0);
  expect_exit(pid, 0);
  /* EOF ends the wait early with what there is */
  CHECK_EQ(write(sv[1], "xy", 2), 2);
  close(sv[1]);
  CHECK_EQ(recv(sv[0], buf, 8, MSG_WAITALL), 2);
}

TEST(scm_rights_ctrunc) {
  int sv[2];
  xsocketpair(SOCK_DGRAM, sv);
  int fds[2] = {dup(0), dup(1)};
  char byte = 'c';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(2 * sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(2 * sizeof(int));
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  CHECK_EQ(sendmsg(sv[0], &m, 0), 1);
  CHECK_EQ(sendmsg(sv[0], &m, 0), 1);
  /* room for one descriptor (CMSG_SPACE would round up to room for two):
   * it arrives, the other is closed */
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } r;
  memset(&r, 0, sizeof r);
  struct msghdr rm = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = r.buf, .msg_controllen = CMSG_LEN(sizeof(int))};
  CHECK_EQ(recvmsg(sv[1], &rm, 0), 1);
  CHECK(rm.msg_flags & MSG_CTRUNC);
  c = CMSG_FIRSTHDR(&rm);
  CHECK(c != NULL);
  CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof(int)));
  int got;
  memcpy(&got, CMSG_DATA(c), sizeof got);
  CHECK(fcntl(got, F_GETFD) >= 0);
  /* no control buffer at all: nothing installed, MSG_CTRUNC */
  struct msghdr none = {.msg_iov = &iov, .msg_iovlen = 1};
  CHECK_EQ(recvmsg(sv[1], &none, 0), 1);
  CHECK(none.msg_flags & MSG_CTRUNC);
  CHECK_EQ(none.msg_controllen, 0);
  /* bad descriptors and bad control messages are refused */
  int bad = 999;
  memcpy(CMSG_DATA(CMSG_FIRSTHDR(&m)), &bad, sizeof bad);
  CMSG_FIRSTHDR(&m)->cmsg_len = CMSG_LEN(sizeof(int));
  CHECK_ERRNO(sendmsg(sv[0], &m, 0), EBADF);
  CMSG_FIRSTHDR(&m)->cmsg_type = 77;
  CHECK_ERRNO(sendmsg(sv[0], &m, 0), EINVAL);
}

TEST(connect_needs_write_permission) {
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, P("perm"));
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_OK(bind(srv, (struct sockaddr *)&a, alen));
  CHECK_OK(listen(srv, 4));
  CHECK_OK(chmod(P("perm"), 0755));
  CHECK_OK(chmod(scratch(), 0755));
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    if (getuid() == 0) {
      CHILD_CHECK(setgid(65534) == 0);
      CHILD_CHECK(setuid(65534) == 0);
    }
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    errno = 0;
    CHILD_CHECK(connect(c, (struct sockaddr *)&a, alen) == -1 && errno == EACCES);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK_OK(chmod(P("perm"), 0777));
  pid = xfork();
  if (pid == 0) {
    child_guard(20);
    if (getuid() == 0) {
      CHILD_CHECK(setgid(65534) == 0);
      CHILD_CHECK(setuid(65534) == 0);
    }
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHILD_CHECK(connect(c, (struct sockaddr *)&a, alen) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  /* a file that is not a socket refuses */
  put_file(P("plain"), "", 0666);
  struct sockaddr_un b;
  socklen_t blen = path_addr(&b, P("plain"));
  int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_ERRNO(connect(c, (struct sockaddr *)&b, blen), ECONNREFUSED);
  /* a socket of another type is the wrong protocol */
  int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK_ERRNO(connect(d, (struct sockaddr *)&a, alen), EPROTOTYPE);
}

TEST(listen_backlog_and_errors) {
  struct sockaddr_un a;
  socklen_t alen;
  int srv = listener(SOCK_STREAM, "backlog", &a, &alen, 0);
  int on = -1;
  socklen_t len = sizeof on;
  CHECK_OK(getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &on, &len));
  CHECK_EQ(on, 1);
  /* a backlog of 0 still takes one connection; the next would wait */
  int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  CHECK_OK(connect(c1, (struct sockaddr *)&a, alen));
  CHECK_ERRNO(connect(c2, (struct sockaddr *)&a, alen), EAGAIN);
  CHECK(accept4(srv, NULL, NULL, SOCK_CLOEXEC) >= 0);
  CHECK_OK(connect(c2, (struct sockaddr *)&a, alen));
  /* (the backlog is checked first: make room before asking again) */
  CHECK(accept4(srv, NULL, NULL, SOCK_CLOEXEC) >= 0);
  CHECK_ERRNO(connect(c2, (struct sockaddr *)&a, alen), EISCONN);
  /* listening needs a name and a connection-oriented socket */
  int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_ERRNO(listen(u, 1), EINVAL);
  int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK_ERRNO(listen(d, 1), EOPNOTSUPP);
  CHECK_ERRNO(accept(d, NULL, NULL), EOPNOTSUPP);
  /* connecting a listener is invalid */
  CHECK_ERRNO(connect(srv, (struct sockaddr *)&a, alen), EINVAL);
  /* closing the listener refuses later connections */
  close(srv);
  int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_ERRNO(connect(c3, (struct sockaddr *)&a, alen), ECONNREFUSED);
}

TEST(dgram_connect_rules) {
  struct sockaddr_un a, b;
  socklen_t alen = abstract_addr(&a, "da"), blen = abstract_addr(&b, "db");
  int sa = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int sb = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int sc = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK_OK(bind(sa, (struct sockaddr *)&a, alen));
  CHECK_OK(bind(sb, (struct sockaddr *)&b, blen));
  /* sb talks only to sa: others may not send to it */
  CHECK_OK(connect(sb, (struct sockaddr *)&a, alen));
  CHECK_ERRNO(sendto(sc, "x", 1, 0, (struct sockaddr *)&b, blen), EPERM);
  CHECK_EQ(sendto(sa, "ok", 2, 0, (struct sockaddr *)&b, blen), 2);
  CHECK_EQ(send(sb, "to-a", 4, 0), 4);
  char buf[8];
  CHECK_EQ(recv(sa, buf, sizeof buf, 0), 4);
  struct sockaddr_un p;
  socklen_t plen = sizeof p;
  CHECK_OK(getpeername(sb, (struct sockaddr *)&p, &plen));
  CHECK_EQ(plen, alen);
  /* AF_UNSPEC dissolves the association */
  struct sockaddr unspec = {.sa_family = AF_UNSPEC};
  CHECK_OK(connect(sb, &unspec, sizeof unspec));
  plen = sizeof p;
  CHECK_ERRNO(getpeername(sb, (struct sockaddr *)&p, &plen), ENOTCONN);
  CHECK_EQ(sendto(sc, "x", 1, 0, (struct sockaddr *)&b, blen), 1);
  /* the peer's death: the first send says so, then there is no peer */
  CHECK_OK(connect(sc, (struct sockaddr *)&a, alen));
  close(sa);
  CHECK_ERRNO(send(sc, "x", 1, 0), ECONNREFUSED);
  CHECK_ERRNO(send(sc, "x", 1, 0), ENOTCONN);
}

TEST(sendmmsg_recvmmsg) {
  int sv[2];
  xsocketpair(SOCK_DGRAM, sv);
  char *words[3] = {"one", "three", "fifteen"};
  struct iovec iov[3];
  struct mmsghdr mm[3];
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < 3; i++) {
    iov[i].iov_base = words[i];
    iov[i].iov_len = strlen(words[i]);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  CHECK_EQ(sendmmsg(sv[0], mm, 3, 0), 3);
  CHECK_EQ(mm[2].msg_len, 7);
  char bufs[4][16];
  struct iovec riov[4];
  struct mmsghdr rm[4];
  memset(rm, 0, sizeof rm);
  for (int i = 0; i < 4; i++) {
    riov[i].iov_base = bufs[i];
    riov[i].iov_len = sizeof bufs[i];
    rm[i].msg_hdr.msg_iov = &riov[i];
    rm[i].msg_hdr.msg_iovlen = 1;
  }
  /* MSG_WAITFORONE: the fourth is not waited for */
  CHECK_EQ(recvmmsg(sv[1], rm, 4, MSG_WAITFORONE, NULL), 3);
  CHECK_EQ(rm[0].msg_len, 3);
  CHECK_EQ(rm[1].msg_len, 5);
  CHECK(memcmp(bufs[2], "fifteen", 7) == 0);
  CHECK_ERRNO(recvmmsg(sv[1], rm, 4, MSG_DONTWAIT, NULL), EAGAIN);
}

TEST(unconnected_and_option_errors) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  char c;
  CHECK_ERRNO(send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
  CHECK_ERRNO(recv(s, &c, 1, MSG_DONTWAIT), EINVAL);
  struct sockaddr_un p;
  socklen_t plen = sizeof p;
  CHECK_ERRNO(getpeername(s, (struct sockaddr *)&p, &plen), ENOTCONN);
  /* a connected stream socket takes no destination */
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "nowhere");
  CHECK_ERRNO(sendto(sv[0], "x", 1, 0, (struct sockaddr *)&a, alen), EISCONN);
  CHECK_ERRNO(sendto(s, "x", 1, 0, (struct sockaddr *)&a, alen), EOPNOTSUPP);
  /* options */
  int v = 1;
  CHECK_ERRNO(setsockopt(s, SOL_SOCKET, 12345, &v, sizeof v), ENOPROTOOPT);
  socklen_t len = sizeof v;
  CHECK_ERRNO(getsockopt(s, SOL_SOCKET, 12345, &v, &len), ENOPROTOOPT);
  CHECK_ERRNO(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, 2), EINVAL);
  CHECK_OK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
  v = 0;
  len = sizeof v;
  CHECK_OK(getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &len));
  CHECK_EQ(v, 1);
  CHECK_OK(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &len));
  CHECK_EQ(v, 0);
  /* socket calls on something else */
  CHECK_ERRNO(listen(0, 1), ENOTSOCK);
  CHECK_ERRNO(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
  CHECK_ERRNO(socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
  CHECK_ERRNO(socket(AF_UNIX, SOCK_STREAM | 0x1000, 0), EINVAL);
}
