package kernel

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Timers of a process: ITIMER_REAL and POSIX timers on wall clocks run on
// Go timers; ITIMER_VIRTUAL, ITIMER_PROF and POSIX timers on the CPU-time
// clocks run on the process's CPU time, sampled (see cpuTimers).
//
// Departures from Linux:
//   - CPU time is the host CPU time of the process's stub (the application's
//     own instructions, as the platform reports it), sampled each time a task
//     comes back from the platform and every cpuTick while a CPU-time timer
//     is armed: such a timer fires up to a tick late.
//   - ITIMER_VIRTUAL and ITIMER_PROF both count that one clock (Linux counts
//     user time for the first, user and system time for the second; here
//     the sentry's work for a syscall is in neither).
//   - CLOCK_THREAD_CPUTIME_ID timers count the whole process's CPU time.
//   - A timer whose signal is still pending counts later expirations as
//     overruns of that signal (as Linux); the timer keeps running meanwhile
//     instead of being re-armed when the signal is taken. As in Linux 6.13
//     and later, a signal queued before timer_settime or timer_delete
//     stays pending (sigpending shows it) but is dropped when taken.

// IntervalTimer is the setting of a timer: Set arms it to expire after
// value (0 disarms) and then every interval, returning the previous
// remaining time and interval; Get returns them.
type IntervalTimer interface {
	Set(value, interval time.Duration) (time.Duration, time.Duration)
	Get() (time.Duration, time.Duration)
	// Stop disarms the timer for good.
	Stop()
}

// Timer is an interval timer on a wall clock (CLOCK_REALTIME, MONOTONIC,
// BOOTTIME): it calls fire at each expiry with the number of expiries
// missed since the previous call (the overrun).
type Timer struct {
	fire func(overrun int)

	mu sync.Mutex // guards the fields below
	// next is the next expiry (zero: disarmed); interval re-arms it.
	next     time.Time
	interval time.Duration
	gen      uint64
	tm       *time.Timer
}

// NewTimer returns a disarmed timer.
func NewTimer(fire func(overrun int)) *Timer { return &Timer{fire: fire} }

// Set arms the timer to expire after value (0 disarms) and then every
// interval; it returns the previous remaining time and interval.
func (x *Timer) Set(value, interval time.Duration) (time.Duration, time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	oldRem, oldInt := x.remainingLocked(), x.interval
	x.gen++
	if x.tm != nil {
		x.tm.Stop()
		x.tm = nil
	}
	x.interval = interval
	if value <= 0 {
		x.next = time.Time{}
		return oldRem, oldInt
	}
	x.next = time.Now().Add(value)
	x.scheduleLocked()
	return oldRem, oldInt
}

func (x *Timer) remainingLocked() time.Duration {
	if x.next.IsZero() {
		return 0
	}
	return max(time.Until(x.next), time.Nanosecond)
}

// Get returns the remaining time and the interval.
func (x *Timer) Get() (time.Duration, time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.remainingLocked(), x.interval
}

func (x *Timer) scheduleLocked() {
	gen := x.gen
	x.tm = time.AfterFunc(time.Until(x.next), func() { x.expire(gen) })
}

func (x *Timer) expire(gen uint64) {
	x.mu.Lock()
	if gen != x.gen || x.next.IsZero() {
		x.mu.Unlock()
		return
	}
	overrun := 0
	if x.interval > 0 {
		now := time.Now()
		x.next = x.next.Add(x.interval)
		for !x.next.After(now) {
			x.next = x.next.Add(x.interval)
			overrun++
		}
		x.scheduleLocked()
	} else {
		x.next = time.Time{}
	}
	x.mu.Unlock()
	x.fire(overrun)
}

// Stop disarms the timer for good.
func (x *Timer) Stop() { x.Set(0, 0) }

// cpuTick is how often the CPU time of a process with an armed CPU-time
// timer is sampled (Linux checks these timers at each scheduler tick; 250
// Hz is a common HZ).
const cpuTick = 4 * time.Millisecond

