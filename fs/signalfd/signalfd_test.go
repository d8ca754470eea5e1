package signalfd

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// fakeSource holds pending records in order, one per signal at most.
type fakeSource struct {
	pending []Info
	queued  chan struct{}
}

func (s *fakeSource) Dequeue(mask uint64) (Info, bool) {
	for i, info := range s.pending {
		if mask&(1<<(info.Signo-1)) != 0 {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return info, true
		}
	}
	return Info{}, false
}

func (s *fakeSource) Pending() uint64 {
	var set uint64
	for _, info := range s.pending {
		set |= 1 << (info.Signo - 1)
	}
	return set
}

func (s *fakeSource) Queued() <-chan struct{} { return s.queued }

func bit(sig unix.Signal) uint64 { return 1 << (sig - 1) }

func TestReadsRecordsOfTheMaskOnly(t *testing.T) {
	src := &fakeSource{pending: []Info{
		{Signo: uint32(unix.SIGUSR1), Code: -6, PID: 7, Int: -1},
		{Signo: uint32(unix.SIGUSR2), PID: 8},
		{Signo: 40, Code: -1, PID: 9, Int: 5, Ptr: 5},
	}}
	f := New(src, bit(unix.SIGUSR1)|1<<39|bit(unix.SIGKILL))
	require.Equal(t, bit(unix.SIGUSR1)|1<<39, f.Mask(), "SIGKILL is never read")
	require.Equal(t, uint32(vfs.PollIn), f.Readiness(vfs.PollIn|vfs.PollOut))

	_, err := f.Readv([][]byte{make([]byte, RecordSize-1)})
	require.Equal(t, unix.EINVAL, err)

	buf := make([]byte, 3*RecordSize+10)
	n, err := f.Readv([][]byte{buf[:100], buf[100:]})
	require.NoError(t, err)
	require.Equal(t, 2*RecordSize, n)
	le := binary.LittleEndian
	require.Equal(t, uint32(unix.SIGUSR1), le.Uint32(buf[0:]))
	require.Equal(t, int32(-6), int32(le.Uint32(buf[8:])))
	require.Equal(t, uint32(7), le.Uint32(buf[12:]))
	r := buf[RecordSize:]
	require.Equal(t, uint32(40), le.Uint32(r[0:]))
	require.Equal(t, int32(5), int32(le.Uint32(r[44:])))
	require.Equal(t, uint64(5), le.Uint64(r[48:]))

	require.Zero(t, f.Readiness(vfs.PollIn), "SIGUSR2 is not in the mask")
	f.SetMask(bit(unix.SIGUSR2))
	require.Equal(t, uint32(vfs.PollIn), f.Readiness(vfs.PollIn))
}

func TestNonblockingEmptyReadIsEAGAIN(t *testing.T) {
	src := &fakeSource{queued: make(chan struct{})}
	f := New(src, bit(unix.SIGUSR1))
	d := vfs.NewFileDescription(f, unix.O_RDWR|unix.O_NONBLOCK)
	f.SetDescription(d)
	defer d.DecRef()
	_, err := d.Read([][]byte{make([]byte, RecordSize)})
	require.Equal(t, unix.EAGAIN, err)
}
