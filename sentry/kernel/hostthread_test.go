package kernel

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/platform"
)

// fixedCtx is a context that needs its host thread (as ptrace's does).
type fixedCtx struct{ platform.Context }

// movableCtx counts Detach and Attach calls.
type movableCtx struct {
	platform.Context
	mu               sync.Mutex
	detached, attach int
}

func (m *movableCtx) Detach() { m.mu.Lock(); m.detached++; m.mu.Unlock() }
func (m *movableCtx) Attach() { m.mu.Lock(); m.attach++; m.mu.Unlock() }

func newTestTask(ctx platform.Context) (*Kernel, *Task) {
	k := &Kernel{tasks: map[int]*Task{}, byHostTID: map[int]*Task{}}
	t := &Task{k: k, tg: newThreadGroup(k), ctx: ctx, interruptCh: make(chan struct{}, 1)}
	return k, t
}

// asTask runs fn on a goroutine locked to a thread registered as task's,
// as a task's own goroutine is; the channel closes when fn returns.
func asTask(k *Kernel, task *Task, fn func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		k.register(task)
		fn()
	}()
	return done
}

// blockOnce runs t.Block on a goroutine registered as t's, as a task's is,
// and reports what Current and t.hostTID said while it was blocked and after.
func blockOnce(t *testing.T, k *Kernel, task *Task) (during int, after *Task, err error) {
	t.Helper()
	ch := make(chan struct{})
	blocked := make(chan struct{})
	done := asTask(k, task, func() {
		require.Same(t, task, k.Current())
		close(blocked)
		err = task.Block(ch, time.Time{})
		after = k.Current()
	})
	<-blocked
	// Block has been entered by now or soon; give it time to get there.
	time.Sleep(20 * time.Millisecond)
	k.mu.Lock()
	during = task.hostTID
	k.mu.Unlock()
	close(ch)
	<-done
	return during, after, err
}

// TestBlockLeavesThread: a task whose context can move is off its host
// thread while it blocks (no host thread is recorded as its, so Current on
// that thread finds nothing) and back on one after, with the context told
// both times; a task whose context cannot move keeps its thread.
func TestBlockLeavesThread(t *testing.T) {
	ctx := &movableCtx{}
	k, task := newTestTask(ctx)
	during, after, err := blockOnce(t, k, task)
	require.NoError(t, err)
	require.Zero(t, during, "a movable task kept its host thread while blocked")
	require.Same(t, task, after, "Current does not find the task after Block")
	require.Equal(t, 1, ctx.detached)
	require.Equal(t, 1, ctx.attach)
	require.NotZero(t, task.hostTID)
	require.Len(t, k.byHostTID, 1)

	k, task = newTestTask(fixedCtx{})
	during, after, err = blockOnce(t, k, task)
	require.NoError(t, err)
	require.NotZero(t, during, "a task on a fixed context left its thread")
	require.Same(t, task, after)
}

// TestSentryTimeSpansThreads: the sentry time of a task that moved counts
// the CPU time it used before it left its first thread.
func TestSentryTimeSpansThreads(t *testing.T) {
	k, task := newTestTask(&movableCtx{})
	var before time.Duration
	done := asTask(k, task, func() {
		for start := time.Now(); time.Since(start) < 30*time.Millisecond; {
			unix.Getpid() // burn CPU on this thread
		}
		before = task.sentryTime()
		m := task.leaveThread()
		require.NotNil(t, m)
		require.GreaterOrEqual(t, task.sentryTime(), before, "time used before leaving was lost")
		task.takeThread(m)
	})
	<-done
	require.Greater(t, before, 10*time.Millisecond, "30 ms of work on the thread not counted")
	require.GreaterOrEqual(t, task.sentryTime(), before)
}
