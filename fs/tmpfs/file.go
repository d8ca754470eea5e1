package tmpfs

import (
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// file is a regular file whose pages live in the memory file.
type file struct {
	inode

	// dataMu guards size, pages, opens, seals and shared; it is taken
	// after fs.mu, and fs.mu is never taken while it is held. The inode's
	// metadata (timestamps included) stays under fs.mu.
	dataMu sync.Mutex
	size   int64
	// pages maps a page index to its offset in the memory file; missing
	// pages are holes that read as zeroes.
	pages map[int64]int64
	// opens counts open file descriptions, so an unlinked file's data is
	// freed only when the last one closes.
	opens int
	// seals are the memfd seals (F_SEAL_*); files not made by
	// memfd_create start with F_SEAL_SEAL, as in Linux.
	seals uint32
	// shared counts shared mappings, which forbid F_SEAL_WRITE.
	shared int
	// mappings counts every mapping of the file.
	mappings int
}

// Seal bits (fcntl(2) F_ADD_SEALS).
const (
	SealSeal        = 1
	SealShrink      = 2
	SealGrow        = 4
	SealWrite       = 8
	SealFutureWrite = 16
)

// HoldMapping implements vfs.MappingHolder: an unlinked file keeps its
// data while mapped.
func (f *file) HoldMapping(delta int) {
	f.dataMu.Lock()
	f.mappings += delta
	last := f.mappings == 0 && delta < 0
	f.dataMu.Unlock()
	if last {
		f.fs.mu.Lock()
		f.maybeFree()
		f.fs.mu.Unlock()
	}
}

// SharedMappings implements vfs.MappingCounter.
func (f *file) SharedMappings(delta int) {
	f.dataMu.Lock()
	f.shared += delta
	f.dataMu.Unlock()
}

// Seals returns the file's seals.
func (f *file) Seals() uint32 {
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	return f.seals
}

// AddSeals implements F_ADD_SEALS.
func (f *file) AddSeals(s uint32) error {
	if s&^(SealSeal|SealShrink|SealGrow|SealWrite|SealFutureWrite) != 0 {
		return unix.EINVAL
	}
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	if f.seals&SealSeal != 0 {
		return unix.EPERM
	}
	if s&SealWrite != 0 && f.shared > 0 {
		return unix.EBUSY
	}
	f.seals |= s
	return nil
}

// Stat implements vfs.Inode.
func (f *file) Stat() (vfs.Stat, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	return f.stat(f.size, int64(len(f.pages))*8), nil
}

// SetStat implements vfs.Inode.
func (f *file) SetStat(s vfs.SetStat) error {
	if s.Mask&vfs.SetSize != 0 {
		if s.Size < 0 {
			return unix.EINVAL
		}
		if err := f.truncate(s.Size); err != nil {
			return err
		}
		now := vfs.Now()
		f.fs.mu.Lock()
		f.mtime, f.ctime = now, now
		f.fs.mu.Unlock()
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if s.Mask&^vfs.SetSize != 0 {
		f.setStat(s)
	}
	return nil
}

func (f *file) truncate(size int64) error {
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	if (size < f.size && f.seals&SealShrink != 0) || (size > f.size && f.seals&SealGrow != 0) {
		return unix.EPERM
	}
	if size < f.size {
		first := (size + pageSize - 1) / pageSize
		for idx, off := range f.pages {
			if idx >= first {
				f.fs.mf.Free(off, 1)
				delete(f.pages, idx)
			}
		}
		// Zero the tail of the last partial page.
		if in := size % pageSize; in != 0 {
			if off, ok := f.pages[size/pageSize]; ok {
				clear(f.fs.mf.Slice(off, pageSize)[in:])
			}
		}
	}
	f.size = size
	return nil
}

// Allocate implements fallocate(2) mode 0: the size grows to off+length.
func (f *file) Allocate(off, length int64) error {
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	if end := off + length; end > f.size {
		if f.seals&SealGrow != 0 {
			return unix.EPERM
		}
		f.size = end
	}
	return nil
}

// maybeFree releases the data of an unlinked file nobody has open.
// Called with fs.mu held (it reads nlink).
func (f *file) maybeFree() {
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	if f.nlink != 0 || f.opens != 0 || f.mappings != 0 {
		return
	}
	for idx, off := range f.pages {
		f.fs.mf.Free(off, 1)
		delete(f.pages, idx)
	}
	f.size = 0
}

// Open implements vfs.Inode.
func (f *file) Open(flags int) (vfs.FileDescriptionImpl, error) {
	f.dataMu.Lock()
	f.opens++
	f.dataMu.Unlock()
	return &fileFD{f: f}, nil
}

// MapPage implements vfs.Mappable.
func (f *file) MapPage(index int64, write bool) (int64, error) {
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	if write && f.seals&(SealWrite|SealFutureWrite) != 0 {
		return 0, unix.EPERM
	}
	if index*pageSize >= f.size {
		return 0, unix.EFAULT
	}
	return f.pageLocked(index)
}

func (f *file) pageLocked(index int64) (int64, error) {
	if off, ok := f.pages[index]; ok {
		return off, nil
	}
	off, err := f.fs.mf.Allocate(1)
	if err != nil {
		return 0, unix.ENOSPC
	}
	f.pages[index] = off
	return off, nil
}

func (f *file) read(bufs [][]byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	done := 0
	for _, b := range bufs {
		for len(b) > 0 && off < f.size {
			idx, in := off/pageSize, off%pageSize
			n := min(int64(len(b)), pageSize-in, f.size-off)
			if p, ok := f.pages[idx]; ok {
				copy(b[:n], f.fs.mf.Slice(p, pageSize)[in:])
			} else {
				clear(b[:n])
			}
			b = b[n:]
			off += n
			done += int(n)
		}
		if off >= f.size {
			break
		}
	}
	return done, nil
}

// maxFileSize bounds a tmpfs file (MAX_LFS_FILESIZE is larger; this keeps a
// runaway write from exhausting the page map).
const maxFileSize = 1 << 40

func (f *file) write(bufs [][]byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	done, err := f.writeData(bufs, off)
	if done > 0 {
		// The timestamps are metadata, guarded by fs.mu, which may not be
		// taken while dataMu is held (lock order: fs.mu before dataMu).
		now := vfs.Now()
		f.fs.mu.Lock()
		f.mtime, f.ctime = now, now
		f.fs.mu.Unlock()
	}
	return done, err
}

// writeData copies bufs into the file at off under dataMu.
func (f *file) writeData(bufs [][]byte, off int64) (int, error) {
	f.dataMu.Lock()
	defer f.dataMu.Unlock()
	if f.seals&(SealWrite|SealFutureWrite) != 0 {
		return 0, unix.EPERM
	}
	if f.seals&SealGrow != 0 {
		total := int64(0)
		for _, b := range bufs {
			total += int64(len(b))
		}
		if off+total > f.size {
			return 0, unix.EPERM
		}
	}
	done := 0
	for _, b := range bufs {
		for len(b) > 0 {
			if off >= maxFileSize {
				if done == 0 {
					return 0, unix.EFBIG
				}
				return done, nil
			}
			idx, in := off/pageSize, off%pageSize
			n := min(int64(len(b)), pageSize-in)
			p, err := f.pageLocked(idx)
			if err != nil {
				if done == 0 {
					return 0, err
				}
				return done, nil
			}
			copy(f.fs.mf.Slice(p, pageSize)[in:], b[:n])
			b = b[n:]
			off += n
			done += int(n)
			if off > f.size {
				f.size = off
			}
		}
	}
	return done, nil
}

// fileFD is an open regular file.
type fileFD struct {
	f *file
}

func (fd *fileFD) Positional() bool                                     { return true }
func (fd *fileFD) Readv(b [][]byte) (int, error)                        { return 0, unix.ESPIPE }
func (fd *fileFD) Writev(b [][]byte) (int, error)                       { return 0, unix.ESPIPE }
func (fd *fileFD) Preadv(b [][]byte, off int64) (int, error)            { return fd.f.read(b, off) }
func (fd *fileFD) Pwritev(b [][]byte, off int64) (int, error)           { return fd.f.write(b, off) }
func (fd *fileFD) Stat() (unix.Stat_t, error)                           { return vfs.StatToUnix(fd.f) }
func (fd *fileFD) Ioctl(vfs.UserMemory, uint, uintptr) (uintptr, error) { return 0, unix.ENOTTY }

// Seals returns the file's seals (F_GET_SEALS).
func (fd *fileFD) Seals() uint32 { return fd.f.Seals() }

// ClearSeals removes every seal (memfd_create with MFD_ALLOW_SEALING).
func (fd *fileFD) ClearSeals() {
	fd.f.dataMu.Lock()
	fd.f.seals = 0
	fd.f.dataMu.Unlock()
}

// AddSeals adds seals (F_ADD_SEALS).
func (fd *fileFD) AddSeals(s uint32) error { return fd.f.AddSeals(s) }

// Mappable returns the file as a vfs.Mappable.
func (fd *fileFD) Mappable() vfs.Mappable { return fd.f }

// Allocate implements fallocate(2).
func (fd *fileFD) Allocate(off, length int64) error { return fd.f.Allocate(off, length) }

// Release implements vfs.FileDescriptionImpl.
func (fd *fileFD) Release() {
	fd.f.fs.mu.Lock()
	defer fd.f.fs.mu.Unlock()
	fd.f.dataMu.Lock()
	fd.f.opens--
	fd.f.dataMu.Unlock()
	fd.f.maybeFree()
}
