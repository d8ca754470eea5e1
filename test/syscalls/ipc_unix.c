//go:build ignore

/*
 * ipc_unix.c - Unix domain sockets: socketpair of each type, message
 * boundaries of SOCK_DGRAM and SOCK_SEQPACKET, bind/listen/connect/accept4 on
 * a path in a scratch directory and on an abstract name, shutdown, passing a
 * descriptor (SCM_RIGHTS) and credentials (SCM_CREDENTIALS with SO_PASSCRED)
 * to and from a child, SO_PEERCRED, MSG_PEEK, MSG_DONTWAIT, MSG_NOSIGNAL and
 * the buffer-size options.
 *
 * Follows unix(7) (DESCRIPTION: the three socket types; "Address format":
 * pathname and abstract sockets; "Socket options": SO_PASSCRED, SO_PEERCRED;
 * "Ancillary messages": SCM_RIGHTS, SCM_CREDENTIALS; ERRORS: EADDRINUSE,
 * ECONNREFUSED, ENOENT, EINVAL), socketpair(2), socket(2) (SOCK_CLOEXEC,
 * SOCK_NONBLOCK), bind(2), listen(2), connect(2), accept(2) (accept4 flags;
 * EAGAIN), shutdown(2), send(2) (MSG_DONTWAIT, MSG_NOSIGNAL; EPIPE), recv(2)
 * (MSG_PEEK, MSG_TRUNC in msg_flags, MSG_CMSG_CLOEXEC; a zero return for an
 * orderly shutdown), cmsg(3), socket(7) (SO_RCVBUF/SO_SNDBUF: "The kernel
 * doubles this value", SO_TYPE, SO_DOMAIN) and getsockname(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/fsutil.h"

#include <stddef.h>
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

/* an abstract address: a NUL byte then a name unique to this process */
static socklen_t abstract_addr(struct sockaddr_un *a, const char *tag) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "sbxtest-%d-%s", (int)getpid(), tag);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* send one descriptor (or none when fd < 0) with a one-byte payload */
static long send_fd(int sock, int fd) {
  char byte = 'F';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  return sendmsg(sock, &m, 0);
}

/* receive one descriptor; -1 when none came */
static int recv_fd(int sock, int flags) {
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  if (recvmsg(sock, &m, flags) != 1) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

TEST(socketpair_stream_both_directions) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_EQ(write(sv[0], "ping", 4), 4);
  CHECK_EQ(write(sv[1], "pong!", 5), 5);
  char buf[16];
  CHECK_EQ(read(sv[1], buf, sizeof buf), 4);
  CHECK(memcmp(buf, "ping", 4) == 0);
  CHECK_EQ(read(sv[0], buf, sizeof buf), 5);
  CHECK(memcmp(buf, "pong!", 5) == 0);
  CHECK_EQ(fcntl(sv[0], F_GETFD), FD_CLOEXEC);
}

TEST(socketpair_stream_has_no_boundaries) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_EQ(write(sv[0], "abc", 3), 3);
  CHECK_EQ(write(sv[0], "def", 3), 3);
  char buf[16];
  CHECK_EQ(read_all(sv[1], buf, 6), 6);
  CHECK(memcmp(buf, "abcdef", 6) == 0);
  CHECK_EQ(write(sv[0], "xyz", 3), 3);
  CHECK_EQ(read(sv[1], buf, 2), 2);
  CHECK_EQ(read(sv[1], buf + 2, 10), 1);
  CHECK(memcmp(buf, "xyz", 3) == 0);
}

TEST(socketpair_dgram_keeps_boundaries) {
  int sv[2];
  xsocketpair(SOCK_DGRAM, sv);
  CHECK_EQ(send(sv[0], "one", 3, 0), 3);
  CHECK_EQ(send(sv[0], "three", 5, 0), 5);
  CHECK_EQ(send(sv[0], "", 0, 0), 0);
  char buf[16];
  CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 3);
  CHECK(memcmp(buf, "one", 3) == 0);
  CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 5);
  CHECK(memcmp(buf, "three", 5) == 0);
  /* an empty datagram is a datagram */
  CHECK_EQ(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), 0);
  CHECK_ERRNO(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
}

