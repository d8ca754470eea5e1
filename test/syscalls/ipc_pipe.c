//go:build ignore

/*
 * ipc_pipe.c - pipes and FIFOs between processes: pipe and pipe2 (O_CLOEXEC,
 * O_NONBLOCK), the 64 KiB default capacity and F_GETPIPE_SZ/F_SETPIPE_SZ,
 * atomic writes of up to PIPE_BUF bytes from concurrent writers, partial and
 * refused non-blocking writes, end of file once every write end is closed,
 * EPIPE, FIONREAD, and FIFOs opened by a parent and a child.
 *
 * Follows pipe(2) (DESCRIPTION: pipe2 flags; ERRORS: EINVAL), pipe(7) ("Pipe
 * capacity": 65536 bytes since Linux 2.6.11; "PIPE_BUF": writes of up to
 * 4096 bytes are atomic, and the O_NONBLOCK rules for n <= PIPE_BUF and
 * n > PIPE_BUF; "I/O on pipes and FIFOs": EOF, SIGPIPE/EPIPE), fcntl(2)
 * ("Changing the capacity of a pipe": F_SETPIPE_SZ may round up, EBUSY when
 * the data does not fit), fifo(7) and open(2) (FIFO: a non-blocking open for
 * reading succeeds, for writing without a reader fails with ENXIO; a blocking
 * open waits for the other end), ioctl(2) FIONREAD (see ioctl_list) and
 * read(2)/write(2) (EBADF on the wrong end).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/fsutil.h"

#include <limits.h>
#include <poll.h>
#include <sys/ioctl.h>

/* readable_now: a read would not block (data, or POLLHUP: no writers left) */
static int readable_now(int fd) {
  struct pollfd pf = {fd, POLLIN, 0};
  return poll(&pf, 1, 0) == 1 && (pf.revents & (POLLIN | POLLHUP));
}

