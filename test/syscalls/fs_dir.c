//go:build ignore

/*
 * fs_dir.c - directories: getdents64, mkdir, mkdirat, rmdir, unlink, unlinkat,
 * mknod/mknodat for FIFOs, chdir, fchdir and getcwd, and path resolution
 * corner cases (".." at "/", ENAMETOOLONG, ENOTDIR), in a scratch directory
 * under /tmp.
 *
 * Follows getdents(2) (struct linux_dirent64, d_type, ERRORS: EINVAL for a
 * too small buffer, ENOTDIR, EBADF), lseek(2) on directories, mkdir(2)
 * (ERRORS: EEXIST, ENOENT, ENOTDIR), rmdir(2) (ERRORS: ENOTEMPTY, ENOTDIR,
 * EINVAL for ".", ENOTEMPTY for "..", EBUSY for "/"), unlink(2) (EISDIR,
 * unlinkat AT_REMOVEDIR, EINVAL for bad flags), mknod(2) (S_IFIFO, S_IFREG,
 * EPERM for S_IFDIR, EINVAL for a bad type), fifo(7) (opening a FIFO
 * O_NONBLOCK: ENXIO for a writer without readers), chdir(2), getcwd(3)
 * ("C library/kernel differences": the raw call returns the length with the
 * NUL) and path_resolution(7) (".." in "/" is "/", ENAMETOOLONG, ENOTDIR).
 *
 * The calls under test are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <stdint.h>

struct dent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

#define MAXNAMES 128

struct listing {
  int n;
  char names[MAXNAMES][64];
  unsigned char types[MAXNAMES];
  uint64_t inos[MAXNAMES];
  int64_t offs[MAXNAMES];
};

/* list_dir: read fd to its end with getdents64 in bufsz-byte calls */
static void list_dir(int fd, struct listing *l, int bufsz) {
  char buf[4096] __attribute__((aligned(8)));
  l->n = 0;
  for (;;) {
    long r = syscall(SYS_getdents64, fd, buf, bufsz);
    if (r < 0) FAILF("getdents64: %s", strerror(errno));
    if (r == 0) break;
    for (long off = 0; off < r;) {
      struct dent64 *d = (struct dent64 *)(buf + off);
      if (d->d_reclen == 0 || off + d->d_reclen > r) FAILF("bad d_reclen %d", d->d_reclen);
      if (l->n == MAXNAMES) FAILF("too many entries");
      snprintf(l->names[l->n], sizeof l->names[0], "%s", d->d_name);
      l->types[l->n] = d->d_type;
      l->inos[l->n] = d->d_ino;
      l->offs[l->n] = d->d_off;
      l->n++;
      off += d->d_reclen;
    }
  }
}

/* find: the index of name in l, failing when it is there other than once */
static int find_once(struct listing *l, const char *name) {
  int at = -1;
  for (int i = 0; i < l->n; i++) {
    if (strcmp(l->names[i], name) == 0) {
      if (at >= 0) FAILF("%s listed twice", name);
      at = i;
    }
  }
  if (at < 0) FAILF("%s not listed", name);
  return at;
}

static long xgetcwd(char *buf, size_t n) { return syscall(SYS_getcwd, buf, n); }

TEST(getdents64_lists_each_name_once_with_type) {
  put_file(P("a"), "", 0644);
  put_file(P("b"), "", 0644);
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_OK(symlink("a", P("l")));
  CHECK_OK(mknod(P("p"), S_IFIFO | 0644, 0));
  int fd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  static struct listing l;
  list_dir(fd, &l, 4096);
  CHECK_EQ(l.n, 7);
  CHECK_EQ(l.types[find_once(&l, ".")], DT_DIR);
  CHECK_EQ(l.types[find_once(&l, "..")], DT_DIR);
  CHECK_EQ(l.types[find_once(&l, "a")], DT_REG);
  CHECK_EQ(l.types[find_once(&l, "b")], DT_REG);
  CHECK_EQ(l.types[find_once(&l, "d")], DT_DIR);
  CHECK_EQ(l.types[find_once(&l, "l")], DT_LNK);
  CHECK_EQ(l.types[find_once(&l, "p")], DT_FIFO);
  /* d_ino is the inode number stat reports */
  struct stat st;
  xlstat(P("d"), &st);
  CHECK_EQ(l.inos[find_once(&l, "d")], st.st_ino);
  xlstat(P("l"), &st);
  CHECK_EQ(l.inos[find_once(&l, "l")], st.st_ino);
  xstat(scratch(), &st);
  CHECK_EQ(l.inos[find_once(&l, ".")], st.st_ino);
  /* at the end it keeps returning 0 */
  char buf[256];
  CHECK_EQ(syscall(SYS_getdents64, fd, buf, sizeof buf), 0);
  close(fd);
}

