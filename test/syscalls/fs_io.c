//go:build ignore

/*
 * fs_io.c - reading and writing regular files: lseek (SEEK_SET/CUR/END,
 * SEEK_DATA/SEEK_HOLE), read/write at EOF and past it, pread/pwrite,
 * readv/writev, truncate/ftruncate, fallocate, fsync/fdatasync/sync/syncfs,
 * sendfile, copy_file_range, fcntl F_GETFL/F_SETFL and the ioctls FIONREAD,
 * FIOCLEX and FIONCLEX, in a scratch directory under /tmp.
 *
 * Follows lseek(2) (DESCRIPTION: seeking past the end and holes, SEEK_DATA and
 * SEEK_HOLE; ERRORS: EINVAL, ENXIO, ESPIPE), read(2), write(2), pread(2) ("the
 * file offset is not changed"; BUGS: pwrite on an O_APPEND file appends;
 * ERRORS: ESPIPE, EINVAL), readv(2), truncate(2) (growing reads as null bytes;
 * ERRORS: EINVAL for a negative length or a descriptor not open for writing,
 * EISDIR), fallocate(2) (mode 0, FALLOC_FL_KEEP_SIZE; ERRORS: EINVAL, EBADF,
 * ESPIPE), fsync(2) (ERRORS: EBADF, EINVAL for a pipe), sync(2), sendfile(2)
 * (offset NULL or not; EINVAL for an O_APPEND out_fd), copy_file_range(2)
 * (offsets; ERRORS: EINVAL for flags and overlap, EBADF for O_APPEND),
 * fcntl(2) ("File status flags") and ioctl_list(2)/ioctl(2) (FIONREAD,
 * FIOCLEX, FIONCLEX).
 *
 * The calls under test are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <linux/falloc.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

static long xlseek(int fd, long off, int whence) { return syscall(SYS_lseek, fd, off, whence); }
static long xread(int fd, void *b, long n) { return syscall(SYS_read, fd, b, n); }
static long xwrite(int fd, const void *b, long n) { return syscall(SYS_write, fd, b, n); }

static int file_with(const char *name, const char *data) {
  put_file(P(name), data, 0644);
  return must_open(P(name), O_RDWR, 0);
}

static int all_zero(const char *p, long n) {
  for (long i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static long fsize(int fd) {
  struct stat st;
  if (syscall(SYS_fstat, fd, &st) != 0) FAILF("fstat: %s", strerror(errno));
  return st.st_size;
}

TEST(lseek_set_cur_end) {
  int fd = file_with("f", "0123456789");
  CHECK_EQ(xlseek(fd, 0, SEEK_CUR), 0);
  CHECK_EQ(xlseek(fd, 3, SEEK_SET), 3);
  char c;
  CHECK_EQ(xread(fd, &c, 1), 1);
  CHECK_EQ(c, '3');
  CHECK_EQ(xlseek(fd, 2, SEEK_CUR), 6);
  CHECK_EQ(xread(fd, &c, 1), 1);
  CHECK_EQ(c, '6');
  CHECK_EQ(xlseek(fd, -1, SEEK_CUR), 6);
  CHECK_EQ(xlseek(fd, 0, SEEK_END), 10);
  CHECK_EQ(xlseek(fd, -2, SEEK_END), 8);
  CHECK_EQ(xread(fd, &c, 1), 1);
  CHECK_EQ(c, '8');
  close(fd);
}

TEST(lseek_negative_and_bad_whence_einval) {
  int fd = file_with("f", "0123456789");
  CHECK_EQ(xlseek(fd, 4, SEEK_SET), 4);
  CHECK_ERRNO(xlseek(fd, -1, SEEK_SET), EINVAL);
  CHECK_ERRNO(xlseek(fd, -5, SEEK_CUR), EINVAL);
  CHECK_ERRNO(xlseek(fd, -11, SEEK_END), EINVAL);
  CHECK_ERRNO(xlseek(fd, 0, 17), EINVAL);
  /* a failed lseek leaves the offset alone */
  CHECK_EQ(xlseek(fd, 0, SEEK_CUR), 4);
  CHECK_ERRNO(xlseek(-1, 0, SEEK_SET), EBADF);
  close(fd);
}

