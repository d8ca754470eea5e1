// Package eventfd implements eventfd(2) files: a 64-bit counter that read
// takes and write adds to, with EFD_SEMAPHORE and non-blocking modes.
//
// It must not import the sentry, syscalls or runsc layers.
package eventfd

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// File is one eventfd.
type File struct {
	vfs.NoIO
	semaphore bool
	desc      *vfs.FileDescription

	mu      sync.Mutex // guards count and changed
	count   uint64
	changed chan struct{}
}

// New returns an eventfd with the initial value; the caller wraps it in a
// file description and calls SetDescription.
func New(initial uint64, semaphore bool) *File {
	return &File{count: initial, semaphore: semaphore, changed: make(chan struct{})}
}

// SetDescription ties the file to its description (for O_NONBLOCK).
func (f *File) SetDescription(d *vfs.FileDescription) { f.desc = d }

func (f *File) nonblocking() bool { return f.desc != nil && f.desc.Flags()&unix.O_NONBLOCK != 0 }

func (f *File) broadcastLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func first8(bufs [][]byte) ([]byte, bool) {
	var b []byte
	for _, x := range bufs {
		b = append(b, x...)
		if len(b) >= 8 {
			return b[:8], true
		}
	}
	return nil, false
}

// Readv implements vfs.FileDescriptionImpl.
func (f *File) Readv(bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total < 8 {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	for f.count == 0 {
		if f.nonblocking() {
			f.mu.Unlock()
			return 0, unix.EAGAIN
		}
		ch := f.changed
		f.mu.Unlock()
		if err := vfs.Block(ch); err != nil {
			return 0, err
		}
		f.mu.Lock()
	}
	v := f.count
	if f.semaphore {
		v = 1
	}
	f.count -= v
	f.broadcastLocked()
	f.mu.Unlock()
	var out [8]byte
	binary.LittleEndian.PutUint64(out[:], v)
	n := 0
	for _, b := range bufs {
		n += copy(b, out[n:])
		if n == 8 {
			break
		}
	}
	return 8, nil
}

// Writev implements vfs.FileDescriptionImpl.
func (f *File) Writev(bufs [][]byte) (int, error) {
	b, ok := first8(bufs)
	if !ok {
		return 0, unix.EINVAL
	}
	v := binary.LittleEndian.Uint64(b)
	if v == ^uint64(0) {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	for ^uint64(0)-1-f.count < v {
		if f.nonblocking() {
			f.mu.Unlock()
			return 0, unix.EAGAIN
		}
		ch := f.changed
		f.mu.Unlock()
		if err := vfs.Block(ch); err != nil {
			return 0, err
		}
		f.mu.Lock()
	}
	f.count += v
	f.broadcastLocked()
	f.mu.Unlock()
	return 8, nil
}

// Preadv implements vfs.FileDescriptionImpl.
func (f *File) Preadv([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Pwritev implements vfs.FileDescriptionImpl.
func (f *File) Pwritev([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Stat implements vfs.FileDescriptionImpl.
func (f *File) Stat() (unix.Stat_t, error) { return unix.Stat_t{Mode: 0o600, Nlink: 1}, nil }

// Readiness implements vfs.Pollable.
func (f *File) Readiness(mask uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ev uint32
	if f.count > 0 {
		ev |= vfs.PollIn | vfs.PollRdNorm
	}
	if f.count < ^uint64(0)-1 {
		ev |= vfs.PollOut | vfs.PollWrNorm
	}
	return ev & mask
}

// Changed implements vfs.Pollable.
func (f *File) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}
