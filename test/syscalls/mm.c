//go:build ignore

/*
 * mm.c - anonymous memory management: mmap, munmap, mprotect, mremap, brk and
 * madvise(MADV_DONTNEED).
 *
 * Follows mmap(2) (DESCRIPTION, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE,
 * ERRORS), munmap in mmap(2), mprotect(2) (DESCRIPTION, ERRORS), mremap(2)
 * (DESCRIPTION, MREMAP_MAYMOVE, MREMAP_FIXED, ERRORS), brk(2) (DESCRIPTION and
 * "C library/kernel differences": the raw call returns the new break, or the
 * current break when the request fails) and madvise(2) (MADV_DONTNEED, ERRORS).
 *
 * Every call is made raw through syscall(2) so libc's own checks (glibc checks
 * the mmap offset itself, for instance) cannot stand in for the kernel's.
 * Whether a page is readable or writable is observed without taking a fault:
 * write(2) from a page needs it readable, getrandom(2) into a page needs it
 * writable, and mprotect(2) on a range fails with ENOMEM when part of it is not
 * mapped at all.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096L
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

static char *xmmap(void *addr, long len, int prot, int flags) {
  return (char *)syscall(SYS_mmap, addr, len, prot, flags, -1, 0);
}

/* map len bytes of private anonymous read-write memory or fail the case */
static char *must_map(long len) {
  char *p = xmmap(NULL, len, RW, ANON);
  if (p == MAP_FAILED) FAILF("mmap(%ld) failed: %s", len, strerror(errno));
  return p;
}

static long xmunmap(void *addr, long len) {
  return syscall(SYS_munmap, addr, len);
}

static long xmprotect(void *addr, long len, int prot) {
  return syscall(SYS_mprotect, addr, len, prot);
}

static char *xmremap(void *old, long oldlen, long newlen, int flags, void *naddr) {
  return (char *)syscall(SYS_mremap, old, oldlen, newlen, flags, naddr);
}

/* is_mapped: mprotect with the same protection succeeds only on a fully mapped range */
static int is_mapped(void *addr, long len, int prot) {
  return syscall(SYS_mprotect, addr, len, prot) == 0;
}

static int all_zero(const char *p, long len) {
  for (long i = 0; i < len; i++)
    if (p[i] != 0) return 0;
  return 1;
}

static void fill(char *p, long len, char c) { memset(p, c, len); }

static int all_eq(const char *p, long len, char c) {
  for (long i = 0; i < len; i++)
    if (p[i] != c) return 0;
  return 1;
}

/* a free, page aligned range of len bytes: map it and unmap it again */
static char *free_range(long len) {
  char *p = must_map(len);
  CHECK_OK(xmunmap(p, len));
  return p;
}

TEST(mmap_fresh_anonymous_is_zero) {
  char *p = must_map(8 * PG);
  CHECK_EQ((uintptr_t)p % PG, 0);
  CHECK(all_zero(p, 8 * PG));
  fill(p, 8 * PG, 0x5a);
  CHECK(all_eq(p, 8 * PG, 0x5a));
  CHECK_OK(xmunmap(p, 8 * PG));
}

TEST(mmap_length_not_page_multiple_rounds_up) {
  char *p = must_map(100);
  /* the whole page is mapped: mprotect of the full page succeeds */
  CHECK(is_mapped(p, PG, RW));
  p[PG - 1] = 7;
  CHECK_EQ(p[PG - 1], 7);
  CHECK(all_zero(p, PG - 1));
  CHECK_OK(xmunmap(p, 100));
  CHECK(!is_mapped(p, PG, RW));
}

TEST(mmap_shared_anonymous_is_zero_and_writable) {
  char *p = xmmap(NULL, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS);
  CHECK(p != MAP_FAILED);
  CHECK(all_zero(p, 2 * PG));
  fill(p, 2 * PG, 0x11);
  CHECK(all_eq(p, 2 * PG, 0x11));
  CHECK_OK(xmunmap(p, 2 * PG));
}

