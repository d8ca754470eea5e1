package overlay_test

import (
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/overlay"
	"sbx/fs/tmpfs"
	"sbx/fs/vfs"
)

// memFile is an in-process vfs.MemoryFile for the tmpfs layers.
type memFile struct {
	mu    sync.Mutex
	next  int64
	pages map[int64][]byte
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
		if _, ok := m.pages[p]; !ok {
			panic("memFile: free of a page not allocated")
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

// view is one filesystem tree seen through its own VFS as root.
type view struct {
	t   *testing.T
	v   *vfs.VFS
	ctx *vfs.Context
}

func newView(t *testing.T, root *vfs.Dentry, fstype string) *view {
	ns := vfs.NewMountNamespace(root, fstype, "none", false)
	r := ns.Root()
	return &view{t: t, v: &vfs.VFS{NS: ns}, ctx: &vfs.Context{Creds: &vfs.Creds{}, Root: r, Cwd: r}}
}

func (w *view) open(path string, flags int) (*vfs.FileDescription, error) {
	return w.v.OpenAt(w.ctx, w.ctx.Cwd, path, flags, 0o644, vfs.Resolve{})
}

func (w *view) write(path, data string) {
	w.t.Helper()
	fd, err := w.open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC)
	require.NoError(w.t, err, path)
	defer fd.DecRef()
	_, err = fd.Write([][]byte{[]byte(data)})
	require.NoError(w.t, err)
}

func (w *view) read(path string) string {
	w.t.Helper()
	fd, err := w.open(path, unix.O_RDONLY)
	require.NoError(w.t, err, path)
	defer fd.DecRef()
	var out []byte
	buf := make([]byte, 100)
	for {
		n, err := fd.Read([][]byte{buf})
		require.NoError(w.t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func (w *view) mkdir(path string) {
	w.t.Helper()
	require.NoError(w.t, w.v.MkdirAt(w.ctx, w.ctx.Cwd, path, 0o755), path)
}

func (w *view) lstat(path string) (vfs.Stat, error) {
	return w.v.StatAt(w.ctx, w.ctx.Cwd, path, vfs.Resolve{NoFollow: true})
}

func (w *view) mustLstat(path string) vfs.Stat {
	w.t.Helper()
	st, err := w.lstat(path)
	require.NoError(w.t, err, path)
	return st
}

func (w *view) exists(path string) bool {
	_, err := w.lstat(path)
	return err == nil
}

// list returns the names in a directory (without "." and ".."), failing on
// a name listed twice.
func (w *view) list(path string) []string {
	w.t.Helper()
	fd, err := w.open(path, unix.O_RDONLY|unix.O_DIRECTORY)
	require.NoError(w.t, err, path)
	defer fd.DecRef()
	seen := make(map[string]bool)
	var out []string
	require.NoError(w.t, fd.ReadDir(func(d vfs.Dirent, _ int64) bool {
		require.False(w.t, seen[d.Name], "%s listed twice in %s", d.Name, path)
		seen[d.Name] = true
		if d.Name != "." && d.Name != ".." {
			out = append(out, d.Name)
		}
		return true
	}))
	sort.Strings(out)
	return out
}

func (w *view) inode(path string) vfs.Inode {
	w.t.Helper()
	vd, err := w.v.Resolve(w.ctx, w.ctx.Cwd, path, vfs.Resolve{NoFollow: true})
	require.NoError(w.t, err, path)
	return vd.Dentry.Inode()
}

// env is an overlay of an empty tmpfs on a pre-filled one.
type env struct {
	t            *testing.T
	ov           *view // the overlay
	lower, upper *view // each layer on its own
}

func newEnv(t *testing.T) *env {
	mf := newMemFile()
	_, lroot := tmpfs.New(mf, 0o755, vfs.Owner{})
	_, uroot := tmpfs.New(mf, 0o755, vfs.Owner{})
	lower := newView(t, lroot, "tmpfs")
	lower.write("/f", "lower-f")
	lower.mkdir("/d")
	lower.write("/d/g", "lower-g")
	lower.mkdir("/d/sub")
	lower.write("/d/sub/h", "lower-h")
	lower.mkdir("/empty")
	require.NoError(t, lower.v.SymlinkAt(lower.ctx, "f", lower.ctx.Cwd, "/l"))
	require.NoError(t, lower.v.SymlinkAt(lower.ctx, "d", lower.ctx.Cwd, "/ld"))
	require.NoError(t, lower.inode("/d/g").SetStat(vfs.SetStat{Mask: vfs.SetMode | vfs.SetUID | vfs.SetGID, Mode: 0o640, UID: 5, GID: 6}))

	return &env{
		t:     t,
		ov:    newView(t, overlay.New(uroot.Inode(), lroot.Inode()), "overlay"),
		lower: lower,
		upper: newView(t, uroot, "tmpfs"),
	}
}

// lowerIntact checks the lower layer still has exactly what newEnv put in.
func (e *env) lowerIntact() {
	e.t.Helper()
	require.Equal(e.t, []string{"d", "empty", "f", "l", "ld"}, e.lower.list("/"))
	require.Equal(e.t, []string{"g", "sub"}, e.lower.list("/d"))
	require.Equal(e.t, []string{"h"}, e.lower.list("/d/sub"))
	require.Equal(e.t, "lower-f", e.lower.read("/f"))
	require.Equal(e.t, "lower-g", e.lower.read("/d/g"))
	require.Equal(e.t, "lower-h", e.lower.read("/d/sub/h"))
	require.EqualValues(e.t, 0o640, e.lower.mustLstat("/d/g").Mode&0o7777)
}

// isWhiteout reports whether the upper layer has a whiteout at path.
func (e *env) isWhiteout(path string) bool {
	st, err := e.upper.lstat(path)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

func (e *env) rename(from, to string, flags uint) error {
	return e.ov.v.RenameAt(e.ov.ctx, e.ov.ctx.Cwd, from, e.ov.ctx.Cwd, to, flags)
}

func (e *env) unlink(path string) error {
	return e.ov.v.UnlinkAt(e.ov.ctx, e.ov.ctx.Cwd, path)
}

func TestReadsComeFromLower(t *testing.T) {
	e := newEnv(t)
	require.Equal(t, "lower-f", e.ov.read("/f"))
	require.Equal(t, "lower-g", e.ov.read("/d/g"))
	require.Equal(t, "lower-h", e.ov.read("/d/sub/h"))
	require.Equal(t, "lower-f", e.ov.read("/l"))
	require.Equal(t, "lower-g", e.ov.read("/ld/g"))
	target, err := e.ov.v.ReadlinkAt(e.ov.ctx, e.ov.ctx.Cwd, "/l")
	require.NoError(t, err)
	require.Equal(t, "f", target)

	st := e.ov.mustLstat("/d/g")
	require.EqualValues(t, unix.S_IFREG|0o640, st.Mode)
	require.EqualValues(t, 5, st.UID)
	require.EqualValues(t, 6, st.GID)
	require.EqualValues(t, 7, st.Size)
	require.Equal(t, e.lower.mustLstat("/d/g").Ino, st.Ino)
	require.EqualValues(t, unix.S_IFLNK, e.ov.mustLstat("/l").Mode&unix.S_IFMT)
	require.Equal(t, []string{"d", "empty", "f", "l", "ld"}, e.ov.list("/"))
	require.Equal(t, []string{"g", "sub"}, e.ov.list("/d"))
	_, err = e.ov.lstat("/nope")
	require.ErrorIs(t, err, unix.ENOENT)
	_, err = e.ov.lstat("/f/x")
	require.ErrorIs(t, err, unix.ENOTDIR)

	require.Empty(t, e.upper.list("/"), "reading copies nothing up")
	// Every overlay file reports the overlay's device.
	require.Equal(t, e.ov.mustLstat("/").Dev, st.Dev)
	sfs, err := e.ov.inode("/").StatFS()
	require.NoError(t, err)
	require.EqualValues(t, 0x794c7630, sfs.Type)
}

func TestWriteCopiesUp(t *testing.T) {
	e := newEnv(t)
	before := e.ov.mustLstat("/d/g")
	fd, err := e.ov.open("/d/g", unix.O_RDWR)
	require.NoError(t, err)
	_, err = fd.Pwrite([][]byte{[]byte("UPPER")}, 0)
	require.NoError(t, err)
	fd.DecRef()

	require.Equal(t, "UPPER-g", e.ov.read("/d/g"))
	require.Equal(t, "UPPER-g", e.upper.read("/d/g"))
	require.True(t, e.upper.mustLstat("/d").Mode&unix.S_IFMT == unix.S_IFDIR, "the parent was copied up")
	after := e.ov.mustLstat("/d/g")
	require.Equal(t, before.Ino, after.Ino, "st_ino is stable across copy-up")
	require.Equal(t, before.Mode, after.Mode)
	require.Equal(t, before.UID, after.UID)
	require.Equal(t, before.GID, after.GID)
	// The rest of the directory is still there.
	require.Equal(t, []string{"g", "sub"}, e.ov.list("/d"))
	require.Equal(t, "lower-h", e.ov.read("/d/sub/h"))

	// O_TRUNC copies up (as an empty file).
	fd, err = e.ov.open("/f", unix.O_WRONLY|unix.O_TRUNC)
	require.NoError(t, err)
	fd.DecRef()
	require.Equal(t, "", e.ov.read("/f"))
	require.True(t, e.upper.exists("/f"))
	e.lowerIntact()
}

func TestUnlinkLowerFileHides(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.unlink("/f"))
	_, err := e.ov.lstat("/f")
	require.ErrorIs(t, err, unix.ENOENT)
	_, err = e.ov.open("/f", unix.O_RDONLY)
	require.ErrorIs(t, err, unix.ENOENT)
	_, err = e.ov.lstat("/l/")
	require.ErrorIs(t, err, unix.ENOENT, "the symlink now dangles")
	require.Equal(t, []string{"d", "empty", "l", "ld"}, e.ov.list("/"))
	require.True(t, e.isWhiteout("/f"))
	require.ErrorIs(t, e.unlink("/f"), unix.ENOENT)

	require.NoError(t, e.unlink("/d/sub/h"))
	require.Empty(t, e.ov.list("/d/sub"))
	require.True(t, e.isWhiteout("/d/sub/h"))
	require.ErrorIs(t, e.unlink("/d"), unix.EISDIR)
	e.lowerIntact()
}

func TestRmdirLowerDirThenMkdirIsOpaque(t *testing.T) {
	e := newEnv(t)
	require.ErrorIs(t, e.ov.v.RmdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d"), unix.ENOTEMPTY)
	require.NoError(t, e.unlink("/d/sub/h"))
	require.NoError(t, e.ov.v.RmdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d/sub"))
	require.ErrorIs(t, e.ov.v.RmdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d"), unix.ENOTEMPTY)
	require.NoError(t, e.unlink("/d/g"))
	require.Empty(t, e.ov.list("/d"))
	require.NoError(t, e.ov.v.RmdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d"))
	_, err := e.ov.lstat("/d")
	require.ErrorIs(t, err, unix.ENOENT)
	require.True(t, e.isWhiteout("/d"))
	require.NoError(t, e.ov.v.RmdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/empty"))
	require.Equal(t, []string{"f", "l", "ld"}, e.ov.list("/"))

	// A new directory in its place hides the old lower entries.
	e.ov.mkdir("/d")
	require.Empty(t, e.ov.list("/d"))
	for _, p := range []string{"/d/g", "/d/sub", "/d/sub/h", "/ld/g"} {
		_, err := e.ov.lstat(p)
		require.ErrorIs(t, err, unix.ENOENT, p)
	}
	e.ov.write("/d/g", "new-g")
	require.Equal(t, "new-g", e.ov.read("/d/g"))
	require.Equal(t, []string{"g"}, e.ov.list("/d"))
	// The opaque marker is internal.
	_, err = e.ov.inode("/d").Getxattr("trusted.overlay.opaque")
	require.ErrorIs(t, err, unix.ENODATA)
	names, err := e.ov.inode("/d").Listxattr()
	require.NoError(t, err)
	require.Empty(t, names)
	require.ErrorIs(t, e.ov.inode("/d").Setxattr("trusted.overlay.opaque", []byte("y"), 0), unix.EPERM)
	e.lowerIntact()
}

func TestRenameLowerFile(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.rename("/f", "/d/f2", 0))
	require.Equal(t, "lower-f", e.ov.read("/d/f2"))
	_, err := e.ov.lstat("/f")
	require.ErrorIs(t, err, unix.ENOENT)
	require.True(t, e.isWhiteout("/f"), "the old name is whited out")
	require.Equal(t, []string{"d", "empty", "l", "ld"}, e.ov.list("/"))
	require.Equal(t, []string{"f2", "g", "sub"}, e.ov.list("/d"))

	// Renaming over another lower file.
	require.NoError(t, e.rename("/d/f2", "/d/g", 0))
	require.Equal(t, "lower-f", e.ov.read("/d/g"))
	require.Equal(t, []string{"g", "sub"}, e.ov.list("/d"))
	e.lowerIntact()
}

func TestRenameLowerDirIsEXDEV(t *testing.T) {
	e := newEnv(t)
	require.ErrorIs(t, e.rename("/d", "/d2", 0), unix.EXDEV)
	require.ErrorIs(t, e.rename("/empty", "/e2", 0), unix.EXDEV)
	require.ErrorIs(t, e.rename("/d/sub", "/sub", 0), unix.EXDEV)
	// A directory that exists only in the upper layer moves.
	e.ov.mkdir("/new")
	e.ov.write("/new/x", "x")
	require.NoError(t, e.rename("/new", "/d/new", 0))
	require.Equal(t, "x", e.ov.read("/d/new/x"))
	require.False(t, e.ov.exists("/new"))
	require.False(t, e.isWhiteout("/new"), "no whiteout for an upper-only name")
	e.lowerIntact()
}

func TestReaddirMergesLayers(t *testing.T) {
	e := newEnv(t)
	e.ov.write("/new", "n")
	e.ov.write("/f", "changed")
	e.ov.mkdir("/d/x")
	e.ov.write("/d/sub/h", "changed")
	require.NoError(t, e.ov.v.SymlinkAt(e.ov.ctx, "x", e.ov.ctx.Cwd, "/d/lx"))
	require.Equal(t, []string{"d", "empty", "f", "l", "ld", "new"}, e.ov.list("/"))
	require.Equal(t, []string{"g", "lx", "sub", "x"}, e.ov.list("/d"))
	require.Equal(t, []string{"h"}, e.ov.list("/d/sub"))

	// Types come through.
	fd, err := e.ov.open("/d", unix.O_RDONLY)
	require.NoError(t, err)
	defer fd.DecRef()
	types := map[string]uint8{}
	require.NoError(t, fd.ReadDir(func(d vfs.Dirent, _ int64) bool { types[d.Name] = d.Type; return true }))
	require.Equal(t, uint8(unix.DT_REG), types["g"])
	require.Equal(t, uint8(unix.DT_LNK), types["lx"])
	require.Equal(t, uint8(unix.DT_DIR), types["sub"])
	require.Equal(t, uint8(unix.DT_DIR), types["x"])
	e.lowerIntact()
}

func TestSetStatCopiesUp(t *testing.T) {
	e := newEnv(t)
	vd, err := e.ov.v.Resolve(e.ov.ctx, e.ov.ctx.Cwd, "/d/g", vfs.Resolve{})
	require.NoError(t, err)
	require.NoError(t, vfs.SetStatChecked(e.ov.ctx, vd, vfs.SetStat{Mask: vfs.SetMode, Mode: 0o600}, false))
	require.EqualValues(t, 0o600, e.ov.mustLstat("/d/g").Mode&0o7777)
	require.EqualValues(t, 0o600, e.upper.mustLstat("/d/g").Mode&0o7777)
	require.EqualValues(t, 5, e.upper.mustLstat("/d/g").UID, "ownership copied up")
	require.Equal(t, "lower-g", e.ov.read("/d/g"), "data copied up")

	old := unix.Timespec{Sec: 12345}
	require.NoError(t, e.ov.inode("/d/sub/h").SetStat(vfs.SetStat{Mask: vfs.SetMtime, Mtime: old}))
	require.Equal(t, old, e.ov.mustLstat("/d/sub/h").Mtime)
	require.True(t, e.upper.exists("/d/sub/h"))

	// A symlink copies up as a symlink.
	require.NoError(t, e.ov.inode("/l").SetStat(vfs.SetStat{Mask: vfs.SetUID | vfs.SetGID, UID: 9, GID: 9}))
	target, err := e.upper.v.ReadlinkAt(e.upper.ctx, e.upper.ctx.Cwd, "/l")
	require.NoError(t, err)
	require.Equal(t, "f", target)
	require.EqualValues(t, 9, e.ov.mustLstat("/l").UID)

	// Extended attributes copy up too.
	require.NoError(t, e.ov.inode("/f").Setxattr("user.k", []byte("v"), 0))
	v, err := e.upper.inode("/f").Getxattr("user.k")
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
	require.Equal(t, "lower-f", e.ov.read("/f"))
	e.lowerIntact()
}

func TestCreateInLowerDirCopiesUpParents(t *testing.T) {
	e := newEnv(t)
	e.ov.write("/d/sub/new", "n")
	require.Equal(t, []string{"h", "new"}, e.ov.list("/d/sub"))
	require.Equal(t, "lower-h", e.ov.read("/d/sub/h"))
	require.Equal(t, []string{"sub"}, e.upper.list("/d"), "only the path to the new file was copied up")
	require.Equal(t, []string{"new"}, e.upper.list("/d/sub"))
	require.NoError(t, e.ov.v.MkdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d/sub/dir", 0o700))
	require.EqualValues(t, 0o700, e.ov.mustLstat("/d/sub/dir").Mode&0o7777)
	require.ErrorIs(t, e.ov.v.MkdirAt(e.ov.ctx, e.ov.ctx.Cwd, "/d/g", 0o700), unix.EEXIST)
	_, err := e.ov.v.OpenAt(e.ov.ctx, e.ov.ctx.Cwd, "/d/g", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644, vfs.Resolve{})
	require.ErrorIs(t, err, unix.EEXIST)
	e.lowerIntact()
}

func TestHardLinkLowerFile(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.ov.v.LinkAt(e.ov.ctx, e.ov.ctx.Cwd, "/f", false, e.ov.ctx.Cwd, "/d/f2"))
	require.Equal(t, "lower-f", e.ov.read("/d/f2"))
	require.EqualValues(t, 2, e.ov.mustLstat("/f").Nlink)
	require.EqualValues(t, 2, e.ov.mustLstat("/d/f2").Nlink)

	fd, err := e.ov.open("/d/f2", unix.O_WRONLY|unix.O_APPEND)
	require.NoError(t, err)
	_, err = fd.Write([][]byte{[]byte("+link")})
	require.NoError(t, err)
	fd.DecRef()
	require.Equal(t, "lower-f+link", e.ov.read("/f"), "both names are one file")
	require.ErrorIs(t, e.ov.v.LinkAt(e.ov.ctx, e.ov.ctx.Cwd, "/d", false, e.ov.ctx.Cwd, "/d3"), unix.EPERM)
	e.lowerIntact()
}

// Two hard links are one file, so stat(2) reports the same st_ino for both
// (POSIX: st_ino and st_dev identify a file; cp -a, tar and find -samefile
// rely on it). The name the link was made from reports the lower inode
// number (overlay.go Stat keeps lower's Ino), the new name the upper one.
func TestHardLinkLowerFileSameIno(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.ov.v.LinkAt(e.ov.ctx, e.ov.ctx.Cwd, "/d/g", false, e.ov.ctx.Cwd, "/g2"))
	require.Equal(t, e.ov.mustLstat("/d/g").Ino, e.ov.mustLstat("/g2").Ino)
}

// A file copied up and then removed must stay removed: the lower file may
// not reappear. overlay.go Lookup returns an upper non-directory without
// recording its lower twin (c.lower stays nil), so remove() sees no lower
// layer and leaves no whiteout.
func TestUnlinkCopiedUpFileStaysHidden(t *testing.T) {
	e := newEnv(t)
	e.ov.write("/f", "modified")
	require.NoError(t, e.unlink("/f"))
	_, err := e.ov.lstat("/f")
	require.ErrorIs(t, err, unix.ENOENT, "the lower /f came back")
	require.NotContains(t, e.ov.list("/"), "f")
}

// The same through a name recreated over a whiteout: unlink, create,
// unlink again must leave the name gone.
func TestRecreateAfterUnlinkStaysHidden(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.unlink("/d/g"))
	e.ov.write("/d/g", "second")
	require.Equal(t, "second", e.ov.read("/d/g"))
	require.NoError(t, e.unlink("/d/g"))
	_, err := e.ov.lstat("/d/g")
	require.ErrorIs(t, err, unix.ENOENT, "the lower /d/g came back")
}

// Renaming a copied-up file must hide the lower file at the old name too.
func TestRenameCopiedUpFileLeavesWhiteout(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.ov.inode("/f").SetStat(vfs.SetStat{Mask: vfs.SetMode, Mode: 0o600}))
	require.NoError(t, e.rename("/f", "/f2", 0))
	require.Equal(t, "lower-f", e.ov.read("/f2"))
	_, err := e.ov.lstat("/f")
	require.ErrorIs(t, err, unix.ENOENT, "the lower /f came back")
}

// renameat2(RENAME_NOREPLACE) onto a name that was removed (a whiteout in
// the upper layer) must succeed: the name does not exist in the merged
// view. The VFS checks NOREPLACE against the overlay (ENOENT, fine), then
// the upper tmpfs's Rename sees the whiteout entry and fails with EEXIST.
func TestRenameNoReplaceOntoWhiteout(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.unlink("/f"))
	require.NoError(t, e.rename("/d/g", "/f", unix.RENAME_NOREPLACE))
	require.Equal(t, "lower-g", e.ov.read("/f"))
}

// Distinct files must not share (st_dev, st_ino). Every overlay inode
// reports the overlay's device (overlay.go Stat sets st.Dev = n.fs.dev),
// but inode numbers come from either layer, and the two tmpfs layers number
// their inodes independently: a new upper-only file collides with a lower
// one. (Linux overlayfs without xino reports the real layer's st_dev for
// non-directories, so the pair stays unique.)
func TestDistinctFilesDistinctIno(t *testing.T) {
	e := newEnv(t)
	e.ov.write("/new1", "a")
	e.ov.write("/new2", "b")
	e.ov.mkdir("/newdir")
	type id struct{ dev, ino uint64 }
	seen := map[id]string{}
	for _, p := range []string{"/", "/f", "/d", "/d/g", "/d/sub", "/d/sub/h", "/empty", "/l", "/ld", "/new1", "/new2", "/newdir"} {
		st := e.ov.mustLstat(p)
		k := id{st.Dev, st.Ino}
		require.NotContains(t, seen, k, "%s and %s share dev/ino %v", p, seen[k], k)
		seen[k] = p
	}
}
