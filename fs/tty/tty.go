// Package tty implements pseudo-terminals (pty(7)): the Terminal with its
// line discipline (termios(3): canonical editing, echo, ISIG characters that
// signal the foreground process group, input and output translation), the
// master and replica ends, and devpts, the filesystem of /dev/pts where
// each terminal's replica appears while its master is open.
//
// Sessions, controlling terminals and process groups belong to the kernel:
// a Terminal only records the session it controls and its foreground group
// as numbers, and asks the kernel through JobControl to send signals and to
// judge background access.
//
// It must not import the sentry, syscalls or runsc layers.
package tty

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// JobControl is what a terminal needs from the kernel.
type JobControl interface {
	// SignalGroup sends sig to every process of group pgid.
	SignalGroup(pgid, sig int)
	// BackgroundCheck is called before a read (sig = SIGTTIN), a write
	// with TOSTOP or a change of settings (sig = SIGTTOU) by the calling
	// process. It returns nil when the caller may go on, or the error to
	// return (EIO, or a restart error after signalling the caller's
	// group), as the rules of termios(3) "Job control" decide.
	BackgroundCheck(t *Terminal, sig int) error
	// Hangup is called without the terminal's lock when its last master
	// has closed: the session it controls loses it, and the session
	// leader is told with SIGHUP and SIGCONT.
	Hangup(t *Terminal)
}

// Limits of the queues. Linux's line discipline holds 4 KiB of input; the
// raw input and output queues here are larger so that bulk copies through
// a terminal do not stall on every page.
const (
	maxCanonLine = 4095
	maxRawInput  = 64 << 10
	maxOutput    = 64 << 10
)

// Terminal is one pseudo-terminal: the state its two ends share.
type Terminal struct {
	// Index is the terminal's number: its replica is /dev/pts/<Index>.
	Index int
	jc    JobControl

	mu sync.Mutex // guards every field below
	// changed is closed (and replaced) whenever data, settings or the
	// open ends change.
	changed chan struct{}
	termios Termios
	winsize Winsize
	// line is the canonical line being edited; cooked holds finished
	// lines (a line ended by VEOF alone is empty and reads as end of
	// file); raw is non-canonical input.
	line   []byte
	cooked [][]byte
	raw    []byte
	// lnext is set after VLNEXT: the next character is taken literally.
	lnext bool
	// out is output waiting for the master to read it.
	out []byte
	// locked is the TIOCSPTLCK lock: the replica cannot be opened while
	// it is set (unlockpt(3) clears it).
	locked bool
	// masters counts open master descriptions; replicas the open replica
	// ones; replicaOpened is set at the first replica open.
	masters, replicas int
	replicaOpened     bool
	// sid is the session the terminal controls (0: none) and fg its
	// foreground process group.
	sid, fg int
	// mode, uid and gid are the replica node's (devpts) attributes.
	mode     uint32
	uid, gid uint32
}

func newTerminal(index int, jc JobControl) *Terminal {
	return &Terminal{
		Index: index, jc: jc, changed: make(chan struct{}),
		termios: defaultTermios(), locked: true, masters: 1,
		mode: 0o620,
	}
}

func (t *Terminal) broadcastLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// waitLocked waits for a change; called and returns with t.mu held.
func (t *Terminal) waitLocked() error {
	ch := t.changed
	t.mu.Unlock()
	err := vfs.Block(ch)
	t.mu.Lock()
	return err
}

// Session returns the session the terminal controls (0: none) and its
// foreground process group.
func (t *Terminal) Session() (sid, fg int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sid, t.fg
}

// SetSession makes the terminal the controlling terminal of session sid
// with foreground group fg, or of no session when sid is 0. The kernel
// calls it and keeps the other side of the link.
func (t *Terminal) SetSession(sid, fg int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sid, t.fg = sid, fg
}

// SetForeground sets the foreground process group (tcsetpgrp(3)); the
// kernel has checked the caller's right to.
func (t *Terminal) SetForeground(pgid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fg = pgid
}

// SetWinsize changes the window size and signals SIGWINCH to the
// foreground group when it changed (TIOCSWINSZ, or the host terminal
// resized under `sbx run -t`).
func (t *Terminal) SetWinsize(w Winsize) {
	t.mu.Lock()
	changed := t.winsize != w
	t.winsize = w
	fg := t.fg
	t.mu.Unlock()
	if changed && fg > 0 && t.jc != nil {
		t.jc.SignalGroup(fg, int(unix.SIGWINCH))
	}
}

