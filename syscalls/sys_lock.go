package syscalls

// POSIX record locks: fcntl(2) F_GETLK, F_SETLK, F_SETLKW and the open file
// description variants F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW.
//
// Locks are kept per inode with their owner (the process for classic locks,
// the open file description for OFD locks); only different owners conflict.
// Departures: classic locks are not released when the process closes some
// other descriptor of the file, and F_SETLKW does not detect deadlocks.

import (
	"encoding/binary"
	"math"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/sentry/kernel"
)

type lockRange struct {
	owner      any
	pid        int
	start, end int64 // [start, end); end == math.MaxInt64 for "to EOF"
	write      bool
}

type lockTable struct {
	mu   sync.Mutex // guards locks
	cond *sync.Cond
	// locks holds the granted locks of each inode.
	locks map[vfs.Inode][]lockRange
}

var recordLocks = func() *lockTable {
	lt := &lockTable{locks: make(map[vfs.Inode][]lockRange)}
	lt.cond = sync.NewCond(&lt.mu)
	return lt
}()

// conflict returns a lock of another owner that conflicts with l.
func (lt *lockTable) conflict(i vfs.Inode, l lockRange) (lockRange, bool) {
	for _, o := range lt.locks[i] {
		if o.owner != l.owner && o.start < l.end && l.start < o.end && (o.write || l.write) {
			return o, true
		}
	}
	return lockRange{}, false
}

// set replaces the owner's locks over [l.start, l.end) with l (or removes
// them when unlock).
func (lt *lockTable) set(i vfs.Inode, l lockRange, unlock bool) {
	var out []lockRange
	for _, o := range lt.locks[i] {
		if o.owner != l.owner || o.end <= l.start || l.end <= o.start {
			out = append(out, o)
			continue
		}
		if o.start < l.start {
			left := o
			left.end = l.start
			out = append(out, left)
		}
		if o.end > l.end {
			right := o
			right.start = l.end
			out = append(out, right)
		}
	}
	if !unlock {
		out = append(out, l)
	}
	if len(out) == 0 {
		delete(lt.locks, i)
	} else {
		lt.locks[i] = out
	}
	lt.cond.Broadcast()
}

// fcntlLock serves the lock commands; struct flock is
// {short l_type; short l_whence; off_t l_start; off_t l_len; pid_t l_pid}.
func fcntlLock(t *kernel.Task, f *vfs.FileDescription, cmd int, addr uintptr) (uintptr, error) {
	var b [32]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	typ := int16(binary.LittleEndian.Uint16(b[0:]))
	whence := int16(binary.LittleEndian.Uint16(b[2:]))
	start := int64(binary.LittleEndian.Uint64(b[8:]))
	length := int64(binary.LittleEndian.Uint64(b[16:]))
	ofd := cmd == unix.F_OFD_GETLK || cmd == unix.F_OFD_SETLK || cmd == unix.F_OFD_SETLKW
	if ofd && binary.LittleEndian.Uint32(b[24:]) != 0 {
		return 0, unix.EINVAL
	}
	i := f.Inode()
	if i == nil {
		return 0, unix.EINVAL
	}
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		cur, err := f.Seek(0, unix.SEEK_CUR)
		if err != nil {
			return 0, err
		}
		base = cur
	case unix.SEEK_END:
		st, err := i.Stat()
		if err != nil {
			return 0, err
		}
		base = st.Size
	default:
		return 0, unix.EINVAL
	}
	s := base + start
	e := int64(math.MaxInt64)
	switch {
	case length > 0:
		e = s + length
	case length < 0:
		e = s
		s += length
	}
	if s < 0 {
		return 0, unix.EINVAL
	}
	var owner any = t.ThreadGroup()
	if ofd {
		owner = f
	}
	l := lockRange{owner: owner, pid: t.ThreadGroup().PID(), start: s, end: e, write: typ == unix.F_WRLCK}
	lt := recordLocks
	lt.mu.Lock()
	defer lt.mu.Unlock()
	switch cmd {
	case unix.F_GETLK, unix.F_OFD_GETLK:
		if typ != unix.F_RDLCK && typ != unix.F_WRLCK {
			return 0, unix.EINVAL
		}
		o, found := lt.conflict(i, l)
		if !found {
			binary.LittleEndian.PutUint16(b[0:], uint16(unix.F_UNLCK))
		} else {
			ot := unix.F_RDLCK
			if o.write {
				ot = unix.F_WRLCK
			}
			binary.LittleEndian.PutUint16(b[0:], uint16(ot))
			binary.LittleEndian.PutUint16(b[2:], unix.SEEK_SET)
			binary.LittleEndian.PutUint64(b[8:], uint64(o.start))
			olen := o.end - o.start
			if o.end == math.MaxInt64 {
				olen = 0
			}
			binary.LittleEndian.PutUint64(b[16:], uint64(olen))
			pid := int32(o.pid)
			if _, isOFD := o.owner.(*vfs.FileDescription); isOFD {
				pid = -1
			}
			binary.LittleEndian.PutUint32(b[24:], uint32(pid))
		}
		_, err := t.CopyOut(addr, b[:])
		return 0, err
	}
	switch typ {
	case unix.F_UNLCK:
		lt.set(i, l, true)
		return 0, nil
	}
	switch typ {
	case unix.F_RDLCK:
		if !f.Readable() {
			return 0, unix.EBADF
		}
	case unix.F_WRLCK:
		if !f.Writable() {
			return 0, unix.EBADF
		}
	default:
		return 0, unix.EINVAL
	}
	wait := cmd == unix.F_SETLKW || cmd == unix.F_OFD_SETLKW
	for {
		if _, found := lt.conflict(i, l); !found {
			break
		}
		if !wait {
			return 0, unix.EAGAIN
		}
		lt.cond.Wait()
	}
	if ofd {
		f.OnRelease(func() { lt.dropOwner(i, f) })
	}
	lt.set(i, l, false)
	return 0, nil
}

// dropOwner removes every lock owner holds on i.
func (lt *lockTable) dropOwner(i vfs.Inode, owner any) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.set(i, lockRange{owner: owner, start: 0, end: math.MaxInt64}, true)
}

// closeFile drops the process's classic locks on the file being closed:
// POSIX locks go when any descriptor of the file is closed by the process.
func closeFile(t *kernel.Task, f *vfs.FileDescription) {
	if i := f.Inode(); i != nil {
		recordLocks.dropOwner(i, t.ThreadGroup())
	}
}
