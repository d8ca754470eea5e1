//go:build ignore

/*
 * fs_rename.c - rename, renameat and renameat2 (RENAME_NOREPLACE,
 * RENAME_EXCHANGE), in a scratch directory under /tmp.
 *
 * Follows rename(2): DESCRIPTION (an existing newpath is replaced atomically;
 * hard links to the same file: nothing happens, success; a symbolic link is
 * renamed, not its target; a directory may replace an empty directory),
 * renameat2 flags, and ERRORS: EEXIST (RENAME_NOREPLACE), EINVAL (a directory
 * into its own subdirectory, bad or conflicting flags), EISDIR (a non-directory
 * over a directory), ENOENT (missing oldpath, empty paths, RENAME_EXCHANGE with
 * a missing newpath), ENOTDIR (a directory over a non-directory) and ENOTEMPTY
 * (over a non-empty directory; POSIX also allows EEXIST, Linux says ENOTEMPTY).
 * Directory link counts are taken to be 2 plus the number of subdirectories,
 * as ext4 and tmpfs report them (see fs_stat.c).
 *
 * The calls under test are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

static long xrename(const char *a, const char *b) { return syscall(SYS_rename, a, b); }
static long xrenameat2(int ad, const char *a, int bd, const char *b, unsigned flags) {
  return syscall(SYS_renameat2, ad, a, bd, b, flags);
}

static void check_contents(const char *path, const char *want) {
  char buf[64];
  slurp(path, buf, sizeof buf);
  if (strcmp(buf, want) != 0) FAILF("%s holds \"%s\", want \"%s\"", path, buf, want);
}

TEST(rename_file_to_new_name) {
  put_file(P("a"), "A", 0644);
  struct stat before, after;
  xstat(P("a"), &before);
  CHECK_EQ(xrename(P("a"), P("b")), 0);
  CHECK_ERRNO(syscall(SYS_lstat, P("a"), &after), ENOENT);
  xstat(P("b"), &after);
  CHECK_EQ(after.st_ino, before.st_ino);
  CHECK_EQ(after.st_nlink, 1);
  check_contents(P("b"), "A");
}

TEST(rename_over_existing_file_replaces_it) {
  put_file(P("a"), "A", 0644);
  put_file(P("b"), "B", 0644);
  int fd = must_open(P("b"), O_RDONLY, 0);
  CHECK_EQ(xrename(P("a"), P("b")), 0);
  check_contents(P("b"), "A");
  struct stat st;
  CHECK_ERRNO(syscall(SYS_lstat, P("a"), &st), ENOENT);
  /* the replaced file lives on while open */
  char c;
  CHECK_EQ(read(fd, &c, 1), 1);
  CHECK_EQ(c, 'B');
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK_EQ(st.st_nlink, 0);
  close(fd);
}

TEST(rename_across_directories_updates_nlink) {
  CHECK_OK(mkdir(P("x"), 0755));
  CHECK_OK(mkdir(P("y"), 0755));
  CHECK_OK(mkdir(P("x/sub"), 0755));
  put_file(P("x/sub/f"), "F", 0644);
  struct stat st;
  xstat(P("x"), &st);
  CHECK_EQ(st.st_nlink, 3);
  CHECK_EQ(xrename(P("x/sub"), P("y/moved")), 0);
  xstat(P("x"), &st);
  CHECK_EQ(st.st_nlink, 2);
  xstat(P("y"), &st);
  CHECK_EQ(st.st_nlink, 3);
  check_contents(P("y/moved/f"), "F");
  /* the moved directory's ".." is its new parent */
  struct stat up;
  xstat(P("y/moved/.."), &up);
  CHECK_EQ(up.st_ino, st.st_ino);
}

TEST(rename_dir_over_empty_dir) {
  CHECK_OK(mkdir(P("a"), 0755));
  put_file(P("a/f"), "F", 0644);
  CHECK_OK(mkdir(P("b"), 0755));
  CHECK_EQ(xrename(P("a"), P("b")), 0);
  check_contents(P("b/f"), "F");
  struct stat st;
  CHECK_ERRNO(syscall(SYS_lstat, P("a"), &st), ENOENT);
  xstat(scratch(), &st);
  CHECK_EQ(st.st_nlink, 3);
}

TEST(rename_dir_over_nonempty_dir_enotempty) {
  CHECK_OK(mkdir(P("a"), 0755));
  CHECK_OK(mkdir(P("b"), 0755));
  put_file(P("b/f"), "F", 0644);
  CHECK_ERRNO(xrename(P("a"), P("b")), ENOTEMPTY);
  check_contents(P("b/f"), "F");
  struct stat st;
  xstat(P("a"), &st);
  CHECK(S_ISDIR(st.st_mode));
}

TEST(rename_file_over_dir_eisdir) {
  put_file(P("f"), "F", 0644);
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_ERRNO(xrename(P("f"), P("d")), EISDIR);
  struct stat st;
  xstat(P("d"), &st);
  CHECK(S_ISDIR(st.st_mode));
  check_contents(P("f"), "F");
}

TEST(rename_dir_over_file_enotdir) {
  put_file(P("f"), "F", 0644);
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_ERRNO(xrename(P("d"), P("f")), ENOTDIR);
  check_contents(P("f"), "F");
}

TEST(rename_into_own_subdir_einval) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_OK(mkdir(P("d/sub"), 0755));
  CHECK_ERRNO(xrename(P("d"), P("d/sub/d")), EINVAL);
  CHECK_ERRNO(xrename(P("d"), P("d/inside")), EINVAL);
  struct stat st;
  xstat(P("d/sub"), &st);
}

