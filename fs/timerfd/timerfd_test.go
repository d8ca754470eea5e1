package timerfd

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

func read(t *testing.T, f *File) uint64 {
	t.Helper()
	b := make([]byte, 8)
	n, err := f.Readv([][]byte{b})
	require.NoError(t, err)
	require.Equal(t, 8, n)
	return binary.LittleEndian.Uint64(b)
}

func TestPastStartCountsMissedPeriods(t *testing.T) {
	f := New(unix.CLOCK_MONOTONIC)
	defer f.Release()
	f.Set(time.Now().Add(-time.Second-time.Millisecond), 100*time.Millisecond)
	require.Equal(t, uint32(vfs.PollIn), f.Readiness(vfs.PollIn))
	require.Equal(t, uint64(11), read(t, f))
	require.Zero(t, f.Readiness(vfs.PollIn))
	rem, interval := f.Get()
	require.Greater(t, rem, time.Duration(0))
	require.LessOrEqual(t, rem, 100*time.Millisecond)
	require.Equal(t, 100*time.Millisecond, interval)
}

func TestShortBufferAndDisarm(t *testing.T) {
	f := New(unix.CLOCK_REALTIME)
	defer f.Release()
	_, err := f.Readv([][]byte{make([]byte, 4), make([]byte, 3)})
	require.Equal(t, unix.EINVAL, err)
	f.Set(time.Now().Add(time.Hour), time.Minute)
	oldRem, oldInt := f.Set(time.Time{}, 0)
	require.Greater(t, oldRem, 59*time.Minute)
	require.Equal(t, time.Minute, oldInt)
	rem, _ := f.Get()
	require.Zero(t, rem)
}

func TestWakesWaiterAtExpiry(t *testing.T) {
	f := New(unix.CLOCK_MONOTONIC)
	defer f.Release()
	ch := f.Changed()
	start := time.Now()
	f.Set(start.Add(10*time.Millisecond), 0)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up at the expiration")
	}
	require.GreaterOrEqual(t, time.Since(start), 10*time.Millisecond)
	require.Equal(t, uint64(1), read(t, f))
}
