//go:build ignore

/*
 * fs_mmap.c - file-backed memory mappings: mmap of regular files with
 * MAP_PRIVATE and MAP_SHARED, how they relate to read(2) and write(2), msync,
 * mincore and mprotect on file mappings, in a scratch directory under /tmp.
 *
 * Follows mmap(2) (MAP_SHARED: updates are visible to other processes mapping
 * the region and carried through to the file; MAP_PRIVATE: copy-on-write,
 * updates not carried through to the file; the mapping stays after the
 * descriptor is closed; the partial page at the end of the mapping is zeroed;
 * ERRORS: EACCES for a descriptor not open for reading, or MAP_SHARED with
 * PROT_WRITE on a descriptor not open O_RDWR; EINVAL for an unaligned offset
 * or length 0; EBADF), msync(2) (ERRORS: EINVAL for MS_SYNC|MS_ASYNC or an
 * unaligned address, ENOMEM for an unmapped range), mincore(2) (the least
 * significant bit of each byte tells whether the page is resident; EINVAL,
 * ENOMEM) and mprotect(2) (EACCES for PROT_WRITE on a shared mapping of a
 * read-only descriptor). Accesses beyond the end of the file (SIGBUS) are not
 * tested.
 *
 * mmap, munmap, msync, mincore and mprotect are made raw through syscall(2).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/fsutil.h"

#include <sys/mman.h>

#define PG 4096L

static char *xmmap(long len, int prot, int flags, int fd, long off) {
  return (char *)syscall(SYS_mmap, NULL, len, prot, flags, fd, off);
}

static char *must_mmap(long len, int prot, int flags, int fd, long off) {
  char *p = xmmap(len, prot, flags, fd, off);
  if (p == MAP_FAILED) FAILF("mmap(%ld, fd %d, off %ld): %s", len, fd, off, strerror(errno));
  return p;
}

/* a file of npages pages; page i is filled with 'a'+i */
static int paged_file(const char *name, int npages, int flags) {
  int fd = must_open(P(name), O_RDWR | O_CREAT | O_TRUNC, 0644);
  char page[PG];
  for (int i = 0; i < npages; i++) {
    memset(page, 'a' + i, PG);
    if (write(fd, page, PG) != PG) FAILF("write: %s", strerror(errno));
  }
  close(fd);
  return must_open(P(name), flags, 0);
}

static int all_eq(const char *p, long n, char c) {
  for (long i = 0; i < n; i++)
    if (p[i] != c) return 0;
  return 1;
}

