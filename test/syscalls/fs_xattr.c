//go:build ignore

/*
 * fs_xattr.c - extended attributes in the "user." namespace on files and
 * directories in a scratch directory under /tmp: setxattr, lsetxattr,
 * fsetxattr, getxattr, lgetxattr, fgetxattr, listxattr, flistxattr,
 * removexattr and fremovexattr.
 *
 * Follows setxattr(2) (XATTR_CREATE, XATTR_REPLACE, an empty value; ERRORS:
 * EEXIST, ENODATA, ENOTSUP for an unknown namespace prefix, ERANGE for a name
 * over the limit), getxattr(2) (size 0 returns the size needed; ERRORS:
 * ENODATA, ERANGE), listxattr(2) (a list of NUL-terminated names, size 0;
 * ERANGE), removexattr(2) (ENODATA) and xattr(7) (user attributes only on
 * regular files and directories, names at most 255 bytes). The host /tmp was
 * checked to support user attributes natively.
 *
 * The calls under test are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <sys/xattr.h>

static long xset(const char *p, const char *n, const void *v, long sz, int fl) {
  return syscall(SYS_setxattr, p, n, v, sz, fl);
}
static long xget(const char *p, const char *n, void *v, long sz) {
  return syscall(SYS_getxattr, p, n, v, sz);
}
static long xlist(const char *p, char *buf, long sz) { return syscall(SYS_listxattr, p, buf, sz); }

/* count: how many times name is in a listxattr result */
static int count_name(const char *list, long len, const char *name) {
  int n = 0;
  for (long off = 0; off < len; off += strlen(list + off) + 1)
    if (strcmp(list + off, name) == 0) n++;
  return n;
}

/* user_names: how many names in the list start with "user." */
static int user_names(const char *list, long len) {
  int n = 0;
  for (long off = 0; off < len; off += strlen(list + off) + 1)
    if (strncmp(list + off, "user.", 5) == 0) n++;
  return n;
}

TEST(setxattr_getxattr_round_trip) {
  put_file(P("f"), "", 0644);
  CHECK_EQ(xset(P("f"), "user.color", "blue", 4, 0), 0);
  char buf[32];
  memset(buf, 0, sizeof buf);
  CHECK_EQ(xget(P("f"), "user.color", buf, sizeof buf), 4);
  CHECK(strcmp(buf, "blue") == 0);
  /* a second set replaces the value */
  CHECK_EQ(xset(P("f"), "user.color", "green!", 6, 0), 0);
  memset(buf, 0, sizeof buf);
  CHECK_EQ(xget(P("f"), "user.color", buf, sizeof buf), 6);
  CHECK(strcmp(buf, "green!") == 0);
}

TEST(xattr_binary_and_empty_values) {
  put_file(P("f"), "", 0644);
  const char bin[5] = {1, 0, 2, 0, 3};
  CHECK_EQ(xset(P("f"), "user.bin", bin, 5, 0), 0);
  CHECK_EQ(xset(P("f"), "user.empty", "", 0, 0), 0);
  char buf[16];
  CHECK_EQ(xget(P("f"), "user.bin", buf, sizeof buf), 5);
  CHECK(memcmp(buf, bin, 5) == 0);
  CHECK_EQ(xget(P("f"), "user.empty", buf, sizeof buf), 0);
}

TEST(getxattr_missing_enodata) {
  put_file(P("f"), "", 0644);
  char buf[16];
  CHECK_ERRNO(xget(P("f"), "user.missing", buf, sizeof buf), ENODATA);
  CHECK_ERRNO(xget(P("f"), "user.missing", NULL, 0), ENODATA);
  CHECK_ERRNO(xget(P("nofile"), "user.x", buf, sizeof buf), ENOENT);
}

TEST(getxattr_size_zero_and_erange) {
  put_file(P("f"), "", 0644);
  CHECK_EQ(xset(P("f"), "user.long", "0123456789", 10, 0), 0);
  CHECK_EQ(xget(P("f"), "user.long", NULL, 0), 10);
  char buf[16];
  CHECK_ERRNO(xget(P("f"), "user.long", buf, 9), ERANGE);
  CHECK_EQ(xget(P("f"), "user.long", buf, 10), 10);
}

TEST(setxattr_create_replace_flags) {
  put_file(P("f"), "", 0644);
  CHECK_ERRNO(xset(P("f"), "user.a", "1", 1, XATTR_REPLACE), ENODATA);
  CHECK_EQ(xset(P("f"), "user.a", "1", 1, XATTR_CREATE), 0);
  CHECK_ERRNO(xset(P("f"), "user.a", "2", 1, XATTR_CREATE), EEXIST);
  CHECK_EQ(xset(P("f"), "user.a", "3", 1, XATTR_REPLACE), 0);
  char c = 0;
  CHECK_EQ(xget(P("f"), "user.a", &c, 1), 1);
  CHECK_EQ(c, '3');
  CHECK_ERRNO(xset(P("f"), "user.a", "4", 1, 0x10), EINVAL);
}

TEST(setxattr_bad_names) {
  put_file(P("f"), "", 0644);
  /* no namespace prefix, or one that does not exist */
  CHECK_ERRNO(xset(P("f"), "color", "x", 1, 0), ENOTSUP);
  CHECK_ERRNO(xset(P("f"), "bogus.color", "x", 1, 0), ENOTSUP);
  /* names over 255 bytes, and empty names */
  char name[300];
  memcpy(name, "user.", 5);
  memset(name + 5, 'n', 280);
  name[285] = 0;
  CHECK_ERRNO(xset(P("f"), name, "x", 1, 0), ERANGE);
  CHECK_ERRNO(xget(P("f"), name, NULL, 0), ERANGE);
  CHECK_ERRNO(xset(P("f"), "", "x", 1, 0), ERANGE);
  /* exactly 255 bytes is allowed */
  name[255] = 0;
  CHECK_EQ(xset(P("f"), name, "x", 1, 0), 0);
  CHECK_EQ(xget(P("f"), name, NULL, 0), 1);
}

