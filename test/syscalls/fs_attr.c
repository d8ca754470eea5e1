//go:build ignore

/*
 * fs_attr.c - inode attributes changed by a privileged caller: chmod, fchmod,
 * fchmodat, chown, fchown, lchown, fchownat, utimensat, futimesat, utimes and
 * umask, and the timestamps write(2) and truncate(2) update, in a scratch
 * directory under /tmp. The test runs as root; the cases that need an
 * unprivileged caller are in fs_perm.c.
 *
 * Follows chmod(2) (the mode bits including S_ISUID, S_ISGID, S_ISVTX;
 * fchmodat without flags at the system call level; ERRORS: ENOENT, EBADF),
 * open(2) (O_PATH: fchmod and fchown fail with EBADF), chown(2) (-1 leaves an
 * id alone; lchown does not follow links; fchownat AT_SYMLINK_NOFOLLOW and
 * AT_EMPTY_PATH; "When the owner or group of an executable file is changed
 * ... the S_ISUID and S_ISGID mode bits are cleared ... since Linux 2.2.13,
 * root is treated like other users"; ERRORS: EINVAL for flags),
 * utimensat(2) (explicit times, UTIME_NOW, UTIME_OMIT, times NULL,
 * AT_SYMLINK_NOFOLLOW, a NULL pathname operating on dirfd; ERRORS: EINVAL,
 * ENOENT), futimesat(2), utimes(2) (utime(2) page), umask(2) (returns the
 * previous mask, only the 0777 bits are used, it applies to open, mkdir and
 * mknod) and inode(7) (write and truncate update mtime and ctime; chmod
 * updates ctime).
 *
 * The calls under test are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <sys/time.h>
#include <time.h>

#define NOBODY 65534

static long long now_sec(void) {
  struct timespec ts;
  syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

static long xutimensat(int dfd, const char *p, const struct timespec *ts, int flags) {
  return syscall(SYS_utimensat, dfd, p, ts, flags);
}

static int mode_of(const char *p) {
  struct stat st;
  xlstat(p, &st);
  return st.st_mode & 07777;
}

TEST(chmod_sets_mode_and_ctime) {
  put_file(P("f"), "", 0644);
  long long t0 = now_sec();
  CHECK_EQ(syscall(SYS_chmod, P("f"), 0600), 0);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_mode & 07777, 0600);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_ctim.tv_sec >= t0 - 1 && st.st_ctim.tv_sec <= now_sec() + 1);
  CHECK_EQ(syscall(SYS_chmod, P("f"), 0), 0);
  CHECK_EQ(mode_of(P("f")), 0);
  /* the file type bits in mode are ignored */
  CHECK_EQ(syscall(SYS_chmod, P("f"), S_IFDIR | 0751), 0);
  xstat(P("f"), &st);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_mode & 07777, 0751);
}

TEST(chmod_special_bits_as_root) {
  put_file(P("f"), "", 0644);
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_EQ(syscall(SYS_chmod, P("f"), 07755), 0);
  CHECK_EQ(mode_of(P("f")), 07755);
  CHECK_EQ(syscall(SYS_chmod, P("d"), 01777), 0);
  CHECK_EQ(mode_of(P("d")), 01777);
  CHECK_EQ(syscall(SYS_chmod, P("d"), 02755), 0);
  CHECK_EQ(mode_of(P("d")), 02755);
}

TEST(chmod_follows_symlink) {
  put_file(P("f"), "", 0644);
  CHECK_OK(symlink("f", P("l")));
  struct stat before;
  xlstat(P("l"), &before);
  CHECK_EQ(syscall(SYS_chmod, P("l"), 0611), 0);
  CHECK_EQ(mode_of(P("f")), 0611);
  struct stat after;
  xlstat(P("l"), &after);
  CHECK_EQ(after.st_mode, before.st_mode);
}

TEST(fchmod_and_fchmodat) {
  put_file(P("f"), "", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  /* fchmod works whatever the open mode */
  CHECK_EQ(syscall(SYS_fchmod, fd, 0640), 0);
  CHECK_EQ(mode_of(P("f")), 0640);
  close(fd);
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_fchmodat, dfd, "f", 0604), 0);
  CHECK_EQ(mode_of(P("f")), 0604);
  CHECK_ERRNO(syscall(SYS_fchmodat, dfd, "missing", 0604), ENOENT);
  CHECK_ERRNO(syscall(SYS_fchmodat, -1, "f", 0604), EBADF);
  close(dfd);
}

