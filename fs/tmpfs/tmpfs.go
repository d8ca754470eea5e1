// Package tmpfs is an in-memory filesystem whose file contents live in the
// memory file, so a shared mapping of a tmpfs file maps the very pages that
// read(2) and write(2) use. It serves /tmp, /dev/shm, the upper layer of the
// overlay root, and the skeleton of /dev.
//
// Locking:
//   - FS.mu guards nextIno, every directory's children and parent, and every
//     inode's metadata: mode, uid, gid, nlink, rdev, atime, mtime, ctime
//     and xattrs (also a FIFO's pipe). Whoever changes one of these, a
//     write(2) updating mtime and ctime included, holds FS.mu.
//   - file.dataMu guards a regular file's data: size, pages, opens, seals
//     and shared.
//   - Lock order: FS.mu before file.dataMu. Nothing takes FS.mu while
//     holding dataMu, so a write copies the data under dataMu alone and
//     then updates the timestamps under FS.mu.
//   - fs, ino and a symlink's target never change after creation.
//
// It must not import the sentry, syscalls or runsc layers; the memory file
// arrives as a vfs.MemoryFile.
package tmpfs

import (
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"sbx/fs/pipe"
	"sbx/fs/vfs"
)

const pageSize = 4096

var nextDev atomic.Uint64

func init() { nextDev.Store(0x100) }

// FS is one tmpfs instance.
type FS struct {
	mf  vfs.MemoryFile
	dev uint64

	mu      sync.Mutex // guards all inode metadata and directory entries (see the package doc)
	nextIno uint64
}

// New returns a tmpfs whose root directory has the given mode and owner.
func New(mf vfs.MemoryFile, rootMode uint32, o vfs.Owner) (*FS, *vfs.Dentry) {
	fs := &FS{mf: mf, dev: nextDev.Add(1), nextIno: 1}
	root := fs.newDir(unix.S_IFDIR|rootMode&0o7777, o, nil)
	return fs, vfs.NewRoot(root)
}

// inode holds what every tmpfs inode has.
type inode struct {
	vfs.InodeBase
	fs     *FS
	ino    uint64
	mode   uint32
	uid    uint32
	gid    uint32
	nlink  uint32
	rdev   uint64
	atime  unix.Timespec
	mtime  unix.Timespec
	ctime  unix.Timespec
	xattrs map[string][]byte
}

func (fs *FS) newInode(mode uint32, o vfs.Owner) inode {
	fs.nextIno++
	now := vfs.Now()
	return inode{fs: fs, ino: fs.nextIno, mode: mode, uid: o.UID, gid: o.GID, nlink: 1, atime: now, mtime: now, ctime: now}
}

func (i *inode) stat(size int64, blocks int64) vfs.Stat {
	return vfs.Stat{
		Dev: i.fs.dev, Ino: i.ino, Mode: i.mode, Nlink: i.nlink, UID: i.uid, GID: i.gid,
		Rdev: i.rdev, Size: size, Blksize: pageSize, Blocks: blocks,
		Atime: i.atime, Mtime: i.mtime, Ctime: i.ctime,
	}
}

// setStat applies metadata changes; size is handled by regular files.
func (i *inode) setStat(s vfs.SetStat) {
	if s.Mask&vfs.SetMode != 0 {
		i.mode = i.mode&unix.S_IFMT | s.Mode&0o7777
	}
	if s.Mask&vfs.SetUID != 0 {
		i.uid = s.UID
	}
	if s.Mask&vfs.SetGID != 0 {
		i.gid = s.GID
	}
	if s.Mask&vfs.SetAtime != 0 {
		i.atime = s.Atime
	}
	if s.Mask&vfs.SetMtime != 0 {
		i.mtime = s.Mtime
	}
	i.ctime = vfs.Now()
}

func (i *inode) StatFS() (vfs.Statfs, error) {
	return vfs.Statfs{Type: 0x01021994, Bsize: pageSize, Frsize: pageSize, Namelen: 255,
		Blocks: 1 << 20, Bfree: 1 << 20, Bavail: 1 << 20, Files: 1 << 20, Ffree: 1 << 20}, nil
}

