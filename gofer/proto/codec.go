package proto

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Message is a request or reply payload.
type Message interface {
	encode(e *encoder)
	decode(d *decoder)
}

// encoder appends little-endian fields; the first over-cap string makes it
// fail (err sticks).
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *encoder) i64(v int64)  { e.u64(uint64(v)) }

func (e *encoder) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

func (e *encoder) str(s string, max int) {
	if len(s) > max {
		if e.err == nil {
			e.err = unix.ENAMETOOLONG
		}
		return
	}
	e.u16(uint16(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) ts(t Timespec) { e.i64(t.Sec); e.i64(t.Nsec) }

// decoder reads little-endian fields from b; the first short read or
// violated cap makes it fail (err sticks, later reads return zero values).
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail(unix.EINVAL)
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) u8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if p := d.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) i64() int64 { return int64(d.u64()) }

func (d *decoder) boolean() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(unix.EINVAL)
	return false
}

func (d *decoder) str(max int) string {
	n := int(d.u16())
	if d.err != nil {
		return ""
	}
	if n > max {
		d.fail(unix.ENAMETOOLONG)
		return ""
	}
	return string(d.take(n))
}

func (d *decoder) ts() Timespec { return Timespec{d.i64(), d.i64()} }

// done fails the decoder if bytes are left over.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(unix.EINVAL)
	}
	return d.err
}

// Header is the fixed message header.
type Header struct {
	Op     Op
	NumFDs uint8
	Len    uint32
}

// ParseHeader checks the header of a whole message b and returns it with
// the payload.
func ParseHeader(b []byte) (Header, []byte, error) {
	if len(b) < HeaderSize || len(b) > MaxMessage {
		return Header{}, nil, unix.EINVAL
	}
	h := Header{
		Op:     Op(binary.LittleEndian.Uint16(b[0:])),
		NumFDs: b[2],
		Len:    binary.LittleEndian.Uint32(b[4:]),
	}
	if b[3] != 0 || int(h.Len) != len(b)-HeaderSize || h.NumFDs > MaxFDs {
		return Header{}, nil, unix.EINVAL
	}
	return h, b[HeaderSize:], nil
}

// Marshal appends to buf the message for op with payload m, announcing
// nfds attached FDs. It fails with ENAMETOOLONG if a string is over its cap
// and EMSGSIZE if the message would exceed MaxMessage.
func Marshal(buf []byte, op Op, nfds int, m Message) ([]byte, error) {
	if nfds < 0 || nfds > MaxFDs {
		return buf, unix.EINVAL
	}
	start := len(buf)
	e := encoder{b: append(buf, 0, 0, 0, 0, 0, 0, 0, 0)}
	m.encode(&e)
	if e.err != nil {
		return buf, e.err
	}
	n := len(e.b) - start
	if n > MaxMessage {
		return buf, unix.EMSGSIZE
	}
	h := e.b[start:]
	binary.LittleEndian.PutUint16(h[0:], uint16(op))
	h[2] = uint8(nfds)
	h[3] = 0
	binary.LittleEndian.PutUint32(h[4:], uint32(n-HeaderSize))
	return e.b, nil
}

// NewRequest returns an empty request payload for op, or nil if op is not
// a request op.
func NewRequest(op Op) Message {
	switch op {
	case OpAttach:
		return new(AttachReq)
	case OpWalk:
		return new(WalkReq)
	case OpStat, OpReadlink, OpStatFS, OpClose:
		return new(IDReq)
	case OpReaddir:
		return new(ReaddirReq)
	case OpOpen:
		return new(OpenReq)
	case OpCreate:
		return new(CreateReq)
	case OpMkdir, OpMknod:
		return new(MkReq)
	case OpSymlink:
		return new(SymlinkReq)
	case OpLink:
		return new(LinkReq)
	case OpUnlink:
		return new(UnlinkReq)
	case OpRename:
		return new(RenameReq)
	case OpSetAttr:
		return new(SetAttrReq)
	}
	return nil
}

// NewReply returns an empty success reply payload for request op, or nil
// if op is not a request op.
func NewReply(op Op) Message {
	switch op {
	case OpAttach, OpCreate, OpMkdir, OpMknod, OpSymlink:
		return new(NodeReply)
	case OpWalk:
		return new(WalkReply)
	case OpStat, OpLink, OpSetAttr:
		return new(StatReply)
	case OpReadlink:
		return new(ReadlinkReply)
	case OpReaddir:
		return new(ReaddirReply)
	case OpStatFS:
		return new(StatFSReply)
	case OpOpen, OpUnlink, OpRename, OpClose:
		return new(EmptyReply)
	}
	return nil
}

