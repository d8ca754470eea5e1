package vfs

import (
	"golang.org/x/sys/unix"
)

// Stat is what every filesystem reports about an inode (struct statx's
// basic fields).
type Stat struct {
	Dev     uint64
	Ino     uint64
	Mode    uint32 // file type and permission bits
	Nlink   uint32
	UID     uint32
	GID     uint32
	Rdev    uint64
	Size    int64
	Blksize int64
	Blocks  int64
	Atime   unix.Timespec
	Mtime   unix.Timespec
	Ctime   unix.Timespec
}

// Type returns the S_IFMT bits.
func (s *Stat) Type() uint32 { return s.Mode & unix.S_IFMT }

// IsDir reports a directory.
func (s *Stat) IsDir() bool { return s.Type() == unix.S_IFDIR }

// IsSymlink reports a symbolic link.
func (s *Stat) IsSymlink() bool { return s.Type() == unix.S_IFLNK }

// IsRegular reports a regular file.
func (s *Stat) IsRegular() bool { return s.Type() == unix.S_IFREG }

// SetStat bits say which fields of a SetStat apply (statx mask bits).
const (
	SetMode  = unix.STATX_MODE
	SetUID   = unix.STATX_UID
	SetGID   = unix.STATX_GID
	SetSize  = unix.STATX_SIZE
	SetAtime = unix.STATX_ATIME
	SetMtime = unix.STATX_MTIME
)

// SetStat changes inode attributes. Times are concrete (UTIME_NOW is resolved
// by the VFS before it reaches a filesystem).
type SetStat struct {
	Mask         uint32
	Mode         uint32 // permission bits only
	UID, GID     uint32
	Size         int64
	Atime, Mtime unix.Timespec
}

// Dirent is one directory entry.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // DT_* value
}

// DTypeOf converts S_IFMT bits into a DT_* value.
func DTypeOf(mode uint32) uint8 {
	return uint8((mode & unix.S_IFMT) >> 12)
}

// Owner is who creates an inode.
type Owner struct{ UID, GID uint32 }

// Statfs is what statfs(2) reports.
type Statfs struct {
	Type    int64
	Bsize   int64
	Blocks  uint64
	Bfree   uint64
	Bavail  uint64
	Files   uint64
	Ffree   uint64
	Namelen int64
	Frsize  int64
	Flags   int64
}

// Inode is what a filesystem implements for one file. Methods a file type
// does not support return the errno Linux gives (embed InodeBase for those
// defaults). Names passed in are single components, never "." or "..".
type Inode interface {
	Stat() (Stat, error)
	SetStat(s SetStat) error
	// Open returns a new open-file implementation; flags are the open(2)
	// flags (access mode, O_TRUNC, O_APPEND, ...). O_TRUNC is applied by
	// the VFS through SetStat before Open.
	Open(flags int) (FileDescriptionImpl, error)
	StatFS() (Statfs, error)

	// Directory operations.
	Lookup(name string) (Inode, error)
	Readdir() ([]Dirent, error)
	Create(name string, mode uint32, o Owner) (Inode, error)
	Mkdir(name string, mode uint32, o Owner) (Inode, error)
	Mknod(name string, mode uint32, dev uint64, o Owner) (Inode, error)
	Symlink(name, target string, o Owner) (Inode, error)
	Link(name string, target Inode) error
	Unlink(name string) error
	Rmdir(name string) error
	// Rename moves oldName in this directory to newName in newDir (an
	// inode of the same filesystem). flags are RENAME_NOREPLACE and
	// RENAME_EXCHANGE; the VFS has checked the generic rules.
	Rename(oldName string, newDir Inode, newName string, flags uint) error

	// Readlink returns a symlink's target.
	Readlink() (string, error)

	// Extended attributes.
	Getxattr(name string) ([]byte, error)
	Setxattr(name string, value []byte, flags int) error
	Listxattr() ([]string, error)
	Removexattr(name string) error
}

// InodeBase gives the default answers for operations an inode does not
// support. Embed it and override what the file type does.
type InodeBase struct{}

func (InodeBase) SetStat(SetStat) error                              { return unix.EPERM }
func (InodeBase) Open(int) (FileDescriptionImpl, error)              { return nil, unix.ENXIO }
func (InodeBase) StatFS() (Statfs, error)                            { return Statfs{Bsize: 4096, Namelen: 255}, nil }
func (InodeBase) Lookup(string) (Inode, error)                       { return nil, unix.ENOTDIR }
func (InodeBase) Readdir() ([]Dirent, error)                         { return nil, unix.ENOTDIR }
func (InodeBase) Create(string, uint32, Owner) (Inode, error)        { return nil, unix.ENOTDIR }
func (InodeBase) Mkdir(string, uint32, Owner) (Inode, error)         { return nil, unix.ENOTDIR }
func (InodeBase) Mknod(string, uint32, uint64, Owner) (Inode, error) { return nil, unix.ENOTDIR }
func (InodeBase) Symlink(string, string, Owner) (Inode, error)       { return nil, unix.ENOTDIR }
func (InodeBase) Link(string, Inode) error                           { return unix.ENOTDIR }
func (InodeBase) Unlink(string) error                                { return unix.ENOTDIR }
func (InodeBase) Rmdir(string) error                                 { return unix.ENOTDIR }
func (InodeBase) Rename(string, Inode, string, uint) error           { return unix.ENOTDIR }
func (InodeBase) Readlink() (string, error)                          { return "", unix.EINVAL }
func (InodeBase) Getxattr(string) ([]byte, error)                    { return nil, unix.ENODATA }
func (InodeBase) Setxattr(string, []byte, int) error                 { return unix.ENOTSUP }
func (InodeBase) Listxattr() ([]string, error)                       { return nil, nil }
func (InodeBase) Removexattr(string) error                           { return unix.ENODATA }

// Mappable is implemented by inodes whose contents can be mapped into an
// address space: each page of the file is a page of the memory file.
type Mappable interface {
	// MapPage returns the memory-file offset of the file page at index,
	// creating it if needed. write says the page is being mapped shared
	// and writable. Beyond end of file it returns EFAULT (SIGBUS).
	MapPage(index int64, write bool) (int64, error)
}

// HostFileMappable is implemented by mappables backed by a host file the
// sentry holds open for reading: a read-only mapping of it may map the host
// file itself (platform.HostFileMapper). HostFD returns that FD, which
// stays open while the mappable lives.
type HostFileMappable interface {
	HostFD() (int, error)
}

// MappingCounter is implemented by mappables that need to know how many
// shared mappings of them exist.
type MappingCounter interface {
	SharedMappings(delta int)
}

// MappingHolder is implemented by mappables that must stay alive (keep
// their pages) while any mapping of them exists, even once unlinked.
type MappingHolder interface {
	HoldMapping(delta int)
}

// MemoryFile is the memory file as filesystems see it (implemented by the
// sentry's memory file): page-sized allocations they can read and write.
type MemoryFile interface {
	Allocate(npages int) (int64, error)
	Free(off int64, npages int)
	Slice(off int64, n int) []byte
}

// SocketHolder is implemented by inodes that can carry the Unix socket bound
// to them (the S_IFSOCK nodes of in-memory filesystems): bind(2) on a path
// attaches the socket to the node it creates, and connect(2) finds it
// through the node, as Linux finds a socket by its inode. The filesystem
// keeps the value and never looks into it.
type SocketHolder interface {
	// BoundSocket returns the socket bound to the inode, or nil.
	BoundSocket() any
	// SetBoundSocket attaches s (nil detaches). It reports false when the
	// inode cannot hold a socket (not a socket node).
	SetBoundSocket(s any) bool
}
