package kernel

// Resource usage (getrusage(2), times(2), wait4(2)).
//
// User time is the host CPU time of the application's own code: the CPU
// clock of the stub process that runs it (the platform's CPUTime), which
// counts every thread of the process; the time of address spaces that
// execve replaced is carried over. System time is the CPU time of the
// sentry threads that served the process's tasks (each task's goroutine
// runs on a host thread of its own): the kernel's work on the process's
// behalf. The peak resident size is the high-water mark of the address
// space's populated pages, carried across execve, and minor faults are
// the faults the sentry resolved. Departure: RUSAGE_THREAD reports the
// process's user time (the stub's clock is per process); other fields of
// struct rusage stay zero.

import (
	"time"

	"golang.org/x/sys/unix"
)

// Rusage is resource usage.
type Rusage struct {
	UTime, STime time.Duration
	// MaxRSS is the peak resident size in bytes.
	MaxRSS uint64
	MinFlt uint64
}

// add accumulates o into r (sums, and the larger peak size).
func (r *Rusage) add(o Rusage) {
	r.UTime += o.UTime
	r.STime += o.STime
	r.MaxRSS = max(r.MaxRSS, o.MaxRSS)
	r.MinFlt += o.MinFlt
}

// getrusage(2) who values.
const (
	RusageSelf     = 0
	RusageChildren = -1
	RusageBoth     = -2
	RusageThread   = 1
)

// hostThreadCPU returns the CPU time of one of the sentry's host threads
// (0 once it has gone).
func hostThreadCPU(tid int) time.Duration {
	if tid == 0 {
		return 0
	}
	var ts unix.Timespec
	// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)
	if err := unix.ClockGettime(int32(^tid<<3|4|2), &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// userTime is the CPU time of the application code of t's process in its
// current address space.
func (t *Task) userTime() time.Duration {
	if t.ctx == nil {
		return 0
	}
	return t.ctx.CPUTime()
}

// threadUsage is the part of the usage a live thread adds: its sentry
// thread's time and its faults.
func (t *Task) threadUsage() Rusage {
	return Rusage{STime: t.sentryTime(), MinFlt: t.minFlt.Load()}
}

// Rusage implements getrusage(2) for the calling task (RusageSelf,
// RusageChildren, RusageThread; RusageBoth is wait4's view of a child).
func (t *Task) Rusage(who int) Rusage {
	switch who {
	case RusageThread:
		r := t.threadUsage()
		r.UTime = t.userTime()
		if t.mm != nil {
			r.MaxRSS = t.mm.MaxRSS()
		}
		return r
	case RusageChildren:
		t.k.sigMu.Lock()
		defer t.k.sigMu.Unlock()
		return t.tg.childUsage
	}
	r := t.tg.liveUsage(t)
	if who == RusageBoth {
		t.k.sigMu.Lock()
		r.add(t.tg.childUsage)
		t.k.sigMu.Unlock()
	}
	return r
}

// liveUsage is the usage of a running process; t, if not nil, is one of
// its threads (whose address space and clock are used).
func (tg *ThreadGroup) liveUsage(t *Task) Rusage {
	k := tg.k
	k.sigMu.Lock()
	r := tg.usage
	tasks := append([]*Task(nil), tg.tasks...)
	k.sigMu.Unlock()
	if t == nil && len(tasks) > 0 {
		t = tasks[0]
	}
	for _, x := range tasks {
		r.add(x.threadUsage())
	}
	if t != nil {
		r.UTime += t.userTime()
		if t.mm != nil {
			r.MaxRSS = max(r.MaxRSS, t.mm.MaxRSS())
		}
	}
	return r
}

// noteExec carries the usage of the address space execve is replacing
// into the process's. Called by the execing thread.
func (t *Task) noteExec() {
	u := t.userTime()
	var rss uint64
	if t.mm != nil {
		rss = t.mm.MaxRSS()
	}
	t.k.sigMu.Lock()
	t.tg.usage.UTime += u
	t.tg.usage.MaxRSS = max(t.tg.usage.MaxRSS, rss)
	t.k.sigMu.Unlock()
}

// exitingUsage returns what an exiting thread leaves to its process: its
// own sentry time and faults, and, if it is the last thread, the address
// space's user time and peak size. Called before its context and address space are released.
func (t *Task) exitingUsage() (thread Rusage, space Rusage) {
	thread.STime = t.sentryTime()
	thread.MinFlt = t.minFlt.Load()
	space.UTime = t.userTime()
	if t.mm != nil {
		space.MaxRSS = t.mm.MaxRSS()
	}
	return thread, space
}

// ClockTicks is USER_HZ, the unit of times(2).
const ClockTicks = 100

// Ticks converts a duration to clock ticks.
func Ticks(d time.Duration) uint64 { return uint64(d / (time.Second / ClockTicks)) }
