package server_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/gofer/proto"
	"sbx/gofer/server"
)

// env is a server with three mounts over temp dirs and one client.
type env struct {
	t     *testing.T
	base  string // holds root, ro, other and outside
	root  string // mount "root", read-write
	ro    string // mount "ro", read-only
	other string // mount "other", read-write
	srv   *server.Server
	c     *proto.Client
	conns []chan error
	once  sync.Once
}

func newEnv(t *testing.T, opts ...server.Option) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{
		t:     t,
		base:  base,
		root:  filepath.Join(base, "root"),
		ro:    filepath.Join(base, "ro"),
		other: filepath.Join(base, "other"),
	}
	for _, d := range []string{e.root, e.ro, e.other, filepath.Join(base, "outside"), filepath.Join(e.root, "sub")} {
		require.NoError(t, os.Mkdir(d, 0755))
	}
	write(t, filepath.Join(e.root, "hello"), "hello world\n")
	write(t, filepath.Join(e.root, "sub", "inner"), "inner\n")
	write(t, filepath.Join(e.ro, "ro.txt"), "read only\n")
	require.NoError(t, os.Symlink("/etc", filepath.Join(e.root, "etc")))
	require.NoError(t, os.Symlink("../../../../../../../../etc", filepath.Join(e.root, "up")))
	require.NoError(t, os.Symlink("hello", filepath.Join(e.root, "rel")))

	srv, err := server.New([]server.Mount{
		{Name: "root", HostDir: e.root},
		{Name: "ro", HostDir: e.ro, ReadOnly: true},
		{Name: "other", HostDir: e.other},
	}, append([]server.Option{server.WithLogf(t.Logf)}, opts...)...)
	require.NoError(t, err)
	e.srv = srv
	e.c = e.connect()
	t.Cleanup(e.shutdown)
	return e
}

// connect opens one more connection to the server.
func (e *env) connect() *proto.Client {
	fd := e.serve()
	c, err := proto.NewClient(fd)
	require.NoError(e.t, err)
	return c
}

// serve starts serving a new connection and returns the client's FD.
func (e *env) serve() int {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	require.NoError(e.t, err)
	done := make(chan error, 1)
	e.conns = append(e.conns, done)
	go func() { done <- e.srv.Serve(fds[0]) }()
	return fds[1]
}

// shutdown ends the main connection, waits for every Serve to return
// (other connections must have been ended by the test) and closes the
// server.
func (e *env) shutdown() {
	e.once.Do(func() {
		e.c.Disconnect()
		for _, done := range e.conns {
			select {
			case err := <-done:
				assert.NoError(e.t, err, "Serve")
			case <-time.After(10 * time.Second):
				e.t.Error("Serve did not return")
			}
		}
		e.srv.Close()
	})
}

func write(t *testing.T, path, s string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(s), 0644))
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func (e *env) attach(name string) uint64 {
	e.t.Helper()
	id, st, err := e.c.Attach(name)
	require.NoError(e.t, err)
	require.Equal(e.t, uint32(unix.S_IFDIR), st.Mode&unix.S_IFMT)
	return id
}

// walk walks the components of path from dir.
func (e *env) walk(dir uint64, path string) uint64 {
	e.t.Helper()
	for _, name := range strings.Split(path, "/") {
		id, _, err := e.c.Walk(dir, name)
		require.NoError(e.t, err, "walk %s", name)
		dir = id
	}
	return dir
}

// readFD reads all of fd from offset 0 and closes it.
func readFD(t *testing.T, fd int) string {
	t.Helper()
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 4096)
	for off := int64(0); ; {
		n, err := unix.Pread(fd, buf, off)
		require.NoError(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
		off += int64(n)
	}
}

func hostStat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(path, &st))
	return st
}

func isRoot() bool { return os.Geteuid() == 0 }

