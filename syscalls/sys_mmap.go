package syscalls

// Memory: mmap(2), munmap(2), mprotect(2), mremap(2), brk(2), madvise(2).
//
// Files that can be mapped (tmpfs, and host files through their page cache)
// are mapped page by page; others (the standard streams) give ENODEV.
// MAP_SHARED anonymous memory is backed by an unlinked tmpfs file.

import (
	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
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
	t.add(unix.SYS_MSYNC, sysMsync, "xux", 'd')
	t.add(unix.SYS_MINCORE, sysMincore, "xup", 'd')
}

// sysMsync implements msync(2).
func sysMsync(t *kernel.Task, a args) (uintptr, error) {
	return 0, t.MemoryManager().Msync(a[0], a[1], int(int32(a[2])))
}

// sysMincore implements mincore(2).
func sysMincore(t *kernel.Task, a args) (uintptr, error) {
	vec, err := t.MemoryManager().Mincore(a[0], a[1])
	if err != nil {
		return 0, err
	}
	_, err = t.CopyOut(a[2], vec)
	return 0, err
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
	if flags&unix.MAP_HUGETLB != 0 {
		return 0, unix.EINVAL // no huge page pool in the sandbox
	}
	opts := mm.MMapOpts{
		Addr:      addr,
		Length:    length,
		Perms:     protAccess(prot),
		Private:   private,
		Fixed:     flags&unix.MAP_FIXED != 0,
		NoReplace: flags&unix.MAP_FIXED_NOREPLACE != 0, // wins over MAP_FIXED, as in Linux
		GrowsDown: flags&unix.MAP_GROWSDOWN != 0,
		Populate:  flags&unix.MAP_POPULATE != 0,
	}
	switch {
	case flags&unix.MAP_ANONYMOUS == 0:
		f, err := t.ThreadGroup().FDTable.Get(fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if err := fileMapping(t, f, &opts, int64(off)); err != nil {
			return 0, err
		}
	case !private:
		// Shared anonymous memory is an unlinked tmpfs file, as in Linux
		// (shmem): it stays shared across fork.
		f, err := t.Kernel().NewMemfd("shmem", 0o600, false)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		l := (int64(length) + 4095) &^ 4095
		if err := f.Inode().SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: l}); err != nil {
			return 0, err
		}
		if err := fileMapping(t, f, &opts, 0); err != nil {
			return 0, err
		}
		opts.Name = "/dev/zero (deleted)"
	}
	return t.MemoryManager().MMap(opts)
}

// F_SEAL_WRITE and F_SEAL_FUTURE_WRITE.
const (
	sealWrite       = 8
	sealFutureWrite = 16
)

// mappableFile is implemented by open files that can be mapped.
type mappableFile interface {
	Mappable() vfs.Mappable
}

// fileMapping fills in a file mapping's options after mmap(2)'s checks:
// the file must be open for reading, and for writing too if the mapping is
// shared and writable.
func fileMapping(t *kernel.Task, f *vfs.FileDescription, o *mm.MMapOpts, off int64) error {
	if f.IsPath() {
		return unix.EBADF
	}
	mf, ok := f.Impl.(mappableFile)
	if !ok {
		return unix.ENODEV
	}
	if !f.Readable() {
		return unix.EACCES
	}
	if !o.Private {
		writable := f.Writable() && f.Flags()&unix.O_APPEND == 0
		if o.Perms.Write && !writable {
			return unix.EACCES
		}
		o.NoWrite = !writable
		if s, ok := f.Impl.(sealable); ok && o.Perms.Write && s.Seals()&(sealWrite|sealFutureWrite) != 0 {
			return unix.EPERM
		}
	}
	if off < 0 || off+int64(o.Length) < off {
		return unix.EOVERFLOW
	}
	o.Mappable = mf.Mappable()
	o.Offset = off
	if vd := f.VirtualDentry(); vd.Ok() && t.Kernel().VFS != nil {
		o.Name, _ = t.Kernel().VFS.PathOf(t.ThreadGroup().FS.Root(), vd)
	}
	return nil
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
