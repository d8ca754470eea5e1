package kernel

import (
	"golang.org/x/sys/unix"

	"sbx/fs/tty"
	"sbx/fs/vfs"
)

// Controlling terminals (credentials(7), termios(3) "Job control"): a
// session may have one terminal; the kernel keeps the session-to-terminal
// link in Kernel.cttys and the terminal keeps the reverse (its session and
// foreground group). Both are changed with sigMu held.
//
// Lock order: Kernel.sigMu before the terminal's own lock (Terminal methods
// take it); a terminal calls into the kernel (tty.JobControl) only without
// its lock held.

// SignalGroup implements tty.JobControl: sig goes to every process of group
// pgid, as from the kernel (SI_KERNEL).
func (k *Kernel) SignalGroup(pgid, sig int) {
	for _, tg := range k.ProcessGroupMembers(pgid) {
		tg.SendSignal(SigInfo{Signo: int32(sig), Code: SIKernel})
	}
}

// BackgroundCheck implements tty.JobControl for the calling task: a process
// of a background group of the terminal's session that reads (SIGTTIN), or
// writes with TOSTOP or changes settings (SIGTTOU), gets the signal sent to
// its whole group and the call is restarted once the group is continued.
// A blocked or ignored SIGTTIN, or an orphaned group, makes a read fail
// with EIO; a blocked or ignored SIGTTOU lets the write go on.
func (k *Kernel) BackgroundCheck(term *tty.Terminal, sig int) error {
	t := k.Current()
	if t == nil {
		return nil
	}
	sid, fg := term.Session()
	k.sigMu.Lock()
	pgid, tsid := t.tg.pgid, t.tg.sid
	orphaned := sid != 0 && tsid == sid && fg != pgid && k.orphanedLocked(pgid)
	k.sigMu.Unlock()
	if sid == 0 || tsid != sid || fg == pgid {
		return nil
	}
	quiet := t.SigMask&(1<<(sig-1)) != 0 || t.tg.ignored(sig)
	if sig == int(unix.SIGTTOU) && quiet {
		return nil
	}
	if quiet || orphaned {
		return unix.EIO
	}
	k.SignalGroup(pgid, sig)
	return ERestartSys
}

// orphanedLocked reports an orphaned process group: no member has a parent
// in another group of the same session. Called with sigMu held.
func (k *Kernel) orphanedLocked(pgid int) bool {
	for _, t := range k.Tasks() {
		tg := t.tg
		if tg.leader != t || tg.pgid != pgid || tg.zombie {
			continue
		}
		if p := tg.parent; p != nil && p.pgid != pgid && p.sid == tg.sid {
			return false
		}
	}
	return true
}

// ControllingTTY returns the calling process's controlling terminal, or nil.
func (t *Task) ControllingTTY() *tty.Terminal {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	return k.cttys[t.tg.sid]
}

// OpenControllingTTY opens /dev/tty for the calling task: its controlling
// terminal's replica, or ENXIO without one.
func (k *Kernel) OpenControllingTTY(flags int) (vfs.FileDescriptionImpl, error) {
	t := k.Current()
	if t == nil {
		return nil, unix.ENXIO
	}
	term := t.ControllingTTY()
	if term == nil {
		return nil, unix.ENXIO
	}
	return term.OpenReplica()
}

// AcquireTTY is open(2) of a terminal without O_NOCTTY: a session leader
// without a controlling terminal takes one that no session has.
func (t *Task) AcquireTTY(term *tty.Terminal) {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	tg := t.tg
	if tg.sid != tg.pid || k.cttys[tg.sid] != nil {
		return
	}
	if sid, _ := term.Session(); sid != 0 {
		return
	}
	k.setCTTYLocked(tg.sid, term, tg.pgid)
}

func (k *Kernel) setCTTYLocked(sid int, term *tty.Terminal, fg int) {
	if k.cttys == nil {
		k.cttys = make(map[int]*tty.Terminal)
	}
	k.cttys[sid] = term
	term.SetSession(sid, fg)
}

