// Package epoll implements epoll instances (epoll(7)): an interest list of
// file descriptions with event masks, scanned for readiness by epoll_wait.
// Edge-triggered entries report again only after their file's readiness has
// changed; EPOLLONESHOT entries are disabled after one report.
//
// It must not import the sentry, syscalls or runsc layers; the waiting loop
// (which needs the calling task) is in syscalls.
package epoll

import (
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// Event bits beyond poll's.
const (
	EPOLLET        = 1 << 31
	EPOLLONESHOT   = 1 << 30
	EPOLLWAKEUP    = 1 << 29
	EPOLLEXCLUSIVE = 1 << 28
)

type key struct {
	file *vfs.FileDescription
	fd   int
}

type entry struct {
	events   uint32
	data     uint64
	disabled bool
	// seen is the file's change channel when the entry last reported
	// (edge-triggered entries wait for it to fire), or, for a file that
	// counts its edges, edges is the count then.
	seen     <-chan struct{}
	edges    uint64
	reported bool
}

// Instance is one epoll instance.
type Instance struct {
	vfs.NoIO

	mu sync.Mutex // guards interest
	// interest is the interest list.
	interest map[key]*entry
	// order keeps registration order for fair reporting.
	order []key
}

// New returns an empty instance.
func New() *Instance { return &Instance{interest: make(map[key]*entry)} }

// Ctl implements epoll_ctl(2) for a file already looked up.
func (ep *Instance) Ctl(op int, fd int, file *vfs.FileDescription, events uint32, data uint64) error {
	if file.Impl == vfs.FileDescriptionImpl(ep) {
		return unix.EINVAL
	}
	if _, ok := file.Impl.(vfs.Pollable); !ok && file.Inode() != nil {
		// Regular files and directories cannot be polled by epoll.
		if st, err := file.Inode().Stat(); err == nil && (st.IsRegular() || st.IsDir()) {
			return unix.EPERM
		}
	}
	k := key{file, fd}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	e, exists := ep.interest[k]
	switch op {
	case unix.EPOLL_CTL_ADD:
		if exists {
			return unix.EEXIST
		}
		// No reference is kept: like Linux, the entry goes when the file
		// description is released.
		ep.interest[k] = &entry{events: events, data: data}
		ep.order = append(ep.order, k)
		file.OnRelease(func() { ep.forget(file) })
	case unix.EPOLL_CTL_MOD:
		if !exists {
			return unix.ENOENT
		}
		if e.events&EPOLLEXCLUSIVE != 0 {
			return unix.EINVAL
		}
		*e = entry{events: events, data: data} // a new edge for EPOLLET
	case unix.EPOLL_CTL_DEL:
		if !exists {
			return unix.ENOENT
		}
		ep.removeLocked(k)
	default:
		return unix.EINVAL
	}
	return nil
}

func (ep *Instance) removeLocked(k key) {
	delete(ep.interest, k)
	for i, x := range ep.order {
		if x == k {
			ep.order = append(ep.order[:i], ep.order[i+1:]...)
			break
		}
	}
}

// forget drops every entry of a released file.
func (ep *Instance) forget(file *vfs.FileDescription) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for k := range ep.interest {
		if k.file == file {
			ep.removeLocked(k)
		}
	}
}

// Event is one reported event.
type Event struct {
	Events uint32
	Data   uint64
}

// Collect returns up to max ready events, and the channels whose closing
// means readiness may have changed (nil entries: files that must be polled).
func (ep *Instance) Collect(max int) ([]Event, []<-chan struct{}, bool) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	var out []Event
	var chans []<-chan struct{}
	var reported []key
	pollNeeded := false
	for _, k := range ep.order {
		e := ep.interest[k]
		if e == nil || e.disabled {
			continue
		}
		mask := e.events &^ (EPOLLET | EPOLLONESHOT | EPOLLWAKEUP | EPOLLEXCLUSIVE)
		ready, ch := k.file.Readiness(mask)
		if ch == nil {
			if _, ok := k.file.Impl.(vfs.Pollable); ok {
				pollNeeded = true
			}
		} else {
			chans = append(chans, ch)
		}
		if ready == 0 || len(out) >= max {
			continue
		}
		var edges uint64
		counter, counts := k.file.Impl.(vfs.EdgeCounter)
		if counts {
			edges = counter.EdgeCount(mask)
		}
		if e.events&EPOLLET != 0 && e.reported {
			if counts {
				if edges == e.edges {
					continue // no new event of the kinds asked for
				}
			} else if e.seen != nil {
				select {
				case <-e.seen:
				default:
					continue // no change since the last report
				}
			}
		}
		out = append(out, Event{Events: ready, Data: e.data})
		reported = append(reported, k)
		if e.events&EPOLLET != 0 {
			e.seen, e.edges, e.reported = ch, edges, true
		}
		if e.events&EPOLLONESHOT != 0 {
			e.disabled = true
		}
	}
	// Reported entries go to the back of the line, so that a caller
	// taking fewer events than are ready gets the others next time.
	if len(reported) > 0 {
		rest := make([]key, 0, len(ep.order))
		for _, k := range ep.order {
			if !slices.Contains(reported, k) {
				rest = append(rest, k)
			}
		}
		ep.order = append(rest, reported...)
	}
	return out, chans, pollNeeded
}

// Readiness implements vfs.Pollable: readable when an event is ready.
func (ep *Instance) Readiness(mask uint32) uint32 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for _, k := range ep.order {
		e := ep.interest[k]
		if e == nil || e.disabled {
			continue
		}
		if r, _ := k.file.Readiness(e.events); r != 0 {
			return vfs.PollIn & mask
		}
	}
	return 0
}

// Changed implements vfs.Pollable (nested epoll is polled).
func (ep *Instance) Changed() <-chan struct{} { return nil }

// Stat implements vfs.FileDescriptionImpl.
func (ep *Instance) Stat() (unix.Stat_t, error) { return unix.Stat_t{Mode: 0o600, Nlink: 1}, nil }

// Release implements vfs.FileDescriptionImpl.
func (ep *Instance) Release() {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.interest = make(map[key]*entry)
	ep.order = nil
}
