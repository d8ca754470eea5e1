package syscalls

// Terminal requests that need the kernel's sessions and process groups
// (ioctl_tty(2), tcsetpgrp(3), credentials(7)); the terminal answers the
// rest itself (fs/tty). Departures from Linux: no per-process controlling
// terminal link for non-leaders (TIOCNOTTY by a member has no effect);
// TIOCCONS and packet mode (TIOCPKT) are not supported (ENOTTY).

import (
	"encoding/binary"
	"strconv"

	"golang.org/x/sys/unix"

	"sbx/fs/tty"
	"sbx/fs/vfs"
	"sbx/sentry/kernel"
)

// ttyIoctl serves the session-related requests on either end of a
// terminal; handled is false for the requests the terminal serves.
func ttyIoctl(t *kernel.Task, ep tty.Endpoint, req uint, arg uintptr) (r uintptr, handled bool, err error) {
	term := ep.Terminal()
	if !ep.IsMaster() && term.HungUp() {
		// Linux's hung_up_tty_ioctl.
		switch req {
		case unix.TIOCSPGRP:
			return 0, true, unix.ENOTTY
		case unix.TIOCSCTTY, unix.TIOCNOTTY, unix.TIOCGPGRP, unix.TIOCGSID, unix.TIOCGPTPEER:
			return 0, true, unix.EIO
		}
		return 0, false, nil
	}
	switch req {
	case unix.TIOCSCTTY:
		return 0, true, t.SetControllingTTY(term, arg == 1)
	case unix.TIOCNOTTY:
		if ep.IsMaster() {
			// Linux compares the caller's terminal with the master
			// itself, which is never a controlling terminal.
			return 0, true, unix.ENOTTY
		}
		return 0, true, t.NoControllingTTY(term)
	case unix.TIOCGPGRP:
		pg, err := t.TTYForeground(term, ep.IsMaster())
		if err != nil {
			return 0, true, err
		}
		return 0, true, putInt32(t, arg, int32(pg))
	case unix.TIOCGSID:
		sid, err := t.TTYSession(term, ep.IsMaster())
		if err != nil {
			return 0, true, err
		}
		return 0, true, putInt32(t, arg, int32(sid))
	case unix.TIOCSPGRP:
		var b [4]byte
		if _, err := t.CopyIn(arg, b[:]); err != nil {
			return 0, true, err
		}
		return 0, true, t.SetTTYForeground(term, int(int32(binary.LittleEndian.Uint32(b[:]))))
	case unix.TIOCSTI:
		// Faking input needs the terminal to be the caller's own, or
		// CAP_SYS_ADMIN (root holds every capability).
		if t.Creds.EUID != 0 && (ep.IsMaster() || t.ControllingTTY() != term) {
			return 0, true, unix.EPERM
		}
		var b [1]byte
		if _, err := t.CopyIn(arg, b[:]); err != nil {
			return 0, true, err
		}
		term.Inject(b[0], ep.IsMaster())
		return 0, true, nil
	case unix.TIOCGPTPEER:
		if !ep.IsMaster() {
			return 0, true, unix.EIO // Linux: not a pty master
		}
		fd, err := openPeer(t, term, int(arg))
		return uintptr(fd), true, err
	}
	return 0, false, nil
}

func putInt32(t *kernel.Task, addr uintptr, v int32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	_, err := t.CopyOut(addr, b[:])
	return err
}

// openPeer implements TIOCGPTPEER: the replica opened through its devpts
// name, so that ttyname(3) finds it.
func openPeer(t *kernel.Task, term *tty.Terminal, flags int) (int, error) {
	if flags&^(unix.O_ACCMODE|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	ctx := t.VFSContext()
	v := t.Kernel().VFS
	f, err := v.OpenAt(ctx, ctx.Root, "/dev/pts/"+strconv.Itoa(term.Index), flags&^unix.O_CLOEXEC, 0, vfs.Resolve{})
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if ep, ok := f.Impl.(tty.Endpoint); !ok || ep.Terminal() != term {
		return 0, unix.EIO // devpts is not where it was
	}
	fd, err := t.ThreadGroup().FDTable.NewFD(0, f, flags&unix.O_CLOEXEC != 0, nofile(t))
	if err == unix.EINVAL {
		err = unix.EMFILE
	}
	if err == nil && flags&unix.O_NOCTTY == 0 {
		acquireTTY(t, f)
	}
	return fd, err
}

// acquireTTY gives a session leader without a terminal the replica it just
// opened without O_NOCTTY (masters never become controlling terminals).
func acquireTTY(t *kernel.Task, f *vfs.FileDescription) {
	if ep, ok := f.Impl.(tty.Endpoint); ok && !ep.IsMaster() {
		t.AcquireTTY(ep.Terminal())
	}
}