TEST(lseek_past_end_then_write_leaves_zero_hole) {
  int fd = file_with("f", "ab");
  CHECK_EQ(xlseek(fd, 100, SEEK_SET), 100);
  /* seeking alone does not change the size */
  CHECK_EQ(fsize(fd), 2);
  char c;
  CHECK_EQ(xread(fd, &c, 1), 0);
  CHECK_EQ(xwrite(fd, "z", 1), 1);
  CHECK_EQ(fsize(fd), 101);
  char buf[128];
  CHECK_EQ(syscall(SYS_pread64, fd, buf, sizeof buf, 0), 101);
  CHECK(buf[0] == 'a' && buf[1] == 'b');
  CHECK(all_zero(buf + 2, 98));
  CHECK_EQ(buf[100], 'z');
  close(fd);
}

TEST(lseek_seek_data_and_hole_basic) {
  int fd = file_with("f", "0123456789");
  CHECK_EQ(xlseek(fd, 0, SEEK_DATA), 0);
  CHECK_EQ(xlseek(fd, 4, SEEK_DATA), 4);
  /* there is an implicit hole at the end of every file */
  CHECK_EQ(xlseek(fd, 0, SEEK_HOLE), 10);
  CHECK_EQ(xlseek(fd, 5, SEEK_HOLE), 10);
  CHECK_ERRNO(xlseek(fd, 11, SEEK_DATA), ENXIO);
  CHECK_ERRNO(xlseek(fd, 11, SEEK_HOLE), ENXIO);
  close(fd);
}

TEST(lseek_on_pipe_espipe) {
  scratch();
  int p[2];
  CHECK_OK(pipe(p));
  CHECK_ERRNO(xlseek(p[0], 0, SEEK_SET), ESPIPE);
  CHECK_ERRNO(xlseek(p[1], 0, SEEK_CUR), ESPIPE);
  char c;
  CHECK_ERRNO(syscall(SYS_pread64, p[0], &c, 1, 0), ESPIPE);
  CHECK_ERRNO(syscall(SYS_pwrite64, p[1], "x", 1, 0), ESPIPE);
  close(p[0]);
  close(p[1]);
}

TEST(read_write_advance_offset_and_eof) {
  int fd = file_with("f", "");
  CHECK_EQ(xwrite(fd, "hello world", 11), 11);
  CHECK_EQ(xlseek(fd, 0, SEEK_CUR), 11);
  char buf[32];
  CHECK_EQ(xread(fd, buf, sizeof buf), 0);
  CHECK_EQ(xlseek(fd, 6, SEEK_SET), 6);
  /* a read asking for more than there is returns what there is */
  CHECK_EQ(xread(fd, buf, sizeof buf), 5);
  CHECK(memcmp(buf, "world", 5) == 0);
  CHECK_EQ(xread(fd, buf, sizeof buf), 0);
  CHECK_EQ(xread(fd, buf, 0), 0);
  close(fd);
}

