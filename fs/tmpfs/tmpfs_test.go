package tmpfs

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// memFile is an in-process vfs.MemoryFile: every allocation is a fresh
// zeroed buffer; freed pages are poisoned and never handed out again, so a
// use after free shows up as garbage.
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
	buf := make([]byte, n*pageSize)
	for i := 0; i < n; i++ {
		m.pages[base+int64(i)*pageSize] = buf[i*pageSize:]
	}
	m.next += int64(n) * pageSize
	return base, nil
}

func (m *memFile) Free(off int64, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < n; i++ {
		p := off + int64(i)*pageSize
		b, ok := m.pages[p]
		if !ok {
			panic("memFile: free of a page not allocated")
		}
		for j := range b[:pageSize] {
			b[j] = 0xdb
		}
		delete(m.pages, p)
	}
}

func (m *memFile) Slice(off int64, n int) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	base := off &^ (pageSize - 1)
	b, ok := m.pages[base]
	if !ok {
		panic("memFile: slice of a page not allocated")
	}
	return b[off-base : off-base+int64(n)]
}

// live returns how many pages are allocated.
func (m *memFile) live() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pages)
}

type env struct {
	t   *testing.T
	mf  *memFile
	fs  *FS
	v   *vfs.VFS
	ctx *vfs.Context
}

func newEnv(t *testing.T) *env {
	mf := newMemFile()
	fs, root := New(mf, 0o755, vfs.Owner{})
	ns := vfs.NewMountNamespace(root, "tmpfs", "none", false)
	r := ns.Root()
	return &env{t: t, mf: mf, fs: fs, v: &vfs.VFS{NS: ns}, ctx: &vfs.Context{Creds: &vfs.Creds{}, Root: r, Cwd: r}}
}

func (e *env) open(path string, flags int) *vfs.FileDescription {
	e.t.Helper()
	fd, err := e.v.OpenAt(e.ctx, e.ctx.Cwd, path, flags, 0o644, vfs.Resolve{})
	require.NoError(e.t, err, path)
	return fd
}

func (e *env) inode(path string) vfs.Inode {
	e.t.Helper()
	vd, err := e.v.Resolve(e.ctx, e.ctx.Cwd, path, vfs.Resolve{NoFollow: true})
	require.NoError(e.t, err, path)
	return vd.Dentry.Inode()
}

func (e *env) stat(path string) vfs.Stat {
	e.t.Helper()
	st, err := e.inode(path).Stat()
	require.NoError(e.t, err)
	return st
}

func (e *env) mkdir(path string) {
	e.t.Helper()
	require.NoError(e.t, e.v.MkdirAt(e.ctx, e.ctx.Cwd, path, 0o755))
}

func pwrite(t *testing.T, fd *vfs.FileDescription, b []byte, off int64) {
	t.Helper()
	n, err := fd.Pwrite([][]byte{b}, off)
	require.NoError(t, err)
	require.Equal(t, len(b), n)
}

func pread(t *testing.T, fd *vfs.FileDescription, n int, off int64) []byte {
	t.Helper()
	b := make([]byte, n)
	got, err := fd.Pread([][]byte{b}, off)
	require.NoError(t, err)
	return b[:got]
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestFileDataAcrossPageBoundaries(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()

	data := pattern(3*pageSize+123, 1)
	pwrite(t, fd, data, 4000) // starts 96 bytes before the first boundary
	require.EqualValues(t, 4000+len(data), e.stat("/f").Size)
	require.Equal(t, data, pread(t, fd, len(data), 4000))
	require.Equal(t, make([]byte, 4000), pread(t, fd, 4000, 0))
	// Reads that straddle boundaries, into several buffers at once.
	a, b, c := make([]byte, 100), make([]byte, 5000), make([]byte, 10)
	n, err := fd.Pread([][]byte{a, b, c}, 4090)
	require.NoError(t, err)
	require.Equal(t, 5110, n)
	all := append(append(append([]byte(nil), a...), b...), c...)
	require.Equal(t, data[90:90+5110], all)
	// A read past the end is short; at or after the end it is empty.
	require.Len(t, pread(t, fd, 1000, int64(4000+len(data)-10)), 10)
	require.Empty(t, pread(t, fd, 10, int64(4000+len(data))))
	require.Empty(t, pread(t, fd, 10, 1<<30))
	_, err = fd.Pread([][]byte{a}, -1)
	require.ErrorIs(t, err, unix.EINVAL)

	// A gathering write across a boundary.
	n, err = fd.Pwrite([][]byte{[]byte("xy"), []byte("z")}, pageSize-2)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, []byte("xyz"), pread(t, fd, 3, pageSize-2))
}

