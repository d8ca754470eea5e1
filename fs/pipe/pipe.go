// Package pipe implements pipes and FIFOs (pipe(7)): a bounded byte buffer
// with reader and writer ends, PIPE_BUF atomicity, blocking and
// non-blocking I/O, EOF when the last writer closes and EPIPE when the last
// reader has.
//
// A blocked read, write or FIFO open waits through vfs.Block, so a signal
// interrupts it.
//
// It must not import the sentry, syscalls or runsc layers.
package pipe

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// Capacity is the default pipe capacity (64 KiB); Buf is PIPE_BUF.
const (
	Capacity = 65536
	Buf      = 4096
	maxSize  = 1 << 20 // /proc/sys/fs/pipe-max-size
)

var nextIno atomic.Uint64

// Pipe is one pipe's buffer and ends.
type Pipe struct {
	ino uint64

	mu sync.Mutex // guards everything below
	// changed is closed (and replaced) whenever the pipe's state changes.
	changed chan struct{}
	buf     []byte
	size    int // capacity
	// readers and writers count the open ends.
	readers, writers int
	// readerOpens and writerOpens count opens ever made, so a FIFO open
	// waiting for the other side sees one that came and went.
	readerOpens, writerOpens int
	// inEdges counts the events that wake readers (data written, the last
	// writer gone), outEdges those that wake writers (data read, the last
	// reader gone): edge-triggered epoll reports each once.
	inEdges, outEdges uint64
}

// broadcastLocked wakes every waiter.
func (p *Pipe) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitLocked waits for a change; called and returns with p.mu held.
func (p *Pipe) waitLocked() error {
	ch := p.changed
	p.mu.Unlock()
	err := vfs.Block(ch)
	p.mu.Lock()
	return err
}

// New returns an empty pipe.
func New() *Pipe {
	return &Pipe{ino: nextIno.Add(1), size: Capacity, changed: make(chan struct{})}
}

// Ino is the pipe's inode number (pipe:[ino]).
func (p *Pipe) Ino() uint64 { return p.ino }

// End is one open end of a pipe.
type End struct {
	vfs.NoIO
	p           *Pipe
	read, write bool
	desc        *vfs.FileDescription
	released    bool
}

// Open returns a new end. Ends made here do not block on open; FIFOs use
// OpenFIFO.
func (p *Pipe) Open(read, write bool) *End {
	p.mu.Lock()
	defer p.mu.Unlock()
	if read {
		p.readers++
		p.readerOpens++
	}
	if write {
		p.writers++
		p.writerOpens++
	}
	p.broadcastLocked()
	return &End{p: p, read: read, write: write}
}

// OpenFIFO opens a FIFO end with open(2)'s rules for FIFOs: a read-only
// open waits for a writer, a write-only open waits for a reader, or fails
// with ENXIO when non-blocking; O_RDWR never waits.
func (p *Pipe) OpenFIFO(flags int) (*End, error) {
	acc := flags & unix.O_ACCMODE
	nonblock := flags&unix.O_NONBLOCK != 0
	switch acc {
	case unix.O_RDWR:
		return p.Open(true, true), nil
	case unix.O_RDONLY:
		p.mu.Lock()
		seen := p.writerOpens
		p.mu.Unlock()
		e := p.Open(true, false)
		if !nonblock {
			p.mu.Lock()
			for p.writers == 0 && p.writerOpens == seen {
				if err := p.waitLocked(); err != nil {
					p.mu.Unlock()
					e.Release()
					return nil, err
				}
			}
			p.mu.Unlock()
		}
		return e, nil
	case unix.O_WRONLY:
		p.mu.Lock()
		if p.readers == 0 && nonblock {
			p.mu.Unlock()
			return nil, unix.ENXIO
		}
		seen := p.readerOpens
		p.mu.Unlock()
		e := p.Open(false, true)
		p.mu.Lock()
		for p.readers == 0 && p.readerOpens == seen {
			if err := p.waitLocked(); err != nil {
				p.mu.Unlock()
				e.Release()
				return nil, err
			}
		}
		p.mu.Unlock()
		return e, nil
	}
	return nil, unix.EINVAL
}

// SetDescription ties the end to its file description, whose O_NONBLOCK
// flag it follows.
func (e *End) SetDescription(fd *vfs.FileDescription) { e.desc = fd }

func (e *End) nonblocking() bool {
	return e.desc != nil && e.desc.Flags()&unix.O_NONBLOCK != 0
}

