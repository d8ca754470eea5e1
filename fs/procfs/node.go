package procfs

import (
	"hash/fnv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// rootIno is the inode number of /proc, as on Linux.
const rootIno = 1

// fsys is one procfs instance.
type fsys struct {
	src Source
	// procSpec and threadSpec describe /proc/[pid] and
	// /proc/[pid]/task/[tid].
	procSpec, threadSpec *dirSpec

	bootOnce sync.Once
	boot     time.Time
}

// bootTime is the wall-clock time of boot, fixed at first use so that
// btime and inode times do not jitter.
func (f *fsys) bootTime() time.Time {
	f.bootOnce.Do(func() { f.boot = time.Now().Add(-f.src.Uptime()).Truncate(time.Second) })
	return f.boot
}

// inoOf returns the inode number of a path inside procfs.
func inoOf(path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(path))
	n := h.Sum64()
	if n <= rootIno {
		n += 2
	}
	return n
}

// scope says whose entry a node is: pid 0 for system-wide entries, tid 0
// for the entries of a whole thread group.
type scope struct{ pid, tid int }

// target is a scope resolved against the kernel at the time of a call.
type target struct {
	fs *fsys
	scope
	// p is the thread group (tid 0) or the thread; nil for system-wide
	// entries.
	p Process
}

// id is the number an entry shows as its own: the tid under task/, else
// the pid.
func (t *target) id() int {
	if t.tid != 0 {
		return t.tid
	}
	return t.pid
}

// group returns the thread group of the entry.
func (t *target) group() Process {
	if t.tid == 0 {
		return t.p
	}
	if g, ok := t.fs.src.Process(t.pid); ok {
		return g
	}
	return t.p
}

// thread returns the thread whose private signal state the entry shows:
// the thread itself, or the group leader.
func (t *target) thread() Process {
	if t.tid != 0 {
		return t.p
	}
	if th, ok := t.fs.src.Thread(t.pid); ok && th.PID() == t.pid {
		return th
	}
	return t.p
}

// resolve looks up the process or thread of a scope; ENOENT if it is gone.
func (f *fsys) resolve(sc scope) (*target, error) {
	t := &target{fs: f, scope: sc}
	switch {
	case sc.pid == 0:
	case sc.tid == 0:
		p, ok := f.src.Process(sc.pid)
		if !ok {
			return nil, unix.ENOENT
		}
		t.p = p
	default:
		p, ok := f.src.Thread(sc.tid)
		if !ok || p.PID() != sc.pid {
			return nil, unix.ENOENT
		}
		t.p = p
	}
	return t, nil
}

// node is what every procfs inode has.
type node struct {
	vfs.InodeBase
	fs   *fsys
	path string // inside procfs: "/", "/meminfo", "/12/task/13/stat"
	ino  uint64
	mode uint32 // type and permission bits
	sc   scope
	// live, if set, checks that the entry still exists (ENOENT if not)
	// and returns its current mode.
	live func(t *target) (uint32, error)
}

// newNode returns the node of child name of a directory node.
func (n *node) newNode(name string, mode uint32, sc scope) node {
	p := n.path + "/" + name
	if n.path == "/" {
		p = "/" + name
	}
	return node{fs: n.fs, path: p, ino: inoOf(p), mode: mode, sc: sc}
}

// resolve returns the node's target and current mode, or ENOENT.
func (n *node) resolve() (*target, uint32, error) {
	t, err := n.fs.resolve(n.sc)
	if err != nil {
		return nil, 0, err
	}
	mode := n.mode
	if n.live != nil {
		if mode, err = n.live(t); err != nil {
			return nil, 0, err
		}
	}
	return t, mode, nil
}

func timespec(t time.Time) unix.Timespec { return unix.NsecToTimespec(t.UnixNano()) }

// stat fills the attributes every node shares.
func (n *node) stat(t *target, mode uint32, nlink uint32, size int64) vfs.Stat {
	st := vfs.Stat{Dev: Dev, Ino: n.ino, Mode: mode, Nlink: nlink, Size: size, Blksize: 1024}
	when := n.fs.bootTime()
	if t.p != nil {
		st.UID = t.p.UIDs()[1]
		st.GID = t.p.GIDs()[1]
		when = when.Add(t.p.StartTime())
	}
	ts := timespec(when)
	st.Atime, st.Mtime, st.Ctime = ts, ts, ts
	return st
}

// StatFS implements vfs.Inode.
func (n *node) StatFS() (vfs.Statfs, error) {
	return vfs.Statfs{Type: unix.PROC_SUPER_MAGIC, Bsize: 4096, Frsize: 4096, Namelen: 255}, nil
}

