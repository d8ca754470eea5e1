// Package gofer is the sentry's client filesystem for files served by the
// gofer process: every inode is a gofer handle, namespace operations are
// round trips, and reads and writes go straight to host FDs the gofer
// donated, with no round trip per call. Mapped pages of a file come from a
// per-inode page cache in the memory file, filled from the host file.
//
// Metadata of a read-only mount is cached after the first stat (nothing in
// the sandbox can change it), and so are a name a lookup found missing and
// a symlink's target; on a writable mount all are asked for each time. Opens
// of a file on a read-only mount share one host FD.
//
// It must not open host paths (only the gofer does) and must not import the
// sentry, syscalls or runsc layers.
package gofer

import (
	"errors"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/host"
	"sbx/fs/vfs"
	"sbx/gofer/proto"
)

const pageSize = 4096

// FS is one gofer mount.
type FS struct {
	c        *proto.Client
	mf       vfs.MemoryFile
	readOnly bool
}

// New attaches to the gofer's mount name and returns its root.
func New(c *proto.Client, mf vfs.MemoryFile, name string, readOnly bool) (*vfs.Dentry, error) {
	fs := &FS{c: c, mf: mf, readOnly: readOnly}
	e := fs.epoch()
	id, st, err := c.Attach(name)
	if err != nil {
		return nil, err
	}
	return vfs.NewRoot(fs.newInode(id, st, e)), nil
}

// epoch is the system-call epoch for attributes asked for now (see
// vfs.CurrentEpoch); a read-only mount keeps them for good and takes none.
func (fs *FS) epoch() uint64 {
	if fs.readOnly {
		return 0
	}
	return vfs.CurrentEpoch()
}

// inode is one gofer handle.
type inode struct {
	fs *FS
	id uint64

	mu sync.Mutex // guards st, stEpoch, cached, pages, readFD, absent and target
	st proto.Stat
	// stEpoch is the system-call epoch st was asked for in (0: none):
	// within that system call st is used again.
	stEpoch uint64
	// cached says st may be used without asking (read-only mounts).
	cached bool
	// pages is the page cache: page index to memory-file offset.
	pages map[int64]int64
	// readFD is a host FD for filling the page cache, opened on first use.
	readFD int
	// absent are names a lookup in this directory found missing, on a
	// read-only mount: at most maxAbsent, the first ones found. Programs
	// look for the same missing files again and again (a shell for each
	// command in each $PATH directory, the C library for locale files).
	absent map[string]struct{}
	// target is a symlink's target on a read-only mount, once read.
	target *string
}

// maxAbsent bounds the missing names remembered per directory.
const maxAbsent = 256

// newInode makes the inode of handle id, with st as it was when the
// system-call epoch was e.
func (fs *FS) newInode(id uint64, st proto.Stat, e uint64) *inode {
	return &inode{fs: fs, id: id, st: st, stEpoch: e, cached: fs.readOnly, readFD: -1}
}

func toStat(s proto.Stat) vfs.Stat {
	return vfs.Stat{
		Dev: s.Dev, Ino: s.Ino, Mode: s.Mode, Nlink: uint32(s.Nlink), UID: s.UID, GID: s.GID, Rdev: s.Rdev,
		Size: s.Size, Blksize: s.Blksize, Blocks: s.Blocks,
		Atime: unix.Timespec{Sec: s.Atime.Sec, Nsec: s.Atime.Nsec},
		Mtime: unix.Timespec{Sec: s.Mtime.Sec, Nsec: s.Mtime.Nsec},
		Ctime: unix.Timespec{Sec: s.Ctime.Sec, Nsec: s.Ctime.Nsec},
	}
}

// Stat implements vfs.Inode.
func (i *inode) Stat() (vfs.Stat, error) {
	e := i.fs.epoch()
	i.mu.Lock()
	if i.cached || i.stEpoch == e {
		st := i.st
		i.mu.Unlock()
		return toStat(st), nil
	}
	i.mu.Unlock()
	st, err := i.fs.c.Stat(i.id)
	if err != nil {
		return vfs.Stat{}, err
	}
	i.mu.Lock()
	i.st, i.stEpoch = st, e
	i.mu.Unlock()
	return toStat(st), nil
}

// changed forgets the attributes kept for this system call: the sentry
// changed the node (its size, times or links).
func (i *inode) changed() {
	i.mu.Lock()
	i.stEpoch = 0
	i.mu.Unlock()
}