TEST(socketpair_dgram_truncates_long_message) {
  int sv[2];
  xsocketpair(SOCK_DGRAM, sv);
  CHECK_EQ(send(sv[0], "0123456789", 10, 0), 10);
  CHECK_EQ(send(sv[0], "next", 4, 0), 4);
  char buf[16];
  struct iovec iov = {buf, 4};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  CHECK_EQ(recvmsg(sv[1], &m, 0), 4);
  CHECK(m.msg_flags & MSG_TRUNC);
  CHECK(memcmp(buf, "0123", 4) == 0);
  /* the rest of that datagram is gone */
  CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 4);
  CHECK(memcmp(buf, "next", 4) == 0);
  /* MSG_TRUNC as a flag returns the real length */
  CHECK_EQ(send(sv[0], "0123456789", 10, 0), 10);
  CHECK_EQ(recv(sv[1], buf, 2, MSG_TRUNC), 10);
}

TEST(socketpair_seqpacket_keeps_boundaries) {
  int sv[2];
  xsocketpair(SOCK_SEQPACKET, sv);
  CHECK_EQ(send(sv[0], "first", 5, 0), 5);
  CHECK_EQ(send(sv[0], "second", 6, 0), 6);
  char buf[16];
  CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 5);
  CHECK(memcmp(buf, "first", 5) == 0);
  struct iovec iov = {buf, 3};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  CHECK_EQ(recvmsg(sv[1], &m, 0), 3);
  CHECK(m.msg_flags & MSG_TRUNC);
  CHECK_ERRNO(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  /* a closed peer reads as EOF */
  close(sv[0]);
  CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 0);
}

TEST(socket_type_and_domain_options) {
  int types[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
  for (int i = 0; i < 3; i++) {
    int sv[2];
    xsocketpair(types[i], sv);
    int v = -1;
    socklen_t len = sizeof v;
    CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len));
    CHECK_EQ(v, types[i]);
    CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &len));
    CHECK_EQ(v, AF_UNIX);
    close(sv[0]);
    close(sv[1]);
  }
}

TEST(socketpair_errors) {
  int sv[2];
  CHECK_ERRNO(socketpair(AF_UNIX, 1234, 0, sv), EINVAL);
  CHECK_ERRNO(socketpair(AF_UNIX, SOCK_STREAM, 5, sv), EPROTONOSUPPORT);
  CHECK_ERRNO(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
}

TEST(bind_listen_connect_accept4_on_path) {
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, P("sock"));
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(srv >= 0);
  CHECK_OK(bind(srv, (struct sockaddr *)&a, alen));
  struct stat st;
  xstat(P("sock"), &st);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK_OK(listen(srv, 4));
  int cli = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(cli >= 0);
  /* completes at once: the listener's backlog has room */
  CHECK_OK(connect(cli, (struct sockaddr *)&a, alen));
  struct sockaddr_un peer;
  socklen_t plen = sizeof peer;
  int acc = accept4(srv, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
  CHECK(acc >= 0);
  CHECK_EQ(fcntl(acc, F_GETFD), FD_CLOEXEC);
  CHECK(fcntl(acc, F_GETFL) & O_NONBLOCK);
  /* the client is unbound: its address is just the family */
  CHECK_EQ(plen, sizeof(sa_family_t));
  CHECK_EQ(write(cli, "hi", 2), 2);
  char buf[4];
  CHECK_EQ(read(acc, buf, sizeof buf), 2);
  CHECK(memcmp(buf, "hi", 2) == 0);
  /* the listener knows its name */
  struct sockaddr_un me;
  socklen_t mlen = sizeof me;
  CHECK_OK(getsockname(srv, (struct sockaddr *)&me, &mlen));
  CHECK_EQ(mlen, alen);
  CHECK(strcmp(me.sun_path, P("sock")) == 0);
  /* and the client its peer's */
  mlen = sizeof me;
  CHECK_OK(getpeername(cli, (struct sockaddr *)&me, &mlen));
  CHECK(strcmp(me.sun_path, P("sock")) == 0);
}

TEST(connect_from_child_to_path) {
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, P("sock"));
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(srv >= 0);
  CHECK_OK(bind(srv, (struct sockaddr *)&a, alen));
  CHECK_OK(listen(srv, 1));
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHILD_CHECK(c >= 0);
    CHILD_CHECK(connect(c, (struct sockaddr *)&a, alen) == 0);
    CHILD_CHECK(write(c, "child", 5) == 5);
    char buf[8];
    CHILD_CHECK(read_all(c, buf, sizeof buf) == 6);
    CHILD_CHECK(memcmp(buf, "parent", 6) == 0);
    _exit(0);
  }
  int acc = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
  CHECK(acc >= 0);
  char buf[8];
  CHECK_EQ(read_all(acc, buf, 5), 5);
  CHECK(memcmp(buf, "child", 5) == 0);
  CHECK_EQ(write(acc, "parent", 6), 6);
  close(acc);
  expect_exit(pid, 0);
}