func TestSparseHoles(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()
	pwrite(t, fd, []byte("end"), 5*pageSize+10)
	st := e.stat("/f")
	require.EqualValues(t, 5*pageSize+13, st.Size)
	require.EqualValues(t, 8, st.Blocks, "only the written page is allocated")
	require.Equal(t, 1, e.mf.live())
	got := pread(t, fd, int(st.Size), 0)
	require.Equal(t, make([]byte, 5*pageSize+10), got[:5*pageSize+10])
	require.Equal(t, "end", string(got[5*pageSize+10:]))
	require.Equal(t, 1, e.mf.live(), "reading holes allocates nothing")
}

func TestTruncateShrinkGrow(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()
	ff := bytes.Repeat([]byte{0xff}, 10000)
	pwrite(t, fd, ff, 0)
	require.Equal(t, 3, e.mf.live())
	i := e.inode("/f")

	require.NoError(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: 5000}))
	require.EqualValues(t, 5000, e.stat("/f").Size)
	require.Equal(t, 2, e.mf.live(), "the page past the new end is freed")
	require.Equal(t, ff[:5000], pread(t, fd, 10000, 0))

	require.NoError(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: 12000}))
	got := pread(t, fd, 20000, 0)
	require.Len(t, got, 12000)
	require.Equal(t, ff[:5000], got[:5000])
	require.Equal(t, make([]byte, 7000), got[5000:], "grown bytes read as zero")

	// Shrink to a page boundary, then write past the end.
	require.NoError(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: pageSize}))
	require.Equal(t, 1, e.mf.live())
	pwrite(t, fd, []byte("z"), pageSize+100)
	got = pread(t, fd, 20000, 0)
	require.Len(t, got, pageSize+101)
	require.Equal(t, ff[:pageSize], got[:pageSize])
	require.Equal(t, make([]byte, 100), got[pageSize:pageSize+100])

	require.NoError(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: 0}))
	require.Equal(t, 0, e.mf.live())
	require.Empty(t, pread(t, fd, 10, 0))
	require.ErrorIs(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: -1}), unix.EINVAL)
	require.ErrorIs(t, e.inode("/").SetStat(vfs.SetStat{Mask: vfs.SetSize}), unix.EISDIR)
}

func TestUnlinkedOpenFileKeepsData(t *testing.T) {
	e := newEnv(t)
	a := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	b := e.open("/f", unix.O_RDONLY)
	data := pattern(2*pageSize+1, 3)
	pwrite(t, a, data, 0)
	require.Equal(t, 3, e.mf.live())

	require.NoError(t, e.v.UnlinkAt(e.ctx, e.ctx.Cwd, "/f"))
	st, err := a.Inode().Stat()
	require.NoError(t, err)
	require.EqualValues(t, 0, st.Nlink)
	require.Equal(t, data, pread(t, b, len(data), 0))
	pwrite(t, a, []byte("more"), int64(len(data)))

	a.DecRef()
	require.Equal(t, 3, e.mf.live(), "one description is still open")
	require.Equal(t, append(append([]byte(nil), data...), "more"...), pread(t, b, len(data)+4, 0))
	b.DecRef()
	require.Equal(t, 0, e.mf.live(), "freed with the last description")

	// A second link keeps the data alive without any open file.
	fd := e.open("/g", unix.O_RDWR|unix.O_CREAT)
	pwrite(t, fd, data, 0)
	fd.DecRef()
	require.NoError(t, e.v.LinkAt(e.ctx, e.ctx.Cwd, "/g", false, e.ctx.Cwd, "/h"))
	require.NoError(t, e.v.UnlinkAt(e.ctx, e.ctx.Cwd, "/g"))
	require.Equal(t, 3, e.mf.live())
	fd = e.open("/h", unix.O_RDONLY)
	require.Equal(t, data, pread(t, fd, len(data), 0))
	fd.DecRef()
	require.NoError(t, e.v.UnlinkAt(e.ctx, e.ctx.Cwd, "/h"))
	require.Equal(t, 0, e.mf.live())
}