TEST(mmap_fixed_unaligned_addr_einval) {
  char *base = must_map(2 * PG);
  CHECK_ERRNO(xmmap(base + 1, PG, RW, ANON | MAP_FIXED), EINVAL);
  CHECK_ERRNO(xmmap(base + PG / 2, PG, RW, ANON | MAP_FIXED), EINVAL);
  /* the existing mapping is untouched */
  CHECK(is_mapped(base, 2 * PG, RW));
  CHECK_OK(xmunmap(base, 2 * PG));
}

TEST(mmap_zero_length_einval) {
  CHECK_ERRNO(xmmap(NULL, 0, RW, ANON), EINVAL);
  CHECK_ERRNO(xmmap(NULL, 0, RW, MAP_SHARED | MAP_ANONYMOUS), EINVAL);
}

TEST(mmap_neither_private_nor_shared_einval) {
  CHECK_ERRNO(xmmap(NULL, PG, RW, MAP_ANONYMOUS), EINVAL);
}

TEST(mmap_both_private_and_shared_einval) {
  CHECK_ERRNO(xmmap(NULL, PG, RW, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS), EINVAL);
}

TEST(mmap_unaligned_offset_einval) {
  errno = 0;
  long r = syscall(SYS_mmap, NULL, PG, RW, ANON, -1, 1);
  CHECK_EQ(r, -1);
  CHECK_EQ(errno, EINVAL);
}

TEST(mmap_huge_length_enomem) {
  /* larger than the whole user address space */
  CHECK_ERRNO(xmmap(NULL, 1L << 62, RW, ANON | MAP_NORESERVE), ENOMEM);
}

TEST(mmap_fixed_replaces_existing) {
  char *p = must_map(3 * PG);
  fill(p, 3 * PG, 0x33);
  char *q = xmmap(p + PG, PG, RW, ANON | MAP_FIXED);
  CHECK(q == p + PG);
  CHECK(all_eq(p, PG, 0x33));
  CHECK(all_zero(p + PG, PG));
  CHECK(all_eq(p + 2 * PG, PG, 0x33));
  CHECK_OK(xmunmap(p, 3 * PG));
}

TEST(mmap_fixed_noreplace_existing_eexist) {
  char *p = must_map(2 * PG);
  p[0] = 1;
  CHECK_ERRNO(xmmap(p, PG, RW, ANON | MAP_FIXED_NOREPLACE), EEXIST);
  /* overlapping only the tail is refused as well */
  CHECK_ERRNO(xmmap(p + PG, 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE), EEXIST);
  CHECK_EQ(p[0], 1);
  CHECK_OK(xmunmap(p, 2 * PG));
}

TEST(mmap_fixed_noreplace_free_range_succeeds) {
  char *hole = free_range(2 * PG);
  char *q = xmmap(hole, 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE);
  CHECK(q == hole);
  CHECK(all_zero(q, 2 * PG));
  CHECK_OK(xmunmap(q, 2 * PG));
}

TEST(mmap_prot_none_then_mprotect) {
  char *p = xmmap(NULL, PG, PROT_NONE, ANON);
  CHECK(p != MAP_FAILED);
  /* not readable: write(2) from it faults in the kernel */
  CHECK_ERRNO(syscall(SYS_write, 1, p, 1), EFAULT);
  CHECK_OK(xmprotect(p, PG, RW));
  CHECK(all_zero(p, PG));
  p[10] = 42;
  CHECK_EQ(p[10], 42);
  CHECK_OK(xmunmap(p, PG));
}

TEST(mprotect_read_only_blocks_kernel_writes) {
  char *p = must_map(PG);
  p[0] = 9;
  CHECK_OK(xmprotect(p, PG, PROT_READ));
  CHECK_ERRNO(syscall(SYS_getrandom, p, 16, 0), EFAULT);
  CHECK_EQ(p[0], 9);
  CHECK_OK(xmprotect(p, PG, RW));
  CHECK_EQ(syscall(SYS_getrandom, p, 16, 0), 16);
  CHECK_OK(xmunmap(p, PG));
}