TEST(abstract_name_bind_connect) {
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "abs");
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(srv >= 0);
  CHECK_OK(bind(srv, (struct sockaddr *)&a, alen));
  CHECK_OK(listen(srv, 1));
  struct sockaddr_un me;
  socklen_t mlen = sizeof me;
  CHECK_OK(getsockname(srv, (struct sockaddr *)&me, &mlen));
  CHECK_EQ(mlen, alen);
  CHECK(memcmp(&me, &a, alen) == 0);
  int cli = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_OK(connect(cli, (struct sockaddr *)&a, alen));
  int acc = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
  CHECK(acc >= 0);
  CHECK_EQ(write(acc, "abstract", 8), 8);
  char buf[8];
  CHECK_EQ(read_all(cli, buf, 8), 8);
  CHECK(memcmp(buf, "abstract", 8) == 0);
  /* the name is taken while bound */
  int other = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_ERRNO(bind(other, (struct sockaddr *)&a, alen), EADDRINUSE);
  /* and released on close */
  close(srv);
  CHECK_OK(bind(other, (struct sockaddr *)&a, alen));
}

TEST(bind_and_connect_errors) {
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, P("sock"));
  int s1 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int s2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  /* nothing there yet */
  CHECK_ERRNO(connect(s2, (struct sockaddr *)&a, alen), ENOENT);
  CHECK_OK(bind(s1, (struct sockaddr *)&a, alen));
  /* a path that exists cannot be bound again, even after close */
  CHECK_ERRNO(bind(s2, (struct sockaddr *)&a, alen), EADDRINUSE);
  /* bound but not listening */
  CHECK_ERRNO(connect(s2, (struct sockaddr *)&a, alen), ECONNREFUSED);
  /* a socket is bound once */
  struct sockaddr_un b;
  socklen_t blen = path_addr(&b, P("sock2"));
  CHECK_ERRNO(bind(s1, (struct sockaddr *)&b, blen), EINVAL);
  /* the wrong family */
  a.sun_family = AF_INET;
  CHECK_ERRNO(bind(s2, (struct sockaddr *)&a, alen), EINVAL);
  close(s1);
  a.sun_family = AF_UNIX;
  int s3 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_ERRNO(bind(s3, (struct sockaddr *)&a, alen), EADDRINUSE);
  /* the stale file refuses connections */
  CHECK_ERRNO(connect(s3, (struct sockaddr *)&a, alen), ECONNREFUSED);
  CHECK_OK(unlink(P("sock")));
  CHECK_OK(bind(s3, (struct sockaddr *)&a, alen));
}

