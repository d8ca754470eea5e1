// Package host implements files backed by a host FD that was handed to the
// sentry (the standard streams now; donated gofer FDs later). Reads and
// writes go straight to the host FD, into or out of application memory.
//
// It must not open host paths, and must not import the sentry, syscalls or
// runsc layers.
package host

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// kernelTermiosSize is sizeof(struct termios) in the x86-64 kernel ABI.
const kernelTermiosSize = 36

// File is a host FD owned by the sentry.
type File struct {
	FD int
}

// NewFile takes ownership of hostFD and returns a file description for it
// with the host's access mode and status flags.
func NewFile(hostFD int) (*vfs.FileDescription, error) {
	fl, err := unix.FcntlInt(uintptr(hostFD), unix.F_GETFL, 0)
	if err != nil {
		return nil, err
	}
	return vfs.NewFileDescription(&File{FD: hostFD}, fl), nil
}

func errnoOf(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EIO
}

func retry[T any](f func() (T, error)) (T, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, errnoOf(err)
		}
	}
}

// Readv implements vfs.FileDescriptionImpl.
func (f *File) Readv(bufs [][]byte) (int, error) {
	return retry(func() (int, error) { return unix.Readv(f.FD, bufs) })
}

// Writev implements vfs.FileDescriptionImpl.
func (f *File) Writev(bufs [][]byte) (int, error) {
	return retry(func() (int, error) { return unix.Writev(f.FD, bufs) })
}

// Preadv implements vfs.FileDescriptionImpl.
func (f *File) Preadv(bufs [][]byte, off int64) (int, error) {
	return retry(func() (int, error) { return unix.Preadv(f.FD, bufs, off) })
}

// Pwritev implements vfs.FileDescriptionImpl.
func (f *File) Pwritev(bufs [][]byte, off int64) (int, error) {
	return retry(func() (int, error) { return unix.Pwritev(f.FD, bufs, off) })
}

// Stat implements vfs.FileDescriptionImpl.
func (f *File) Stat() (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstat(f.FD, &st)
	return st, errnoOf(err)
}

// Ioctl implements vfs.FileDescriptionImpl: the terminal queries a program
// makes to learn about its standard streams. Other requests are refused with
// ENOTTY, Linux's answer for a request a file does not support.
func (f *File) Ioctl(mem vfs.UserMemory, req uint, arg uintptr) (uintptr, error) {
	switch req {
	case unix.TCGETS:
		t, err := unix.IoctlGetTermios(f.FD, unix.TCGETS)
		if err != nil {
			return 0, errnoOf(err)
		}
		// The kernel's struct termios for TCGETS is 36 bytes; unix.Termios
		// is the longer termios2 layout.
		b := unsafe.Slice((*byte)(unsafe.Pointer(t)), kernelTermiosSize)
		if _, err := mem.CopyOut(arg, b); err != nil {
			return 0, err
		}
		return 0, nil
	case unix.TIOCGWINSZ:
		w, err := unix.IoctlGetWinsize(f.FD, unix.TIOCGWINSZ)
		if err != nil {
			return 0, errnoOf(err)
		}
		b := unsafe.Slice((*byte)(unsafe.Pointer(w)), unsafe.Sizeof(*w))
		if _, err := mem.CopyOut(arg, b); err != nil {
			return 0, err
		}
		return 0, nil
	}
	return 0, unix.ENOTTY
}

// Release implements vfs.FileDescriptionImpl.
func (f *File) Release() { unix.Close(f.FD) }

// Readiness implements vfs.Pollable by asking the host.
func (f *File) Readiness(mask uint32) uint32 {
	fds := []unix.PollFd{{Fd: int32(f.FD), Events: int16(mask)}}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return 0
	}
	return uint32(uint16(fds[0].Revents)) & mask
}

// Changed implements vfs.Pollable: the host cannot tell, so callers poll.
func (f *File) Changed() <-chan struct{} { return nil }