TEST(pread_pwrite_do_not_move_offset) {
  int fd = file_with("f", "abcdefgh");
  CHECK_EQ(xlseek(fd, 2, SEEK_SET), 2);
  char buf[8] = {0};
  CHECK_EQ(syscall(SYS_pread64, fd, buf, 3, 5), 3);
  CHECK(memcmp(buf, "fgh", 3) == 0);
  CHECK_EQ(xlseek(fd, 0, SEEK_CUR), 2);
  CHECK_EQ(syscall(SYS_pwrite64, fd, "XY", 2, 0), 2);
  CHECK_EQ(xlseek(fd, 0, SEEK_CUR), 2);
  /* pread past the end reads nothing; pwrite past it extends the file */
  CHECK_EQ(syscall(SYS_pread64, fd, buf, 3, 100), 0);
  CHECK_EQ(syscall(SYS_pwrite64, fd, "!", 1, 20), 1);
  CHECK_EQ(fsize(fd), 21);
  CHECK_EQ(xread(fd, buf, 2), 2);
  CHECK(memcmp(buf, "cd", 2) == 0);
  char all[32];
  CHECK_EQ(syscall(SYS_pread64, fd, all, sizeof all, 0), 21);
  CHECK(memcmp(all, "XYcdefgh", 8) == 0);
  CHECK(all_zero(all + 8, 12));
  CHECK_ERRNO(syscall(SYS_pread64, fd, buf, 1, (long)-1), EINVAL);
  CHECK_ERRNO(syscall(SYS_pwrite64, fd, "x", 1, (long)-1), EINVAL);
  close(fd);
}

TEST(pwrite_on_append_file_appends) {
  put_file(P("f"), "base", 0644);
  int fd = must_open(P("f"), O_RDWR | O_APPEND, 0);
  CHECK_EQ(syscall(SYS_pwrite64, fd, "+", 1, 0), 1);
  char buf[16];
  CHECK_EQ(slurp(P("f"), buf, sizeof buf), 5);
  CHECK(strcmp(buf, "base+") == 0);
  close(fd);
}

TEST(readv_writev_scatter_gather) {
  int fd = file_with("f", "");
  struct iovec w[3] = {{"one", 3}, {"", 0}, {"two!", 4}};
  CHECK_EQ(syscall(SYS_writev, fd, w, 3), 7);
  CHECK_EQ(xlseek(fd, 0, SEEK_SET), 0);
  char a[2], b[10];
  memset(b, 0, sizeof b);
  struct iovec r[2] = {{a, 2}, {b, sizeof b}};
  CHECK_EQ(syscall(SYS_readv, fd, r, 2), 7);
  CHECK(memcmp(a, "on", 2) == 0);
  CHECK(strcmp(b, "etwo!") == 0);
  /* preadv/pwritev take an offset and leave the file offset alone */
  struct iovec pw[1] = {{"ONE", 3}};
  CHECK_EQ(syscall(SYS_pwritev, fd, pw, 1, 0, 0), 3);
  memset(b, 0, sizeof b);
  struct iovec pr[1] = {{b, 4}};
  CHECK_EQ(syscall(SYS_preadv, fd, pr, 1, 1, 0), 4);
  CHECK(strcmp(b, "NEtw") == 0);
  CHECK_EQ(xlseek(fd, 0, SEEK_CUR), 7);
  close(fd);
}

TEST(truncate_grow_reads_zeros) {
  put_file(P("f"), "abc", 0644);
  CHECK_EQ(syscall(SYS_truncate, P("f"), 5000), 0);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_size, 5000);
  static char buf[6000];
  CHECK_EQ(slurp(P("f"), buf, sizeof buf), 5000);
  CHECK(memcmp(buf, "abc", 3) == 0);
  CHECK(all_zero(buf + 3, 4997));
}

TEST(ftruncate_shrink_and_regrow_zeroes_tail) {
  int fd = file_with("f", "0123456789");
  CHECK_EQ(syscall(SYS_ftruncate, fd, 4), 0);
  CHECK_EQ(fsize(fd), 4);
  /* the offset is not changed by truncation */
  CHECK_EQ(xlseek(fd, 0, SEEK_CUR), 0);
  char buf[16];
  CHECK_EQ(xread(fd, buf, sizeof buf), 4);
  CHECK(memcmp(buf, "0123", 4) == 0);
  /* growing again brings back zeros, not the old bytes */
  CHECK_EQ(syscall(SYS_ftruncate, fd, 8), 0);
  CHECK_EQ(syscall(SYS_pread64, fd, buf, sizeof buf, 0), 8);
  CHECK(memcmp(buf, "0123", 4) == 0);
  CHECK(all_zero(buf + 4, 4));
  CHECK_EQ(syscall(SYS_ftruncate, fd, 0), 0);
  CHECK_EQ(fsize(fd), 0);
  close(fd);
}