TEST(pipe_write_then_read) {
  int p[2];
  CHECK_EQ(syscall(SYS_pipe, p), 0);
  CHECK(p[0] >= 0 && p[1] >= 0 && p[0] != p[1]);
  CHECK_EQ(write(p[1], "hello", 5), 5);
  char buf[16];
  CHECK_EQ(read(p[0], buf, sizeof buf), 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  /* fresh pipe ends: blocking, not close-on-exec, read-only and write-only */
  CHECK_EQ(fcntl(p[0], F_GETFD), 0);
  CHECK_EQ(fcntl(p[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
  CHECK_EQ(fcntl(p[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
  close(p[0]);
  close(p[1]);
}

TEST(pipe_read_returns_what_is_there) {
  int p[2];
  xpipe(p);
  CHECK_EQ(write(p[1], "abc", 3), 3);
  CHECK_EQ(write(p[1], "de", 2), 2);
  char buf[100];
  /* a read takes what is available without waiting for the full count */
  CHECK_EQ(read(p[0], buf, sizeof buf), 5);
  CHECK(memcmp(buf, "abcde", 5) == 0);
  CHECK_EQ(write(p[1], "xyz", 3), 3);
  CHECK_EQ(read(p[0], buf, 2), 2);
  CHECK_EQ(read(p[0], buf + 2, 10), 1);
  CHECK(memcmp(buf, "xyz", 3) == 0);
}

TEST(pipe2_cloexec) {
  int p[2];
  CHECK_EQ(syscall(SYS_pipe2, p, O_CLOEXEC), 0);
  CHECK_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
  CHECK_EQ(fcntl(p[1], F_GETFD), FD_CLOEXEC);
  CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
}

TEST(pipe2_nonblock_read_eagain) {
  int p[2];
  CHECK_EQ(syscall(SYS_pipe2, p, O_NONBLOCK | O_CLOEXEC), 0);
  CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
  CHECK(fcntl(p[1], F_GETFL) & O_NONBLOCK);
  char c;
  CHECK_ERRNO(read(p[0], &c, 1), EAGAIN);
  CHECK_EQ(write(p[1], "q", 1), 1);
  CHECK_EQ(read(p[0], &c, 1), 1);
  CHECK_EQ(c, 'q');
  CHECK_ERRNO(read(p[0], &c, 1), EAGAIN);
  /* with no writer left it is EOF, not EAGAIN */
  close(p[1]);
  CHECK_EQ(read(p[0], &c, 1), 0);
}

TEST(pipe2_bad_flags_einval) {
  int p[2] = {-1, -1};
  CHECK_ERRNO(syscall(SYS_pipe2, p, O_RDWR), EINVAL);
  CHECK_ERRNO(syscall(SYS_pipe2, p, O_APPEND), EINVAL);
  CHECK_ERRNO(syscall(SYS_pipe2, p, 0x40000000), EINVAL);
  CHECK_ERRNO(syscall(SYS_pipe2, NULL, 0), EFAULT);
}

TEST(pipe_default_capacity_64k) {
  int p[2];
  CHECK_EQ(syscall(SYS_pipe2, p, O_NONBLOCK | O_CLOEXEC), 0);
  CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
  CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
  static char buf[4096];
  memset(buf, 'z', sizeof buf);
  long total = 0;
  for (;;) {
    long r = write(p[1], buf, sizeof buf);
    if (r < 0) {
      CHECK_EQ(errno, EAGAIN);
      break;
    }
    total += r;
    CHECK(total <= 65536);
  }
  CHECK_EQ(total, 65536);
  int n = -1;
  CHECK_OK(ioctl(p[0], FIONREAD, &n));
  CHECK_EQ(n, 65536);
  /* a one-byte write does not fit either */
  CHECK_ERRNO(write(p[1], buf, 1), EAGAIN);
  /* reading a page makes room for a page */
  CHECK_EQ(read(p[0], buf, 4096), 4096);
  CHECK_EQ(write(p[1], buf, 4096), 4096);
}

TEST(pipe_setpipe_sz) {
  int p[2];
  xpipe(p);
  long sz = fcntl(p[1], F_SETPIPE_SZ, 100000);
  /* rounded up, never down */
  CHECK(sz >= 100000);
  CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), sz);
  CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), sz);
  CHECK_EQ(fcntl(p[0], F_SETPIPE_SZ, 4096), 4096);
  CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 4096);
  /* cannot shrink below what the pipe holds */
  CHECK_EQ(fcntl(p[1], F_SETPIPE_SZ, 65536), 65536);
  static char buf[20000];
  CHECK_EQ(write(p[1], buf, sizeof buf), sizeof buf);
  CHECK_ERRNO(fcntl(p[1], F_SETPIPE_SZ, 4096), EBUSY);
  CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
}

TEST(pipe_getpipe_sz_on_non_pipe_ebadf) {
  put_file(P("f"), "x", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_ERRNO(fcntl(fd, F_GETPIPE_SZ), EBADF);
  CHECK_ERRNO(fcntl(fd, F_SETPIPE_SZ, 65536), EBADF);
  close(fd);
}

TEST(pipe_buf_writes_atomic_between_two_children) {
  CHECK_EQ(PIPE_BUF, 4096);
  enum { CHUNKS = 48, SZ = 4096 };
  int p[2];
  xpipe(p);
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = xfork();
    if (kids[k] == 0) {
      child_guard(20);
      close(p[0]);
      static char chunk[SZ];
      memset(chunk, k ? 'B' : 'A', sizeof chunk);
      for (int i = 0; i < CHUNKS; i++) {
        chunk[0] = (char)i; /* each chunk numbered in its first byte */
        CHILD_CHECK(write(p[1], chunk, SZ) == SZ);
      }
      _exit(0);
    }
  }
  close(p[1]);
  static char all[2 * CHUNKS * SZ + 1];
  long n = read_all(p[0], all, sizeof all);
  CHECK_EQ(n, 2 * CHUNKS * SZ);
  expect_exit(kids[0], 0);
  expect_exit(kids[1], 0);
  /* every 4096-byte block came from one write: one writer, in order */
  int next[2] = {0, 0};
  for (long off = 0; off < n; off += SZ) {
    char who = all[off + 1];
    if (who != 'A' && who != 'B') FAILF("block at %ld starts with %d", off, who);
    int k = who == 'B';
    for (long i = off + 1; i < off + SZ; i++)
      if (all[i] != who) FAILF("block at %ld mixes writers at byte %ld", off, i);
    CHECK_EQ(all[off], next[k]);
    next[k]++;
  }
  CHECK_EQ(next[0], CHUNKS);
  CHECK_EQ(next[1], CHUNKS);
}

TEST(pipe_nonblock_small_write_all_or_nothing) {
  int p[2];
  CHECK_EQ(syscall(SYS_pipe2, p, O_NONBLOCK | O_CLOEXEC), 0);
  static char buf[65536];
  /* leave 1000 bytes of room */
  CHECK_EQ(write(p[1], buf, 65536 - 1000), 65536 - 1000);
  /* n <= PIPE_BUF without room for all n: nothing written */
  CHECK_ERRNO(write(p[1], buf, 4096), EAGAIN);
  int n = -1;
  CHECK_OK(ioctl(p[0], FIONREAD, &n));
  CHECK_EQ(n, 65536 - 1000);
}

TEST(pipe_nonblock_large_write_partial) {
  int p[2];
  CHECK_EQ(syscall(SYS_pipe2, p, O_NONBLOCK | O_CLOEXEC), 0);
  static char buf[65536];
  CHECK_EQ(write(p[1], buf, 65536 - 8192), 65536 - 8192);
  /* n > PIPE_BUF: from 1 to n bytes, as many as fit */
  long r = write(p[1], buf, 20000);
  CHECK(r >= 1 && r < 20000);
  int n = -1;
  CHECK_OK(ioctl(p[0], FIONREAD, &n));
  CHECK_EQ(n, 65536 - 8192 + r);
  /* and with the pipe full, EAGAIN */
  for (;;) {
    r = write(p[1], buf, 20000);
    if (r < 0) break;
  }
  CHECK_EQ(errno, EAGAIN);
}

TEST(pipe_blocking_write_larger_than_capacity) {
  int p[2];
  xpipe(p);
  enum { N = 200000 };
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(p[0]);
    static char buf[N];
    for (int i = 0; i < N; i++) buf[i] = (char)(i % 251);
    /* blocks until the parent has read enough, then completes in full */
    CHILD_CHECK(write(p[1], buf, N) == N);
    _exit(0);
  }
  close(p[1]);
  static char got[N + 1];
  CHECK_EQ(read_all(p[0], got, sizeof got), N);
  for (int i = 0; i < N; i++)
    if (got[i] != (char)(i % 251)) FAILF("byte %d is %d", i, got[i]);
  expect_exit(pid, 0);
}

TEST(pipe_eof_after_all_writers_close) {
  int p[2];
  xpipe(p);
  int w2 = dup(p[1]);
  CHECK(w2 >= 0);
  CHECK_EQ(write(w2, "x", 1), 1);
  close(p[1]);
  char c;
  CHECK_EQ(read(p[0], &c, 1), 1);
  /* one write end is still open: no EOF, nothing readable */
  CHECK(!readable_now(p[0]));
  close(w2);
  CHECK(readable_now(p[0]));
  CHECK_EQ(read(p[0], &c, 1), 0);
  CHECK_EQ(read(p[0], &c, 1), 0);
}

TEST(pipe_eof_when_child_writer_exits) {
  int p[2];
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) {
    close(p[0]);
    CHILD_CHECK(write(p[1], "from child", 10) == 10);
    _exit(0); /* closes the last write end */
  }
  close(p[1]);
  char buf[32];
  CHECK_EQ(read_all(p[0], buf, sizeof buf), 10);
  CHECK(memcmp(buf, "from child", 10) == 0);
  char c;
  CHECK_EQ(read(p[0], &c, 1), 0);
  expect_exit(pid, 0);
}

