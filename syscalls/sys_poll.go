package syscalls

// Waiting for files: poll(2), ppoll(2), select(2), pselect6(2),
// epoll_create(2), epoll_create1(2), epoll_ctl(2), epoll_wait(2),
// epoll_pwait(2), epoll_pwait2(2), eventfd(2), eventfd2(2).
//
// Files report readiness through vfs.Pollable and wake waiters by closing a
// channel; host FDs cannot, so waits that include one re-check every few
// milliseconds.

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/epoll"
	"sbx/fs/eventfd"
	"sbx/fs/vfs"
	"sbx/sentry/kernel"
)

func registerPoll(t *Table) {
	t.add(unix.SYS_POLL, sysPoll, "pud", 'd')
	t.add(unix.SYS_PPOLL, sysPpoll, "puppu", 'd')
	t.add(unix.SYS_SELECT, sysSelect, "dpppp", 'd')
	t.add(unix.SYS_PSELECT6, sysPselect6, "dppppp", 'd')
	t.add(unix.SYS_EPOLL_CREATE, sysEpollCreate, "d", 'd')
	t.add(unix.SYS_EPOLL_CREATE1, sysEpollCreate1, "x", 'd')
	t.add(unix.SYS_EPOLL_CTL, sysEpollCtl, "fdfp", 'd')
	t.add(unix.SYS_EPOLL_WAIT, sysEpollWait, "fpdd", 'd')
	t.add(unix.SYS_EPOLL_PWAIT, sysEpollPwait, "fpddpu", 'd')
	t.add(unix.SYS_EPOLL_PWAIT2, sysEpollPwait2, "fpdppu", 'd')
	t.add(unix.SYS_EVENTFD, sysEventfd, "u", 'd')
	t.add(unix.SYS_EVENTFD2, sysEventfd2, "ux", 'd')
}

// pollFD is one entry of a poll set.
type pollFD struct {
	fd      int32
	events  uint32
	revents uint32
}

// doPoll checks the set until something is ready, the deadline passes or a
// signal comes. It returns the number of entries with events.
func doPoll(t *kernel.Task, set []pollFD, deadline time.Time, zero bool) (int, error) {
	tbl := t.ThreadGroup().FDTable
	for {
		n := 0
		var chans []<-chan struct{}
		poll := false
		for i := range set {
			p := &set[i]
			p.revents = 0
			if p.fd < 0 {
				continue
			}
			f, err := tbl.Get(int(p.fd))
			if err != nil {
				p.revents = vfs.PollNval
				n++
				continue
			}
			r, ch := f.Readiness(p.events)
			if ch != nil {
				chans = append(chans, ch)
			} else if _, ok := f.Impl.(vfs.Pollable); ok {
				poll = true
			}
			f.DecRef()
			if r != 0 {
				p.revents = r
				n++
			}
		}
		if n > 0 || zero {
			return n, nil
		}
		if err := t.BlockAny(chans, deadline, poll); err != nil {
			if err == unix.ETIMEDOUT {
				return 0, nil
			}
			return 0, err
		}
	}
}

func readPollSet(t *kernel.Task, addr uintptr, n uint64) ([]pollFD, error) {
	if n > uint64(t.ThreadGroup().Limit(kernel.RlimitNofile).Cur) {
		return nil, unix.EINVAL
	}
	b := make([]byte, 8*n)
	if _, err := t.CopyIn(addr, b); err != nil {
		return nil, err
	}
	set := make([]pollFD, n)
	for i := range set {
		set[i].fd = int32(binary.LittleEndian.Uint32(b[8*i:]))
		set[i].events = uint32(binary.LittleEndian.Uint16(b[8*i+4:]))
	}
	return set, nil
}

func writePollSet(t *kernel.Task, addr uintptr, set []pollFD) error {
	b := make([]byte, 8*len(set))
	for i, p := range set {
		binary.LittleEndian.PutUint32(b[8*i:], uint32(p.fd))
		binary.LittleEndian.PutUint16(b[8*i+4:], uint16(p.events))
		binary.LittleEndian.PutUint16(b[8*i+6:], uint16(p.revents))
	}
	_, err := t.CopyOut(addr, b)
	return err
}

