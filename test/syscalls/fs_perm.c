//go:build ignore

/*
 * fs_perm.c - permission checks for an unprivileged caller, in a scratch
 * directory under /tmp. The test starts as root, sets up files, then drops
 * privileges in its own process with setgroups(0, NULL), setresgid and
 * setresuid to uid/gid 65534, keeping 0 as the saved set-user-ID so it can
 * become root again for cleanup. A sandbox without setresuid fails these
 * cases; that is why they are kept out of the other fs_*.c files.
 *
 * Follows path_resolution(7) ("Permissions": only one of the owner, group
 * and other classes is checked; search permission on every directory of the
 * prefix; a privileged process bypasses read and write checks, and execute
 * checks when some execute bit is set), credentials(7) and setresuid(2) (an
 * unprivileged process may set each id only to its current real, effective or
 * saved id; EPERM), capabilities(7) (dropping the effective uid from 0 clears
 * the effective capabilities, restoring it restores them while the saved uid
 * is 0), open(2) (EACCES; EPERM for O_NOATIME on another's file), access(2)
 * (the real ids are used, AT_EACCESS uses the effective ones), mkdir(2),
 * unlink(2), rename(2) and rmdir(2) (EACCES for a directory without write or
 * search permission; EPERM in a sticky directory), chmod(2) (EPERM for
 * another's file; S_ISGID silently cleared when the caller is not in the
 * file's group), chown(2) (EPERM), utimensat(2) (EACCES for NULL times
 * without write permission, EPERM for explicit times on another's file),
 * truncate(2), execve(2) (EACCES) and xattr(7) (write permission needed to set
 * user attributes).
 *
 * The calls under test are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <grp.h>
#include <sys/xattr.h>

#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif

#define NOBODY 65534

static gid_t groups0[64];
static long ngroups0 = -1;

/* regain: become root again (the saved set-user-ID is 0) */
static void regain(void) {
  syscall(SYS_setresuid, 0, 0, 0);
  syscall(SYS_setresgid, 0, 0, 0);
  if (ngroups0 >= 0) syscall(SYS_setgroups, ngroups0, groups0);
}

/* drop_ids: real and effective uid as given, gid NOBODY, no groups, saved uid 0 */
static void drop_ids(unsigned ruid, unsigned euid) {
  if (syscall(SYS_geteuid) != 0) FAILF("fs_perm.c must start as root");
  if (ngroups0 < 0) ngroups0 = syscall(SYS_getgroups, 64, groups0);
  if (ngroups0 < 0) FAILF("getgroups: %s", strerror(errno));
  fsu_before_cleanup = regain;
  if (syscall(SYS_setgroups, 0, NULL) != 0) FAILF("setgroups: %s", strerror(errno));
  if (syscall(SYS_setresgid, NOBODY, NOBODY, 0) != 0) FAILF("setresgid: %s", strerror(errno));
  if (syscall(SYS_setresuid, ruid, euid, 0) != 0) FAILF("setresuid: %s", strerror(errno));
  if (syscall(SYS_geteuid) != euid) FAILF("geteuid is %ld after setresuid", syscall(SYS_geteuid));
}

static void drop(void) { drop_ids(NOBODY, NOBODY); }

static void undrop(void) {
  if (syscall(SYS_setresuid, 0, 0, 0) != 0) FAILF("setresuid back to 0: %s", strerror(errno));
  if (syscall(SYS_setresgid, 0, 0, 0) != 0) FAILF("setresgid back to 0: %s", strerror(errno));
}

/* setup: the scratch directory, open to everyone for search (and write if asked) */
static void setup(int mode) {
  if (syscall(SYS_chmod, scratch(), mode) != 0) FAILF("chmod scratch: %s", strerror(errno));
}

static void owned(const char *p, const char *data, int mode, unsigned uid, unsigned gid) {
  put_file(p, data, mode);
  if (syscall(SYS_chown, p, uid, gid) != 0) FAILF("chown %s: %s", p, strerror(errno));
  if (syscall(SYS_chmod, p, mode) != 0) FAILF("chmod %s: %s", p, strerror(errno));
}

