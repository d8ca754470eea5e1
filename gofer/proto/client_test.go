package proto

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fakeServer answers each request with whatever reply(op, req) returns:
// raw message bytes and FDs to attach.
func fakeServer(t *testing.T, reply func(op Op, req Message) ([]byte, []int)) *Client {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	srv, err := NewConn(fds[0])
	require.NoError(t, err)
	c, err := NewClient(fds[1])
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, MaxMessage)
		for {
			msg, _, err := srv.Recv(buf)
			if err != nil {
				return
			}
			op, req, err := DecodeRequest(msg, 0)
			if err != nil {
				return
			}
			b, fds := reply(op, req)
			if srv.Send(b, fds) != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		c.Disconnect()
		wg.Wait()
		srv.Close()
	})
	return c
}

func TestClientRoundTrip(t *testing.T) {
	c := fakeServer(t, func(op Op, req Message) ([]byte, []int) {
		switch r := req.(type) {
		case *WalkReq:
			if r.Name == "missing" {
				b, _ := Marshal(nil, OpError, 0, &ErrorReply{Errno: uint32(unix.ENOENT)})
				return b, nil
			}
			b, _ := Marshal(nil, op|ReplyBit, 0, &WalkReply{ID: r.Dir + 1, Stat: sampleStat(), Target: r.Name + "-target"})
			return b, nil
		}
		b, _ := Marshal(nil, OpError, 0, &ErrorReply{Errno: uint32(unix.ENOSYS)})
		return b, nil
	})
	id, st, err := c.Walk(1, "x")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), id)
	assert.Equal(t, sampleStat(), st)
	_, _, target, err := c.WalkLink(1, "l")
	require.NoError(t, err)
	assert.Equal(t, "l-target", target)
	_, _, err = c.Walk(1, "missing")
	assert.Equal(t, unix.ENOENT, err)
	_, err = c.Stat(1)
	assert.Equal(t, unix.ENOSYS, err)
	// A name over the cap never leaves the client, which stays healthy.
	_, _, err = c.Walk(1, strings.Repeat("a", MaxName+1))
	assert.Equal(t, unix.ENAMETOOLONG, err)
	assert.NoError(t, c.Err())

	// Concurrent callers each get their own reply.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				id, _, err := c.Walk(uint64(g*1000+i), "x")
				assert.NoError(t, err)
				assert.Equal(t, uint64(g*1000+i+1), id)
			}
		}(g)
	}
	wg.Wait()
}

func TestClientFDCountMismatch(t *testing.T) {
	before := openFDs(t)
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	c := fakeServer(t, func(op Op, req Message) ([]byte, []int) {
		switch op {
		case OpStat:
			// A Stat reply must not carry an FD.
			b, _ := Marshal(nil, op|ReplyBit, 0, &StatReply{})
			return b, []int{p[0]}
		}
		// An Open reply without its FD.
		b, _ := Marshal(nil, op|ReplyBit, 0, &EmptyReply{})
		return b, nil
	})
	_, err := c.Stat(1)
	assert.Equal(t, unix.EIO, err)
	assert.Error(t, c.Err(), "a protocol violation breaks the client")
	_, err = c.Open(1, unix.O_RDONLY)
	assert.Equal(t, unix.EIO, err, "a broken client fails every call")
	unix.Close(p[0])
	unix.Close(p[1])
	c.Disconnect()
	assert.Equal(t, before+1, openFDs(t), "only the fake server's socket remains")
}

func TestClientOpenMissingFD(t *testing.T) {
	c := fakeServer(t, func(op Op, req Message) ([]byte, []int) {
		b, _ := Marshal(nil, op|ReplyBit, 0, &EmptyReply{})
		return b, nil
	})
	fd, err := c.Open(1, unix.O_RDONLY)
	assert.Equal(t, unix.EIO, err)
	assert.Equal(t, -1, fd)
}

func TestClientReaddirNoProgress(t *testing.T) {
	c := fakeServer(t, func(op Op, req Message) ([]byte, []int) {
		b, _ := Marshal(nil, op|ReplyBit, 0, &ReaddirReply{Next: 5})
		return b, nil
	})
	_, err := c.Readdir(1)
	assert.Equal(t, unix.EIO, err)
}

func TestClientDisconnectWakesCaller(t *testing.T) {
	block := make(chan struct{})
	c := fakeServer(t, func(op Op, req Message) ([]byte, []int) {
		<-block // never answers until the test ends
		b, _ := Marshal(nil, OpError, 0, &ErrorReply{Errno: uint32(unix.EIO)})
		return b, nil
	})
	defer close(block)
	done := make(chan error, 1)
	go func() {
		_, err := c.Stat(1)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Disconnect()
	select {
	case err := <-done:
		assert.Equal(t, unix.EIO, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Disconnect did not wake the caller")
	}
	_, err := c.Stat(1)
	assert.Equal(t, unix.EIO, err)
}