// DecodeRequest decodes a whole request message that arrived with nfds
// FDs. Requests never carry FDs. Errors are unix.Errno: ENOSYS for an
// unknown op, ENAMETOOLONG for an over-cap string, EINVAL otherwise.
func DecodeRequest(b []byte, nfds int) (Op, Message, error) {
	h, payload, err := ParseHeader(b)
	if err != nil {
		return 0, nil, err
	}
	if int(h.NumFDs) != nfds || nfds != 0 {
		return h.Op, nil, unix.EINVAL
	}
	m := NewRequest(h.Op)
	if m == nil {
		return h.Op, nil, unix.ENOSYS
	}
	d := decoder{b: payload}
	m.decode(&d)
	if err := d.done(); err != nil {
		return h.Op, nil, err
	}
	return h.Op, m, nil
}

// DecodeReply decodes a whole reply message to request op that arrived
// with nfds FDs. A well-formed error reply returns its errno as the error
// (with a nil Message). Any malformation, an unexpected op or an FD count
// other than the op's returns EIO.
func DecodeReply(b []byte, op Op, nfds int) (Message, error) {
	h, payload, err := ParseHeader(b)
	if err != nil || int(h.NumFDs) != nfds {
		return nil, unix.EIO
	}
	d := decoder{b: payload}
	switch h.Op {
	case OpError:
		var r ErrorReply
		r.decode(&d)
		if d.done() != nil || nfds != 0 || r.Errno == 0 || r.Errno > 4095 {
			return nil, unix.EIO
		}
		return nil, unix.Errno(r.Errno)
	case op | ReplyBit:
		m := NewReply(op)
		if m == nil || nfds != ReplyFDs(op) {
			return nil, unix.EIO
		}
		m.decode(&d)
		if d.done() != nil {
			return nil, unix.EIO
		}
		return m, nil
	}
	return nil, unix.EIO
}

// Requests.

// AttachReq asks for the root handle of a named mount.
type AttachReq struct{ Mount string }

func (m *AttachReq) encode(e *encoder) { e.str(m.Mount, MaxName) }
func (m *AttachReq) decode(d *decoder) { m.Mount = d.str(MaxName) }

// WalkReq asks for the handle of one component Name in directory Dir.
type WalkReq struct {
	Dir  uint64
	Name string
}

func (m *WalkReq) encode(e *encoder) { e.u64(m.Dir); e.str(m.Name, MaxName) }
func (m *WalkReq) decode(d *decoder) { m.Dir = d.u64(); m.Name = d.str(MaxName) }

// IDReq names one handle (Stat, Readlink, StatFS, Close).
type IDReq struct{ ID uint64 }

func (m *IDReq) encode(e *encoder) { e.u64(m.ID) }
func (m *IDReq) decode(d *decoder) { m.ID = d.u64() }

// ReaddirReq asks for one page of directory ID, from Cursor (0: start;
// else a Dirent.Off or ReaddirReply.Next from an earlier page).
type ReaddirReq struct {
	ID     uint64
	Cursor uint64
}

func (m *ReaddirReq) encode(e *encoder) { e.u64(m.ID); e.u64(m.Cursor) }
func (m *ReaddirReq) decode(d *decoder) { m.ID = d.u64(); m.Cursor = d.u64() }

// OpenReq asks for an open host FD of handle ID.
type OpenReq struct {
	ID    uint64
	Flags uint32
}

func (m *OpenReq) encode(e *encoder) { e.u64(m.ID); e.u32(m.Flags) }
func (m *OpenReq) decode(d *decoder) { m.ID = d.u64(); m.Flags = d.u32() }

// CreateReq creates (or, without O_EXCL, opens) regular file Name in Dir.
type CreateReq struct {
	Dir   uint64
	Name  string
	Flags uint32
	Mode  uint32
	UID   uint32
	GID   uint32
}

func (m *CreateReq) encode(e *encoder) {
	e.u64(m.Dir)
	e.str(m.Name, MaxName)
	e.u32(m.Flags)
	e.u32(m.Mode)
	e.u32(m.UID)
	e.u32(m.GID)
}

func (m *CreateReq) decode(d *decoder) {
	m.Dir = d.u64()
	m.Name = d.str(MaxName)
	m.Flags = d.u32()
	m.Mode = d.u32()
	m.UID = d.u32()
	m.GID = d.u32()
}

// MkReq creates directory (Mkdir) or node (Mknod) Name in Dir.
type MkReq struct {
	Dir  uint64
	Name string
	Mode uint32
	UID  uint32
	GID  uint32
}