func (i *inode) isDir() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// SetStat implements vfs.Inode.
func (i *inode) SetStat(s vfs.SetStat) error {
	if i.fs.readOnly {
		return unix.EROFS
	}
	e := i.fs.epoch()
	st, err := i.fs.c.SetAttr(i.id, proto.SetAttr{
		Mask: protoMask(s.Mask), Mode: s.Mode, UID: s.UID, GID: s.GID, Size: uint64(s.Size),
		Atime: proto.Timespec{Sec: s.Atime.Sec, Nsec: s.Atime.Nsec},
		Mtime: proto.Timespec{Sec: s.Mtime.Sec, Nsec: s.Mtime.Nsec},
	})
	if err != nil {
		return err
	}
	i.mu.Lock()
	i.st, i.stEpoch = st, e
	if s.Mask&vfs.SetSize != 0 {
		i.dropPagesLocked(s.Size)
	}
	i.mu.Unlock()
	return nil
}

// protoMask converts the VFS's statx-style mask to the protocol's bits.
func protoMask(m uint32) uint32 {
	var out uint32
	for _, b := range []struct{ v, p uint32 }{
		{vfs.SetMode, proto.SetAttrMode}, {vfs.SetUID, proto.SetAttrUID}, {vfs.SetGID, proto.SetAttrGID},
		{vfs.SetSize, proto.SetAttrSize}, {vfs.SetAtime, proto.SetAttrAtime}, {vfs.SetMtime, proto.SetAttrMtime},
	} {
		if m&b.v != 0 {
			out |= b.p
		}
	}
	return out
}

// StatFS implements vfs.Inode.
func (i *inode) StatFS() (vfs.Statfs, error) {
	s, err := i.fs.c.StatFS(i.id)
	if err != nil {
		return vfs.Statfs{}, err
	}
	return vfs.Statfs{Type: s.Type, Bsize: s.Bsize, Blocks: s.Blocks, Bfree: s.Bfree, Bavail: s.Bavail,
		Files: s.Files, Ffree: s.Ffree, Namelen: s.Namelen, Frsize: s.Frsize, Flags: s.Flags}, nil
}

// Lookup implements vfs.Inode.
func (i *inode) Lookup(name string) (vfs.Inode, error) {
	if !i.isDir() {
		return nil, unix.ENOTDIR
	}
	if i.fs.readOnly {
		i.mu.Lock()
		_, gone := i.absent[name]
		i.mu.Unlock()
		if gone {
			return nil, unix.ENOENT
		}
	}
	e := i.fs.epoch()
	id, st, target, err := i.fs.c.WalkLink(i.id, name)
	if errors.Is(err, unix.ENOENT) && i.fs.readOnly {
		i.mu.Lock()
		if i.absent == nil {
			i.absent = make(map[string]struct{})
		}
		if len(i.absent) < maxAbsent {
			i.absent[name] = struct{}{}
		}
		i.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	c := i.fs.newInode(id, st, e)
	if target != "" && i.fs.readOnly {
		c.target = &target
	}
	return c, nil
}

// Readdir implements vfs.Inode.
func (i *inode) Readdir() ([]vfs.Dirent, error) {
	ents, err := i.fs.c.Readdir(i.id)
	if err != nil {
		return nil, err
	}
	out := make([]vfs.Dirent, 0, len(ents))
	for _, e := range ents {
		out = append(out, vfs.Dirent{Name: e.Name, Ino: e.Ino, Type: e.Type})
	}
	return out, nil
}

func (i *inode) writable() error {
	if i.fs.readOnly {
		return unix.EROFS
	}
	return nil
}

// Create implements vfs.Inode.
func (i *inode) Create(name string, mode uint32, o vfs.Owner) (vfs.Inode, error) {
	if err := i.writable(); err != nil {
		return nil, err
	}
	e := i.fs.epoch()
	id, st, fd, err := i.fs.c.Create(i.id, name, unix.O_RDWR|unix.O_EXCL, mode&0o7777, o.UID, o.GID)
	i.changed()
	if err != nil {
		return nil, err
	}
	unix.Close(fd)
	return i.fs.newInode(id, st, e), nil
}

// Mkdir implements vfs.Inode.
func (i *inode) Mkdir(name string, mode uint32, o vfs.Owner) (vfs.Inode, error) {
	if err := i.writable(); err != nil {
		return nil, err
	}
	e := i.fs.epoch()
	id, st, err := i.fs.c.Mkdir(i.id, name, mode&0o7777, o.UID, o.GID)
	i.changed()
	if err != nil {
		return nil, err
	}
	return i.fs.newInode(id, st, e), nil
}

// Mknod implements vfs.Inode.
func (i *inode) Mknod(name string, mode uint32, dev uint64, o vfs.Owner) (vfs.Inode, error) {
	if err := i.writable(); err != nil {
		return nil, err
	}
	e := i.fs.epoch()
	id, st, err := i.fs.c.Mknod(i.id, name, mode, o.UID, o.GID)
	i.changed()
	if err != nil {
		return nil, err
	}
	return i.fs.newInode(id, st, e), nil
}

// Symlink implements vfs.Inode.
func (i *inode) Symlink(name, target string, o vfs.Owner) (vfs.Inode, error) {
	if err := i.writable(); err != nil {
		return nil, err
	}
	e := i.fs.epoch()
	id, st, err := i.fs.c.Symlink(i.id, name, target, o.UID, o.GID)
	i.changed()
	if err != nil {
		return nil, err
	}
	return i.fs.newInode(id, st, e), nil
}

// Link implements vfs.Inode.
func (i *inode) Link(name string, target vfs.Inode) error {
	if err := i.writable(); err != nil {
		return err
	}
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return unix.EXDEV
	}
	_, err := i.fs.c.Link(i.id, name, t.id)
	i.changed()
	t.changed()
	return err
}

