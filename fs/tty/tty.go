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
// The line discipline follows Linux's n_tty where the man pages leave
// details open (echo columns and tab rub-out, ALTWERASE, VMIN for poll,
// output stopped by STOP or TCOOFF, hang-ups). Departures from Linux:
// input flow control (TCIOFF/TCION, IXOFF) and the master's own flow
// control are not modelled, nor are ECHOPRT, output delays, packet mode
// (TIOCPKT), PARMRK and the refusal of opens in exclusive mode; input is
// processed at once rather than by a deferred worker.
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
	// column is the cursor's column as output processing counts it, and
	// canonColumn the column the current canonical line started in.
	column, canonColumn int
	// exclusive is the TIOCEXCL flag of the replica [0] and master [1].
	exclusive [2]bool
	// stopped is set while output is stopped, tcoStopped when TCOOFF
	// stopped it; held keeps the echoes made meanwhile.
	stopped, tcoStopped bool
	held                []byte
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
	if !n.iflag(unix.IXON) && !t.tcoStopped {
		t.startLocked()
	}
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

// outputLocked appends application output, translated as OPOST says.
func (t *Terminal) outputLocked(b []byte) {
	if !t.termios.oflag(unix.OPOST) {
		t.out = append(t.out, b...)
		return
	}
	for _, c := range b {
		t.outputCharLocked(c)
	}
}

// outputCharLocked appends one character with output processing (OPOST
// is set): ONLCR, OCRNL, ONOCR, ONLRET, XTABS and OLCUC, keeping the
// column the cursor is in as Linux's do_output_char does (tab erasing
// needs it). Delays (NLDLY, CRDLY, ...) are not modelled.
func (t *Terminal) outputCharLocked(c byte) {
	tm := &t.termios
	switch c {
	case '\n':
		if tm.oflag(unix.ONLRET) {
			t.column = 0
		}
		if tm.oflag(unix.ONLCR) {
			t.canonColumn, t.column = 0, 0
			t.emitLocked('\r', '\n')
			return
		}
		t.canonColumn = t.column
	case '\r':
		if tm.oflag(unix.ONOCR) && t.column == 0 {
			return
		}
		if tm.oflag(unix.OCRNL) {
			c = '\n'
			if tm.oflag(unix.ONLRET) {
				t.canonColumn, t.column = 0, 0
			}
			break
		}
		t.canonColumn, t.column = 0, 0
	case '\t':
		spaces := 8 - t.column&7
		t.column += spaces
		if tm.Oflag&unix.TABDLY == unix.XTABS {
			t.emitLocked([]byte("        ")[:spaces]...)
			return
		}
	case '\b':
		if t.column > 0 {
			t.column--
		}
	default:
		if !isCntrl(c) {
			if tm.oflag(unix.OLCUC) && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			if !t.continuationLocked(c) {
				t.column++
			}
		}
	}
	t.emitLocked(c)
}

// emitLocked queues processed output for the master. While output is
// stopped only echoes are made (writers wait), and they are held back
// until output starts again, as Linux keeps them in its echo buffer.
func (t *Terminal) emitLocked(b ...byte) {
	if t.stopped {
		t.held = append(t.held, b...)
		return
	}
	t.out = append(t.out, b...)
}

// stopLocked and startLocked stop and restart output (IXON's STOP and
// START characters, TCOOFF and TCOON; see termios(3)). Output stopped by
// TCOOFF is restarted by TCOON only.
func (t *Terminal) stopLocked() { t.stopped = true }

func (t *Terminal) startLocked() {
	if !t.stopped || t.tcoStopped {
		return
	}
	t.stopped = false
	t.out = append(t.out, t.held...)
	t.held = nil
	t.broadcastLocked()
}

// isCntrl is the kernel's iscntrl: the C0 controls and DEL.
func isCntrl(c byte) bool { return c < 0x20 || c == 0x7f }