TEST(perm_setresuid_drop_and_regain) {
  setup(0755);
  drop();
  uid_t r, e, s;
  CHECK_EQ(syscall(SYS_getresuid, &r, &e, &s), 0);
  CHECK_EQ(r, NOBODY);
  CHECK_EQ(e, NOBODY);
  CHECK_EQ(s, 0);
  gid_t gr, ge, gs;
  CHECK_EQ(syscall(SYS_getresgid, &gr, &ge, &gs), 0);
  CHECK_EQ(ge, NOBODY);
  CHECK_EQ(syscall(SYS_getgroups, 0, NULL), 0);
  /* an unprivileged process may only pick among its real, effective and saved ids */
  CHECK_ERRNO(syscall(SYS_setresuid, 1234, -1, -1), EPERM);
  CHECK_ERRNO(syscall(SYS_setresuid, -1, 1234, -1), EPERM);
  CHECK_ERRNO(syscall(SYS_setgroups, 0, NULL), EPERM);
  /* the saved id 0 brings root back, with its privileges */
  CHECK_EQ(syscall(SYS_setresuid, -1, 0, -1), 0);
  CHECK_EQ(syscall(SYS_geteuid), 0);
  put_file(P("f"), "", 0);
  long fd = syscall(SYS_open, P("f"), O_RDWR | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
}

TEST(perm_root_bypasses_read_write_checks) {
  if (geteuid() != 0) FAILF("fs_perm.c must start as root");
  put_file(P("f"), "secret", 0);
  long fd = syscall(SYS_open, P("f"), O_RDWR | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
  CHECK_OK(mkdir(P("d"), 0));
  put_file(P("d/inside"), "", 0);
  struct stat st;
  xstat(P("d/inside"), &st);
  CHECK_EQ(syscall(SYS_truncate, P("f"), 0), 0);
}

TEST(perm_open_denied_by_mode) {
  setup(0755);
  owned(P("private"), "p", 0600, 0, 0);
  owned(P("public"), "q", 0644, 0, 0);
  drop();
  CHECK_ERRNO(syscall(SYS_open, P("private"), O_RDONLY), EACCES);
  CHECK_ERRNO(syscall(SYS_open, P("public"), O_WRONLY), EACCES);
  CHECK_ERRNO(syscall(SYS_open, P("public"), O_RDWR), EACCES);
  CHECK_ERRNO(syscall(SYS_open, P("public"), O_RDONLY | O_TRUNC), EACCES);
  long fd = syscall(SYS_open, P("public"), O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
  /* O_PATH needs no permission on the file itself */
  fd = syscall(SYS_open, P("private"), O_PATH | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
}

TEST(perm_only_one_class_is_checked) {
  setup(0755);
  /* the owner class alone decides for the owner ... */
  owned(P("own"), "", 0077, NOBODY, 0);
  /* ... and the group class for a member of the group */
  owned(P("grp"), "", 0604, 0, NOBODY);
  owned(P("grp_ok"), "", 0640, 0, NOBODY);
  drop();
  CHECK_ERRNO(syscall(SYS_open, P("own"), O_RDONLY), EACCES);
  CHECK_ERRNO(syscall(SYS_open, P("grp"), O_RDONLY), EACCES);
  long fd = syscall(SYS_open, P("grp_ok"), O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
}

TEST(perm_new_files_owned_by_effective_ids) {
  setup(0777);
  drop();
  long fd = syscall(SYS_open, P("mine"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  CHECK(fd >= 0);
  close(fd);
  CHECK_EQ(syscall(SYS_mkdir, P("mydir"), 0700), 0);
  struct stat st;
  xstat(P("mine"), &st);
  CHECK_EQ(st.st_uid, NOBODY);
  CHECK_EQ(st.st_gid, NOBODY);
  xstat(P("mydir"), &st);
  CHECK_EQ(st.st_uid, NOBODY);
  /* and the owner may do as it likes with them */
  CHECK_EQ(syscall(SYS_chmod, P("mine"), 0644), 0);
  CHECK_EQ(syscall(SYS_unlink, P("mine")), 0);
  CHECK_EQ(syscall(SYS_rmdir, P("mydir")), 0);
}

TEST(perm_readonly_dir_denies_entry_changes) {
  setup(0755);
  CHECK_OK(mkdir(P("d"), 0755));
  owned(P("d/f"), "", 0666, 0, 0);
  drop();
  CHECK_ERRNO(syscall(SYS_open, P("d/new"), O_WRONLY | O_CREAT, 0644), EACCES);
  CHECK_ERRNO(syscall(SYS_mkdir, P("d/sub"), 0755), EACCES);
  CHECK_ERRNO(syscall(SYS_unlink, P("d/f")), EACCES);
  CHECK_ERRNO(syscall(SYS_rename, P("d/f"), P("d/g")), EACCES);
  CHECK_ERRNO(syscall(SYS_symlink, "x", P("d/l")), EACCES);
  CHECK_ERRNO(syscall(SYS_mknod, P("d/p"), S_IFIFO | 0644, 0), EACCES);
  CHECK_ERRNO(syscall(SYS_rmdir, P("d")), EACCES);
  /* the file itself is writable */
  long fd = syscall(SYS_open, P("d/f"), O_WRONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
}

TEST(perm_write_without_search_denied) {
  setup(0755);
  CHECK_OK(mkdir(P("d"), 0722));
  CHECK_EQ(syscall(SYS_chmod, P("d"), 0722), 0);
  drop();
  CHECK_ERRNO(syscall(SYS_open, P("d/new"), O_WRONLY | O_CREAT, 0644), EACCES);
  CHECK_ERRNO(syscall(SYS_mkdir, P("d/sub"), 0755), EACCES);
}

TEST(perm_search_denied_on_prefix) {
  setup(0755);
  CHECK_OK(mkdir(P("d"), 0755));
  put_file(P("d/f"), "x", 0644);
  CHECK_EQ(syscall(SYS_chmod, P("d"), 0644), 0);
  drop();
  struct stat st;
  CHECK_ERRNO(syscall(SYS_stat, P("d/f"), &st), EACCES);
  CHECK_ERRNO(syscall(SYS_open, P("d/f"), O_RDONLY), EACCES);
  CHECK_ERRNO(syscall(SYS_chdir, P("d")), EACCES);
  CHECK_ERRNO(syscall(SYS_access, P("d/f"), F_OK), EACCES);
  /* reading the directory itself needs only read permission */
  long fd = syscall(SYS_open, P("d"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(fd >= 0);
  char buf[512];
  CHECK(syscall(SYS_getdents64, fd, buf, sizeof buf) > 0);
  close(fd);
}

TEST(perm_listing_denied_search_allowed) {
  setup(0755);
  CHECK_OK(mkdir(P("d"), 0711));
  CHECK_EQ(syscall(SYS_chmod, P("d"), 0711), 0);
  put_file(P("d/f"), "x", 0644);
  drop();
  CHECK_ERRNO(syscall(SYS_open, P("d"), O_RDONLY | O_DIRECTORY), EACCES);
  struct stat st;
  CHECK_EQ(syscall(SYS_stat, P("d/f"), &st), 0);
  long fd = syscall(SYS_open, P("d/f"), O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
  CHECK_EQ(syscall(SYS_chdir, P("d")), 0);
}

TEST(perm_sticky_dir_protects_others_entries) {
  setup(0755);
  CHECK_OK(mkdir(P("t"), 0777));
  CHECK_EQ(syscall(SYS_chmod, P("t"), 01777), 0);
  owned(P("t/roots"), "", 0666, 0, 0);
  drop();
  CHECK_ERRNO(syscall(SYS_unlink, P("t/roots")), EPERM);
  CHECK_ERRNO(syscall(SYS_rename, P("t/roots"), P("t/moved")), EPERM);
  /* the file may still be written, and one's own entries removed */
  long fd = syscall(SYS_open, P("t/roots"), O_WRONLY | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
  fd = syscall(SYS_open, P("t/mine"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  CHECK(fd >= 0);
  close(fd);
  CHECK_EQ(syscall(SYS_unlink, P("t/mine")), 0);
}

TEST(perm_chmod_chown_others_file_eperm) {
  setup(0755);
  owned(P("f"), "", 0666, 0, 0);
  owned(P("mine"), "", 0644, NOBODY, NOBODY);
  drop();
  CHECK_ERRNO(syscall(SYS_chmod, P("f"), 0777), EPERM);
  CHECK_ERRNO(syscall(SYS_chown, P("f"), NOBODY, NOBODY), EPERM);
  CHECK_ERRNO(syscall(SYS_chown, P("f"), -1, NOBODY), EPERM);
  /* an owner cannot give a file away, nor to a group it is not in */
  CHECK_ERRNO(syscall(SYS_chown, P("mine"), 0, -1), EPERM);
  CHECK_ERRNO(syscall(SYS_chown, P("mine"), -1, 0), EPERM);
  /* but may set the group to its own */
  CHECK_EQ(syscall(SYS_chown, P("mine"), -1, NOBODY), 0);
  CHECK_EQ(syscall(SYS_chown, P("mine"), NOBODY, -1), 0);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_mode & 07777, 0666);
  CHECK_EQ(st.st_uid, 0);
}

TEST(perm_chmod_setgid_cleared_outside_group) {
  setup(0755);
  owned(P("f"), "", 0644, NOBODY, 0);
  drop();
  /* the owner may chmod; S_ISGID is dropped without an error since the
   * caller is not in the file's group */
  CHECK_EQ(syscall(SYS_chmod, P("f"), 02755), 0);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_mode & 07777, 0755);
}

TEST(perm_utimensat_needs_owner_or_write) {
  setup(0755);
  owned(P("rw"), "", 0666, 0, 0);
  owned(P("ro"), "", 0644, 0, 0);
  drop();
  /* to "now": write permission is enough */
  CHECK_EQ(syscall(SYS_utimensat, AT_FDCWD, P("rw"), NULL, 0), 0);
  struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  CHECK_EQ(syscall(SYS_utimensat, AT_FDCWD, P("rw"), now, 0), 0);
  CHECK_ERRNO(syscall(SYS_utimensat, AT_FDCWD, P("ro"), NULL, 0), EACCES);
  /* explicit times: only the owner */
  struct timespec ts[2] = {{1, 0}, {2, 0}};
  CHECK_ERRNO(syscall(SYS_utimensat, AT_FDCWD, P("rw"), ts, 0), EPERM);
  CHECK_ERRNO(syscall(SYS_utimensat, AT_FDCWD, P("ro"), ts, 0), EPERM);
}

TEST(perm_truncate_and_o_noatime) {
  setup(0777);
  owned(P("f"), "abc", 0644, 0, 0);
  drop();
  CHECK_ERRNO(syscall(SYS_truncate, P("f"), 0), EACCES);
  CHECK_ERRNO(syscall(SYS_open, P("f"), O_RDONLY | O_NOATIME), EPERM);
  long fd = syscall(SYS_open, P("own"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  CHECK(fd >= 0);
  close(fd);
  fd = syscall(SYS_open, P("own"), O_RDONLY | O_NOATIME | O_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
  struct stat st;
  xstat(P("f"), &st);
  CHECK_EQ(st.st_size, 3);
}

TEST(perm_access_real_vs_effective_ids) {
  setup(0755);
  owned(P("f"), "", 0600, 0, 0);
  /* real uid root, effective nobody */
  drop_ids(0, NOBODY);
  CHECK_EQ(syscall(SYS_access, P("f"), R_OK | W_OK), 0);
  CHECK_ERRNO(syscall(SYS_faccessat2, AT_FDCWD, P("f"), R_OK, AT_EACCESS), EACCES);
  CHECK_ERRNO(syscall(SYS_open, P("f"), O_RDONLY), EACCES);
  undrop();
  /* both nobody */
  drop_ids(NOBODY, NOBODY);
  CHECK_ERRNO(syscall(SYS_access, P("f"), R_OK), EACCES);
  CHECK_ERRNO(syscall(SYS_faccessat, AT_FDCWD, P("f"), W_OK), EACCES);
  CHECK_EQ(syscall(SYS_access, P("f"), F_OK), 0);
}

TEST(perm_execve_denied) {
  setup(0755);
  owned(P("userx"), "garbage\n", 0744, 0, 0);
  owned(P("allx"), "garbage\n", 0755, 0, 0);
  CHECK_OK(mkdir(P("d"), 0700));
  owned(P("d/x"), "garbage\n", 0755, 0, 0);
  drop();
  char *argv[] = {(char *)"x", NULL};
  char *envp[] = {NULL};
  CHECK_ERRNO(syscall(SYS_execve, P("userx"), argv, envp), EACCES);
  CHECK_ERRNO(syscall(SYS_execve, P("d/x"), argv, envp), EACCES);
  CHECK_ERRNO(syscall(SYS_execve, P("allx"), argv, envp), ENOEXEC);
}

TEST(perm_user_xattr_needs_write_permission) {
  setup(0755);
  owned(P("f"), "", 0644, 0, 0);
  CHECK_EQ(syscall(SYS_setxattr, P("f"), "user.k", "v", 1, 0), 0);
  drop();
  CHECK_ERRNO(syscall(SYS_setxattr, P("f"), "user.k2", "v", 1, 0), EACCES);
  CHECK_ERRNO(syscall(SYS_removexattr, P("f"), "user.k"), EACCES);
  char c = 0;
  CHECK_EQ(syscall(SYS_getxattr, P("f"), "user.k", &c, 1), 1);
  CHECK_EQ(c, 'v');
}