TEST(accept4_nonblocking_listener_eagain) {
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "nb");
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  CHECK(srv >= 0);
  CHECK_OK(bind(srv, (struct sockaddr *)&a, alen));
  CHECK_OK(listen(srv, 1));
  CHECK_ERRNO(accept4(srv, NULL, NULL, 0), EAGAIN);
  CHECK_ERRNO(accept4(srv, NULL, NULL, 0x1), EINVAL);
  /* accept on a socket that is not listening */
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_ERRNO(accept4(sv[0], NULL, NULL, 0), EINVAL);
}

TEST(shutdown_wr_gives_eof_other_way_open) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_EQ(write(sv[0], "last", 4), 4);
  CHECK_OK(shutdown(sv[0], SHUT_WR));
  char buf[8];
  CHECK_EQ(read_all(sv[1], buf, sizeof buf), 4);
  CHECK_EQ(read(sv[1], buf, sizeof buf), 0);
  /* the other direction still works */
  CHECK_EQ(write(sv[1], "back", 4), 4);
  CHECK_EQ(read(sv[0], buf, sizeof buf), 4);
  CHECK(memcmp(buf, "back", 4) == 0);
  /* and writing on the shut side fails */
  CHECK_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK_ERRNO(shutdown(sv[0], 7), EINVAL);
}

TEST(shutdown_rd_reads_eof) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_OK(shutdown(sv[1], SHUT_RD));
  char c;
  CHECK_EQ(read(sv[1], &c, 1), 0);
}

TEST(scm_rights_passes_fd_to_child) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  int p[2];
  xpipe(p);
  CHECK_EQ(write(p[1], "xyz", 3), 3);
  close(p[1]);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(p[0]); /* the only way to the data is the descriptor that arrives */
    int fd = recv_fd(sv[1], 0);
    CHILD_CHECK(fd >= 0);
    char buf[8];
    CHILD_CHECK(read_all(fd, buf, sizeof buf) == 3);
    CHILD_CHECK(memcmp(buf, "xyz", 3) == 0);
    _exit(0);
  }
  CHECK_EQ(send_fd(sv[0], p[0]), 1);
  close(p[0]);
  expect_exit(pid, 0);
}

TEST(scm_rights_from_child_shares_open_file) {
  int sv[2];
  xsocketpair(SOCK_DGRAM, sv);
  put_file(P("f"), "0123456789", 0644);
  pid_t pid = xfork();
  if (pid == 0) {
    int fd = open(P("f"), O_RDONLY);
    CHILD_CHECK(fd >= 0);
    CHILD_CHECK(lseek(fd, 4, SEEK_SET) == 4);
    CHILD_CHECK(send_fd(sv[1], fd) == 1);
    _exit(0);
  }
  expect_exit(pid, 0);
  int fd = recv_fd(sv[0], MSG_CMSG_CLOEXEC);
  CHECK(fd >= 0);
  CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  /* the same open file description: the child's offset came along */
  CHECK_EQ(lseek(fd, 0, SEEK_CUR), 4);
  char c;
  CHECK_EQ(read(fd, &c, 1), 1);
  CHECK_EQ(c, '4');
}

TEST(scm_rights_several_fds_in_one_message) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  int fds[3];
  for (int i = 0; i < 3; i++) fds[i] = dup(1);
  char byte = 'M';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(3 * sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(3 * sizeof(int));
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  CHECK_EQ(sendmsg(sv[0], &m, 0), 1);
  memset(&u, 0, sizeof u);
  struct msghdr r = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  CHECK_EQ(recvmsg(sv[1], &r, 0), 1);
  c = CMSG_FIRSTHDR(&r);
  CHECK(c != NULL);
  CHECK_EQ(c->cmsg_type, SCM_RIGHTS);
  CHECK_EQ(c->cmsg_len, CMSG_LEN(3 * sizeof(int)));
  int got[3];
  memcpy(got, CMSG_DATA(c), sizeof got);
  for (int i = 0; i < 3; i++) {
    CHECK(got[i] >= 0);
    /* new descriptors, not the sender's numbers */
    for (int j = 0; j < 3; j++) CHECK(got[i] != fds[j]);
    CHECK_EQ(fcntl(got[i], F_GETFD), 0);
  }
}