TEST(mprotect_unmapped_enomem) {
  char *hole = free_range(2 * PG);
  CHECK_ERRNO(xmprotect(hole, 2 * PG, PROT_READ), ENOMEM);
  /* partly mapped is also ENOMEM */
  char *p = xmmap(hole, PG, RW, ANON | MAP_FIXED_NOREPLACE);
  CHECK(p == hole);
  CHECK_ERRNO(xmprotect(hole, 2 * PG, PROT_READ), ENOMEM);
  CHECK_OK(xmunmap(p, PG));
}

TEST(mprotect_unaligned_einval) {
  char *p = must_map(2 * PG);
  CHECK_ERRNO(xmprotect(p + 1, PG, PROT_READ), EINVAL);
  CHECK_OK(xmunmap(p, 2 * PG));
}

TEST(mprotect_bad_prot_einval) {
  char *p = must_map(PG);
  CHECK_ERRNO(xmprotect(p, PG, 0x1000), EINVAL);
  CHECK_OK(xmunmap(p, PG));
}

TEST(munmap_middle_splits_mapping) {
  char *p = must_map(3 * PG);
  fill(p, 3 * PG, 0x44);
  CHECK_OK(xmunmap(p + PG, PG));
  CHECK(is_mapped(p, PG, RW));
  CHECK(!is_mapped(p + PG, PG, RW));
  CHECK(is_mapped(p + 2 * PG, PG, RW));
  CHECK(all_eq(p, PG, 0x44));
  CHECK(all_eq(p + 2 * PG, PG, 0x44));
  /* the two halves are separate mappings now: remapping the hole is EFAULT */
  CHECK_ERRNO(xmremap(p + PG, PG, PG, 0, NULL), EFAULT);
  CHECK_OK(xmunmap(p, 3 * PG));
  CHECK(!is_mapped(p, PG, RW));
  CHECK(!is_mapped(p + 2 * PG, PG, RW));
}

TEST(munmap_head_and_tail) {
  char *p = must_map(4 * PG);
  fill(p, 4 * PG, 0x55);
  CHECK_OK(xmunmap(p, PG));
  CHECK_OK(xmunmap(p + 3 * PG, PG));
  CHECK(!is_mapped(p, PG, RW));
  CHECK(!is_mapped(p + 3 * PG, PG, RW));
  CHECK(is_mapped(p + PG, 2 * PG, RW));
  CHECK(all_eq(p + PG, 2 * PG, 0x55));
  CHECK_OK(xmunmap(p + PG, 2 * PG));
}

TEST(munmap_unmapped_range_succeeds) {
  char *hole = free_range(4 * PG);
  CHECK_EQ(xmunmap(hole, 4 * PG), 0);
  CHECK_EQ(xmunmap(hole, 4 * PG), 0);
}

TEST(munmap_unaligned_or_zero_einval) {
  char *p = must_map(PG);
  CHECK_ERRNO(xmunmap(p + 1, PG), EINVAL);
  CHECK_ERRNO(xmunmap(p, 0), EINVAL);
  CHECK(is_mapped(p, PG, RW));
  CHECK_OK(xmunmap(p, PG));
}

TEST(mremap_shrink_in_place) {
  char *p = must_map(4 * PG);
  fill(p, 4 * PG, 0x66);
  char *q = xmremap(p, 4 * PG, PG, 0, NULL);
  CHECK(q == p);
  CHECK(all_eq(q, PG, 0x66));
  CHECK(!is_mapped(p + PG, PG, RW));
  CHECK(!is_mapped(p + 3 * PG, PG, RW));
  CHECK_OK(xmunmap(q, PG));
}