// Winsize returns the window size.
func (t *Terminal) Winsize() Winsize {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.winsize
}

// canonical reports ICANON.
func (t *Terminal) canonicalLocked() bool { return t.termios.lflag(unix.ICANON) }

// inputRoomLocked reports whether the master may write more input.
func (t *Terminal) inputRoomLocked() bool {
	if t.canonicalLocked() {
		return true // a full line drops characters, as Linux does
	}
	return len(t.raw) < maxRawInput
}

// readableLocked is the number of bytes a replica read could return now.
func (t *Terminal) readableLocked() int {
	if t.canonicalLocked() {
		n := 0
		for _, l := range t.cooked {
			n += len(l)
		}
		return n
	}
	return len(t.raw)
}

// hasInputLocked reports whether a replica read would not block.
func (t *Terminal) hasInputLocked() bool {
	if t.canonicalLocked() {
		return len(t.cooked) > 0
	}
	return len(t.raw) > 0
}

// setTermiosLocked installs new settings. Leaving canonical mode makes
// the partial line and finished lines raw input; entering it makes raw
// input a finished line, so nothing typed is lost.
func (t *Terminal) setTermiosLocked(n Termios) {
	wasCanon := t.canonicalLocked()
	t.termios = n
	switch isCanon := t.canonicalLocked(); {
	case wasCanon && !isCanon:
		for _, l := range t.cooked {
			t.raw = append(t.raw, l...)
		}
		t.raw = append(t.raw, t.line...)
		t.cooked, t.line = nil, nil
	case !wasCanon && isCanon && len(t.raw) > 0:
		t.cooked = append(t.cooked, t.raw)
		t.raw = nil
	}
	t.broadcastLocked()
}

// flushInputLocked discards unread input (TCIFLUSH, and ISIG characters
// without NOFLSH).
func (t *Terminal) flushInputLocked() {
	t.line, t.cooked, t.raw = nil, nil, nil
	t.broadcastLocked()
}

// outputLocked appends application or echo output, translated as OPOST
// says (only ONLCR, OCRNL, ONOCR and ONLRET; no delays or tab expansion).
func (t *Terminal) outputLocked(b []byte) {
	tm := &t.termios
	if !tm.oflag(unix.OPOST) {
		t.out = append(t.out, b...)
		return
	}
	for _, c := range b {
		switch {
		case c == '\n' && tm.oflag(unix.ONLCR):
			t.out = append(t.out, '\r', '\n')
		case c == '\r' && tm.oflag(unix.OCRNL):
			t.out = append(t.out, '\n')
		case c == '\r' && tm.oflag(unix.ONOCR) && (len(t.out) == 0 || t.out[len(t.out)-1] == '\n'):
		default:
			t.out = append(t.out, c)
		}
	}
}