TEST(chmod_errors) {
  put_file(P("f"), "", 0644);
  CHECK_ERRNO(syscall(SYS_chmod, P("missing"), 0644), ENOENT);
  CHECK_ERRNO(syscall(SYS_chmod, P("f/x"), 0644), ENOTDIR);
  CHECK_ERRNO(syscall(SYS_fchmod, -1, 0644), EBADF);
  int fd = must_open(P("f"), O_PATH, 0);
  CHECK_ERRNO(syscall(SYS_fchmod, fd, 0600), EBADF);
  CHECK_ERRNO(syscall(SYS_fchown, fd, 0, 0), EBADF);
  close(fd);
  CHECK_EQ(mode_of(P("f")), 0644);
}

TEST(chown_as_root) {
  if (geteuid() != 0) return;
  put_file(P("f"), "", 0644);
  CHECK_EQ(syscall(SYS_chown, P("f"), NOBODY, NOBODY), 0);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_uid, NOBODY);
  CHECK_EQ(st.st_gid, NOBODY);
  /* -1 leaves that id as it is */
  CHECK_EQ(syscall(SYS_chown, P("f"), 0, -1), 0);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_uid, 0);
  CHECK_EQ(st.st_gid, NOBODY);
  CHECK_EQ(syscall(SYS_chown, P("f"), -1, 0), 0);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_uid, 0);
  CHECK_EQ(st.st_gid, 0);
  CHECK_EQ(syscall(SYS_chown, P("f"), -1, -1), 0);
  CHECK_ERRNO(syscall(SYS_chown, P("missing"), 0, 0), ENOENT);
}

TEST(fchown_as_root) {
  if (geteuid() != 0) return;
  put_file(P("f"), "", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(syscall(SYS_fchown, fd, 123, 456), 0);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK_EQ(st.st_uid, 123);
  CHECK_EQ(st.st_gid, 456);
  close(fd);
  CHECK_ERRNO(syscall(SYS_fchown, fd, 0, 0), EBADF);
}

TEST(lchown_changes_link_not_target) {
  if (geteuid() != 0) return;
  put_file(P("f"), "", 0644);
  CHECK_OK(symlink("f", P("l")));
  CHECK_EQ(syscall(SYS_lchown, P("l"), NOBODY, NOBODY), 0);
  struct stat st;
  xlstat(P("l"), &st);
  CHECK_EQ(st.st_uid, NOBODY);
  CHECK_EQ(st.st_gid, NOBODY);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_uid, 0);
  /* chown follows the link */
  CHECK_EQ(syscall(SYS_chown, P("l"), 77, 78), 0);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_uid, 77);
  xlstat(P("l"), &st);
  CHECK_EQ(st.st_uid, NOBODY);
}

TEST(fchownat_flags) {
  if (geteuid() != 0) return;
  put_file(P("f"), "", 0644);
  CHECK_OK(symlink("f", P("l")));
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  CHECK_EQ(syscall(SYS_fchownat, dfd, "l", 11, 12, AT_SYMLINK_NOFOLLOW), 0);
  struct stat st;
  xlstat(P("l"), &st);
  CHECK_EQ(st.st_uid, 11);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_uid, 0);
  CHECK_EQ(syscall(SYS_fchownat, dfd, "l", 21, 22, 0), 0);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_uid, 21);
  CHECK_EQ(st.st_gid, 22);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(syscall(SYS_fchownat, fd, "", 31, 32, AT_EMPTY_PATH), 0);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_uid, 31);
  CHECK_ERRNO(syscall(SYS_fchownat, dfd, "f", 0, 0, 0x1), EINVAL);
  close(fd);
  close(dfd);
}

TEST(chown_clears_setuid_even_for_root) {
  if (geteuid() != 0) return;
  put_file(P("f"), "", 0644);
  CHECK_EQ(syscall(SYS_chmod, P("f"), 06755), 0);
  CHECK_EQ(mode_of(P("f")), 06755);
  CHECK_EQ(syscall(SYS_chown, P("f"), NOBODY, -1), 0);
  /* S_ISUID goes; S_ISGID too, since the group can execute */
  CHECK_EQ(mode_of(P("f")) & (S_ISUID | S_ISGID), 0);
  CHECK_EQ(mode_of(P("f")) & 0777, 0755);
}

