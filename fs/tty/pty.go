package tty

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// Device numbers (Documentation/admin-guide/devices.txt): the replicas of
// Unix98 ptys have major 136 and their index as minor; /dev/ptmx is 5:2.
const (
	replicaMajor = 136
	ptmxMajor    = 5
	ptmxMinor    = 2
)

// Endpoint is implemented by both ends of a terminal; the syscall layer
// uses it for the requests that need the kernel (TIOCSCTTY, TIOCSPGRP, ...).
type Endpoint interface {
	Terminal() *Terminal
	IsMaster() bool
}

// endpoint is what the two ends share.
type endpoint struct {
	t    *Terminal
	desc *vfs.FileDescription
}

// Terminal returns the terminal the end belongs to.
func (e *endpoint) Terminal() *Terminal { return e.t }

// SetDescription ties the end to its file description, whose O_NONBLOCK
// flag it follows.
func (e *endpoint) SetDescription(fd *vfs.FileDescription) { e.desc = fd }

func (e *endpoint) nonblocking() bool {
	return e.desc != nil && e.desc.Flags()&unix.O_NONBLOCK != 0
}

func (e *endpoint) Preadv([][]byte, int64) (int, error)  { return 0, unix.ESPIPE }
func (e *endpoint) Pwritev([][]byte, int64) (int, error) { return 0, unix.ESPIPE }

// Changed implements vfs.Pollable.
func (e *endpoint) Changed() <-chan struct{} {
	e.t.mu.Lock()
	defer e.t.mu.Unlock()
	return e.t.changed
}

func flatten(bufs [][]byte) []byte {
	if len(bufs) == 1 {
		return bufs[0]
	}
	var b []byte
	for _, x := range bufs {
		b = append(b, x...)
	}
	return b
}

