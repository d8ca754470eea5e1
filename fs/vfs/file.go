// Package vfs owns the sandbox's virtual filesystem: the mount namespace,
// dentries (a cache of the directory tree), path resolution with Linux's
// rules (symlinks, "..", mounts, trailing slashes, openat2's RESOLVE_ flags),
// permission checks, file descriptions with offsets and status flags, and the
// per-process FD table with close-on-exec. Filesystems implement Inode and
// FileDescriptionImpl.
//
// It must not import the sentry, syscalls or runsc layers: application memory
// is reached only through the UserMemory interface.
package vfs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// UserMemory lets a file read or write application memory (ioctl arguments)
// without knowing how it is managed.
type UserMemory interface {
	CopyIn(addr uintptr, dst []byte) (int, error)
	CopyOut(addr uintptr, src []byte) (int, error)
}

// FileDescriptionImpl is what a filesystem provides for an open file. Errors
// are unix.Errno values.
type FileDescriptionImpl interface {
	Readv(bufs [][]byte) (int, error)
	Writev(bufs [][]byte) (int, error)
	Preadv(bufs [][]byte, off int64) (int, error)
	Pwritev(bufs [][]byte, off int64) (int, error)
	Ioctl(mem UserMemory, req uint, arg uintptr) (uintptr, error)
	Stat() (unix.Stat_t, error)
	// Release is called when the last reference is dropped.
	Release()
}

// Positional is implemented by files that have a position (regular files,
// directories): reads and writes go through Preadv/Pwritev at the file
// description's offset, which the VFS keeps.
type Positional interface {
	Positional() bool
}

// NoIO answers every I/O call with EBADF or ENOTTY: embed it in files that
// cannot be read or written.
type NoIO struct{}

func (NoIO) Readv([][]byte) (int, error)                      { return 0, unix.EBADF }
func (NoIO) Writev([][]byte) (int, error)                     { return 0, unix.EBADF }
func (NoIO) Preadv([][]byte, int64) (int, error)              { return 0, unix.EBADF }
func (NoIO) Pwritev([][]byte, int64) (int, error)             { return 0, unix.EBADF }
func (NoIO) Ioctl(UserMemory, uint, uintptr) (uintptr, error) { return 0, unix.EBADF }
func (NoIO) Release()                                         {}

// StatToUnix converts an inode's Stat into the stat(2) structure.
func StatToUnix(i Inode) (unix.Stat_t, error) {
	s, err := i.Stat()
	if err != nil {
		return unix.Stat_t{}, err
	}
	return unix.Stat_t{
		Dev: s.Dev, Ino: s.Ino, Nlink: uint64(s.Nlink), Mode: s.Mode, Uid: s.UID, Gid: s.GID,
		Rdev: s.Rdev, Size: s.Size, Blksize: s.Blksize, Blocks: s.Blocks,
		Atim: s.Atime, Mtim: s.Mtime, Ctim: s.Ctime,
	}, nil
}

// StatusFlags that F_SETFL may change (fcntl(2)).
const settableFlags = unix.O_APPEND | unix.O_ASYNC | unix.O_DIRECT | unix.O_NOATIME | unix.O_NONBLOCK

// FileDescription is an open file description.
type FileDescription struct {
	Impl FileDescriptionImpl
	refs atomic.Int64

	// vd is the file's place in the tree, when it has one.
	vd VirtualDentry
	// inode is the file's inode, when it has one.
	inode Inode

	mu sync.Mutex // guards flags, offset and dirents
	// flags are the access mode and status flags (O_RDONLY, O_APPEND, ...).
	flags int
	// offset is the file position of positional files.
	offset int64
	// dirents is the directory listing getdents64 reads from, taken when
	// the offset is 0.
	dirents []Dirent
	// onRelease run when the last reference goes (lock cleanup).
	onRelease []func()
}

// OnRelease registers fn to run when the description is released.
func (fd *FileDescription) OnRelease(fn func()) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	fd.onRelease = append(fd.onRelease, fn)
}

// VirtualDentry returns the file's place in the tree (zero if none).
func (fd *FileDescription) VirtualDentry() VirtualDentry { return fd.vd }