TEST(getdents64_small_buffer_many_calls) {
  char name[32];
  for (int i = 0; i < 60; i++) {
    snprintf(name, sizeof name, "file-with-a-longish-name-%02d", i);
    put_file(P(name), "", 0644);
  }
  int fd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  static struct listing l;
  /* 100 bytes hold at most two of these entries per call */
  list_dir(fd, &l, 100);
  CHECK_EQ(l.n, 62);
  find_once(&l, ".");
  find_once(&l, "..");
  for (int i = 0; i < 60; i++) {
    snprintf(name, sizeof name, "file-with-a-longish-name-%02d", i);
    CHECK_EQ(l.types[find_once(&l, name)], DT_REG);
  }
  close(fd);
}

TEST(getdents64_rewind_and_seek_to_d_off) {
  put_file(P("a"), "", 0644);
  put_file(P("b"), "", 0644);
  put_file(P("c"), "", 0644);
  put_file(P("e"), "", 0644);
  int fd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  static struct listing first, again, rest;
  list_dir(fd, &first, 4096);
  CHECK_EQ(first.n, 6);
  /* lseek to 0 starts over */
  CHECK_EQ(syscall(SYS_lseek, fd, 0, SEEK_SET), 0);
  list_dir(fd, &again, 4096);
  CHECK_EQ(again.n, 6);
  for (int i = 0; i < 6; i++) CHECK(strcmp(first.names[i], again.names[i]) == 0);
  /* d_off of an entry is where the next one starts */
  CHECK_EQ(syscall(SYS_lseek, fd, first.offs[2], SEEK_SET), first.offs[2]);
  list_dir(fd, &rest, 4096);
  CHECK_EQ(rest.n, 3);
  for (int i = 0; i < 3; i++) CHECK(strcmp(rest.names[i], first.names[i + 3]) == 0);
  close(fd);
}

TEST(getdents64_after_unlink_and_create) {
  put_file(P("gone"), "", 0644);
  int fd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_OK(unlink(P("gone")));
  put_file(P("new"), "", 0644);
  static struct listing l;
  list_dir(fd, &l, 4096);
  CHECK_EQ(l.n, 3);
  find_once(&l, "new");
  for (int i = 0; i < l.n; i++) CHECK(strcmp(l.names[i], "gone") != 0);
  close(fd);
}

TEST(getdents64_errors) {
  put_file(P("f"), "", 0644);
  char buf[512];
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_ERRNO(syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
  close(fd);
  CHECK_ERRNO(syscall(SYS_getdents64, -1, buf, sizeof buf), EBADF);
  fd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  /* too small for even one entry */
  CHECK_ERRNO(syscall(SYS_getdents64, fd, buf, 8), EINVAL);
  close(fd);
}

TEST(read_on_directory_eisdir) {
  int fd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  char c;
  CHECK_ERRNO(syscall(SYS_read, fd, &c, 1), EISDIR);
  close(fd);
}

TEST(mkdir_and_eexist) {
  CHECK_EQ(syscall(SYS_mkdir, P("d"), 0750), 0);
  struct stat st;
  xstat(P("d"), &st);
  CHECK(S_ISDIR(st.st_mode));
  CHECK_EQ(st.st_mode & 0777, 0750);
  CHECK_ERRNO(syscall(SYS_mkdir, P("d"), 0755), EEXIST);
  put_file(P("f"), "", 0644);
  CHECK_ERRNO(syscall(SYS_mkdir, P("f"), 0755), EEXIST);
  /* a dangling symlink counts as existing; mkdir does not follow it */
  CHECK_OK(symlink("missing", P("l")));
  CHECK_ERRNO(syscall(SYS_mkdir, P("l"), 0755), EEXIST);
  CHECK_ERRNO(syscall(SYS_stat, P("missing"), &st), ENOENT);
}

TEST(mkdir_missing_parent_enoent_file_parent_enotdir) {
  put_file(P("f"), "", 0644);
  CHECK_ERRNO(syscall(SYS_mkdir, P("no/d"), 0755), ENOENT);
  CHECK_ERRNO(syscall(SYS_mkdir, P("f/d"), 0755), ENOTDIR);
  /* a trailing slash is allowed on the new name */
  CHECK_EQ(syscall(SYS_mkdir, P("slash/"), 0755), 0);
  struct stat st;
  xstat(P("slash"), &st);
  CHECK(S_ISDIR(st.st_mode));
}

TEST(mkdirat_relative_to_dirfd) {
  CHECK_OK(mkdir(P("d"), 0755));
  int dfd = must_open(P("d"), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_mkdirat, dfd, "sub", 0700), 0);
  struct stat st;
  xstat(P("d/sub"), &st);
  CHECK(S_ISDIR(st.st_mode));
  CHECK_EQ(st.st_mode & 0777, 0700);
  CHECK_ERRNO(syscall(SYS_mkdirat, dfd, "sub", 0700), EEXIST);
  CHECK_ERRNO(syscall(SYS_mkdirat, -1, "x", 0700), EBADF);
  close(dfd);
}

