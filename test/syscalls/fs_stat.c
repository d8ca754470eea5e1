//go:build ignore

/*
 * fs_stat.c - file status: stat, lstat, fstat, newfstatat, statx, access,
 * faccessat, faccessat2, statfs and fstatfs, in a scratch directory under /tmp
 * and on the few host files every Linux system has (/, /etc/passwd, /dev/null,
 * /proc/self).
 *
 * Follows stat(2) (struct stat, fstatat: AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW,
 * ERRORS), inode(7) (file type and mode, link count), statx(2)
 * (the mask, STATX_BASIC_STATS, AT_STATX_* flags, ERRORS: EINVAL for a
 * reserved mask bit or bad flags), access(2) (F_OK, R_OK, W_OK, X_OK, the
 * privileged caller and X_OK, faccessat flags, ERRORS) and statfs(2) (f_type
 * magic numbers, f_bsize).
 *
 * A directory's link count is taken to be 2 plus its number of subdirectories
 * (its entry, its "." and each child's ".."; path_resolution(7) ". and ..").
 * That is what Linux's ext4 and tmpfs report and the host /tmp is ext4, though
 * some filesystems (btrfs) report 1 for every directory.
 *
 * The calls under test are made raw through syscall(2): glibc's stat, fstat and
 * faccessat are wrappers over other calls. The test runs as root, so access
 * checks here are those of a privileged caller (see fs_perm.c for the others).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif

#define TMPFS_MAGIC 0x01021994
#define PROC_SUPER_MAGIC 0x9fa0

static long xstatx(int dfd, const char *p, int flags, unsigned mask, struct statx *sx) {
  return syscall(SYS_statx, dfd, p, flags, mask, sx);
}
static long xfaccessat2(int dfd, const char *p, int mode, int flags) {
  return syscall(SYS_faccessat2, dfd, p, mode, flags);
}

TEST(stat_regular_file_fields) {
  put_file(P("f"), "twelve bytes", 0640);
  struct stat st;
  memset(&st, 0xff, sizeof st);
  CHECK_EQ(syscall(SYS_stat, P("f"), &st), 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_mode & 07777, 0640);
  CHECK_EQ(st.st_size, 12);
  CHECK_EQ(st.st_nlink, 1);
  CHECK_EQ(st.st_uid, geteuid());
  CHECK_EQ(st.st_gid, getegid());
  CHECK(st.st_ino != 0);
  CHECK(st.st_blksize > 0);
  CHECK_EQ(st.st_rdev, 0);
  /* same inode and device as the directory's other entries' filesystem */
  struct stat dst;
  xstat(scratch(), &dst);
  CHECK_EQ(st.st_dev, dst.st_dev);
  CHECK(st.st_ino != dst.st_ino);
}

TEST(lstat_reports_symlink_stat_follows) {
  put_file(P("target"), "abc", 0644);
  CHECK_OK(symlink("target", P("l")));
  struct stat ls, st, ts;
  CHECK_EQ(syscall(SYS_lstat, P("l"), &ls), 0);
  CHECK(S_ISLNK(ls.st_mode));
  /* a symbolic link's size is the length of its contents, without a NUL */
  CHECK_EQ(ls.st_size, 6);
  CHECK_EQ(syscall(SYS_stat, P("l"), &st), 0);
  CHECK_EQ(syscall(SYS_stat, P("target"), &ts), 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_ino, ts.st_ino);
  CHECK_EQ(st.st_size, 3);
  CHECK(ls.st_ino != ts.st_ino);
  /* lstat of a non-link is stat */
  CHECK_EQ(syscall(SYS_lstat, P("target"), &ls), 0);
  CHECK_EQ(ls.st_ino, ts.st_ino);
}

TEST(stat_dangling_symlink_enoent_lstat_ok) {
  CHECK_OK(symlink("missing", P("l")));
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P("l"), &st), ENOENT);
  CHECK_EQ(syscall(SYS_lstat, P("l"), &st), 0);
  CHECK(S_ISLNK(st.st_mode));
}

TEST(fstat_matches_stat) {
  put_file(P("f"), "some data", 0600);
  int fd = must_open(P("f"), O_RDONLY, 0);
  struct stat a, b;
  CHECK_EQ(syscall(SYS_fstat, fd, &a), 0);
  xstat(P("f"), &b);
  CHECK_EQ(a.st_dev, b.st_dev);
  CHECK_EQ(a.st_ino, b.st_ino);
  CHECK_EQ(a.st_mode, b.st_mode);
  CHECK_EQ(a.st_size, b.st_size);
  CHECK_EQ(a.st_nlink, b.st_nlink);
  /* fstat follows the open file, not the name */
  CHECK_OK(unlink(P("f")));
  CHECK_EQ(syscall(SYS_fstat, fd, &a), 0);
  CHECK_EQ(a.st_ino, b.st_ino);
  CHECK_EQ(a.st_nlink, 0);
  CHECK_EQ(a.st_size, 9);
  close(fd);
}

