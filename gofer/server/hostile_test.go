package server_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/gofer/proto"
)

// oneOf asserts that err is one of the errnos.
func oneOf(t *testing.T, err error, want []unix.Errno, msg string) {
	t.Helper()
	for _, w := range want {
		if errnoOf(err) == w {
			return
		}
	}
	t.Errorf("%s: got %v, want one of %v", msg, err, want)
}

func TestBadNames(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	h := e.walk(root, "hello")
	bad := []string{"", ".", "..", "a/b", "/etc", "/", "sub/inner", "../hello", "a\x00b", "\x00", "hello\x00"}
	for _, name := range bad {
		errs := map[string]error{}
		_, _, errs["walk"] = e.c.Walk(root, name)
		_, _, _, errs["create"] = e.c.Create(root, name, unix.O_RDWR, 0600, 0, 0)
		_, _, errs["mkdir"] = e.c.Mkdir(root, name, 0700, 0, 0)
		_, _, errs["mknod"] = e.c.Mknod(root, name, 0600, 0, 0)
		_, _, errs["symlink"] = e.c.Symlink(root, name, "x", 0, 0)
		_, errs["link"] = e.c.Link(root, name, h)
		errs["unlink"] = e.c.Unlink(root, name, false)
		errs["rmdir"] = e.c.Unlink(root, name, true)
		errs["rename from"] = e.c.Rename(root, name, root, "x", 0)
		errs["rename to"] = e.c.Rename(root, "hello", root, name, 0)
		for op, err := range errs {
			assert.Equal(t, unix.EINVAL, err, "%s %q", op, name)
		}
	}
	long := strings.Repeat("n", proto.MaxName+1)
	_, _, err := e.c.Walk(root, long)
	assert.Equal(t, unix.ENAMETOOLONG, err)
	_, _, err = e.c.Mkdir(root, long, 0700, 0, 0)
	assert.Equal(t, unix.ENAMETOOLONG, err)

	// Nothing was created or removed anywhere.
	assert.Equal(t, "hello world\n", read(t, filepath.Join(e.root, "hello")))
	assert.Equal(t, "inner\n", read(t, filepath.Join(e.root, "sub", "inner")))
	ents, err := os.ReadDir(e.root)
	require.NoError(t, err)
	assert.Len(t, ents, 5)
	ents, err = os.ReadDir(e.base)
	require.NoError(t, err)
	assert.Len(t, ents, 4)
}

func TestAbsoluteSymlinkToEtc(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	for _, c := range []struct{ name, target string }{{"etc", "/etc"}, {"up", "../../../../../../../../etc"}} {
		l, st, err := e.c.Walk(root, c.name)
		require.NoError(t, err)
		assert.Equal(t, uint32(unix.S_IFLNK), st.Mode&unix.S_IFMT, "Walk gives the link, not /etc")
		etc := hostStat(t, "/etc")
		assert.NotEqual(t, uint64(etc.Ino), st.Ino)
		target, err := e.c.Readlink(l)
		require.NoError(t, err)
		assert.Equal(t, c.target, target)

		for _, fl := range []uint32{unix.O_RDONLY, unix.O_RDONLY | unix.O_DIRECTORY, unix.O_WRONLY} {
			_, err = e.c.Open(l, fl)
			assert.Equal(t, unix.ELOOP, err, "open %s %#x", c.name, fl)
		}
		// Walk is one component and a symlink is not a directory: there
		// is no way through it.
		_, _, err = e.c.Walk(l, "passwd")
		assert.Equal(t, unix.ENOTDIR, err)
		_, err = e.c.Readdir(l)
		assert.Equal(t, unix.ENOTDIR, err)
		_, _, _, err = e.c.Create(l, "planted", unix.O_RDWR, 0600, 0, 0)
		assert.Equal(t, unix.ENOTDIR, err)
		_, _, err = e.c.Mkdir(l, "planted", 0700, 0, 0)
		assert.Equal(t, unix.ENOTDIR, err)
		assert.Equal(t, unix.ENOTDIR, e.c.Unlink(l, "passwd", false))
		_, err = e.c.SetAttr(l, proto.SetAttr{Mask: proto.SetAttrSize})
		assert.Equal(t, unix.EINVAL, err)
	}
	assert.NoFileExists(t, "/etc/planted")
}