TEST(truncate_errors) {
  put_file(P("f"), "abc", 0644);
  CHECK_ERRNO(syscall(SYS_truncate, P("f"), (long)-1), EINVAL);
  CHECK_ERRNO(syscall(SYS_truncate, scratch(), 0), EISDIR);
  CHECK_ERRNO(syscall(SYS_truncate, P("missing"), 0), ENOENT);
  int fd = must_open(P("f"), O_RDONLY, 0);
  /* not open for writing: "EBADF or EINVAL" */
  errno = 0;
  CHECK_EQ(syscall(SYS_ftruncate, fd, 0), -1);
  CHECK(errno == EINVAL || errno == EBADF);
  close(fd);
  fd = must_open(P("f"), O_RDWR, 0);
  CHECK_ERRNO(syscall(SYS_ftruncate, fd, (long)-1), EINVAL);
  close(fd);
  CHECK_ERRNO(syscall(SYS_ftruncate, -1, 0), EBADF);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_size, 3);
}

TEST(fallocate_mode0_grows_size) {
  int fd = file_with("f", "xy");
  CHECK_EQ(syscall(SYS_fallocate, fd, 0, 0, 8192), 0);
  CHECK_EQ(fsize(fd), 8192);
  static char buf[8192];
  CHECK_EQ(syscall(SYS_pread64, fd, buf, sizeof buf, 0), 8192);
  CHECK(buf[0] == 'x' && buf[1] == 'y');
  CHECK(all_zero(buf + 2, 8190));
  /* a range inside the file changes nothing visible */
  CHECK_EQ(syscall(SYS_fallocate, fd, 0, 0, 100), 0);
  CHECK_EQ(fsize(fd), 8192);
  CHECK_EQ(syscall(SYS_pread64, fd, buf, 2, 0), 2);
  CHECK(buf[0] == 'x' && buf[1] == 'y');
  close(fd);
}

TEST(fallocate_keep_size_and_errors) {
  int fd = file_with("f", "abc");
  CHECK_EQ(syscall(SYS_fallocate, fd, FALLOC_FL_KEEP_SIZE, 0, 65536), 0);
  CHECK_EQ(fsize(fd), 3);
  CHECK_ERRNO(syscall(SYS_fallocate, fd, 0, 0, 0), EINVAL);
  CHECK_ERRNO(syscall(SYS_fallocate, fd, 0, (long)-1, 10), EINVAL);
  CHECK_ERRNO(syscall(SYS_fallocate, fd, 0, 0, (long)-10), EINVAL);
  close(fd);
  fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_ERRNO(syscall(SYS_fallocate, fd, 0, 0, 10), EBADF);
  close(fd);
  int p[2];
  CHECK_OK(pipe(p));
  CHECK_ERRNO(syscall(SYS_fallocate, p[1], 0, 0, 10), ESPIPE);
  close(p[0]);
  close(p[1]);
}

TEST(fsync_fdatasync_sync_syncfs_return_zero) {
  int fd = file_with("f", "durable");
  CHECK_EQ(syscall(SYS_fsync, fd), 0);
  CHECK_EQ(syscall(SYS_fdatasync, fd), 0);
  CHECK_EQ(syscall(SYS_sync), 0);
  CHECK_EQ(syscall(SYS_syncfs, fd), 0);
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_fsync, dfd), 0);
  close(dfd);
  close(fd);
  CHECK_ERRNO(syscall(SYS_fsync, -1), EBADF);
  CHECK_ERRNO(syscall(SYS_fdatasync, -1), EBADF);
  CHECK_ERRNO(syscall(SYS_syncfs, -1), EBADF);
}