// Getxattr implements vfs.Inode: procfs has no extended attributes.
func (n *node) Getxattr(string) ([]byte, error) { return nil, unix.EOPNOTSUPP }

// Removexattr implements vfs.Inode.
func (n *node) Removexattr(string) error { return unix.EOPNOTSUPP }

// entry describes a fixed child of a directory.
type entry struct {
	name string
	mode uint32 // type and permission bits
	// read renders a regular file's content.
	read func(t *target) ([]byte, error)
	// link returns a symlink's target.
	link func(t *target) (string, error)
	// linkSize is the symlink's st_size (Linux shows 0 for most).
	linkSize int64
	// dir describes a directory.
	dir *dirSpec
	// writeErr is what writes to a regular file fail with; EACCES refuses
	// opening it for writing at all.
	writeErr error
}

// generator makes the children of a directory that come from the kernel.
type generator interface {
	list(d *dirNode, t *target) ([]vfs.Dirent, error)
	lookup(d *dirNode, t *target, name string) (vfs.Inode, error)
}

// dirSpec describes a directory: fixed entries, then generated ones.
type dirSpec struct {
	entries []entry
	gen     generator
	// nlink, if set, gives the link count; the default is 2 plus the
	// fixed subdirectories.
	nlink func(t *target) uint32
}

// child makes the inode of a fixed entry.
func (d *dirNode) child(e *entry, sc scope) vfs.Inode {
	n := d.newNode(e.name, e.mode, sc)
	switch e.mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return &dirNode{node: n, spec: e.dir}
	case unix.S_IFLNK:
		return &linkNode{node: n, target: e.link, size: e.linkSize}
	default:
		return &fileNode{node: n, read: e.read, writeErr: e.writeErr}
	}
}

// dirNode is a directory.
type dirNode struct {
	node
	spec *dirSpec
}

// Stat implements vfs.Inode.
func (d *dirNode) Stat() (vfs.Stat, error) {
	t, mode, err := d.resolve()
	if err != nil {
		return vfs.Stat{}, err
	}
	var nlink uint32 = 2
	if d.spec.nlink != nil {
		nlink = d.spec.nlink(t)
	} else {
		for _, e := range d.spec.entries {
			if e.mode&unix.S_IFMT == unix.S_IFDIR {
				nlink++
			}
		}
	}
	return d.stat(t, mode, nlink, 0), nil
}

// Lookup implements vfs.Inode.
func (d *dirNode) Lookup(name string) (vfs.Inode, error) {
	t, _, err := d.resolve()
	if err != nil {
		return nil, err
	}
	for i := range d.spec.entries {
		if d.spec.entries[i].name == name {
			return d.child(&d.spec.entries[i], d.sc), nil
		}
	}
	if d.spec.gen != nil {
		return d.spec.gen.lookup(d, t, name)
	}
	return nil, unix.ENOENT
}

