// Package proto is the wire protocol between the sentry and the gofer, and
// the sentry-side Client.
//
// It owns: message layouts and op codes, the codec (with hard caps on every
// length, so a malformed message is an error and never a panic or a large
// allocation), the connection plumbing (sendmsg/recvmsg with SCM_RIGHTS,
// EINTR-safe) and Client. It must not touch the host filesystem, know about
// mounts or handle tables (that is gofer/server), or know about the sentry's
// VFS (that is fs/).
//
// # Transport
//
// One SOCK_SEQPACKET unix socket per connection. One message is exactly one
// request or one reply; the client sends a request and waits for its reply
// (no pipelining, no tags). FDs ride along with a message as SCM_RIGHTS.
//
// # Message layout
//
// Every message starts with an 8-byte little-endian header:
//
//	off 0  u16  op       request op, or request op | ReplyBit, or OpError
//	off 2  u8   nfds     number of FDs attached (SCM_RIGHTS); must match
//	off 3  u8   reserved must be 0
//	off 4  u32  length   payload length; must equal message size - 8
//
// followed by the payload: fixed-size little-endian integers, and strings as
// a u16 byte length followed by the bytes. Decoding is strict: trailing
// bytes, booleans other than 0/1, non-zero reserved bytes, strings over
// their cap, counts over their cap and FD counts that differ from what the
// op carries are all rejected. Strict decoding makes the encoding canonical:
// a message that decodes re-encodes to the same bytes.
//
// # Errors
//
// A failed request gets an OpError reply whose payload is a Linux errno
// (u32). A malformed request gets EINVAL (ENAMETOOLONG for a string over its
// cap, ENOSYS for an unknown op). Client methods return unix.Errno values
// only; a transport or protocol failure (gofer gone, malformed reply, wrong
// FD count) is EIO and leaves the Client broken: every later call returns
// EIO too (fail-stop; Client.Err tells the cause).
//
// # Handles
//
// Node handles are uint64 IDs allocated by the server per connection; 0 is
// never valid. A handle names one file (as walked); handles live until
// Close(id) or until the connection ends. Unknown or closed IDs give EBADF.
//
// # Directory listings
//
// Readdir is paged so every message stays under MaxMessage: a page holds
// at most MaxReaddirBytes of entries, and ReaddirReply.Next (or any
// Dirent.Off) is the cursor of the next page (the host's d_off; 0 starts
// over). The server keeps no listing state between pages. Client.Readdir
// follows the pages to the end.
//
// # Flags and modes
//
// Open/create flags, modes and file types are the host's Linux values
// (O_*, S_IF*): the sentry and the gofer always run on the same machine.
package proto

import "golang.org/x/sys/unix"

// Op is a message op code.
type Op uint16

// Request op codes. The reply to a successful request carries op|ReplyBit;
// a failed request is answered with OpError.
const (
	OpAttach   Op = 1  // AttachReq -> NodeReply
	OpWalk     Op = 2  // WalkReq -> WalkReply
	OpStat     Op = 3  // IDReq -> StatReply
	OpReadlink Op = 4  // IDReq -> ReadlinkReply
	OpReaddir  Op = 5  // ReaddirReq -> ReaddirReply
	OpStatFS   Op = 6  // IDReq -> StatFSReply
	OpOpen     Op = 7  // OpenReq -> EmptyReply + 1 FD
	OpCreate   Op = 8  // CreateReq -> NodeReply + 1 FD
	OpMkdir    Op = 9  // MkReq -> NodeReply
	OpMknod    Op = 10 // MkReq -> NodeReply
	OpSymlink  Op = 11 // SymlinkReq -> NodeReply
	OpLink     Op = 12 // LinkReq -> StatReply
	OpUnlink   Op = 13 // UnlinkReq -> EmptyReply
	OpRename   Op = 14 // RenameReq -> EmptyReply
	OpSetAttr  Op = 15 // SetAttrReq -> StatReply
	OpClose    Op = 16 // IDReq -> EmptyReply

	// ReplyBit is or-ed into a request op to form its success reply op.
	ReplyBit Op = 0x8000
	// OpError is the reply to a failed request; payload ErrorReply.
	OpError Op = 0xFFFF
)

var opNames = map[Op]string{
	OpAttach: "attach", OpWalk: "walk", OpStat: "stat", OpReadlink: "readlink",
	OpReaddir: "readdir", OpStatFS: "statfs", OpOpen: "open", OpCreate: "create",
	OpMkdir: "mkdir", OpMknod: "mknod", OpSymlink: "symlink", OpLink: "link",
	OpUnlink: "unlink", OpRename: "rename", OpSetAttr: "setattr", OpClose: "close",
	OpError: "error",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	if o&ReplyBit != 0 {
		if s, ok := opNames[o&^ReplyBit]; ok {
			return s + "-reply"
		}
	}
	return "op?"
}

