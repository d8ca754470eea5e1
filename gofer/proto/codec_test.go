package proto

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type sample struct {
	op  Op
	msg Message
}

func sampleStat() Stat {
	return Stat{
		Dev: 0x803, Ino: 1234567, Mode: unix.S_IFREG | 0644, Nlink: 2, UID: 1000, GID: 100,
		Rdev: 0, Size: 1 << 40, Blksize: 4096, Blocks: 8,
		Atime: Timespec{1700000000, 1}, Mtime: Timespec{-5, 999999999}, Ctime: Timespec{1, 2},
	}
}

func requestSamples() []sample {
	return []sample{
		{OpAttach, &AttachReq{Mount: "root"}},
		{OpAttach, &AttachReq{Mount: ""}},
		{OpWalk, &WalkReq{Dir: 1, Name: "etc"}},
		{OpWalk, &WalkReq{Dir: ^uint64(0), Name: strings.Repeat("n", MaxName)}},
		{OpStat, &IDReq{ID: 7}},
		{OpReadlink, &IDReq{ID: 8}},
		{OpStatFS, &IDReq{ID: 9}},
		{OpClose, &IDReq{ID: 10}},
		{OpReaddir, &ReaddirReq{ID: 3, Cursor: 0x7fffffffffffffff}},
		{OpOpen, &OpenReq{ID: 4, Flags: unix.O_RDWR | unix.O_TRUNC}},
		{OpCreate, &CreateReq{Dir: 1, Name: "f", Flags: unix.O_EXCL | unix.O_WRONLY, Mode: 0644, UID: 1, GID: 2}},
		{OpMkdir, &MkReq{Dir: 1, Name: "d", Mode: 0755, UID: 3, GID: 4}},
		{OpMknod, &MkReq{Dir: 1, Name: "p", Mode: unix.S_IFIFO | 0600, UID: 5, GID: 6}},
		{OpSymlink, &SymlinkReq{Dir: 1, Name: "l", Target: strings.Repeat("t", MaxPath), UID: 7, GID: 8}},
		{OpLink, &LinkReq{Dir: 1, Name: "h", Target: 99}},
		{OpUnlink, &UnlinkReq{Dir: 1, Name: "x", IsDir: true}},
		{OpUnlink, &UnlinkReq{Dir: 1, Name: "x", IsDir: false}},
		{OpRename, &RenameReq{OldDir: 1, OldName: "a", NewDir: 2, NewName: "b", Flags: RenameExchange}},
		{OpSetAttr, &SetAttrReq{ID: 5, Attr: SetAttr{
			Mask: SetAttrAll, Mode: 0600, UID: 1, GID: 2, Size: 100,
			Atime: Timespec{1, unix.UTIME_NOW}, Mtime: Timespec{2, unix.UTIME_OMIT},
		}}},
	}
}

func replySamples() []sample {
	return []sample{
		{OpAttach, &NodeReply{ID: 1, Stat: sampleStat()}},
		{OpWalk, &WalkReply{ID: 2, Stat: sampleStat()}},
		{OpWalk, &WalkReply{ID: 2, Stat: sampleStat(), Target: "../lib/x"}},
		{OpCreate, &NodeReply{ID: 3, Stat: sampleStat()}},
		{OpStat, &StatReply{Stat: sampleStat()}},
		{OpSetAttr, &StatReply{Stat: Stat{}}},
		{OpReadlink, &ReadlinkReply{Target: "/etc"}},
		{OpReaddir, &ReaddirReply{Next: 42, EOF: true}},
		{OpReaddir, &ReaddirReply{Entries: []Dirent{
			{Ino: 1, Off: 10, Type: unix.DT_REG, Name: "a"},
			{Ino: 2, Off: 20, Type: unix.DT_DIR, Name: strings.Repeat("b", MaxName)},
		}, Next: 20}},
		{OpStatFS, &StatFSReply{StatFS: StatFS{Type: 0xEF53, Bsize: 4096, Blocks: 10, Bfree: 5, Bavail: 4,
			Files: 100, Ffree: 50, Fsid: [2]int32{-1, 7}, Namelen: 255, Frsize: 4096, Flags: unix.ST_RDONLY}}},
		{OpOpen, &EmptyReply{}},
		{OpUnlink, &EmptyReply{}},
		{OpRename, &EmptyReply{}},
		{OpClose, &EmptyReply{}},
	}
}

func marshal(t testing.TB, op Op, nfds int, m Message) []byte {
	b, err := Marshal(nil, op, nfds, m)
	require.NoError(t, err)
	return b
}

func TestRequestRoundTrip(t *testing.T) {
	for _, s := range requestSamples() {
		b := marshal(t, s.op, 0, s.msg)
		op, m, err := DecodeRequest(b, 0)
		require.NoError(t, err, "%v", s.op)
		assert.Equal(t, s.op, op)
		assert.Equal(t, s.msg, m)
	}
}

