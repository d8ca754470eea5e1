package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostPTY is a host pseudo-terminal the test types into, standing for the
// user's terminal (the tmux of the check).
type hostPTY struct {
	master  *os.File
	replica *os.File

	mu  sync.Mutex // guards out
	out bytes.Buffer
}

func openHostPTY(t *testing.T, rows, cols uint16) *hostPTY {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	r, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the replica: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(r.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("setting the window size: %v", err)
	}
	p := &hostPTY{master: m, replica: r}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { m.Close(); r.Close() })
	return p
}

// start runs a command with the terminal as its controlling terminal and
// standard streams.
func (p *hostPTY) start(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.replica, p.replica, p.replica
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func (p *hostPTY) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the output holds want count times.
func (p *hostPTY) waitFor(t *testing.T, want string, count int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Count(p.output(), want) >= count {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %d× %q on the terminal after %v; it shows:\n%q", count, want, d, p.output())
}

func (p *hostPTY) typeIn(t *testing.T, s string) {
	t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		t.Fatalf("typing %q: %v", s, err)
	}
}

// TestTerminalBash is the interactive check: under `sbx run -t`,
// bash on a terminal echoes, ^C interrupts a foreground sleep (and only
// it), and exit returns with bash's status.
func TestTerminalBash(t *testing.T) {
	p := openHostPTY(t, 40, 100)
	cmd := p.start(t, sbxPath(t), "run", "-t", "-e", "PS1=$ ", "-e", "TERM=dumb", "/bin/bash", "--norc", "-i")
	p.waitFor(t, "$ ", 1, 30*time.Second)
	p.typeIn(t, "echo hi\r")
	p.waitFor(t, "\r\nhi\r\n$ ", 1, 10*time.Second)
	p.typeIn(t, "tty; stty size\r")
	p.waitFor(t, "/dev/pts/0\r\n40 100\r\n$ ", 1, 10*time.Second)
	p.typeIn(t, "sleep 100\r")
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	p.typeIn(t, "\x03")
	p.waitFor(t, "$ ", 4, 10*time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("^C took %v to end sleep", d)
	}
	p.typeIn(t, "echo status=$?\r")
	p.waitFor(t, "status=130", 1, 10*time.Second)
	p.typeIn(t, "exit 7\r")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err == nil || !asExitError(err, &ee) || ee.ExitCode() != 7 {
			t.Fatalf("sbx ended with %v, want exit status 7; terminal:\n%q", err, p.output())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("sbx did not end after exit; terminal:\n%q", p.output())
	}
	// The host terminal is back in its own mode: canonical with echo.
	tm, err := unix.IoctlGetTermios(int(p.replica.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tm.Lflag&(unix.ICANON|unix.ECHO) != unix.ICANON|unix.ECHO {
		t.Errorf("host terminal left with lflag %#x, want ICANON|ECHO restored", tm.Lflag)
	}
}

func asExitError(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// TestTerminalLineDiscipline checks canonical editing and EOF on the
// sandbox's terminal against the same input typed at a native cat.
func TestTerminalLineDiscipline(t *testing.T) {
	// "abd<DEL>c\r" is read as "abc\n"; ^U kills "zzz"; ^D on an empty
	// line is end of file.
	input := "abd\x7fc\rzzz\x15ok\r\x04"
	outputs := map[string]string{}
	for _, mode := range []string{"native", "sbx"} {
		p := openHostPTY(t, 24, 80)
		var cmd *exec.Cmd
		if mode == "native" {
			cmd = p.start(t, "/bin/cat")
		} else {
			cmd = p.start(t, sbxPath(t), "run", "-t", "/bin/cat")
		}
		time.Sleep(time.Second)
		if mode == "sbx" {
			// Wait until cat has set up: the sandbox's terminal is
			// ready once the program runs.
			time.Sleep(2 * time.Second)
		}
		p.typeIn(t, input)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s cat: %v; terminal:\n%q", mode, err, p.output())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s cat did not end at ^D; terminal:\n%q", mode, p.output())
		}
		time.Sleep(200 * time.Millisecond)
		outputs[mode] = p.output()
	}
	if outputs["native"] != outputs["sbx"] {
		t.Errorf("terminal shows %q under sbx, %q natively", outputs["sbx"], outputs["native"])
	}
	if !strings.Contains(outputs["sbx"], "abc\r\n") || !strings.Contains(outputs["sbx"], "ok\r\n") {
		t.Errorf("sbx terminal %q lacks the edited lines", outputs["sbx"])
	}
}