// isAlnum is the kernel's isalnum (ASCII, and the Latin-1 letters of its
// ctype table).
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c >= 0xc0 && c != 0xd7 && c != 0xf7
}

// continuationLocked reports a UTF-8 continuation byte under IUTF8: it
// takes no column of its own and is erased with its character.
func (t *Terminal) continuationLocked(c byte) bool {
	return t.termios.iflag(unix.IUTF8) && c&0xc0 == 0x80
}

// echoRawLocked echoes c as it is (with output processing), as Linux's
// echo_char_raw.
func (t *Terminal) echoRawLocked(c byte) {
	if t.termios.oflag(unix.OPOST) {
		t.outputCharLocked(c)
	} else {
		t.emitLocked(c)
	}
}

// echoCharLocked echoes c, a control character as ^X under ECHOCTL (tab
// excepted), as Linux's echo_char. ECHO is on.
func (t *Terminal) echoCharLocked(c byte) {
	if t.termios.lflag(unix.ECHOCTL) && isCntrl(c) && c != '\t' {
		t.emitLocked('^', c^0x40)
		t.column += 2
		return
	}
	t.echoRawLocked(c)
}

// echoInputLocked echoes a character added to the input: a newline raw
// (ECHONL echoes it alone in canonical mode), anything else as
// echoCharLocked; the first character of a canonical line records the
// column the line starts in.
func (t *Terminal) echoInputLocked(c byte, literal bool) {
	tm := &t.termios
	if !tm.lflag(unix.ECHO) {
		if c == '\n' && !literal && tm.lflag(unix.ECHONL) && tm.lflag(unix.ICANON) {
			t.echoRawLocked('\n')
		}
		return
	}
	if c == '\n' && !literal {
		t.echoRawLocked('\n')
		return
	}
	if tm.lflag(unix.ICANON) && len(t.line) == 0 {
		t.canonColumn = t.column
	}
	t.echoCharLocked(c)
}

// Kinds of erasing, as Linux's eraser.
const (
	eraseChar = iota
	eraseWord
	eraseLine
)

// eraseLocked implements VERASE, VWERASE and VKILL on the canonical line
// (Linux's eraser): a word ends at a non-alphanumeric character once
// alphanumerics were seen (BSD's ALTWERASE); with ECHO the erased
// characters are rubbed out on the screen ("\b \b", twice for a ^X echo,
// none for a control character echoed raw, back to the right column for a
// tab), or without ECHOE the erase character is echoed. A kill without
// ECHOK, ECHOKE and ECHOE all set echoes the kill character (and a newline
// with ECHOK) instead. ECHOPRT is not modelled.
func (t *Terminal) eraseLocked(kind int, c byte) {
	tm := &t.termios
	if len(t.line) == 0 {
		return
	}
	echo := tm.lflag(unix.ECHO)
	if kind == eraseLine {
		if !echo {
			t.line = nil
			return
		}
		if !tm.lflag(unix.ECHOK) || !tm.lflag(unix.ECHOKE) || !tm.lflag(unix.ECHOE) {
			t.line = nil
			t.echoCharLocked(c)
			if tm.lflag(unix.ECHOK) {
				t.echoRawLocked('\n')
			}
			return
		}
	}
	seenAlnum := false
	for len(t.line) > 0 {
		// One character: a UTF-8 sequence under IUTF8.
		i := len(t.line) - 1
		for i > 0 && t.continuationLocked(t.line[i]) {
			i--
		}
		ch := t.line[i]
		if t.continuationLocked(ch) {
			break // never erase part of a character
		}
		if kind == eraseWord {
			if isAlnum(ch) || ch == '_' {
				seenAlnum = true
			} else if seenAlnum {
				break
			}
		}
		t.line = t.line[:i]
		if echo {
			switch {
			case kind == eraseChar && !tm.lflag(unix.ECHOE):
				t.echoCharLocked(tm.Cc[vERASE])
			case ch == '\t':
				t.rubOutTabLocked()
			default:
				ctl := isCntrl(ch)
				if ctl && tm.lflag(unix.ECHOCTL) {
					t.echoRubOutLocked()
				}
				if !ctl || tm.lflag(unix.ECHOCTL) {
					t.echoRubOutLocked()
				}
			}
		}
		if kind == eraseChar {
			break
		}
	}
}