TEST(scm_credentials_with_so_passcred) {
  int sv[2];
  xsocketpair(SOCK_DGRAM, sv);
  int on = 1;
  CHECK_OK(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  int v = 0;
  socklen_t len = sizeof v;
  CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &v, &len));
  CHECK_EQ(v, 1);
  pid_t pid = xfork();
  if (pid == 0) {
    /* no credentials attached explicitly: the kernel adds the sender's */
    CHILD_CHECK(send(sv[1], "c", 1, 0) == 1);
    _exit(0);
  }
  expect_exit(pid, 0);
  char byte;
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(struct ucred))];
  } u;
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  CHECK_EQ(recvmsg(sv[0], &m, 0), 1);
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  CHECK(c != NULL);
  CHECK_EQ(c->cmsg_level, SOL_SOCKET);
  CHECK_EQ(c->cmsg_type, SCM_CREDENTIALS);
  struct ucred cr;
  memcpy(&cr, CMSG_DATA(c), sizeof cr);
  CHECK_EQ(cr.pid, pid);
  CHECK_EQ(cr.uid, getuid());
  CHECK_EQ(cr.gid, getgid());
}

TEST(scm_credentials_explicit_own_values) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  int on = 1;
  CHECK_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  char byte = 'e';
  struct iovec iov = {&byte, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(struct ucred))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
  struct ucred mine = {getpid(), getuid(), getgid()};
  memcpy(CMSG_DATA(c), &mine, sizeof mine);
  CHECK_EQ(sendmsg(sv[0], &m, 0), 1);
  memset(&u, 0, sizeof u);
  struct msghdr r = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  CHECK_EQ(recvmsg(sv[1], &r, 0), 1);
  c = CMSG_FIRSTHDR(&r);
  CHECK(c != NULL && c->cmsg_type == SCM_CREDENTIALS);
  struct ucred got;
  memcpy(&got, CMSG_DATA(c), sizeof got);
  CHECK_EQ(got.pid, getpid());
  CHECK_EQ(got.uid, getuid());
}

TEST(so_peercred_socketpair_and_connected_child) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  struct ucred cr;
  socklen_t len = sizeof cr;
  CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &len));
  CHECK_EQ(len, sizeof cr);
  CHECK_EQ(cr.pid, getpid());
  CHECK_EQ(cr.uid, getuid());
  CHECK_EQ(cr.gid, getgid());
  /* a connection made by a child carries the child's credentials */
  struct sockaddr_un a;
  socklen_t alen = abstract_addr(&a, "peercred");
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_OK(bind(srv, (struct sockaddr *)&a, alen));
  CHECK_OK(listen(srv, 1));
  int done[2];
  xpipe(done);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(done[1]);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHILD_CHECK(connect(c, (struct sockaddr *)&a, alen) == 0);
    struct ucred s;
    socklen_t l = sizeof s;
    /* the client sees the listener's credentials */
    CHILD_CHECK(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &s, &l) == 0);
    CHILD_CHECK(s.pid == getppid());
    get1(done[0]);
    _exit(0);
  }
  int acc = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
  CHECK(acc >= 0);
  len = sizeof cr;
  CHECK_OK(getsockopt(acc, SOL_SOCKET, SO_PEERCRED, &cr, &len));
  CHECK_EQ(cr.pid, pid);
  CHECK_EQ(cr.uid, getuid());
  close(done[1]);
  expect_exit(pid, 0);
}

