package proto

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func seqpacketPair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	a, err := NewConn(fds[0])
	require.NoError(t, err)
	b, err := NewConn(fds[1])
	require.NoError(t, err)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// openFDs counts this process's open FDs.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

func TestConnFDPassing(t *testing.T) {
	a, b := seqpacketPair(t)
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	defer unix.Close(p[0])

	require.NoError(t, a.Send([]byte("hello"), []int{p[1]}))
	unix.Close(p[1])
	buf := make([]byte, MaxMessage)
	msg, fds, err := b.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(msg))
	require.Len(t, fds, 1)
	flags, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.NotZero(t, flags&unix.FD_CLOEXEC, "received FDs are close-on-exec")
	_, err = unix.Write(fds[0], []byte("x"))
	require.NoError(t, err)
	unix.Close(fds[0])
	got := make([]byte, 2)
	n, err := unix.Read(p[0], got)
	require.NoError(t, err)
	assert.Equal(t, "x", string(got[:n]))
}

func TestConnTruncation(t *testing.T) {
	a, b := seqpacketPair(t)
	before := openFDs(t)
	buf := make([]byte, 16)

	// Too long: reported, consumed, and the next message is intact.
	require.NoError(t, a.Send(make([]byte, 100), nil))
	_, _, err := b.Recv(buf)
	assert.Equal(t, unix.EMSGSIZE, err)

	// Too many FDs: reported, and none of them leaks.
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	many := make([]int, 20)
	for i := range many {
		many[i] = p[0]
	}
	require.NoError(t, a.Send([]byte("fds"), many))
	_, _, err = b.Recv(buf)
	assert.Equal(t, unix.ETOOMANYREFS, err)

	// A long message with an FD: the FD is closed.
	require.NoError(t, a.Send(make([]byte, 100), []int{p[0]}))
	_, _, err = b.Recv(buf)
	assert.Equal(t, unix.EMSGSIZE, err)
	unix.Close(p[0])
	unix.Close(p[1])

	require.NoError(t, a.Send([]byte("ok"), nil))
	msg, fds, err := b.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(msg))
	assert.Empty(t, fds)
	assert.Equal(t, before, openFDs(t), "no FD leaked")
}

func TestConnEOFAndShutdown(t *testing.T) {
	a, b := seqpacketPair(t)
	done := make(chan error, 1)
	go func() {
		_, _, err := b.Recv(make([]byte, 64))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, b.Shutdown())
	select {
	case err := <-done:
		assert.Equal(t, io.EOF, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not wake Recv")
	}
	// The peer sees the end too.
	_, _, err := a.Recv(make([]byte, 64))
	assert.Equal(t, io.EOF, err)
	assert.Error(t, a.Send([]byte("x"), nil))
}

func TestNewConnBadFD(t *testing.T) {
	_, err := NewConn(-1)
	assert.Error(t, err)
}

// TestConnHeldReceive checks Recv with SetHold: a message already there or
// arriving within the hold comes through the raw receive, FDs included;
// one arriving after it through the ordinary one; and the peer's close
// still reads as EOF.
func TestConnHeldReceive(t *testing.T) {
	a, b := seqpacketPair(t)
	b.SetHold(50 * time.Millisecond)
	buf := make([]byte, MaxMessage)

	// With nothing to receive the wait ends false: at the hold's end, or
	// earlier when a signal (Go's preemption request) interrupts it.
	assert.False(t, b.waitHeld(), "nothing to receive")

	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	defer unix.Close(p[0])
	require.NoError(t, a.Send([]byte("held"), []int{p[1]}))
	unix.Close(p[1])
	assert.True(t, b.waitHeld(), "a message is waiting")
	msg, fds, err := b.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, "held", string(msg))
	require.Len(t, fds, 1)
	_, err = unix.Write(fds[0], []byte("x"))
	assert.NoError(t, err, "the FD received is the pipe's write end")
	unix.Close(fds[0])

	go func() {
		time.Sleep(120 * time.Millisecond)
		a.Send([]byte("late"), nil)
	}()
	msg, _, err = b.Recv(buf)
	require.NoError(t, err)
	assert.Equal(t, "late", string(msg))

	a.Close()
	_, _, err = b.Recv(buf)
	assert.Equal(t, io.EOF, err)
}