func TestSymlinkSwappedBeforeOpen(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	victim := filepath.Join(e.root, "victim")
	write(t, victim, "v")
	h := e.walk(root, "victim")
	passwd := hostStat(t, "/etc/passwd")

	require.NoError(t, os.Remove(victim))
	require.NoError(t, os.Symlink("/etc/passwd", victim))
	for _, fl := range []uint32{unix.O_RDONLY, unix.O_WRONLY | unix.O_TRUNC, unix.O_RDWR} {
		_, err := e.c.Open(h, fl)
		oneOf(t, err, []unix.Errno{unix.ELOOP, unix.ESTALE}, fmt.Sprintf("open %#x", fl))
	}
	_, err := e.c.SetAttr(h, proto.SetAttr{Mask: proto.SetAttrSize})
	oneOf(t, err, []unix.Errno{unix.ELOOP, unix.ESTALE}, "truncate")
	_, err = e.c.SetAttr(h, proto.SetAttr{Mask: proto.SetAttrMode, Mode: 0777})
	oneOf(t, err, []unix.Errno{unix.ELOOP, unix.ESTALE}, "chmod")
	after := hostStat(t, "/etc/passwd")
	assert.Equal(t, passwd.Size, after.Size)
	assert.Equal(t, passwd.Mode, after.Mode)

	// Another regular file swapped in: refused by identity.
	write(t, filepath.Join(e.root, "v2"), "mine")
	h2 := e.walk(root, "v2")
	write(t, filepath.Join(e.root, "tmp"), "not mine")
	require.NoError(t, os.Rename(filepath.Join(e.root, "tmp"), filepath.Join(e.root, "v2")))
	_, err = e.c.Open(h2, unix.O_RDWR|unix.O_TRUNC)
	assert.Equal(t, unix.ESTALE, err)
	assert.Equal(t, "not mine", read(t, filepath.Join(e.root, "v2")), "no truncation of the wrong file")

	// An intermediate directory swapped for a symlink.
	sub := e.walk(root, "sub")
	inner := e.walk(sub, "inner")
	require.NoError(t, os.Rename(filepath.Join(e.root, "sub"), filepath.Join(e.root, "sub.old")))
	require.NoError(t, os.Symlink("/etc", filepath.Join(e.root, "sub")))
	_, err = e.c.Open(inner, unix.O_RDONLY)
	oneOf(t, err, []unix.Errno{unix.ELOOP, unix.ESTALE}, "open below swapped dir")
	_, _, err = e.c.Walk(sub, "passwd")
	oneOf(t, err, []unix.Errno{unix.ELOOP, unix.ESTALE, unix.ENOTDIR}, "walk in swapped dir")
	_, _, err = e.c.Walk(sub, "inner")
	oneOf(t, err, []unix.Errno{unix.ELOOP, unix.ESTALE, unix.ENOTDIR}, "walk in swapped dir")
}

func TestFIFOSwappedBeforeOpen(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	path := filepath.Join(e.root, "f")
	write(t, path, "f")
	h := e.walk(root, "f")
	require.NoError(t, os.Remove(path))
	require.NoError(t, unix.Mkfifo(path, 0666))

	done := make(chan [2]error, 1)
	go func() {
		_, err1 := e.c.Open(h, unix.O_RDONLY)
		_, err2 := e.c.Open(h, unix.O_WRONLY)
		done <- [2]error{err1, err2}
	}()
	select {
	case errs := <-done:
		assert.Equal(t, unix.ESTALE, errs[0])
		oneOf(t, errs[1], []unix.Errno{unix.ESTALE, unix.ENXIO}, "write open")
	case <-time.After(10 * time.Second):
		t.Fatal("the gofer blocked opening a FIFO")
	}

	// Walked as what it is, it is refused outright.
	fifo := e.walk(root, "f")
	_, err := e.c.Open(fifo, unix.O_RDONLY)
	assert.Equal(t, unix.ENXIO, err)
	_, _, _, err = e.c.Create(root, "f", unix.O_RDONLY, 0600, 0, 0)
	assert.Equal(t, unix.ENXIO, err)
}

