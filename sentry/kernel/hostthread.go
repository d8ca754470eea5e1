package kernel

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"sbx/platform"
)

// A task's goroutine runs locked to a host thread: the ptrace platform
// needs its tracer thread, and Current finds the running task by host
// thread id. On a platform whose contexts can move (platform.MovableContext,
// the seccomp platform's), Block lets the goroutine off its thread for the
// wait and locks it to whichever thread it wakes up on. This is what makes
// hand-offs between tasks cheap: Go runs a woken unlocked goroutine on the
// waker's thread when the waker blocks, but a locked one needs its own
// thread woken and the processor handed over (about 65 us a round trip on
// this 2-CPU VM, against 0.3 us).
//
// The task's sentry CPU time (getrusage's ru_stime) is then the sum over
// the threads it ran on: sTimeDone for the ones it left, and its current
// thread's clock since sTimeStart.

// leaveThread unlocks the calling task's goroutine from its host thread
// and returns its context, or returns nil (and does nothing) when the
// context cannot move. Called by the task itself; takeThread undoes it.
func (t *Task) leaveThread() platform.MovableContext {
	m, ok := t.ctx.(platform.MovableContext)
	if !ok {
		return nil
	}
	m.Detach()
	now := threadCPUSelf()
	k := t.k
	k.mu.Lock()
	if k.byHostTID[t.hostTID] == t {
		delete(k.byHostTID, t.hostTID)
	}
	t.sTimeDone += now - t.sTimeStart
	t.hostTID = 0
	k.mu.Unlock()
	runtime.UnlockOSThread()
	return m
}

// takeThread locks the calling task's goroutine to the host thread it now
// runs on and records the thread as the task's.
func (t *Task) takeThread(m platform.MovableContext) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	now := threadCPUSelf()
	k := t.k
	k.mu.Lock()
	t.hostTID = tid
	t.sTimeStart = now
	k.byHostTID[tid] = t
	k.mu.Unlock()
	m.Attach()
}

// sentryTime is the host CPU time the sentry has spent on t's behalf.
func (t *Task) sentryTime() time.Duration {
	k := t.k
	k.mu.Lock()
	tid, done, start := t.hostTID, t.sTimeDone, t.sTimeStart
	k.mu.Unlock()
	if tid == 0 {
		return done
	}
	// The task may have left the thread since (which may even have
	// ended): a clock below the start says so; count what is known.
	if now := hostThreadCPU(tid); now > start {
		return done + now - start
	}
	return done
}

// threadCPUSelf is the calling host thread's CPU time.
func threadCPUSelf() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