TEST(rmdir_empty_and_enotempty) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_OK(mkdir(P("d/sub"), 0755));
  CHECK_ERRNO(syscall(SYS_rmdir, P("d")), ENOTEMPTY);
  CHECK_EQ(syscall(SYS_rmdir, P("d/sub")), 0);
  put_file(P("d/f"), "", 0644);
  CHECK_ERRNO(syscall(SYS_rmdir, P("d")), ENOTEMPTY);
  CHECK_OK(unlink(P("d/f")));
  CHECK_EQ(syscall(SYS_rmdir, P("d")), 0);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P("d"), &st), ENOENT);
  CHECK_ERRNO(syscall(SYS_rmdir, P("d")), ENOENT);
}

TEST(rmdir_file_or_symlink_enotdir) {
  put_file(P("f"), "", 0644);
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_OK(symlink("d", P("l")));
  CHECK_ERRNO(syscall(SYS_rmdir, P("f")), ENOTDIR);
  /* rmdir does not follow a final symlink */
  CHECK_ERRNO(syscall(SYS_rmdir, P("l")), ENOTDIR);
  struct stat st;
  xstat(P("d"), &st);
}

TEST(rmdir_dot_einval_dotdot_enotempty) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_ERRNO(syscall(SYS_rmdir, P("d/.")), EINVAL);
  CHECK_OK(mkdir(P("d/sub"), 0755));
  CHECK_ERRNO(syscall(SYS_rmdir, P("d/sub/..")), ENOTEMPTY);
  CHECK_ERRNO(syscall(SYS_rmdir, "/"), EBUSY);
  struct stat st;
  xstat(P("d/sub"), &st);
}

TEST(unlink_file_and_dir_eisdir) {
  put_file(P("f"), "", 0644);
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_EQ(syscall(SYS_unlink, P("f")), 0);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_lstat, P("f"), &st), ENOENT);
  CHECK_ERRNO(syscall(SYS_unlink, P("f")), ENOENT);
  CHECK_ERRNO(syscall(SYS_unlink, P("d")), EISDIR);
  xstat(P("d"), &st);
}

TEST(unlink_symlink_removes_link_only) {
  put_file(P("f"), "keep", 0644);
  CHECK_OK(symlink("f", P("l")));
  CHECK_EQ(syscall(SYS_unlink, P("l")), 0);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_lstat, P("l"), &st), ENOENT);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_size, 4);
}

TEST(unlink_open_file_stays_readable) {
  put_file(P("f"), "still here", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(syscall(SYS_unlink, P("f")), 0);
  char buf[32] = {0};
  CHECK_EQ(read(fd, buf, sizeof buf), 10);
  CHECK(strcmp(buf, "still here") == 0);
  close(fd);
}

TEST(unlinkat_removedir_and_flags) {
  CHECK_OK(mkdir(P("d"), 0755));
  put_file(P("f"), "", 0644);
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_ERRNO(syscall(SYS_unlinkat, dfd, "d", 0), EISDIR);
  CHECK_ERRNO(syscall(SYS_unlinkat, dfd, "f", AT_REMOVEDIR), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_unlinkat, dfd, "f", 0x1), EINVAL);
  CHECK_EQ(syscall(SYS_unlinkat, dfd, "d", AT_REMOVEDIR), 0);
  CHECK_EQ(syscall(SYS_unlinkat, dfd, "f", 0), 0);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_lstat, P("d"), &st), ENOENT);
  CHECK_ERRNO(syscall(SYS_lstat, P("f"), &st), ENOENT);
  close(dfd);
}