// cpuTimers are the CPU-time timers of one process and the process's CPU
// time as they see it.
type cpuTimers struct {
	tg *ThreadGroup
	// narmed is len(armed), read by the task loop without mu.
	narmed atomic.Int32

	// mu guards the fields below and every CPUTimer's fields. Samples of
	// the CPU clock are read with it held, so they are folded in the order
	// they were read. Lock order: mu before Kernel.sigMu.
	mu sync.Mutex
	// total is the CPU time accumulated from samples; last is the last raw
	// sample (the platform's clock, which restarts when execve gives the
	// process a new address space).
	total, last time.Duration
	// armed are the armed timers.
	armed map[*CPUTimer]struct{}
	// ticking is set while the sampling goroutine runs.
	ticking bool
}

// advanceLocked folds a raw sample of the process's CPU clock into total.
func (c *cpuTimers) advanceLocked(raw time.Duration) {
	if raw <= 0 {
		return // no sample (the task has not run yet)
	}
	d := raw - c.last
	if d < 0 {
		d = raw // a new clock, started from zero
	}
	c.last = raw
	c.total += d
}

// update folds in a sample, read by sample, and fires the timers that are
// due.
func (c *cpuTimers) update(sample func() time.Duration) {
	type firing struct {
		fn      func(int)
		overrun int
	}
	var due []firing
	c.mu.Lock()
	c.advanceLocked(sample())
	for x := range c.armed {
		if x.next > c.total {
			continue
		}
		overrun := 0
		if x.interval > 0 {
			x.next += x.interval
			if x.next <= c.total {
				n := (c.total-x.next)/x.interval + 1
				x.next += n * x.interval
				overrun = int(min(n, math.MaxInt32))
			}
		} else {
			c.disarmLocked(x)
		}
		due = append(due, firing{x.fire, overrun})
	}
	c.mu.Unlock()
	for _, f := range due {
		f.fn(f.overrun)
	}
}

func (c *cpuTimers) disarmLocked(x *CPUTimer) {
	if x.armed {
		x.armed = false
		delete(c.armed, x)
		c.narmed.Add(-1)
	}
}

// tick samples the process's CPU time every cpuTick while a timer is
// armed, for tasks that stay in application code.
func (c *cpuTimers) tick() {
	for {
		time.Sleep(cpuTick)
		c.mu.Lock()
		if len(c.armed) == 0 {
			c.ticking = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.update(c.tg.sampleCPU)
	}
}

// sampleCPU reads the process's CPU clock through one of its tasks (0 if
// it has none).
func (tg *ThreadGroup) sampleCPU() time.Duration {
	tg.k.sigMu.Lock()
	var t *Task
	if len(tg.tasks) > 0 {
		t = tg.tasks[0]
	}
	tg.k.sigMu.Unlock()
	if t == nil {
		return 0
	}
	return t.CPUTime()
}

// checkCPUTimers is called by the task loop each time t comes back from
// the platform: it samples the CPU time if a CPU-time timer is armed.
func (t *Task) checkCPUTimers() {
	tg := t.tg
	tg.mu.Lock()
	ts := tg.timers
	tg.mu.Unlock()
	if ts == nil || ts.cpu.narmed.Load() == 0 {
		return
	}
	ts.cpu.update(t.CPUTime)
}

// CPUTimer is an interval timer on the process's CPU time. It implements
// IntervalTimer.
type CPUTimer struct {
	c    *cpuTimers
	fire func(overrun int)

	// The fields below are guarded by c.mu.

	// armed is set while the timer is in c.armed; next is its expiry on
	// c.total, interval its period.
	armed          bool
	next, interval time.Duration
}

func (x *CPUTimer) remainingLocked() time.Duration {
	if !x.armed {
		return 0
	}
	return max(x.next-x.c.total, time.Nanosecond)
}

// Set implements IntervalTimer.
func (x *CPUTimer) Set(value, interval time.Duration) (time.Duration, time.Duration) {
	c := x.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked(c.tg.sampleCPU())
	oldRem, oldInt := x.remainingLocked(), x.interval
	x.interval = interval
	if value <= 0 {
		c.disarmLocked(x)
		return oldRem, oldInt
	}
	x.next = c.total + value
	if !x.armed {
		x.armed = true
		c.armed[x] = struct{}{}
		c.narmed.Add(1)
	}
	if !c.ticking {
		c.ticking = true
		go c.tick()
	}
	return oldRem, oldInt
}

// Get implements IntervalTimer.
func (x *CPUTimer) Get() (time.Duration, time.Duration) {
	c := x.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked(c.tg.sampleCPU())
	return x.remainingLocked(), x.interval
}

// Stop implements IntervalTimer.
func (x *CPUTimer) Stop() { x.Set(0, 0) }

// POSIX timer notification kinds (sigevent).
const (
	SigevSignal   = 0
	SigevNone     = 1
	SigevThreadID = 4
	SITimer       = -2
)

// PosixTimer is a timer_create(2) timer.
type PosixTimer struct {
	IntervalTimer
	// Clock is the clock id the timer was created on.
	Clock int32
	// send queues the timer's signal (see Task.SendSignal); nil for
	// SIGEV_NONE. info is the signal's siginfo.
	send func(SigInfo) error
	info SigInfo

	mu sync.Mutex // guards the fields below; taken after Kernel.sigMu
	// seq counts the timer's armings: a signal queued under an earlier
	// one is dropped when taken. deleted is set by timer_delete.
	seq     uint64
	deleted bool
	// queued is set while the timer's signal is pending; expirations
	// meanwhile add to pendingOverrun.
	queued         bool
	pendingOverrun int
	// overrun is the overrun count of the last signal taken.
	overrun int
}

// Set implements IntervalTimer: a signal still pending from the previous
// setting will be dropped.
func (p *PosixTimer) Set(value, interval time.Duration) (time.Duration, time.Duration) {
	p.mu.Lock()
	p.seq++
	p.queued = false
	p.pendingOverrun = 0
	p.mu.Unlock()
	return p.IntervalTimer.Set(value, interval)
}

// Stop implements IntervalTimer (timer_delete): the timer signals no more,
// and a signal of it still pending will be dropped.
func (p *PosixTimer) Stop() {
	p.mu.Lock()
	p.seq++
	p.deleted = true
	p.queued = false
	p.mu.Unlock()
	p.IntervalTimer.Stop()
}

// Overrun returns the overrun count of the last expiry (timer_getoverrun).
func (p *PosixTimer) Overrun() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.overrun
}