TEST(fsync_on_pipe_einval) {
  scratch();
  int p[2];
  CHECK_OK(pipe(p));
  CHECK_ERRNO(syscall(SYS_fsync, p[1]), EINVAL);
  CHECK_ERRNO(syscall(SYS_fdatasync, p[0]), EINVAL);
  close(p[0]);
  close(p[1]);
}

TEST(sendfile_file_to_file_moves_offsets) {
  int in = file_with("in", "sendfile payload");
  int out = file_with("out", "");
  CHECK_EQ(xlseek(in, 9, SEEK_SET), 9);
  CHECK_EQ(syscall(SYS_sendfile, out, in, NULL, 100), 7);
  CHECK_EQ(xlseek(in, 0, SEEK_CUR), 16);
  CHECK_EQ(xlseek(out, 0, SEEK_CUR), 7);
  /* at the end of the input it returns 0 */
  CHECK_EQ(syscall(SYS_sendfile, out, in, NULL, 100), 0);
  char buf[32];
  CHECK_EQ(slurp(P("out"), buf, sizeof buf), 7);
  CHECK(strcmp(buf, "payload") == 0);
  close(in);
  close(out);
}

TEST(sendfile_with_offset_leaves_in_offset) {
  int in = file_with("in", "0123456789");
  int out = file_with("out", "");
  off_t off = 2;
  CHECK_EQ(syscall(SYS_sendfile, out, in, &off, 5), 5);
  CHECK_EQ(off, 7);
  CHECK_EQ(xlseek(in, 0, SEEK_CUR), 0);
  char buf[16];
  CHECK_EQ(slurp(P("out"), buf, sizeof buf), 5);
  CHECK(strcmp(buf, "23456") == 0);
  close(in);
  close(out);
}

TEST(sendfile_errors) {
  int in = file_with("in", "abc");
  put_file(P("app"), "", 0644);
  int app = must_open(P("app"), O_WRONLY | O_APPEND, 0);
  CHECK_ERRNO(syscall(SYS_sendfile, app, in, NULL, 3), EINVAL);
  int ro = must_open(P("in"), O_RDONLY, 0);
  CHECK_ERRNO(syscall(SYS_sendfile, ro, in, NULL, 3), EBADF);
  int wo = must_open(P("in"), O_WRONLY, 0);
  int out = file_with("out", "");
  CHECK_ERRNO(syscall(SYS_sendfile, out, wo, NULL, 3), EBADF);
  CHECK_ERRNO(syscall(SYS_sendfile, out, -1, NULL, 3), EBADF);
  close(in);
  close(app);
  close(ro);
  close(wo);
  close(out);
}

/* sendfile(2): in_fd "must correspond to a file which supports mmap(2)-like
 * operations (i.e., it cannot be a socket)". Linux refuses with EINVAL any
 * file without splice_read: an eventfd, a pipe, a socket, /dev/null; it
 * reads /dev/zero. (An eventfd sent to itself would otherwise never end.) */
