//go:build ignore

/*
 * fs_memfd.c - anonymous memory files: memfd_create with write, read, lseek,
 * ftruncate, fstat, mmap and file seals (fcntl F_ADD_SEALS, F_GET_SEALS).
 *
 * Follows memfd_create(2) (the file behaves like a regular file; MFD_CLOEXEC,
 * MFD_ALLOW_SEALING; without it the initial seal set is F_SEAL_SEAL; the
 * name shows in /proc/self/fd with the prefix "memfd:"; ERRORS: EINVAL for
 * unknown flags and for a name over 249 bytes) and fcntl(2) ("File Sealing":
 * F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE and the calls they
 * make fail with EPERM; EBUSY for F_SEAL_WRITE while a shared writable mapping
 * exists).
 *
 * Nothing here touches the filesystem, but each case still makes and removes
 * its scratch directory under /tmp, like every fs_*.c case.
 *
 * The calls under test are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <sys/mman.h>

#define PG 4096L

static long xmemfd(const char *name, unsigned flags) {
  return syscall(SYS_memfd_create, name, flags);
}

static int must_memfd(const char *name, unsigned flags) {
  scratch();
  long fd = xmemfd(name, flags);
  if (fd < 0) FAILF("memfd_create(%s): %s", name, strerror(errno));
  return (int)fd;
}

static long fsize(int fd) {
  struct stat st;
  if (syscall(SYS_fstat, fd, &st) != 0) FAILF("fstat: %s", strerror(errno));
  return st.st_size;
}

TEST(memfd_write_read_seek) {
  int fd = must_memfd("rw", 0);
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK_EQ(st.st_size, 0);
  CHECK_EQ(write(fd, "memory file", 11), 11);
  CHECK_EQ(fsize(fd), 11);
  CHECK_EQ(syscall(SYS_lseek, fd, 7, SEEK_SET), 7);
  char buf[16] = {0};
  CHECK_EQ(read(fd, buf, sizeof buf), 4);
  CHECK(strcmp(buf, "file") == 0);
  CHECK_EQ(syscall(SYS_pread64, fd, buf, 6, 0), 6);
  CHECK(memcmp(buf, "memory", 6) == 0);
  /* it is open for reading and writing */
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GETFL) & O_ACCMODE, O_RDWR);
  close(fd);
}

TEST(memfd_ftruncate_sets_size) {
  int fd = must_memfd("size", 0);
  CHECK_EQ(syscall(SYS_ftruncate, fd, 10000), 0);
  CHECK_EQ(fsize(fd), 10000);
  char buf[100];
  memset(buf, 1, sizeof buf);
  CHECK_EQ(syscall(SYS_pread64, fd, buf, sizeof buf, 9950), 50);
  for (int i = 0; i < 50; i++) CHECK_EQ(buf[i], 0);
  CHECK_EQ(write(fd, "abc", 3), 3);
  CHECK_EQ(syscall(SYS_ftruncate, fd, 2), 0);
  CHECK_EQ(fsize(fd), 2);
  close(fd);
}

TEST(memfd_cloexec_flag) {
  int a = must_memfd("cloexec", MFD_CLOEXEC);
  int b = must_memfd("plain", 0);
  CHECK_EQ(syscall(SYS_fcntl, a, F_GETFD), FD_CLOEXEC);
  CHECK_EQ(syscall(SYS_fcntl, b, F_GETFD), 0);
  close(a);
  close(b);
}

TEST(memfd_name_in_proc_fd_link) {
  int fd = must_memfd("my-name", 0);
  char link[64], buf[128];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  long n = syscall(SYS_readlink, link, buf, sizeof buf - 1);
  CHECK(n > 0);
  buf[n] = 0;
  if (strncmp(buf, "/memfd:my-name", 14) != 0) FAILF("fd link is \"%s\"", buf);
  close(fd);
}