func TestDirRenamedOutOfRoot(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	require.NoError(t, os.Mkdir(filepath.Join(e.root, "moving"), 0755))
	write(t, filepath.Join(e.root, "moving", "secret"), "secret")
	m := e.walk(root, "moving")
	s := e.walk(m, "secret")

	outside := filepath.Join(e.base, "outside", "moving")
	require.NoError(t, os.Rename(filepath.Join(e.root, "moving"), outside))
	gone := []unix.Errno{unix.ENOENT, unix.ESTALE}

	_, _, err := e.c.Walk(m, "secret")
	oneOf(t, err, gone, "walk in a directory now outside the root")
	_, err = e.c.Open(s, unix.O_RDONLY)
	oneOf(t, err, gone, "open of a file now outside the root")
	_, err = e.c.Open(m, unix.O_RDONLY)
	oneOf(t, err, gone, "open of the directory")
	_, err = e.c.Readdir(m)
	oneOf(t, err, gone, "readdir")
	_, _, _, err = e.c.Create(m, "planted", unix.O_RDWR, 0600, 0, 0)
	oneOf(t, err, gone, "create")
	_, _, err = e.c.Mkdir(m, "planted-dir", 0700, 0, 0)
	oneOf(t, err, gone, "mkdir")
	_, _, err = e.c.Symlink(m, "planted-link", "/", 0, 0)
	oneOf(t, err, gone, "symlink")
	oneOf(t, e.c.Unlink(m, "secret", false), gone, "unlink")
	oneOf(t, e.c.Rename(m, "secret", root, "stolen", 0), gone, "rename out")
	oneOf(t, e.c.Rename(root, "hello", m, "dropped", 0), gone, "rename in")
	_, err = e.c.Link(root, "stolen-link", s)
	oneOf(t, err, gone, "link")
	_, err = e.c.SetAttr(s, proto.SetAttr{Mask: proto.SetAttrMode, Mode: 0777})
	oneOf(t, err, gone, "chmod")
	_, err = e.c.SetAttr(s, proto.SetAttr{Mask: proto.SetAttrSize})
	oneOf(t, err, gone, "truncate")

	ents, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Len(t, ents, 1, "nothing created outside the root")
	assert.Equal(t, "secret", read(t, filepath.Join(outside, "secret")))
	assert.Equal(t, uint32(0644), hostStat(t, filepath.Join(outside, "secret")).Mode&07777)
	assert.NoFileExists(t, filepath.Join(e.root, "stolen"))
	assert.FileExists(t, filepath.Join(e.root, "hello"))

	// A new directory of the same name is not the old handle's.
	require.NoError(t, os.Mkdir(filepath.Join(e.root, "moving"), 0755))
	_, _, err = e.c.Walk(m, "x")
	assert.Equal(t, unix.ESTALE, err)
}

// rawConn is a connection driven by hand, to send what no Client would.
type rawConn struct {
	t    *testing.T
	conn *proto.Conn
	buf  []byte
}

func (e *env) raw() *rawConn {
	conn, err := proto.NewConn(e.serve())
	require.NoError(e.t, err)
	e.t.Cleanup(func() { conn.Shutdown(); conn.Close() })
	return &rawConn{t: e.t, conn: conn, buf: make([]byte, proto.MaxMessage)}
}

// call sends b with fds and returns the reply's header and errno (0 if it
// is a success reply).
func (r *rawConn) call(b []byte, fds ...int) (proto.Header, unix.Errno) {
	r.t.Helper()
	require.NoError(r.t, r.conn.Send(b, fds))
	msg, got, err := r.conn.Recv(r.buf)
	require.NoError(r.t, err)
	require.Empty(r.t, got)
	h, payload, err := proto.ParseHeader(msg)
	require.NoError(r.t, err)
	if h.Op == proto.OpError {
		require.Len(r.t, payload, 4)
		return h, unix.Errno(binary.LittleEndian.Uint32(payload))
	}
	return h, 0
}

func marshal(t *testing.T, op proto.Op, m proto.Message) []byte {
	b, err := proto.Marshal(nil, op, 0, m)
	require.NoError(t, err)
	return b
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t)
	r := e.raw()
	attach := marshal(t, proto.OpAttach, &proto.AttachReq{Mount: "root"})

	cases := map[string]struct {
		b    []byte
		want unix.Errno
	}{
		"short":         {[]byte{1, 2, 3}, unix.EINVAL},
		"garbage":       {[]byte("GET / HTTP/1.1\r\n\r\n"), unix.EINVAL},
		"unknown op":    {append([]byte{44, 1, 0, 0}, 0, 0, 0, 0), unix.ENOSYS},
		"reply op":      {marshal(t, proto.OpWalk|proto.ReplyBit, &proto.NodeReply{}), unix.ENOSYS},
		"error op":      {marshal(t, proto.OpError, &proto.ErrorReply{Errno: 1}), unix.ENOSYS},
		"reserved":      {func() []byte { b := append([]byte(nil), attach...); b[3] = 9; return b }(), unix.EINVAL},
		"bad length":    {func() []byte { b := append([]byte(nil), attach...); b[4] = 200; return b }(), unix.EINVAL},
		"trailing":      {func() []byte { b := append(append([]byte(nil), attach...), 0); b[4]++; return b }(), unix.EINVAL},
		"oversized":     {make([]byte, proto.MaxMessage+100), unix.EINVAL},
		"truncated str": {func() []byte { b := append([]byte(nil), attach[:len(attach)-2]...); b[4] -= 2; return b }(), unix.EINVAL},
		"long name": {func() []byte {
			b := marshal(t, proto.OpWalk, &proto.WalkReq{Dir: 1, Name: "a"})
			b = append(b[:proto.HeaderSize+8], 0, 1) // length 256
			b = append(b, strings.Repeat("a", 256)...)
			binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-proto.HeaderSize))
			return b
		}(), unix.ENAMETOOLONG},
	}
	for name, c := range cases {
		_, errno := r.call(c.b)
		assert.Equal(t, c.want, errno, name)
	}
	// The connection still serves well-formed requests.
	h, errno := r.call(attach)
	assert.Zero(t, errno)
	assert.Equal(t, proto.OpAttach|proto.ReplyBit, h.Op)
}