func TestAttachWalkStat(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	_, _, err := e.c.Attach("nope")
	assert.Equal(t, unix.ENOENT, err)

	h, st, err := e.c.Walk(root, "hello")
	require.NoError(t, err)
	assert.NotZero(t, h)
	assert.Equal(t, uint32(unix.S_IFREG|0644), st.Mode)
	assert.Equal(t, int64(12), st.Size)
	host := hostStat(t, filepath.Join(e.root, "hello"))
	assert.Equal(t, uint64(host.Ino), st.Ino)
	assert.Equal(t, uint64(host.Dev), st.Dev)
	assert.Equal(t, host.Mtim.Nsec, st.Mtime.Nsec)

	st2, err := e.c.Stat(h)
	require.NoError(t, err)
	assert.Equal(t, st, st2)

	_, _, err = e.c.Walk(root, "missing")
	assert.Equal(t, unix.ENOENT, err)
	_, _, err = e.c.Walk(h, "x")
	assert.Equal(t, unix.ENOTDIR, err)

	inner := e.walk(root, "sub/inner")
	st, err = e.c.Stat(inner)
	require.NoError(t, err)
	assert.Equal(t, int64(6), st.Size)

	// Walk does not follow a symlink: the handle is the link's.
	rel, st, err := e.c.Walk(root, "rel")
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFLNK), st.Mode&unix.S_IFMT)
	target, err := e.c.Readlink(rel)
	require.NoError(t, err)
	assert.Equal(t, "hello", target)
	_, err = e.c.Readlink(h)
	assert.Equal(t, unix.EINVAL, err)
	// The walk's reply carries the link's target; a file's has none.
	_, _, target, err = e.c.WalkLink(root, "rel")
	require.NoError(t, err)
	assert.Equal(t, "hello", target)
	_, _, target, err = e.c.WalkLink(root, "hello")
	require.NoError(t, err)
	assert.Equal(t, "", target)
}

func TestOpenRead(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	h := e.walk(root, "hello")

	fd, err := e.c.Open(h, unix.O_RDONLY)
	require.NoError(t, err)
	fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.NoError(t, err)
	assert.NotZero(t, fdFlags&unix.FD_CLOEXEC)
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	assert.Zero(t, fl&unix.O_NONBLOCK, "O_NONBLOCK is dropped")
	assert.Equal(t, "hello world\n", readFD(t, fd))

	fd, err = e.c.Open(h, unix.O_WRONLY|unix.O_APPEND)
	require.NoError(t, err)
	_, err = unix.Write(fd, []byte("more\n"))
	require.NoError(t, err)
	unix.Close(fd)
	assert.Equal(t, "hello world\nmore\n", read(t, filepath.Join(e.root, "hello")))

	fd, err = e.c.Open(h, unix.O_RDWR|unix.O_TRUNC)
	require.NoError(t, err)
	unix.Close(fd)
	assert.Equal(t, "", read(t, filepath.Join(e.root, "hello")))

	for _, c := range []struct {
		flags uint32
		want  unix.Errno
	}{
		{unix.O_RDONLY | unix.O_DIRECTORY, unix.ENOTDIR},
		{unix.O_PATH, unix.EINVAL},
		{unix.O_RDONLY | unix.O_CREAT, unix.EINVAL},
		{unix.O_RDONLY | unix.O_EXCL, unix.EINVAL},
		{unix.O_RDONLY | unix.O_TRUNC, unix.EINVAL},
		{unix.O_ACCMODE, unix.EINVAL},
		{unix.O_RDONLY | unix.O_NOFOLLOW, unix.EINVAL},
	} {
		_, err := e.c.Open(h, c.flags)
		assert.Equal(t, c.want, err, "flags %#x", c.flags)
	}

	// Directories: read-only opens give a listable FD.
	fd, err = e.c.Open(root, unix.O_RDONLY|unix.O_DIRECTORY)
	require.NoError(t, err)
	f := os.NewFile(uintptr(fd), "root")
	names, err := f.Readdirnames(-1)
	f.Close()
	require.NoError(t, err)
	assert.Contains(t, names, "hello")
	_, err = e.c.Open(root, unix.O_WRONLY)
	assert.Equal(t, unix.EISDIR, err)
	_, err = e.c.Open(root, unix.O_RDWR)
	assert.Equal(t, unix.EISDIR, err)
}

