//go:build ignore

/*
 * fs_link.c - hard and symbolic links: link, linkat, symlink, symlinkat,
 * readlink and readlinkat, in a scratch directory under /tmp.
 *
 * Follows link(2) (linkat: AT_SYMLINK_FOLLOW, AT_EMPTY_PATH; ERRORS: EEXIST,
 * ENOENT, EPERM for a directory, EINVAL for bad flags), symlink(2) (dangling
 * links allowed; ERRORS: EEXIST, ENOENT for an empty target), symlink(7)
 * (relative targets resolve from the link's directory), path_resolution(7)
 * (ELOOP; at most 40 symbolic links are followed in one resolution, the Linux
 * limit) and readlink(2) (no terminating NUL, truncation to bufsiz, the empty
 * path with readlinkat; ERRORS: EINVAL for a non-link or bufsiz 0), plus
 * proc(5) for /proc/self/fd/N naming an open file.
 *
 * The calls under test are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

static long xreadlink(const char *p, char *buf, long n) { return syscall(SYS_readlink, p, buf, n); }

TEST(link_counts_and_same_inode) {
  put_file(P("f"), "shared", 0644);
  CHECK_EQ(syscall(SYS_link, P("f"), P("g")), 0);
  struct stat a, b;
  xstat(P("f"), &a);
  xstat(P("g"), &b);
  CHECK_EQ(a.st_ino, b.st_ino);
  CHECK_EQ(a.st_nlink, 2);
  CHECK_EQ(b.st_nlink, 2);
  CHECK_EQ(syscall(SYS_link, P("g"), P("h")), 0);
  xstat(P("f"), &a);
  CHECK_EQ(a.st_nlink, 3);
  /* a write through one name shows through the other */
  int fd = must_open(P("h"), O_WRONLY | O_APPEND, 0);
  CHECK_EQ(write(fd, "!", 1), 1);
  close(fd);
  char buf[16];
  CHECK_EQ(slurp(P("f"), buf, sizeof buf), 7);
  CHECK(strcmp(buf, "shared!") == 0);
  CHECK_OK(unlink(P("f")));
  CHECK_OK(unlink(P("h")));
  xstat(P("g"), &b);
  CHECK_EQ(b.st_nlink, 1);
  CHECK_EQ(b.st_size, 7);
}

TEST(link_to_directory_eperm) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_ERRNO(syscall(SYS_link, P("d"), P("d2")), EPERM);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_lstat, P("d2"), &st), ENOENT);
  xstat(P("d"), &st);
  CHECK_EQ(st.st_nlink, 2);
}

TEST(link_errors) {
  put_file(P("f"), "", 0644);
  put_file(P("g"), "", 0644);
  CHECK_ERRNO(syscall(SYS_link, P("f"), P("g")), EEXIST);
  CHECK_ERRNO(syscall(SYS_link, P("missing"), P("h")), ENOENT);
  CHECK_ERRNO(syscall(SYS_link, P("f"), P("nodir/h")), ENOENT);
  CHECK_ERRNO(syscall(SYS_link, P("f"), P("g/h")), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_linkat, AT_FDCWD, P("f"), AT_FDCWD, P("h"), 0x1), EINVAL);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_nlink, 1);
}

TEST(linkat_symlink_follow_or_not) {
  put_file(P("f"), "", 0644);
  CHECK_OK(symlink("f", P("l")));
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  /* without AT_SYMLINK_FOLLOW the new name is another link to the symlink */
  CHECK_EQ(syscall(SYS_linkat, dfd, "l", dfd, "nofollow", 0), 0);
  struct stat st, lst, fst;
  xlstat(P("nofollow"), &st);
  xlstat(P("l"), &lst);
  CHECK(S_ISLNK(st.st_mode));
  CHECK_EQ(st.st_ino, lst.st_ino);
  CHECK_EQ(lst.st_nlink, 2);
  /* with it, a link to the file the symlink names */
  CHECK_EQ(syscall(SYS_linkat, dfd, "l", dfd, "follow", AT_SYMLINK_FOLLOW), 0);
  xlstat(P("follow"), &st);
  xlstat(P("f"), &fst);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_ino, fst.st_ino);
  CHECK_EQ(fst.st_nlink, 2);
  close(dfd);
}

