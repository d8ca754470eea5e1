package kernel

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCPUTimerCountsSampledCPUTime(t *testing.T) {
	tg := &ThreadGroup{k: &Kernel{}}
	c := &cpuTimers{tg: tg, armed: make(map[*CPUTimer]struct{})}
	var fired []int
	x := &CPUTimer{c: c, fire: func(overrun int) { fired = append(fired, overrun) }}
	const ms = time.Millisecond
	x.Set(10*ms, 5*ms)
	defer x.Stop()

	c.update(sample(8 * ms))
	require.Empty(t, fired)
	c.mu.Lock()
	require.Equal(t, 2*ms, x.remainingLocked())
	c.mu.Unlock()

	// Expirations at 10, 15, ..., 100: one firing, 18 overruns.
	c.update(sample(100 * ms))
	require.Equal(t, []int{18}, fired)

	// The clock restarts (execve's new address space): 50 ms more, so
	// expirations at 105, ..., 150.
	c.update(sample(50 * ms))
	require.Equal(t, []int{18, 9}, fired)
	c.mu.Lock()
	require.Equal(t, 5*ms, x.remainingLocked())
	c.mu.Unlock()

	// A sample of 0 (no task has run) changes nothing.
	c.update(sample(0))
	require.Len(t, fired, 2)
}

func TestCPUTimerOneShotDisarms(t *testing.T) {
	tg := &ThreadGroup{k: &Kernel{}}
	c := &cpuTimers{tg: tg, armed: make(map[*CPUTimer]struct{})}
	n := 0
	x := &CPUTimer{c: c, fire: func(int) { n++ }}
	x.Set(time.Millisecond, 0)
	require.Equal(t, int32(1), c.narmed.Load())
	c.update(sample(5 * time.Millisecond))
	c.update(sample(10 * time.Millisecond))
	require.Equal(t, 1, n)
	require.Equal(t, int32(0), c.narmed.Load())
	rem, interval := x.Get()
	require.Zero(t, rem)
	require.Zero(t, interval)
}

// sample returns a clock reading of d.
func sample(d time.Duration) func() time.Duration { return func() time.Duration { return d } }