func TestCreate(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	path := filepath.Join(e.root, "new")

	id, st, fd, err := e.c.Create(root, "new", unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0640, 1234, 5678)
	require.NoError(t, err)
	assert.NotZero(t, id)
	assert.Equal(t, uint32(unix.S_IFREG|0640), st.Mode, "exact mode despite the umask")
	_, err = unix.Write(fd, []byte("data"))
	require.NoError(t, err)
	fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	assert.Zero(t, fl&unix.O_NONBLOCK)
	unix.Close(fd)
	assert.Equal(t, "data", read(t, path))
	host := hostStat(t, path)
	assert.Equal(t, uint32(0640), host.Mode&07777)
	if isRoot() {
		assert.Equal(t, uint32(1234), host.Uid)
		assert.Equal(t, uint32(5678), host.Gid)
		assert.Equal(t, uint32(1234), st.UID)
	}
	st2, err := e.c.Stat(id)
	require.NoError(t, err)
	assert.Equal(t, uint64(host.Ino), st2.Ino)

	_, _, _, err = e.c.Create(root, "new", unix.O_RDWR|unix.O_EXCL, 0640, 0, 0)
	assert.Equal(t, unix.EEXIST, err)

	// Without O_EXCL the existing file is opened; O_TRUNC truncates it.
	_, st, fd, err = e.c.Create(root, "new", unix.O_RDONLY, 0600, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, "data", readFD(t, fd))
	assert.Equal(t, uint32(0640), st.Mode&07777, "an existing file keeps its mode")
	_, st, fd, err = e.c.Create(root, "new", unix.O_WRONLY|unix.O_TRUNC, 0600, 0, 0)
	require.NoError(t, err)
	unix.Close(fd)
	assert.Equal(t, int64(0), st.Size)
	assert.Equal(t, "", read(t, path))

	// Never through a symlink, never onto a directory.
	_, _, _, err = e.c.Create(root, "rel", unix.O_RDWR, 0600, 0, 0)
	assert.Equal(t, unix.ELOOP, err)
	_, _, _, err = e.c.Create(root, "etc", unix.O_RDWR|unix.O_EXCL, 0600, 0, 0)
	assert.Equal(t, unix.EEXIST, err)
	_, _, _, err = e.c.Create(root, "sub", unix.O_RDONLY, 0600, 0, 0)
	assert.Equal(t, unix.EISDIR, err)

	// Set-user-ID and set-group-ID never reach the host.
	_, st, fd, err = e.c.Create(root, "suid", unix.O_RDWR|unix.O_EXCL, 06755, 0, 0)
	require.NoError(t, err)
	unix.Close(fd)
	assert.Equal(t, uint32(0755), st.Mode&07777)
	assert.Equal(t, uint32(0755), hostStat(t, filepath.Join(e.root, "suid")).Mode&07777)

	for _, bad := range []uint32{unix.O_RDWR | unix.O_DIRECTORY, unix.O_RDWR | unix.O_PATH, unix.O_RDWR | unix.O_CREAT | unix.O_NOFOLLOW} {
		_, _, _, err = e.c.Create(root, "x", bad, 0600, 0, 0)
		assert.Equal(t, unix.EINVAL, err, "flags %#x", bad)
	}
	_, err = os.Lstat(filepath.Join(e.root, "x"))
	assert.True(t, os.IsNotExist(err))
}

func TestMkdirMknodSymlinkLink(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")

	d, st, err := e.c.Mkdir(root, "d", 0750, 11, 12)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFDIR|0750), st.Mode)
	host := hostStat(t, filepath.Join(e.root, "d"))
	assert.Equal(t, uint32(unix.S_IFDIR|0750), host.Mode)
	if isRoot() {
		assert.Equal(t, uint32(11), host.Uid)
		assert.Equal(t, uint32(12), host.Gid)
	}
	_, _, err = e.c.Mkdir(root, "d", 0750, 0, 0)
	assert.Equal(t, unix.EEXIST, err)
	_, st, err = e.c.Mkdir(d, "sgid", 02775, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, uint32(02775), st.Mode&07777, "set-group-ID stays on directories")

	_, st, err = e.c.Mknod(d, "fifo", unix.S_IFIFO|0620, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFIFO|0620), st.Mode)
	_, st, err = e.c.Mknod(d, "sock", unix.S_IFSOCK|0600, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFSOCK|0600), st.Mode)
	_, st, err = e.c.Mknod(d, "reg", 0604, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFREG|0604), st.Mode)
	_, _, err = e.c.Mknod(d, "chr", unix.S_IFCHR|0600, 0, 0)
	assert.Equal(t, unix.EPERM, err)
	_, _, err = e.c.Mknod(d, "blk", unix.S_IFBLK|0600, 0, 0)
	assert.Equal(t, unix.EPERM, err)
	_, _, err = e.c.Mknod(d, "dir", unix.S_IFDIR|0600, 0, 0)
	assert.Equal(t, unix.EINVAL, err)

	l, st, err := e.c.Symlink(d, "ln", "/etc/passwd", 21, 22)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFLNK), st.Mode&unix.S_IFMT)
	target, err := e.c.Readlink(l)
	require.NoError(t, err)
	assert.Equal(t, "/etc/passwd", target)
	if isRoot() {
		assert.Equal(t, uint32(21), hostStat(t, filepath.Join(e.root, "d", "ln")).Uid)
	}
	_, _, err = e.c.Symlink(d, "empty", "", 0, 0)
	assert.Equal(t, unix.ENOENT, err)
	_, _, err = e.c.Symlink(d, "nul", "a\x00b", 0, 0)
	assert.Equal(t, unix.EINVAL, err)

	h := e.walk(root, "hello")
	st, err = e.c.Link(d, "hard", h)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), st.Nlink)
	assert.Equal(t, "hello world\n", read(t, filepath.Join(e.root, "d", "hard")))
	_, err = e.c.Link(d, "hard2", d)
	assert.Equal(t, unix.EPERM, err)
	_, err = e.c.Link(d, "hard", h)
	assert.Equal(t, unix.EEXIST, err)
	other := e.attach("other")
	_, err = e.c.Link(other, "x", h)
	assert.Equal(t, unix.EXDEV, err)
	// A hard link to a symlink is the link itself, not its target.
	st, err = e.c.Link(d, "ln2", l)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFLNK), st.Mode&unix.S_IFMT)
}

