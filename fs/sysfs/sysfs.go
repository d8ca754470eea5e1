// Package sysfs is the sandbox's /sys: a fixed, read-only tree holding what
// programs commonly read to size themselves, the CPU lists
// devices/system/cpu/{online,possible,present} (e.g. "0-1\n" for 2 CPUs)
// with an empty cpuN directory per CPU (older C libraries count those), and
// the empty directories class, fs and kernel.
//
// Everything is built once by New and never changes. Files refuse opening
// for writing with EACCES, as sysfs does for attributes without a store
// operation; directories refuse new names (EACCES to create a file, EPERM to
// the rest). Inode numbers count up from 1 (the root); Dev is fixed.
//
// It must not import the sentry, syscalls or runsc layers, nor change the
// VFS.
package sysfs

import (
	"fmt"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// Dev is the device number (makedev(0, 241)) of every sysfs inode.
const Dev = 241

// pageSize is the size sysfs reports for attribute files.
const pageSize = 4096

// builder numbers the inodes of one instance and dates them.
type builder struct {
	ino  uint64
	when unix.Timespec
}

func (b *builder) node(mode uint32) node {
	b.ino++
	return node{ino: b.ino, mode: mode, when: b.when}
}

func (b *builder) dir(mode uint32) *dir {
	return &dir{node: b.node(unix.S_IFDIR | mode), children: map[string]vfs.Inode{}}
}

// New returns the root of a /sys showing ncpu CPUs.
func New(ncpu int) *vfs.Dentry {
	ncpu = max(ncpu, 1)
	b := &builder{when: unix.NsecToTimespec(time.Now().UnixNano())}
	root := b.dir(0o555)
	for _, name := range []string{"class", "devices", "fs", "kernel"} {
		root.add(name, b.dir(0o755))
	}
	system := b.dir(0o755)
	root.children["devices"].(*dir).add("system", system)
	cpu := b.dir(0o755)
	system.add("cpu", cpu)
	list := "0\n"
	if ncpu > 1 {
		list = fmt.Sprintf("0-%d\n", ncpu-1)
	}
	for _, name := range []string{"online", "possible", "present"} {
		cpu.add(name, &file{node: b.node(unix.S_IFREG | 0o444), data: []byte(list)})
	}
	for i := range ncpu {
		cpu.add(fmt.Sprintf("cpu%d", i), b.dir(0o755))
	}
	return vfs.NewRoot(root)
}

// node is what every sysfs inode has.
type node struct {
	vfs.InodeBase
	ino  uint64
	mode uint32
	when unix.Timespec
}

func (n *node) stat(nlink uint32, size int64) vfs.Stat {
	return vfs.Stat{Dev: Dev, Ino: n.ino, Mode: n.mode, Nlink: nlink, Size: size, Blksize: pageSize,
		Atime: n.when, Mtime: n.when, Ctime: n.when}
}

// StatFS implements vfs.Inode.
func (n *node) StatFS() (vfs.Statfs, error) {
	return vfs.Statfs{Type: unix.SYSFS_MAGIC, Bsize: pageSize, Frsize: pageSize, Namelen: 255}, nil
}

// Getxattr implements vfs.Inode.
func (n *node) Getxattr(string) ([]byte, error) { return nil, unix.EOPNOTSUPP }

// Removexattr implements vfs.Inode.
func (n *node) Removexattr(string) error { return unix.EOPNOTSUPP }

// dir is a directory; its children are fixed once New returns.
type dir struct {
	node
	children map[string]vfs.Inode
	subdirs  uint32
}

func (d *dir) add(name string, c vfs.Inode) {
	d.children[name] = c
	if _, ok := c.(*dir); ok {
		d.subdirs++
	}
}

// Stat implements vfs.Inode.
func (d *dir) Stat() (vfs.Stat, error) { return d.stat(2+d.subdirs, 0), nil }

// Lookup implements vfs.Inode.
func (d *dir) Lookup(name string) (vfs.Inode, error) {
	if c, ok := d.children[name]; ok {
		return c, nil
	}
	return nil, unix.ENOENT
}

// Readdir implements vfs.Inode.
func (d *dir) Readdir() ([]vfs.Dirent, error) {
	names := make([]string, 0, len(d.children))
	for n := range d.children {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]vfs.Dirent, 0, len(names))
	for _, n := range names {
		st, _ := d.children[n].Stat()
		out = append(out, vfs.Dirent{Name: n, Ino: st.Ino, Type: vfs.DTypeOf(st.Mode)})
	}
	return out, nil
}

