package sysfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

type env struct {
	v   *vfs.VFS
	ctx *vfs.Context
}

func newEnv(ncpu int, uid uint32) *env {
	ns := vfs.NewMountNamespace(New(ncpu), "sysfs", "sysfs", false)
	return &env{v: &vfs.VFS{NS: ns}, ctx: &vfs.Context{Creds: &vfs.Creds{UID: uid, GID: uid}, Root: ns.Root(), Cwd: ns.Root()}}
}

func (e *env) open(path string, flags int) (*vfs.FileDescription, error) {
	return e.v.OpenAt(e.ctx, e.ctx.Root, path, flags, 0, vfs.Resolve{})
}

func (e *env) read(t *testing.T, path string) string {
	t.Helper()
	fd, err := e.open(path, unix.O_RDONLY)
	require.NoError(t, err, path)
	defer fd.DecRef()
	var out []byte
	buf := make([]byte, 2)
	for {
		n, err := fd.Read([][]byte{buf})
		require.NoError(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func (e *env) readdir(t *testing.T, path string) []string {
	t.Helper()
	fd, err := e.open(path, unix.O_RDONLY|unix.O_DIRECTORY)
	require.NoError(t, err, path)
	defer fd.DecRef()
	var names []string
	require.NoError(t, fd.ReadDir(func(d vfs.Dirent, _ int64) bool {
		names = append(names, d.Name)
		return true
	}))
	return names
}

func TestCPULists(t *testing.T) {
	for ncpu, want := range map[int]string{1: "0\n", 2: "0-1\n", 8: "0-7\n", 0: "0\n"} {
		e := newEnv(ncpu, 0)
		for _, f := range []string{"online", "possible", "present"} {
			assert.Equal(t, want, e.read(t, "/devices/system/cpu/"+f), ncpu)
		}
	}
	e := newEnv(2, 0)
	assert.Equal(t, []string{".", "..", "cpu0", "cpu1", "online", "possible", "present"}, e.readdir(t, "/devices/system/cpu"))

	fd, err := e.open("/devices/system/cpu/online", unix.O_RDONLY)
	require.NoError(t, err)
	buf := make([]byte, 8)
	n, err := fd.Pread([][]byte{buf}, 2)
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(buf[:n]))
	fd.DecRef()
}

func TestTree(t *testing.T) {
	e := newEnv(2, 0)
	assert.Equal(t, []string{".", "..", "class", "devices", "fs", "kernel"}, e.readdir(t, "/"))
	for _, d := range []string{"/fs", "/kernel", "/class", "/devices/system/cpu/cpu1"} {
		assert.Equal(t, []string{".", ".."}, e.readdir(t, d), d)
	}
	inos := map[uint64]bool{}
	for _, p := range []string{"/", "/fs", "/kernel", "/class", "/devices", "/devices/system", "/devices/system/cpu", "/devices/system/cpu/online"} {
		st, err := e.v.StatAt(e.ctx, e.ctx.Root, p, vfs.Resolve{})
		require.NoError(t, err, p)
		assert.False(t, inos[st.Ino], p)
		inos[st.Ino] = true
		assert.Equal(t, uint64(Dev), st.Dev)
		switch {
		case p == "/":
			assert.Equal(t, uint32(unix.S_IFDIR|0o555), st.Mode)
		case st.IsDir():
			assert.Equal(t, uint32(unix.S_IFDIR|0o755), st.Mode, p)
		default:
			assert.Equal(t, uint32(unix.S_IFREG|0o444), st.Mode, p)
		}
	}
	_, err := e.v.StatAt(e.ctx, e.ctx.Root, "/devices/nope", vfs.Resolve{})
	assert.ErrorIs(t, err, unix.ENOENT)

	vd, err := e.v.Resolve(e.ctx, e.ctx.Root, "/devices/system/cpu/online", vfs.Resolve{})
	require.NoError(t, err)
	fs, err := vd.Dentry.Inode().StatFS()
	require.NoError(t, err)
	assert.Equal(t, int64(0x62656572), fs.Type)
}

func TestReadOnly(t *testing.T) {
	for _, uid := range []uint32{0, 1000} {
		e := newEnv(2, uid)
		for _, flags := range []int{unix.O_WRONLY, unix.O_RDWR, unix.O_RDONLY | unix.O_TRUNC} {
			_, err := e.open("/devices/system/cpu/online", flags)
			assert.ErrorIs(t, err, unix.EACCES)
		}
	}
	e := newEnv(2, 0)
	assert.ErrorIs(t, e.v.MkdirAt(e.ctx, e.ctx.Root, "/kernel/x", 0o755), unix.EPERM)
	assert.ErrorIs(t, e.v.UnlinkAt(e.ctx, e.ctx.Root, "/devices/system/cpu/online"), unix.EPERM)
	assert.ErrorIs(t, e.v.RmdirAt(e.ctx, e.ctx.Root, "/fs"), unix.EPERM)
	_, err := e.open("/fs/new", unix.O_CREAT|unix.O_WRONLY)
	assert.ErrorIs(t, err, unix.EACCES)
}