TEST(stat_errors_enoent_ebadf) {
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P("missing"), &st), ENOENT);
  CHECK_ERRNO(syscall(SYS_stat, "", &st), ENOENT);
  CHECK_ERRNO(syscall(SYS_lstat, P("missing/x"), &st), ENOENT);
  CHECK_ERRNO(syscall(SYS_fstat, -1, &st), EBADF);
  CHECK_ERRNO(syscall(SYS_fstat, 4321, &st), EBADF);
}

TEST(newfstatat_symlink_nofollow) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_OK(symlink("d", P("l")));
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  struct stat st;
  CHECK_EQ(syscall(SYS_newfstatat, dfd, "l", &st, AT_SYMLINK_NOFOLLOW), 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK_EQ(syscall(SYS_newfstatat, dfd, "l", &st, 0), 0);
  CHECK(S_ISDIR(st.st_mode));
  /* AT_FDCWD with an absolute path */
  CHECK_EQ(syscall(SYS_newfstatat, AT_FDCWD, P("l"), &st, AT_SYMLINK_NOFOLLOW), 0);
  CHECK(S_ISLNK(st.st_mode));
  close(dfd);
}

TEST(newfstatat_empty_path) {
  put_file(P("f"), "1234567", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  struct stat a, b;
  CHECK_EQ(syscall(SYS_newfstatat, fd, "", &a, AT_EMPTY_PATH), 0);
  CHECK_EQ(syscall(SYS_fstat, fd, &b), 0);
  CHECK_EQ(a.st_ino, b.st_ino);
  CHECK_EQ(a.st_size, 7);
  /* without AT_EMPTY_PATH an empty path is ENOENT */
  CHECK_ERRNO(syscall(SYS_newfstatat, fd, "", &a, 0), ENOENT);
  close(fd);
  /* it works on an O_PATH descriptor too, and on a directory */
  fd = must_open(P("f"), O_PATH, 0);
  CHECK_EQ(syscall(SYS_newfstatat, fd, "", &a, AT_EMPTY_PATH), 0);
  CHECK_EQ(a.st_ino, b.st_ino);
  close(fd);
  fd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_newfstatat, fd, "", &a, AT_EMPTY_PATH), 0);
  CHECK(S_ISDIR(a.st_mode));
  close(fd);
}

TEST(newfstatat_bad_flags_einval) {
  struct stat st;
  CHECK_ERRNO(syscall(SYS_newfstatat, AT_FDCWD, scratch(), &st, 0x40000000), EINVAL);
  CHECK_ERRNO(syscall(SYS_newfstatat, -1, "rel", &st, 0), EBADF);
}