func TestRenameOverOpenFileKeepsData(t *testing.T) {
	e := newEnv(t)
	old := e.open("/victim", unix.O_RDWR|unix.O_CREAT)
	pwrite(t, old, []byte("victim data"), 0)
	fd := e.open("/src", unix.O_RDWR|unix.O_CREAT)
	pwrite(t, fd, []byte("src"), 0)
	fd.DecRef()
	require.Equal(t, 2, e.mf.live())

	require.NoError(t, e.v.RenameAt(e.ctx, e.ctx.Cwd, "/src", e.ctx.Cwd, "/victim", 0))
	require.Equal(t, "victim data", string(pread(t, old, 100, 0)))
	old.DecRef()
	require.Equal(t, 1, e.mf.live(), "the replaced file is freed with its last description")
	fd = e.open("/victim", unix.O_RDONLY)
	require.Equal(t, "src", string(pread(t, fd, 100, 0)))
	fd.DecRef()
}

func TestMapPage(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()
	require.NoError(t, e.inode("/f").SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: pageSize + 1}))

	m, ok := fd.Impl.(interface{ Mappable() vfs.Mappable })
	require.True(t, ok)
	mp := m.Mappable()
	off0, err := mp.MapPage(0, true)
	require.NoError(t, err)
	off1, err := mp.MapPage(1, false)
	require.NoError(t, err, "the last, partial page is mappable")
	_, err = mp.MapPage(2, false)
	require.ErrorIs(t, err, unix.EFAULT, "beyond end of file")
	_, err = mp.MapPage(100, true)
	require.ErrorIs(t, err, unix.EFAULT)

	// A store through the mapping is what read(2) sees, and back.
	copy(e.mf.Slice(off0, pageSize)[10:], "mapped")
	require.Equal(t, "mapped", string(pread(t, fd, 6, 10)))
	pwrite(t, fd, []byte("written"), pageSize-3)
	require.Equal(t, "wri", string(e.mf.Slice(off0, pageSize)[pageSize-3:]))
	require.Equal(t, "tten", string(e.mf.Slice(off1, 4)))
	again, err := mp.MapPage(0, false)
	require.NoError(t, err)
	require.Equal(t, off0, again, "the same page every time")

	// Shrinking the file makes the page inaccessible again.
	require.NoError(t, e.inode("/f").SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: 10}))
	_, err = mp.MapPage(1, false)
	require.ErrorIs(t, err, unix.EFAULT)
}

type sealer interface {
	Seals() uint32
	AddSeals(uint32) error
	ClearSeals()
}

func TestSeals(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()
	pwrite(t, fd, []byte("0123456789"), 0)
	s, ok := fd.Impl.(sealer)
	require.True(t, ok)
	i := e.inode("/f")

	// A file not made by memfd_create(MFD_ALLOW_SEALING) is sealed shut.
	require.EqualValues(t, SealSeal, s.Seals())
	require.ErrorIs(t, s.AddSeals(SealWrite), unix.EPERM)

	s.ClearSeals()
	require.ErrorIs(t, s.AddSeals(1<<10), unix.EINVAL)
	require.NoError(t, s.AddSeals(SealShrink))
	require.ErrorIs(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: 5}), unix.EPERM)
	require.NoError(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: 20}), "growing is still allowed")
	require.NoError(t, s.AddSeals(SealGrow))
	require.ErrorIs(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: 30}), unix.EPERM)
	_, err := fd.Pwrite([][]byte{[]byte("abc")}, 19)
	require.ErrorIs(t, err, unix.EPERM, "a write past the end would grow the file")
	pwrite(t, fd, []byte("ab"), 18)
	require.NoError(t, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: 20}), "same size is fine")

	require.NoError(t, s.AddSeals(SealWrite))
	_, err = fd.Pwrite([][]byte{[]byte("x")}, 0)
	require.ErrorIs(t, err, unix.EPERM)
	_, err = fd.Write([][]byte{[]byte("x")})
	require.ErrorIs(t, err, unix.EPERM)
	mp := fd.Impl.(interface{ Mappable() vfs.Mappable }).Mappable()
	_, err = mp.MapPage(0, true)
	require.ErrorIs(t, err, unix.EPERM, "no new writable shared mapping")
	_, err = mp.MapPage(0, false)
	require.NoError(t, err)
	require.Equal(t, "0123456789", string(pread(t, fd, 10, 0)))

	require.NoError(t, s.AddSeals(SealSeal))
	require.ErrorIs(t, s.AddSeals(SealFutureWrite), unix.EPERM)
	require.EqualValues(t, SealSeal|SealShrink|SealGrow|SealWrite, s.Seals())
}