// scatter reads once into a contiguous buffer and spreads it over bufs.
func scatter(bufs [][]byte, read func([]byte) (int, error)) (int, error) {
	if len(bufs) == 1 {
		return read(bufs[0])
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	tmp := make([]byte, total)
	n, err := read(tmp)
	rest := tmp[:n]
	for _, b := range bufs {
		rest = rest[copy(b, rest):]
	}
	return n, err
}

// ioctl serves the requests both ends answer (tty_ioctl(4)); master says
// which end is asking.
func (e *endpoint) ioctl(mem vfs.UserMemory, req uint, arg uintptr, master bool) (uintptr, error) {
	t := e.t
	if !master && t.HungUp() {
		return 0, unix.EIO
	}
	switch req {
	case unix.TCFLSH, unix.TCXONC, unix.TCSBRK, unix.TCSBRKP, unix.TIOCSBRK, unix.TIOCCBRK, unix.TIOCSETD:
		// Requests that act on the line are job-controlled like a
		// change of settings (Linux's tty_check_change in tty_ioctl
		// and n_tty_ioctl_helper).
		if !master && t.jc != nil {
			if err := t.jc.BackgroundCheck(t, int(unix.SIGTTOU)); err != nil {
				return 0, err
			}
		}
	}
	switch req {
	case unix.TCGETS, unix.TCGETS2:
		t.mu.Lock()
		b := t.termios.marshal(req == unix.TCGETS2)
		t.mu.Unlock()
		_, err := mem.CopyOut(arg, b)
		return 0, err
	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF, unix.TCSETS2, unix.TCSETSW2, unix.TCSETSF2:
		n := termiosSize
		if req == unix.TCSETS2 || req == unix.TCSETSW2 || req == unix.TCSETSF2 {
			n = termios2Size
		}
		b := make([]byte, n)
		if _, err := mem.CopyIn(arg, b); err != nil {
			return 0, err
		}
		if !master && t.jc != nil {
			if err := t.jc.BackgroundCheck(t, int(unix.SIGTTOU)); err != nil {
				return 0, err
			}
		}
		var nt Termios
		nt.unmarshal(b)
		t.mu.Lock()
		if req == unix.TCSETSF || req == unix.TCSETSF2 {
			t.flushInputLocked()
		}
		t.setTermiosLocked(nt)
		t.mu.Unlock()
		return 0, nil
	case unix.TIOCGWINSZ:
		_, err := mem.CopyOut(arg, t.Winsize().marshal())
		return 0, err
	case unix.TIOCSWINSZ:
		b := make([]byte, 8)
		if _, err := mem.CopyIn(arg, b); err != nil {
			return 0, err
		}
		var w Winsize
		w.unmarshal(b)
		t.SetWinsize(w)
		return 0, nil
	case unix.TIOCINQ:
		t.mu.Lock()
		n := t.readableLocked()
		if master {
			n = len(t.out) // the master's input is the replica's output
		}
		t.mu.Unlock()
		return 0, putInt(mem, arg, uint32(n))
	case unix.TIOCOUTQ:
		// A pty keeps no output queue of its own (Linux's pty driver
		// has no chars_in_buffer): output is at once the other side's
		// input.
		return 0, putInt(mem, arg, 0)
	case unix.TCFLSH:
		in, out := false, false
		switch arg {
		case unix.TCIFLUSH:
			in = true
		case unix.TCOFLUSH:
			out = true
		case unix.TCIOFLUSH:
			in, out = true, true
		default:
			return 0, unix.EINVAL
		}
		if master {
			in, out = out, in
		}
		t.mu.Lock()
		if in {
			t.flushInputLocked()
		}
		if out {
			t.out = nil
			t.broadcastLocked()
		}
		t.mu.Unlock()
		return 0, nil
	case unix.TCXONC:
		if arg > unix.TCION {
			return 0, unix.EINVAL
		}
		if master {
			return 0, nil // the master's own flow is not modelled
		}
		t.mu.Lock()
		switch arg {
		case unix.TCOOFF:
			if !t.tcoStopped {
				t.tcoStopped = true
				t.stopLocked()
			}
		case unix.TCOON:
			if t.tcoStopped {
				t.tcoStopped = false
				t.startLocked()
			}
		case unix.TCIOFF, unix.TCION:
			// Sends STOP or START to the other side: on a pty, the
			// master reads it.
			c := t.termios.Cc[vSTOP]
			if arg == unix.TCION {
				c = t.termios.Cc[vSTART]
			}
			if c != 0 {
				t.out = append(t.out, c)
				t.broadcastLocked()
			}
		}
		t.mu.Unlock()
		return 0, nil
	case unix.TIOCGETD:
		return 0, putInt(mem, arg, 0) // N_TTY, the only discipline
	case unix.TIOCSETD:
		b := make([]byte, 4)
		if _, err := mem.CopyIn(arg, b); err != nil {
			return 0, err
		}
		if binary.LittleEndian.Uint32(b) != 0 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case unix.TIOCEXCL, unix.TIOCNXCL:
		// Exclusive mode is recorded, not enforced: it refuses new opens
		// to unprivileged callers only, and every open here comes from
		// the sandbox's root or is refused for other reasons.
		t.mu.Lock()
		t.exclusive[b2i(master)] = req == unix.TIOCEXCL
		t.mu.Unlock()
		return 0, nil
	case unix.TIOCGEXCL:
		t.mu.Lock()
		v := uint32(b2i(t.exclusive[b2i(master)]))
		t.mu.Unlock()
		return 0, putInt(mem, arg, v)
	case unix.TCSBRK, unix.TCSBRKP, unix.TIOCSBRK, unix.TIOCCBRK:
		// Output reaches the master's queue at once, so draining waits
		// for nothing; a pty has no line to send a break on.
		return 0, nil
	}
	if master {
		switch req {
		case unix.TIOCGPTN:
			return 0, putInt(mem, arg, uint32(t.Index))
		case unix.TIOCSPTLCK:
			b := make([]byte, 4)
			if _, err := mem.CopyIn(arg, b); err != nil {
				return 0, err
			}
			t.mu.Lock()
			t.locked = binary.LittleEndian.Uint32(b) != 0
			t.mu.Unlock()
			return 0, nil
		case unix.TIOCGPTLCK:
			t.mu.Lock()
			v := uint32(b2i(t.locked))
			t.mu.Unlock()
			return 0, putInt(mem, arg, v)
		case unix.TIOCSIG:
			// The argument is the signal itself; only the keyboard's
			// signals may be sent (Linux's pty_signal).
			sig := int(arg)
			if sig != int(unix.SIGINT) && sig != int(unix.SIGQUIT) && sig != int(unix.SIGTSTP) {
				return 0, unix.EINVAL
			}
			if _, fg := t.Session(); fg > 0 && t.jc != nil {
				t.jc.SignalGroup(fg, sig)
			}
			return 0, nil
		}
	}
	return 0, unix.ENOTTY
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Inject implements TIOCSTI: c is taken as if typed at the terminal, or
// for the master side as if the replica had written it raw.
func (t *Terminal) Inject(c byte, master bool) {
	t.mu.Lock()
	var sigs []int
	if master {
		t.out = append(t.out, c)
	} else {
		_, sigs = t.receiveLocked([]byte{c})
	}
	t.broadcastLocked()
	fg := t.fg
	t.mu.Unlock()
	if fg > 0 && t.jc != nil {
		for _, s := range sigs {
			t.jc.SignalGroup(fg, s)
		}
	}
}

func putInt(mem vfs.UserMemory, addr uintptr, v uint32) error {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, v)
	_, err := mem.CopyOut(addr, b)
	return err
}

// Master is the master end of a terminal, opened through /dev/ptmx.
type Master struct {
	endpoint
	pts *DevPTS
}

// IsMaster implements Endpoint.
func (m *Master) IsMaster() bool { return true }

// Readv implements vfs.FileDescriptionImpl: the terminal's output.
func (m *Master) Readv(bufs [][]byte) (int, error) {
	return scatter(bufs, func(b []byte) (int, error) { return m.t.readMaster(b, m.nonblocking()) })
}

// Writev implements vfs.FileDescriptionImpl: input to the terminal.
func (m *Master) Writev(bufs [][]byte) (int, error) {
	return m.t.writeMaster(flatten(bufs), m.nonblocking())
}

// Ioctl implements vfs.FileDescriptionImpl.
func (m *Master) Ioctl(mem vfs.UserMemory, req uint, arg uintptr) (uintptr, error) {
	return m.ioctl(mem, req, arg, true)
}

// Stat implements vfs.FileDescriptionImpl.
func (m *Master) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: unix.S_IFCHR | 0o666, Rdev: unix.Mkdev(ptmxMajor, ptmxMinor), Blksize: 1024}, nil
}

