package syscalls

// Timers: alarm(2), setitimer(2), getitimer(2), timer_create(2),
// timer_settime(2), timer_gettime(2), timer_getoverrun(2), timer_delete(2),
// and rt_sigqueueinfo(2)/rt_tgsigqueueinfo(2).
//
// Departures: only ITIMER_REAL and wall-clock POSIX timers (REALTIME,
// MONOTONIC, BOOTTIME) are implemented; ITIMER_VIRTUAL/ITIMER_PROF and
// CPU-time timers answer EINVAL with a log line. Absolute settings of
// CLOCK_REALTIME timers do not follow later changes of the clock.

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

func registerTimer(t *Table) {
	t.add(unix.SYS_ALARM, sysAlarm, "u", 'd')
	t.add(unix.SYS_SETITIMER, sysSetitimer, "dpp", 'd')
	t.add(unix.SYS_GETITIMER, sysGetitimer, "dp", 'd')
	t.add(unix.SYS_TIMER_CREATE, sysTimerCreate, "dpp", 'd')
	t.add(unix.SYS_TIMER_SETTIME, sysTimerSettime, "dxpp", 'd')
	t.add(unix.SYS_TIMER_GETTIME, sysTimerGettime, "dp", 'd')
	t.add(unix.SYS_TIMER_GETOVERRUN, sysTimerGetoverrun, "d", 'd')
	t.add(unix.SYS_TIMER_DELETE, sysTimerDelete, "d", 'd')
	t.add(unix.SYS_RT_SIGQUEUEINFO, sysRtSigqueueinfo, "dSp", 'd')
	t.add(unix.SYS_RT_TGSIGQUEUEINFO, sysRtTgsigqueueinfo, "ddSp", 'd')
}

// sysAlarm implements alarm(2): it returns the seconds left on the previous
// alarm, rounded to the nearest second (at least 1 if one was pending).
func sysAlarm(t *kernel.Task, a args) (uintptr, error) {
	rem, _ := t.ThreadGroup().RealTimer().Set(time.Duration(uint32(a[0]))*time.Second, 0)
	if rem == 0 {
		return 0, nil
	}
	secs := (rem + 500*time.Millisecond) / time.Second
	return uintptr(max(secs, 1)), nil
}

func readTimeval(b []byte) (time.Duration, bool) {
	sec, usec := int64(binary.LittleEndian.Uint64(b)), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || usec < 0 || usec >= 1e6 {
		return 0, false
	}
	return time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond, true
}