TEST(mremap_grow_in_place) {
  char *p = must_map(3 * PG);
  fill(p, PG, 0x77);
  CHECK_OK(xmunmap(p + PG, 2 * PG));
  char *q = xmremap(p, PG, 3 * PG, 0, NULL);
  CHECK(q == p);
  CHECK(all_eq(q, PG, 0x77));
  CHECK(all_zero(q + PG, 2 * PG));
  q[3 * PG - 1] = 1;
  CHECK_OK(xmunmap(q, 3 * PG));
}

TEST(mremap_grow_blocked_without_maymove_enomem) {
  char *p = must_map(2 * PG);
  fill(p, 2 * PG, 0x12);
  CHECK_ERRNO(xmremap(p, PG, 2 * PG, 0, NULL), ENOMEM);
  CHECK(all_eq(p, 2 * PG, 0x12));
  CHECK_OK(xmunmap(p, 2 * PG));
}

TEST(mremap_maymove_preserves_contents) {
  char *p = must_map(2 * PG);
  for (long i = 0; i < PG; i++) p[i] = (char)(i * 7);
  p[PG] = 99; /* the neighbour blocks growth in place */
  char *q = xmremap(p, PG, 4 * PG, MREMAP_MAYMOVE, NULL);
  CHECK(q != MAP_FAILED);
  CHECK(q != p);
  for (long i = 0; i < PG; i++)
    if (q[i] != (char)(i * 7)) FAILF("byte %ld changed after mremap", i);
  CHECK(all_zero(q + PG, 3 * PG));
  /* the old first page is gone, the neighbour is not */
  CHECK(!is_mapped(p, PG, RW));
  CHECK_EQ(p[PG], 99);
  CHECK_OK(xmunmap(q, 4 * PG));
  CHECK_OK(xmunmap(p + PG, PG));
}

TEST(mremap_fixed_moves_to_address) {
  char *p = must_map(2 * PG);
  fill(p, 2 * PG, 0x21);
  char *target = must_map(3 * PG);
  fill(target, 3 * PG, 0x7e);
  char *q = xmremap(p, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  CHECK(q == target);
  CHECK(all_eq(q, 2 * PG, 0x21));
  /* whatever was at the target is replaced, the rest of it stays */
  CHECK(all_eq(target + 2 * PG, PG, 0x7e));
  CHECK(!is_mapped(p, 2 * PG, RW));
  CHECK_OK(xmunmap(target, 3 * PG));
}

TEST(mremap_fixed_without_maymove_einval) {
  char *p = must_map(PG);
  char *hole = free_range(PG);
  CHECK_ERRNO(xmremap(p, PG, PG, MREMAP_FIXED, hole), EINVAL);
  CHECK(is_mapped(p, PG, RW));
  CHECK_OK(xmunmap(p, PG));
}

TEST(mremap_unmapped_old_address_efault) {
  char *hole = free_range(2 * PG);
  CHECK_ERRNO(xmremap(hole, PG, 2 * PG, MREMAP_MAYMOVE, NULL), EFAULT);
  CHECK_ERRNO(xmremap(hole, PG, PG, 0, NULL), EFAULT);
}

TEST(mremap_bad_arguments_einval) {
  char *p = must_map(2 * PG);
  CHECK_ERRNO(xmremap(p + 1, PG, 2 * PG, MREMAP_MAYMOVE, NULL), EINVAL);
  CHECK_ERRNO(xmremap(p, PG, 0, MREMAP_MAYMOVE, NULL), EINVAL);
  CHECK_ERRNO(xmremap(p, PG, PG, 0x80, NULL), EINVAL);
  CHECK_OK(xmunmap(p, 2 * PG));
}

TEST(madvise_dontneed_zeroes_private_anonymous) {
  char *p = must_map(4 * PG);
  fill(p, 4 * PG, 0x3c);
  CHECK_OK(syscall(SYS_madvise, p + PG, 2 * PG, MADV_DONTNEED));
  CHECK(all_eq(p, PG, 0x3c));
  CHECK(all_zero(p + PG, 2 * PG));
  CHECK(all_eq(p + 3 * PG, PG, 0x3c));
  /* the range is still mapped and usable */
  p[PG] = 5;
  CHECK_EQ(p[PG], 5);
  CHECK_OK(xmunmap(p, 4 * PG));
}

TEST(madvise_dontneed_keeps_shared_anonymous_contents) {
  char *p = xmmap(NULL, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS);
  CHECK(p != MAP_FAILED);
  fill(p, 2 * PG, 0x4d);
  CHECK_OK(syscall(SYS_madvise, p, 2 * PG, MADV_DONTNEED));
  CHECK(all_eq(p, 2 * PG, 0x4d));
  CHECK_OK(xmunmap(p, 2 * PG));
}

TEST(madvise_errors) {
  char *p = must_map(PG);
  CHECK_ERRNO(syscall(SYS_madvise, p + 1, PG, MADV_DONTNEED), EINVAL);
  CHECK_ERRNO(syscall(SYS_madvise, p, PG, 12345), EINVAL);
  CHECK_OK(xmunmap(p, PG));
  CHECK_ERRNO(syscall(SYS_madvise, p, PG, MADV_DONTNEED), ENOMEM);
}

TEST(mmap_large_sparse_noreserve) {
  long len = 1L << 30;
  char *p = xmmap(NULL, len, RW, ANON | MAP_NORESERVE);
  CHECK(p != MAP_FAILED);
  long offs[] = {0, PG, len / 3 & ~(PG - 1), len / 2, len - PG, len - 1};
  for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
    CHECK_EQ(p[offs[i]], 0);
    p[offs[i]] = (char)(i + 1);
  }
  for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
    CHECK_EQ(p[offs[i]], i + 1);
  CHECK_OK(xmunmap(p, len));
  CHECK(!is_mapped(p + len / 2, PG, RW));
}