func TestUnlink(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	h := e.walk(root, "hello")
	sub := e.walk(root, "sub")
	inner := e.walk(sub, "inner")

	assert.Equal(t, unix.EISDIR, e.c.Unlink(root, "sub", false))
	assert.Equal(t, unix.ENOTDIR, e.c.Unlink(root, "hello", true))
	assert.Equal(t, unix.ENOTEMPTY, e.c.Unlink(root, "sub", true))
	assert.Equal(t, unix.ENOENT, e.c.Unlink(root, "missing", false))

	require.NoError(t, e.c.Unlink(root, "hello", false))
	_, err := os.Lstat(filepath.Join(e.root, "hello"))
	assert.True(t, os.IsNotExist(err))
	st, err := e.c.Stat(h)
	require.NoError(t, err, "a handle outlives its name")
	assert.Equal(t, uint64(0), st.Nlink)
	_, err = e.c.Open(h, unix.O_RDONLY)
	assert.Equal(t, unix.ENOENT, err)

	// A new file of the same name is not the old handle's.
	write(t, filepath.Join(e.root, "hello"), "new")
	_, err = e.c.Open(h, unix.O_RDONLY)
	assert.Equal(t, unix.ENOENT, err)

	require.NoError(t, e.c.Unlink(sub, "inner", false))
	require.NoError(t, e.c.Unlink(root, "sub", true))
	_, _, err = e.c.Walk(sub, "inner")
	assert.Equal(t, unix.ENOENT, err)
	_, err = e.c.Open(inner, unix.O_RDONLY)
	assert.Equal(t, unix.ENOENT, err)
	_, _, _, err = e.c.Create(sub, "x", unix.O_RDWR, 0600, 0, 0)
	assert.Equal(t, unix.ENOENT, err)
}

func TestRename(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	h := e.walk(root, "hello")

	require.NoError(t, e.c.Rename(root, "hello", root, "renamed", 0))
	assert.Equal(t, "hello world\n", read(t, filepath.Join(e.root, "renamed")))
	fd, err := e.c.Open(h, unix.O_RDONLY)
	require.NoError(t, err, "the handle follows the rename")
	assert.Equal(t, "hello world\n", readFD(t, fd))
	_, _, err = e.c.Walk(root, "hello")
	assert.Equal(t, unix.ENOENT, err)

	// Over an existing name: the replaced file's handles are detached.
	write(t, filepath.Join(e.root, "t1"), "one")
	write(t, filepath.Join(e.root, "t2"), "two")
	h1, h2 := e.walk(root, "t1"), e.walk(root, "t2")
	require.NoError(t, e.c.Rename(root, "t1", root, "t2", 0))
	fd, err = e.c.Open(h1, unix.O_RDONLY)
	require.NoError(t, err)
	assert.Equal(t, "one", readFD(t, fd))
	_, err = e.c.Open(h2, unix.O_RDONLY)
	assert.Equal(t, unix.ENOENT, err)
	st, err := e.c.Stat(h2)
	require.NoError(t, err)
	assert.Equal(t, uint64(0), st.Nlink)

	assert.Equal(t, unix.EEXIST, e.c.Rename(root, "t2", root, "renamed", proto.RenameNoReplace))

	// Exchange: each handle follows its inode.
	write(t, filepath.Join(e.root, "x"), "X")
	write(t, filepath.Join(e.root, "y"), "Y")
	hx, hy := e.walk(root, "x"), e.walk(root, "y")
	require.NoError(t, e.c.Rename(root, "x", root, "y", proto.RenameExchange))
	assert.Equal(t, "X", read(t, filepath.Join(e.root, "y")))
	fd, err = e.c.Open(hx, unix.O_RDONLY)
	require.NoError(t, err)
	assert.Equal(t, "X", readFD(t, fd))
	fd, err = e.c.Open(hy, unix.O_RDONLY)
	require.NoError(t, err)
	assert.Equal(t, "Y", readFD(t, fd))

	// Directories: handles below a renamed or moved directory stay valid.
	sub := e.walk(root, "sub")
	inner := e.walk(sub, "inner")
	require.NoError(t, e.c.Rename(root, "sub", root, "sub2", 0))
	fd, err = e.c.Open(inner, unix.O_RDONLY)
	require.NoError(t, err)
	assert.Equal(t, "inner\n", readFD(t, fd))
	dest, _, err := e.c.Mkdir(root, "dest", 0755, 0, 0)
	require.NoError(t, err)
	require.NoError(t, e.c.Rename(root, "sub2", dest, "moved", 0))
	fd, err = e.c.Open(inner, unix.O_RDONLY)
	require.NoError(t, err)
	assert.Equal(t, "inner\n", readFD(t, fd))
	_, _, err = e.c.Walk(sub, "inner")
	require.NoError(t, err)
	assert.Equal(t, "inner\n", read(t, filepath.Join(e.root, "dest", "moved", "inner")))

	// Renaming onto another link of the same inode does nothing.
	_, err = e.c.Link(root, "hl", h)
	require.NoError(t, err)
	require.NoError(t, e.c.Rename(root, "renamed", root, "hl", 0))
	assert.FileExists(t, filepath.Join(e.root, "renamed"))
	fd, err = e.c.Open(h, unix.O_RDONLY)
	require.NoError(t, err)
	unix.Close(fd)

	other := e.attach("other")
	assert.Equal(t, unix.EXDEV, e.c.Rename(root, "renamed", other, "x", 0))
	assert.Equal(t, unix.EINVAL, e.c.Rename(root, "renamed", root, "z", unix.RENAME_WHITEOUT))
	assert.Equal(t, unix.EINVAL, e.c.Rename(root, "renamed", root, "z", proto.RenameExchange|proto.RenameNoReplace))
	assert.Equal(t, unix.EINVAL, e.c.Rename(dest, "moved", dest, "moved/x", 0))
}