// SetControllingTTY implements TIOCSCTTY (ioctl_tty(2)): the caller must be
// a session leader without a controlling terminal, and the terminal must
// not control another session unless steal is set by a privileged caller.
func (t *Task) SetControllingTTY(term *tty.Terminal, steal bool) error {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	tg := t.tg
	cur := k.cttys[tg.sid]
	if cur == term && tg.sid == tg.pid {
		return nil
	}
	if tg.sid != tg.pid || cur != nil {
		return unix.EPERM
	}
	if sid, _ := term.Session(); sid != 0 {
		if !steal || t.Creds.EUID != 0 /* CAP_SYS_ADMIN: root holds every capability */ {
			return unix.EPERM
		}
		delete(k.cttys, sid)
	}
	k.setCTTYLocked(tg.sid, term, tg.pgid)
	return nil
}

// NoControllingTTY implements TIOCNOTTY: the caller gives up its
// controlling terminal; when a session leader does, the foreground group
// gets SIGHUP and SIGCONT and the whole session loses the terminal.
func (t *Task) NoControllingTTY(term *tty.Terminal) error {
	k := t.k
	k.sigMu.Lock()
	tg := t.tg
	if k.cttys[tg.sid] != term {
		k.sigMu.Unlock()
		return unix.ENOTTY
	}
	if tg.sid != tg.pid {
		// Only the leader's giving up detaches the session; a member's
		// call succeeds without effect on the others (Linux drops its
		// own link, which this model does not keep per process).
		k.sigMu.Unlock()
		return nil
	}
	_, fg := term.Session()
	delete(k.cttys, tg.sid)
	term.SetSession(0, 0)
	k.sigMu.Unlock()
	if fg > 0 {
		k.SignalGroup(fg, int(unix.SIGHUP))
		k.SignalGroup(fg, int(unix.SIGCONT))
	}
	return nil
}

// TTYForeground implements TIOCGPGRP (tcgetpgrp(3)): ENOTTY unless term is
// the caller's controlling terminal.
func (t *Task) TTYForeground(term *tty.Terminal) (int, error) {
	if t.ControllingTTY() != term {
		return 0, unix.ENOTTY
	}
	_, fg := term.Session()
	return fg, nil
}

// TTYSession implements TIOCGSID (tcgetsid(3)).
func (t *Task) TTYSession(term *tty.Terminal) (int, error) {
	if t.ControllingTTY() != term {
		return 0, unix.ENOTTY
	}
	sid, _ := term.Session()
	return sid, nil
}

// SetTTYForeground implements TIOCSPGRP (tcsetpgrp(3)): the group must
// exist in the caller's session, whose controlling terminal term must be;
// a background caller is subject to SIGTTOU.
func (t *Task) SetTTYForeground(term *tty.Terminal, pgid int) error {
	if t.ControllingTTY() != term {
		return unix.ENOTTY
	}
	if pgid < 0 {
		return unix.EINVAL
	}
	if err := t.k.BackgroundCheck(term, int(unix.SIGTTOU)); err != nil {
		return err
	}
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	found := false
	for _, x := range k.Tasks() {
		if x.tg.leader == x && x.tg.pgid == pgid && !x.tg.zombie {
			if x.tg.sid != t.tg.sid {
				return unix.EPERM
			}
			found = true
		}
	}
	if !found {
		return unix.ESRCH
	}
	term.SetForeground(pgid)
	return nil
}

// releaseControllingTTY detaches a session from its terminal when its
// leader exits: the foreground group gets SIGHUP and SIGCONT.
func (tg *ThreadGroup) releaseControllingTTY() {
	k := tg.k
	k.sigMu.Lock()
	term := k.cttys[tg.sid]
	if term == nil || tg.sid != tg.pid {
		k.sigMu.Unlock()
		return
	}
	delete(k.cttys, tg.sid)
	_, fg := term.Session()
	term.SetSession(0, 0)
	k.sigMu.Unlock()
	if fg > 0 {
		k.SignalGroup(fg, int(unix.SIGHUP))
		k.SignalGroup(fg, int(unix.SIGCONT))
	}
}

// foregroundGroup returns the foreground group of init's session: its
// terminal's foreground group, or init's own group without a terminal.
func (k *Kernel) foregroundGroupLocked() int {
	init := k.initTG
	if init == nil {
		return 0
	}
	if term := k.cttys[init.sid]; term != nil {
		if _, fg := term.Session(); fg > 0 {
			return fg
		}
	}
	return init.pgid
}