TEST(utimensat_explicit_times_read_back) {
  put_file(P("f"), "", 0644);
  struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
  CHECK_EQ(xutimensat(AT_FDCWD, P("f"), ts, 0), 0);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_atim.tv_sec, 1000000000);
  CHECK_EQ(st.st_atim.tv_nsec, 123456789);
  CHECK_EQ(st.st_mtim.tv_sec, 1200000000);
  CHECK_EQ(st.st_mtim.tv_nsec, 987654321);
  /* before the epoch is fine too */
  struct timespec old[2] = {{-100, 0}, {0, 0}};
  CHECK_EQ(xutimensat(AT_FDCWD, P("f"), old, 0), 0);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_atim.tv_sec, -100);
  CHECK_EQ(st.st_mtim.tv_sec, 0);
}

TEST(utimensat_utime_now_and_omit) {
  put_file(P("f"), "", 0644);
  struct timespec ts[2] = {{500000000, 5}, {600000000, 6}};
  CHECK_EQ(xutimensat(AT_FDCWD, P("f"), ts, 0), 0);
  long long t0 = now_sec();
  /* atime to now, mtime untouched */
  struct timespec now_omit[2] = {{0, UTIME_NOW}, {12345, UTIME_OMIT}};
  CHECK_EQ(xutimensat(AT_FDCWD, P("f"), now_omit, 0), 0);
  struct stat st;
  xstat(P("f"), &st);
  CHECK(st.st_atim.tv_sec >= t0 - 1 && st.st_atim.tv_sec <= now_sec() + 1);
  CHECK_EQ(st.st_mtim.tv_sec, 600000000);
  CHECK_EQ(st.st_mtim.tv_nsec, 6);
  /* both omitted: nothing changes */
  struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  CHECK_EQ(xutimensat(AT_FDCWD, P("f"), omit, 0), 0);
  struct stat st2;
  xstat(P("f"), &st2);
  CHECK_EQ(st2.st_mtim.tv_sec, 600000000);
  CHECK_EQ(st2.st_atim.tv_sec, st.st_atim.tv_sec);
  /* times NULL: both to now */
  CHECK_EQ(xutimensat(AT_FDCWD, P("f"), NULL, 0), 0);
  xstat(P("f"), &st);
  CHECK(st.st_mtim.tv_sec >= t0 - 1 && st.st_mtim.tv_sec <= now_sec() + 1);
  CHECK(st.st_atim.tv_sec >= t0 - 1 && st.st_atim.tv_sec <= now_sec() + 1);
}

TEST(utimensat_symlink_nofollow_and_fd) {
  put_file(P("f"), "", 0644);
  CHECK_OK(symlink("f", P("l")));
  struct timespec ts[2] = {{111111111, 0}, {222222222, 0}};
  CHECK_EQ(xutimensat(AT_FDCWD, P("l"), ts, AT_SYMLINK_NOFOLLOW), 0);
  struct stat st;
  xlstat(P("l"), &st);
  CHECK_EQ(st.st_mtim.tv_sec, 222222222);
  xstat(P("f"), &st);
  CHECK(st.st_mtim.tv_sec != 222222222);
  /* a NULL pathname works on dirfd itself, like futimens */
  int fd = must_open(P("f"), O_RDONLY, 0);
  struct timespec ts2[2] = {{333333333, 0}, {444444444, 0}};
  CHECK_EQ(xutimensat(fd, NULL, ts2, 0), 0);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_atim.tv_sec, 333333333);
  CHECK_EQ(st.st_mtim.tv_sec, 444444444);
  close(fd);
}

TEST(utimensat_errors) {
  put_file(P("f"), "", 0644);
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  CHECK_ERRNO(xutimensat(AT_FDCWD, P("f"), bad, 0), EINVAL);
  struct timespec neg[2] = {{0, 0}, {0, -5}};
  CHECK_ERRNO(xutimensat(AT_FDCWD, P("f"), neg, 0), EINVAL);
  CHECK_ERRNO(xutimensat(AT_FDCWD, P("f"), NULL, 0x4), EINVAL);
  CHECK_ERRNO(xutimensat(AT_FDCWD, P("missing"), NULL, 0), ENOENT);
  CHECK_ERRNO(xutimensat(AT_FDCWD, "", NULL, 0), ENOENT);
  CHECK_ERRNO(xutimensat(-1, "f", NULL, 0), EBADF);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_ERRNO(xutimensat(fd, NULL, NULL, AT_SYMLINK_NOFOLLOW), EINVAL);
  close(fd);
}