func pollResult(t *kernel.Task, addr uintptr, set []pollFD, deadline time.Time, zero bool) (uintptr, error) {
	n, err := doPoll(t, set, deadline, zero)
	if err != nil {
		if err == kernel.ErrInterrupted {
			return 0, kernel.ERestartNoHand
		}
		return 0, err
	}
	if err := writePollSet(t, addr, set); err != nil {
		return 0, err
	}
	return uintptr(n), nil
}

// sysPoll implements poll(2).
func sysPoll(t *kernel.Task, a args) (uintptr, error) {
	set, err := readPollSet(t, a[0], uint64(a[1]))
	if err != nil {
		return 0, err
	}
	ms := int(int32(a[2]))
	var deadline time.Time
	if ms > 0 {
		deadline = time.Now().Add(time.Duration(ms) * time.Millisecond)
	}
	return pollResult(t, a[0], set, deadline, ms == 0)
}

// readTimeout reads a struct timespec timeout (NULL: none).
func readTimeout(t *kernel.Task, addr uintptr) (time.Time, bool, error) {
	if addr == 0 {
		return time.Time{}, false, nil
	}
	ts, err := getTimespec(t, addr)
	if err != nil {
		return time.Time{}, false, err
	}
	if ts.Sec == 0 && ts.Nsec == 0 {
		return time.Time{}, true, nil
	}
	return time.Now().Add(time.Duration(ts.Nano())), false, nil
}

// withMask sets a temporary signal mask for ppoll/pselect/epoll_pwait; the
// old mask comes back after the call (or after a handler it triggers).
func withMask(t *kernel.Task, addr uintptr, size uintptr) error {
	if addr == 0 {
		return nil
	}
	if size != sigsetSize {
		return unix.EINVAL
	}
	var b [8]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return err
	}
	old := t.SigMask
	t.SetSigMask(binary.LittleEndian.Uint64(b[:]))
	t.SetSavedMask(old)
	return nil
}

// sysPpoll implements ppoll(2).
func sysPpoll(t *kernel.Task, a args) (uintptr, error) {
	set, err := readPollSet(t, a[0], uint64(a[1]))
	if err != nil {
		return 0, err
	}
	deadline, zero, err := readTimeout(t, a[2])
	if err != nil {
		return 0, err
	}
	if err := withMask(t, a[3], a[4]); err != nil {
		return 0, err
	}
	return pollResult(t, a[0], set, deadline, zero)
}

// doSelect implements select(2) over poll: the three fd_set bitmaps are
// read, polled and written back.
func doSelect(t *kernel.Task, nfds int, r, w, e uintptr, deadline time.Time, zero bool) (uintptr, error) {
	if nfds < 0 || nfds > 1<<20 {
		return 0, unix.EINVAL
	}
	nbytes := (nfds + 63) / 64 * 8
	read := func(addr uintptr) ([]byte, error) {
		if addr == 0 {
			return nil, nil
		}
		b := make([]byte, nbytes)
		_, err := t.CopyIn(addr, b)
		return b, err
	}
	rs, err := read(r)
	if err != nil {
		return 0, err
	}
	ws, err := read(w)
	if err != nil {
		return 0, err
	}
	es, err := read(e)
	if err != nil {
		return 0, err
	}
	isSet := func(b []byte, i int) bool { return b != nil && b[i/8]&(1<<(i%8)) != 0 }
	var set []pollFD
	for i := 0; i < nfds; i++ {
		var ev uint32
		if isSet(rs, i) {
			ev |= vfs.PollIn | vfs.PollRdNorm | vfs.PollHup | vfs.PollErr
		}
		if isSet(ws, i) {
			ev |= vfs.PollOut | vfs.PollWrNorm | vfs.PollErr
		}
		if isSet(es, i) {
			ev |= vfs.PollPri
		}
		if ev != 0 {
			f, err := t.ThreadGroup().FDTable.Get(i)
			if err != nil {
				return 0, unix.EBADF
			}
			f.DecRef()
			set = append(set, pollFD{fd: int32(i), events: ev})
		}
	}
	if _, err := doPoll(t, set, deadline, zero); err != nil {
		if err == kernel.ErrInterrupted {
			return 0, kernel.ERestartNoHand
		}
		return 0, err
	}
	out := func(b []byte, mask uint32) []byte {
		if b == nil {
			return nil
		}
		o := make([]byte, len(b))
		for _, p := range set {
			if p.revents&mask != 0 && isSet(b, int(p.fd)) {
				o[p.fd/8] |= 1 << (p.fd % 8)
			}
		}
		return o
	}
	ro := out(rs, vfs.PollIn|vfs.PollRdNorm|vfs.PollHup|vfs.PollErr)
	wo := out(ws, vfs.PollOut|vfs.PollWrNorm|vfs.PollErr)
	eo := out(es, vfs.PollPri)
	count := 0
	for _, b := range [][]byte{ro, wo, eo} {
		for _, x := range b {
			for ; x != 0; x &= x - 1 {
				count++
			}
		}
	}
	for _, p := range []struct {
		addr uintptr
		b    []byte
	}{{r, ro}, {w, wo}, {e, eo}} {
		if p.addr != 0 {
			if _, err := t.CopyOut(p.addr, p.b); err != nil {
				return 0, err
			}
		}
	}
	return uintptr(count), nil
}