func (m *MkReq) encode(e *encoder) {
	e.u64(m.Dir)
	e.str(m.Name, MaxName)
	e.u32(m.Mode)
	e.u32(m.UID)
	e.u32(m.GID)
}

func (m *MkReq) decode(d *decoder) {
	m.Dir = d.u64()
	m.Name = d.str(MaxName)
	m.Mode = d.u32()
	m.UID = d.u32()
	m.GID = d.u32()
}

// SymlinkReq creates symlink Name in Dir pointing to Target.
type SymlinkReq struct {
	Dir    uint64
	Name   string
	Target string
	UID    uint32
	GID    uint32
}

func (m *SymlinkReq) encode(e *encoder) {
	e.u64(m.Dir)
	e.str(m.Name, MaxName)
	e.str(m.Target, MaxPath)
	e.u32(m.UID)
	e.u32(m.GID)
}

func (m *SymlinkReq) decode(d *decoder) {
	m.Dir = d.u64()
	m.Name = d.str(MaxName)
	m.Target = d.str(MaxPath)
	m.UID = d.u32()
	m.GID = d.u32()
}

// LinkReq makes Name in Dir a hard link to handle Target.
type LinkReq struct {
	Dir    uint64
	Name   string
	Target uint64
}

func (m *LinkReq) encode(e *encoder) { e.u64(m.Dir); e.str(m.Name, MaxName); e.u64(m.Target) }
func (m *LinkReq) decode(d *decoder) { m.Dir = d.u64(); m.Name = d.str(MaxName); m.Target = d.u64() }

// UnlinkReq removes Name from Dir (rmdir if IsDir).
type UnlinkReq struct {
	Dir   uint64
	Name  string
	IsDir bool
}

func (m *UnlinkReq) encode(e *encoder) { e.u64(m.Dir); e.str(m.Name, MaxName); e.boolean(m.IsDir) }
func (m *UnlinkReq) decode(d *decoder) {
	m.Dir = d.u64()
	m.Name = d.str(MaxName)
	m.IsDir = d.boolean()
}

// RenameReq renames OldDir/OldName to NewDir/NewName (renameat2 flags).
type RenameReq struct {
	OldDir  uint64
	OldName string
	NewDir  uint64
	NewName string
	Flags   uint32
}

func (m *RenameReq) encode(e *encoder) {
	e.u64(m.OldDir)
	e.str(m.OldName, MaxName)
	e.u64(m.NewDir)
	e.str(m.NewName, MaxName)
	e.u32(m.Flags)
}

func (m *RenameReq) decode(d *decoder) {
	m.OldDir = d.u64()
	m.OldName = d.str(MaxName)
	m.NewDir = d.u64()
	m.NewName = d.str(MaxName)
	m.Flags = d.u32()
}

// SetAttrReq changes attributes of handle ID.
type SetAttrReq struct {
	ID   uint64
	Attr SetAttr
}

func (m *SetAttrReq) encode(e *encoder) {
	e.u64(m.ID)
	e.u32(m.Attr.Mask)
	e.u32(m.Attr.Mode)
	e.u32(m.Attr.UID)
	e.u32(m.Attr.GID)
	e.u64(m.Attr.Size)
	e.ts(m.Attr.Atime)
	e.ts(m.Attr.Mtime)
}

func (m *SetAttrReq) decode(d *decoder) {
	m.ID = d.u64()
	m.Attr.Mask = d.u32()
	m.Attr.Mode = d.u32()
	m.Attr.UID = d.u32()
	m.Attr.GID = d.u32()
	m.Attr.Size = d.u64()
	m.Attr.Atime = d.ts()
	m.Attr.Mtime = d.ts()
}

// Replies.

// NodeReply carries a new handle and its Stat.
type NodeReply struct {
	ID   uint64
	Stat Stat
}

func (m *NodeReply) encode(e *encoder) { e.u64(m.ID); encodeStat(e, &m.Stat) }
func (m *NodeReply) decode(d *decoder) { m.ID = d.u64(); decodeStat(d, &m.Stat) }

// WalkReply carries a new handle and its Stat and, when the node is a
// symlink, its target (so that following it takes no Readlink round trip;
// "" if it could not be read).
type WalkReply struct {
	ID     uint64
	Stat   Stat
	Target string
}

func (m *WalkReply) encode(e *encoder) {
	e.u64(m.ID)
	encodeStat(e, &m.Stat)
	e.str(m.Target, MaxPath)
}

func (m *WalkReply) decode(d *decoder) {
	m.ID = d.u64()
	decodeStat(d, &m.Stat)
	m.Target = d.str(MaxPath)
}

// StatReply carries a Stat.
type StatReply struct{ Stat Stat }