TEST(memfd_bad_flags_and_long_name_einval) {
  scratch();
  CHECK_ERRNO(xmemfd("x", 0x80000000U), EINVAL);
  char name[260];
  memset(name, 'm', 250);
  name[250] = 0;
  CHECK_ERRNO(xmemfd(name, 0), EINVAL);
  name[249] = 0;
  long fd = xmemfd(name, MFD_CLOEXEC);
  CHECK(fd >= 0);
  close(fd);
}

TEST(memfd_without_sealing_has_seal_seal) {
  int fd = must_memfd("noseal", 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GET_SEALS), F_SEAL_SEAL);
  CHECK_ERRNO(syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  close(fd);
}

TEST(memfd_seal_shrink_and_grow) {
  int fd = must_memfd("seals", MFD_ALLOW_SEALING);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GET_SEALS), 0);
  CHECK_EQ(write(fd, "0123456789", 10), 10);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GET_SEALS), F_SEAL_SHRINK);
  CHECK_ERRNO(syscall(SYS_ftruncate, fd, 5), EPERM);
  CHECK_EQ(syscall(SYS_ftruncate, fd, 20), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_GROW), 0);
  CHECK_ERRNO(syscall(SYS_ftruncate, fd, 30), EPERM);
  /* writing inside the file is fine, past its end is not */
  CHECK_EQ(syscall(SYS_pwrite64, fd, "ab", 2, 0), 2);
  CHECK_ERRNO(syscall(SYS_pwrite64, fd, "ab", 2, 19), EPERM);
  CHECK_EQ(fsize(fd), 20);
  close(fd);
}

TEST(memfd_seal_write_and_seal_seal) {
  int fd = must_memfd("wseal", MFD_ALLOW_SEALING);
  CHECK_EQ(write(fd, "data", 4), 4);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_GET_SEALS), F_SEAL_WRITE | F_SEAL_SEAL);
  CHECK_ERRNO(write(fd, "x", 1), EPERM);
  CHECK_ERRNO(syscall(SYS_pwrite64, fd, "x", 1, 0), EPERM);
  CHECK_ERRNO(syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_GROW), EPERM);
  /* a shared writable mapping is refused; a read-only one is fine */
  void *p = (void *)syscall(SYS_mmap, NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p == MAP_FAILED);
  CHECK_EQ(errno, EPERM);
  char *r = (char *)syscall(SYS_mmap, NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(r != MAP_FAILED);
  CHECK(memcmp(r, "data", 4) == 0);
  syscall(SYS_munmap, r, PG);
  char buf[4];
  CHECK_EQ(syscall(SYS_pread64, fd, buf, 4, 0), 4);
  CHECK(memcmp(buf, "data", 4) == 0);
  close(fd);
}

TEST(memfd_seal_write_with_shared_mapping_ebusy) {
  int fd = must_memfd("busy", MFD_ALLOW_SEALING);
  CHECK_EQ(syscall(SYS_ftruncate, fd, PG), 0);
  char *p = (char *)syscall(SYS_mmap, NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED);
  CHECK_ERRNO(syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
  CHECK_EQ(syscall(SYS_munmap, p, PG), 0);
  CHECK_EQ(syscall(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
  close(fd);
}

TEST(memfd_shared_mapping_and_read) {
  int fd = must_memfd("map", 0);
  CHECK_EQ(syscall(SYS_ftruncate, fd, 2 * PG), 0);
  char *p = (char *)syscall(SYS_mmap, NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED);
  memcpy(p + PG, "through map", 11);
  char buf[16] = {0};
  CHECK_EQ(syscall(SYS_pread64, fd, buf, 11, PG), 11);
  CHECK(strcmp(buf, "through map") == 0);
  CHECK_EQ(syscall(SYS_pwrite64, fd, "via write", 9, 0), 9);
  CHECK(memcmp(p, "via write", 9) == 0);
  syscall(SYS_munmap, p, 2 * PG);
  close(fd);
}
