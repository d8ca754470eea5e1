package gofer_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/gofer"
	"sbx/fs/vfs"
	"sbx/gofer/proto"
	"sbx/gofer/server"
)

// serve serves dir as the mounts "ro" (read-only) and "rw" on a new
// connection and returns its client, and a function that ends the
// connection and waits for the server to see it (also called at the end of
// the test).
func serve(t *testing.T, dir string) (*proto.Client, func()) {
	srv, err := server.New([]server.Mount{{Name: "ro", HostDir: dir, ReadOnly: true}, {Name: "rw", HostDir: dir}}, server.WithLogf(t.Logf))
	require.NoError(t, err)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(fds[0]) }()
	c, err := proto.NewClient(fds[1])
	require.NoError(t, err)
	var once sync.Once
	disconnect := func() {
		once.Do(func() {
			c.Disconnect()
			<-done
			srv.Close()
		})
	}
	t.Cleanup(disconnect)
	return c, disconnect
}

// TestMissingNamesRemembered: on a read-only mount a name found missing
// stays missing (no second round trip, so a file the host creates later is
// not seen); on a writable mount every lookup asks.
func TestMissingNamesRemembered(t *testing.T) {
	dir := t.TempDir()
	c, _ := serve(t, dir)

	ro, err := gofer.New(c, nil, "ro", true)
	require.NoError(t, err)
	rw, err := gofer.New(c, nil, "rw", false)
	require.NoError(t, err)
	for _, d := range []string{"ro", "rw"} {
		root := ro
		if d == "rw" {
			root = rw
		}
		_, err := root.Inode().Lookup("later")
		require.ErrorIs(t, err, unix.ENOENT, d)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "later"), []byte("x"), 0o644))
	_, err = ro.Inode().Lookup("later")
	require.ErrorIs(t, err, unix.ENOENT, "read-only mount: the missing name is remembered")
	i, err := rw.Inode().Lookup("later")
	require.NoError(t, err, "writable mount: looked up again")
	st, err := i.Stat()
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Size)
	// A name that exists is found on either.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "present"), nil, 0o644))
	_, err = ro.Inode().Lookup("present")
	require.NoError(t, err)
}

// TestReadOnlyOpensAndLinksNeedNoRoundTrip: once a file on a read-only
// mount has been opened and a symlink read, opening and reading them again
// works with the connection gone (no round trip), and the opens read
// independently; on a writable mount each asks the gofer.
func TestReadOnlyOpensAndLinksNeedNoRoundTrip(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789"), 0o644))
	require.NoError(t, os.Symlink("f", filepath.Join(dir, "l")))
	c, disconnect := serve(t, dir)

	type node struct {
		f, l vfs.Inode
	}
	nodes := map[string]node{}
	for _, name := range []string{"ro", "rw"} {
		root, err := gofer.New(c, nil, name, name == "ro")
		require.NoError(t, err)
		f, err := root.Inode().Lookup("f")
		require.NoError(t, err)
		l, err := root.Inode().Lookup("l")
		require.NoError(t, err)
		target, err := l.Readlink()
		require.NoError(t, err)
		require.Equal(t, "f", target)
		fd, err := f.Open(unix.O_RDONLY)
		require.NoError(t, err)
		fd.Release()
		nodes[name] = node{f, l}
	}
	disconnect()

	ro := nodes["ro"]
	target, err := ro.l.Readlink()
	require.NoError(t, err)
	require.Equal(t, "f", target)
	a, err := ro.f.Open(unix.O_RDONLY)
	require.NoError(t, err)
	defer a.Release()
	b, err := ro.f.Open(unix.O_RDONLY)
	require.NoError(t, err)
	defer b.Release()
	buf := make([]byte, 3)
	n, err := a.Preadv([][]byte{buf}, 7)
	require.NoError(t, err)
	require.Equal(t, "789", string(buf[:n]))
	n, err = b.Preadv([][]byte{buf}, 0)
	require.NoError(t, err)
	require.Equal(t, "012", string(buf[:n]))

	rw := nodes["rw"]
	_, err = rw.l.Readlink()
	require.Error(t, err, "writable mount: the link is read again")
	_, err = rw.f.Open(unix.O_RDONLY)
	require.Error(t, err, "writable mount: the file is opened again")
}

// TestWritableStatKeptWithinOneSyscall: on a writable mount attributes are
// asked for again in each system call (vfs.BeginSyscall), but reused within one,
// unless the sentry changed the file meanwhile.
func TestWritableStatKeptWithinOneSyscall(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("abc"), 0o644))
	c, disconnect := serve(t, dir)
	rw, err := gofer.New(c, nil, "rw", false)
	require.NoError(t, err)
	vfs.BeginSyscall()
	f, err := rw.Inode().Lookup("f")
	require.NoError(t, err)
	// The host grows the file: this system call still sees the size the
	// walk returned, the next one the new size.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("abcdef"), 0o644))
	st, err := f.Stat()
	require.NoError(t, err)
	require.EqualValues(t, 3, st.Size)
	vfs.BeginSyscall()
	st, err = f.Stat()
	require.NoError(t, err)
	require.EqualValues(t, 6, st.Size)
	// A write through the sentry makes the next Stat ask, in the same
	// system call.
	fd, err := f.Open(unix.O_RDWR)
	require.NoError(t, err)
	defer fd.Release()
	_, err = fd.Pwritev([][]byte{[]byte("0123456789")}, 0)
	require.NoError(t, err)
	st, err = f.Stat()
	require.NoError(t, err)
	require.EqualValues(t, 10, st.Size)
	// With the gofer gone, a kept answer still serves this system call;
	// the next one has to ask, and cannot.
	disconnect()
	_, err = f.Stat()
	require.NoError(t, err)
	vfs.BeginSyscall()
	_, err = f.Stat()
	require.Error(t, err)
}
