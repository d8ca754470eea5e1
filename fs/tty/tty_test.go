package tty

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fakeJC records what a terminal asks of the kernel.
type fakeJC struct {
	mu      sync.Mutex // guards sigs and hangups
	sigs    []sentSig
	hangups int
}

type sentSig struct{ pgid, sig int }

func (f *fakeJC) SignalGroup(pgid, sig int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sigs = append(f.sigs, sentSig{pgid, sig})
}

func (f *fakeJC) BackgroundCheck(*Terminal, int) error { return nil }

func (f *fakeJC) Hangup(*Terminal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hangups++
}

func (f *fakeJC) sent() []sentSig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentSig(nil), f.sigs...)
}

// newPair returns an unlocked terminal's master and an open replica.
func newPair(t *testing.T) (*fakeJC, *Master, *Replica) {
	t.Helper()
	jc := &fakeJC{}
	d := NewDevPTS(jc)
	impl, err := d.OpenMaster(unix.O_RDWR)
	require.NoError(t, err)
	m := impl.(*Master)
	m.t.locked = false
	rimpl, err := m.t.OpenReplica()
	require.NoError(t, err)
	return jc, m, rimpl.(*Replica)
}

func typeIn(t *testing.T, m *Master, s string) {
	t.Helper()
	n, err := m.Writev([][]byte{[]byte(s)})
	require.NoError(t, err)
	require.Equal(t, len(s), n)
}

func readReplica(t *testing.T, r *Replica, size int) string {
	t.Helper()
	b := make([]byte, size)
	n, err := r.Readv([][]byte{b})
	require.NoError(t, err)
	return string(b[:n])
}

// output takes everything the master can read now.
func output(m *Master) string {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	s := string(m.t.out)
	m.t.out = nil
	return s
}

func setTermios(m *Master, f func(*Termios)) {
	t := m.t
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.termios
	f(&n)
	t.setTermiosLocked(n)
}

func TestCanonicalLinesOnePerRead(t *testing.T) {
	_, m, r := newPair(t)
	typeIn(t, m, "ab")
	require.Zero(t, r.Readiness(unix.POLLIN))
	typeIn(t, m, "c\ndef\n")
	require.NotZero(t, r.Readiness(unix.POLLIN))
	require.Equal(t, "abc\n", readReplica(t, r, 100))
	require.Equal(t, "de", readReplica(t, r, 2))
	require.Equal(t, "f\n", readReplica(t, r, 100))
	require.Equal(t, "abc\r\ndef\r\n", output(m))
}

func TestCanonicalEditing(t *testing.T) {
	_, m, r := newPair(t)
	for _, c := range []struct{ in, line, echo string }{
		{"abx\x7f\n", "ab\n", "abx\b \b\r\n"},
		{"xyz\x15q\n", "q\n", "xyz\b \b\b \b\b \bq\r\n"},
		{"foo bar\x17z\n", "foo z\n", "foo bar\b \b\b \b\b \bz\r\n"},
		{"a.b_c\x17\n", "a.\n", "a.b_c\b \b\b \b\b \b\r\n"},
		{"\x01\x7f\n", "\n", "^A\b \b\b \b\r\n"},
		{"a\x16\x7f\n", "a\x7f\n", "a^\b^?\r\n"},
		{"ab\x04", "ab", "ab"},
		{"\x04", "", ""},
	} {
		typeIn(t, m, c.in)
		require.Equal(t, c.line, readReplica(t, r, 100), "input %q", c.in)
		require.Equal(t, c.echo, output(m), "echo of %q", c.in)
	}
}

func TestTabRubOutUsesColumns(t *testing.T) {
	_, m, r := newPair(t)
	_, err := r.Writev([][]byte{[]byte("ab> ")})
	require.NoError(t, err)
	require.Equal(t, "ab> ", output(m))
	// The line starts in column 4: "x" ends in 5, the tab in 8; erasing
	// it goes back three columns. After a previous tab, the count starts
	// there.
	typeIn(t, m, "x\t\x7f")
	require.Equal(t, "x\t\b\b\b", output(m))
	typeIn(t, m, "\tabc\t\x7f")
	require.Equal(t, "\tabc\t\b\b\b\b\b", output(m))
}

func TestOutputProcessing(t *testing.T) {
	_, m, r := newPair(t)
	write := func(s string) string {
		_, err := r.Writev([][]byte{[]byte(s)})
		require.NoError(t, err)
		return output(m)
	}
	require.Equal(t, "a\r\n", write("a\n"))
	setTermios(m, func(tm *Termios) { tm.Oflag |= unix.XTABS | unix.ONOCR })
	require.Equal(t, "a       b\r\n", write("a\tb\n"))
	require.Equal(t, "x\r", write("\rx\r"))
	setTermios(m, func(tm *Termios) { tm.Oflag &^= unix.OPOST })
	require.Equal(t, "\r\t\n", write("\r\t\n"))
}