func TestSealWriteWithSharedMapping(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()
	s := fd.Impl.(sealer)
	s.ClearSeals()
	mc, ok := e.inode("/f").(vfs.MappingCounter)
	require.True(t, ok)

	mc.SharedMappings(1)
	require.ErrorIs(t, s.AddSeals(SealWrite), unix.EBUSY)
	require.NoError(t, s.AddSeals(SealFutureWrite), "F_SEAL_FUTURE_WRITE allows existing mappings")
	_, err := fd.Pwrite([][]byte{[]byte("x")}, 0)
	require.ErrorIs(t, err, unix.EPERM)
	mc.SharedMappings(1)
	mc.SharedMappings(-1)
	require.ErrorIs(t, s.AddSeals(SealWrite), unix.EBUSY)
	mc.SharedMappings(-1)
	require.NoError(t, s.AddSeals(SealWrite))
	require.Zero(t, s.Seals()&SealSeal)
}

func TestXattrs(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	fd.DecRef()
	e.mkdir("/d")
	for _, p := range []string{"/f", "/d"} {
		i := e.inode(p)
		_, err := i.Getxattr("user.missing")
		require.ErrorIs(t, err, unix.ENODATA, p)
		require.NoError(t, i.Setxattr("user.b", []byte("two"), 0))
		require.NoError(t, i.Setxattr("user.a", []byte("one"), unix.XATTR_CREATE))
		require.ErrorIs(t, i.Setxattr("user.a", []byte("x"), unix.XATTR_CREATE), unix.EEXIST)
		require.ErrorIs(t, i.Setxattr("user.c", []byte("x"), unix.XATTR_REPLACE), unix.ENODATA)
		require.NoError(t, i.Setxattr("user.a", []byte("uno"), unix.XATTR_REPLACE))
		require.NoError(t, i.Setxattr("trusted.t", nil, 0))

		v, err := i.Getxattr("user.a")
		require.NoError(t, err)
		require.Equal(t, "uno", string(v))
		v[0] = 'X' // the caller's copy
		v, err = i.Getxattr("user.a")
		require.NoError(t, err)
		require.Equal(t, "uno", string(v))
		v, err = i.Getxattr("trusted.t")
		require.NoError(t, err)
		require.Empty(t, v)

		names, err := i.Listxattr()
		require.NoError(t, err)
		require.Equal(t, []string{"trusted.t", "user.a", "user.b"}, names)

		require.NoError(t, i.Removexattr("user.b"))
		require.ErrorIs(t, i.Removexattr("user.b"), unix.ENODATA)
		_, err = i.Getxattr("user.b")
		require.ErrorIs(t, err, unix.ENODATA)

		// Unknown namespaces, bad names and oversized values.
		require.ErrorIs(t, i.Setxattr("foo.bar", []byte("x"), 0), unix.EOPNOTSUPP)
		require.ErrorIs(t, i.Setxattr("", []byte("x"), 0), unix.ERANGE)
		require.ErrorIs(t, i.Setxattr("user."+string(bytes.Repeat([]byte("n"), 251)), nil, 0), unix.ERANGE)
		require.NoError(t, i.Setxattr("user.big", make([]byte, 65536), 0))
		require.ErrorIs(t, i.Setxattr("user.big", make([]byte, 65537), 0), unix.E2BIG)
	}
}

// getxattr(2)/setxattr(2) with a bare namespace prefix ("user.") name no
// attribute: Linux's xattr_resolve_name() returns EINVAL when the handler's
// prefix matches but nothing follows it. tmpfs's validXattr answers
// EOPNOTSUPP, the error for an unknown namespace.
func TestXattrEmptySuffix(t *testing.T) {
	e := newEnv(t)
	i := e.inode("/")
	require.ErrorIs(t, i.Setxattr("user.", []byte("x"), 0), unix.EINVAL)
	_, err := i.Getxattr("trusted.")
	require.ErrorIs(t, err, unix.EINVAL)
}