func TestReaddir(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")

	ents, err := e.c.Readdir(root)
	require.NoError(t, err)
	var names []string
	types := map[string]uint8{}
	for _, d := range ents {
		names = append(names, d.Name)
		types[d.Name] = d.Type
	}
	sort.Strings(names)
	assert.Equal(t, []string{"etc", "hello", "rel", "sub", "up"}, names)
	assert.Equal(t, uint8(unix.DT_DIR), types["sub"])
	assert.Equal(t, uint8(unix.DT_REG), types["hello"])
	assert.Equal(t, uint8(unix.DT_LNK), types["etc"])

	// A directory bigger than one reply comes back complete.
	big, _, err := e.c.Mkdir(root, "big", 0755, 0, 0)
	require.NoError(t, err)
	want := map[string]bool{}
	for i := 0; i < 3000; i++ {
		n := fmt.Sprintf("%s-%04d", strings.Repeat("x", 100), i)
		want[n] = true
		f, err := os.Create(filepath.Join(e.root, "big", n))
		require.NoError(t, err)
		f.Close()
	}
	ents, err = e.c.Readdir(big)
	require.NoError(t, err)
	got := map[string]bool{}
	for _, d := range ents {
		assert.False(t, got[d.Name], "duplicate %s", d.Name)
		got[d.Name] = true
	}
	assert.Equal(t, want, got)

	// Paging by hand gives the same, in several pages.
	pages, cursor, total := 0, uint64(0), 0
	for {
		page, next, eof, err := e.c.ReaddirPage(big, cursor)
		require.NoError(t, err)
		pages++
		total += len(page)
		if eof {
			break
		}
		require.NotEmpty(t, page)
		assert.Equal(t, page[len(page)-1].Off, next)
		cursor = next
	}
	assert.Equal(t, 3000, total)
	assert.Greater(t, pages, 5)

	h := e.walk(root, "hello")
	_, err = e.c.Readdir(h)
	assert.Equal(t, unix.ENOTDIR, err)
	empty, _, err := e.c.Mkdir(root, "empty", 0755, 0, 0)
	require.NoError(t, err)
	ents, err = e.c.Readdir(empty)
	require.NoError(t, err)
	assert.Empty(t, ents)
}