TEST(mknod_fifo_and_regular) {
  CHECK_EQ(syscall(SYS_mknod, P("fifo"), S_IFIFO | 0640, 0), 0);
  struct stat st;
  xlstat(P("fifo"), &st);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK_EQ(st.st_mode & 0777, 0640);
  CHECK_ERRNO(syscall(SYS_mknod, P("fifo"), S_IFIFO | 0640, 0), EEXIST);
  /* a type of 0 means a regular file */
  CHECK_EQ(syscall(SYS_mknod, P("reg0"), 0600, 0), 0);
  xlstat(P("reg0"), &st);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_size, 0);
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_mknodat, dfd, "reg", S_IFREG | 0600, 0), 0);
  xlstat(P("reg"), &st);
  CHECK(S_ISREG(st.st_mode));
  close(dfd);
}

TEST(mknod_directory_eperm_bad_type_einval) {
  CHECK_ERRNO(syscall(SYS_mknod, P("d"), S_IFDIR | 0755, 0), EPERM);
  CHECK_ERRNO(syscall(SYS_mknod, P("x"), 0170000 | 0644, 0), EINVAL);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_lstat, P("d"), &st), ENOENT);
  CHECK_ERRNO(syscall(SYS_lstat, P("x"), &st), ENOENT);
}

TEST(fifo_open_nonblock_reader_then_writer) {
  CHECK_OK(mkfifo(P("p"), 0644));
  /* no reader yet: a non-blocking writer gets ENXIO */
  CHECK_ERRNO(syscall(SYS_open, P("p"), O_WRONLY | O_NONBLOCK), ENXIO);
  long r = syscall(SYS_open, P("p"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  CHECK(r >= 0);
  long w = syscall(SYS_open, P("p"), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  CHECK(w >= 0);
  CHECK_EQ(write(w, "fifo", 4), 4);
  char buf[8] = {0};
  CHECK_EQ(read(r, buf, sizeof buf), 4);
  CHECK(strcmp(buf, "fifo") == 0);
  CHECK_ERRNO(read(r, buf, sizeof buf), EAGAIN);
  CHECK_ERRNO(syscall(SYS_lseek, r, 0, SEEK_SET), ESPIPE);
  close(w);
  close(r);
}

TEST(chdir_then_getcwd_is_scratch) {
  const char *d = scratch();
  CHECK_EQ(syscall(SYS_chdir, d), 0);
  char buf[512];
  long n = xgetcwd(buf, sizeof buf);
  CHECK_EQ(n, (long)strlen(d) + 1);
  CHECK(strcmp(buf, d) == 0);
  /* relative names now resolve in the scratch directory */
  put_file("rel", "", 0644);
  struct stat st;
  xstat(P("rel"), &st);
  CHECK_OK(mkdir("sub", 0755));
  CHECK_EQ(syscall(SYS_chdir, "sub"), 0);
  CHECK(xgetcwd(buf, sizeof buf) > 0);
  CHECK(strcmp(buf, P("sub")) == 0);
  CHECK_EQ(syscall(SYS_chdir, ".."), 0);
  CHECK(xgetcwd(buf, sizeof buf) > 0);
  CHECK(strcmp(buf, d) == 0);
}

TEST(chdir_errors) {
  put_file(P("f"), "", 0644);
  CHECK_ERRNO(syscall(SYS_chdir, P("missing")), ENOENT);
  CHECK_ERRNO(syscall(SYS_chdir, P("f")), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_chdir, ""), ENOENT);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_ERRNO(syscall(SYS_fchdir, fd), ENOTDIR);
  close(fd);
  CHECK_ERRNO(syscall(SYS_fchdir, -1), EBADF);
}

TEST(fchdir_then_getcwd) {
  CHECK_OK(mkdir(P("d"), 0755));
  int fd = must_open(P("d"), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_chdir, "/"), 0);
  CHECK_EQ(syscall(SYS_fchdir, fd), 0);
  char buf[512];
  CHECK(xgetcwd(buf, sizeof buf) > 0);
  CHECK(strcmp(buf, P("d")) == 0);
  close(fd);
  /* an O_PATH descriptor is good enough for fchdir */
  fd = must_open(scratch(), O_PATH | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_fchdir, fd), 0);
  CHECK(xgetcwd(buf, sizeof buf) > 0);
  CHECK(strcmp(buf, scratch()) == 0);
  close(fd);
}