// xattr names tmpfs accepts: user., trusted. and security. namespaces.
func validXattr(name string) error {
	if len(name) == 0 || len(name) > 255 {
		return unix.ERANGE
	}
	for _, p := range []string{"user.", "trusted.", "security."} {
		if len(name) >= len(p) && name[:len(p)] == p {
			if len(name) == len(p) {
				return unix.EINVAL // a namespace with no name
			}
			return nil
		}
	}
	return unix.EOPNOTSUPP
}

func (i *inode) Getxattr(name string) ([]byte, error) {
	if err := validXattr(name); err != nil {
		return nil, err
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	v, ok := i.xattrs[name]
	if !ok {
		return nil, unix.ENODATA
	}
	return append([]byte(nil), v...), nil
}

func (i *inode) Setxattr(name string, value []byte, flags int) error {
	if err := validXattr(name); err != nil {
		return err
	}
	if len(value) > 65536 {
		return unix.E2BIG
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	_, exists := i.xattrs[name]
	if flags&unix.XATTR_CREATE != 0 && exists {
		return unix.EEXIST
	}
	if flags&unix.XATTR_REPLACE != 0 && !exists {
		return unix.ENODATA
	}
	if i.xattrs == nil {
		i.xattrs = make(map[string][]byte)
	}
	i.xattrs[name] = append([]byte(nil), value...)
	i.ctime = vfs.Now()
	return nil
}

func (i *inode) Listxattr() ([]string, error) {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	out := make([]string, 0, len(i.xattrs))
	for k := range i.xattrs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

func (i *inode) Removexattr(name string) error {
	if err := validXattr(name); err != nil {
		return err
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	if _, ok := i.xattrs[name]; !ok {
		return unix.ENODATA
	}
	delete(i.xattrs, name)
	i.ctime = vfs.Now()
	return nil
}

// dir is a directory.
type dir struct {
	inode
	parent   *dir
	children map[string]vfs.Inode
}

func (fs *FS) newDir(mode uint32, o vfs.Owner, parent *dir) *dir {
	d := &dir{inode: fs.newInode(mode, o), parent: parent, children: make(map[string]vfs.Inode)}
	d.nlink = 2
	return d
}

// Stat implements vfs.Inode.
func (d *dir) Stat() (vfs.Stat, error) {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	return d.stat(int64(pageSize), 8), nil
}

// SetStat implements vfs.Inode.
func (d *dir) SetStat(s vfs.SetStat) error {
	if s.Mask&vfs.SetSize != 0 {
		return unix.EISDIR
	}
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	d.setStat(s)
	return nil
}

// Open implements vfs.Inode.
func (d *dir) Open(flags int) (vfs.FileDescriptionImpl, error) {
	return &dirFD{d: d}, nil
}

// Lookup implements vfs.Inode.
func (d *dir) Lookup(name string) (vfs.Inode, error) {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	if c, ok := d.children[name]; ok {
		return c, nil
	}
	return nil, unix.ENOENT
}

// Readdir implements vfs.Inode.
func (d *dir) Readdir() ([]vfs.Dirent, error) {
	d.fs.mu.Lock()
	names := make([]string, 0, len(d.children))
	for n := range d.children {
		names = append(names, n)
	}
	d.fs.mu.Unlock()
	sort.Strings(names)
	out := make([]vfs.Dirent, 0, len(names))
	for _, n := range names {
		d.fs.mu.Lock()
		c := d.children[n]
		d.fs.mu.Unlock()
		if c == nil {
			continue
		}
		st, err := c.Stat()
		if err != nil {
			continue
		}
		out = append(out, vfs.Dirent{Name: n, Ino: st.Ino, Type: vfs.DTypeOf(st.Mode)})
	}
	return out, nil
}

// add inserts a new child; called with fs.mu held.
func (d *dir) addLocked(name string, c vfs.Inode) error {
	if _, ok := d.children[name]; ok {
		return unix.EEXIST
	}
	if d.nlink == 0 {
		return unix.ENOENT
	}
	d.children[name] = c
	now := vfs.Now()
	d.mtime, d.ctime = now, now
	return nil
}

// Create implements vfs.Inode.
func (d *dir) Create(name string, mode uint32, o vfs.Owner) (vfs.Inode, error) {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	f := &file{inode: d.fs.newInode(unix.S_IFREG|mode&0o7777, o), pages: make(map[int64]int64), seals: SealSeal}
	if err := d.addLocked(name, f); err != nil {
		return nil, err
	}
	return f, nil
}

// Mkdir implements vfs.Inode.
func (d *dir) Mkdir(name string, mode uint32, o vfs.Owner) (vfs.Inode, error) {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	c := d.fs.newDir(unix.S_IFDIR|mode&0o7777, o, d)
	if err := d.addLocked(name, c); err != nil {
		return nil, err
	}
	d.nlink++
	return c, nil
}

// Mknod implements vfs.Inode.
func (d *dir) Mknod(name string, mode uint32, dev uint64, o vfs.Owner) (vfs.Inode, error) {
	if mode&unix.S_IFMT == unix.S_IFREG {
		return d.Create(name, mode, o)
	}
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	n := &special{inode: d.fs.newInode(mode, o)}
	n.rdev = dev
	if err := d.addLocked(name, n); err != nil {
		return nil, err
	}
	return n, nil
}

// Symlink implements vfs.Inode.
func (d *dir) Symlink(name, target string, o vfs.Owner) (vfs.Inode, error) {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	l := &symlink{inode: d.fs.newInode(unix.S_IFLNK|0o777, o), target: target}
	if err := d.addLocked(name, l); err != nil {
		return nil, err
	}
	return l, nil
}

// nlinker is any tmpfs inode.
type nlinker interface {
	base() *inode
}

func (i *inode) base() *inode { return i }

// Link implements vfs.Inode.
func (d *dir) Link(name string, target vfs.Inode) error {
	t, ok := target.(nlinker)
	if !ok || t.base().fs != d.fs {
		return unix.EXDEV
	}
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	if t.base().nlink == 0 {
		return unix.ENOENT
	}
	if err := d.addLocked(name, target); err != nil {
		return err
	}
	t.base().nlink++
	t.base().ctime = vfs.Now()
	return nil
}

// dropLink decrements a removed inode's link count, freeing file data at 0.
func dropLinkLocked(c vfs.Inode) {
	b := c.(nlinker).base()
	if b.nlink > 0 {
		b.nlink--
	}
	b.ctime = vfs.Now()
}

// Unlink implements vfs.Inode.
func (d *dir) Unlink(name string) error {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	c, ok := d.children[name]
	if !ok {
		return unix.ENOENT
	}
	if _, isDir := c.(*dir); isDir {
		return unix.EISDIR
	}
	delete(d.children, name)
	dropLinkLocked(c)
	now := vfs.Now()
	d.mtime, d.ctime = now, now
	if f, ok := c.(*file); ok && f.nlink == 0 {
		f.maybeFree()
	}
	return nil
}

// Rmdir implements vfs.Inode.
func (d *dir) Rmdir(name string) error {
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	c, ok := d.children[name]
	if !ok {
		return unix.ENOENT
	}
	cd, isDir := c.(*dir)
	if !isDir {
		return unix.ENOTDIR
	}
	if len(cd.children) != 0 {
		return unix.ENOTEMPTY
	}
	delete(d.children, name)
	cd.nlink = 0
	d.nlink--
	now := vfs.Now()
	d.mtime, d.ctime = now, now
	return nil
}

// Rename implements vfs.Inode.
func (d *dir) Rename(oldName string, newDir vfs.Inode, newName string, flags uint) error {
	nd, ok := newDir.(*dir)
	if !ok || nd.fs != d.fs {
		return unix.EXDEV
	}
	d.fs.mu.Lock()
	defer d.fs.mu.Unlock()
	src, ok := d.children[oldName]
	if !ok {
		return unix.ENOENT
	}
	dst, exists := nd.children[newName]
	if flags&unix.RENAME_EXCHANGE != 0 {
		if !exists {
			return unix.ENOENT
		}
		d.children[oldName], nd.children[newName] = dst, src
		sd, sIsDir := src.(*dir)
		dd, dIsDir := dst.(*dir)
		if sIsDir {
			sd.parent = nd
		}
		if dIsDir {
			dd.parent = d
		}
		if sIsDir != dIsDir && d != nd {
			if sIsDir {
				d.nlink--
				nd.nlink++
			} else {
				d.nlink++
				nd.nlink--
			}
		}
		return nil
	}
	if exists {
		if flags&unix.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		if ddir, ok := dst.(*dir); ok {
			if len(ddir.children) != 0 {
				return unix.ENOTEMPTY
			}
			ddir.nlink = 0
			nd.nlink--
		} else {
			dropLinkLocked(dst)
			if f, ok := dst.(*file); ok && f.nlink == 0 {
				f.maybeFree()
			}
		}
	}
	delete(d.children, oldName)
	nd.children[newName] = src
	if sd, ok := src.(*dir); ok {
		sd.parent = nd
		if d != nd {
			d.nlink--
			nd.nlink++
		}
	}
	now := vfs.Now()
	d.mtime, d.ctime, nd.mtime, nd.ctime = now, now, now, now
	src.(nlinker).base().ctime = now
	return nil
}

// dirFD is an open directory.
type dirFD struct {
	vfs.NoIO
	d *dir
}

func (f *dirFD) Positional() bool                    { return true }
func (f *dirFD) Preadv([][]byte, int64) (int, error) { return 0, unix.EISDIR }
func (f *dirFD) Readv([][]byte) (int, error)         { return 0, unix.EISDIR }
func (f *dirFD) Stat() (unix.Stat_t, error)          { return vfs.StatToUnix(f.d) }

// symlink is a symbolic link.
type symlink struct {
	inode
	target string
}

// Stat implements vfs.Inode.
func (l *symlink) Stat() (vfs.Stat, error) {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	return l.stat(int64(len(l.target)), 0), nil
}

// SetStat implements vfs.Inode.
func (l *symlink) SetStat(s vfs.SetStat) error {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	s.Mask &^= vfs.SetMode
	l.setStat(s)
	return nil
}

// Readlink implements vfs.Inode.
func (l *symlink) Readlink() (string, error) { return l.target, nil }

// special is a FIFO, socket or device node. Opening one needs the subsystem
// behind it; devices are served by Opener when set.
type special struct {
	inode
	// Opener, if set, opens the device.
	Opener func(flags int) (vfs.FileDescriptionImpl, error)
	// fifo is a FIFO's pipe, made on first open; guarded by fs.mu.
	fifo *pipe.Pipe
	// socket is the Unix socket bound to a socket node (fs/unix), if any;
	// guarded by fs.mu.
	socket any
}

// BoundSocket implements vfs.SocketHolder.
func (s *special) BoundSocket() any {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	return s.socket
}

// SetBoundSocket implements vfs.SocketHolder.
func (s *special) SetBoundSocket(sock any) bool {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	if s.mode&unix.S_IFMT != unix.S_IFSOCK {
		return false
	}
	s.socket = sock
	return true
}

// Stat implements vfs.Inode.
func (s *special) Stat() (vfs.Stat, error) {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	return s.stat(0, 0), nil
}

// SetStat implements vfs.Inode.
func (s *special) SetStat(st vfs.SetStat) error {
	if st.Mask&vfs.SetSize != 0 {
		return nil // truncating a device or FIFO is a no-op
	}
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	s.setStat(st)
	return nil
}

// Open implements vfs.Inode.
func (s *special) Open(flags int) (vfs.FileDescriptionImpl, error) {
	if s.Opener != nil {
		return s.Opener(flags)
	}
	s.fs.mu.Lock()
	if s.mode&unix.S_IFMT != unix.S_IFIFO {
		s.fs.mu.Unlock()
		return nil, unix.ENXIO
	}
	if s.fifo == nil {
		s.fifo = pipe.New()
	}
	p := s.fifo
	s.fs.mu.Unlock()
	return p.OpenFIFO(flags)
}

// AddDevice creates a device node served by open in the directory root.
func (fs *FS) AddDevice(parent *vfs.Dentry, name string, mode uint32, rdev uint64, open func(flags int) (vfs.FileDescriptionImpl, error)) error {
	d, ok := parent.Inode().(*dir)
	if !ok {
		return unix.ENOTDIR
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := &special{inode: fs.newInode(mode, vfs.Owner{}), Opener: open}
	n.rdev = rdev
	return d.addLocked(name, n)
}