func TestSetAttr(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	path := filepath.Join(e.root, "hello")
	h := e.walk(root, "hello")

	st, err := e.c.SetAttr(h, proto.SetAttr{Mask: proto.SetAttrMode, Mode: 0600})
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFREG|0600), st.Mode)
	assert.Equal(t, uint32(0600), hostStat(t, path).Mode&07777)

	st, err = e.c.SetAttr(h, proto.SetAttr{Mask: proto.SetAttrMode, Mode: 04755})
	require.NoError(t, err)
	assert.Equal(t, uint32(0755), st.Mode&07777, "set-user-ID stripped")

	if isRoot() {
		st, err = e.c.SetAttr(h, proto.SetAttr{Mask: proto.SetAttrUID | proto.SetAttrGID, UID: 1234, GID: 4321})
		require.NoError(t, err)
		assert.Equal(t, uint32(1234), st.UID)
		assert.Equal(t, uint32(4321), hostStat(t, path).Gid)
		st, err = e.c.SetAttr(h, proto.SetAttr{Mask: proto.SetAttrGID, GID: 7})
		require.NoError(t, err)
		assert.Equal(t, uint32(1234), st.UID, "uid unchanged")
		assert.Equal(t, uint32(7), st.GID)
	}

	st, err = e.c.SetAttr(h, proto.SetAttr{Mask: proto.SetAttrSize, Size: 3})
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Size)
	assert.Equal(t, "hel", read(t, path))

	st, err = e.c.SetAttr(h, proto.SetAttr{
		Mask:  proto.SetAttrAtime | proto.SetAttrMtime,
		Atime: proto.Timespec{Sec: 100, Nsec: 5}, Mtime: proto.Timespec{Sec: 200, Nsec: 6},
	})
	require.NoError(t, err)
	assert.Equal(t, proto.Timespec{Sec: 100, Nsec: 5}, st.Atime)
	assert.Equal(t, proto.Timespec{Sec: 200, Nsec: 6}, st.Mtime)
	host := hostStat(t, path)
	assert.Equal(t, int64(200), host.Mtim.Sec)

	st, err = e.c.SetAttr(h, proto.SetAttr{
		Mask:  proto.SetAttrAtime | proto.SetAttrMtime,
		Atime: proto.Timespec{Nsec: unix.UTIME_OMIT}, Mtime: proto.Timespec{Nsec: unix.UTIME_NOW},
	})
	require.NoError(t, err)
	assert.Equal(t, proto.Timespec{Sec: 100, Nsec: 5}, st.Atime, "UTIME_OMIT")
	assert.InDelta(t, time.Now().Unix(), st.Mtime.Sec, 5, "UTIME_NOW")

	st, err = e.c.SetAttr(h, proto.SetAttr{})
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Size)

	_, err = e.c.SetAttr(h, proto.SetAttr{Mask: 1 << 10})
	assert.Equal(t, unix.EINVAL, err)
	_, err = e.c.SetAttr(h, proto.SetAttr{Mask: proto.SetAttrMtime, Mtime: proto.Timespec{Nsec: 1e9}})
	assert.Equal(t, unix.EINVAL, err)
	_, err = e.c.SetAttr(root, proto.SetAttr{Mask: proto.SetAttrSize})
	assert.Equal(t, unix.EISDIR, err)

	// Symlinks: no chmod, no truncate; chown changes the link itself.
	l := e.walk(root, "etc")
	_, err = e.c.SetAttr(l, proto.SetAttr{Mask: proto.SetAttrMode, Mode: 0777})
	assert.Equal(t, unix.EOPNOTSUPP, err)
	_, err = e.c.SetAttr(l, proto.SetAttr{Mask: proto.SetAttrSize})
	assert.Equal(t, unix.EINVAL, err)
	if isRoot() {
		before := hostStat(t, "/etc")
		st, err = e.c.SetAttr(l, proto.SetAttr{Mask: proto.SetAttrUID, UID: 999})
		require.NoError(t, err)
		assert.Equal(t, uint32(999), st.UID)
		assert.Equal(t, before.Uid, hostStat(t, "/etc").Uid)
	}
}

func TestStatFS(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	sf, err := e.c.StatFS(root)
	require.NoError(t, err)
	var host unix.Statfs_t
	require.NoError(t, unix.Statfs(e.root, &host))
	assert.Equal(t, int64(host.Type), sf.Type)
	assert.Equal(t, int64(host.Bsize), sf.Bsize)
	assert.Zero(t, sf.Flags&unix.ST_RDONLY)

	ro := e.attach("ro")
	sf, err = e.c.StatFS(ro)
	require.NoError(t, err)
	assert.NotZero(t, sf.Flags&unix.ST_RDONLY)
}