func TestFDCountMismatch(t *testing.T) {
	e := newEnv(t)
	r := e.raw()
	before := openFDs(t)
	stat := marshal(t, proto.OpStat, &proto.IDReq{ID: 1})
	announced := append([]byte(nil), stat...)
	announced[2] = 1

	// serverClosed tells whether the server dropped its copy of a pipe's
	// write end: the read end then sees EOF rather than EAGAIN.
	pipe := func() (int, int) {
		var p [2]int
		require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK))
		return p[0], p[1]
	}
	serverClosed := func(rd int) bool {
		n, err := unix.Read(rd, make([]byte, 1))
		return n == 0 && err == nil
	}

	for name, c := range map[string]struct {
		b   []byte
		nfd int
	}{
		"fd not announced": {stat, 1},
		"fd announced":     {announced, 1},
		"announced, none":  {announced, 0},
		"two fds":          {announced, 2},
		"many fds":         {stat, 20},
	} {
		rd, wr := pipe()
		fds := make([]int, c.nfd)
		for i := range fds {
			fds[i] = wr
		}
		_, errno := r.call(c.b, fds...)
		assert.Equal(t, unix.EINVAL, errno, name)
		unix.Close(wr)
		assert.True(t, serverClosed(rd), "%s: the server closed the FDs it was sent", name)
		unix.Close(rd)
	}
	assert.Equal(t, before, openFDs(t))
	_, errno := r.call(marshal(t, proto.OpAttach, &proto.AttachReq{Mount: "root"}))
	assert.Zero(t, errno)
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

func TestNoFDLeak(t *testing.T) {
	before := openFDs(t)
	e := newEnv(t)
	root := e.attach("root")
	sub := e.walk(root, "sub")
	e.walk(sub, "inner")
	e.walk(root, "hello")
	_, _, fd, err := e.c.Create(sub, "c", unix.O_RDWR, 0600, 0, 0)
	require.NoError(t, err)
	unix.Close(fd)
	d, _, err := e.c.Mkdir(root, "d", 0700, 0, 0)
	require.NoError(t, err)
	_, _, err = e.c.Symlink(d, "l", "x", 0, 0)
	require.NoError(t, err)
	require.NoError(t, e.c.Rename(root, "sub", d, "sub", 0))
	_, err = e.c.Readdir(root)
	require.NoError(t, err)
	require.NoError(t, e.c.Unlink(d, "l", false))
	require.NoError(t, e.c.Close(sub))
	e.shutdown()
	assert.Equal(t, before, openFDs(t), "every handle FD and root FD closed")
}

func TestConcurrentConnections(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	var clients []*proto.Client
	for i := 0; i < 4; i++ {
		clients = append(clients, e.connect())
	}
	shared := e.c
	sroot, _, err := shared.Attach("root")
	require.NoError(t, err)
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *proto.Client) {
			defer wg.Done()
			root, _, err := c.Attach("root")
			if !assert.NoError(t, err) {
				return
			}
			dir, _, err := c.Mkdir(root, fmt.Sprintf("conn%d", i), 0755, 0, 0)
			if !assert.NoError(t, err) {
				return
			}
			for j := 0; j < 50; j++ {
				name := fmt.Sprintf("f%d", j)
				id, _, fd, err := c.Create(dir, name, unix.O_RDWR|unix.O_EXCL, 0644, 0, 0)
				if !assert.NoError(t, err) {
					return
				}
				unix.Write(fd, []byte(name))
				unix.Close(fd)
				assert.NoError(t, c.Close(id))
				id, _, err = c.Walk(dir, name)
				assert.NoError(t, err)
				fd, err = c.Open(id, unix.O_RDONLY)
				if assert.NoError(t, err) {
					assert.Equal(t, name, readFD(t, fd))
				}
			}
			ents, err := c.Readdir(dir)
			assert.NoError(t, err)
			assert.Len(t, ents, 50)
		}(i, c)
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				id, _, err := shared.Walk(sroot, "hello")
				if !assert.NoError(t, err) {
					return
				}
				_, err = shared.Stat(id)
				assert.NoError(t, err)
				assert.NoError(t, shared.Close(id))
			}
		}()
	}
	wg.Wait()
	for _, c := range clients {
		c.Disconnect()
	}
}