TEST(rename_hard_links_to_same_file_noop) {
  put_file(P("a"), "A", 0644);
  CHECK_OK(link(P("a"), P("b")));
  CHECK_EQ(xrename(P("a"), P("b")), 0);
  /* nothing happens: both names remain */
  struct stat a, b;
  xstat(P("a"), &a);
  xstat(P("b"), &b);
  CHECK_EQ(a.st_ino, b.st_ino);
  CHECK_EQ(a.st_nlink, 2);
  /* renaming a name onto itself is fine too */
  CHECK_EQ(xrename(P("a"), P("a")), 0);
  xstat(P("a"), &a);
}

TEST(rename_symlink_moves_link_not_target) {
  put_file(P("target"), "T", 0644);
  CHECK_OK(symlink("target", P("l")));
  CHECK_EQ(xrename(P("l"), P("l2")), 0);
  struct stat st;
  xlstat(P("l2"), &st);
  CHECK(S_ISLNK(st.st_mode));
  xlstat(P("target"), &st);
  CHECK(S_ISREG(st.st_mode));
  check_contents(P("l2"), "T");
}

TEST(rename_errors_enoent_enotdir) {
  put_file(P("f"), "F", 0644);
  CHECK_ERRNO(xrename(P("missing"), P("x")), ENOENT);
  CHECK_ERRNO(xrename(P("f"), P("nodir/x")), ENOENT);
  CHECK_ERRNO(xrename("", P("x")), ENOENT);
  CHECK_ERRNO(xrename(P("f"), ""), ENOENT);
  CHECK_ERRNO(xrename(P("f/"), P("x")), ENOTDIR);
  CHECK_ERRNO(xrename(P("f"), P("f/x")), ENOTDIR);
  check_contents(P("f"), "F");
}

TEST(renameat_with_dirfds) {
  CHECK_OK(mkdir(P("x"), 0755));
  CHECK_OK(mkdir(P("y"), 0755));
  put_file(P("x/f"), "F", 0644);
  int xd = must_open(P("x"), O_RDONLY | O_DIRECTORY, 0);
  int yd = must_open(P("y"), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_renameat, xd, "f", yd, "g"), 0);
  check_contents(P("y/g"), "F");
  CHECK_ERRNO(syscall(SYS_renameat, -1, "g", yd, "h"), EBADF);
  CHECK_EQ(xrenameat2(yd, "g", xd, "back", 0), 0);
  check_contents(P("x/back"), "F");
  close(xd);
  close(yd);
}

TEST(renameat2_noreplace_eexist) {
  put_file(P("a"), "A", 0644);
  put_file(P("b"), "B", 0644);
  CHECK_ERRNO(xrenameat2(AT_FDCWD, P("a"), AT_FDCWD, P("b"), RENAME_NOREPLACE), EEXIST);
  check_contents(P("a"), "A");
  check_contents(P("b"), "B");
  /* a dangling symlink counts as existing */
  CHECK_OK(symlink("missing", P("l")));
  CHECK_ERRNO(xrenameat2(AT_FDCWD, P("a"), AT_FDCWD, P("l"), RENAME_NOREPLACE), EEXIST);
  /* and a free name is fine */
  CHECK_EQ(xrenameat2(AT_FDCWD, P("a"), AT_FDCWD, P("c"), RENAME_NOREPLACE), 0);
  check_contents(P("c"), "A");
}

TEST(renameat2_exchange_swaps) {
  put_file(P("a"), "A", 0644);
  put_file(P("b"), "B", 0644);
  struct stat a0, b0, st;
  xstat(P("a"), &a0);
  xstat(P("b"), &b0);
  CHECK_EQ(xrenameat2(AT_FDCWD, P("a"), AT_FDCWD, P("b"), RENAME_EXCHANGE), 0);
  check_contents(P("a"), "B");
  check_contents(P("b"), "A");
  xstat(P("a"), &st);
  CHECK_EQ(st.st_ino, b0.st_ino);
  xstat(P("b"), &st);
  CHECK_EQ(st.st_ino, a0.st_ino);
}

TEST(renameat2_exchange_file_and_dir) {
  put_file(P("f"), "F", 0644);
  CHECK_OK(mkdir(P("d"), 0755));
  put_file(P("d/inner"), "I", 0644);
  CHECK_EQ(xrenameat2(AT_FDCWD, P("f"), AT_FDCWD, P("d"), RENAME_EXCHANGE), 0);
  struct stat st;
  xlstat(P("f"), &st);
  CHECK(S_ISDIR(st.st_mode));
  check_contents(P("f/inner"), "I");
  xlstat(P("d"), &st);
  CHECK(S_ISREG(st.st_mode));
  check_contents(P("d"), "F");
}

TEST(renameat2_exchange_missing_enoent_bad_flags_einval) {
  put_file(P("a"), "A", 0644);
  put_file(P("b"), "B", 0644);
  CHECK_ERRNO(xrenameat2(AT_FDCWD, P("a"), AT_FDCWD, P("missing"), RENAME_EXCHANGE), ENOENT);
  CHECK_ERRNO(xrenameat2(AT_FDCWD, P("a"), AT_FDCWD, P("b"), RENAME_EXCHANGE | RENAME_NOREPLACE),
              EINVAL);
  CHECK_ERRNO(xrenameat2(AT_FDCWD, P("a"), AT_FDCWD, P("b"), 0x100), EINVAL);
  check_contents(P("a"), "A");
  check_contents(P("b"), "B");
}