// expire notifies one expiry, overrun more having been missed.
func (p *PosixTimer) expire(overrun int) {
	if p.send == nil {
		return
	}
	p.mu.Lock()
	if p.deleted {
		p.mu.Unlock()
		return
	}
	if p.queued {
		p.pendingOverrun = int(min(int64(p.pendingOverrun)+1+int64(overrun), math.MaxInt32))
		p.mu.Unlock()
		return
	}
	p.queued = true
	p.pendingOverrun = overrun
	info := p.info
	info.timer, info.timerSeq = p, p.seq
	p.mu.Unlock()
	if p.send(info) != nil {
		p.mu.Lock()
		p.queued = false
		p.pendingOverrun = 0
		p.mu.Unlock()
	}
}

// dequeued is called (with Kernel.sigMu held) when the timer's signal,
// queued under arming seq, is taken: it returns the overruns to report in
// it, or false if the timer was re-armed or deleted since (the signal is
// then dropped).
func (p *PosixTimer) dequeued(seq uint64) (int32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq != p.seq || p.deleted {
		return 0, false
	}
	ov := p.pendingOverrun
	p.overrun = ov
	p.pendingOverrun = 0
	p.queued = false
	return int32(ov), true
}

// timers is a process's POSIX timers and interval timers.
type timers struct {
	mu     sync.Mutex // guards posix and nextID
	posix  map[int]*PosixTimer
	nextID int

	real       *Timer
	virt, prof *CPUTimer
	cpu        cpuTimers
}

func (tg *ThreadGroup) timerState() *timers {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.timers == nil {
		ts := &timers{posix: make(map[int]*PosixTimer)}
		ts.cpu.tg = tg
		ts.cpu.armed = make(map[*CPUTimer]struct{})
		itimer := func(sig unix.Signal) func(int) {
			return func(int) { tg.SendSignal(SigInfo{Signo: int32(sig), Code: SIKernel}) }
		}
		ts.real = NewTimer(itimer(unix.SIGALRM))
		ts.virt = &CPUTimer{c: &ts.cpu, fire: itimer(unix.SIGVTALRM)}
		ts.prof = &CPUTimer{c: &ts.cpu, fire: itimer(unix.SIGPROF)}
		tg.timers = ts
	}
	return tg.timers
}

