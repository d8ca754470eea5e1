package boot

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/tty"
	"sbx/fs/vfs"
)

// terminal is the pseudo-terminal `sbx run -t` gives the program: its
// replica is the program's standard streams and controlling terminal; the
// host's standard input is copied into the master and the master's output
// to the host's standard output. A host terminal on standard input is put
// in raw mode meanwhile, so that ^C, ^Z and line editing are the
// sandbox's terminal's business.
type terminal struct {
	master *tty.Master
	// replica is the open replica, one description shared by fds 0-2.
	replica *vfs.FileDescription
	in, out int
	// saved is the host terminal's settings, restored at the end.
	saved *unix.Termios
	// outDone is closed when every byte of output has been copied.
	outDone   chan struct{}
	stopWinch func()
}

// startTerminal makes the terminal and starts copying; stdio are the host
// FDs the terminal stands for.
func startTerminal(v *vfs.VFS, pts *tty.DevPTS, stdio [3]int) (*terminal, error) {
	var ws tty.Winsize
	for _, fd := range []int{stdio[1], stdio[0], stdio[2]} {
		if w, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil {
			ws = tty.Winsize{Row: w.Row, Col: w.Col, Xpixel: w.Xpixel, Ypixel: w.Ypixel}
			break
		}
	}
	m := pts.NewTerminal(ws)
	ns := v.NS
	ctx := &vfs.Context{Creds: &vfs.Creds{}, Root: ns.Root(), Cwd: ns.Root()}
	r, err := v.OpenAt(ctx, ns.Root(), "/dev/pts/"+strconv.Itoa(m.Terminal().Index), unix.O_RDWR|unix.O_NOCTTY, 0, vfs.Resolve{})
	if err != nil {
		m.Release()
		return nil, err
	}
	t := &terminal{master: m, replica: r, in: stdio[0], out: stdio[1], outDone: make(chan struct{})}
	if st, err := unix.IoctlGetTermios(t.in, unix.TCGETS); err == nil {
		raw := *st
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if unix.IoctlSetTermios(t.in, unix.TCSETS, &raw) == nil {
			t.saved = st
		}
	}
	if t.in >= 0 {
		go t.copyIn()
	}
	go t.copyOut()
	t.stopWinch = t.forwardResizes()
	return t, nil
}

// copyIn copies the host's input into the terminal. At the end of a
// non-terminal input it types the end-of-file character, so a program
// reading lines sees the end.
func (t *terminal) copyIn() {
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(t.in, buf)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			if t.saved == nil {
				t.master.Writev([][]byte{{4}})
			}
			return
		}
		if _, err := t.master.Writev([][]byte{buf[:n]}); err != nil {
			return
		}
	}
}

// copyOut copies the terminal's output to the host until every replica is
// closed.
func (t *terminal) copyOut() {
	defer close(t.outDone)
	buf := make([]byte, 32<<10)
	for {
		n, err := t.master.Readv([][]byte{buf})
		if err != nil {
			return
		}
		for b := buf[:n]; len(b) > 0; {
			w, err := unix.Write(t.out, b)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return
			}
			b = b[w:]
		}
	}
}

// forwardResizes passes the host terminal's size changes on (SIGWINCH).
func (t *terminal) forwardResizes() func() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				if w, err := unix.IoctlGetWinsize(t.out, unix.TIOCGWINSZ); err == nil {
					t.master.Terminal().SetWinsize(tty.Winsize{Row: w.Row, Col: w.Col, Xpixel: w.Xpixel, Ypixel: w.Ypixel})
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

// stop waits (briefly) for the last output once the sandbox has ended,
// restores the host terminal and hangs up.
func (t *terminal) stop() {
	select {
	case <-t.outDone:
	case <-time.After(2 * time.Second):
	}
	t.stopWinch()
	if t.saved != nil {
		unix.IoctlSetTermios(t.in, unix.TCSETS, t.saved)
	}
	t.master.Release()
}
