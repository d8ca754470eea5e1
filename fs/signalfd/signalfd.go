// Package signalfd implements signalfd(2) files: reading one takes pending
// signals of its mask off the reading task's queues and returns them as
// struct signalfd_siginfo records; poll and epoll see it readable while
// such a signal is pending.
//
// It owns only the file: its mask, the record layout, blocking and
// readiness. Signals belong to the kernel, which it reaches only through
// the Source interface; as in Linux, every call acts on the signals of the
// task making it (a signalfd inherited across fork reads the child's).
//
// It must not import the sentry, syscalls or runsc layers.
package signalfd

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// RecordSize is sizeof(struct signalfd_siginfo).
const RecordSize = 128

// Info is one struct signalfd_siginfo, in its fields.
type Info struct {
	Signo   uint32
	Errno   int32
	Code    int32
	PID     uint32
	UID     uint32
	FD      int32
	TID     uint32
	Band    uint32
	Overrun uint32
	Trapno  uint32
	Status  int32
	Int     int32
	Ptr     uint64
	Utime   uint64
	Stime   uint64
	Addr    uint64
	AddrLSB uint16
}

// encode lays out the record (the rest of the 128 bytes is padding, zero).
func (i *Info) encode(b []byte) {
	clear(b[:RecordSize])
	le := binary.LittleEndian
	le.PutUint32(b[0:], i.Signo)
	le.PutUint32(b[4:], uint32(i.Errno))
	le.PutUint32(b[8:], uint32(i.Code))
	le.PutUint32(b[12:], i.PID)
	le.PutUint32(b[16:], i.UID)
	le.PutUint32(b[20:], uint32(i.FD))
	le.PutUint32(b[24:], i.TID)
	le.PutUint32(b[28:], i.Band)
	le.PutUint32(b[32:], i.Overrun)
	le.PutUint32(b[36:], i.Trapno)
	le.PutUint32(b[40:], uint32(i.Status))
	le.PutUint32(b[44:], uint32(i.Int))
	le.PutUint64(b[48:], i.Ptr)
	le.PutUint64(b[56:], i.Utime)
	le.PutUint64(b[64:], i.Stime)
	le.PutUint64(b[72:], i.Addr)
	le.PutUint16(b[80:], i.AddrLSB)
}

// Source is what a signalfd needs from the kernel. Every method acts for
// the task calling it (the reader or poller), and must be safe for
// concurrent use.
type Source interface {
	// Dequeue takes the lowest-numbered pending signal of mask, the
	// task's own before its process's, and returns its record.
	Dequeue(mask uint64) (Info, bool)
	// Pending returns the signals pending for the task (its own and its
	// process's).
	Pending() uint64
	// Queued returns a channel closed at the next signal queued to the
	// task's process or any of its threads.
	Queued() <-chan struct{}
}

// unmaskable are SIGKILL and SIGSTOP, which a signalfd never reads.
const unmaskable = 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)

// File is one signalfd.
type File struct {
	vfs.NoIO
	src  Source
	desc *vfs.FileDescription

	mu   sync.Mutex // guards mask
	mask uint64
}

// New returns a signalfd for the signals of mask; the caller wraps it in
// a file description and calls SetDescription.
func New(src Source, mask uint64) *File {
	return &File{src: src, mask: mask &^ unmaskable}
}

// SetDescription ties the file to its description (for O_NONBLOCK).
func (f *File) SetDescription(d *vfs.FileDescription) { f.desc = d }

// SetMask replaces the set of signals the file reads.
func (f *File) SetMask(mask uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mask = mask &^ unmaskable
}

// Mask returns the set of signals the file reads.
func (f *File) Mask() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mask
}

func (f *File) nonblocking() bool { return f.desc != nil && f.desc.Flags()&unix.O_NONBLOCK != 0 }

// Readv implements vfs.FileDescriptionImpl: it returns as many records as
// fit and are pending, waiting for the first unless the file is
// non-blocking (EAGAIN). A buffer too small for one record is EINVAL.
func (f *File) Readv(bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	max := total / RecordSize
	if max == 0 {
		return 0, unix.EINVAL
	}
	var infos []Info
	for {
		// Taken before looking, so a signal queued in between wakes us.
		ch := f.src.Queued()
		if info, ok := f.src.Dequeue(f.Mask()); ok {
			infos = append(infos, info)
			break
		}
		if f.nonblocking() {
			return 0, unix.EAGAIN
		}
		if err := vfs.Block(ch); err != nil {
			return 0, err
		}
	}
	for len(infos) < max {
		info, ok := f.src.Dequeue(f.Mask())
		if !ok {
			break
		}
		infos = append(infos, info)
	}
	out := make([]byte, len(infos)*RecordSize)
	for i := range infos {
		infos[i].encode(out[i*RecordSize:])
	}
	n := 0
	for _, b := range bufs {
		n += copy(b, out[n:])
		if n == len(out) {
			break
		}
	}
	return len(out), nil
}

// Writev implements vfs.FileDescriptionImpl: a signalfd cannot be written.
func (f *File) Writev([][]byte) (int, error) { return 0, unix.EINVAL }

// Preadv implements vfs.FileDescriptionImpl.
func (f *File) Preadv([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Pwritev implements vfs.FileDescriptionImpl.
func (f *File) Pwritev([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Stat implements vfs.FileDescriptionImpl.
func (f *File) Stat() (unix.Stat_t, error) { return unix.Stat_t{Mode: 0o600, Nlink: 1}, nil }

// Readiness implements vfs.Pollable: readable while a signal of the mask
// is pending for the polling task.
func (f *File) Readiness(mask uint32) uint32 {
	if f.src.Pending()&f.Mask() != 0 {
		return (vfs.PollIn | vfs.PollRdNorm) & mask
	}
	return 0
}

// Changed implements vfs.Pollable.
func (f *File) Changed() <-chan struct{} { return f.src.Queued() }
