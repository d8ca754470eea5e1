package kernel

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestSigPendingStandardSignalsMerge(t *testing.T) {
	var p sigPending
	require.NoError(t, p.add(SigInfo{Signo: int32(unix.SIGUSR1), PID: 1}, 10))
	require.ErrorIs(t, p.add(SigInfo{Signo: int32(unix.SIGUSR1), PID: 2}, 10), ErrSignalDropped)
	require.Equal(t, uint64(1)<<(unix.SIGUSR1-1), p.set)
	info, ok := p.take(int(unix.SIGUSR1))
	require.True(t, ok)
	require.Equal(t, int32(1), info.PID, "the first instance keeps its siginfo")
	require.Zero(t, p.set)
	require.Zero(t, p.n)
}

func TestSigPendingRealTimeSignalsQueueInOrder(t *testing.T) {
	var p sigPending
	const rt = SigRTMin + 2
	for v := uint64(1); v <= 3; v++ {
		require.NoError(t, p.add(SigInfo{Signo: rt, Code: SIQueue, Value: v}, 10))
	}
	require.NoError(t, p.add(SigInfo{Signo: SigRTMin}, 10))
	require.NoError(t, p.add(SigInfo{Signo: int32(unix.SIGHUP)}, 10))
	var got []int
	var vals []uint64
	for p.set != 0 {
		info, ok := p.takeLowest(^uint64(0))
		require.True(t, ok)
		got = append(got, int(info.Signo))
		if info.Signo == rt {
			vals = append(vals, info.Value)
		}
	}
	require.Equal(t, []int{int(unix.SIGHUP), SigRTMin, rt, rt, rt}, got)
	require.Equal(t, []uint64{1, 2, 3}, vals)
	require.Zero(t, p.n)
}

func TestSigPendingLimit(t *testing.T) {
	var p sigPending
	const rt = SigRTMin + 1
	require.NoError(t, p.add(SigInfo{Signo: rt}, 2))
	require.NoError(t, p.add(SigInfo{Signo: rt}, 2))
	require.Equal(t, unix.EAGAIN, p.add(SigInfo{Signo: rt}, 2))
	// A signal with nothing pending still gets one instance.
	require.NoError(t, p.add(SigInfo{Signo: rt + 1}, 2))
	p.discard(1 << (rt - 1))
	require.Equal(t, uint64(1)<<rt, p.set)
	require.Equal(t, 1, p.n)
}

func TestSigPendingTimerOverrunReadOnTake(t *testing.T) {
	var p sigPending
	var sent []SigInfo
	pt := &PosixTimer{
		info: SigInfo{Signo: SigRTMin, Code: SITimer, TimerID: 3},
		send: func(i SigInfo) error { sent = append(sent, i); return p.add(i, 10) },
	}
	pt.expire(0)
	pt.expire(2) // while queued: 1 + 2 missed
	pt.expire(0)
	require.Len(t, sent, 1, "a timer has one signal queued at most")
	info, ok := p.take(SigRTMin)
	require.True(t, ok)
	require.Equal(t, int32(4), info.Overrun)
	require.Equal(t, 4, pt.Overrun())
	require.Nil(t, info.timer)
	pt.expire(0)
	require.Len(t, sent, 2)
	info, ok = p.take(SigRTMin)
	require.True(t, ok)
	require.Equal(t, int32(0), info.Overrun)
	require.Equal(t, 0, pt.Overrun())
}

// stoppedTimer is an IntervalTimer that is never armed.
type stoppedTimer struct{}

func (stoppedTimer) Set(time.Duration, time.Duration) (time.Duration, time.Duration) { return 0, 0 }
func (stoppedTimer) Get() (time.Duration, time.Duration)                             { return 0, 0 }
func (stoppedTimer) Stop()                                                           {}

func TestTimerSignalDroppedAfterRearmOrDelete(t *testing.T) {
	var p sigPending
	pt := &PosixTimer{
		IntervalTimer: stoppedTimer{},
		info:          SigInfo{Signo: SigRTMin, Code: SITimer},
		send:          func(i SigInfo) error { return p.add(i, 10) },
	}
	pt.expire(0)
	pt.Set(time.Second, 0) // re-armed: the queued signal is stale
	pt.expire(0)           // the new arming's signal queues behind it
	require.Equal(t, 2, p.n)
	info, ok := p.takeLowest(^uint64(0))
	require.True(t, ok, "the stale one is skipped, the new one taken")
	require.Equal(t, int32(SigRTMin), info.Signo)
	require.Zero(t, p.set)

	pt.expire(0)
	pt.Stop()
	pt.expire(0) // deleted: nothing more
	require.Equal(t, uint64(1)<<(SigRTMin-1), p.set, "still pending, as sigpending shows")
	_, ok = p.takeLowest(^uint64(0))
	require.False(t, ok)
	require.Zero(t, p.set)
	require.Zero(t, p.n)
}

func TestPosixTimerDroppedSignalDoesNotStick(t *testing.T) {
	n := 0
	pt := &PosixTimer{
		info: SigInfo{Signo: int32(unix.SIGALRM), Code: SITimer},
		send: func(SigInfo) error { n++; return ErrSignalDropped },
	}
	pt.expire(0)
	pt.expire(0)
	require.Equal(t, 2, n, "an ignored signal leaves the timer free to signal again")
}