func TestReadOnlyMount(t *testing.T) {
	e := newEnv(t)
	ro := e.attach("ro")
	f := e.walk(ro, "ro.txt")
	before := hostStat(t, filepath.Join(e.ro, "ro.txt"))

	_, _, _, err := e.c.Create(ro, "new", unix.O_RDWR|unix.O_EXCL, 0644, 0, 0)
	assert.Equal(t, unix.EROFS, err, "create")
	_, _, _, err = e.c.Create(ro, "ro.txt", unix.O_RDONLY, 0644, 0, 0)
	assert.Equal(t, unix.EROFS, err, "create of an existing file")
	_, _, err = e.c.Mkdir(ro, "d", 0755, 0, 0)
	assert.Equal(t, unix.EROFS, err, "mkdir")
	_, _, err = e.c.Mknod(ro, "p", unix.S_IFIFO|0644, 0, 0)
	assert.Equal(t, unix.EROFS, err, "mknod")
	_, _, err = e.c.Symlink(ro, "l", "x", 0, 0)
	assert.Equal(t, unix.EROFS, err, "symlink")
	_, err = e.c.Link(ro, "h", f)
	assert.Equal(t, unix.EROFS, err, "link")
	assert.Equal(t, unix.EROFS, e.c.Unlink(ro, "ro.txt", false), "unlink")
	assert.Equal(t, unix.EROFS, e.c.Rename(ro, "ro.txt", ro, "x", 0), "rename")
	for _, a := range []proto.SetAttr{
		{Mask: proto.SetAttrMode, Mode: 0777},
		{Mask: proto.SetAttrUID, UID: 1},
		{Mask: proto.SetAttrSize},
		{Mask: proto.SetAttrMtime, Mtime: proto.Timespec{Nsec: unix.UTIME_NOW}},
	} {
		_, err = e.c.SetAttr(f, a)
		assert.Equal(t, unix.EROFS, err, "setattr %#x", a.Mask)
	}
	for _, fl := range []uint32{unix.O_WRONLY, unix.O_RDWR, unix.O_WRONLY | unix.O_TRUNC, unix.O_RDWR | unix.O_APPEND} {
		_, err = e.c.Open(f, fl)
		assert.Equal(t, unix.EROFS, err, "open %#x", fl)
	}

	fd, err := e.c.Open(f, unix.O_RDONLY)
	require.NoError(t, err)
	assert.Equal(t, "read only\n", readFD(t, fd))
	ents, err := e.c.Readdir(ro)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	_, err = e.c.Stat(f)
	require.NoError(t, err)

	after := hostStat(t, filepath.Join(e.ro, "ro.txt"))
	after.Atim = before.Atim // reading it may update atime (relatime)
	assert.Equal(t, before, after, "host file untouched")
	names, _ := os.ReadDir(e.ro)
	assert.Len(t, names, 1)
}

func TestHandleLifetime(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")

	for _, id := range []uint64{0, 999, 1 << 63} {
		_, err := e.c.Stat(id)
		assert.Equal(t, unix.EBADF, err)
	}
	h := e.walk(root, "hello")
	require.NoError(t, e.c.Close(h))
	_, err := e.c.Stat(h)
	assert.Equal(t, unix.EBADF, err)
	assert.Equal(t, unix.EBADF, e.c.Close(h))
	h2 := e.walk(root, "hello")
	assert.NotEqual(t, h, h2, "IDs are not reused")

	// A child outlives its parent's handle.
	sub := e.walk(root, "sub")
	inner := e.walk(sub, "inner")
	require.NoError(t, e.c.Close(sub))
	fd, err := e.c.Open(inner, unix.O_RDONLY)
	require.NoError(t, err)
	assert.Equal(t, "inner\n", readFD(t, fd))
	_, _, err = e.c.Walk(sub, "inner")
	assert.Equal(t, unix.EBADF, err)
	require.NoError(t, e.c.Close(root))
	fd, err = e.c.Open(inner, unix.O_RDONLY)
	require.NoError(t, err)
	unix.Close(fd)

	// FDs outlive their handle.
	fd, err = e.c.Open(h2, unix.O_RDONLY)
	require.NoError(t, err)
	require.NoError(t, e.c.Close(h2))
	assert.Equal(t, "hello world\n", readFD(t, fd))
}