// Unlink implements vfs.Inode.
func (i *inode) Unlink(name string) error {
	if err := i.writable(); err != nil {
		return err
	}
	defer i.changed()
	return i.fs.c.Unlink(i.id, name, false)
}

// Rmdir implements vfs.Inode.
func (i *inode) Rmdir(name string) error {
	if err := i.writable(); err != nil {
		return err
	}
	defer i.changed()
	return i.fs.c.Unlink(i.id, name, true)
}

// Rename implements vfs.Inode.
func (i *inode) Rename(oldName string, newDir vfs.Inode, newName string, flags uint) error {
	if err := i.writable(); err != nil {
		return err
	}
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != i.fs {
		return unix.EXDEV
	}
	defer nd.changed()
	defer i.changed()
	return i.fs.c.Rename(i.id, oldName, nd.id, newName, uint32(flags))
}

// Readlink implements vfs.Inode.
func (i *inode) Readlink() (string, error) {
	i.mu.Lock()
	isLink := i.st.Mode&unix.S_IFMT == unix.S_IFLNK
	i.mu.Unlock()
	if !isLink {
		return "", unix.EINVAL
	}
	if !i.fs.readOnly {
		return i.fs.c.Readlink(i.id)
	}
	// On a read-only mount the target is asked for once.
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.target == nil {
		t, err := i.fs.c.Readlink(i.id)
		if err != nil {
			return "", err
		}
		i.target = &t
	}
	return *i.target, nil
}

// Extended attributes of host files are not passed through.
func (i *inode) Getxattr(string) ([]byte, error)    { return nil, unix.ENODATA }
func (i *inode) Setxattr(string, []byte, int) error { return unix.ENOTSUP }
func (i *inode) Listxattr() ([]string, error)       { return nil, nil }
func (i *inode) Removexattr(string) error           { return unix.ENOTSUP }