// Inode returns the file's inode, or nil.
func (fd *FileDescription) Inode() Inode { return fd.inode }

// SetInode records the inode and place of a file opened outside OpenAt.
func (fd *FileDescription) SetInode(vd VirtualDentry, i Inode) { fd.vd, fd.inode = vd, i }

// IsPath reports an O_PATH description.
func (fd *FileDescription) IsPath() bool { return fd.Flags()&unix.O_PATH != 0 }

func (fd *FileDescription) positional() bool {
	p, ok := fd.Impl.(Positional)
	return ok && p.Positional()
}

// Read reads into bufs at the file position (or from the stream).
func (fd *FileDescription) Read(bufs [][]byte) (int, error) {
	if fd.IsPath() || !fd.Readable() {
		return 0, unix.EBADF
	}
	if !fd.positional() {
		return fd.Impl.Readv(bufs)
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	n, err := fd.Impl.Preadv(bufs, fd.offset)
	fd.offset += int64(n)
	return n, err
}

// Write writes bufs at the file position, or at the end with O_APPEND.
func (fd *FileDescription) Write(bufs [][]byte) (int, error) {
	if fd.IsPath() || !fd.Writable() {
		return 0, unix.EBADF
	}
	if !fd.positional() {
		return fd.Impl.Writev(bufs)
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if fd.flags&unix.O_APPEND != 0 {
		st, err := fd.Impl.Stat()
		if err != nil {
			return 0, err
		}
		fd.offset = st.Size
	}
	n, err := fd.Impl.Pwritev(bufs, fd.offset)
	fd.offset += int64(n)
	return n, err
}

// Pread reads at off without moving the position.
func (fd *FileDescription) Pread(bufs [][]byte, off int64) (int, error) {
	if fd.IsPath() || !fd.Readable() {
		return 0, unix.EBADF
	}
	if !fd.positional() {
		return fd.Impl.Preadv(bufs, off)
	}
	return fd.Impl.Preadv(bufs, off)
}

// Pwrite writes at off without moving the position. With O_APPEND the data
// goes to the end of the file regardless of off, as Linux does.
func (fd *FileDescription) Pwrite(bufs [][]byte, off int64) (int, error) {
	if fd.IsPath() || !fd.Writable() {
		return 0, unix.EBADF
	}
	if fd.positional() && fd.Flags()&unix.O_APPEND != 0 {
		st, err := fd.Impl.Stat()
		if err != nil {
			return 0, err
		}
		off = st.Size
	}
	return fd.Impl.Pwritev(bufs, off)
}

// Seek implements lseek(2).
func (fd *FileDescription) Seek(off int64, whence int) (int64, error) {
	if fd.IsPath() {
		return 0, unix.EBADF
	}
	if !fd.positional() {
		return 0, unix.ESPIPE
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = fd.offset
	case unix.SEEK_END, unix.SEEK_DATA, unix.SEEK_HOLE:
		st, err := fd.Impl.Stat()
		if err != nil {
			return 0, err
		}
		if whence == unix.SEEK_END {
			base = st.Size
			break
		}
		if off < 0 || off >= st.Size {
			return 0, unix.ENXIO
		}
		if whence == unix.SEEK_HOLE {
			// Files are dense here: the only hole is at the end.
			off = st.Size
		}
	default:
		return 0, unix.EINVAL
	}
	n := base + off
	if (off > 0 && n < base) || n < 0 {
		return 0, unix.EINVAL
	}
	fd.offset = n
	if n == 0 {
		fd.dirents = nil
	}
	return n, nil
}

// ReadDir returns directory entries from the position on, at most max of
// them, for getdents64; consume advances the position by how many the
// caller used.
func (fd *FileDescription) ReadDir(fill func(d Dirent, next int64) bool) error {
	if fd.inode == nil || fd.IsPath() {
		return unix.EBADF
	}
	fd.mu.Lock()
	needList := fd.dirents == nil || fd.offset == 0
	fd.mu.Unlock()
	var ents []Dirent
	if needList {
		// Listed without fd.mu: a listing may look at this very file
		// (/proc/self/fd).
		var err error
		if ents, err = fd.inode.Readdir(); err != nil {
			return err
		}
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if needList {
		st, _ := fd.inode.Stat()
		dots := []Dirent{{Name: ".", Ino: st.Ino, Type: DTypeOf(unix.S_IFDIR)}, {Name: "..", Ino: st.Ino, Type: DTypeOf(unix.S_IFDIR)}}
		if p := fd.vd.Dentry; p != nil && p.parent != nil {
			if pst, err := p.parent.inode.Stat(); err == nil {
				dots[1].Ino = pst.Ino
			}
		}
		fd.dirents = append(dots, ents...)
	}
	for fd.offset < int64(len(fd.dirents)) {
		if !fill(fd.dirents[fd.offset], fd.offset+1) {
			break
		}
		fd.offset++
	}
	return nil
}

// NewFileDescription returns a description holding one reference.
func NewFileDescription(impl FileDescriptionImpl, flags int) *FileDescription {
	fd := &FileDescription{Impl: impl, flags: flags &^ (unix.O_CLOEXEC | unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC)}
	fd.refs.Store(1)
	return fd
}

// IncRef takes a reference.
func (fd *FileDescription) IncRef() { fd.refs.Add(1) }

// DecRef drops a reference, releasing the file with the last one.
func (fd *FileDescription) DecRef() {
	if fd.refs.Add(-1) == 0 {
		fd.mu.Lock()
		hooks := fd.onRelease
		fd.onRelease = nil
		fd.mu.Unlock()
		for _, h := range hooks {
			h()
		}
		fd.Impl.Release()
	}
}

// Flags returns the access mode and status flags.
func (fd *FileDescription) Flags() int {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	return fd.flags
}

// SetStatusFlags implements F_SETFL: only the settable flags change.
func (fd *FileDescription) SetStatusFlags(flags int) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	fd.flags = fd.flags&^settableFlags | flags&settableFlags
}

// Readable reports whether the file was opened for reading.
func (fd *FileDescription) Readable() bool {
	m := fd.Flags() & unix.O_ACCMODE
	return m == unix.O_RDONLY || m == unix.O_RDWR
}

// Writable reports whether the file was opened for writing.
func (fd *FileDescription) Writable() bool {
	m := fd.Flags() & unix.O_ACCMODE
	return m == unix.O_WRONLY || m == unix.O_RDWR
}

// Block waits until ch is closed. The sentry replaces it at start with a
// wait that also returns (with its restart errno) when a signal needs the
// calling task, so blocking file operations stay interruptible.
var Block = func(ch <-chan struct{}) error {
	<-ch
	return nil
}

// Poll event bits (poll(2)).
const (
	PollIn     = 0x1
	PollPri    = 0x2
	PollOut    = 0x4
	PollErr    = 0x8
	PollHup    = 0x10
	PollNval   = 0x20
	PollRdNorm = 0x40
	PollWrNorm = 0x100
	PollRdHup  = 0x2000
)

// Pollable is implemented by files whose readiness changes (pipes,
// sockets, eventfds). Files that do not implement it are always ready for
// reading and writing, as regular files are.
type Pollable interface {
	// Readiness returns the events in mask that are ready now.
	Readiness(mask uint32) uint32
	// Changed returns a channel closed at the next change of readiness
	// (nil if the file cannot tell: the caller polls it periodically).
	Changed() <-chan struct{}
}

// EdgeCounter is implemented by pollable files that count the events that
// wake their pollers among mask (new input for POLLIN, new room for
// POLLOUT), as Linux's wake-ups carry the event kind: edge-triggered epoll
// then reports each such event once, and not a change of another kind.
type EdgeCounter interface {
	EdgeCount(mask uint32) uint64
}

// Readiness returns fd's ready events among mask (POLLERR and POLLHUP are
// always reported).
func (fd *FileDescription) Readiness(mask uint32) (uint32, <-chan struct{}) {
	if p, ok := fd.Impl.(Pollable); ok {
		return p.Readiness(mask|PollErr|PollHup) & (mask | PollErr | PollHup | PollNval), p.Changed()
	}
	return mask & (PollIn | PollOut | PollRdNorm | PollWrNorm), nil
}