// Caps. Every length on the wire is checked against one of these.
const (
	HeaderSize = 8
	// MaxMessage is the largest message, header included. It stays well
	// under the default unix socket send buffer (net.core.wmem_default).
	MaxMessage = 64 << 10
	// MaxName is the longest path component (NAME_MAX), also for mount names.
	MaxName = 255
	// MaxPath is the longest symlink target (PATH_MAX).
	MaxPath = 4096
	// MaxFDs is the most FDs one message carries.
	MaxFDs = 1
	// MaxDirentsPerReply caps the entries of one ReaddirReply.
	MaxDirentsPerReply = 4096
	// MaxReaddirBytes is the budget of encoded entries (DirentSize) the
	// server puts in one ReaddirReply.
	MaxReaddirBytes = 32 << 10
	// MaxReaddirEntries caps Client.Readdir's complete listing; a larger
	// directory gives ENOMEM there (use ReaddirPage).
	MaxReaddirEntries = 1 << 20
)

// Rename flags (renameat2).
const (
	RenameNoReplace = unix.RENAME_NOREPLACE
	RenameExchange  = unix.RENAME_EXCHANGE
)

// SetAttr mask bits: which fields of SetAttr to apply.
const (
	SetAttrMode  = 1 << 0
	SetAttrUID   = 1 << 1
	SetAttrGID   = 1 << 2
	SetAttrSize  = 1 << 3
	SetAttrAtime = 1 << 4
	SetAttrMtime = 1 << 5

	SetAttrAll = SetAttrMode | SetAttrUID | SetAttrGID | SetAttrSize | SetAttrAtime | SetAttrMtime
)

// Timespec is a time as seconds and nanoseconds. In SetAttr, Nsec may be
// unix.UTIME_NOW or unix.UTIME_OMIT.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// Stat is what the sentry needs of a host inode.
type Stat struct {
	Dev     uint64
	Ino     uint64
	Mode    uint32 // type and permission bits (S_IF* | 07777)
	Nlink   uint64
	UID     uint32
	GID     uint32
	Rdev    uint64
	Size    int64
	Blksize int64
	Blocks  int64 // 512-byte units
	Atime   Timespec
	Mtime   Timespec
	Ctime   Timespec
}

// StatFromUnix converts a host stat.
func StatFromUnix(st *unix.Stat_t) Stat {
	return Stat{
		Dev:     uint64(st.Dev),
		Ino:     uint64(st.Ino),
		Mode:    uint32(st.Mode),
		Nlink:   uint64(st.Nlink),
		UID:     st.Uid,
		GID:     st.Gid,
		Rdev:    uint64(st.Rdev),
		Size:    int64(st.Size),
		Blksize: int64(st.Blksize),
		Blocks:  int64(st.Blocks),
		Atime:   Timespec{int64(st.Atim.Sec), int64(st.Atim.Nsec)},
		Mtime:   Timespec{int64(st.Mtim.Sec), int64(st.Mtim.Nsec)},
		Ctime:   Timespec{int64(st.Ctim.Sec), int64(st.Ctim.Nsec)},
	}
}

// StatFS mirrors unix.Statfs_t.
type StatFS struct {
	Type    int64
	Bsize   int64
	Blocks  uint64
	Bfree   uint64
	Bavail  uint64
	Files   uint64
	Ffree   uint64
	Fsid    [2]int32
	Namelen int64
	Frsize  int64
	Flags   int64 // ST_* mount flags; ST_RDONLY is set for read-only mounts
}

// StatFSFromUnix converts a host statfs.
func StatFSFromUnix(s *unix.Statfs_t) StatFS {
	return StatFS{
		Type:    int64(s.Type),
		Bsize:   int64(s.Bsize),
		Blocks:  uint64(s.Blocks),
		Bfree:   uint64(s.Bfree),
		Bavail:  uint64(s.Bavail),
		Files:   uint64(s.Files),
		Ffree:   uint64(s.Ffree),
		Fsid:    [2]int32{int32(s.Fsid.Val[0]), int32(s.Fsid.Val[1])},
		Namelen: int64(s.Namelen),
		Frsize:  int64(s.Frsize),
		Flags:   int64(s.Flags),
	}
}

// Dirent is one directory entry.
type Dirent struct {
	Ino  uint64
	Off  uint64 // cursor that resumes the listing after this entry
	Type uint8  // DT_* value
	Name string
}

// direntFixed is the encoded size of a Dirent without its name bytes.
const direntFixed = 8 + 8 + 1 + 2

// DirentSize is the encoded size of d in a ReaddirReply.
func DirentSize(name string) int { return direntFixed + len(name) }

// SetAttr says which attributes to change (Mask) and to what.
type SetAttr struct {
	Mask  uint32
	Mode  uint32 // permission bits only (07777)
	UID   uint32
	GID   uint32
	Size  uint64
	Atime Timespec
	Mtime Timespec
}

// ValidName reports whether name can be one path component: not "", "."
// or "..", no '/' and no NUL (EINVAL), at most MaxName bytes (ENAMETOOLONG).
func ValidName(name string) error {
	if len(name) > MaxName {
		return unix.ENAMETOOLONG
	}
	if name == "" || name == "." || name == ".." {
		return unix.EINVAL
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return unix.EINVAL
		}
	}
	return nil
}

// ReplyFDs is how many FDs the success reply to op carries.
func ReplyFDs(op Op) int {
	switch op {
	case OpOpen, OpCreate:
		return 1
	}
	return 0
}
