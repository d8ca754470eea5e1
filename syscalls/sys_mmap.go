package syscalls

// Memory: mmap(2), munmap(2), mprotect(2), mremap(2), brk(2), madvise(2).
//
// Only anonymous memory exists yet: a file mapping of a descriptor returns
// ENODEV (the standard streams cannot be mapped, as for a tty on Linux).
// MAP_SHARED anonymous memory behaves as private until fork exists.

import (
	"golang.org/x/sys/unix"

	"sbx/platform"
	"sbx/sentry/kernel"
	"sbx/sentry/mm"
)

func registerMmap(t *Table) {
	t.add(unix.SYS_MMAP, sysMmap, "xuxxfx", 'x')
	t.add(unix.SYS_MUNMAP, sysMunmap, "xu", 'd')
	t.add(unix.SYS_MPROTECT, sysMprotect, "xux", 'd')
	t.add(unix.SYS_MREMAP, sysMremap, "xuuxx", 'x')
	t.add(unix.SYS_BRK, sysBrk, "x", 'x')
	t.add(unix.SYS_MADVISE, sysMadvise, "xud", 'd')
}

const protAll = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC

func protAccess(prot int) platform.Access {
	return platform.Access{Read: prot&unix.PROT_READ != 0, Write: prot&unix.PROT_WRITE != 0, Execute: prot&unix.PROT_EXEC != 0}
}

// mmap flags Linux accepts (MAP_* in mman.h); others are ignored by Linux for
// compatibility, except the mapping type.
const mapTypeMask = 0x0f

// sysMmap implements mmap(2).
func sysMmap(t *kernel.Task, a args) (uintptr, error) {
	addr, length, prot, flags, fd, off := a[0], a[1], int(int32(a[2])), int(int32(a[3])), int(int32(a[4])), a[5]
	if prot&^(protAll|unix.PROT_GROWSDOWN|unix.PROT_GROWSUP) != 0 {
		return 0, unix.EINVAL
	}
	var private bool
	switch flags & mapTypeMask {
	case unix.MAP_PRIVATE:
		private = true
	case unix.MAP_SHARED:
	case unix.MAP_SHARED_VALIDATE:
		// Valid only for files; anonymous memory takes PRIVATE or SHARED.
		if flags&unix.MAP_ANONYMOUS != 0 {
			return 0, unix.EINVAL
		}
	default:
		return 0, unix.EINVAL
	}
	if length == 0 {
		return 0, unix.EINVAL
	}
	if off&(mm.PageSize-1) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.MAP_ANONYMOUS == 0 {
		f, err := t.ThreadGroup().FDTable.Get(fd)
		if err != nil {
			return 0, err
		}
		f.DecRef()
		// No file in the sandbox can be mapped yet.
		return 0, unix.ENODEV
	}
	if flags&unix.MAP_HUGETLB != 0 {
		return 0, unix.EINVAL // no huge page pool in the sandbox
	}
	return t.MemoryManager().MMap(mm.MMapOpts{
		Addr:      addr,
		Length:    length,
		Perms:     protAccess(prot),
		Private:   private,
		Fixed:     flags&unix.MAP_FIXED != 0,
		NoReplace: flags&unix.MAP_FIXED_NOREPLACE != 0, // wins over MAP_FIXED, as in Linux
		GrowsDown: flags&unix.MAP_GROWSDOWN != 0,
		Populate:  flags&unix.MAP_POPULATE != 0,
	})
}

// sysMunmap implements munmap(2).
func sysMunmap(t *kernel.Task, a args) (uintptr, error) {
	return 0, t.MemoryManager().Munmap(a[0], a[1])
}

// sysMprotect implements mprotect(2). PROT_GROWSDOWN/UP are accepted and
// apply to the given range only.
func sysMprotect(t *kernel.Task, a args) (uintptr, error) {
	prot := int(int32(a[2]))
	if prot&^(protAll|unix.PROT_GROWSDOWN|unix.PROT_GROWSUP) != 0 ||
		prot&(unix.PROT_GROWSDOWN|unix.PROT_GROWSUP) == unix.PROT_GROWSDOWN|unix.PROT_GROWSUP {
		return 0, unix.EINVAL
	}
	return 0, t.MemoryManager().Mprotect(a[0], a[1], protAccess(prot))
}

// sysMremap implements mremap(2) for anonymous private memory. Departure:
// MREMAP_DONTUNMAP and old_size 0 give EINVAL.
func sysMremap(t *kernel.Task, a args) (uintptr, error) {
	return t.MemoryManager().Mremap(a[0], a[1], a[2], int(int32(a[3])), a[4])
}

// sysBrk implements brk(2) as the kernel does: it returns the new break, or
// the current one when the request fails (no errno).
func sysBrk(t *kernel.Task, a args) (uintptr, error) {
	return t.MemoryManager().Brk(a[0]), nil
}

// sysMadvise implements madvise(2): MADV_DONTNEED and MADV_FREE discard
// private anonymous pages; paging hints are accepted without effect.
func sysMadvise(t *kernel.Task, a args) (uintptr, error) {
	return 0, t.MemoryManager().Madvise(a[0], a[1], int(int32(a[2])))
}