func TestReplyRoundTrip(t *testing.T) {
	for _, s := range replySamples() {
		nfds := ReplyFDs(s.op)
		b := marshal(t, s.op|ReplyBit, nfds, s.msg)
		m, err := DecodeReply(b, s.op, nfds)
		require.NoError(t, err, "%v", s.op)
		assert.Equal(t, s.msg, m)
	}
}

func TestErrorReply(t *testing.T) {
	b := marshal(t, OpError, 0, &ErrorReply{Errno: uint32(unix.ENOENT)})
	m, err := DecodeReply(b, OpWalk, 0)
	assert.Nil(t, m)
	assert.Equal(t, unix.ENOENT, err)

	for _, bad := range []uint32{0, 4096, 0xFFFFFFFF} {
		b := marshal(t, OpError, 0, &ErrorReply{Errno: bad})
		_, err := DecodeReply(b, OpWalk, 0)
		assert.Equal(t, unix.EIO, err, "errno %d", bad)
	}
	// An error reply never carries FDs.
	b = marshal(t, OpError, 1, &ErrorReply{Errno: uint32(unix.ENOENT)})
	_, err = DecodeReply(b, OpOpen, 1)
	assert.Equal(t, unix.EIO, err)
}

func TestTruncatedRejected(t *testing.T) {
	for _, s := range requestSamples() {
		b := marshal(t, s.op, 0, s.msg)
		for n := 0; n < len(b); n++ {
			_, _, err := DecodeRequest(b[:n], 0)
			require.Error(t, err, "%v cut at %d", s.op, n)
			if n >= HeaderSize {
				// Same cut, with the header's length made consistent.
				c := append([]byte(nil), b[:n]...)
				binary.LittleEndian.PutUint32(c[4:], uint32(n-HeaderSize))
				_, _, err := DecodeRequest(c, 0)
				require.Error(t, err, "%v cut at %d (length fixed)", s.op, n)
			}
		}
	}
	for _, s := range replySamples() {
		nfds := ReplyFDs(s.op)
		b := marshal(t, s.op|ReplyBit, nfds, s.msg)
		for n := 0; n < len(b); n++ {
			c := append([]byte(nil), b[:n]...)
			if n >= HeaderSize {
				binary.LittleEndian.PutUint32(c[4:], uint32(n-HeaderSize))
			}
			_, err := DecodeReply(c, s.op, nfds)
			require.Equal(t, unix.EIO, err, "%v cut at %d", s.op, n)
		}
	}
}

func TestOversizedRejected(t *testing.T) {
	long := strings.Repeat("x", MaxName+1)
	for _, m := range []Message{
		&WalkReq{Dir: 1, Name: long},
		&AttachReq{Mount: long},
		&CreateReq{Dir: 1, Name: long},
		&RenameReq{OldName: "a", NewName: long},
		&SymlinkReq{Name: "l", Target: strings.Repeat("t", MaxPath+1)},
	} {
		_, err := Marshal(nil, OpWalk, 0, m)
		assert.Equal(t, unix.ENAMETOOLONG, err, "%T", m)
	}

	// A hand-made name length over the cap is refused before reading it.
	b := marshal(t, OpWalk, 0, &WalkReq{Dir: 1, Name: "a"})
	binary.LittleEndian.PutUint16(b[HeaderSize+8:], MaxName+1)
	b = append(b, bytes.Repeat([]byte("a"), MaxName)...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-HeaderSize))
	_, _, err := DecodeRequest(b, 0)
	assert.Equal(t, unix.ENAMETOOLONG, err)

	// Messages over MaxMessage.
	big := make([]byte, MaxMessage+1)
	binary.LittleEndian.PutUint16(big, uint16(OpStat))
	binary.LittleEndian.PutUint32(big[4:], uint32(len(big)-HeaderSize))
	_, _, err = DecodeRequest(big, 0)
	assert.Equal(t, unix.EINVAL, err)

	// Too many dirents for one reply cannot be encoded.
	_, err = Marshal(nil, OpReaddir|ReplyBit, 0, &ReaddirReply{Entries: make([]Dirent, MaxDirentsPerReply+1)})
	assert.Error(t, err)

	// A ReaddirReply whose count the payload cannot hold is refused
	// without allocating for the count.
	b = marshal(t, OpReaddir|ReplyBit, 0, &ReaddirReply{})
	binary.LittleEndian.PutUint16(b[HeaderSize+9:], MaxDirentsPerReply)
	allocs := testing.AllocsPerRun(100, func() {
		_, err = DecodeReply(b, OpReaddir, 0)
	})
	assert.Equal(t, unix.EIO, err)
	assert.LessOrEqual(t, allocs, 2.0)
}