// Readiness implements vfs.Pollable.
func (m *Master) Readiness(mask uint32) uint32 {
	t := m.t
	t.mu.Lock()
	defer t.mu.Unlock()
	var r uint32
	if len(t.out) > 0 {
		r |= vfs.PollIn | vfs.PollRdNorm
	}
	if t.inputRoomLocked() {
		r |= vfs.PollOut | vfs.PollWrNorm
	}
	if t.replicaOpened && t.replicas == 0 {
		r |= vfs.PollHup
	}
	return r & mask
}

// Release implements vfs.FileDescriptionImpl: when the last master
// closes, the replica is hung up (its reads see end of file, its writes
// EIO), the terminal leaves /dev/pts, and the kernel detaches the session
// it controls (Linux's tty_vhangup of the replica: SIGHUP and SIGCONT go
// to the session leader, not to the foreground group).
func (m *Master) Release() {
	t := m.t
	t.mu.Lock()
	t.masters--
	last := t.masters == 0
	t.broadcastLocked()
	t.mu.Unlock()
	if !last {
		return
	}
	if m.pts != nil {
		m.pts.remove(t.Index)
	}
	if t.jc != nil {
		t.jc.Hangup(t)
	}
}

// Replica is the replica end of a terminal, /dev/pts/<n>: what programs
// see as their terminal.
type Replica struct {
	endpoint
}