TEST(futimesat_and_utimes) {
  put_file(P("f"), "", 0644);
  int dfd = must_open(scratch(), O_RDONLY | O_DIRECTORY, 0);
  struct timeval tv[2] = {{700000000, 250000}, {800000000, 500000}};
  CHECK_EQ(syscall(SYS_futimesat, dfd, "f", tv), 0);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_atim.tv_sec, 700000000);
  CHECK_EQ(st.st_atim.tv_nsec, 250000000);
  CHECK_EQ(st.st_mtim.tv_sec, 800000000);
  CHECK_EQ(st.st_mtim.tv_nsec, 500000000);
  struct timeval tv2[2] = {{900000000, 1}, {900000001, 2}};
  CHECK_EQ(syscall(SYS_utimes, P("f"), tv2), 0);
  xstat(P("f"), &st);
  CHECK_EQ(st.st_atim.tv_sec, 900000000);
  CHECK_EQ(st.st_atim.tv_nsec, 1000);
  CHECK_EQ(st.st_mtim.tv_sec, 900000001);
  long long t0 = now_sec();
  CHECK_EQ(syscall(SYS_futimesat, dfd, "f", NULL), 0);
  xstat(P("f"), &st);
  CHECK(st.st_mtim.tv_sec >= t0 - 1 && st.st_mtim.tv_sec <= now_sec() + 1);
  struct timeval bad[2] = {{0, 1000000}, {0, 0}};
  CHECK_ERRNO(syscall(SYS_futimesat, dfd, "f", bad), EINVAL);
  CHECK_ERRNO(syscall(SYS_futimesat, dfd, "missing", NULL), ENOENT);
  close(dfd);
}

TEST(write_and_truncate_update_mtime_ctime) {
  put_file(P("f"), "abc", 0644);
  struct timespec past[2] = {{100, 0}, {100, 0}};
  CHECK_EQ(xutimensat(AT_FDCWD, P("f"), past, 0), 0);
  long long t0 = now_sec();
  int fd = must_open(P("f"), O_WRONLY, 0);
  CHECK_EQ(write(fd, "x", 1), 1);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK(st.st_mtim.tv_sec >= t0 - 1);
  CHECK(st.st_ctim.tv_sec >= t0 - 1);
  CHECK_EQ(st.st_atim.tv_sec, 100);
  CHECK_EQ(xutimensat(fd, NULL, past, 0), 0);
  CHECK_EQ(syscall(SYS_ftruncate, fd, 1), 0);
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK(st.st_mtim.tv_sec >= t0 - 1);
  close(fd);
  /* creating an entry updates the directory's mtime */
  CHECK_EQ(xutimensat(AT_FDCWD, scratch(), past, 0), 0);
  put_file(P("g"), "", 0644);
  xstat(scratch(), &st);
  CHECK(st.st_mtim.tv_sec >= t0 - 1);
}

TEST(umask_returns_previous_and_masks_modes) {
  scratch(); /* sets 022 */
  CHECK_EQ(syscall(SYS_umask, 027), 022);
  CHECK_EQ(syscall(SYS_umask, 027), 027);
  long fd = syscall(SYS_open, P("f"), O_WRONLY | O_CREAT | O_CLOEXEC, 0777);
  CHECK(fd >= 0);
  close(fd);
  CHECK_EQ(mode_of(P("f")), 0750);
  CHECK_EQ(syscall(SYS_mkdir, P("d"), 0777), 0);
  CHECK_EQ(mode_of(P("d")), 0750);
  CHECK_EQ(syscall(SYS_mknod, P("p"), S_IFIFO | 0666, 0), 0);
  CHECK_EQ(mode_of(P("p")), 0640);
  /* only the permission bits of the mask are used */
  CHECK_EQ(syscall(SYS_umask, 07777), 027);
  CHECK_EQ(syscall(SYS_umask, 0), 0777);
  fd = syscall(SYS_open, P("g"), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  CHECK(fd >= 0);
  close(fd);
  CHECK_EQ(mode_of(P("g")), 0666);
  /* chmod is not affected by the mask */
  CHECK_EQ(syscall(SYS_umask, 077), 0);
  CHECK_EQ(syscall(SYS_chmod, P("g"), 0755), 0);
  CHECK_EQ(mode_of(P("g")), 0755);
}
