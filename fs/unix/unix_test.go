package unix

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	linux "golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

var me = Creds{PID: 7, UID: 1000, GID: 1000}

func caller() *Caller { return &Caller{Cred: me, PeerCred: me} }

// open gives s a file description, as the syscall layer does.
func open(s *Socket, flags int) *vfs.FileDescription {
	f := vfs.NewFileDescription(s, linux.O_RDWR|flags)
	s.SetDescription(f)
	return f
}

func pair(t *testing.T, typ int) (*Socket, *Socket, func()) {
	ns := NewNamespace()
	a, b := ns.Pair(typ, me, me)
	fa, fb := open(a, 0), open(b, 0)
	return a, b, func() { fa.DecRef(); fb.DecRef() }
}

func send(t *testing.T, s *Socket, data string, o SendOptions) {
	t.Helper()
	n, err := s.Send(caller(), [][]byte{[]byte(data)}, o)
	require.NoError(t, err)
	require.Equal(t, len(data), n)
}

func recv(t *testing.T, s *Socket, n int, flags int) (string, RecvResult) {
	t.Helper()
	buf := make([]byte, n)
	res, err := s.Recv([][]byte{buf}, flags)
	require.NoError(t, err)
	return string(buf[:min(res.N, n)]), res
}

func TestStreamCrossesSegments(t *testing.T) {
	a, b, done := pair(t, Stream)
	defer done()
	send(t, a, "abc", SendOptions{})
	send(t, a, "def", SendOptions{})
	got, _ := recv(t, b, 4, 0)
	assert.Equal(t, "abcd", got)
	got, _ = recv(t, b, 10, linux.MSG_PEEK)
	assert.Equal(t, "ef", got)
	got, _ = recv(t, b, 10, 0)
	assert.Equal(t, "ef", got)
	_, err := b.Recv([][]byte{make([]byte, 1)}, linux.MSG_DONTWAIT)
	assert.Equal(t, linux.EAGAIN, err)
}

func TestDgramBoundariesAndTrunc(t *testing.T) {
	a, b, done := pair(t, Dgram)
	defer done()
	send(t, a, "0123456789", SendOptions{})
	send(t, a, "", SendOptions{})
	got, res := recv(t, b, 4, 0)
	assert.Equal(t, "0123", got)
	assert.Equal(t, linux.MSG_TRUNC, res.MsgFlags&linux.MSG_TRUNC)
	_, res = recv(t, b, 4, 0)
	assert.Equal(t, 0, res.N)
}

func TestCloseGivesEOFAndEPIPE(t *testing.T) {
	ns := NewNamespace()
	a, b := ns.Pair(Stream, me, me)
	fa, fb := open(a, 0), open(b, 0)
	defer fa.DecRef()
	send(t, b, "bye", SendOptions{})
	fb.DecRef()
	got, _ := recv(t, a, 10, 0)
	assert.Equal(t, "bye", got)
	_, res := recv(t, a, 10, 0)
	assert.Equal(t, 0, res.N)
	_, err := a.Send(caller(), [][]byte{[]byte("x")}, SendOptions{})
	assert.Equal(t, linux.EPIPE, err)
	assert.NotZero(t, a.Readiness(vfs.PollHup)&vfs.PollHup)
}

func TestBlockedReaderWakes(t *testing.T) {
	a, b, done := pair(t, Stream)
	defer done()
	var wg sync.WaitGroup
	wg.Add(1)
	var got string
	go func() {
		defer wg.Done()
		buf := make([]byte, 5)
		res, err := b.Recv([][]byte{buf}, linux.MSG_WAITALL)
		if err == nil {
			got = string(buf[:res.N])
		}
	}()
	time.Sleep(10 * time.Millisecond)
	send(t, a, "he", SendOptions{})
	time.Sleep(10 * time.Millisecond)
	send(t, a, "llo", SendOptions{})
	wg.Wait()
	assert.Equal(t, "hello", got)
}

