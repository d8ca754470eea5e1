//go:build ignore

/*
 * fs_open.c - opening files: open, openat, openat2, creat and close_range, in
 * a scratch directory under /tmp.
 *
 * Follows open(2) (O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW,
 * O_PATH, O_CLOEXEC, the creat() description, ERRORS: EEXIST, EISDIR, ENOENT,
 * ENOTDIR, ELOOP, EBADF), openat2(2) (struct open_how, RESOLVE_BENEATH,
 * RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS, "Extensibility", ERRORS: EINVAL,
 * E2BIG, ELOOP, EXDEV), close_range(2) (CLOSE_RANGE_CLOEXEC, ERRORS) and
 * fcntl(2) (F_GETFD, F_GETFL).
 *
 * The calls under test are made raw through syscall(2). Each case makes its
 * own scratch directory (data/fsutil.h) and removes it when it ends.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <linux/openat2.h>
#include <stdint.h>

/* the size of the first version of struct open_how (openat2(2), "Extensibility") */
#define OPEN_HOW_SIZE_VER0 24

static long xopen(const char *p, int flags, int mode) { return syscall(SYS_open, p, flags, mode); }
static long xopenat(int dfd, const char *p, int flags, int mode) {
  return syscall(SYS_openat, dfd, p, flags, mode);
}
static long xopenat2(int dfd, const char *p, struct open_how *how, size_t size) {
  return syscall(SYS_openat2, dfd, p, how, size);
}
static int is_open(int fd) { return syscall(SYS_fcntl, fd, F_GETFD) != -1; }

TEST(open_creat_makes_empty_file) {
  scratch(); /* sets the umask to 022 */
  long fd = xopen(P("f"), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  CHECK(fd >= 0);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_size, 0);
  CHECK_EQ(st.st_nlink, 1);
  CHECK_EQ(st.st_mode & 07777, 0644);
  close(fd);
  xstat(P("f"), &st);
  CHECK(S_ISREG(st.st_mode));
}