func TestDirNlink(t *testing.T) {
	e := newEnv(t)
	nlink := func(p string) uint32 { return e.stat(p).Nlink }
	require.EqualValues(t, 2, nlink("/"))
	e.mkdir("/a")
	e.mkdir("/b")
	require.EqualValues(t, 4, nlink("/"))
	require.EqualValues(t, 2, nlink("/a"))
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	fd.DecRef()
	require.NoError(t, e.v.SymlinkAt(e.ctx, "x", e.ctx.Cwd, "/l"))
	require.EqualValues(t, 4, nlink("/"), "files do not count")

	e.mkdir("/a/c")
	require.EqualValues(t, 3, nlink("/a"))
	require.NoError(t, e.v.RenameAt(e.ctx, e.ctx.Cwd, "/a/c", e.ctx.Cwd, "/b/c", 0))
	require.EqualValues(t, 2, nlink("/a"))
	require.EqualValues(t, 3, nlink("/b"))
	require.NoError(t, e.v.RenameAt(e.ctx, e.ctx.Cwd, "/b/c", e.ctx.Cwd, "/b/c2", 0))
	require.EqualValues(t, 3, nlink("/b"), "a rename within a directory changes nothing")

	// Exchange a directory with a file in another directory.
	require.NoError(t, e.v.RenameAt(e.ctx, e.ctx.Cwd, "/b/c2", e.ctx.Cwd, "/f", unix.RENAME_EXCHANGE))
	require.EqualValues(t, 2, nlink("/b"))
	require.EqualValues(t, 5, nlink("/"))
	require.NoError(t, e.v.RenameAt(e.ctx, e.ctx.Cwd, "/b/c2", e.ctx.Cwd, "/f", unix.RENAME_EXCHANGE))
	require.EqualValues(t, 3, nlink("/b"))
	require.EqualValues(t, 4, nlink("/"))

	// A directory replacing an empty one.
	require.NoError(t, e.v.RenameAt(e.ctx, e.ctx.Cwd, "/b/c2", e.ctx.Cwd, "/a", 0))
	require.EqualValues(t, 2, nlink("/b"))
	require.EqualValues(t, 4, nlink("/"))
	require.NoError(t, e.v.RmdirAt(e.ctx, e.ctx.Cwd, "/a"))
	require.EqualValues(t, 3, nlink("/"))

	// A removed directory has no links and accepts no new names.
	e.mkdir("/gone")
	gone := e.inode("/gone")
	require.NoError(t, e.v.RmdirAt(e.ctx, e.ctx.Cwd, "/gone"))
	st, err := gone.Stat()
	require.NoError(t, err)
	require.EqualValues(t, 0, st.Nlink)
	_, err = gone.Create("x", 0o644, vfs.Owner{})
	require.ErrorIs(t, err, unix.ENOENT)
	_, err = gone.Mkdir("x", unix.S_IFDIR|0o755, vfs.Owner{})
	require.ErrorIs(t, err, unix.ENOENT)
}

func TestLinkOfUnlinkedFile(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()
	require.NoError(t, e.v.UnlinkAt(e.ctx, e.ctx.Cwd, "/f"))
	// linkat(2) of an unlinked file (not O_TMPFILE) fails with ENOENT.
	require.ErrorIs(t, e.inode("/").Link("g", fd.Inode()), unix.ENOENT)
	_, other := New(e.mf, 0o755, vfs.Owner{})
	fd2 := e.open("/h", unix.O_RDWR|unix.O_CREAT)
	defer fd2.DecRef()
	require.ErrorIs(t, other.Inode().Link("h", fd2.Inode()), unix.EXDEV)
}

