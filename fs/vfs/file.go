// Package vfs owns the sentry's file abstractions: file descriptions (an open
// file with its status flags and reference count) and the per-process FD
// table with close-on-exec. Filesystems implement FileDescriptionImpl.
//
// Mounts, dentries and path walks join this package with the filesystem work;
// for now the only files are host FDs handed in (the standard streams).
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

// StatusFlags that F_SETFL may change (fcntl(2)).
const settableFlags = unix.O_APPEND | unix.O_ASYNC | unix.O_DIRECT | unix.O_NOATIME | unix.O_NONBLOCK

// FileDescription is an open file description.
type FileDescription struct {
	Impl FileDescriptionImpl
	refs atomic.Int64

	mu sync.Mutex // guards flags
	// flags are the access mode and status flags (O_RDONLY, O_APPEND, ...).
	flags int
}

// NewFileDescription returns a description holding one reference.
func NewFileDescription(impl FileDescriptionImpl, flags int) *FileDescription {
	fd := &FileDescription{Impl: impl, flags: flags &^ unix.O_CLOEXEC}
	fd.refs.Store(1)
	return fd
}

// IncRef takes a reference.
func (fd *FileDescription) IncRef() { fd.refs.Add(1) }

// DecRef drops a reference, releasing the file with the last one.
func (fd *FileDescription) DecRef() {
	if fd.refs.Add(-1) == 0 {
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