// Open implements vfs.Inode.
func (i *inode) Open(flags int) (vfs.FileDescriptionImpl, error) {
	acc := flags & unix.O_ACCMODE
	if i.fs.readOnly && (acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0) {
		return nil, unix.EROFS
	}
	i.mu.Lock()
	typ := i.st.Mode & unix.S_IFMT
	i.mu.Unlock()
	if typ == unix.S_IFDIR {
		return &dirFD{i: i}, nil
	}
	if typ == unix.S_IFREG && i.fs.readOnly {
		// Every open of a file on a read-only mount reads it: they
		// share the inode's host FD (reads are positional, and locks
		// are the sentry's), each with a duplicate, rather than make a
		// round trip apiece.
		rfd, err := i.HostFD()
		if err != nil {
			return nil, err
		}
		fd, err := unix.FcntlInt(uintptr(rfd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		return &fileFD{i: i, fd: fd}, nil
	}
	fd, err := i.fs.c.Open(i.id, uint32(flags&(unix.O_ACCMODE|unix.O_APPEND|unix.O_TRUNC)))
	if err != nil {
		return nil, err
	}
	if typ != unix.S_IFREG {
		return &host.File{FD: fd}, nil
	}
	return &fileFD{i: i, fd: fd}, nil
}

// HostFD implements vfs.HostFileMappable: the FD that fills the page
// cache.
func (i *inode) HostFD() (int, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.readFD < 0 {
		fd, err := i.fs.c.Open(i.id, unix.O_RDONLY)
		if err != nil {
			return -1, err
		}
		i.readFD = fd
	}
	return i.readFD, nil
}

// readAhead is how many pages a page-cache miss reads at once: the
// aligned window around the missing page (a file mapping's fault chunk in
// sentry/mm), so a fault costs one host read instead of one per page.
const readAhead = 64

// MapPage implements vfs.Mappable through the page cache. Shared writable
// mappings of host files are not supported (EACCES). A miss fills the rest
// of its readAhead window (up to a cached page or the end of the file) with
// one read.
func (i *inode) MapPage(index int64, write bool) (int64, error) {
	if write {
		return 0, unix.EACCES
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if off, ok := i.pages[index]; ok {
		return off, nil
	}
	if i.readFD < 0 {
		fd, err := i.fs.c.Open(i.id, unix.O_RDONLY)
		if err != nil {
			return 0, err
		}
		i.readFD = fd
	}
	var st unix.Stat_t
	if err := unix.Fstat(i.readFD, &st); err != nil {
		return 0, err
	}
	if index*pageSize >= st.Size {
		return 0, unix.EFAULT
	}
	lastPage := (st.Size - 1) / pageSize
	n := int64(1)
	for (index+n)%readAhead != 0 && index+n <= lastPage {
		if _, ok := i.pages[index+n]; ok {
			break
		}
		n++
	}
	off, err := i.fs.mf.Allocate(int(n))
	if err != nil {
		return 0, err
	}
	buf := i.fs.mf.Slice(off, int(n)*pageSize)
	// Populate the fresh pages with one call rather than a host page fault
	// each in the read below (dear on a VM); kernels before 5.14 say
	// EINVAL and the read faults them in.
	unix.Madvise(buf, unix.MADV_POPULATE_WRITE)
	for done := 0; done < len(buf); {
		got, err := unix.Pread(i.readFD, buf[done:], index*pageSize+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			i.fs.mf.Free(off, int(n))
			return 0, err
		}
		if got == 0 {
			break // the file shrank: the rest reads as zeroes
		}
		done += got
	}
	if i.pages == nil {
		i.pages = make(map[int64]int64)
	}
	for k := int64(0); k < n; k++ {
		i.pages[index+k] = off + k*pageSize
	}
	return off, nil
}

// dropPagesLocked forgets cached pages from byte offset from on, after the
// file changed under them.
func (i *inode) dropPagesLocked(from int64) {
	for idx := range i.pages {
		if (idx+1)*pageSize > from {
			// Mapped copies keep the page; it is not freed here.
			delete(i.pages, idx)
		}
	}
}

// fileFD is an open regular file: a donated host FD.
type fileFD struct {
	i  *inode
	fd int
}

func retry(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			if n < 0 {
				n = 0
			}
			return n, err
		}
	}
}

func (f *fileFD) Positional() bool             { return true }
func (f *fileFD) Readv([][]byte) (int, error)  { return 0, unix.ESPIPE }
func (f *fileFD) Writev([][]byte) (int, error) { return 0, unix.ESPIPE }
func (f *fileFD) Mappable() vfs.Mappable       { return f.i }
func (f *fileFD) Sync() error                  { return unix.Fsync(f.fd) }
func (f *fileFD) Allocate(off, n int64) error {
	defer f.i.changed()
	return unix.Fallocate(f.fd, 0, off, n)
}
func (f *fileFD) Release() { unix.Close(f.fd) }
func (f *fileFD) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstat(f.fd, &st)
	return st, err
}
func (f *fileFD) Preadv(b [][]byte, off int64) (int, error) {
	return retry(func() (int, error) { return unix.Preadv(f.fd, b, off) })
}

func (f *fileFD) Pwritev(b [][]byte, off int64) (int, error) {
	n, err := retry(func() (int, error) { return unix.Pwritev(f.fd, b, off) })
	if n > 0 {
		f.i.mu.Lock()
		f.i.dropPagesLocked(off)
		f.i.stEpoch = 0
		f.i.mu.Unlock()
	}
	return n, err
}

func (f *fileFD) Ioctl(vfs.UserMemory, uint, uintptr) (uintptr, error) { return 0, unix.ENOTTY }

// dirFD is an open directory; its listing comes from the inode.
type dirFD struct {
	vfs.NoIO
	i *inode
}

func (d *dirFD) Positional() bool                    { return true }
func (d *dirFD) Preadv([][]byte, int64) (int, error) { return 0, unix.EISDIR }
func (d *dirFD) Readv([][]byte) (int, error)         { return 0, unix.EISDIR }
func (d *dirFD) Stat() (unix.Stat_t, error)          { return vfs.StatToUnix(d.i) }