TEST(pipe_reader_blocks_until_child_writes) {
  int p[2], go[2];
  xpipe(p);
  xpipe(go);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    CHILD_CHECK(get1(go[0]) == 'g');
    CHILD_CHECK(write(p[1], "late", 4) == 4);
    _exit(0);
  }
  put1(go[1], 'g');
  char buf[8];
  CHECK_EQ(read(p[0], buf, sizeof buf), 4);
  CHECK(memcmp(buf, "late", 4) == 0);
  expect_exit(pid, 0);
}

TEST(pipe_write_without_reader_epipe) {
  uint64_t old = raw_mask();
  block_sig(SIGPIPE);
  int p[2];
  xpipe(p);
  close(p[0]);
  CHECK_ERRNO(write(p[1], "x", 1), EPIPE);
  CHECK(raw_pending() & SIGBIT(SIGPIPE));
  signal(SIGPIPE, SIG_IGN); /* discards the pending one */
  CHECK(!(raw_pending() & SIGBIT(SIGPIPE)));
  raw_setmask(old);
  CHECK_ERRNO(write(p[1], "x", 1), EPIPE);
  signal(SIGPIPE, SIG_DFL);
}

TEST(pipe_reader_closed_in_child_epipe) {
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) _exit(0); /* takes its copies of both ends with it */
  expect_exit(pid, 0);
  CHECK_EQ(write(p[1], "a", 1), 1); /* our read end is still open */
  close(p[0]);
  CHECK_ERRNO(write(p[1], "b", 1), EPIPE);
  signal(SIGPIPE, SIG_DFL);
}