TEST(sendfile_needs_a_file_to_read) {
  int out = file_with("out", "");
  int e = eventfd(5, 0);
  CHECK(e >= 0);
  CHECK_ERRNO(syscall(SYS_sendfile, out, e, NULL, 8), EINVAL);
  CHECK_ERRNO(syscall(SYS_sendfile, e, e, NULL, 8), EINVAL);
  int p[2];
  CHECK_EQ(pipe(p), 0);
  CHECK_EQ(write(p[1], "abc", 3), 3);
  CHECK_ERRNO(syscall(SYS_sendfile, out, p[0], NULL, 3), EINVAL);
  int s[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  CHECK_EQ(write(s[1], "abc", 3), 3);
  CHECK_ERRNO(syscall(SYS_sendfile, out, s[0], NULL, 3), EINVAL);
  CHECK_ERRNO(syscall(SYS_sendfile, s[0], s[0], NULL, 3), EINVAL);
  int null = open("/dev/null", O_RDONLY);
  CHECK(null >= 0);
  CHECK_ERRNO(syscall(SYS_sendfile, out, null, NULL, 3), EINVAL);
  int zero = open("/dev/zero", O_RDONLY);
  CHECK(zero >= 0);
  CHECK_EQ(syscall(SYS_sendfile, out, zero, NULL, 3), 3);
  close(out);
  close(e);
  close(p[0]);
  close(p[1]);
  close(s[0]);
  close(s[1]);
  close(null);
  close(zero);
}

TEST(copy_file_range_basic_moves_offsets) {
  int in = file_with("in", "copy this range");
  int out = file_with("out", "");
  CHECK_EQ(xlseek(in, 5, SEEK_SET), 5);
  CHECK_EQ(syscall(SYS_copy_file_range, in, NULL, out, NULL, 4, 0), 4);
  CHECK_EQ(xlseek(in, 0, SEEK_CUR), 9);
  CHECK_EQ(xlseek(out, 0, SEEK_CUR), 4);
  char buf[32];
  CHECK_EQ(slurp(P("out"), buf, sizeof buf), 4);
  CHECK(strcmp(buf, "this") == 0);
  /* past the end of the input: 0 */
  CHECK_EQ(xlseek(in, 0, SEEK_END), 15);
  CHECK_EQ(syscall(SYS_copy_file_range, in, NULL, out, NULL, 4, 0), 0);
  close(in);
  close(out);
}

TEST(copy_file_range_with_offsets) {
  int in = file_with("in", "abcdefghij");
  int out = file_with("out", "0123456789");
  loff_t ioff = 6, ooff = 2;
  CHECK_EQ(syscall(SYS_copy_file_range, in, &ioff, out, &ooff, 3, 0), 3);
  CHECK_EQ(ioff, 9);
  CHECK_EQ(ooff, 5);
  CHECK_EQ(xlseek(in, 0, SEEK_CUR), 0);
  CHECK_EQ(xlseek(out, 0, SEEK_CUR), 0);
  char buf[16];
  CHECK_EQ(slurp(P("out"), buf, sizeof buf), 10);
  CHECK(strcmp(buf, "01ghi56789") == 0);
  /* within one file, ranges that do not overlap are fine */
  ioff = 0;
  ooff = 5;
  CHECK_EQ(syscall(SYS_copy_file_range, out, &ioff, out, &ooff, 2, 0), 2);
  CHECK_EQ(slurp(P("out"), buf, sizeof buf), 10);
  CHECK(strcmp(buf, "01ghi01789") == 0);
  close(in);
  close(out);
}

TEST(copy_file_range_errors) {
  int in = file_with("in", "abcdefghij");
  int out = file_with("out", "");
  CHECK_ERRNO(syscall(SYS_copy_file_range, in, NULL, out, NULL, 3, 1), EINVAL);
  loff_t a = 0, b = 2;
  CHECK_ERRNO(syscall(SYS_copy_file_range, in, &a, in, &b, 5, 0), EINVAL);
  int app = must_open(P("out"), O_WRONLY | O_APPEND, 0);
  CHECK_ERRNO(syscall(SYS_copy_file_range, in, NULL, app, NULL, 3, 0), EBADF);
  int wo = must_open(P("in"), O_WRONLY, 0);
  CHECK_ERRNO(syscall(SYS_copy_file_range, wo, NULL, out, NULL, 3, 0), EBADF);
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_ERRNO(syscall(SYS_copy_file_range, dfd, NULL, out, NULL, 3, 0), EISDIR);
  close(dfd);
  close(wo);
  close(app);
  close(in);
  close(out);
}

TEST(fcntl_getfl_setfl_append_nonblock) {
  put_file(P("f"), "", 0644);
  int fd = must_open(P("f"), O_RDWR | O_APPEND | O_NONBLOCK, 0);
  long fl = syscall(SYS_fcntl, fd, F_GETFL);
  CHECK(fl != -1);
  CHECK_EQ(fl & O_ACCMODE, O_RDWR);
  CHECK(fl & O_APPEND);
  CHECK(fl & O_NONBLOCK);
  /* creation flags are not kept */
  CHECK_EQ(fl & (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_SETFL, 0), 0);
  fl = syscall(SYS_fcntl, fd, F_GETFL);
  CHECK_EQ(fl & (O_APPEND | O_NONBLOCK), 0);
  /* the access mode cannot be changed by F_SETFL */
  CHECK_EQ(fl & O_ACCMODE, O_RDWR);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_SETFL, O_WRONLY | O_APPEND), 0);
  fl = syscall(SYS_fcntl, fd, F_GETFL);
  CHECK_EQ(fl & O_ACCMODE, O_RDWR);
  CHECK(fl & O_APPEND);
  close(fd);
}