// IsMaster implements Endpoint.
func (r *Replica) IsMaster() bool { return false }

// Readv implements vfs.FileDescriptionImpl.
func (r *Replica) Readv(bufs [][]byte) (int, error) {
	return scatter(bufs, func(b []byte) (int, error) { return r.t.readReplica(b, r.nonblocking()) })
}

// Writev implements vfs.FileDescriptionImpl.
func (r *Replica) Writev(bufs [][]byte) (int, error) {
	return r.t.writeReplica(flatten(bufs), r.nonblocking())
}

// Ioctl implements vfs.FileDescriptionImpl.
func (r *Replica) Ioctl(mem vfs.UserMemory, req uint, arg uintptr) (uintptr, error) {
	return r.ioctl(mem, req, arg, false)
}

// Stat implements vfs.FileDescriptionImpl.
func (r *Replica) Stat() (unix.Stat_t, error) {
	st := r.t.stat()
	return unix.Stat_t{Dev: st.Dev, Ino: st.Ino, Nlink: 1, Mode: st.Mode, Uid: st.UID, Gid: st.GID, Rdev: st.Rdev, Blksize: 1024}, nil
}

// Readiness implements vfs.Pollable. In non-canonical mode with VMIN set
// and VTIME zero, input is readable once VMIN bytes are there, as a read
// would wait for them (Linux's input_available_p).
func (r *Replica) Readiness(mask uint32) uint32 {
	t := r.t
	t.mu.Lock()
	defer t.mu.Unlock()
	var ev uint32
	if t.pollInputLocked() {
		ev |= vfs.PollIn | vfs.PollRdNorm
	}
	if len(t.out) < maxOutput && !t.stopped {
		ev |= vfs.PollOut | vfs.PollWrNorm
	}
	if t.masters == 0 {
		ev |= vfs.PollIn | vfs.PollRdNorm | vfs.PollOut | vfs.PollWrNorm | vfs.PollHup | vfs.PollErr
	}
	return ev & mask
}

// pollInputLocked reports input poll(2) calls readable.
func (t *Terminal) pollInputLocked() bool {
	if t.canonicalLocked() {
		return len(t.cooked) > 0
	}
	want := 1
	if vmin := int(t.termios.Cc[vMIN]); vmin > 0 && t.termios.Cc[vTIME] == 0 {
		want = vmin
	}
	return len(t.raw) >= want
}

// Release implements vfs.FileDescriptionImpl.
func (r *Replica) Release() {
	t := r.t
	t.mu.Lock()
	t.replicas--
	t.broadcastLocked()
	t.mu.Unlock()
}

// HungUp reports a terminal whose master is gone: its replica files are
// hung up (reads see end of file, writes and requests fail with EIO).
func (t *Terminal) HungUp() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.masters == 0
}

// OpenReplica opens a new replica end (open(2) of /dev/pts/<n>, or of
// /dev/tty for the terminal's session).
func (t *Terminal) OpenReplica() (vfs.FileDescriptionImpl, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.masters == 0 {
		return nil, unix.EIO
	}
	if t.locked {
		return nil, unix.EIO
	}
	t.replicas++
	t.replicaOpened = true
	t.broadcastLocked()
	return &Replica{endpoint{t: t}}, nil
}

// OpenPeer opens the replica of the terminal whose master this is
// (TIOCGPTPEER); a locked replica gives EIO, as an open(2) of it would.
func (m *Master) OpenPeer() (vfs.FileDescriptionImpl, error) {
	return m.t.OpenReplica()
}