TEST(listxattr_lists_names_once) {
  put_file(P("f"), "", 0644);
  CHECK_EQ(xset(P("f"), "user.one", "1", 1, 0), 0);
  CHECK_EQ(xset(P("f"), "user.two", "22", 2, 0), 0);
  CHECK_EQ(xset(P("f"), "user.three", "", 0, 0), 0);
  char list[1024];
  long need = xlist(P("f"), NULL, 0);
  CHECK(need >= (long)(sizeof "user.one" + sizeof "user.two" + sizeof "user.three"));
  long n = xlist(P("f"), list, sizeof list);
  CHECK_EQ(n, need);
  CHECK_EQ(list[n - 1], 0);
  CHECK_EQ(count_name(list, n, "user.one"), 1);
  CHECK_EQ(count_name(list, n, "user.two"), 1);
  CHECK_EQ(count_name(list, n, "user.three"), 1);
  CHECK_EQ(user_names(list, n), 3);
  CHECK_ERRNO(xlist(P("f"), list, need - 1), ERANGE);
}

TEST(listxattr_new_file_has_no_user_names) {
  put_file(P("f"), "", 0644);
  char list[1024];
  long n = xlist(P("f"), list, sizeof list);
  CHECK(n >= 0);
  CHECK_EQ(user_names(list, n), 0);
}

TEST(removexattr_and_enodata) {
  put_file(P("f"), "", 0644);
  CHECK_EQ(xset(P("f"), "user.gone", "x", 1, 0), 0);
  CHECK_EQ(xset(P("f"), "user.kept", "y", 1, 0), 0);
  CHECK_EQ(syscall(SYS_removexattr, P("f"), "user.gone"), 0);
  CHECK_ERRNO(xget(P("f"), "user.gone", NULL, 0), ENODATA);
  CHECK_ERRNO(syscall(SYS_removexattr, P("f"), "user.gone"), ENODATA);
  char list[256];
  long n = xlist(P("f"), list, sizeof list);
  CHECK(n > 0);
  CHECK_EQ(count_name(list, n, "user.gone"), 0);
  CHECK_EQ(count_name(list, n, "user.kept"), 1);
}

TEST(fsetxattr_fgetxattr_flistxattr_fremovexattr) {
  put_file(P("f"), "", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  CHECK_EQ(syscall(SYS_fsetxattr, fd, "user.fd", "via fd", 6, 0), 0);
  char buf[16] = {0};
  CHECK_EQ(syscall(SYS_fgetxattr, fd, "user.fd", buf, sizeof buf), 6);
  CHECK(strcmp(buf, "via fd") == 0);
  /* the same attribute through the path */
  memset(buf, 0, sizeof buf);
  CHECK_EQ(xget(P("f"), "user.fd", buf, sizeof buf), 6);
  char list[256];
  long n = syscall(SYS_flistxattr, fd, list, sizeof list);
  CHECK(n > 0);
  CHECK_EQ(count_name(list, n, "user.fd"), 1);
  CHECK_EQ(syscall(SYS_fremovexattr, fd, "user.fd"), 0);
  CHECK_ERRNO(syscall(SYS_fgetxattr, fd, "user.fd", buf, sizeof buf), ENODATA);
  close(fd);
  CHECK_ERRNO(syscall(SYS_fgetxattr, fd, "user.fd", buf, sizeof buf), EBADF);
}

TEST(xattr_on_directory) {
  CHECK_OK(mkdir(P("d"), 0755));
  CHECK_EQ(xset(P("d"), "user.dir", "yes", 3, 0), 0);
  char buf[8] = {0};
  CHECK_EQ(xget(P("d"), "user.dir", buf, sizeof buf), 3);
  CHECK(strcmp(buf, "yes") == 0);
}

TEST(xattr_follows_symlink_l_variants_do_not) {
  put_file(P("f"), "", 0644);
  CHECK_OK(symlink("f", P("l")));
  /* setxattr and getxattr through the link reach the file */
  CHECK_EQ(xset(P("l"), "user.via", "link", 4, 0), 0);
  char buf[8] = {0};
  CHECK_EQ(xget(P("f"), "user.via", buf, sizeof buf), 4);
  /* the link itself has no user attributes and cannot get one */
  CHECK_ERRNO(syscall(SYS_lgetxattr, P("l"), "user.via", buf, sizeof buf), ENODATA);
  CHECK_ERRNO(syscall(SYS_lsetxattr, P("l"), "user.x", "1", 1, 0), EPERM);
  /* on a non-link the l variant is the plain one */
  CHECK_EQ(syscall(SYS_lgetxattr, P("f"), "user.via", buf, sizeof buf), 4);
}

TEST(xattr_survives_rename_and_follows_hard_link) {
  put_file(P("f"), "", 0644);
  CHECK_EQ(xset(P("f"), "user.tag", "t", 1, 0), 0);
  CHECK_OK(rename(P("f"), P("g")));
  CHECK_OK(link(P("g"), P("h")));
  char c = 0;
  CHECK_EQ(xget(P("h"), "user.tag", &c, 1), 1);
  CHECK_EQ(c, 't');
}