// Readdir implements vfs.Inode.
func (d *dirNode) Readdir() ([]vfs.Dirent, error) {
	t, _, err := d.resolve()
	if err != nil {
		return nil, err
	}
	out := make([]vfs.Dirent, 0, len(d.spec.entries))
	for _, e := range d.spec.entries {
		n := d.newNode(e.name, e.mode, d.sc)
		out = append(out, vfs.Dirent{Name: e.name, Ino: n.ino, Type: vfs.DTypeOf(e.mode)})
	}
	if d.spec.gen != nil {
		more, err := d.spec.gen.list(d, t)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// Open implements vfs.Inode.
func (d *dirNode) Open(flags int) (vfs.FileDescriptionImpl, error) {
	st, err := d.Stat()
	if err != nil {
		return nil, err
	}
	return &dirFD{st: st}, nil
}

// The namespace of procfs cannot be changed: Linux says EACCES to creating
// a file in a directory without a create operation, EPERM to the rest.

// Create implements vfs.Inode.
func (d *dirNode) Create(string, uint32, vfs.Owner) (vfs.Inode, error) { return nil, unix.EACCES }

// Mkdir implements vfs.Inode.
func (d *dirNode) Mkdir(string, uint32, vfs.Owner) (vfs.Inode, error) { return nil, unix.EPERM }

// Mknod implements vfs.Inode.
func (d *dirNode) Mknod(string, uint32, uint64, vfs.Owner) (vfs.Inode, error) {
	return nil, unix.EPERM
}

// Symlink implements vfs.Inode.
func (d *dirNode) Symlink(string, string, vfs.Owner) (vfs.Inode, error) { return nil, unix.EPERM }

// Link implements vfs.Inode.
func (d *dirNode) Link(string, vfs.Inode) error { return unix.EPERM }

// Unlink implements vfs.Inode.
func (d *dirNode) Unlink(string) error { return unix.EPERM }

// Rmdir implements vfs.Inode.
func (d *dirNode) Rmdir(string) error { return unix.EPERM }

// Rename implements vfs.Inode.
func (d *dirNode) Rename(string, vfs.Inode, string, uint) error { return unix.EPERM }

// fileNode is a regular file rendered at open.
type fileNode struct {
	node
	read     func(t *target) ([]byte, error)
	writeErr error
}

// Stat implements vfs.Inode. Like Linux, the size is 0: readers read until
// end of file.
func (f *fileNode) Stat() (vfs.Stat, error) {
	t, mode, err := f.resolve()
	if err != nil {
		return vfs.Stat{}, err
	}
	return f.stat(t, mode, 1, 0), nil
}

// Open implements vfs.Inode: the content is rendered now and kept by the
// returned description.
func (f *fileNode) Open(flags int) (vfs.FileDescriptionImpl, error) {
	t, mode, err := f.resolve()
	if err != nil {
		return nil, err
	}
	acc := flags & unix.O_ACCMODE
	if (acc == unix.O_WRONLY || acc == unix.O_RDWR || flags&unix.O_TRUNC != 0) && f.writeErr == unix.EACCES {
		return nil, unix.EACCES
	}
	s := &snapshot{st: f.stat(t, mode, 1, 0), writeErr: f.writeErr}
	if acc != unix.O_WRONLY {
		if s.data, err = f.read(t); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// linkNode is a symbolic link whose target is computed when read.
type linkNode struct {
	node
	target func(t *target) (string, error)
	size   int64
}

// Stat implements vfs.Inode.
func (l *linkNode) Stat() (vfs.Stat, error) {
	t, mode, err := l.resolve()
	if err != nil {
		return vfs.Stat{}, err
	}
	return l.stat(t, mode, 1, l.size), nil
}

// Readlink implements vfs.Inode.
func (l *linkNode) Readlink() (string, error) {
	t, _, err := l.resolve()
	if err != nil {
		return "", err
	}
	s, err := l.target(t)
	if err == nil && s == "" {
		err = unix.ENOENT
	}
	return s, err
}

// snapshot is an open regular file: the content rendered at open.
type snapshot struct {
	vfs.NoIO
	data     []byte
	st       vfs.Stat
	writeErr error
}

// Positional implements vfs.Positional.
func (s *snapshot) Positional() bool { return true }

// Preadv implements vfs.FileDescriptionImpl.
func (s *snapshot) Preadv(bufs [][]byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	n := 0
	for _, b := range bufs {
		if off >= int64(len(s.data)) {
			break
		}
		c := copy(b, s.data[off:])
		n += c
		off += int64(c)
	}
	return n, nil
}

// Pwritev implements vfs.FileDescriptionImpl.
func (s *snapshot) Pwritev([][]byte, int64) (int, error) { return 0, s.writeErr }

// Writev implements vfs.FileDescriptionImpl.
func (s *snapshot) Writev([][]byte) (int, error) { return 0, s.writeErr }

// Ioctl implements vfs.FileDescriptionImpl.
func (s *snapshot) Ioctl(vfs.UserMemory, uint, uintptr) (uintptr, error) { return 0, unix.ENOTTY }

// Stat implements vfs.FileDescriptionImpl: the attributes at open, so
// fstat works after the process has gone.
func (s *snapshot) Stat() (unix.Stat_t, error) { return toUnix(s.st), nil }

// dirFD is an open directory; the VFS reads entries through the inode.
type dirFD struct {
	vfs.NoIO
	st vfs.Stat
}

func (f *dirFD) Positional() bool                                     { return true }
func (f *dirFD) Preadv([][]byte, int64) (int, error)                  { return 0, unix.EISDIR }
func (f *dirFD) Readv([][]byte) (int, error)                          { return 0, unix.EISDIR }
func (f *dirFD) Ioctl(vfs.UserMemory, uint, uintptr) (uintptr, error) { return 0, unix.ENOTTY }
func (f *dirFD) Stat() (unix.Stat_t, error)                           { return toUnix(f.st), nil }

func toUnix(s vfs.Stat) unix.Stat_t {
	return unix.Stat_t{
		Dev: s.Dev, Ino: s.Ino, Nlink: uint64(s.Nlink), Mode: s.Mode, Uid: s.UID, Gid: s.GID,
		Rdev: s.Rdev, Size: s.Size, Blksize: s.Blksize, Blocks: s.Blocks,
		Atim: s.Atime, Mtim: s.Mtime, Ctim: s.Ctime,
	}
}