TEST(fcntl_setfl_append_changes_writes) {
  int fd = file_with("f", "start");
  CHECK_EQ(xwrite(fd, "S", 1), 1);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_SETFL, O_APPEND), 0);
  CHECK_EQ(xlseek(fd, 0, SEEK_SET), 0);
  CHECK_EQ(xwrite(fd, "E", 1), 1);
  char buf[16];
  CHECK_EQ(slurp(P("f"), buf, sizeof buf), 6);
  CHECK(strcmp(buf, "StartE") == 0);
  /* the status flags belong to the open file, so a dup sees them */
  int d = dup(fd);
  CHECK(d >= 0);
  CHECK(syscall(SYS_fcntl, d, F_GETFL) & O_APPEND);
  close(d);
  close(fd);
}

TEST(ioctl_fionread_regular_file) {
  int fd = file_with("f", "0123456789");
  int n = -1;
  CHECK_EQ(syscall(SYS_ioctl, fd, FIONREAD, &n), 0);
  CHECK_EQ(n, 10);
  CHECK_EQ(xlseek(fd, 4, SEEK_SET), 4);
  CHECK_EQ(syscall(SYS_ioctl, fd, FIONREAD, &n), 0);
  CHECK_EQ(n, 6);
  close(fd);
}

TEST(ioctl_fioclex_fionclex) {
  put_file(P("f"), "", 0644);
  int fd = open(P("f"), O_RDONLY);
  CHECK(fd >= 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFD), 0);
  CHECK_EQ(syscall(SYS_ioctl, fd, FIOCLEX), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(syscall(SYS_ioctl, fd, FIONCLEX), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFD), 0);
  close(fd);
  CHECK_ERRNO(syscall(SYS_ioctl, fd, FIOCLEX), EBADF);
}

TEST(write_read_wrong_access_mode_ebadf) {
  put_file(P("f"), "abc", 0644);
  int r = must_open(P("f"), O_RDONLY, 0);
  int w = must_open(P("f"), O_WRONLY, 0);
  char c;
  CHECK_ERRNO(xwrite(r, "x", 1), EBADF);
  CHECK_ERRNO(syscall(SYS_pwrite64, r, "x", 1, 0), EBADF);
  CHECK_ERRNO(xread(w, &c, 1), EBADF);
  CHECK_ERRNO(syscall(SYS_pread64, w, &c, 1, 0), EBADF);
  close(r);
  close(w);
}

TEST(shared_offset_between_dups_not_between_opens) {
  int a = file_with("f", "0123456789");
  int b = dup(a);
  int c = must_open(P("f"), O_RDONLY, 0);
  CHECK(b >= 0);
  char ch;
  CHECK_EQ(xread(a, &ch, 3), 3);
  CHECK_EQ(xlseek(b, 0, SEEK_CUR), 3);
  CHECK_EQ(xlseek(c, 0, SEEK_CUR), 0);
  CHECK_EQ(xread(b, &ch, 1), 1);
  CHECK_EQ(ch, '3');
  close(a);
  close(b);
  close(c);
}
