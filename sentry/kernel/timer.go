package kernel

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

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

// POSIX timer notification kinds (sigevent).
const (
	SigevSignal   = 0
	SigevNone     = 1
	SigevThreadID = 4
	SITimer       = -2
)

// PosixTimer is a timer_create(2) timer.
type PosixTimer struct {
	*Timer
	mu      sync.Mutex // guards overrun
	overrun int
}

// Overrun returns the overrun count of the last expiry (timer_getoverrun).
func (p *PosixTimer) Overrun() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.overrun
}

// timers is a process's POSIX timers and ITIMER_REAL.
type timers struct {
	mu     sync.Mutex // guards posix and nextID
	posix  map[int]*PosixTimer
	nextID int
	real   *Timer
}

func (tg *ThreadGroup) timerState() *timers {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.timers == nil {
		tg.timers = &timers{posix: make(map[int]*PosixTimer)}
		tg.timers.real = NewTimer(func(int) {
			tg.SendSignal(SigInfo{Signo: int32(unix.SIGALRM), Code: SIKernel})
		})
	}
	return tg.timers
}

// RealTimer returns ITIMER_REAL (alarm(2), setitimer(2)).
func (tg *ThreadGroup) RealTimer() *Timer { return tg.timerState().real }

// TimerValueIsID asks CreateTimer to use the timer's id as its sigval (a
// NULL sigevent).
const TimerValueIsID = ^uint64(0)

// CreateTimer implements timer_create(2) for wall clocks: notify is
// SigevSignal, SigevNone or SigevThreadID (to tid); value is the sigval.
func (t *Task) CreateTimer(notify, signo int, value uint64, tid int) (int, error) {
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
	id := ts.nextID
	ts.nextID++
	if value == TimerValueIsID {
		value = uint64(id)
	}
	pt := &PosixTimer{}
	tg := t.tg
	pt.Timer = NewTimer(func(overrun int) {
		pt.mu.Lock()
		pt.overrun = overrun
		pt.mu.Unlock()
		info := SigInfo{Signo: int32(signo), Code: SITimer, TimerID: int32(id), Overrun: int32(overrun), Value: value}
		switch notify {
		case SigevSignal:
			tg.SendSignal(info)
		case SigevThreadID:
			target.SendSignal(info)
		}
	})
	ts.posix[id] = pt
	ts.mu.Unlock()
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

// deleteAllTimers drops the POSIX timers (execve, exit) and, with real, the
// ITIMER_REAL too (exit).
func (tg *ThreadGroup) deleteAllTimers(real bool) {
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
	if real {
		ts.real.Stop()
	}
}