TEST(pipe_fionread) {
  int p[2];
  xpipe(p);
  int n = -1;
  CHECK_OK(ioctl(p[0], FIONREAD, &n));
  CHECK_EQ(n, 0);
  static char buf[123];
  CHECK_EQ(write(p[1], buf, sizeof buf), sizeof buf);
  CHECK_OK(ioctl(p[0], FIONREAD, &n));
  CHECK_EQ(n, 123);
  CHECK_EQ(read(p[0], buf, 23), 23);
  CHECK_OK(ioctl(p[0], FIONREAD, &n));
  CHECK_EQ(n, 100);
}

TEST(pipe_wrong_end_ebadf) {
  int p[2];
  xpipe(p);
  char c = 'x';
  CHECK_ERRNO(write(p[0], &c, 1), EBADF);
  CHECK_ERRNO(read(p[1], &c, 1), EBADF);
  CHECK_ERRNO(lseek(p[0], 0, SEEK_CUR), ESPIPE);
}

TEST(fifo_between_parent_and_child) {
  CHECK_OK(mkfifo(P("fifo"), 0600));
  struct stat st;
  xstat(P("fifo"), &st);
  CHECK(S_ISFIFO(st.st_mode));
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    /* blocks until the parent opens for reading */
    int fd = open(P("fifo"), O_WRONLY);
    CHILD_CHECK(fd >= 0);
    CHILD_CHECK(write(fd, "through the fifo", 16) == 16);
    _exit(0);
  }
  int fd = open(P("fifo"), O_RDONLY);
  CHECK(fd >= 0);
  char buf[32];
  CHECK_EQ(read_all(fd, buf, sizeof buf), 16);
  CHECK(memcmp(buf, "through the fifo", 16) == 0);
  close(fd);
  expect_exit(pid, 0);
}

TEST(fifo_nonblocking_opens) {
  CHECK_OK(mkfifo(P("fifo"), 0600));
  /* for writing with no reader: ENXIO */
  CHECK_ERRNO(open(P("fifo"), O_WRONLY | O_NONBLOCK), ENXIO);
  /* for reading: succeeds at once */
  int r = open(P("fifo"), O_RDONLY | O_NONBLOCK);
  CHECK(r >= 0);
  char c;
  /* no writer has ever opened it: read returns EOF */
  CHECK_EQ(read(r, &c, 1), 0);
  int w = open(P("fifo"), O_WRONLY | O_NONBLOCK);
  CHECK(w >= 0);
  CHECK_ERRNO(read(r, &c, 1), EAGAIN);
  CHECK_EQ(write(w, "k", 1), 1);
  CHECK_EQ(read(r, &c, 1), 1);
  CHECK_EQ(c, 'k');
  close(w);
  close(r);
}

TEST(fifo_rdwr_open_does_not_block) {
  CHECK_OK(mkfifo(P("fifo"), 0600));
  int fd = open(P("fifo"), O_RDWR);
  CHECK(fd >= 0);
  CHECK_EQ(write(fd, "rw", 2), 2);
  char buf[2];
  CHECK_EQ(read(fd, buf, 2), 2);
  CHECK(memcmp(buf, "rw", 2) == 0);
  close(fd);
}