func TestGarbageRejected(t *testing.T) {
	valid := marshal(t, OpStat, 0, &IDReq{ID: 1})
	mutate := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), valid...))
	}
	cases := map[string]struct {
		b    []byte
		nfds int
		want unix.Errno
	}{
		"unknown op":      {mutate(func(b []byte) []byte { b[0] = 200; return b }), 0, unix.ENOSYS},
		"reply op":        {mutate(func(b []byte) []byte { b[1] = 0x80; return b }), 0, unix.ENOSYS},
		"reserved byte":   {mutate(func(b []byte) []byte { b[3] = 1; return b }), 0, unix.EINVAL},
		"length too big":  {mutate(func(b []byte) []byte { b[4]++; return b }), 0, unix.EINVAL},
		"length small":    {mutate(func(b []byte) []byte { b[4]--; return b }), 0, unix.EINVAL},
		"trailing byte":   {mutate(func(b []byte) []byte { b[4]++; return append(b, 0) }), 0, unix.EINVAL},
		"fd announced":    {mutate(func(b []byte) []byte { b[2] = 1; return b }), 0, unix.EINVAL},
		"fd attached":     {valid, 1, unix.EINVAL},
		"fd both":         {mutate(func(b []byte) []byte { b[2] = 1; return b }), 1, unix.EINVAL},
		"too many fds":    {mutate(func(b []byte) []byte { b[2] = 200; return b }), 200, unix.EINVAL},
		"empty":           {nil, 0, unix.EINVAL},
		"header only":     {valid[:HeaderSize], 0, unix.EINVAL},
		"bad bool":        {badBool(t), 0, unix.EINVAL},
		"random 8 bytes":  {[]byte{1, 2, 3, 4, 5, 6, 7, 8}, 0, unix.EINVAL},
		"length overflow": {mutate(func(b []byte) []byte { b[7] = 0xFF; return b }), 0, unix.EINVAL},
	}
	for name, c := range cases {
		_, _, err := DecodeRequest(c.b, c.nfds)
		assert.Equal(t, c.want, err, name)
	}

	// Replies: wrong op, wrong FD count, invalid dirent names.
	st := marshal(t, OpStat|ReplyBit, 0, &StatReply{})
	_, err := DecodeReply(st, OpWalk, 0)
	assert.Equal(t, unix.EIO, err, "reply to another op")
	open := marshal(t, OpOpen|ReplyBit, 0, &EmptyReply{})
	_, err = DecodeReply(open, OpOpen, 0)
	assert.Equal(t, unix.EIO, err, "open reply without its FD")
	open = marshal(t, OpOpen|ReplyBit, 1, &EmptyReply{})
	_, err = DecodeReply(open, OpOpen, 0)
	assert.Equal(t, unix.EIO, err, "open reply: FD announced, none came")
	st = marshal(t, OpStat|ReplyBit, 1, &StatReply{})
	_, err = DecodeReply(st, OpStat, 1)
	assert.Equal(t, unix.EIO, err, "stat reply with an FD")
	for _, name := range []string{"a/b", ".", "..", "a\x00"} {
		b := marshal(t, OpReaddir|ReplyBit, 0, &ReaddirReply{Entries: []Dirent{{Name: name}}})
		_, err = DecodeReply(b, OpReaddir, 0)
		assert.Equal(t, unix.EIO, err, "dirent name %q", name)
	}
}

func badBool(t *testing.T) []byte {
	b := marshal(t, OpUnlink, 0, &UnlinkReq{Dir: 1, Name: "x", IsDir: true})
	b[len(b)-1] = 2
	return b
}

func TestRandomGarbageNeverPanics(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	seeds := [][]byte{}
	for _, s := range requestSamples() {
		seeds = append(seeds, marshal(t, s.op, 0, s.msg))
	}
	for _, s := range replySamples() {
		seeds = append(seeds, marshal(t, s.op|ReplyBit, ReplyFDs(s.op), s.msg))
	}
	for i := 0; i < 20000; i++ {
		var b []byte
		if i%2 == 0 {
			b = make([]byte, r.Intn(64))
			r.Read(b)
		} else {
			b = append([]byte(nil), seeds[r.Intn(len(seeds))]...)
			for k := 0; k < 1+r.Intn(4); k++ {
				b[r.Intn(len(b))] = byte(r.Intn(256))
			}
		}
		checkDecode(t, b, r.Intn(2))
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "...", "a b", ".x", strings.Repeat("n", MaxName)} {
		assert.NoError(t, ValidName(ok), ok)
	}
	for _, bad := range []string{"", ".", "..", "a/b", "/", "a\x00b"} {
		assert.Equal(t, unix.EINVAL, ValidName(bad), bad)
	}
	assert.Equal(t, unix.ENAMETOOLONG, ValidName(strings.Repeat("n", MaxName+1)))
}

func TestOpString(t *testing.T) {
	assert.Equal(t, "walk", OpWalk.String())
	assert.Equal(t, "walk-reply", (OpWalk | ReplyBit).String())
	assert.Equal(t, "error", OpError.String())
	assert.Equal(t, "op?", Op(999).String())
}