TEST(getcwd_buffer_too_small_erange) {
  CHECK_EQ(syscall(SYS_chdir, scratch()), 0);
  char buf[512];
  size_t need = strlen(scratch()) + 1;
  CHECK_ERRNO(xgetcwd(buf, need - 1), ERANGE);
  CHECK_EQ(xgetcwd(buf, need), need);
}

TEST(dotdot_at_root_stays_at_root) {
  struct stat root, up, upup;
  xstat("/", &root);
  xstat("/..", &up);
  xstat("/../../..", &upup);
  CHECK_EQ(up.st_ino, root.st_ino);
  CHECK_EQ(up.st_dev, root.st_dev);
  CHECK_EQ(upup.st_ino, root.st_ino);
  CHECK_EQ(syscall(SYS_chdir, "/"), 0);
  CHECK_EQ(syscall(SYS_chdir, ".."), 0);
  char buf[64];
  CHECK_EQ(xgetcwd(buf, sizeof buf), 2);
  CHECK(strcmp(buf, "/") == 0);
  /* and a path through it reaches the scratch directory */
  char path[600];
  snprintf(path, sizeof path, "/../..%s", scratch());
  struct stat a, b;
  xstat(path, &a);
  xstat(scratch(), &b);
  CHECK_EQ(a.st_ino, b.st_ino);
}

TEST(dotdot_leaves_dir_through_symlink_lexically_not) {
  /* ".." after a symlink to a directory is the parent of the target */
  CHECK_OK(mkdir(P("a"), 0755));
  CHECK_OK(mkdir(P("a/b"), 0755));
  put_file(P("a/marker"), "", 0644);
  CHECK_OK(symlink("a/b", P("lb")));
  struct stat st;
  CHECK_EQ(syscall(SYS_stat, P("lb/../marker"), &st), 0);
  CHECK(S_ISREG(st.st_mode));
}

TEST(enametoolong_component_and_path) {
  char name[301];
  memset(name, 'x', 300);
  name[300] = 0;
  CHECK_ERRNO(syscall(SYS_mkdir, P(name), 0755), ENAMETOOLONG);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P(name), &st), ENAMETOOLONG);
  /* 255 bytes is the limit and fine */
  name[255] = 0;
  CHECK_EQ(syscall(SYS_mkdir, P(name), 0755), 0);
  CHECK_EQ(syscall(SYS_rmdir, P(name)), 0);
  static char path[5001];
  for (int i = 0; i < 5000; i++) path[i] = (i % 2) ? '/' : 'd';
  path[0] = '/';
  path[5000] = 0;
  CHECK_ERRNO(syscall(SYS_stat, path, &st), ENAMETOOLONG);
  CHECK_ERRNO(syscall(SYS_mkdir, path, 0755), ENAMETOOLONG);
  CHECK_ERRNO(syscall(SYS_chdir, path), ENAMETOOLONG);
}

TEST(enotdir_for_file_as_directory) {
  put_file(P("file"), "", 0644);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P("file/x"), &st), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_lstat, P("file/"), &st), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_unlink, P("file/")), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_mkdir, P("file/x"), 0755), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_chdir, P("file/")), ENOTDIR);
  /* a symlink to a file with a trailing slash is ENOTDIR too */
  CHECK_OK(symlink("file", P("l")));
  CHECK_ERRNO(syscall(SYS_stat, P("l/"), &st), ENOTDIR);
  /* while a directory accepts a trailing slash */
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_EQ(syscall(SYS_stat, P("d/"), &st), 0);
  CHECK_EQ(syscall(SYS_stat, P("d//."), &st), 0);
}