// sysSelect implements select(2) (struct timeval timeout, not updated).
func sysSelect(t *kernel.Task, a args) (uintptr, error) {
	var deadline time.Time
	zero := false
	if a[4] != 0 {
		var b [16]byte
		if _, err := t.CopyIn(a[4], b[:]); err != nil {
			return 0, err
		}
		sec, usec := int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:]))
		if sec < 0 || usec < 0 || usec >= 1e6 {
			return 0, unix.EINVAL
		}
		d := time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
		if d == 0 {
			zero = true
		} else {
			deadline = time.Now().Add(d)
		}
	}
	n, err := doSelect(t, int(int32(a[0])), a[1], a[2], a[3], deadline, zero)
	if a[4] != 0 && (err == nil || err == kernel.ERestartNoHand) {
		// Linux writes back the time not slept.
		var rem time.Duration
		if !deadline.IsZero() {
			rem = max(time.Until(deadline), 0)
		}
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], uint64(rem/time.Second))
		binary.LittleEndian.PutUint64(b[8:], uint64((rem%time.Second)/time.Microsecond))
		t.CopyOut(a[4], b[:])
	}
	return n, err
}

// sysPselect6 implements pselect6 (the sigmask argument is a pointer to
// {sigset*, size}).
func sysPselect6(t *kernel.Task, a args) (uintptr, error) {
	deadline, zero, err := readTimeout(t, a[4])
	if err != nil {
		return 0, err
	}
	if a[5] != 0 {
		var b [16]byte
		if _, err := t.CopyIn(a[5], b[:]); err != nil {
			return 0, err
		}
		if err := withMask(t, uintptr(binary.LittleEndian.Uint64(b[:])), uintptr(binary.LittleEndian.Uint64(b[8:]))); err != nil {
			return 0, err
		}
	}
	return doSelect(t, int(int32(a[0])), a[1], a[2], a[3], deadline, zero)
}

func newEpoll(t *kernel.Task, cloexec bool) (uintptr, error) {
	f := vfs.NewFileDescription(epoll.New(), unix.O_RDWR)
	defer f.DecRef()
	fd, err := t.ThreadGroup().FDTable.NewFD(0, f, cloexec, nofile(t))
	if err != nil {
		return 0, unix.EMFILE
	}
	return uintptr(fd), nil
}

// sysEpollCreate implements epoll_create(2).
func sysEpollCreate(t *kernel.Task, a args) (uintptr, error) {
	if int32(a[0]) <= 0 {
		return 0, unix.EINVAL
	}
	return newEpoll(t, false)
}

// sysEpollCreate1 implements epoll_create1(2).
func sysEpollCreate1(t *kernel.Task, a args) (uintptr, error) {
	if a[0]&^unix.EPOLL_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	return newEpoll(t, a[0]&unix.EPOLL_CLOEXEC != 0)
}

func epollOf(t *kernel.Task, fd uintptr) (*epoll.Instance, *vfs.FileDescription, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	ep, ok := f.Impl.(*epoll.Instance)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EINVAL
	}
	return ep, f, nil
}