TEST(open_creat_excl_existing_eexist) {
  put_file(P("f"), "data", 0644);
  CHECK_ERRNO(xopen(P("f"), O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
  /* O_CREAT alone opens the existing file and leaves its contents */
  long fd = xopen(P("f"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  CHECK(fd >= 0);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK_EQ(st.st_size, 4);
  CHECK_EQ(st.st_mode & 0777, 0644);
  close(fd);
}

TEST(open_creat_excl_new_file_succeeds) {
  long fd = xopen(P("new"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  CHECK(fd >= 0);
  CHECK_EQ(write(fd, "abc", 3), 3);
  close(fd);
  char buf[16];
  CHECK_EQ(slurp(P("new"), buf, sizeof buf), 3);
  CHECK(strcmp(buf, "abc") == 0);
}

TEST(open_creat_excl_on_symlink_eexist) {
  /* O_EXCL with O_CREAT: a symbolic link at the path counts, even a dangling one */
  CHECK_OK(symlink("nowhere", P("dangling")));
  CHECK_ERRNO(xopen(P("dangling"), O_WRONLY | O_CREAT | O_EXCL, 0600), EEXIST);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P("nowhere"), &st), ENOENT);
}

TEST(open_creat_through_dangling_symlink_creates_target) {
  CHECK_OK(symlink("target", P("link")));
  long fd = xopen(P("link"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  CHECK(fd >= 0);
  CHECK_EQ(write(fd, "xy", 2), 2);
  close(fd);
  struct stat st;
  xlstat(P("target"), &st);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_size, 2);
}

TEST(open_trunc_empties_file) {
  put_file(P("f"), "0123456789", 0644);
  long fd = xopen(P("f"), O_WRONLY | O_TRUNC | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK_EQ(st.st_size, 0);
  CHECK_EQ(write(fd, "ab", 2), 2);
  close(fd);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_size, 2);
}

TEST(open_append_writes_at_end) {
  put_file(P("f"), "hello", 0644);
  long fd = xopen(P("f"), O_RDWR | O_APPEND | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  /* the offset starts at 0 and reads come from there ... */
  char c;
  CHECK_EQ(read(fd, &c, 1), 1);
  CHECK_EQ(c, 'h');
  /* ... but each write goes to the end, after which the offset is there */
  CHECK_EQ(syscall(SYS_lseek, fd, 0, SEEK_SET), 0);
  CHECK_EQ(write(fd, "!", 1), 1);
  CHECK_EQ(syscall(SYS_lseek, fd, 0, SEEK_CUR), 6);
  CHECK_EQ(write(fd, "?", 1), 1);
  close(fd);
  char buf[32];
  CHECK_EQ(slurp(P("f"), buf, sizeof buf), 7);
  CHECK(strcmp(buf, "hello!?") == 0);
}

TEST(open_directory_on_file_enotdir) {
  put_file(P("f"), "", 0644);
  CHECK_ERRNO(xopen(P("f"), O_RDONLY | O_DIRECTORY, 0), ENOTDIR);
  long fd = xopen(scratch(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  close(fd);
}

TEST(open_nofollow_on_symlink_eloop) {
  put_file(P("f"), "x", 0644);
  CHECK_OK(symlink("f", P("l")));
  CHECK_ERRNO(xopen(P("l"), O_RDONLY | O_NOFOLLOW, 0), ELOOP);
  /* without O_NOFOLLOW the link is followed */
  long fd = xopen(P("l"), O_RDONLY | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  close(fd);
  /* O_NOFOLLOW only concerns the last component */
  CHECK_OK(mkdir(P("d"), 0755));
  put_file(P("d/g"), "y", 0644);
  CHECK_OK(symlink("d", P("dl")));
  fd = xopen(P("dl/g"), O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  close(fd);
}

TEST(open_path_fd_fstat_works_read_ebadf) {
  put_file(P("f"), "abcdef", 0644);
  long fd = xopen(P("f"), O_PATH | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_size, 6);
  char buf[8];
  CHECK_ERRNO(syscall(SYS_read, fd, buf, sizeof buf), EBADF);
  CHECK_ERRNO(syscall(SYS_write, fd, "z", 1), EBADF);
  /* F_GETFL reports O_PATH */
  long fl = syscall(SYS_fcntl, fd, F_GETFL);
  CHECK(fl != -1);
  CHECK((fl & O_PATH) == O_PATH);
  close(fd);
}

TEST(open_path_dir_fd_as_openat_base) {
  CHECK_OK(mkdir(P("d"), 0755));
  put_file(P("d/f"), "q", 0644);
  long dfd = xopen(P("d"), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  CHECK(dfd >= 0);
  long fd = xopenat(dfd, "f", O_RDONLY | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  char c = 0;
  CHECK_EQ(read(fd, &c, 1), 1);
  CHECK_EQ(c, 'q');
  close(fd);
  close(dfd);
}

TEST(open_path_on_symlink_with_nofollow) {
  /* O_PATH | O_NOFOLLOW opens the symbolic link itself */
  CHECK_OK(symlink("nowhere", P("l")));
  long fd = xopen(P("l"), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK_EQ(st.st_size, 7);
  close(fd);
}

TEST(open_missing_enoent_and_missing_dir_enoent) {
  CHECK_ERRNO(xopen(P("missing"), O_RDONLY, 0), ENOENT);
  CHECK_ERRNO(xopen(P("nodir/f"), O_RDWR | O_CREAT, 0644), ENOENT);
  CHECK_ERRNO(xopen("", O_RDONLY, 0), ENOENT);
}

TEST(open_dir_for_writing_eisdir) {
  CHECK_ERRNO(xopen(scratch(), O_WRONLY, 0), EISDIR);
  CHECK_ERRNO(xopen(scratch(), O_RDWR, 0), EISDIR);
  CHECK_ERRNO(xopen(scratch(), O_RDONLY | O_TRUNC, 0), EISDIR);
}

TEST(open_access_mode_enforced_ebadf) {
  put_file(P("f"), "abc", 0644);
  long r = xopen(P("f"), O_RDONLY | O_CLOEXEC, 0);
  long w = xopen(P("f"), O_WRONLY | O_CLOEXEC, 0);
  CHECK(r >= 0 && w >= 0);
  char c;
  CHECK_ERRNO(syscall(SYS_write, r, "z", 1), EBADF);
  CHECK_ERRNO(syscall(SYS_read, w, &c, 1), EBADF);
  CHECK_EQ(syscall(SYS_fcntl, r, F_GETFL) & O_ACCMODE, O_RDONLY);
  CHECK_EQ(syscall(SYS_fcntl, w, F_GETFL) & O_ACCMODE, O_WRONLY);
  close(r);
  close(w);
}

TEST(open_cloexec_reported_by_getfd) {
  put_file(P("f"), "", 0644);
  long a = xopen(P("f"), O_RDONLY | O_CLOEXEC, 0);
  long b = xopen(P("f"), O_RDONLY, 0);
  CHECK(a >= 0 && b >= 0);
  CHECK_EQ(syscall(SYS_fcntl, a, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(syscall(SYS_fcntl, b, F_GETFD), 0);
  /* O_CLOEXEC is a descriptor flag, not a file status flag */
  CHECK_EQ(syscall(SYS_fcntl, a, F_GETFL) & O_CLOEXEC, 0);
  close(a);
  close(b);
}

TEST(openat_relative_to_dirfd) {
  CHECK_OK(mkdir(P("d"), 0755));
  long dfd = xopen(P("d"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  CHECK(dfd >= 0);
  long fd = xopenat(dfd, "f", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  CHECK(fd >= 0);
  close(fd);
  struct stat st;
  xstat(P("d/f"), &st);
  CHECK(S_ISREG(st.st_mode));
  /* an absolute path ignores dirfd, even an invalid one */
  fd = xopenat(-1, P("d/f"), O_RDONLY | O_CLOEXEC, 0);
  CHECK(fd >= 0);
  close(fd);
  /* a relative path with a bad dirfd is EBADF, with a file dirfd ENOTDIR */
  CHECK_ERRNO(xopenat(-1, "f", O_RDONLY, 0), EBADF);
  long ffd = xopen(P("d/f"), O_RDONLY | O_CLOEXEC, 0);
  CHECK(ffd >= 0);
  CHECK_ERRNO(xopenat(ffd, "f", O_RDONLY, 0), ENOTDIR);
  close(ffd);
  close(dfd);
}

TEST(creat_is_open_wronly_creat_trunc) {
  put_file(P("f"), "old contents", 0644);
  long fd = syscall(SYS_creat, P("f"), 0600);
  CHECK(fd >= 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFL) & O_ACCMODE, O_WRONLY);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK_EQ(st.st_size, 0);
  /* an existing file keeps its mode */
  CHECK_EQ(st.st_mode & 0777, 0644);
  close(fd);
  fd = syscall(SYS_creat, P("g"), 0600);
  CHECK(fd >= 0);
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK_EQ(st.st_mode & 0777, 0600);
  close(fd);
}

TEST(openat2_plain_open_and_create) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDWR | O_CREAT | O_CLOEXEC;
  how.mode = 0600;
  long fd = xopenat2(AT_FDCWD, P("f"), &how, sizeof how);
  CHECK(fd >= 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFD), FD_CLOEXEC);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_mode & 0777, 0600);
  close(fd);
}

TEST(openat2_resolve_beneath_dotdot_exdev) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_OK(mkdir(P("d/sub"), 0755));
  put_file(P("outside"), "", 0644);
  put_file(P("d/inside"), "", 0644);
  long dfd = xopen(P("d"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  CHECK(dfd >= 0);
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH;
  CHECK_ERRNO(xopenat2(dfd, "../outside", &how, sizeof how), EXDEV);
  CHECK_ERRNO(xopenat2(dfd, "sub/../../outside", &how, sizeof how), EXDEV);
  /* an absolute path escapes too */
  CHECK_ERRNO(xopenat2(dfd, P("d/inside"), &how, sizeof how), EXDEV);
  /* ".." that stays beneath is fine */
  long fd = xopenat2(dfd, "sub/../inside", &how, sizeof how);
  CHECK(fd >= 0);
  close(fd);
  close(dfd);
}

TEST(openat2_resolve_in_root_clamps_dotdot) {
  CHECK_OK(mkdir(P("root"), 0755));
  put_file(P("root/f"), "in", 0644);
  put_file(P("f"), "out", 0644);
  long dfd = xopen(P("root"), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  CHECK(dfd >= 0);
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  /* ".." at the root stays at the root, "/" means dirfd */
  long fd = xopenat2(dfd, "../../f", &how, sizeof how);
  CHECK(fd >= 0);
  char buf[8] = {0};
  CHECK_EQ(read(fd, buf, sizeof buf), 2);
  CHECK(strcmp(buf, "in") == 0);
  close(fd);
  fd = xopenat2(dfd, "/f", &how, sizeof how);
  CHECK(fd >= 0);
  memset(buf, 0, sizeof buf);
  CHECK_EQ(read(fd, buf, sizeof buf), 2);
  CHECK(strcmp(buf, "in") == 0);
  close(fd);
  close(dfd);
}

TEST(openat2_resolve_no_symlinks_eloop) {
  put_file(P("f"), "", 0644);
  CHECK_OK(symlink("f", P("l")));
  CHECK_OK(mkdir(P("d"), 0755));
  put_file(P("d/g"), "", 0644);
  CHECK_OK(symlink("d", P("dl")));
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("l"), &how, sizeof how), ELOOP);
  /* any component, not just the last */
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("dl/g"), &how, sizeof how), ELOOP);
  long fd = xopenat2(AT_FDCWD, P("d/g"), &how, sizeof how);
  CHECK(fd >= 0);
  close(fd);
}

TEST(openat2_bad_flags_and_mode_einval) {
  put_file(P("f"), "", 0644);
  struct open_how how;
  memset(&how, 0, sizeof how);
  /* unknown open flag bit */
  how.flags = O_RDONLY | (1ULL << 40);
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("f"), &how, sizeof how), EINVAL);
  /* unknown resolve bit */
  how.flags = O_RDONLY;
  how.resolve = 1ULL << 50;
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("f"), &how, sizeof how), EINVAL);
  /* a mode without O_CREAT or O_TMPFILE */
  how.resolve = 0;
  how.mode = 0644;
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("f"), &how, sizeof how), EINVAL);
  /* a mode with bits outside S_IALLUGO */
  how.flags = O_RDWR | O_CREAT;
  how.mode = 0100644;
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("g"), &how, sizeof how), EINVAL);
}

TEST(openat2_size_checks) {
  put_file(P("f"), "", 0644);
  struct { struct open_how how; uint64_t extra; } big;
  memset(&big, 0, sizeof big);
  big.how.flags = O_RDONLY | O_CLOEXEC;
  /* smaller than the first version (24 bytes) */
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("f"), &big.how, 0), EINVAL);
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("f"), &big.how, OPEN_HOW_SIZE_VER0 - 1), EINVAL);
  /* larger is fine when the tail is zero ... */
  long fd = xopenat2(AT_FDCWD, P("f"), &big.how, sizeof big);
  CHECK(fd >= 0);
  close(fd);
  /* ... and E2BIG when it is not */
  big.extra = 1;
  CHECK_ERRNO(xopenat2(AT_FDCWD, P("f"), &big.how, sizeof big), E2BIG);
}