func TestBadHandles(t *testing.T) {
	e := newEnv(t)
	root := e.attach("root")
	h := e.walk(root, "hello")
	closed := e.walk(root, "hello")
	require.NoError(t, e.c.Close(closed))
	for _, bad := range []uint64{0, 12345, closed} {
		errs := map[string]error{}
		_, _, errs["walk"] = e.c.Walk(bad, "hello")
		_, errs["stat"] = e.c.Stat(bad)
		_, errs["readlink"] = e.c.Readlink(bad)
		_, errs["readdir"] = e.c.Readdir(bad)
		_, errs["statfs"] = e.c.StatFS(bad)
		_, errs["open"] = e.c.Open(bad, unix.O_RDONLY)
		_, _, _, errs["create"] = e.c.Create(bad, "x", unix.O_RDWR, 0600, 0, 0)
		_, _, errs["mkdir"] = e.c.Mkdir(bad, "x", 0700, 0, 0)
		_, _, errs["mknod"] = e.c.Mknod(bad, "x", 0600, 0, 0)
		_, _, errs["symlink"] = e.c.Symlink(bad, "x", "y", 0, 0)
		_, errs["link dir"] = e.c.Link(bad, "x", h)
		_, errs["link target"] = e.c.Link(root, "x", bad)
		errs["unlink"] = e.c.Unlink(bad, "hello", false)
		errs["rename old"] = e.c.Rename(bad, "hello", root, "x", 0)
		errs["rename new"] = e.c.Rename(root, "hello", bad, "x", 0)
		_, errs["setattr"] = e.c.SetAttr(bad, proto.SetAttr{Mask: proto.SetAttrMode, Mode: 0777})
		errs["close"] = e.c.Close(bad)
		for op, err := range errs {
			assert.Equal(t, unix.EBADF, err, "%s on %d", op, bad)
		}
	}
	assert.Equal(t, "hello world\n", read(t, filepath.Join(e.root, "hello")))
	assert.NoFileExists(t, filepath.Join(e.root, "x"))
}

func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// BenchmarkWalkStatClose measures round trips over a socketpair: a Walk
// (path re-resolution + openat2 + fstat), a Stat and a Close.
func BenchmarkWalkStatClose(b *testing.B) {
	base := b.TempDir()
	require.NoError(b, os.MkdirAll(filepath.Join(base, "a", "b", "c"), 0755))
	require.NoError(b, os.WriteFile(filepath.Join(base, "a", "b", "c", "f"), nil, 0644))
	srv, err := server.New([]server.Mount{{Name: "root", HostDir: base}})
	require.NoError(b, err)
	defer srv.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	require.NoError(b, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(fds[0]) }()
	c, err := proto.NewClient(fds[1])
	require.NoError(b, err)
	defer func() { c.Disconnect(); <-done }()
	dir, _, err := c.Attach("root")
	require.NoError(b, err)
	for _, n := range []string{"a", "b", "c"} {
		dir, _, err = c.Walk(dir, n)
		require.NoError(b, err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id, _, err := c.Walk(dir, "f")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Stat(id); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(id); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNodeFDBound walks more files than a connection may keep FDs for:
// the gofer's FD count stays bounded, every handle still stats as its own
// file (reopened by path), a file replaced under an evicted handle says
// ESTALE, and an unlinked file still stats through its handle.
func TestNodeFDBound(t *testing.T) {
	e := newEnv(t, server.WithMaxNodeFDs(4))
	root := e.attach("root")
	dir := filepath.Join(e.root, "many")
	require.NoError(t, os.Mkdir(dir, 0755))
	const n = 40
	for i := 0; i < n; i++ {
		write(t, filepath.Join(dir, fmt.Sprintf("f%02d", i)), strings.Repeat("x", i))
	}
	before := openFDs(t)
	many := e.walk(root, "many")
	var hs []uint64
	for i := 0; i < n; i++ {
		hs = append(hs, e.walk(many, fmt.Sprintf("f%02d", i)))
	}
	assert.LessOrEqual(t, openFDs(t)-before, 4+2, "FDs held beyond the bound")
	for i, h := range hs {
		st, err := e.c.Stat(h)
		require.NoError(t, err)
		assert.Equal(t, int64(i), st.Size, "f%02d", i)
	}
	assert.LessOrEqual(t, openFDs(t)-before, 4+2, "FDs held beyond the bound after the stats")

	// f00's FD was closed long ago: a new file under its name (made
	// while the old one exists, so not reusing its inode) is not it.
	write(t, filepath.Join(dir, "new"), "new")
	require.NoError(t, os.Rename(filepath.Join(dir, "new"), filepath.Join(dir, "f00")))
	_, err := e.c.Stat(hs[0])
	assert.Equal(t, unix.ESTALE, err)

	// Unlinked through the gofer, f01 still stats through its handle.
	require.NoError(t, e.c.Unlink(many, "f01", false))
	for i := 2; i < n; i++ { // push f01 out of any cache
		_, err := e.c.Stat(hs[i])
		require.NoError(t, err)
	}
	st, err := e.c.Stat(hs[1])
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Size)
}