func TestFIFO(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, e.v.MknodAt(e.ctx, e.ctx.Cwd, "/fifo", unix.S_IFIFO|0o644, 0))
	require.EqualValues(t, unix.S_IFIFO, e.stat("/fifo").Mode&unix.S_IFMT)

	_, err := e.v.OpenAt(e.ctx, e.ctx.Cwd, "/fifo", unix.O_WRONLY|unix.O_NONBLOCK, 0, vfs.Resolve{})
	require.ErrorIs(t, err, unix.ENXIO, "no reader yet")
	r := e.open("/fifo", unix.O_RDONLY|unix.O_NONBLOCK)
	defer r.DecRef()
	buf := make([]byte, 10)
	n, err := r.Read([][]byte{buf})
	require.NoError(t, err)
	require.Zero(t, n, "no writer: end of file")

	w := e.open("/fifo", unix.O_WRONLY|unix.O_NONBLOCK)
	_, err = w.Write([][]byte{[]byte("hello")})
	require.NoError(t, err)
	n, err = r.Read([][]byte{buf})
	require.NoError(t, err)
	require.Equal(t, "hello", string(buf[:n]))
	_, err = r.Read([][]byte{buf})
	require.ErrorIs(t, err, unix.EAGAIN, "a writer exists: no data yet")
	_, err = r.Seek(0, unix.SEEK_SET)
	require.ErrorIs(t, err, unix.ESPIPE)
	w.DecRef()

	// A blocking write-only open waits for a reader.
	done := make(chan *vfs.FileDescription)
	go func() {
		fd, err := e.v.OpenAt(e.ctx, e.ctx.Cwd, "/fifo", unix.O_WRONLY, 0, vfs.Resolve{})
		if err != nil {
			close(done)
			return
		}
		done <- fd
	}()
	select {
	case fd := <-done:
		require.NotNil(t, fd, "a reader is open, so the open must not fail")
		fd.DecRef()
	case <-time.After(5 * time.Second):
		t.Fatal("O_WRONLY open blocked although a reader is open")
	}
}

// File data and inode metadata must be safe to change concurrently (the
// package doc: "FS.mu guards ... every inode's ... metadata"). write()
// updates mtime/ctime holding only dataMu, while chmod/utimes/xattr and
// link-count changes update them holding only FS.mu: go test -race reports
// the data race.
func TestConcurrentWriteAndSetStat(t *testing.T) {
	e := newEnv(t)
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()
	i := e.inode("/f")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for k := 0; k < 200; k++ {
			fd.Pwrite([][]byte{[]byte("x")}, int64(k))
		}
	}()
	go func() {
		defer wg.Done()
		for k := 0; k < 200; k++ {
			i.SetStat(vfs.SetStat{Mask: vfs.SetMode, Mode: uint32(0o600 + k%2)})
		}
	}()
	wg.Wait()
	require.EqualValues(t, 200, e.stat("/f").Size)
}

func TestTimestampsAndOwnership(t *testing.T) {
	e := newEnv(t)
	e.ctx.Creds = &vfs.Creds{UID: 7, GID: 8}
	e.inode("/").SetStat(vfs.SetStat{Mask: vfs.SetMode, Mode: 0o777})
	fd := e.open("/f", unix.O_RDWR|unix.O_CREAT)
	defer fd.DecRef()
	st := e.stat("/f")
	require.EqualValues(t, 7, st.UID)
	require.EqualValues(t, 8, st.GID)
	require.EqualValues(t, e.fs.dev, st.Dev)
	require.NotEqual(t, e.stat("/").Ino, st.Ino)

	old := unix.Timespec{Sec: 1000}
	i := e.inode("/f")
	require.NoError(t, i.SetStat(vfs.SetStat{Mask: vfs.SetAtime | vfs.SetMtime, Atime: old, Mtime: old}))
	st = e.stat("/f")
	require.Equal(t, old, st.Atime)
	require.Equal(t, old, st.Mtime)
	pwrite(t, fd, []byte("x"), 0)
	st = e.stat("/f")
	require.Greater(t, st.Mtime.Sec, old.Sec, "write updates mtime")
	require.Equal(t, old, st.Atime)

	// A directory's mtime moves when names are added.
	dir := e.inode("/")
	require.NoError(t, dir.SetStat(vfs.SetStat{Mask: vfs.SetMtime, Mtime: old}))
	e.mkdir("/sub")
	dst, err := dir.Stat()
	require.NoError(t, err)
	require.Greater(t, dst.Mtime.Sec, old.Sec)

	// Symlinks ignore chmod.
	require.NoError(t, e.v.SymlinkAt(e.ctx, "target", e.ctx.Cwd, "/l"))
	require.NoError(t, e.inode("/l").SetStat(vfs.SetStat{Mask: vfs.SetMode, Mode: 0o600}))
	require.EqualValues(t, unix.S_IFLNK|0o777, e.stat("/l").Mode)
}