func TestAbstractListenConnectAccept(t *testing.T) {
	ns := NewNamespace()
	srv := ns.New(Stream, me)
	fs := open(srv, 0)
	name := Address("\x00test")
	require.NoError(t, srv.Bind(caller(), name))
	require.NoError(t, srv.Listen(caller(), 1))
	cli := ns.New(Stream, me)
	fc := open(cli, 0)
	defer fc.DecRef()
	require.NoError(t, cli.Connect(caller(), name, false))
	assert.Equal(t, uint32(vfs.PollIn), srv.Readiness(vfs.PollIn))
	acc, err := srv.Accept()
	require.NoError(t, err)
	fa := open(acc, 0)
	defer fa.DecRef()
	send(t, cli, "ping", SendOptions{})
	got, _ := recv(t, acc, 8, 0)
	assert.Equal(t, "ping", got)
	peer, err := cli.PeerName()
	require.NoError(t, err)
	assert.Equal(t, name, peer)
	// The name is taken until the listener goes.
	other := ns.New(Stream, me)
	fo := open(other, 0)
	defer fo.DecRef()
	assert.Equal(t, linux.EADDRINUSE, other.Bind(caller(), name))
	fs.DecRef()
	assert.NoError(t, other.Bind(caller(), name))
}

// countingFile counts its releases.
type countingFile struct {
	vfs.NoIO
	released int
}

func (c *countingFile) Stat() (linux.Stat_t, error) { return linux.Stat_t{}, nil }
func (c *countingFile) Release()                    { c.released++ }

func TestRightsReferences(t *testing.T) {
	a, b, done := pair(t, Dgram)
	cf := &countingFile{}
	f := vfs.NewFileDescription(cf, linux.O_RDONLY)
	send(t, a, "x", SendOptions{FDs: []*vfs.FileDescription{f}})
	send(t, a, "y", SendOptions{FDs: []*vfs.FileDescription{f}})
	f.DecRef() // the queued messages keep it alive
	assert.Equal(t, 0, cf.released)
	_, res := recv(t, b, 1, linux.MSG_PEEK)
	require.Len(t, res.FDs, 1)
	res.FDs[0].DecRef()
	_, res = recv(t, b, 1, 0)
	require.Len(t, res.FDs, 1)
	res.FDs[0].DecRef()
	assert.Equal(t, 0, cf.released)
	done() // the second message dies with the sockets
	assert.Equal(t, 1, cf.released)
}

func TestPasscredAttachesSenderCreds(t *testing.T) {
	a, b, done := pair(t, Stream)
	defer done()
	require.NoError(t, b.SetSockOpt(linux.SO_PASSCRED, []byte{1, 0, 0, 0}, false))
	send(t, a, "c", SendOptions{})
	_, res := recv(t, b, 1, 0)
	require.NotNil(t, res.Creds)
	assert.Equal(t, me, *res.Creds)
}

func TestSendBufferFlowControl(t *testing.T) {
	ns := NewNamespace()
	a, b := ns.Pair(Stream, me, me)
	fa, fb := open(a, linux.O_NONBLOCK), open(b, 0)
	defer fa.DecRef()
	defer fb.DecRef()
	chunk := make([]byte, 8192)
	total := 0
	for {
		n, err := a.Send(caller(), [][]byte{chunk}, SendOptions{})
		if err != nil {
			require.Equal(t, linux.EAGAIN, err)
			break
		}
		total += n
		require.Less(t, total, 1<<24)
	}
	assert.Zero(t, a.Readiness(vfs.PollOut))
	buf := make([]byte, 1<<16)
	for read := 0; read < total; {
		res, err := b.Recv([][]byte{buf}, 0)
		require.NoError(t, err)
		read += res.N
	}
	assert.Equal(t, uint32(vfs.PollOut), a.Readiness(vfs.PollOut))
}

func TestParseAddress(t *testing.T) {
	_, err := ParseAddress([]byte{1, 0})
	assert.Equal(t, linux.EINVAL, err)
	_, err = ParseAddress([]byte{2, 0, 'x'})
	assert.Equal(t, linux.EINVAL, err)
	a, err := ParseAddress([]byte{1, 0, '/', 's', 0, 'j', 'u', 'n', 'k'})
	require.NoError(t, err)
	assert.Equal(t, "/s", a.Path())
	assert.Equal(t, []byte{1, 0, '/', 's', 0}, a.Sockaddr())
	a, err = ParseAddress([]byte{1, 0, 0, 'a', 0})
	require.NoError(t, err)
	assert.True(t, a.IsAbstract())
	assert.Equal(t, Address{0, 'a', 0}, a)
}
