// Package timerfd implements timerfd_create(2) files: a timer whose
// expirations are counted and read as a native-endian uint64, with
// non-blocking reads and poll/epoll readiness (readable while the count is
// not zero).
//
// It owns only the timer and its count. Clocks and absolute times are the
// caller's business: Set takes the time left until the first expiration,
// measured on Go's monotonic clock (which is the host's CLOCK_MONOTONIC;
// the sentry's wall clocks are the host's, and nothing in the sandbox can
// set them, so no conversion is lost). Expirations are counted lazily from
// the time of the first one and the interval, so the count is exact
// whenever it is read, however late the Go timer that wakes readers fires.
//
// It must not import the sentry, syscalls or runsc layers.
package timerfd

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// File is one timerfd.
type File struct {
	vfs.NoIO
	desc *vfs.FileDescription
	// clock is the clock id given to timerfd_create, kept for the caller.
	clock int32

	mu sync.Mutex // guards the fields below
	// next is the next expiration (zero: disarmed); interval re-arms it.
	next     time.Time
	interval time.Duration
	// count is the number of expirations not read yet.
	count uint64
	// wake fires at next to wake readers and pollers; nil when no wake-up
	// is due (disarmed, or the count is already not zero).
	wake *time.Timer
	// gen tells a stale wake-up from the current one.
	gen uint64
	// changed is closed (and replaced) when the count becomes readable.
	changed chan struct{}
}

// New returns a disarmed timerfd on clock (an id the caller interprets);
// the caller wraps it in a file description and calls SetDescription.
func New(clock int32) *File { return &File{clock: clock, changed: make(chan struct{})} }

// Clock returns the clock id the file was created with.
func (f *File) Clock() int32 { return f.clock }

// SetDescription ties the file to its description (for O_NONBLOCK).
func (f *File) SetDescription(d *vfs.FileDescription) { f.desc = d }

func (f *File) nonblocking() bool { return f.desc != nil && f.desc.Flags()&unix.O_NONBLOCK != 0 }

// updateLocked counts the expirations up to now.
func (f *File) updateLocked(now time.Time) {
	if f.next.IsZero() || now.Before(f.next) {
		return
	}
	if f.interval <= 0 {
		f.count++
		f.next = time.Time{}
		return
	}
	n := uint64(now.Sub(f.next)/f.interval) + 1
	f.count += n
	f.next = f.next.Add(time.Duration(n) * f.interval)
}

// scheduleLocked arranges a wake-up at the next expiration, unless there
// is no need for one.
func (f *File) scheduleLocked() {
	if f.wake != nil {
		f.wake.Stop()
		f.wake = nil
	}
	f.gen++
	if f.next.IsZero() || f.count > 0 {
		return
	}
	gen := f.gen
	f.wake = time.AfterFunc(time.Until(f.next), func() { f.expired(gen) })
}

func (f *File) expired(gen uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen != f.gen {
		return
	}
	f.wake = nil
	f.updateLocked(time.Now())
	if f.count == 0 {
		f.scheduleLocked() // woken early
		return
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// Set arms the timer to expire at next (the zero time disarms it; a time
// already past counts the expirations since then) and then every
// interval, and clears the count of unread expirations, as
// timerfd_settime(2) does. It returns the previous setting, as Get would
// have.
func (f *File) Set(next time.Time, interval time.Duration) (time.Duration, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	oldRem, oldInt := f.getLocked(time.Now())
	f.count = 0
	f.interval = interval
	f.next = next
	f.scheduleLocked()
	return oldRem, oldInt
}

// Get returns the time left until the next expiration (0 when disarmed)
// and the interval (timerfd_gettime(2)).
func (f *File) Get() (time.Duration, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.getLocked(time.Now())
}

func (f *File) getLocked(now time.Time) (time.Duration, time.Duration) {
	f.updateLocked(now)
	if f.next.IsZero() {
		return 0, f.interval
	}
	return max(f.next.Sub(now), time.Nanosecond), f.interval
}

// Readv implements vfs.FileDescriptionImpl: it returns the number of
// expirations since the last read (or Set) and resets it, waiting for one
// if there is none yet, unless the file is non-blocking (EAGAIN). A buffer
// smaller than 8 bytes is EINVAL.
func (f *File) Readv(bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total < 8 {
		return 0, unix.EINVAL
	}
	f.mu.Lock()
	for {
		f.updateLocked(time.Now())
		if f.count > 0 {
			break
		}
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
	f.count = 0
	f.scheduleLocked()
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

// Preadv implements vfs.FileDescriptionImpl.
func (f *File) Preadv([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Pwritev implements vfs.FileDescriptionImpl.
func (f *File) Pwritev([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Writev implements vfs.FileDescriptionImpl: a timerfd cannot be written
// (Linux has no write operation for it).
func (f *File) Writev([][]byte) (int, error) { return 0, unix.EINVAL }

// Stat implements vfs.FileDescriptionImpl.
func (f *File) Stat() (unix.Stat_t, error) { return unix.Stat_t{Mode: 0o600, Nlink: 1}, nil }

// Release implements vfs.FileDescriptionImpl: the timer stops.
func (f *File) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = time.Time{}
	f.scheduleLocked()
}

// Readiness implements vfs.Pollable.
func (f *File) Readiness(mask uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updateLocked(time.Now())
	if f.count > 0 {
		return (vfs.PollIn | vfs.PollRdNorm) & mask
	}
	return 0
}

// Changed implements vfs.Pollable.
func (f *File) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}