TEST(close_range_closes_range) {
  put_file(P("f"), "", 0644);
  int base = 200;
  for (int i = 0; i < 5; i++) {
    long fd = xopen(P("f"), O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_EQ(syscall(SYS_dup2, fd, base + i), base + i);
    close(fd);
  }
  CHECK_EQ(syscall(SYS_close_range, base + 1, base + 3, 0), 0);
  CHECK(is_open(base));
  CHECK(!is_open(base + 1));
  CHECK(!is_open(base + 2));
  CHECK(!is_open(base + 3));
  CHECK(is_open(base + 4));
  /* closed or never-open descriptors in the range are no error */
  CHECK_EQ(syscall(SYS_close_range, base, ~0U, 0), 0);
  CHECK(!is_open(base));
  CHECK(!is_open(base + 4));
  CHECK(is_open(1));
}

TEST(close_range_cloexec_and_einval) {
  put_file(P("f"), "", 0644);
  long fd = xopen(P("f"), O_RDONLY, 0);
  CHECK(fd >= 0);
  CHECK_EQ(syscall(SYS_dup2, fd, 210), 210);
  CHECK_EQ(syscall(SYS_dup2, fd, 211), 211);
  close(fd);
  CHECK_EQ(syscall(SYS_close_range, 210, 211, CLOSE_RANGE_CLOEXEC), 0);
  CHECK_EQ(syscall(SYS_fcntl, 210, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(syscall(SYS_fcntl, 211, F_GETFD), FD_CLOEXEC);
  CHECK_ERRNO(syscall(SYS_close_range, 211, 210, 0), EINVAL);
  CHECK_ERRNO(syscall(SYS_close_range, 210, 211, 0x80000000U), EINVAL);
  CHECK(is_open(210) && is_open(211));
}

TEST(open_enametoolong_component_and_path) {
  char name[301];
  memset(name, 'n', 300);
  name[300] = 0;
  char comp[600];
  snprintf(comp, sizeof comp, "%s/%s", scratch(), name);
  CHECK_ERRNO(xopen(comp, O_RDONLY, 0), ENAMETOOLONG);
  CHECK_ERRNO(xopen(comp, O_RDWR | O_CREAT, 0644), ENAMETOOLONG);
  /* 5000 bytes of "a/a/a/..." is longer than PATH_MAX */
  static char path[5001];
  for (int i = 0; i < 5000; i += 2) { path[i] = 'a'; path[i + 1] = '/'; }
  path[4999] = 'a';
  path[5000] = 0;
  CHECK_ERRNO(xopen(path, O_RDONLY, 0), ENAMETOOLONG);
}

TEST(open_through_file_enotdir_and_trailing_slash) {
  put_file(P("f"), "", 0644);
  CHECK_ERRNO(xopen(P("f/x"), O_RDONLY, 0), ENOTDIR);
  CHECK_ERRNO(xopen(P("f/x"), O_RDWR | O_CREAT, 0644), ENOTDIR);
  CHECK_ERRNO(xopen(P("f/"), O_RDONLY, 0), ENOTDIR);
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P("f/"), &st), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_stat, P("f/."), &st), ENOTDIR);
}