// sysEpollCtl implements epoll_ctl(2).
func sysEpollCtl(t *kernel.Task, a args) (uintptr, error) {
	ep, ef, err := epollOf(t, a[0])
	if err != nil {
		return 0, err
	}
	defer ef.DecRef()
	op, fd := int(int32(a[1])), int(int32(a[2]))
	target, err := t.ThreadGroup().FDTable.Get(fd)
	if err != nil {
		return 0, err
	}
	defer target.DecRef()
	if target == ef {
		return 0, unix.EINVAL
	}
	var events uint32
	var data uint64
	if op != unix.EPOLL_CTL_DEL {
		var b [12]byte
		if _, err := t.CopyIn(a[3], b[:]); err != nil {
			return 0, err
		}
		events = binary.LittleEndian.Uint32(b[0:])
		data = binary.LittleEndian.Uint64(b[4:])
		if events&epoll.EPOLLEXCLUSIVE != 0 && op == unix.EPOLL_CTL_MOD {
			return 0, unix.EINVAL
		}
	}
	return 0, ep.Ctl(op, fd, target, events, data)
}

func epollWait(t *kernel.Task, a args, deadline time.Time, zero bool) (uintptr, error) {
	max := int(int32(a[2]))
	if max <= 0 || max > 1<<20 {
		return 0, unix.EINVAL
	}
	ep, ef, err := epollOf(t, a[0])
	if err != nil {
		return 0, err
	}
	defer ef.DecRef()
	for {
		evs, chans, poll := ep.Collect(max)
		if len(evs) > 0 {
			b := make([]byte, 12*len(evs))
			for i, e := range evs {
				binary.LittleEndian.PutUint32(b[12*i:], e.Events)
				binary.LittleEndian.PutUint64(b[12*i+4:], e.Data)
			}
			if _, err := t.CopyOut(a[1], b); err != nil {
				return 0, err
			}
			return uintptr(len(evs)), nil
		}
		if zero {
			return 0, nil
		}
		if err := t.BlockAny(chans, deadline, poll); err != nil {
			if err == unix.ETIMEDOUT {
				return 0, nil
			}
			if err == kernel.ErrInterrupted {
				return 0, unix.EINTR
			}
			return 0, err
		}
	}
}

func msTimeout(ms int) (time.Time, bool) {
	switch {
	case ms == 0:
		return time.Time{}, true
	case ms < 0:
		return time.Time{}, false
	}
	return time.Now().Add(time.Duration(ms) * time.Millisecond), false
}

// sysEpollWait implements epoll_wait(2); an interrupted wait is EINTR
// (epoll_wait is never restarted).
func sysEpollWait(t *kernel.Task, a args) (uintptr, error) {
	deadline, zero := msTimeout(int(int32(a[3])))
	return epollWait(t, a, deadline, zero)
}

// sysEpollPwait implements epoll_pwait(2).
func sysEpollPwait(t *kernel.Task, a args) (uintptr, error) {
	if err := withMask(t, a[4], a[5]); err != nil {
		return 0, err
	}
	deadline, zero := msTimeout(int(int32(a[3])))
	return epollWait(t, a, deadline, zero)
}

// sysEpollPwait2 implements epoll_pwait2(2) (timespec timeout).
func sysEpollPwait2(t *kernel.Task, a args) (uintptr, error) {
	deadline, zero, err := readTimeout(t, a[3])
	if err != nil {
		return 0, err
	}
	if err := withMask(t, a[4], a[5]); err != nil {
		return 0, err
	}
	return epollWait(t, a, deadline, zero)
}

// eventfd2(2) flags.
const efdSemaphore = 1

func newEventfd(t *kernel.Task, initval uint64, flags int) (uintptr, error) {
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|efdSemaphore) != 0 {
		return 0, unix.EINVAL
	}
	e := eventfd.New(initval, flags&efdSemaphore != 0)
	f := vfs.NewFileDescription(e, unix.O_RDWR|flags&unix.O_NONBLOCK)
	e.SetDescription(f)
	defer f.DecRef()
	fd, err := t.ThreadGroup().FDTable.NewFD(0, f, flags&unix.EFD_CLOEXEC != 0, nofile(t))
	if err != nil {
		return 0, unix.EMFILE
	}
	return uintptr(fd), nil
}

// sysEventfd implements eventfd(2).
func sysEventfd(t *kernel.Task, a args) (uintptr, error) {
	return newEventfd(t, uint64(uint32(a[0])), 0)
}

// sysEventfd2 implements eventfd2.
func sysEventfd2(t *kernel.Task, a args) (uintptr, error) {
	return newEventfd(t, uint64(uint32(a[0])), int(int32(a[1])))
}