func (m *StatReply) encode(e *encoder) { encodeStat(e, &m.Stat) }
func (m *StatReply) decode(d *decoder) { decodeStat(d, &m.Stat) }

// ReadlinkReply carries a symlink's target.
type ReadlinkReply struct{ Target string }

func (m *ReadlinkReply) encode(e *encoder) { e.str(m.Target, MaxPath) }
func (m *ReadlinkReply) decode(d *decoder) { m.Target = d.str(MaxPath) }

// ReaddirReply carries one page of entries ("." and ".." never appear).
// Next is the cursor of the following page; EOF says there is none.
type ReaddirReply struct {
	Entries []Dirent
	Next    uint64
	EOF     bool
}

func (m *ReaddirReply) encode(e *encoder) {
	if len(m.Entries) > MaxDirentsPerReply {
		if e.err == nil {
			e.err = unix.EMSGSIZE
		}
		return
	}
	e.u64(m.Next)
	e.boolean(m.EOF)
	e.u16(uint16(len(m.Entries)))
	for i := range m.Entries {
		de := &m.Entries[i]
		e.u64(de.Ino)
		e.u64(de.Off)
		e.u8(de.Type)
		e.str(de.Name, MaxName)
	}
}

func (m *ReaddirReply) decode(d *decoder) {
	m.Next = d.u64()
	m.EOF = d.boolean()
	n := int(d.u16())
	if d.err != nil {
		return
	}
	// Each entry takes at least direntFixed+1 bytes: refuse a count the
	// payload cannot hold before allocating for it.
	if n > MaxDirentsPerReply || n*(direntFixed+1) > len(d.b) {
		d.fail(unix.EINVAL)
		return
	}
	if n == 0 {
		return
	}
	m.Entries = make([]Dirent, n)
	for i := range m.Entries {
		de := &m.Entries[i]
		de.Ino = d.u64()
		de.Off = d.u64()
		de.Type = d.u8()
		de.Name = d.str(MaxName)
		if d.err == nil && ValidName(de.Name) != nil {
			d.fail(unix.EINVAL)
		}
	}
}

// StatFSReply carries filesystem statistics.
type StatFSReply struct{ StatFS StatFS }

func (m *StatFSReply) encode(e *encoder) {
	s := &m.StatFS
	e.i64(s.Type)
	e.i64(s.Bsize)
	e.u64(s.Blocks)
	e.u64(s.Bfree)
	e.u64(s.Bavail)
	e.u64(s.Files)
	e.u64(s.Ffree)
	e.u32(uint32(s.Fsid[0]))
	e.u32(uint32(s.Fsid[1]))
	e.i64(s.Namelen)
	e.i64(s.Frsize)
	e.i64(s.Flags)
}

func (m *StatFSReply) decode(d *decoder) {
	s := &m.StatFS
	s.Type = d.i64()
	s.Bsize = d.i64()
	s.Blocks = d.u64()
	s.Bfree = d.u64()
	s.Bavail = d.u64()
	s.Files = d.u64()
	s.Ffree = d.u64()
	s.Fsid[0] = int32(d.u32())
	s.Fsid[1] = int32(d.u32())
	s.Namelen = d.i64()
	s.Frsize = d.i64()
	s.Flags = d.i64()
}

// EmptyReply has no payload (Open, Unlink, Rename, Close).
type EmptyReply struct{}

func (m *EmptyReply) encode(e *encoder) {}
func (m *EmptyReply) decode(d *decoder) {}

// ErrorReply carries a Linux errno.
type ErrorReply struct{ Errno uint32 }

func (m *ErrorReply) encode(e *encoder) { e.u32(m.Errno) }
func (m *ErrorReply) decode(d *decoder) { m.Errno = d.u32() }

func encodeStat(e *encoder, s *Stat) {
	e.u64(s.Dev)
	e.u64(s.Ino)
	e.u32(s.Mode)
	e.u64(s.Nlink)
	e.u32(s.UID)
	e.u32(s.GID)
	e.u64(s.Rdev)
	e.i64(s.Size)
	e.i64(s.Blksize)
	e.i64(s.Blocks)
	e.ts(s.Atime)
	e.ts(s.Mtime)
	e.ts(s.Ctime)
}

func decodeStat(d *decoder, s *Stat) {
	s.Dev = d.u64()
	s.Ino = d.u64()
	s.Mode = d.u32()
	s.Nlink = d.u64()
	s.UID = d.u32()
	s.GID = d.u32()
	s.Rdev = d.u64()
	s.Size = d.i64()
	s.Blksize = d.i64()
	s.Blocks = d.i64()
	s.Atime = d.ts()
	s.Mtime = d.ts()
	s.Ctime = d.ts()
}
