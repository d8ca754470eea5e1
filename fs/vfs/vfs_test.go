package vfs_test

import (
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/tmpfs"
	"sbx/fs/vfs"
)

// memFile is an in-process vfs.MemoryFile: every allocation is a fresh
// zeroed buffer, freed pages are poisoned and never handed out again.
type memFile struct {
	mu    sync.Mutex
	next  int64
	pages map[int64][]byte // page offset -> the rest of its allocation
}

func newMemFile() *memFile { return &memFile{next: 1 << 20, pages: make(map[int64][]byte)} }

func (m *memFile) Allocate(n int) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	base := m.next
	buf := make([]byte, n*4096)
	for i := 0; i < n; i++ {
		m.pages[base+int64(i)*4096] = buf[i*4096:]
	}
	m.next += int64(n) * 4096
	return base, nil
}

func (m *memFile) Free(off int64, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < n; i++ {
		p := off + int64(i)*4096
		b, ok := m.pages[p]
		if !ok {
			panic("memFile: free of a page not allocated")
		}
		for j := range b[:4096] {
			b[j] = 0xdb
		}
		delete(m.pages, p)
	}
}

func (m *memFile) Slice(off int64, n int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	base := off &^ 4095
	b, ok := m.pages[base]
	if !ok {
		panic("memFile: slice of a page not allocated")
	}
	return b[off-base : off-base+int64(n)]
}

// env is a VFS whose root is a fresh tmpfs.
type env struct {
	t    *testing.T
	mf   *memFile
	v    *vfs.VFS
	ns   *vfs.MountNamespace
	root *vfs.Context // uid 0
	user *vfs.Context // uid/gid 1000
}

func newEnv(t *testing.T) *env {
	mf := newMemFile()
	_, root := tmpfs.New(mf, 0o755, vfs.Owner{})
	ns := vfs.NewMountNamespace(root, "tmpfs", "none", false)
	r := ns.Root()
	return &env{
		t: t, mf: mf, v: &vfs.VFS{NS: ns}, ns: ns,
		root: &vfs.Context{Creds: &vfs.Creds{}, Root: r, Cwd: r},
		user: &vfs.Context{Creds: &vfs.Creds{UID: 1000, GID: 1000}, Root: r, Cwd: r},
	}
}

// mount puts a new tmpfs on the directory at path and returns its mount.
func (e *env) mount(path string, ro bool) *vfs.Mount {
	e.t.Helper()
	vd := e.resolve(e.root, path)
	_, root := tmpfs.New(e.mf, 0o777, vfs.Owner{})
	m, err := e.ns.Mount(vd, root, "tmpfs", "none", ro)
	require.NoError(e.t, err)
	return m
}

func (e *env) resolve(ctx *vfs.Context, path string) vfs.VirtualDentry {
	e.t.Helper()
	vd, err := e.v.Resolve(ctx, ctx.Cwd, path, vfs.Resolve{})
	require.NoError(e.t, err, path)
	return vd
}

func (e *env) mkdir(path string, mode uint32) {
	e.t.Helper()
	require.NoError(e.t, e.v.MkdirAt(e.root, e.root.Cwd, path, mode), path)
	e.chmod(path, mode) // no umask in the way
}

func (e *env) chmod(path string, mode uint32) {
	e.t.Helper()
	vd := e.resolve(e.root, path)
	require.NoError(e.t, vd.Dentry.Inode().SetStat(vfs.SetStat{Mask: vfs.SetMode, Mode: mode}))
}

func (e *env) chown(path string, uid, gid uint32) {
	e.t.Helper()
	vd, err := e.v.Resolve(e.root, e.root.Cwd, path, vfs.Resolve{NoFollow: true})
	require.NoError(e.t, err)
	require.NoError(e.t, vd.Dentry.Inode().SetStat(vfs.SetStat{Mask: vfs.SetUID | vfs.SetGID, UID: uid, GID: gid}))
}

func (e *env) open(ctx *vfs.Context, path string, flags int, mode uint32) (*vfs.FileDescription, error) {
	return e.v.OpenAt(ctx, ctx.Cwd, path, flags, mode, vfs.Resolve{})
}

func (e *env) writeFile(path, data string, mode uint32) {
	e.t.Helper()
	fd, err := e.open(e.root, path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, mode)
	require.NoError(e.t, err, path)
	defer fd.DecRef()
	n, err := fd.Write([][]byte{[]byte(data)})
	require.NoError(e.t, err)
	require.Equal(e.t, len(data), n)
}