// isControl reports a character ECHOCTL shows as ^X.
func isControl(c byte) bool { return (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f }

// echoLocked echoes one input character when ECHO is on.
func (t *Terminal) echoLocked(c byte) {
	tm := &t.termios
	if !tm.lflag(unix.ECHO) {
		if c == '\n' && tm.lflag(unix.ECHONL) && tm.lflag(unix.ICANON) {
			t.outputLocked([]byte{'\n'})
		}
		return
	}
	if isControl(c) && tm.lflag(unix.ECHOCTL) {
		t.outputLocked([]byte{'^', c ^ 0x40})
		return
	}
	t.outputLocked([]byte{c})
}

// eraseLocked removes the last character of the canonical line and, with
// ECHOE, erases it on the screen (two columns for a ^X echo).
func (t *Terminal) eraseLocked() bool {
	if len(t.line) == 0 {
		return false
	}
	c := t.line[len(t.line)-1]
	t.line = t.line[:len(t.line)-1]
	tm := &t.termios
	if tm.lflag(unix.ECHO) && tm.lflag(unix.ECHOE) {
		w := 1
		if isControl(c) && tm.lflag(unix.ECHOCTL) {
			w = 2
		}
		for range w {
			t.outputLocked([]byte("\b \b"))
		}
	}
	return true
}

// receive runs input from the master through the line discipline and
// returns how many bytes it took (fewer than len(b) when raw input is full)
// and the signals its ISIG characters raise for the foreground group.
func (t *Terminal) receiveLocked(b []byte) (int, []int) {
	var sigs []int
	tm := &t.termios
	for i, c := range b {
		if !t.inputRoomLocked() {
			return i, sigs
		}
		if tm.iflag(unix.ISTRIP) {
			c &= 0x7f
		}
		if t.lnext {
			t.lnext = false
			t.putLocked(c, true)
			continue
		}
		switch {
		case c == '\r' && tm.iflag(unix.IGNCR):
			continue
		case c == '\r' && tm.iflag(unix.ICRNL):
			c = '\n'
		case c == '\n' && tm.iflag(unix.INLCR):
			c = '\r'
		}
		if tm.lflag(unix.ISIG) {
			sig := 0
			switch {
			case tm.isCC(c, vINTR):
				sig = int(unix.SIGINT)
			case tm.isCC(c, vQUIT):
				sig = int(unix.SIGQUIT)
			case tm.isCC(c, vSUSP):
				sig = int(unix.SIGTSTP)
			}
			if sig != 0 {
				if !tm.lflag(unix.NOFLSH) {
					t.flushInputLocked()
				}
				t.echoLocked(c)
				sigs = append(sigs, sig)
				continue
			}
		}
		// Output flow control (IXON) swallows START and STOP; output is
		// never actually stopped (a departure from Linux).
		if tm.iflag(unix.IXON) && (tm.isCC(c, vSTART) || tm.isCC(c, vSTOP)) {
			continue
		}
		if tm.lflag(unix.IEXTEN) && tm.isCC(c, vLNEXT) {
			t.lnext = true
			if tm.lflag(unix.ECHO) && tm.lflag(unix.ECHOCTL) && tm.lflag(unix.ICANON) {
				t.outputLocked([]byte("^\b"))
			}
			continue
		}
		t.putLocked(c, false)
	}
	return len(b), sigs
}

// putLocked adds one input character: canonical editing and line
// completion, or raw input; literal characters are never special.
func (t *Terminal) putLocked(c byte, literal bool) {
	tm := &t.termios
	if !tm.lflag(unix.ICANON) {
		t.raw = append(t.raw, c)
		t.echoLocked(c)
		t.broadcastLocked()
		return
	}
	if !literal {
		switch {
		case tm.isCC(c, vERASE):
			t.eraseLocked()
			return
		case tm.isCC(c, vWERASE) && tm.lflag(unix.IEXTEN):
			for len(t.line) > 0 && t.line[len(t.line)-1] == ' ' {
				t.eraseLocked()
			}
			for len(t.line) > 0 && t.line[len(t.line)-1] != ' ' {
				t.eraseLocked()
			}
			return
		case tm.isCC(c, vKILL):
			if tm.lflag(unix.ECHOKE) && tm.lflag(unix.ECHOE) {
				for t.eraseLocked() {
				}
			} else {
				t.line = nil
				t.echoLocked(c)
				if tm.lflag(unix.ECHOK) {
					t.outputLocked([]byte{'\n'})
				}
			}
			return
		case tm.isCC(c, vREPRINT) && tm.lflag(unix.IEXTEN):
			t.echoLocked(c)
			t.outputLocked([]byte{'\n'})
			if tm.lflag(unix.ECHO) {
				t.outputLocked(t.line)
			}
			return
		case tm.isCC(c, vEOF):
			t.finishLineLocked()
			return
		case c == '\n' || tm.isCC(c, vEOL) || tm.isCC(c, vEOL2):
			t.line = append(t.line, c)
			t.echoLocked(c)
			t.finishLineLocked()
			return
		}
	}
	if len(t.line) >= maxCanonLine {
		return // the line is full: Linux drops the character too
	}
	t.line = append(t.line, c)
	t.echoLocked(c)
}

func (t *Terminal) finishLineLocked() {
	t.cooked = append(t.cooked, t.line)
	t.line = nil
	t.broadcastLocked()
}

// takeLocked moves input into dst for a replica read: at most one line in
// canonical mode, whatever is queued in non-canonical mode.
func (t *Terminal) takeLocked(dst []byte) int {
	if t.canonicalLocked() {
		l := t.cooked[0]
		n := copy(dst, l)
		if n == len(l) {
			t.cooked = t.cooked[1:]
		} else {
			t.cooked[0] = l[n:]
		}
		t.broadcastLocked()
		return n
	}
	n := copy(dst, t.raw)
	t.raw = t.raw[n:]
	if len(t.raw) == 0 {
		t.raw = nil
	}
	t.broadcastLocked()
	return n
}

// readReplica implements a replica read (termios(3) "Canonical and
// noncanonical mode" for VMIN and VTIME).
func (t *Terminal) readReplica(dst []byte, nonblock bool) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	if t.jc != nil {
		if err := t.jc.BackgroundCheck(t, int(unix.SIGTTIN)); err != nil {
			return 0, err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.masters == 0 {
		// Hung up: Linux answers every read of a hung-up file with end
		// of file, even with input left.
		return 0, nil
	}
	if t.canonicalLocked() {
		for !t.hasInputLocked() {
			if t.masters == 0 {
				return 0, nil
			}
			if nonblock {
				return 0, unix.EAGAIN
			}
			if err := t.waitLocked(); err != nil {
				return 0, err
			}
		}
		return t.takeLocked(dst), nil
	}
	vmin, vtime := int(t.termios.Cc[vMIN]), time.Duration(t.termios.Cc[vTIME])*100*time.Millisecond
	want := min(vmin, len(dst))
	if nonblock {
		if len(t.raw) == 0 {
			return 0, unix.EAGAIN
		}
		return t.takeLocked(dst), nil
	}
	// The timer of VTIME: overall when VMIN is 0, between bytes
	// otherwise (started by the first byte).
	var deadline time.Time
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	arm := func() {
		if timer != nil {
			timer.Stop()
		}
		deadline = time.Now().Add(vtime)
		timer = time.AfterFunc(vtime, func() {
			t.mu.Lock()
			t.broadcastLocked()
			t.mu.Unlock()
		})
	}
	if vtime > 0 && vmin == 0 {
		arm()
	}
	seen := 0
	for {
		if len(t.raw) >= max(want, 1) || (vmin == 0 && vtime == 0) {
			break
		}
		if t.masters == 0 {
			return 0, nil
		}
		if vtime > 0 && len(t.raw) > 0 && len(t.raw) != seen && vmin > 0 {
			seen = len(t.raw)
			arm()
		}
		if vtime > 0 && !deadline.IsZero() && !time.Now().Before(deadline) {
			break
		}
		if err := t.waitLocked(); err != nil {
			if len(t.raw) > 0 {
				break
			}
			return 0, err
		}
	}
	return t.takeLocked(dst), nil
}

// writeReplica implements a replica write: output for the master.
func (t *Terminal) writeReplica(src []byte, nonblock bool) (int, error) {
	if t.jc != nil {
		t.mu.Lock()
		tostop := t.termios.lflag(unix.TOSTOP)
		t.mu.Unlock()
		if tostop {
			if err := t.jc.BackgroundCheck(t, int(unix.SIGTTOU)); err != nil {
				return 0, err
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	done := 0
	for done < len(src) {
		if t.masters == 0 {
			if done > 0 {
				return done, nil
			}
			return 0, unix.EIO
		}
		if len(t.out) >= maxOutput {
			if nonblock {
				if done > 0 {
					return done, nil
				}
				return 0, unix.EAGAIN
			}
			if err := t.waitLocked(); err != nil {
				if done > 0 {
					return done, nil
				}
				return 0, err
			}
			continue
		}
		n := min(len(src)-done, maxOutput-len(t.out))
		t.outputLocked(src[done : done+n])
		done += n
		t.broadcastLocked()
	}
	return done, nil
}

// readMaster implements a master read: the terminal's output.
func (t *Terminal) readMaster(dst []byte, nonblock bool) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.out) == 0 {
		if t.replicaOpened && t.replicas == 0 {
			return 0, unix.EIO // the replica hung up
		}
		if nonblock {
			return 0, unix.EAGAIN
		}
		if err := t.waitLocked(); err != nil {
			return 0, err
		}
	}
	n := copy(dst, t.out)
	t.out = t.out[n:]
	if len(t.out) == 0 {
		t.out = nil
	}
	t.broadcastLocked()
	return n, nil
}

// writeMaster implements a master write: input typed at the terminal.
func (t *Terminal) writeMaster(src []byte, nonblock bool) (int, error) {
	t.mu.Lock()
	done := 0
	var sigs []int
	for done < len(src) {
		n, s := t.receiveLocked(src[done:])
		done += n
		sigs = append(sigs, s...)
		if done == len(src) {
			break
		}
		// Raw input is full: wait for the replica to read.
		if nonblock {
			break
		}
		if err := t.waitLocked(); err != nil {
			if done == 0 {
				t.mu.Unlock()
				return 0, err
			}
			break
		}
	}
	t.broadcastLocked()
	fg := t.fg
	t.mu.Unlock()
	if fg > 0 && t.jc != nil {
		for _, s := range sigs {
			t.jc.SignalGroup(fg, s)
		}
	}
	if done == 0 && len(src) > 0 && nonblock {
		return 0, unix.EAGAIN
	}
	return done, nil
}
