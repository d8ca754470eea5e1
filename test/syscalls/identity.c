//go:build ignore

/*
 * identity.c - who the process is and what system it runs on: uname, getpid,
 * gettid, getuid/geteuid/getgid/getegid and set_tid_address.
 *
 * Follows uname(2) (DESCRIPTION: the fields are NUL-terminated arrays),
 * getpid(2), gettid(2) (in a single-threaded process the thread ID equals the
 * process ID), getuid(2), getgid(2) and set_tid_address(2) (RETURN VALUE: the
 * caller's thread ID).
 *
 * The release, version and nodename are the sandbox's own to choose, so only
 * their shape is checked.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"

#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static void check_field(const char *name, const char *f, size_t size) {
  if (memchr(f, 0, size) == NULL) FAILF("uname field %s is not NUL-terminated", name);
}

TEST(uname_sysname_and_machine) {
  struct utsname u;
  memset(&u, 0x7f, sizeof u);
  CHECK_EQ(syscall(SYS_uname, &u), 0);
  check_field("sysname", u.sysname, sizeof u.sysname);
  check_field("machine", u.machine, sizeof u.machine);
  if (strcmp(u.sysname, "Linux") != 0) FAILF("sysname %s, want Linux", u.sysname);
  if (strcmp(u.machine, "x86_64") != 0) FAILF("machine %s, want x86_64", u.machine);
}

TEST(uname_fields_nul_terminated) {
  struct utsname u;
  memset(&u, 0x7f, sizeof u);
  CHECK_EQ(syscall(SYS_uname, &u), 0);
  check_field("sysname", u.sysname, sizeof u.sysname);
  check_field("nodename", u.nodename, sizeof u.nodename);
  check_field("release", u.release, sizeof u.release);
  check_field("version", u.version, sizeof u.version);
  check_field("machine", u.machine, sizeof u.machine);
  check_field("domainname", u.domainname, sizeof u.domainname);
  /* a kernel release is never empty */
  CHECK(strlen(u.release) > 0);
  CHECK(strlen(u.version) > 0);
}

TEST(uname_stable_across_calls) {
  struct utsname a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  CHECK_EQ(syscall(SYS_uname, &a), 0);
  CHECK_EQ(syscall(SYS_uname, &b), 0);
  CHECK(strcmp(a.sysname, b.sysname) == 0);
  CHECK(strcmp(a.nodename, b.nodename) == 0);
  CHECK(strcmp(a.release, b.release) == 0);
  CHECK(strcmp(a.machine, b.machine) == 0);
}

TEST(getpid_equals_gettid_single_threaded) {
  long pid = syscall(SYS_getpid);
  long tid = syscall(SYS_gettid);
  CHECK(pid > 0);
  CHECK_EQ(tid, pid);
  CHECK_EQ(syscall(SYS_getpid), pid);
  CHECK_EQ(syscall(SYS_gettid), tid);
}

TEST(uid_gid_consistent) {
  long uid = syscall(SYS_getuid), euid = syscall(SYS_geteuid);
  long gid = syscall(SYS_getgid), egid = syscall(SYS_getegid);
  CHECK(uid >= 0);
  CHECK(gid >= 0);
  /* nothing here is set-user-ID or set-group-ID */
  CHECK_EQ(euid, uid);
  CHECK_EQ(egid, gid);
  CHECK_EQ(syscall(SYS_getuid), uid);
  CHECK_EQ(syscall(SYS_getgid), gid);
}

static int tid_word = 77;

TEST(set_tid_address_returns_tid) {
  long tid = syscall(SYS_gettid);
  CHECK_EQ(syscall(SYS_set_tid_address, &tid_word), tid);
  CHECK_EQ(syscall(SYS_set_tid_address, NULL), tid);
  /* the word itself is not written by the call */
  CHECK_EQ(tid_word, 77);
}