func putTimeval(b []byte, d time.Duration) {
	binary.LittleEndian.PutUint64(b, uint64(d/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64((d%time.Second+time.Microsecond-1)/time.Microsecond))
}

func realTimerOnly(t *kernel.Task, which int) error {
	switch which {
	case unix.ITIMER_REAL:
		return nil
	case unix.ITIMER_VIRTUAL, unix.ITIMER_PROF:
		t.Kernel().Log.Info("CPU-time interval timers are not implemented", "which", which)
	}
	return unix.EINVAL
}

// sysSetitimer implements setitimer(2) for ITIMER_REAL.
func sysSetitimer(t *kernel.Task, a args) (uintptr, error) {
	which := int(int32(a[0]))
	if err := realTimerOnly(t, which); err != nil {
		return 0, err
	}
	var interval, value time.Duration
	if a[1] != 0 {
		var b [32]byte
		if _, err := t.CopyIn(a[1], b[:]); err != nil {
			return 0, err
		}
		var ok1, ok2 bool
		interval, ok1 = readTimeval(b[0:])
		value, ok2 = readTimeval(b[16:])
		if !ok1 || !ok2 {
			return 0, unix.EINVAL
		}
	}
	rem, oldInt := t.ThreadGroup().RealTimer().Set(value, interval)
	if a[2] != 0 {
		var b [32]byte
		putTimeval(b[0:], oldInt)
		putTimeval(b[16:], rem)
		if _, err := t.CopyOut(a[2], b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// sysGetitimer implements getitimer(2) for ITIMER_REAL.
func sysGetitimer(t *kernel.Task, a args) (uintptr, error) {
	which := int(int32(a[0]))
	if err := realTimerOnly(t, which); err != nil {
		return 0, err
	}
	rem, interval := t.ThreadGroup().RealTimer().Get()
	var b [32]byte
	putTimeval(b[0:], interval)
	putTimeval(b[16:], rem)
	_, err := t.CopyOut(a[1], b[:])
	return 0, err
}

func wallClock(id int32) bool {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM, unix.CLOCK_TAI:
		return true
	}
	return false
}

// sysTimerCreate implements timer_create(2). struct sigevent: sigev_value
// (8), sigev_signo (4), sigev_notify (4), then sigev_notify_thread_id (4).
func sysTimerCreate(t *kernel.Task, a args) (uintptr, error) {
	clock := int32(a[0])
	if !wallClock(clock) {
		if validClock(clock) {
			t.Kernel().Log.Info("CPU-time POSIX timers are not implemented", "clock", clock)
		}
		return 0, unix.EINVAL
	}
	notify, signo := kernel.SigevSignal, int(unix.SIGALRM)
	value := kernel.TimerValueIsID
	tid := 0
	if a[1] != 0 {
		var b [20]byte
		if _, err := t.CopyIn(a[1], b[:]); err != nil {
			return 0, err
		}
		value = binary.LittleEndian.Uint64(b[0:])
		signo = int(int32(binary.LittleEndian.Uint32(b[8:])))
		notify = int(int32(binary.LittleEndian.Uint32(b[12:])))
		tid = int(int32(binary.LittleEndian.Uint32(b[16:])))
		switch notify {
		case kernel.SigevNone:
		case kernel.SigevSignal, kernel.SigevThreadID:
			if signo < 1 || signo > kernel.NumSignals {
				return 0, unix.EINVAL
			}
		default:
			return 0, unix.EINVAL
		}
	}
	id, err := t.CreateTimer(notify, signo, value, tid)
	if err != nil {
		return 0, err
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(id))
	if _, err := t.CopyOut(a[2], b[:]); err != nil {
		t.ThreadGroup().DeleteTimer(id)
		return 0, err
	}
	return 0, nil
}

func posixTimer(t *kernel.Task, id uintptr) (*kernel.PosixTimer, error) {
	p, ok := t.ThreadGroup().PosixTimer(int(int32(id)))
	if !ok {
		return nil, unix.EINVAL
	}
	return p, nil
}

func putItimerspec(t *kernel.Task, addr uintptr, rem, interval time.Duration) error {
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(interval/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(interval%time.Second))
	binary.LittleEndian.PutUint64(b[16:], uint64(rem/time.Second))
	binary.LittleEndian.PutUint64(b[24:], uint64(rem%time.Second))
	_, err := t.CopyOut(addr, b[:])
	return err
}

// sysTimerSettime implements timer_settime(2).
func sysTimerSettime(t *kernel.Task, a args) (uintptr, error) {
	p, err := posixTimer(t, a[0])
	if err != nil {
		return 0, err
	}
	flags := int(int32(a[1]))
	if flags&^unix.TIMER_ABSTIME != 0 {
		return 0, unix.EINVAL
	}
	interval, err := getTimespec(t, a[2])
	if err != nil {
		return 0, err
	}
	value, err := getTimespec(t, a[2]+16)
	if err != nil {
		return 0, err
	}
	v := time.Duration(value.Nano())
	if flags&unix.TIMER_ABSTIME != 0 && v > 0 {
		// Absolute on the timer's clock: measured against REALTIME here.
		v = time.Until(time.Unix(0, value.Nano()))
		if v <= 0 {
			v = time.Nanosecond
		}
	}
	rem, oldInt := p.Set(v, time.Duration(interval.Nano()))
	if a[3] != 0 {
		return 0, putItimerspec(t, a[3], rem, oldInt)
	}
	return 0, nil
}

// sysTimerGettime implements timer_gettime(2).
func sysTimerGettime(t *kernel.Task, a args) (uintptr, error) {
	p, err := posixTimer(t, a[0])
	if err != nil {
		return 0, err
	}
	rem, interval := p.Get()
	return 0, putItimerspec(t, a[1], rem, interval)
}

// sysTimerGetoverrun implements timer_getoverrun(2).
func sysTimerGetoverrun(t *kernel.Task, a args) (uintptr, error) {
	p, err := posixTimer(t, a[0])
	if err != nil {
		return 0, err
	}
	return uintptr(p.Overrun()), nil
}

// sysTimerDelete implements timer_delete(2).
func sysTimerDelete(t *kernel.Task, a args) (uintptr, error) {
	return 0, t.ThreadGroup().DeleteTimer(int(int32(a[0])))
}

// queuedInfo reads the siginfo of rt_sigqueueinfo; a process may not
// pretend to be the kernel or kill(2) (si_code >= 0) when signalling
// another process.
func queuedInfo(t *kernel.Task, sig int, addr uintptr, self bool) (kernel.SigInfo, error) {
	var b [128]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return kernel.SigInfo{}, err
	}
	code := int32(binary.LittleEndian.Uint32(b[8:]))
	if (code >= 0 || code == kernel.SITkill) && !self {
		return kernel.SigInfo{}, unix.EPERM
	}
	return kernel.SigInfo{
		Signo: int32(sig), Code: code,
		PID: int32(binary.LittleEndian.Uint32(b[16:])), UID: binary.LittleEndian.Uint32(b[20:]),
		Value: binary.LittleEndian.Uint64(b[24:]),
	}, nil
}

// sysRtSigqueueinfo implements rt_sigqueueinfo(2).
func sysRtSigqueueinfo(t *kernel.Task, a args) (uintptr, error) {
	pid, sig := int(int32(a[0])), int(int32(a[1]))
	if sig < 0 || sig > kernel.NumSignals {
		return 0, unix.EINVAL
	}
	tg, ok := t.Kernel().ThreadGroupByPID(pid)
	if !ok {
		return 0, unix.ESRCH
	}
	info, err := queuedInfo(t, sig, a[2], tg == t.ThreadGroup())
	if err != nil {
		return 0, err
	}
	if sig != 0 {
		tg.SendSignal(info)
	}
	return 0, nil
}

// sysRtTgsigqueueinfo implements rt_tgsigqueueinfo(2).
func sysRtTgsigqueueinfo(t *kernel.Task, a args) (uintptr, error) {
	tgid, tid, sig := int(int32(a[0])), int(int32(a[1])), int(int32(a[2]))
	if sig < 0 || sig > kernel.NumSignals || tgid <= 0 || tid <= 0 {
		return 0, unix.EINVAL
	}
	target, ok := t.Kernel().Task(tid)
	if !ok || target.ThreadGroup().PID() != tgid {
		return 0, unix.ESRCH
	}
	info, err := queuedInfo(t, sig, a[3], target.ThreadGroup() == t.ThreadGroup())
	if err != nil {
		return 0, err
	}
	if sig != 0 {
		target.SendSignal(info)
	}
	return 0, nil
}