TEST(brk_zero_returns_current_break) {
  long a = syscall(SYS_brk, 0);
  long b = syscall(SYS_brk, 0);
  CHECK(a > 0);
  CHECK_EQ(a, b);
}

TEST(brk_grow_and_shrink) {
  long cur = syscall(SYS_brk, 0);
  long top = (cur + 3 * PG + PG - 1) & ~(PG - 1);
  CHECK_EQ(syscall(SYS_brk, top), top);
  CHECK_EQ(syscall(SYS_brk, 0), top);
  char *mem = (char *)(top - 2 * PG);
  CHECK(all_zero(mem, 2 * PG));
  fill(mem, 2 * PG, 0x29);
  CHECK(all_eq(mem, 2 * PG, 0x29));
  /* shrinking gives the pages back; growing again yields fresh zeroes */
  CHECK_EQ(syscall(SYS_brk, cur), cur);
  CHECK_EQ(syscall(SYS_brk, 0), cur);
  CHECK(!is_mapped(mem, 2 * PG, RW));
  CHECK_EQ(syscall(SYS_brk, top), top);
  CHECK(all_zero(mem, 2 * PG));
  CHECK_EQ(syscall(SYS_brk, cur), cur);
}

TEST(brk_below_start_leaves_break_unchanged) {
  long cur = syscall(SYS_brk, 0);
  CHECK_EQ(syscall(SYS_brk, 4096), cur);
  CHECK_EQ(syscall(SYS_brk, 0), cur);
}

TEST(brk_into_existing_mapping_fails) {
  long cur = syscall(SYS_brk, 0);
  long next = (cur + PG - 1) & ~(PG - 1);
  /* put a mapping just above the break: growing over it must fail */
  char *blocker = xmmap((void *)(next + 16 * PG), PG, RW, ANON | MAP_FIXED_NOREPLACE);
  CHECK(blocker == (char *)(next + 16 * PG));
  CHECK_EQ(syscall(SYS_brk, next + 32 * PG), cur);
  CHECK_EQ(syscall(SYS_brk, 0), cur);
  CHECK_OK(xmunmap(blocker, PG));
}