TEST(linkat_empty_path_links_open_file) {
  if (geteuid() != 0) return; /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH */
  put_file(P("f"), "by fd", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(syscall(SYS_linkat, fd, "", AT_FDCWD, P("g"), AT_EMPTY_PATH), 0);
  struct stat a, b;
  xstat(P("f"), &a);
  xstat(P("g"), &b);
  CHECK_EQ(a.st_ino, b.st_ino);
  CHECK_EQ(a.st_nlink, 2);
  /* a file whose last name is gone cannot be given a new one */
  CHECK_OK(unlink(P("f")));
  CHECK_OK(unlink(P("g")));
  CHECK_ERRNO(syscall(SYS_linkat, fd, "", AT_FDCWD, P("h"), AT_EMPTY_PATH), ENOENT);
  close(fd);
}

TEST(symlink_dangling_allowed) {
  CHECK_EQ(syscall(SYS_symlink, "does/not/exist", P("l")), 0);
  struct stat st;
  xlstat(P("l"), &st);
  CHECK(S_ISLNK(st.st_mode));
  CHECK_EQ(st.st_size, 14);
  CHECK_ERRNO(syscall(SYS_stat, P("l"), &st), ENOENT);
  CHECK_ERRNO(syscall(SYS_open, P("l"), O_RDONLY), ENOENT);
  /* creating the target makes it resolve */
  CHECK_OK(mkdir(P("does"), 0755));
  CHECK_OK(mkdir(P("does/not"), 0755));
  put_file(P("does/not/exist"), "now", 0644);
  CHECK_EQ(syscall(SYS_stat, P("l"), &st), 0);
  CHECK_EQ(st.st_size, 3);
}

TEST(symlink_errors) {
  put_file(P("f"), "", 0644);
  CHECK_ERRNO(syscall(SYS_symlink, "x", P("f")), EEXIST);
  CHECK_OK(symlink("y", P("l")));
  CHECK_ERRNO(syscall(SYS_symlink, "x", P("l")), EEXIST);
  CHECK_ERRNO(syscall(SYS_symlink, "", P("empty")), ENOENT);
  CHECK_ERRNO(syscall(SYS_symlink, "x", P("nodir/l")), ENOENT);
  CHECK_ERRNO(syscall(SYS_symlink, "x", P("f/l")), ENOTDIR);
}

TEST(symlinkat_relative_target_resolves_from_link_dir) {
  CHECK_OK(mkdir(P("d"), 0755));
  put_file(P("f"), "top", 0644);
  put_file(P("d/f"), "inner", 0644);
  int dfd = must_open(P("d"), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_symlinkat, "../f", dfd, "up"), 0);
  CHECK_EQ(syscall(SYS_symlinkat, "f", dfd, "same"), 0);
  char buf[16];
  CHECK_EQ(slurp(P("d/up"), buf, sizeof buf), 3);
  CHECK(strcmp(buf, "top") == 0);
  CHECK_EQ(slurp(P("d/same"), buf, sizeof buf), 5);
  CHECK(strcmp(buf, "inner") == 0);
  /* an absolute target */
  CHECK_EQ(syscall(SYS_symlinkat, P("d/f"), AT_FDCWD, P("abs")), 0);
  CHECK_EQ(slurp(P("abs"), buf, sizeof buf), 5);
  close(dfd);
}

TEST(symlink_loop_eloop) {
  CHECK_OK(symlink("b", P("a")));
  CHECK_OK(symlink("a", P("b")));
  CHECK_OK(symlink("self", P("self")));
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P("a"), &st), ELOOP);
  CHECK_ERRNO(syscall(SYS_open, P("b"), O_RDONLY), ELOOP);
  CHECK_ERRNO(syscall(SYS_stat, P("self"), &st), ELOOP);
  CHECK_ERRNO(syscall(SYS_open, P("self"), O_RDWR | O_CREAT, 0644), ELOOP);
  CHECK_ERRNO(syscall(SYS_stat, P("a/x"), &st), ELOOP);
  /* lstat does not follow, so it is fine */
  CHECK_EQ(syscall(SYS_lstat, P("a"), &st), 0);
  CHECK(S_ISLNK(st.st_mode));
}