TEST(mmap_private_reads_file_contents) {
  int fd = paged_file("f", 2, O_RDONLY);
  char *p = must_mmap(2 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
  CHECK(all_eq(p, PG, 'a'));
  CHECK(all_eq(p + PG, PG, 'b'));
  CHECK_EQ(syscall(SYS_munmap, p, 2 * PG), 0);
  close(fd);
}

TEST(mmap_private_writes_not_in_file) {
  int fd = paged_file("f", 1, O_RDWR);
  char *p = must_mmap(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  memset(p, 'X', 100);
  CHECK_EQ(p[0], 'X');
  char buf[100];
  CHECK_EQ(pread(fd, buf, sizeof buf, 0), 100);
  CHECK(all_eq(buf, 100, 'a'));
  CHECK_EQ(syscall(SYS_munmap, p, PG), 0);
  close(fd);
  /* not after unmapping either */
  static char whole[PG + 1];
  CHECK_EQ(slurp(P("f"), whole, sizeof whole), PG);
  CHECK(all_eq(whole, PG, 'a'));
}

TEST(mmap_shared_writes_visible_to_read) {
  int fd = paged_file("f", 2, O_RDWR);
  char *p = must_mmap(2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  memcpy(p + 10, "shared!", 7);
  memcpy(p + PG, "page two", 8);
  char buf[16];
  CHECK_EQ(pread(fd, buf, 7, 10), 7);
  CHECK(memcmp(buf, "shared!", 7) == 0);
  CHECK_EQ(pread(fd, buf, 8, PG), 8);
  CHECK(memcmp(buf, "page two", 8) == 0);
  CHECK_EQ(syscall(SYS_munmap, p, 2 * PG), 0);
  close(fd);
}

TEST(mmap_shared_writes_persist_after_munmap) {
  int fd = paged_file("f", 1, O_RDWR);
  char *p = must_mmap(PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  /* the mapping outlives the descriptor */
  close(fd);
  memcpy(p, "persist", 7);
  CHECK_EQ(syscall(SYS_munmap, p, PG), 0);
  static char whole[PG + 1];
  CHECK_EQ(slurp(P("f"), whole, sizeof whole), PG);
  CHECK(memcmp(whole, "persist", 7) == 0);
  CHECK(all_eq(whole + 7, PG - 7, 'a'));
}

TEST(write_visible_through_shared_mapping) {
  int fd = paged_file("f", 2, O_RDWR);
  char *p = must_mmap(2 * PG, PROT_READ, MAP_SHARED, fd, 0);
  CHECK_EQ(p[5], 'a');
  CHECK_EQ(pwrite(fd, "written", 7, 5), 7);
  CHECK(memcmp(p + 5, "written", 7) == 0);
  CHECK_EQ(pwrite(fd, "second", 6, PG + 1), 6);
  CHECK(memcmp(p + PG + 1, "second", 6) == 0);
  CHECK_EQ(syscall(SYS_munmap, p, 2 * PG), 0);
  close(fd);
}

TEST(two_shared_mappings_see_each_other) {
  int fd = paged_file("f", 1, O_RDWR);
  int fd2 = must_open(P("f"), O_RDWR, 0);
  char *a = must_mmap(PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *b = must_mmap(PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
  CHECK(a != b);
  a[100] = 'Q';
  CHECK_EQ(b[100], 'Q');
  b[200] = 'R';
  CHECK_EQ(a[200], 'R');
  syscall(SYS_munmap, a, PG);
  syscall(SYS_munmap, b, PG);
  close(fd);
  close(fd2);
}

TEST(mmap_with_page_offset) {
  int fd = paged_file("f", 3, O_RDONLY);
  char *p = must_mmap(PG, PROT_READ, MAP_SHARED, fd, 2 * PG);
  CHECK(all_eq(p, PG, 'c'));
  char *q = must_mmap(2 * PG, PROT_READ, MAP_PRIVATE, fd, PG);
  CHECK(all_eq(q, PG, 'b'));
  CHECK(all_eq(q + PG, PG, 'c'));
  syscall(SYS_munmap, p, PG);
  syscall(SYS_munmap, q, 2 * PG);
  close(fd);
}

TEST(mmap_partial_last_page_zero_filled) {
  put_file(P("f"), "0123456789", 0644);
  int fd = must_open(P("f"), O_RDWR, 0);
  char *p = must_mmap(PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(memcmp(p, "0123456789", 10) == 0);
  for (long i = 10; i < PG; i++)
    if (p[i] != 0) FAILF("byte %ld past EOF is %d, want 0", i, p[i]);
  /* writing past EOF inside the page does not grow the file */
  p[100] = 'x';
  struct stat st;
  CHECK_EQ(syscall(SYS_fstat, fd, &st), 0);
  CHECK_EQ(st.st_size, 10);
  syscall(SYS_munmap, p, PG);
  close(fd);
}

TEST(mmap_after_ftruncate_grow_and_unlink) {
  int fd = must_open(P("f"), O_RDWR | O_CREAT, 0644);
  CHECK_EQ(ftruncate(fd, 2 * PG), 0);
  char *p = must_mmap(2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(all_eq(p, 2 * PG, 0));
  CHECK_OK(unlink(P("f")));
  /* an unlinked file stays mapped and shared with the descriptor */
  memcpy(p + PG + 7, "gone", 4);
  char buf[4];
  CHECK_EQ(pread(fd, buf, 4, PG + 7), 4);
  CHECK(memcmp(buf, "gone", 4) == 0);
  syscall(SYS_munmap, p, 2 * PG);
  close(fd);
}

TEST(mmap_access_mode_eacces) {
  put_file(P("f"), "data", 0644);
  int ro = must_open(P("f"), O_RDONLY, 0);
  int wo = must_open(P("f"), O_WRONLY, 0);
  CHECK(xmmap(PG, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED);
  CHECK_EQ(errno, EACCES);
  CHECK(xmmap(PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED);
  CHECK_EQ(errno, EACCES);
  /* a private writable mapping of a read-only descriptor is fine */
  char *p = must_mmap(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  p[0] = 'D';
  syscall(SYS_munmap, p, PG);
  close(ro);
  close(wo);
}

TEST(mmap_bad_offset_length_fd) {
  int fd = paged_file("f", 2, O_RDWR);
  CHECK(xmmap(PG, PROT_READ, MAP_SHARED, fd, 100) == MAP_FAILED);
  CHECK_EQ(errno, EINVAL);
  CHECK(xmmap(0, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
  CHECK_EQ(errno, EINVAL);
  CHECK(xmmap(PG, PROT_READ, MAP_SHARED, -1, 0) == MAP_FAILED);
  CHECK_EQ(errno, EBADF);
  CHECK(xmmap(PG, PROT_READ, MAP_SHARED, 4321, 0) == MAP_FAILED);
  CHECK_EQ(errno, EBADF);
  close(fd);
}

TEST(mprotect_write_on_readonly_shared_eacces) {
  int fd = paged_file("f", 1, O_RDONLY);
  char *p = must_mmap(PG, PROT_READ, MAP_SHARED, fd, 0);
  CHECK_ERRNO(syscall(SYS_mprotect, p, PG, PROT_READ | PROT_WRITE), EACCES);
  CHECK_EQ(syscall(SYS_mprotect, p, PG, PROT_NONE), 0);
  CHECK_EQ(syscall(SYS_mprotect, p, PG, PROT_READ), 0);
  CHECK_EQ(p[0], 'a');
  syscall(SYS_munmap, p, PG);
  close(fd);
}

TEST(msync_returns_zero_and_errors) {
  int fd = paged_file("f", 2, O_RDWR);
  char *p = must_mmap(2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  p[0] = 'M';
  CHECK_EQ(syscall(SYS_msync, p, 2 * PG, MS_SYNC), 0);
  CHECK_EQ(syscall(SYS_msync, p, PG, MS_ASYNC), 0);
  CHECK_EQ(syscall(SYS_msync, p + PG, PG, MS_INVALIDATE), 0);
  char c;
  CHECK_EQ(pread(fd, &c, 1, 0), 1);
  CHECK_EQ(c, 'M');
  CHECK_ERRNO(syscall(SYS_msync, p, PG, MS_SYNC | MS_ASYNC), EINVAL);
  CHECK_ERRNO(syscall(SYS_msync, p + 1, PG, MS_SYNC), EINVAL);
  CHECK_ERRNO(syscall(SYS_msync, p, PG, 0x100), EINVAL);
  syscall(SYS_munmap, p, 2 * PG);
  CHECK_ERRNO(syscall(SYS_msync, p, PG, MS_SYNC), ENOMEM);
  close(fd);
}

TEST(mincore_on_mapped_file_range) {
  int fd = paged_file("f", 3, O_RDONLY);
  char *p = must_mmap(3 * PG, PROT_READ, MAP_SHARED, fd, 0);
  /* touch every page, so it is surely resident */
  volatile char sum = 0;
  for (int i = 0; i < 3; i++) sum += p[i * PG];
  (void)sum;
  unsigned char vec[3] = {0xf0, 0xf0, 0xf0};
  CHECK_EQ(syscall(SYS_mincore, p, 3 * PG, vec), 0);
  for (int i = 0; i < 3; i++)
    if ((vec[i] & 1) != 1) FAILF("page %d of the mapping not reported resident (%#x)", i, vec[i]);
  /* a length that is not a page multiple covers the partial page */
  unsigned char one[2] = {0, 0x55};
  CHECK_EQ(syscall(SYS_mincore, p + PG, 10, one), 0);
  CHECK_EQ(one[0] & 1, 1);
  CHECK_EQ(one[1], 0x55);
  CHECK_ERRNO(syscall(SYS_mincore, p + 1, PG, vec), EINVAL);
  syscall(SYS_munmap, p, 3 * PG);
  CHECK_ERRNO(syscall(SYS_mincore, p, PG, vec), ENOMEM);
  close(fd);
}