// Readv implements vfs.FileDescriptionImpl.
func (e *End) Readv(bufs [][]byte) (int, error) {
	if !e.read {
		return 0, unix.EBADF
	}
	want := 0
	for _, b := range bufs {
		want += len(b)
	}
	if want == 0 {
		return 0, nil
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 {
		if p.writers == 0 {
			return 0, nil
		}
		if e.nonblocking() {
			return 0, unix.EAGAIN
		}
		if err := p.waitLocked(); err != nil {
			return 0, err
		}
	}
	n := 0
	for _, b := range bufs {
		c := copy(b, p.buf[n:])
		n += c
		if c < len(b) {
			break
		}
	}
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.outEdges++
	p.broadcastLocked()
	return n, nil
}

// Writev implements vfs.FileDescriptionImpl. Writes of at most PIPE_BUF
// bytes are atomic.
func (e *End) Writev(bufs [][]byte) (int, error) {
	if !e.write {
		return 0, unix.EBADF
	}
	var data []byte
	for _, b := range bufs {
		data = append(data, b...)
	}
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	done := 0
	for done < len(data) {
		if p.readers == 0 {
			if done > 0 {
				return done, nil
			}
			return 0, unix.EPIPE
		}
		room := p.size - len(p.buf)
		rest := len(data) - done
		if room == 0 || (len(data) <= Buf && room < rest) {
			if e.nonblocking() {
				if done > 0 {
					return done, nil
				}
				return 0, unix.EAGAIN
			}
			if err := p.waitLocked(); err != nil {
				if done > 0 {
					return done, nil
				}
				return 0, err
			}
			continue
		}
		n := min(room, rest)
		p.buf = append(p.buf, data[done:done+n]...)
		done += n
		p.inEdges++
		p.broadcastLocked()
	}
	return done, nil
}

// Preadv implements vfs.FileDescriptionImpl: pipes have no offsets.
func (e *End) Preadv([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Pwritev implements vfs.FileDescriptionImpl.
func (e *End) Pwritev([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Stat implements vfs.FileDescriptionImpl.
func (e *End) Stat() (unix.Stat_t, error) {
	mode := uint32(unix.S_IFIFO | 0o600)
	return unix.Stat_t{Ino: e.p.ino, Mode: mode, Nlink: 1, Blksize: 4096, Dev: 0xc}, nil
}

// Ioctl implements vfs.FileDescriptionImpl: FIONREAD.
func (e *End) Ioctl(mem vfs.UserMemory, req uint, arg uintptr) (uintptr, error) {
	if req != unix.TIOCINQ {
		return 0, unix.ENOTTY
	}
	e.p.mu.Lock()
	n := len(e.p.buf)
	e.p.mu.Unlock()
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	_, err := mem.CopyOut(arg, b)
	return 0, err
}

// Size returns the pipe's capacity (F_GETPIPE_SZ).
func (e *End) Size() int {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	return e.p.size
}

// SetSize changes the capacity (F_SETPIPE_SZ), rounded up to a power of two
// pages; EBUSY if the data would not fit.
func (e *End) SetSize(n int) (int, error) {
	if n < 0 {
		return 0, unix.EINVAL
	}
	if n > maxSize {
		return 0, unix.EPERM
	}
	size := 4096
	for size < n {
		size *= 2
	}
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	if len(e.p.buf) > size {
		return 0, unix.EBUSY
	}
	e.p.size = size
	e.p.broadcastLocked()
	return size, nil
}

// Release implements vfs.FileDescriptionImpl.
func (e *End) Release() {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.released {
		return
	}
	e.released = true
	if e.read {
		p.readers--
		p.outEdges++
	}
	if e.write {
		p.writers--
		p.inEdges++
	}
	p.broadcastLocked()
}

// Readiness implements vfs.Pollable.
func (e *End) Readiness(mask uint32) uint32 {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var ev uint32
	if e.read {
		if len(p.buf) > 0 {
			ev |= vfs.PollIn | vfs.PollRdNorm
		}
		if p.writers == 0 && p.writerOpens > 0 {
			ev |= vfs.PollHup
		}
	}
	if e.write {
		if p.readers == 0 {
			ev |= vfs.PollErr
		} else if p.size-len(p.buf) >= Buf || len(p.buf) == 0 {
			ev |= vfs.PollOut | vfs.PollWrNorm
		}
	}
	return ev & mask
}

// EdgeCount implements vfs.EdgeCounter.
func (e *End) EdgeCount(mask uint32) uint64 {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var n uint64
	if mask&(vfs.PollIn|vfs.PollRdNorm|vfs.PollHup|vfs.PollRdHup) != 0 {
		n += p.inEdges
	}
	if mask&(vfs.PollOut|vfs.PollWrNorm|vfs.PollErr) != 0 {
		n += p.outEdges
	}
	return n
}

// Changed implements vfs.Pollable.
func (e *End) Changed() <-chan struct{} {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	return e.p.changed
}