// Open implements vfs.Inode.
func (d *dir) Open(int) (vfs.FileDescriptionImpl, error) { return &dirFD{d: d}, nil }

// Create implements vfs.Inode.
func (d *dir) Create(string, uint32, vfs.Owner) (vfs.Inode, error) { return nil, unix.EACCES }

// Mkdir implements vfs.Inode.
func (d *dir) Mkdir(string, uint32, vfs.Owner) (vfs.Inode, error) { return nil, unix.EPERM }

// Mknod implements vfs.Inode.
func (d *dir) Mknod(string, uint32, uint64, vfs.Owner) (vfs.Inode, error) { return nil, unix.EPERM }

// Symlink implements vfs.Inode.
func (d *dir) Symlink(string, string, vfs.Owner) (vfs.Inode, error) { return nil, unix.EPERM }

// Link implements vfs.Inode.
func (d *dir) Link(string, vfs.Inode) error { return unix.EPERM }

// Unlink implements vfs.Inode.
func (d *dir) Unlink(string) error { return unix.EPERM }

// Rmdir implements vfs.Inode.
func (d *dir) Rmdir(string) error { return unix.EPERM }

// Rename implements vfs.Inode.
func (d *dir) Rename(string, vfs.Inode, string, uint) error { return unix.EPERM }

// dirFD is an open directory; the VFS reads entries through the inode.
type dirFD struct {
	vfs.NoIO
	d *dir
}

func (f *dirFD) Positional() bool                                     { return true }
func (f *dirFD) Preadv([][]byte, int64) (int, error)                  { return 0, unix.EISDIR }
func (f *dirFD) Readv([][]byte) (int, error)                          { return 0, unix.EISDIR }
func (f *dirFD) Ioctl(vfs.UserMemory, uint, uintptr) (uintptr, error) { return 0, unix.ENOTTY }
func (f *dirFD) Stat() (unix.Stat_t, error)                           { return vfs.StatToUnix(f.d) }

// file is a read-only attribute with fixed content.
type file struct {
	node
	data []byte
}

// Stat implements vfs.Inode. Like sysfs, the size is a page whatever the
// content.
func (f *file) Stat() (vfs.Stat, error) { return f.stat(1, pageSize), nil }

// Open implements vfs.Inode.
func (f *file) Open(flags int) (vfs.FileDescriptionImpl, error) {
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_WRONLY || acc == unix.O_RDWR || flags&unix.O_TRUNC != 0 {
		return nil, unix.EACCES
	}
	return &fileFD{f: f}, nil
}

// fileFD is an open attribute.
type fileFD struct {
	vfs.NoIO
	f *file
}

// Positional implements vfs.Positional.
func (fd *fileFD) Positional() bool { return true }

// Preadv implements vfs.FileDescriptionImpl.
func (fd *fileFD) Preadv(bufs [][]byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	n := 0
	for _, b := range bufs {
		if off >= int64(len(fd.f.data)) {
			break
		}
		c := copy(b, fd.f.data[off:])
		n += c
		off += int64(c)
	}
	return n, nil
}

// Ioctl implements vfs.FileDescriptionImpl.
func (fd *fileFD) Ioctl(vfs.UserMemory, uint, uintptr) (uintptr, error) { return 0, unix.ENOTTY }

// Stat implements vfs.FileDescriptionImpl.
func (fd *fileFD) Stat() (unix.Stat_t, error) { return vfs.StatToUnix(fd.f) }