// RealTimer returns ITIMER_REAL (alarm(2), setitimer(2)).
func (tg *ThreadGroup) RealTimer() *Timer { return tg.timerState().real }

// ITimer returns the interval timer which (ITIMER_REAL, ITIMER_VIRTUAL or
// ITIMER_PROF) of setitimer(2).
func (tg *ThreadGroup) ITimer(which int) (IntervalTimer, bool) {
	ts := tg.timerState()
	switch which {
	case unix.ITIMER_REAL:
		return ts.real, true
	case unix.ITIMER_VIRTUAL:
		return ts.virt, true
	case unix.ITIMER_PROF:
		return ts.prof, true
	}
	return nil, false
}

// TimerValueIsID asks CreateTimer to use the timer's id as its sigval (a
// NULL sigevent).
const TimerValueIsID = ^uint64(0)

// CreateTimer implements timer_create(2) on clock: a wall clock, or the
// process's CPU time when cpuClock is set. notify is SigevSignal,
// SigevNone or SigevThreadID (to tid, a thread of the process); value is
// the sigval.
func (t *Task) CreateTimer(clock int32, cpuClock bool, notify, signo int, value uint64, tid int) (int, error) {
	ts := t.tg.timerState()
	var target *Task
	if notify == SigevThreadID {
		x, ok := t.k.Task(tid)
		if !ok || x.tg != t.tg {
			return 0, unix.EINVAL
		}
		target = x
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	id := ts.nextID
	ts.nextID++
	if value == TimerValueIsID {
		value = uint64(id)
	}
	pt := &PosixTimer{Clock: clock, info: SigInfo{Signo: int32(signo), Code: SITimer, TimerID: int32(id), Value: value}}
	switch notify {
	case SigevSignal:
		pt.send = t.tg.SendSignal
	case SigevThreadID:
		pt.send = target.SendSignal
	}
	if cpuClock {
		pt.IntervalTimer = &CPUTimer{c: &ts.cpu, fire: pt.expire}
	} else {
		pt.IntervalTimer = NewTimer(pt.expire)
	}
	ts.posix[id] = pt
	return id, nil
}

// PosixTimer returns timer id.
func (tg *ThreadGroup) PosixTimer(id int) (*PosixTimer, bool) {
	ts := tg.timerState()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	p, ok := ts.posix[id]
	return p, ok
}

// DeleteTimer implements timer_delete(2).
func (tg *ThreadGroup) DeleteTimer(id int) error {
	ts := tg.timerState()
	ts.mu.Lock()
	p, ok := ts.posix[id]
	delete(ts.posix, id)
	ts.mu.Unlock()
	if !ok {
		return unix.EINVAL
	}
	p.Stop()
	return nil
}

// deleteAllTimers drops the POSIX timers (execve, exit) and, with itimers,
// the interval timers too (exit; execve keeps them).
func (tg *ThreadGroup) deleteAllTimers(itimers bool) {
	tg.mu.Lock()
	ts := tg.timers
	tg.mu.Unlock()
	if ts == nil {
		return
	}
	ts.mu.Lock()
	all := ts.posix
	ts.posix = make(map[int]*PosixTimer)
	ts.mu.Unlock()
	for _, p := range all {
		p.Stop()
	}
	if itimers {
		ts.real.Stop()
		ts.virt.Stop()
		ts.prof.Stop()
	}
}

// SleepCPU waits until the process has used d more CPU time
// (clock_nanosleep(2) on CLOCK_PROCESS_CPUTIME_ID), or a signal needs the
// task (ErrInterrupted); it returns the CPU time still to go.
func (t *Task) SleepCPU(d time.Duration) (time.Duration, error) {
	done := make(chan struct{})
	var once sync.Once
	x := &CPUTimer{c: &t.tg.timerState().cpu, fire: func(int) { once.Do(func() { close(done) }) }}
	x.Set(d, 0)
	defer x.Stop()
	err := t.Block(done, time.Time{})
	rem, _ := x.Get()
	return rem, err
}