func (t *Terminal) echoRubOutLocked() {
	t.echoRawLocked('\b')
	t.echoRawLocked(' ')
	t.echoRawLocked('\b')
}

// rubOutTabLocked moves the cursor back over an erased tab: the columns
// the characters after the previous tab (or since the line's start
// column) take decide where the tab had taken it from.
func (t *Terminal) rubOutTabLocked() {
	n, afterTab := 0, false
	for i := len(t.line) - 1; i >= 0; i-- {
		c := t.line[i]
		if c == '\t' {
			afterTab = true
			break
		}
		switch {
		case isCntrl(c):
			if t.termios.lflag(unix.ECHOCTL) {
				n += 2
			}
		case !t.continuationLocked(c):
			n++
		}
	}
	if !afterTab {
		n += t.canonColumn
	}
	for range 8 - n&7 {
		t.emitLocked('\b')
		if t.column > 0 {
			t.column--
		}
	}
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
		// Output flow control comes first (Linux's
		// n_tty_receive_char_flow_ctrl), before CR translation.
		if tm.iflag(unix.IXON) {
			if tm.isCC(c, vSTART) {
				t.startLocked()
				continue
			}
			if tm.isCC(c, vSTOP) {
				t.stopLocked()
				continue
			}
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
				if tm.iflag(unix.IXON) {
					t.startLocked()
				}
				if tm.lflag(unix.ECHO) {
					t.echoCharLocked(c)
				}
				sigs = append(sigs, sig)
				continue
			}
		}
		// IXANY: any other character restarts output stopped by STOP.
		if tm.iflag(unix.IXON) && tm.iflag(unix.IXANY) {
			t.startLocked()
		}
		if tm.lflag(unix.ICANON) && tm.lflag(unix.IEXTEN) && tm.isCC(c, vLNEXT) {
			t.lnext = true
			if tm.lflag(unix.ECHO) && tm.lflag(unix.ECHOCTL) {
				t.echoRawLocked('^')
				t.echoRawLocked('\b')
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
		t.echoInputLocked(c, literal)
		t.broadcastLocked()
		return
	}
	if !literal {
		switch {
		case tm.isCC(c, vERASE):
			t.eraseLocked(eraseChar, c)
			return
		case tm.isCC(c, vKILL):
			t.eraseLocked(eraseLine, c)
			return
		case tm.isCC(c, vWERASE) && tm.lflag(unix.IEXTEN):
			t.eraseLocked(eraseWord, c)
			return
		case tm.isCC(c, vREPRINT) && tm.lflag(unix.ECHO) && tm.lflag(unix.IEXTEN):
			t.echoCharLocked(c)
			t.echoRawLocked('\n')
			for _, x := range t.line {
				t.echoCharLocked(x)
			}
			return
		case c == '\n':
			t.echoInputLocked(c, false)
			t.line = append(t.line, c)
			t.finishLineLocked()
			return
		case tm.isCC(c, vEOF):
			t.finishLineLocked()
			return
		case tm.isCC(c, vEOL) || tm.isCC(c, vEOL2) && tm.lflag(unix.IEXTEN):
			t.echoInputLocked(c, true)
			t.line = append(t.line, c)
			t.finishLineLocked()
			return
		}
	}
	if len(t.line) >= maxCanonLine {
		return // the line is full: Linux drops the character too
	}
	t.echoInputLocked(c, literal)
	t.line = append(t.line, c)
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
		if len(t.out) >= maxOutput || t.stopped {
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