TEST(statx_basic_stats_equal_stat) {
  put_file(P("f"), "statx contents", 0604);
  struct statx sx;
  struct stat st;
  memset(&sx, 0xee, sizeof sx);
  CHECK_EQ(xstatx(AT_FDCWD, P("f"), 0, STATX_BASIC_STATS, &sx), 0);
  xstat(P("f"), &st);
  CHECK_EQ(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
  CHECK_EQ(sx.stx_mode, st.st_mode);
  CHECK_EQ(sx.stx_nlink, st.st_nlink);
  CHECK_EQ(sx.stx_uid, st.st_uid);
  CHECK_EQ(sx.stx_gid, st.st_gid);
  CHECK_EQ(sx.stx_ino, st.st_ino);
  CHECK_EQ(sx.stx_size, st.st_size);
  CHECK_EQ(sx.stx_blocks, st.st_blocks);
  CHECK_EQ(sx.stx_blksize, st.st_blksize);
  CHECK_EQ(makedev(sx.stx_dev_major, sx.stx_dev_minor), st.st_dev);
  CHECK_EQ(makedev(sx.stx_rdev_major, sx.stx_rdev_minor), st.st_rdev);
  CHECK_EQ(sx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
  CHECK_EQ(sx.stx_mtime.tv_nsec, st.st_mtim.tv_nsec);
  CHECK_EQ(sx.stx_atime.tv_sec, st.st_atim.tv_sec);
  CHECK_EQ(sx.stx_ctime.tv_sec, st.st_ctim.tv_sec);
  CHECK_EQ(sx.stx_ctime.tv_nsec, st.st_ctim.tv_nsec);
}

TEST(statx_symlink_nofollow_and_empty_path) {
  put_file(P("f"), "abcd", 0644);
  CHECK_OK(symlink("f", P("l")));
  struct statx sx;
  CHECK_EQ(xstatx(AT_FDCWD, P("l"), AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_SIZE, &sx), 0);
  CHECK(sx.stx_mask & STATX_TYPE);
  CHECK(S_ISLNK(sx.stx_mode));
  CHECK_EQ(sx.stx_size, 1);
  CHECK_EQ(xstatx(AT_FDCWD, P("l"), 0, STATX_TYPE | STATX_SIZE, &sx), 0);
  CHECK(S_ISREG(sx.stx_mode));
  CHECK_EQ(sx.stx_size, 4);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(xstatx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &sx), 0);
  CHECK_EQ(sx.stx_size, 4);
  CHECK_ERRNO(xstatx(fd, "", 0, STATX_SIZE, &sx), ENOENT);
  close(fd);
}

TEST(statx_mask_zero_and_sync_flags_ok) {
  /* a mask of 0 is allowed; the sync-type flags are each allowed alone */
  struct statx sx;
  CHECK_EQ(xstatx(AT_FDCWD, scratch(), 0, 0, &sx), 0);
  CHECK_EQ(xstatx(AT_FDCWD, scratch(), AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &sx), 0);
  CHECK_EQ(xstatx(AT_FDCWD, scratch(), AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx), 0);
  CHECK(S_ISDIR(sx.stx_mode));
}

TEST(statx_reserved_mask_and_bad_flags_einval) {
  struct statx sx;
  CHECK_ERRNO(xstatx(AT_FDCWD, scratch(), 0, 0x80000000U, &sx), EINVAL);
  CHECK_ERRNO(xstatx(AT_FDCWD, scratch(), 0x40000000, STATX_BASIC_STATS, &sx), EINVAL);
  CHECK_ERRNO(xstatx(AT_FDCWD, scratch(), AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
                     STATX_BASIC_STATS, &sx), EINVAL);
  CHECK_ERRNO(xstatx(AT_FDCWD, P("missing"), 0, STATX_BASIC_STATS, &sx), ENOENT);
}

TEST(stat_directory_nlink_counts_subdirs) {
  CHECK_OK(mkdir(P("d"), 0755));
  struct stat st;
  xstat(P("d"), &st);
  CHECK(S_ISDIR(st.st_mode));
  /* "." and the entry in the parent */
  CHECK_EQ(st.st_nlink, 2);
  CHECK_OK(mkdir(P("d/a"), 0755));
  CHECK_OK(mkdir(P("d/b"), 0755));
  put_file(P("d/file"), "", 0644);
  xstat(P("d"), &st);
  /* each subdirectory's ".." adds one; files do not */
  CHECK_EQ(st.st_nlink, 4);
  CHECK_OK(rmdir(P("d/a")));
  xstat(P("d"), &st);
  CHECK_EQ(st.st_nlink, 3);
}

TEST(stat_host_files) {
  scratch();
  struct stat st;
  CHECK_EQ(syscall(SYS_stat, "/", &st), 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK_EQ(syscall(SYS_stat, "/etc", &st), 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK_EQ(syscall(SYS_stat, "/etc/passwd", &st), 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_size > 0);
  CHECK_EQ(syscall(SYS_stat, "/dev/null", &st), 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_EQ(major(st.st_rdev), 1);
  CHECK_EQ(minor(st.st_rdev), 3);
  CHECK_EQ(syscall(SYS_stat, "/proc/self", &st), 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK_EQ(syscall(SYS_lstat, "/proc/self", &st), 0);
  CHECK(S_ISLNK(st.st_mode));
}

TEST(access_f_ok_existing_and_missing) {
  put_file(P("f"), "", 0644);
  CHECK_EQ(syscall(SYS_access, P("f"), F_OK), 0);
  CHECK_EQ(syscall(SYS_access, scratch(), F_OK), 0);
  CHECK_ERRNO(syscall(SYS_access, P("missing"), F_OK), ENOENT);
  CHECK_ERRNO(syscall(SYS_access, P("missing/x"), F_OK), ENOENT);
  CHECK_ERRNO(syscall(SYS_access, P("f/x"), F_OK), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_access, P("f"), 0x10), EINVAL);
}

TEST(access_as_root_rw_ignore_mode_x_needs_a_bit) {
  if (geteuid() != 0) return; /* only meaningful for a privileged caller */
  put_file(P("none"), "", 0000);
  put_file(P("rw"), "", 0644);
  put_file(P("ox"), "", 0601);
  CHECK_EQ(syscall(SYS_access, P("none"), R_OK | W_OK), 0);
  /* X_OK on a regular file needs an execute bit for someone */
  CHECK_ERRNO(syscall(SYS_access, P("none"), X_OK), EACCES);
  CHECK_ERRNO(syscall(SYS_access, P("rw"), X_OK), EACCES);
  CHECK_EQ(syscall(SYS_access, P("ox"), R_OK | W_OK | X_OK), 0);
  /* directories are searchable for root whatever their mode */
  CHECK_OK(mkdir(P("d"), 0));
  CHECK_EQ(syscall(SYS_access, P("d"), R_OK | W_OK | X_OK), 0);
}

TEST(faccessat_relative_to_dirfd) {
  CHECK_OK(mkdir(P("d"), 0755));
  put_file(P("d/f"), "", 0644);
  int dfd = must_open(P("d"), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_faccessat, dfd, "f", R_OK), 0);
  CHECK_ERRNO(syscall(SYS_faccessat, dfd, "g", F_OK), ENOENT);
  CHECK_ERRNO(syscall(SYS_faccessat, -1, "f", F_OK), EBADF);
  close(dfd);
}

TEST(faccessat2_flags) {
  CHECK_OK(symlink("missing", P("dangling")));
  put_file(P("f"), "", 0644);
  CHECK_EQ(xfaccessat2(AT_FDCWD, P("f"), R_OK, AT_EACCESS), 0);
  /* AT_SYMLINK_NOFOLLOW checks the link itself, which exists */
  CHECK_EQ(xfaccessat2(AT_FDCWD, P("dangling"), F_OK, AT_SYMLINK_NOFOLLOW), 0);
  CHECK_ERRNO(xfaccessat2(AT_FDCWD, P("dangling"), F_OK, 0), ENOENT);
  /* AT_EMPTY_PATH checks dirfd itself */
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(xfaccessat2(fd, "", F_OK, AT_EMPTY_PATH), 0);
  close(fd);
  CHECK_ERRNO(xfaccessat2(AT_FDCWD, P("f"), F_OK, 0x1), EINVAL);
  CHECK_ERRNO(xfaccessat2(AT_FDCWD, P("f"), 0x80, 0), EINVAL);
}

TEST(statfs_fields) {
  struct statfs sf;
  memset(&sf, 0, sizeof sf);
  CHECK_EQ(syscall(SYS_statfs, scratch(), &sf), 0);
  CHECK(sf.f_type != 0);
  CHECK(sf.f_bsize > 0);
  CHECK(sf.f_namelen >= 255);
  CHECK(sf.f_bavail <= sf.f_bfree);
  CHECK(sf.f_bfree <= sf.f_blocks);
  CHECK_ERRNO(syscall(SYS_statfs, P("missing"), &sf), ENOENT);
}

TEST(fstatfs_agrees_with_statfs) {
  put_file(P("f"), "", 0644);
  struct statfs a, b;
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(syscall(SYS_fstatfs, fd, &a), 0);
  CHECK_EQ(syscall(SYS_statfs, P("f"), &b), 0);
  CHECK(a.f_type != 0);
  CHECK(a.f_bsize > 0);
  CHECK_EQ(a.f_type, b.f_type);
  CHECK_EQ(a.f_bsize, b.f_bsize);
  CHECK_EQ(memcmp(&a.f_fsid, &b.f_fsid, sizeof a.f_fsid), 0);
  close(fd);
  CHECK_ERRNO(syscall(SYS_fstatfs, -1, &a), EBADF);
}

TEST(statfs_proc_and_memfd) {
  scratch();
  struct statfs sf;
  CHECK_EQ(syscall(SYS_statfs, "/proc/self", &sf), 0);
  CHECK_EQ(sf.f_type, PROC_SUPER_MAGIC);
  /* a memfd lives on tmpfs (memfd_create(2): "behaves like a regular file") */
  long fd = syscall(SYS_memfd_create, "statfs", MFD_CLOEXEC);
  CHECK(fd >= 0);
  CHECK_EQ(syscall(SYS_fstatfs, fd, &sf), 0);
  CHECK_EQ(sf.f_type, TMPFS_MAGIC);
  close(fd);
}