TEST(msg_peek_leaves_data) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  CHECK_EQ(write(sv[0], "peekaboo", 8), 8);
  char buf[16];
  CHECK_EQ(recv(sv[1], buf, 4, MSG_PEEK), 4);
  CHECK(memcmp(buf, "peek", 4) == 0);
  CHECK_EQ(recv(sv[1], buf, sizeof buf, MSG_PEEK), 8);
  CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 8);
  CHECK(memcmp(buf, "peekaboo", 8) == 0);
  /* for datagrams, peeking does not consume the message either */
  int dv[2];
  xsocketpair(SOCK_DGRAM, dv);
  CHECK_EQ(send(dv[0], "dg", 2, 0), 2);
  CHECK_EQ(recv(dv[1], buf, sizeof buf, MSG_PEEK), 2);
  CHECK_EQ(recv(dv[1], buf, sizeof buf, 0), 2);
  CHECK_ERRNO(recv(dv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
}

TEST(msg_dontwait_eagain) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  char buf[4];
  /* a blocking socket, one non-blocking call */
  CHECK_EQ(fcntl(sv[1], F_GETFL) & O_NONBLOCK, 0);
  CHECK_ERRNO(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  /* fill the send side until it would block */
  static char big[65536];
  long total = 0;
  for (int i = 0; i < 10000; i++) {
    long r = send(sv[0], big, sizeof big, MSG_DONTWAIT);
    if (r < 0) {
      CHECK_EQ(errno, EAGAIN);
      break;
    }
    total += r;
  }
  CHECK(total > 0);
  CHECK_ERRNO(send(sv[0], big, sizeof big, MSG_DONTWAIT), EAGAIN);
}

TEST(msg_nosignal_epipe_without_sigpipe) {
  uint64_t old = raw_mask();
  block_sig(SIGPIPE);
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  close(sv[1]);
  CHECK_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
  CHECK(!(raw_pending() & SIGBIT(SIGPIPE)));
  /* without the flag the writer also gets SIGPIPE */
  CHECK_ERRNO(send(sv[0], "x", 1, 0), EPIPE);
  CHECK(raw_pending() & SIGBIT(SIGPIPE));
  signal(SIGPIPE, SIG_IGN);
  raw_setmask(old);
  signal(SIGPIPE, SIG_DFL);
}

TEST(so_rcvbuf_sndbuf) {
  int sv[2];
  xsocketpair(SOCK_STREAM, sv);
  int v = 0;
  socklen_t len = sizeof v;
  CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &len));
  CHECK(v > 0);
  CHECK_EQ(len, sizeof v);
  v = 0;
  CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &len));
  CHECK(v > 0);
  /* the kernel doubles what is set, for its own bookkeeping */
  int want = 65536;
  CHECK_OK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &want, sizeof want));
  CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &len));
  CHECK_EQ(v, 2 * want);
}

TEST(dgram_sendto_bound_paths) {
  struct sockaddr_un a, b;
  socklen_t alen = path_addr(&a, P("a")), blen = path_addr(&b, P("b"));
  int sa = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int sb = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK_OK(bind(sa, (struct sockaddr *)&a, alen));
  CHECK_OK(bind(sb, (struct sockaddr *)&b, blen));
  CHECK_EQ(sendto(sa, "to b", 4, 0, (struct sockaddr *)&b, blen), 4);
  char buf[8];
  struct sockaddr_un from;
  socklen_t flen = sizeof from;
  CHECK_EQ(recvfrom(sb, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 4);
  CHECK(memcmp(buf, "to b", 4) == 0);
  CHECK(strcmp(from.sun_path, P("a")) == 0);
  /* an unconnected datagram socket needs an address */
  CHECK_ERRNO(send(sa, "x", 1, 0), ENOTCONN);
  /* sending to a path with nobody bound */
  struct sockaddr_un c;
  socklen_t clen = path_addr(&c, P("c"));
  CHECK_ERRNO(sendto(sa, "x", 1, 0, (struct sockaddr *)&c, clen), ENOENT);
}