func readAll(t *testing.T, fd *vfs.FileDescription) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 1000)
	for {
		n, err := fd.Read([][]byte{buf})
		require.NoError(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func (e *env) readFile(ctx *vfs.Context, path string) string {
	e.t.Helper()
	fd, err := e.open(ctx, path, unix.O_RDONLY, 0)
	require.NoError(e.t, err, path)
	defer fd.DecRef()
	return readAll(e.t, fd)
}

func (e *env) symlink(target, path string) {
	e.t.Helper()
	require.NoError(e.t, e.v.SymlinkAt(e.root, target, e.root.Cwd, path))
}

func (e *env) stat(path string) (vfs.Stat, error) {
	return e.v.StatAt(e.root, e.root.Cwd, path, vfs.Resolve{})
}

func (e *env) lstat(path string) (vfs.Stat, error) {
	return e.v.StatAt(e.root, e.root.Cwd, path, vfs.Resolve{NoFollow: true})
}

func (e *env) mustStat(path string) *vfs.Stat {
	e.t.Helper()
	st, err := e.stat(path)
	require.NoError(e.t, err, path)
	return &st
}

func (e *env) exists(path string) bool {
	_, err := e.lstat(path)
	return err == nil
}

// withCwd returns a copy of ctx whose working directory is path.
func (e *env) withCwd(ctx *vfs.Context, path string) *vfs.Context {
	e.t.Helper()
	c := *ctx
	c.Cwd = e.resolve(ctx, path)
	return &c
}

// --- path resolution ---

func TestWalkAbsoluteAndRelative(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/b", 0o755)
	e.writeFile("/a/b/f", "data", 0o644)
	want := e.mustStat("/a/b/f").Ino

	for _, p := range []string{"/a/b/f", "a/b/f", "//a///b//f", "/./a/./b/./f", "/a/b/../b/f", "a/../a/b/f"} {
		st, err := e.stat(p)
		require.NoError(t, err, p)
		require.Equal(t, want, st.Ino, p)
	}
	ctx := e.withCwd(e.root, "/a")
	for _, p := range []string{"b/f", "./b/f", "../a/b/f", "/a/b/f", "b/./../b/f"} {
		st, err := e.v.StatAt(ctx, ctx.Cwd, p, vfs.Resolve{})
		require.NoError(t, err, p)
		require.Equal(t, want, st.Ino, p)
	}
	st, err := e.v.StatAt(ctx, ctx.Cwd, ".", vfs.Resolve{})
	require.NoError(t, err)
	require.Equal(t, e.mustStat("/a").Ino, st.Ino)
	_, err = e.stat("")
	require.ErrorIs(t, err, unix.ENOENT)
}

func TestWalkDotDotAtRootStaysAtRoot(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	rootIno := e.mustStat("/").Ino
	for _, p := range []string{"..", "/..", "/../..", "../../..", "/a/../..", "a/../../../."} {
		st, err := e.stat(p)
		require.NoError(t, err, p)
		require.Equal(t, rootIno, st.Ino, p)
	}
	require.Equal(t, e.mustStat("/a").Ino, e.mustStat("/../../a").Ino)

	// A chroot-like context root clamps ".." the same way.
	ctx := e.withCwd(e.root, "/a")
	ctx.Root = ctx.Cwd
	st, err := e.v.StatAt(ctx, ctx.Cwd, "../../..", vfs.Resolve{})
	require.NoError(t, err)
	require.Equal(t, e.mustStat("/a").Ino, st.Ino)
}

func TestWalkDotDotAcrossMount(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/mnt", 0o755)
	e.mkdir("/other", 0o755)
	under := e.mustStat("/mnt")
	m := e.mount("/mnt", false)
	require.NotNil(t, m)

	over := e.mustStat("/mnt")
	require.NotEqual(t, under.Dev, over.Dev, "the mount hides the directory it is on")
	e.mkdir("/mnt/sub", 0o755)
	e.writeFile("/mnt/sub/f", "x", 0o644)

	require.Equal(t, e.mustStat("/").Ino, e.mustStat("/mnt/..").Ino)
	require.Equal(t, e.mustStat("/").Dev, e.mustStat("/mnt/..").Dev)
	require.Equal(t, e.mustStat("/other").Ino, e.mustStat("/mnt/sub/../../other").Ino)

	ctx := e.withCwd(e.root, "/mnt/sub")
	st, err := e.v.StatAt(ctx, ctx.Cwd, "../../other", vfs.Resolve{})
	require.NoError(t, err)
	require.Equal(t, e.mustStat("/other").Ino, st.Ino)
	st, err = e.v.StatAt(ctx, ctx.Cwd, "..", vfs.Resolve{})
	require.NoError(t, err)
	require.Equal(t, over.Dev, st.Dev)
	require.Equal(t, over.Ino, st.Ino)
}

func TestWalkTrailingSlash(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/f", "x", 0o644)
	e.symlink("d", "/ld")
	e.symlink("f", "/lf")

	for _, p := range []string{"/f/", "/f//", "/lf/", "/f/."} {
		_, err := e.stat(p)
		require.ErrorIs(t, err, unix.ENOTDIR, p)
		_, err = e.open(e.root, p, unix.O_RDONLY, 0)
		require.ErrorIs(t, err, unix.ENOTDIR, p)
	}
	for _, p := range []string{"/d/", "/d//", "/ld/", "/d/."} {
		st, err := e.stat(p)
		require.NoError(t, err, p)
		require.True(t, st.IsDir(), p)
	}
	// A trailing slash follows a final symlink even with NoFollow.
	st, err := e.v.StatAt(e.root, e.root.Cwd, "/ld/", vfs.Resolve{NoFollow: true})
	require.NoError(t, err)
	require.True(t, st.IsDir())
}

func TestWalkSymlinks(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/b", 0o755)
	e.writeFile("/a/b/f", "target", 0o644)
	e.symlink("b/f", "/a/rel")    // relative to the link's directory
	e.symlink("/a/b/f", "/abs")   // absolute
	e.symlink("../a/b", "/a/up")  // ".." inside a target
	e.symlink("rel", "/a/chain1") // chain
	e.symlink("chain1", "/a/chain2")
	e.symlink("/a/chain2", "/chain3")
	e.symlink("a", "/la")

	for _, p := range []string{"/a/rel", "/abs", "/a/up/f", "/a/chain1", "/a/chain2", "/chain3", "/la/b/f", "/la/up/f", "la/rel"} {
		require.Equal(t, "target", e.readFile(e.root, p), p)
	}
	ctx := e.withCwd(e.root, "/a/b")
	require.Equal(t, "target", e.readFile(ctx, "../rel"))

	lst, err := e.lstat("/abs")
	require.NoError(t, err)
	require.True(t, lst.IsSymlink())
	require.EqualValues(t, len("/a/b/f"), lst.Size)
	// Intermediate symlinks are followed even with NoFollow.
	st, err := e.v.StatAt(e.root, e.root.Cwd, "/la/b", vfs.Resolve{NoFollow: true})
	require.NoError(t, err)
	require.True(t, st.IsDir())
}

// makeChain makes /c0 -> /c1 -> ... -> /c<n-1> -> final and returns "/c0":
// resolving it follows n symlinks.
func makeChain(e *env, n int, final string) string {
	for i := 0; i < n; i++ {
		target := final
		if i < n-1 {
			target = "c" + itoa(i+1)
		}
		e.symlink(target, "/c"+itoa(i))
	}
	return "/c0"
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestWalkSymlinkLimit(t *testing.T) {
	t.Run("final", func(t *testing.T) {
		e := newEnv(t)
		e.writeFile("/f", "end", 0o644)
		p := makeChain(e, 40, "f")
		require.Equal(t, "end", e.readFile(e.root, p))
	})
	t.Run("final41", func(t *testing.T) {
		e := newEnv(t)
		e.writeFile("/f", "end", 0o644)
		p := makeChain(e, 41, "f")
		_, err := e.open(e.root, p, unix.O_RDONLY, 0)
		require.ErrorIs(t, err, unix.ELOOP)
		_, err = e.stat(p)
		require.ErrorIs(t, err, unix.ELOOP)
		// Not following the final one is fine.
		_, err = e.lstat(p)
		require.NoError(t, err)
	})
	t.Run("intermediate", func(t *testing.T) {
		e := newEnv(t)
		e.mkdir("/d", 0o755)
		e.writeFile("/d/f", "end", 0o644)
		p := makeChain(e, 40, "d")
		require.Equal(t, "end", e.readFile(e.root, p+"/f"))
	})
	t.Run("intermediate41", func(t *testing.T) {
		e := newEnv(t)
		e.mkdir("/d", 0o755)
		e.writeFile("/d/f", "end", 0o644)
		p := makeChain(e, 41, "d")
		_, err := e.stat(p + "/f")
		require.ErrorIs(t, err, unix.ELOOP)
	})
}

func TestWalkSymlinkLoop(t *testing.T) {
	e := newEnv(t)
	e.symlink("b", "/a")
	e.symlink("a", "/b")
	e.symlink("self", "/self")
	e.mkdir("/d", 0o755)
	e.symlink("../d/loop/x", "/d/loop")
	for _, p := range []string{"/a", "/b", "/self", "/a/x", "/self/", "/d/loop"} {
		_, err := e.stat(p)
		require.ErrorIs(t, err, unix.ELOOP, p)
		_, err = e.open(e.root, p, unix.O_RDONLY, 0)
		require.ErrorIs(t, err, unix.ELOOP, p)
	}
	_, err := e.open(e.root, "/a", unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.ELOOP)
}

func TestOpenNoFollowFinalSymlink(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/d/f", "x", 0o644)
	e.symlink("f", "/d/l")
	e.symlink("d", "/ld")

	_, err := e.open(e.root, "/d/l", unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	require.ErrorIs(t, err, unix.ELOOP)
	_, err = e.open(e.root, "/d/l", unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW, 0o644)
	require.ErrorIs(t, err, unix.ELOOP)
	_, err = e.v.OpenAt(e.root, e.root.Cwd, "/d/l", unix.O_RDONLY, 0, vfs.Resolve{NoFollow: true})
	require.ErrorIs(t, err, unix.ELOOP)

	// Only the final component is affected.
	fd, err := e.open(e.root, "/ld/f", unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	require.NoError(t, err)
	fd.DecRef()
	// O_PATH|O_NOFOLLOW names the link itself.
	fd, err = e.open(e.root, "/d/l", unix.O_PATH|unix.O_NOFOLLOW, 0)
	require.NoError(t, err)
	st, err := fd.Inode().Stat()
	require.NoError(t, err)
	require.True(t, st.IsSymlink())
	_, err = fd.Read([][]byte{make([]byte, 1)})
	require.ErrorIs(t, err, unix.EBADF)
	fd.DecRef()
}

func TestOpenDirectoryFlag(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/f", "x", 0o644)
	e.symlink("f", "/lf")
	for _, p := range []string{"/f", "/lf"} {
		_, err := e.open(e.root, p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		require.ErrorIs(t, err, unix.ENOTDIR, p)
		_, err = e.open(e.root, p, unix.O_PATH|unix.O_DIRECTORY, 0)
		require.ErrorIs(t, err, unix.ENOTDIR, p)
	}
	fd, err := e.open(e.root, "/d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	require.NoError(t, err)
	fd.DecRef()
}

func TestWalkNameTooLong(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	long := strings.Repeat("x", 256)
	max := strings.Repeat("y", 255)

	_, err := e.stat("/" + long)
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
	_, err = e.stat("/" + long + "/f")
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
	_, err = e.open(e.root, "/d/"+long, unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/d/"+long, 0o755), unix.ENAMETOOLONG)
	require.ErrorIs(t, e.v.SymlinkAt(e.root, "t", e.root.Cwd, "/d/"+long), unix.ENAMETOOLONG)

	// NAME_MAX itself is fine.
	_, err = e.stat("/" + max)
	require.ErrorIs(t, err, unix.ENOENT)
	e.writeFile("/d/"+max, "ok", 0o644)
	require.Equal(t, "ok", e.readFile(e.root, "/d/"+max))

	// A path must fit in PATH_MAX with its terminating NUL.
	ok := strings.Repeat("./", 2046) + "d/" + max[:1]
	require.Len(t, ok, 4095)
	e.writeFile("/d/y", "short", 0o644)
	require.Equal(t, "short", e.readFile(e.root, ok))
	tooLong := strings.Repeat("./", 2047) + "d/y"
	require.Len(t, tooLong, 4097)
	_, err = e.stat(tooLong)
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
	exact := strings.Repeat("./", 2046) + "d//y"
	require.Len(t, exact, 4096)
	_, err = e.stat(exact)
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
	_, err = e.open(e.root, exact, unix.O_RDONLY, 0)
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
}

func TestWalkNotDirAndMissing(t *testing.T) {
	e := newEnv(t)
	e.writeFile("/f", "x", 0o644)
	e.mkdir("/d", 0o755)

	for _, p := range []string{"/f/x", "/f/x/y", "f/..", "/f/."} {
		_, err := e.stat(p)
		require.ErrorIs(t, err, unix.ENOTDIR, p)
	}
	_, err := e.open(e.root, "/f/x", unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.ENOTDIR)
	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/f/x", 0o755), unix.ENOTDIR)

	for _, p := range []string{"/missing", "/missing/x", "/d/missing", "/d/missing/"} {
		_, err := e.stat(p)
		require.ErrorIs(t, err, unix.ENOENT, p)
	}
	_, err = e.open(e.root, "/missing/x", unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.ENOENT)
}

func TestResolveBeneath(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/b", 0o755)
	e.writeFile("/a/f", "in", 0o644)
	e.writeFile("/top", "out", 0o644)
	e.symlink("/a/f", "/a/abs")
	e.symlink("../top", "/a/esc")
	e.symlink("b/../f", "/a/ok")
	start := e.resolve(e.root, "/a")
	o := vfs.Resolve{Beneath: true}

	for _, p := range []string{"f", "b/../f", "./b/.././f", "ok"} {
		vd, err := e.v.Resolve(e.root, start, p, o)
		require.NoError(t, err, p)
		st, _ := vd.Dentry.Inode().Stat()
		require.Equal(t, e.mustStat("/a/f").Ino, st.Ino, p)
	}
	for _, p := range []string{"..", "../top", "b/../../top", "/a/f", "/", "abs", "esc", "b/../.."} {
		_, err := e.v.Resolve(e.root, start, p, o)
		require.ErrorIs(t, err, unix.EXDEV, p)
	}
	_, err := e.v.OpenAt(e.root, start, "../top", unix.O_RDONLY, 0, o)
	require.ErrorIs(t, err, unix.EXDEV)
}

func TestResolveInRoot(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/b", 0o755)
	e.writeFile("/a/f", "in", 0o644)
	e.writeFile("/f", "out", 0o644)
	e.symlink("/f", "/a/abs")
	e.symlink("../../../f", "/a/b/up")
	start := e.resolve(e.root, "/a")
	o := vfs.Resolve{InRoot: true}

	for _, p := range []string{"f", "../f", "../../f", "/f", "/../f", "b/../../f", "abs", "b/up"} {
		fd, err := e.v.OpenAt(e.root, start, p, unix.O_RDONLY, 0, o)
		require.NoError(t, err, p)
		require.Equal(t, "in", readAll(t, fd), p)
		fd.DecRef()
	}
	vd, err := e.v.Resolve(e.root, start, "..", o)
	require.NoError(t, err)
	require.Equal(t, start, vd)
	// The caller's context is unchanged.
	require.Equal(t, "out", e.readFile(e.root, "/f"))
}

func TestResolveNoSymlinks(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/d/f", "x", 0o644)
	e.symlink("d", "/ld")
	e.symlink("f", "/d/lf")
	o := vfs.Resolve{NoSymlinks: true}
	for _, p := range []string{"/ld/f", "/d/lf", "/ld"} {
		_, err := e.v.Resolve(e.root, e.root.Cwd, p, o)
		require.ErrorIs(t, err, unix.ELOOP, p)
		_, err = e.v.OpenAt(e.root, e.root.Cwd, p, unix.O_RDONLY, 0, o)
		require.ErrorIs(t, err, unix.ELOOP, p)
	}
	_, err := e.v.Resolve(e.root, e.root.Cwd, "/d/f", o)
	require.NoError(t, err)
}

func TestResolveNoXdev(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/mnt", 0o755)
	e.writeFile("/f", "root", 0o644)
	e.mount("/mnt", false)
	e.writeFile("/mnt/x", "mnt", 0o644)
	o := vfs.Resolve{NoXdev: true}

	_, err := e.v.Resolve(e.root, e.root.Cwd, "/mnt/x", o)
	require.ErrorIs(t, err, unix.EXDEV)
	_, err = e.v.Resolve(e.root, e.root.Cwd, "/mnt", o)
	require.ErrorIs(t, err, unix.EXDEV)
	_, err = e.v.Resolve(e.root, e.root.Cwd, "/f", o)
	require.NoError(t, err)

	mnt := e.resolve(e.root, "/mnt")
	_, err = e.v.Resolve(e.root, mnt, "x", o)
	require.NoError(t, err)
	_, err = e.v.Resolve(e.root, mnt, "..", o)
	require.ErrorIs(t, err, unix.EXDEV)
	_, err = e.v.Resolve(e.root, mnt, "../f", o)
	require.ErrorIs(t, err, unix.EXDEV)
}

// An absolute symlink that jumps to another mount is a mount crossing too:
// Linux's nd_jump_root() fails with EXDEV under RESOLVE_NO_XDEV when the
// walk is not already on the root's mount (openat2(2): "RESOLVE_NO_XDEV
// Disallow traversal of mount points during path resolution (including all
// bind mounts)").
func TestResolveNoXdevAbsoluteSymlink(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/mnt", 0o755)
	e.writeFile("/f", "root", 0o644)
	e.mount("/mnt", false)
	e.symlink("/f", "/mnt/abs")
	mnt := e.resolve(e.root, "/mnt")
	_, err := e.v.Resolve(e.root, mnt, "abs", vfs.Resolve{NoXdev: true})
	require.ErrorIs(t, err, unix.EXDEV)
}

// --- permissions ---

func TestPermissionSearchDenied(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/p", 0o700)
	e.mkdir("/p/q", 0o777)
	e.writeFile("/p/q/f", "x", 0o644)
	e.mkdir("/r", 0o744) // readable but not searchable by others
	e.writeFile("/r/f", "x", 0o644)

	for _, p := range []string{"/p/q/f", "/p/q", "/p/.", "/r/f", "/p/q/../q/f"} {
		_, err := e.v.StatAt(e.user, e.user.Cwd, p, vfs.Resolve{})
		require.ErrorIs(t, err, unix.EACCES, p)
	}
	_, err := e.open(e.user, "/p/q/new", unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.EACCES)
	require.ErrorIs(t, e.v.UnlinkAt(e.user, e.user.Cwd, "/p/q/f"), unix.EACCES)
	// Stat of the directory itself needs search only on its parent.
	_, err = e.v.StatAt(e.user, e.user.Cwd, "/p", vfs.Resolve{})
	require.NoError(t, err)
	// Root bypasses it.
	require.Equal(t, "x", e.readFile(e.root, "/p/q/f"))
	// So does a member of the owning group with g+x.
	e.chmod("/p", 0o710)
	e.chown("/p", 0, 1000)
	_, err = e.v.StatAt(e.user, e.user.Cwd, "/p/q/f", vfs.Resolve{})
	require.NoError(t, err)
}

func TestPermissionWriteOnParent(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/ro", 0o755)
	e.writeFile("/ro/f", "x", 0o666)
	e.mkdir("/rw", 0o777)
	e.writeFile("/rw/f", "x", 0o600)

	_, err := e.open(e.user, "/ro/new", unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.EACCES)
	require.ErrorIs(t, e.v.MkdirAt(e.user, e.user.Cwd, "/ro/d", 0o755), unix.EACCES)
	require.ErrorIs(t, e.v.SymlinkAt(e.user, "x", e.user.Cwd, "/ro/l"), unix.EACCES)
	require.ErrorIs(t, e.v.UnlinkAt(e.user, e.user.Cwd, "/ro/f"), unix.EACCES)
	require.ErrorIs(t, e.v.LinkAt(e.user, e.user.Cwd, "/rw/f", false, e.user.Cwd, "/ro/g"), unix.EACCES)
	require.ErrorIs(t, e.v.RenameAt(e.user, e.user.Cwd, "/ro/f", e.user.Cwd, "/rw/g", 0), unix.EACCES)
	// Writing an existing file needs only the file's permission.
	fd, err := e.open(e.user, "/ro/f", unix.O_WRONLY, 0)
	require.NoError(t, err)
	fd.DecRef()

	// In a writable directory without the sticky bit anyone may remove.
	fd, err = e.open(e.user, "/rw/mine", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
	require.NoError(t, err)
	st, err := fd.Inode().Stat()
	require.NoError(t, err)
	require.EqualValues(t, 1000, st.UID)
	require.EqualValues(t, 1000, st.GID)
	fd.DecRef()
	require.NoError(t, e.v.UnlinkAt(e.user, e.user.Cwd, "/rw/f"))
	require.False(t, e.exists("/rw/f"))
}

func TestStickyBit(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/tmp", 0o1777)
	e.writeFile("/tmp/other", "x", 0o666)
	e.chown("/tmp/other", 2000, 2000)
	e.mkdir("/tmp/otherdir", 0o777)
	e.chown("/tmp/otherdir", 2000, 2000)
	fd, err := e.open(e.user, "/tmp/mine", unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.NoError(t, err)
	fd.DecRef()

	require.ErrorIs(t, e.v.UnlinkAt(e.user, e.user.Cwd, "/tmp/other"), unix.EPERM)
	require.ErrorIs(t, e.v.RmdirAt(e.user, e.user.Cwd, "/tmp/otherdir"), unix.EPERM)
	require.ErrorIs(t, e.v.RenameAt(e.user, e.user.Cwd, "/tmp/other", e.user.Cwd, "/tmp/x", 0), unix.EPERM)
	// Replacing someone else's file is removing it.
	require.ErrorIs(t, e.v.RenameAt(e.user, e.user.Cwd, "/tmp/mine", e.user.Cwd, "/tmp/other", 0), unix.EPERM)
	require.True(t, e.exists("/tmp/other"))

	require.NoError(t, e.v.UnlinkAt(e.user, e.user.Cwd, "/tmp/mine"))
	require.NoError(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/tmp/other"))

	// The directory's owner may remove anything in it.
	e.mkdir("/own", 0o1777)
	e.chown("/own", 1000, 1000)
	e.writeFile("/own/f", "x", 0o644)
	e.chown("/own/f", 2000, 2000)
	require.NoError(t, e.v.UnlinkAt(e.user, e.user.Cwd, "/own/f"))
}

func TestCheckPermission(t *testing.T) {
	root := &vfs.Creds{}
	user := &vfs.Creds{UID: 1000, GID: 1000, Groups: []uint32{50}}
	file := func(mode, uid, gid uint32) *vfs.Stat {
		return &vfs.Stat{Mode: unix.S_IFREG | mode, UID: uid, GID: gid}
	}
	dir := &vfs.Stat{Mode: unix.S_IFDIR, UID: 5, GID: 5}

	// Root bypasses read and write, and search of any directory...
	require.NoError(t, vfs.CheckPermission(root, file(0, 5, 5), vfs.MayRead|vfs.MayWrite))
	require.NoError(t, vfs.CheckPermission(root, dir, vfs.MayRead|vfs.MayWrite|vfs.MayExec))
	// ...but not execution of a file with no x bit at all.
	require.ErrorIs(t, vfs.CheckPermission(root, file(0o644, 0, 0), vfs.MayExec), unix.EACCES)
	for _, m := range []uint32{0o100, 0o010, 0o001} {
		require.NoError(t, vfs.CheckPermission(root, file(m, 5, 5), vfs.MayExec), "%o", m)
	}

	// The owner class applies to the owner even when it grants less.
	require.ErrorIs(t, vfs.CheckPermission(user, file(0o077, 1000, 1000), vfs.MayRead), unix.EACCES)
	require.NoError(t, vfs.CheckPermission(user, file(0o600, 1000, 5), vfs.MayRead|vfs.MayWrite))
	// Group class, through the primary and a supplementary group.
	require.NoError(t, vfs.CheckPermission(user, file(0o040, 5, 1000), vfs.MayRead))
	require.NoError(t, vfs.CheckPermission(user, file(0o060, 5, 50), vfs.MayRead|vfs.MayWrite))
	require.ErrorIs(t, vfs.CheckPermission(user, file(0o407, 5, 50), vfs.MayRead), unix.EACCES)
	// Other class.
	require.NoError(t, vfs.CheckPermission(user, file(0o005, 5, 5), vfs.MayRead|vfs.MayExec))
	require.ErrorIs(t, vfs.CheckPermission(user, file(0o005, 5, 5), vfs.MayWrite), unix.EACCES)
	require.ErrorIs(t, vfs.CheckPermission(user, dir, vfs.MayExec), unix.EACCES)
}

func TestOpenPermission(t *testing.T) {
	e := newEnv(t)
	e.writeFile("/secret", "s", 0o600)
	e.writeFile("/pub", "p", 0o644)
	e.writeFile("/noperm", "n", 0o000)

	_, err := e.open(e.user, "/secret", unix.O_RDONLY, 0)
	require.ErrorIs(t, err, unix.EACCES)
	_, err = e.open(e.user, "/pub", unix.O_WRONLY, 0)
	require.ErrorIs(t, err, unix.EACCES)
	_, err = e.open(e.user, "/pub", unix.O_RDONLY|unix.O_TRUNC, 0)
	require.ErrorIs(t, err, unix.EACCES)
	require.Equal(t, "p", e.readFile(e.user, "/pub"))
	// O_PATH needs no permission on the file.
	fd, err := e.open(e.user, "/secret", unix.O_PATH, 0)
	require.NoError(t, err)
	fd.DecRef()
	// Root reads and writes a file with no permission bits.
	fd, err = e.open(e.root, "/noperm", unix.O_RDWR, 0)
	require.NoError(t, err)
	fd.DecRef()
	// access(2) with X_OK for root on a non-executable file fails.
	require.ErrorIs(t, e.v.AccessAt(e.root, e.root.Cwd, "/pub", vfs.MayExec, vfs.Resolve{}), unix.EACCES)
}

// --- operations ---

func TestOpenCreateExcl(t *testing.T) {
	e := newEnv(t)
	e.root.Umask = 0o022
	fd, err := e.open(e.root, "/f", unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o666)
	require.NoError(t, err)
	fd.DecRef()
	st := e.mustStat("/f")
	require.True(t, st.IsRegular())
	require.EqualValues(t, 0o644, st.Mode&0o7777, "umask applies")

	_, err = e.open(e.root, "/f", unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o666)
	require.ErrorIs(t, err, unix.EEXIST)
	// O_EXCL with O_CREAT fails even on a dangling symlink.
	e.symlink("nowhere", "/dangling")
	_, err = e.open(e.root, "/dangling", unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o666)
	require.ErrorIs(t, err, unix.EEXIST)
	require.False(t, e.exists("/nowhere"))
	// Without O_EXCL the existing file is opened.
	fd, err = e.open(e.root, "/f", unix.O_RDWR|unix.O_CREAT, 0o600)
	require.NoError(t, err)
	fd.DecRef()
	require.EqualValues(t, 0o644, e.mustStat("/f").Mode&0o7777, "mode of an existing file is unchanged")
}

func TestOpenCreateThroughDanglingSymlink(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.symlink("target", "/d/rel")
	e.symlink("/d/abs-target", "/abs")
	e.symlink("rel", "/d/chain")

	for _, c := range []struct{ link, target string }{{"/d/rel", "/d/target"}, {"/abs", "/d/abs-target"}} {
		fd, err := e.open(e.root, c.link, unix.O_WRONLY|unix.O_CREAT, 0o644)
		require.NoError(t, err, c.link)
		_, err = fd.Write([][]byte{[]byte(c.link)})
		require.NoError(t, err)
		fd.DecRef()
		st, err := e.lstat(c.target)
		require.NoError(t, err, c.target)
		require.True(t, st.IsRegular())
		require.Equal(t, c.link, e.readFile(e.root, c.target))
		lst, err := e.lstat(c.link)
		require.NoError(t, err)
		require.True(t, lst.IsSymlink(), "the link stays a link")
	}
	// Through a chain whose end exists now.
	require.Equal(t, "/d/rel", e.readFile(e.root, "/d/chain"))
	// A dangling link into a missing directory.
	e.symlink("/missing/x", "/bad")
	_, err := e.open(e.root, "/bad", unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.ENOENT)
}

// open(2) with O_CREAT on an existing directory fails with EISDIR whatever
// the access mode: Linux's do_open() has "if (open_flag & O_CREAT) { ... if
// (d_is_dir(nd->path.dentry)) return -EISDIR; }".
func TestOpenCreateOnDirectory(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.symlink("d", "/ld")
	_, err := e.open(e.root, "/d/", unix.O_RDONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.EISDIR)
	_, err = e.open(e.root, "/d", unix.O_RDWR|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.EISDIR)
	_, err = e.open(e.root, "/d", unix.O_RDONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.EISDIR)
	_, err = e.open(e.root, "/ld", unix.O_RDONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.EISDIR)
}

func TestOpenTrunc(t *testing.T) {
	e := newEnv(t)
	e.writeFile("/f", "some data", 0o644)
	e.mkdir("/d", 0o755)
	fd, err := e.open(e.root, "/f", unix.O_WRONLY|unix.O_TRUNC, 0)
	require.NoError(t, err)
	require.EqualValues(t, 0, e.mustStat("/f").Size)
	_, err = fd.Write([][]byte{[]byte("ab")})
	require.NoError(t, err)
	fd.DecRef()
	require.Equal(t, "ab", e.readFile(e.root, "/f"))
	// O_TRUNC|O_CREAT of an existing file truncates too.
	fd, err = e.open(e.root, "/f", unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC, 0o644)
	require.NoError(t, err)
	fd.DecRef()
	require.EqualValues(t, 0, e.mustStat("/f").Size)
	_, err = e.open(e.root, "/d", unix.O_RDONLY|unix.O_TRUNC, 0)
	require.ErrorIs(t, err, unix.EISDIR)
	_, err = e.open(e.root, "/d", unix.O_WRONLY, 0)
	require.ErrorIs(t, err, unix.EISDIR)
}

func TestOpenAccessModes(t *testing.T) {
	e := newEnv(t)
	e.writeFile("/f", "abc", 0o644)
	_, err := e.open(e.root, "/f", unix.O_ACCMODE, 0)
	require.ErrorIs(t, err, unix.EINVAL)

	fd, err := e.open(e.root, "/f", unix.O_RDONLY, 0)
	require.NoError(t, err)
	_, err = fd.Write([][]byte{[]byte("x")})
	require.ErrorIs(t, err, unix.EBADF)
	_, err = fd.Pwrite([][]byte{[]byte("x")}, 0)
	require.ErrorIs(t, err, unix.EBADF)
	fd.DecRef()

	fd, err = e.open(e.root, "/f", unix.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fd.Read([][]byte{make([]byte, 3)})
	require.ErrorIs(t, err, unix.EBADF)
	_, err = fd.Pread([][]byte{make([]byte, 3)}, 0)
	require.ErrorIs(t, err, unix.EBADF)
	fd.DecRef()
}

func TestMkdirRmdir(t *testing.T) {
	e := newEnv(t)
	e.root.Umask = 0o022
	require.NoError(t, e.v.MkdirAt(e.root, e.root.Cwd, "/d", 0o777))
	st := e.mustStat("/d")
	require.True(t, st.IsDir())
	require.EqualValues(t, 0o755, st.Mode&0o7777)
	require.NoError(t, e.v.MkdirAt(e.root, e.root.Cwd, "/d/sub/", 0o755), "a trailing slash is fine for mkdir")
	e.writeFile("/f", "x", 0o644)
	e.symlink("d", "/ld")

	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/d", 0o755), unix.EEXIST)
	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/f", 0o755), unix.EEXIST)
	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/ld", 0o755), unix.EEXIST)
	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/", 0o755), unix.EEXIST)
	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/missing/x", 0o755), unix.ENOENT)

	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/d"), unix.ENOTEMPTY)
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/d/sub/."), unix.EINVAL)
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "."), unix.EINVAL)
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/d/sub/.."), unix.ENOTEMPTY)
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/f"), unix.ENOTDIR)
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/ld"), unix.ENOTDIR, "rmdir does not follow")
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/missing"), unix.ENOENT)
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/"), unix.EBUSY)

	require.NoError(t, e.v.RmdirAt(e.root, e.root.Cwd, "/d/sub/"))
	require.NoError(t, e.v.RmdirAt(e.root, e.root.Cwd, "/d"))
	_, err := e.stat("/d")
	require.ErrorIs(t, err, unix.ENOENT)

	e.mkdir("/mnt", 0o755)
	e.mount("/mnt", false)
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/mnt"), unix.EBUSY)
}

func TestUnlink(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/f", "x", 0o644)
	e.symlink("f", "/l")

	require.ErrorIs(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/d"), unix.EISDIR)
	require.ErrorIs(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/d/"), unix.EISDIR)
	require.ErrorIs(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/d/."), unix.EISDIR)
	require.ErrorIs(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/f/"), unix.ENOTDIR)
	require.ErrorIs(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/missing"), unix.ENOENT)

	// Unlinking a symlink removes the link, not its target.
	require.NoError(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/l"))
	require.False(t, e.exists("/l"))
	require.True(t, e.exists("/f"))
	require.NoError(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/f"))
	_, err := e.stat("/f")
	require.ErrorIs(t, err, unix.ENOENT)
	// The name can be reused at once.
	e.writeFile("/f", "new", 0o644)
	require.Equal(t, "new", e.readFile(e.root, "/f"))
}

func TestRenameFileOverFile(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/a", "A", 0o644)
	e.writeFile("/d/b", "B", 0o644)
	ino := e.mustStat("/a").Ino
	old, err := e.open(e.root, "/d/b", unix.O_RDONLY, 0)
	require.NoError(t, err)
	defer old.DecRef()

	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/a", e.root.Cwd, "/d/b", 0))
	require.False(t, e.exists("/a"))
	require.Equal(t, "A", e.readFile(e.root, "/d/b"))
	require.Equal(t, ino, e.mustStat("/d/b").Ino)
	// The replaced file lives on for its open description.
	require.Equal(t, "B", readAll(t, old))

	// Rename to a fresh name, and back.
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/b", e.root.Cwd, "/c", 0))
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/c", e.root.Cwd, "/d/b", 0))
	require.Equal(t, "A", e.readFile(e.root, "/d/b"))
	// Onto itself: nothing happens.
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/b", e.root.Cwd, "/d/b", 0))
	require.Equal(t, "A", e.readFile(e.root, "/d/b"))
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/missing", e.root.Cwd, "/x", 0), unix.ENOENT)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/b/", e.root.Cwd, "/x", 0), unix.ENOTDIR)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/b", e.root.Cwd, "/x/", 0), unix.ENOTDIR)
}

func TestRenameDirs(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.writeFile("/a/f", "x", 0o644)
	e.mkdir("/full", 0o755)
	e.writeFile("/full/g", "y", 0o644)
	e.mkdir("/empty", 0o755)

	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/a", e.root.Cwd, "/full", 0), unix.ENOTEMPTY)
	require.Equal(t, "x", e.readFile(e.root, "/a/f"))
	require.Equal(t, "y", e.readFile(e.root, "/full/g"))

	rootLinks := e.mustStat("/").Nlink
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/a", e.root.Cwd, "/empty", 0))
	require.False(t, e.exists("/a"))
	require.Equal(t, "x", e.readFile(e.root, "/empty/f"))
	require.Equal(t, rootLinks-1, e.mustStat("/").Nlink, "one directory fewer in /")

	// A directory moved into another directory, with a trailing slash.
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/empty/", e.root.Cwd, "/full/moved/", 0))
	require.Equal(t, "x", e.readFile(e.root, "/full/moved/f"))
	require.EqualValues(t, 3, e.mustStat("/full").Nlink)
	require.EqualValues(t, 3, e.mustStat("/").Nlink, "/ has only /full left")
}

func TestRenameNoReplace(t *testing.T) {
	e := newEnv(t)
	e.writeFile("/a", "A", 0o644)
	e.writeFile("/b", "B", 0o644)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/a", e.root.Cwd, "/b", unix.RENAME_NOREPLACE), unix.EEXIST)
	require.Equal(t, "A", e.readFile(e.root, "/a"))
	require.Equal(t, "B", e.readFile(e.root, "/b"))
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/a", e.root.Cwd, "/c", unix.RENAME_NOREPLACE))
	require.Equal(t, "A", e.readFile(e.root, "/c"))
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/c", e.root.Cwd, "/b", unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE), unix.EINVAL)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/c", e.root.Cwd, "/b", 1<<7), unix.EINVAL)
}

func TestRenameExchange(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/a", "A", 0o644)
	e.writeFile("/d/b", "B", 0o644)
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/a", e.root.Cwd, "/d/b", unix.RENAME_EXCHANGE))
	require.Equal(t, "B", e.readFile(e.root, "/a"))
	require.Equal(t, "A", e.readFile(e.root, "/d/b"))

	// A file and a directory trade places; link counts follow.
	e.mkdir("/dir", 0o755)
	e.writeFile("/dir/in", "in", 0o644)
	rootLinks := e.mustStat("/").Nlink
	dLinks := e.mustStat("/d").Nlink
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/dir", e.root.Cwd, "/d/b", unix.RENAME_EXCHANGE))
	require.True(t, e.mustStat("/d/b").IsDir())
	require.Equal(t, "in", e.readFile(e.root, "/d/b/in"))
	require.Equal(t, "A", e.readFile(e.root, "/dir"))
	require.Equal(t, rootLinks-1, e.mustStat("/").Nlink)
	require.Equal(t, dLinks+1, e.mustStat("/d").Nlink)
	require.Equal(t, e.mustStat("/d").Ino, e.mustStat("/d/b/..").Ino)

	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/a", e.root.Cwd, "/missing", unix.RENAME_EXCHANGE), unix.ENOENT)
	require.Equal(t, "B", e.readFile(e.root, "/a"))
}

// renameat2(2) with RENAME_EXCHANGE where the second path is an ancestor of
// the first must fail: "EINVAL The new pathname contained a path prefix of
// the old" (Linux: lock_rename's trap is new_dentry -> EINVAL for
// RENAME_EXCHANGE). The VFS checks only that the source is not an ancestor
// of the target's parent, so tmpfs makes a directory its own child.
func TestRenameExchangeWithAncestor(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/b", 0o755)
	err := e.v.RenameAt(e.root, e.root.Cwd, "/a/b", e.root.Cwd, "/a", unix.RENAME_EXCHANGE)
	require.ErrorIs(t, err, unix.EINVAL)
	require.True(t, e.mustStat("/a/b").IsDir())
	require.NotEqual(t, e.mustStat("/a").Ino, e.mustStat("/a/b").Ino)
}

func TestRenameTypeMismatch(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.mkdir("/e", 0o755)
	e.writeFile("/f", "x", 0o644)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/f", e.root.Cwd, "/d", 0), unix.EISDIR)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d", e.root.Cwd, "/f", 0), unix.ENOTDIR)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d", e.root.Cwd, "/d/sub", 0), unix.EINVAL)
	e.mkdir("/d/sub", 0o755)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d", e.root.Cwd, "/d/sub/x", 0), unix.EINVAL)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d", e.root.Cwd, "/d/sub", 0), unix.EINVAL)
	// The target an ancestor of the source: "not empty".
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/sub", e.root.Cwd, "/d", 0), unix.ENOTEMPTY)
	require.True(t, e.mustStat("/d/sub").IsDir())
	require.True(t, e.mustStat("/f").IsRegular())
}

// rename(2): "oldpath ... or newpath is ... '.' or '..'": Linux's
// do_renameat2() fails with EBUSY when either last component is not a
// normal name ("error = -EBUSY; if (old_type != LAST_NORM) goto exit2;"
// and likewise for new_type, EEXIST with RENAME_NOREPLACE).
func TestRenameDotComponents(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.mkdir("/d/s", 0o755)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/", e.root.Cwd, "/x", 0), unix.EBUSY)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/s/.", e.root.Cwd, "/x", 0), unix.EBUSY)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/s/..", e.root.Cwd, "/x", 0), unix.EBUSY)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/s", e.root.Cwd, "/d/.", 0), unix.EBUSY)
}

func TestRenameAcrossMounts(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/mnt", 0o755)
	e.writeFile("/f", "x", 0o644)
	e.mkdir("/d", 0o755)
	e.mount("/mnt", false)
	e.writeFile("/mnt/g", "y", 0o644)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/f", e.root.Cwd, "/mnt/f", 0), unix.EXDEV)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/mnt/g", e.root.Cwd, "/g", 0), unix.EXDEV)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/d", e.root.Cwd, "/mnt/d", 0), unix.EXDEV)
	// The mount point itself is busy.
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/mnt", e.root.Cwd, "/mnt2", 0), unix.EBUSY)
	require.Equal(t, "x", e.readFile(e.root, "/f"))
	require.Equal(t, "y", e.readFile(e.root, "/mnt/g"))
}

func TestRenameHardLinksIsNoop(t *testing.T) {
	e := newEnv(t)
	e.writeFile("/a", "x", 0o644)
	require.NoError(t, e.v.LinkAt(e.root, e.root.Cwd, "/a", false, e.root.Cwd, "/b"))
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/a", e.root.Cwd, "/b", 0))
	require.True(t, e.exists("/a"), "rename of two links to one file does nothing")
	require.True(t, e.exists("/b"))
	require.EqualValues(t, 2, e.mustStat("/a").Nlink)
}

// rename(2): "EACCES ... oldpath is a directory and does not allow write
// permission (needed to update the .. entry)". Linux's vfs_rename() checks
// inode_permission(source, MAY_WRITE) when a directory changes parent.
func TestRenameDirNeedsWriteToMoveParent(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/pub", 0o777)
	e.mkdir("/pub/theirs", 0o755) // owned by root, not writable by uid 1000
	e.mkdir("/pub/dst", 0o777)
	err := e.v.RenameAt(e.user, e.user.Cwd, "/pub/theirs", e.user.Cwd, "/pub/dst/theirs", 0)
	require.ErrorIs(t, err, unix.EACCES)
	// Within the same parent ".." does not change: allowed.
	require.NoError(t, e.v.RenameAt(e.user, e.user.Cwd, "/pub/theirs", e.user.Cwd, "/pub/renamed", 0))
}

func TestLink(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/f", "data", 0o644)
	e.symlink("f", "/l")
	require.EqualValues(t, 1, e.mustStat("/f").Nlink)

	require.NoError(t, e.v.LinkAt(e.root, e.root.Cwd, "/f", false, e.root.Cwd, "/d/g"))
	require.EqualValues(t, 2, e.mustStat("/f").Nlink)
	require.NoError(t, e.v.LinkAt(e.root, e.root.Cwd, "/d/g", false, e.root.Cwd, "/h"))
	require.EqualValues(t, 3, e.mustStat("/h").Nlink)
	require.Equal(t, e.mustStat("/f").Ino, e.mustStat("/d/g").Ino)

	fd, err := e.open(e.root, "/d/g", unix.O_WRONLY|unix.O_APPEND, 0)
	require.NoError(t, err)
	_, err = fd.Write([][]byte{[]byte("+more")})
	require.NoError(t, err)
	fd.DecRef()
	require.Equal(t, "data+more", e.readFile(e.root, "/f"))

	require.NoError(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/f"))
	require.EqualValues(t, 2, e.mustStat("/h").Nlink)
	require.Equal(t, "data+more", e.readFile(e.root, "/h"))

	// Link to the symlink itself, or (following) to its target.
	require.NoError(t, e.v.LinkAt(e.root, e.root.Cwd, "/l", false, e.root.Cwd, "/l2"))
	lst, err := e.lstat("/l2")
	require.NoError(t, err)
	require.True(t, lst.IsSymlink())
	require.NoError(t, e.v.LinkAt(e.root, e.root.Cwd, "/l2", false, e.root.Cwd, "/l3"))
	e.writeFile("/f", "again", 0o644)
	require.NoError(t, e.v.LinkAt(e.root, e.root.Cwd, "/l", true, e.root.Cwd, "/f2"))
	require.Equal(t, e.mustStat("/f").Ino, e.mustStat("/f2").Ino)
	lst, err = e.lstat("/f2")
	require.NoError(t, err)
	require.True(t, lst.IsRegular())

	require.ErrorIs(t, e.v.LinkAt(e.root, e.root.Cwd, "/d", false, e.root.Cwd, "/d2"), unix.EPERM)
	require.ErrorIs(t, e.v.LinkAt(e.root, e.root.Cwd, "/h", false, e.root.Cwd, "/f2"), unix.EEXIST)
	require.ErrorIs(t, e.v.LinkAt(e.root, e.root.Cwd, "/missing", false, e.root.Cwd, "/x"), unix.ENOENT)
	require.ErrorIs(t, e.v.LinkAt(e.root, e.root.Cwd, "/h", false, e.root.Cwd, "/missing/x"), unix.ENOENT)

	e.mkdir("/mnt", 0o755)
	e.mount("/mnt", false)
	require.ErrorIs(t, e.v.LinkAt(e.root, e.root.Cwd, "/h", false, e.root.Cwd, "/mnt/h"), unix.EXDEV)
	e.writeFile("/mnt/x", "x", 0o644)
	require.ErrorIs(t, e.v.LinkAt(e.root, e.root.Cwd, "/mnt/x", false, e.root.Cwd, "/x"), unix.EXDEV)
}

func TestSymlinkReadlink(t *testing.T) {
	e := newEnv(t)
	e.writeFile("/f", "x", 0o644)
	for _, target := range []string{"f", "/f", "../../x/./y//", "no such file", strings.Repeat("z", 300)} {
		p := "/l" + itoa(len(target))
		require.NoError(t, e.v.SymlinkAt(e.root, target, e.root.Cwd, p))
		got, err := e.v.ReadlinkAt(e.root, e.root.Cwd, p)
		require.NoError(t, err)
		require.Equal(t, target, got, "readlink returns the target verbatim")
		lst, err := e.lstat(p)
		require.NoError(t, err)
		require.EqualValues(t, len(target), lst.Size)
		require.EqualValues(t, 0o777, lst.Mode&0o777)
	}
	_, err := e.v.ReadlinkAt(e.root, e.root.Cwd, "/f")
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = e.v.ReadlinkAt(e.root, e.root.Cwd, "/missing")
	require.ErrorIs(t, err, unix.ENOENT)
	require.ErrorIs(t, e.v.SymlinkAt(e.root, "x", e.root.Cwd, "/f"), unix.EEXIST)
	require.ErrorIs(t, e.v.SymlinkAt(e.root, "", e.root.Cwd, "/empty"), unix.ENOENT)
	require.ErrorIs(t, e.v.SymlinkAt(e.root, "x", e.root.Cwd, "/new/"), unix.ENOENT)
	require.ErrorIs(t, e.v.SymlinkAt(e.root, strings.Repeat("t", 4096), e.root.Cwd, "/long"), unix.ENAMETOOLONG)
}

func TestReadOnlyMount(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/ro", 0o755)
	m := e.mount("/ro", false)
	e.writeFile("/ro/f", "x", 0o644)
	e.mkdir("/ro/d", 0o755)
	m.ReadOnly = true

	_, err := e.open(e.root, "/ro/new", unix.O_WRONLY|unix.O_CREAT, 0o644)
	require.ErrorIs(t, err, unix.EROFS)
	for _, fl := range []int{unix.O_WRONLY, unix.O_RDWR, unix.O_RDONLY | unix.O_TRUNC, unix.O_WRONLY | unix.O_CREAT} {
		_, err = e.open(e.root, "/ro/f", fl, 0o644)
		require.ErrorIs(t, err, unix.EROFS, "flags %#x", fl)
	}
	require.Equal(t, "x", e.readFile(e.root, "/ro/f"))
	fd, err := e.open(e.root, "/ro/f", unix.O_RDONLY|unix.O_CREAT, 0o644)
	require.NoError(t, err, "O_CREAT of an existing file only opens it")
	fd.DecRef()
	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/ro/x", 0o755), unix.EROFS)
	require.ErrorIs(t, e.v.SymlinkAt(e.root, "t", e.root.Cwd, "/ro/x"), unix.EROFS)
	require.ErrorIs(t, e.v.MknodAt(e.root, e.root.Cwd, "/ro/x", unix.S_IFIFO|0o644, 0), unix.EROFS)
	require.ErrorIs(t, e.v.LinkAt(e.root, e.root.Cwd, "/ro/f", false, e.root.Cwd, "/ro/g"), unix.EROFS)
	require.ErrorIs(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/ro/f"), unix.EROFS)
	require.ErrorIs(t, e.v.RmdirAt(e.root, e.root.Cwd, "/ro/d"), unix.EROFS)
	require.ErrorIs(t, e.v.RenameAt(e.root, e.root.Cwd, "/ro/f", e.root.Cwd, "/ro/g", 0), unix.EROFS)
	require.ErrorIs(t, e.v.AccessAt(e.root, e.root.Cwd, "/ro/f", vfs.MayWrite, vfs.Resolve{}), unix.EROFS)
	require.ErrorIs(t, vfs.SetStatChecked(e.root, e.resolve(e.root, "/ro/f"), vfs.SetStat{Mask: vfs.SetMode, Mode: 0o600}, false), unix.EROFS)
	// Existing names still report EEXIST first.
	require.ErrorIs(t, e.v.MkdirAt(e.root, e.root.Cwd, "/ro/d", 0o755), unix.EEXIST)
}

func TestPathOf(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/mnt", 0o755)
	e.mount("/a/mnt", false)
	e.mkdir("/a/mnt/sub", 0o755)
	e.writeFile("/a/mnt/sub/f", "x", 0o644)
	e.mkdir("/b", 0o755)

	root := e.ns.Root()
	for _, p := range []string{"/", "/a", "/a/mnt", "/a/mnt/sub", "/a/mnt/sub/f"} {
		got, ok := e.v.PathOf(root, e.resolve(e.root, p))
		require.True(t, ok, p)
		require.Equal(t, p, got)
	}
	got, ok := e.v.PathOf(root, e.resolve(e.root, "/a/mnt/sub/.."))
	require.True(t, ok)
	require.Equal(t, "/a/mnt", got)

	// Seen from a chroot at /a.
	aRoot := e.resolve(e.root, "/a")
	got, ok = e.v.PathOf(aRoot, e.resolve(e.root, "/a/mnt/sub/f"))
	require.True(t, ok)
	require.Equal(t, "/mnt/sub/f", got)
	_, ok = e.v.PathOf(aRoot, e.resolve(e.root, "/b"))
	require.False(t, ok, "/b is outside the chroot")

	fd, err := e.open(e.root, "/a/mnt/sub/f", unix.O_RDONLY, 0)
	require.NoError(t, err)
	defer fd.DecRef()
	got, ok = e.v.PathOf(root, fd.VirtualDentry())
	require.True(t, ok)
	require.Equal(t, "/a/mnt/sub/f", got)
	require.NoError(t, e.v.UnlinkAt(e.root, e.root.Cwd, "/a/mnt/sub/f"))
	got, ok = e.v.PathOf(root, fd.VirtualDentry())
	require.True(t, ok)
	require.Equal(t, "/a/mnt/sub/f (deleted)", got)
	require.Equal(t, "x", readAll(t, fd))
}

// After rename(2) an open file keeps its identity: /proc/self/fd/N (d_path)
// shows the new name, without " (deleted)". The VFS marks the renamed
// dentry dead instead of moving it.
func TestPathOfAfterRename(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	e.writeFile("/d/old", "x", 0o644)
	fd, err := e.open(e.root, "/d/old", unix.O_RDONLY, 0)
	require.NoError(t, err)
	defer fd.DecRef()
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/d/old", e.root.Cwd, "/new", 0))
	got, ok := e.v.PathOf(e.ns.Root(), fd.VirtualDentry())
	require.True(t, ok)
	require.Equal(t, "/new", got)
}

// A process whose working directory is renamed keeps working in it
// (path_resolution(7): the cwd is a reference to the directory, not a
// path). Here the cwd's dentry is marked dead by the rename (and keeps its
// old parent pointer), so ".." still leads to the old parent and O_CREAT
// fails with ENOENT.
func moveCwd(t *testing.T) (*env, *vfs.Context) {
	e := newEnv(t)
	e.mkdir("/a", 0o755)
	e.mkdir("/a/w", 0o755)
	e.mkdir("/b", 0o755)
	ctx := e.withCwd(e.root, "/a/w")
	require.NoError(t, e.v.RenameAt(e.root, e.root.Cwd, "/a/w", e.root.Cwd, "/b/w", 0))
	return e, ctx
}

func TestRenamedCwdDotDotIsNewParent(t *testing.T) {
	e, ctx := moveCwd(t)
	st, err := e.v.StatAt(ctx, ctx.Cwd, "..", vfs.Resolve{})
	require.NoError(t, err)
	require.Equal(t, e.mustStat("/b").Ino, st.Ino, "'..' of the moved cwd is its new parent")
	got, ok := e.v.PathOf(e.ns.Root(), ctx.Cwd)
	require.True(t, ok)
	require.Equal(t, "/b/w", got, "getcwd(3) after the move")
}

func TestRenamedCwdStillUsable(t *testing.T) {
	e, ctx := moveCwd(t)
	fd, err := e.v.OpenAt(ctx, ctx.Cwd, "created", unix.O_WRONLY|unix.O_CREAT, 0o644, vfs.Resolve{})
	require.NoError(t, err)
	fd.DecRef()
	require.True(t, e.exists("/b/w/created"))
	require.NoError(t, e.v.MkdirAt(ctx, ctx.Cwd, "sub", 0o755))
	require.True(t, e.exists("/b/w/sub"))
}

func TestFileReadWriteSeek(t *testing.T) {
	e := newEnv(t)
	fd, err := e.open(e.root, "/f", unix.O_RDWR|unix.O_CREAT, 0o644)
	require.NoError(t, err)
	defer fd.DecRef()

	n, err := fd.Write([][]byte{[]byte("hello "), []byte("world")})
	require.NoError(t, err)
	require.Equal(t, 11, n)
	off, err := fd.Seek(0, unix.SEEK_CUR)
	require.NoError(t, err)
	require.EqualValues(t, 11, off)

	buf := make([]byte, 5)
	off, err = fd.Seek(6, unix.SEEK_SET)
	require.NoError(t, err)
	require.EqualValues(t, 6, off)
	n, err = fd.Read([][]byte{buf})
	require.NoError(t, err)
	require.Equal(t, "world", string(buf[:n]))
	n, err = fd.Read([][]byte{buf})
	require.NoError(t, err)
	require.Zero(t, n, "EOF")

	off, err = fd.Seek(-5, unix.SEEK_END)
	require.NoError(t, err)
	require.EqualValues(t, 6, off)
	off, err = fd.Seek(-6, unix.SEEK_CUR)
	require.NoError(t, err)
	require.EqualValues(t, 0, off)
	_, err = fd.Seek(-1, unix.SEEK_SET)
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = fd.Seek(-100, unix.SEEK_END)
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = fd.Seek(0, 42)
	require.ErrorIs(t, err, unix.EINVAL)

	// Pread and Pwrite leave the offset alone.
	n, err = fd.Pwrite([][]byte{[]byte("HELLO")}, 0)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = fd.Pread([][]byte{buf}, 6)
	require.NoError(t, err)
	require.Equal(t, "world", string(buf[:n]))
	off, err = fd.Seek(0, unix.SEEK_CUR)
	require.NoError(t, err)
	require.EqualValues(t, 0, off)
	require.Equal(t, "HELLO world", readAll(t, fd))

	// Seeking past the end and writing leaves a hole of zeroes.
	_, err = fd.Seek(20, unix.SEEK_SET)
	require.NoError(t, err)
	_, err = fd.Write([][]byte{[]byte("!")})
	require.NoError(t, err)
	all := make([]byte, 30)
	n, err = fd.Pread([][]byte{all}, 0)
	require.NoError(t, err)
	require.Equal(t, "HELLO world\x00\x00\x00\x00\x00\x00\x00\x00\x00!", string(all[:n]))
}

func TestAppend(t *testing.T) {
	e := newEnv(t)
	e.writeFile("/f", "abc", 0o644)
	fd, err := e.open(e.root, "/f", unix.O_RDWR|unix.O_APPEND, 0)
	require.NoError(t, err)
	defer fd.DecRef()
	_, err = fd.Seek(0, unix.SEEK_SET)
	require.NoError(t, err)
	_, err = fd.Write([][]byte{[]byte("def")})
	require.NoError(t, err)
	off, err := fd.Seek(0, unix.SEEK_CUR)
	require.NoError(t, err)
	require.EqualValues(t, 6, off)
	// pwrite(2): "if the file is opened with O_APPEND, pwrite() appends
	// data to the end of the file, regardless of the value of offset".
	_, err = fd.Pwrite([][]byte{[]byte("ghi")}, 0)
	require.NoError(t, err)
	require.Equal(t, "abcdefghi", e.readFile(e.root, "/f"))

	// Another writer extended the file: O_APPEND follows the real end.
	other, err := e.open(e.root, "/f", unix.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = other.Pwrite([][]byte{[]byte("JKL")}, 9)
	require.NoError(t, err)
	other.DecRef()
	_, err = fd.Write([][]byte{[]byte("m")})
	require.NoError(t, err)
	require.Equal(t, "abcdefghiJKLm", e.readFile(e.root, "/f"))

	// F_SETFL can clear O_APPEND.
	fd.SetStatusFlags(0)
	_, err = fd.Seek(0, unix.SEEK_SET)
	require.NoError(t, err)
	_, err = fd.Write([][]byte{[]byte("A")})
	require.NoError(t, err)
	require.Equal(t, "AbcdefghiJKLm", e.readFile(e.root, "/f"))
}

func TestReadDir(t *testing.T) {
	e := newEnv(t)
	e.mkdir("/d", 0o755)
	want := map[string]uint8{".": unix.DT_DIR, "..": unix.DT_DIR}
	for i := 0; i < 25; i++ {
		name := "f" + itoa(i)
		e.writeFile("/d/"+name, "x", 0o644)
		want[name] = unix.DT_REG
	}
	e.mkdir("/d/sub", 0o755)
	want["sub"] = unix.DT_DIR
	e.symlink("f0", "/d/link")
	want["link"] = unix.DT_LNK
	require.NoError(t, e.v.MknodAt(e.root, e.root.Cwd, "/d/fifo", unix.S_IFIFO|0o644, 0))
	want["fifo"] = unix.DT_FIFO

	fd, err := e.open(e.root, "/d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	require.NoError(t, err)
	defer fd.DecRef()

	read := func() map[string]vfs.Dirent {
		got := make(map[string]vfs.Dirent)
		for {
			batch := 0
			require.NoError(t, fd.ReadDir(func(d vfs.Dirent, next int64) bool {
				if batch == 4 { // a small getdents buffer
					return false
				}
				batch++
				_, dup := got[d.Name]
				require.False(t, dup, "%q listed twice", d.Name)
				got[d.Name] = d
				return true
			}))
			if batch == 0 {
				return got
			}
		}
	}
	got := read()
	require.Len(t, got, len(want))
	for name, typ := range want {
		require.Contains(t, got, name)
		require.Equal(t, typ, got[name].Type, name)
	}
	require.Equal(t, e.mustStat("/d").Ino, got["."].Ino)
	require.Equal(t, e.mustStat("/").Ino, got[".."].Ino)
	require.Equal(t, e.mustStat("/d/f7").Ino, got["f7"].Ino)

	// Rewinding lists everything again, including a new entry.
	_, err = fd.Seek(0, unix.SEEK_SET)
	require.NoError(t, err)
	e.writeFile("/d/late", "x", 0o644)
	again := read()
	require.Len(t, again, len(want)+1)
	require.Contains(t, again, "late")

	// Reading a directory as a file is EISDIR.
	_, err = fd.Read([][]byte{make([]byte, 10)})
	require.ErrorIs(t, err, unix.EISDIR)
	// ReadDir of a regular file fails.
	f, err := e.open(e.root, "/d/f1", unix.O_RDONLY, 0)
	require.NoError(t, err)
	defer f.DecRef()
	require.ErrorIs(t, f.ReadDir(func(vfs.Dirent, int64) bool { return true }), unix.ENOTDIR)
}

func TestReadDirRootDotDot(t *testing.T) {
	e := newEnv(t)
	fd, err := e.open(e.root, "/", unix.O_RDONLY, 0)
	require.NoError(t, err)
	defer fd.DecRef()
	var names []string
	var inos []uint64
	require.NoError(t, fd.ReadDir(func(d vfs.Dirent, _ int64) bool {
		names = append(names, d.Name)
		inos = append(inos, d.Ino)
		return true
	}))
	sort.Strings(names)
	require.Equal(t, []string{".", ".."}, names)
	require.Equal(t, inos[0], inos[1], "'..' of the root is the root")
}

func TestMknod(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.v.MknodAt(e.root, e.root.Cwd, "/reg", 0o644, 0))
	require.True(t, e.mustStat("/reg").IsRegular())
	require.ErrorIs(t, e.v.MknodAt(e.root, e.root.Cwd, "/dir", unix.S_IFDIR|0o755, 0), unix.EPERM)
	require.ErrorIs(t, e.v.MknodAt(e.user, e.user.Cwd, "/chr", unix.S_IFCHR|0o644, 0x0101), unix.EPERM)
	require.ErrorIs(t, e.v.MknodAt(e.root, e.root.Cwd, "/reg", 0o644, 0), unix.EEXIST)
	require.NoError(t, e.v.MknodAt(e.root, e.root.Cwd, "/chr", unix.S_IFCHR|0o644, 0x0103))
	st := e.mustStat("/chr")
	require.EqualValues(t, unix.S_IFCHR, st.Type())
	require.EqualValues(t, 0x0103, st.Rdev)
}