func TestSignalCharacters(t *testing.T) {
	jc, m, r := newPair(t)
	m.t.SetSession(7, 9)
	typeIn(t, m, "junk\nmore\x03after\n")
	require.Equal(t, []sentSig{{9, int(unix.SIGINT)}}, jc.sent())
	require.Equal(t, "after\n", readReplica(t, r, 100))
	typeIn(t, m, "\x1c\x1a")
	require.Equal(t, []sentSig{{9, int(unix.SIGINT)}, {9, int(unix.SIGQUIT)}, {9, int(unix.SIGTSTP)}}, jc.sent())
	// ISIG off: the characters are input.
	setTermios(m, func(tm *Termios) { tm.Lflag &^= unix.ISIG })
	typeIn(t, m, "\x03\n")
	require.Equal(t, "\x03\n", readReplica(t, r, 100))
	require.Len(t, jc.sent(), 3)
}

func TestWinsizeSignalsOnChangeOnly(t *testing.T) {
	jc, m, _ := newPair(t)
	m.t.SetSession(7, 9)
	m.t.SetWinsize(Winsize{Row: 24, Col: 80})
	m.t.SetWinsize(Winsize{Row: 24, Col: 80})
	require.Equal(t, []sentSig{{9, int(unix.SIGWINCH)}}, jc.sent())
}

func TestNonCanonicalVMinVTime(t *testing.T) {
	_, m, r := newPair(t)
	setTermios(m, func(tm *Termios) {
		tm.Lflag &^= unix.ICANON | unix.ECHO
		tm.Cc[vMIN], tm.Cc[vTIME] = 0, 0
	})
	require.Equal(t, "", readReplica(t, r, 10))

	// VMIN 0, VTIME 1: 0.1 s overall.
	setTermios(m, func(tm *Termios) { tm.Cc[vTIME] = 1 })
	start := time.Now()
	require.Equal(t, "", readReplica(t, r, 10))
	require.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond)

	// VMIN 3, VTIME 0: poll and read wait for three bytes.
	setTermios(m, func(tm *Termios) { tm.Cc[vMIN], tm.Cc[vTIME] = 3, 0 })
	typeIn(t, m, "ab")
	require.Zero(t, r.Readiness(unix.POLLIN))
	done := make(chan string)
	go func() {
		b := make([]byte, 10)
		n, _ := r.Readv([][]byte{b})
		done <- string(b[:n])
	}()
	select {
	case s := <-done:
		t.Fatalf("read returned %q before VMIN bytes came", s)
	case <-time.After(50 * time.Millisecond):
	}
	typeIn(t, m, "c")
	require.Equal(t, "abc", <-done)
}

func TestConcurrentLines(t *testing.T) {
	_, m, r := newPair(t)
	setTermios(m, func(tm *Termios) { tm.Lflag &^= unix.ECHO })
	const lines = 200
	go func() {
		for range lines {
			typeIn(t, m, "line\n")
		}
	}()
	for range lines {
		require.Equal(t, "line\n", readReplica(t, r, 100))
	}
}

func TestMasterCloseHangsUp(t *testing.T) {
	jc, m, r := newPair(t)
	typeIn(t, m, "left\n")
	m.Release()
	require.Equal(t, 1, jc.hangups)
	require.True(t, m.t.HungUp())
	// A hung-up replica reads end of file even with input left, and
	// cannot write.
	require.Equal(t, "", readReplica(t, r, 100))
	_, err := r.Writev([][]byte{[]byte("x")})
	require.Equal(t, unix.EIO, err)
	require.NotZero(t, r.Readiness(unix.POLLHUP)&unix.POLLHUP)
	_, err = m.t.OpenReplica()
	require.Equal(t, unix.EIO, err)
}

func TestReplicaCloseGivesMasterEIO(t *testing.T) {
	_, m, r := newPair(t)
	_, err := r.Writev([][]byte{[]byte("bye")})
	require.NoError(t, err)
	r.Release()
	b := make([]byte, 10)
	n, err := m.Readv([][]byte{b})
	require.NoError(t, err)
	require.Equal(t, "bye", string(b[:n]))
	_, err = m.Readv([][]byte{b})
	require.Equal(t, unix.EIO, err)
	require.NotZero(t, m.Readiness(unix.POLLHUP)&unix.POLLHUP)
}

func TestStopStartOutput(t *testing.T) {
	_, m, r := newPair(t)
	typeIn(t, m, "\x13ab")
	require.Zero(t, r.Readiness(unix.POLLOUT))
	require.Equal(t, "", output(m)) // echoes are held
	done := make(chan error)
	go func() {
		_, err := r.Writev([][]byte{[]byte("late")})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("write returned %v while output was stopped", err)
	case <-time.After(50 * time.Millisecond):
	}
	typeIn(t, m, "\x11")
	require.NoError(t, <-done)
	require.Equal(t, "ablate", output(m))
	require.NotZero(t, r.Readiness(unix.POLLOUT))
}