TEST(symlink_chain_of_40_ok_41_eloop) {
  put_file(P("target"), "end", 0644);
  char name[16], prev[16];
  strcpy(prev, "target");
  for (int i = 1; i <= 41; i++) {
    snprintf(name, sizeof name, "s%d", i);
    CHECK_OK(symlink(prev, P(name)));
    strcpy(prev, name);
  }
  struct stat st;
  /* s40 needs 40 links followed: the limit, allowed */
  CHECK_EQ(syscall(SYS_stat, P("s40"), &st), 0);
  CHECK_EQ(st.st_size, 3);
  long fd = syscall(SYS_open, P("s40"), O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
  /* s41 needs 41 */
  CHECK_ERRNO(syscall(SYS_stat, P("s41"), &st), ELOOP);
  CHECK_ERRNO(syscall(SYS_open, P("s41"), O_RDONLY), ELOOP);
}

TEST(symlink_to_dir_in_middle_of_path) {
  CHECK_OK(mkdir(P("real"), 0755));
  put_file(P("real/f"), "via link", 0644);
  CHECK_OK(symlink("real", P("dl")));
  CHECK_OK(symlink("dl", P("dl2")));
  char buf[16];
  CHECK_EQ(slurp(P("dl2/f"), buf, sizeof buf), 8);
  struct stat a, b;
  xstat(P("dl2/f"), &a);
  xstat(P("real/f"), &b);
  CHECK_EQ(a.st_ino, b.st_ino);
  /* creating through the link creates inside the target */
  put_file(P("dl/new"), "", 0644);
  xlstat(P("real/new"), &a);
  CHECK(S_ISREG(a.st_mode));
}

TEST(readlink_returns_target_without_nul) {
  CHECK_OK(symlink("some/target", P("l")));
  char buf[64];
  memset(buf, 'Z', sizeof buf);
  CHECK_EQ(xreadlink(P("l"), buf, sizeof buf), 11);
  CHECK(memcmp(buf, "some/target", 11) == 0);
  CHECK_EQ(buf[11], 'Z');
}

TEST(readlink_small_buffer_truncates) {
  CHECK_OK(symlink("0123456789", P("l")));
  char buf[16];
  memset(buf, 'Z', sizeof buf);
  CHECK_EQ(xreadlink(P("l"), buf, 4), 4);
  CHECK(memcmp(buf, "0123", 4) == 0);
  CHECK_EQ(buf[4], 'Z');
  CHECK_EQ(xreadlink(P("l"), buf, 1), 1);
  CHECK_EQ(buf[0], '0');
}

TEST(readlink_non_link_einval) {
  put_file(P("f"), "", 0644);
  CHECK_OK(symlink("f", P("l")));
  char buf[64];
  CHECK_ERRNO(xreadlink(P("f"), buf, sizeof buf), EINVAL);
  CHECK_ERRNO(xreadlink(scratch(), buf, sizeof buf), EINVAL);
  CHECK_ERRNO(xreadlink(P("missing"), buf, sizeof buf), ENOENT);
  CHECK_ERRNO(xreadlink(P("l"), buf, 0), EINVAL);
  CHECK_ERRNO(xreadlink(P("l"), buf, -1), EINVAL);
}

TEST(readlinkat_dirfd_and_empty_path) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_OK(symlink("../elsewhere", P("d/l")));
  int dfd = must_open(P("d"), O_RDONLY | O_DIRECTORY, 0);
  char buf[64];
  CHECK_EQ(syscall(SYS_readlinkat, dfd, "l", buf, sizeof buf), 12);
  CHECK(memcmp(buf, "../elsewhere", 12) == 0);
  close(dfd);
  /* an O_PATH | O_NOFOLLOW descriptor of the link itself and an empty path */
  int lfd = must_open(P("d/l"), O_PATH | O_NOFOLLOW, 0);
  memset(buf, 0, sizeof buf);
  CHECK_EQ(syscall(SYS_readlinkat, lfd, "", buf, sizeof buf), 12);
  CHECK(memcmp(buf, "../elsewhere", 12) == 0);
  close(lfd);
}

TEST(readlink_proc_self_fd_names_file) {
  put_file(P("f"), "", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  char link[64], buf[600];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  long n = xreadlink(link, buf, sizeof buf - 1);
  CHECK(n > 0);
  buf[n] = 0;
  CHECK(strcmp(buf, P("f")) == 0);
  close(fd);
}
