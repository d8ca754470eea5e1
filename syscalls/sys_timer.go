package syscalls

// Timers: alarm(2), setitimer(2), getitimer(2), timer_create(2),
// timer_settime(2), timer_gettime(2), timer_getoverrun(2), timer_delete(2),
// timerfd_create(2) with timerfd_settime/timerfd_gettime, and
// rt_sigqueueinfo(2)/rt_tgsigqueueinfo(2).
//
// The timers themselves live in sentry/kernel (timer.go says how CPU-time
// timers depart from Linux) and fs/timerfd. Departures here: POSIX timers
// take the clock ids CLOCK_REALTIME, MONOTONIC, BOOTTIME, TAI, the _ALARM
// clocks (as plain wall clocks: nothing suspends) and the caller's
// CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID, not the CPU clocks
// of other processes (EINVAL). Absolute settings on CLOCK_REALTIME do not
// follow later changes of the clock (nothing in the sandbox can set it). A
// POSIX timer set to an absolute time already past starts its periods from
// now rather than counting the periods missed since that time.

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/timerfd"
	"sbx/fs/vfs"
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
	t.add(unix.SYS_TIMERFD_CREATE, sysTimerfdCreate, "dx", 'd')
	t.add(unix.SYS_TIMERFD_SETTIME, sysTimerfdSettime, "fxpp", 'd')
	t.add(unix.SYS_TIMERFD_GETTIME, sysTimerfdGettime, "fp", 'd')
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

func itimer(t *kernel.Task, which int) (kernel.IntervalTimer, error) {
	x, ok := t.ThreadGroup().ITimer(which)
	if !ok {
		return nil, unix.EINVAL
	}
	return x, nil
}

// sysSetitimer implements setitimer(2). A NULL new_value disarms the timer,
// as Linux (and not POSIX) does.
func sysSetitimer(t *kernel.Task, a args) (uintptr, error) {
	x, err := itimer(t, int(int32(a[0])))
	if err != nil {
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
	rem, oldInt := x.Set(value, interval)
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

// sysGetitimer implements getitimer(2).
func sysGetitimer(t *kernel.Task, a args) (uintptr, error) {
	x, err := itimer(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	rem, interval := x.Get()
	var b [32]byte
	putTimeval(b[0:], interval)
	putTimeval(b[16:], rem)
	_, err = t.CopyOut(a[1], b[:])
	return 0, err
}

func wallClock(id int32) bool {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM, unix.CLOCK_TAI:
		return true
	}
	return false
}

func cpuClock(id int32) bool {
	return id == unix.CLOCK_PROCESS_CPUTIME_ID || id == unix.CLOCK_THREAD_CPUTIME_ID
}

// sysTimerCreate implements timer_create(2). struct sigevent: sigev_value
// (8), sigev_signo (4), sigev_notify (4), then sigev_notify_thread_id (4).
func sysTimerCreate(t *kernel.Task, a args) (uintptr, error) {
	clock := int32(a[0])
	if !wallClock(clock) && !cpuClock(clock) {
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
	id, err := t.CreateTimer(clock, cpuClock(clock), notify, signo, value, tid)
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

// getItimerspec reads a struct itimerspec: it_interval, then it_value.
func getItimerspec(t *kernel.Task, addr uintptr) (interval, value unix.Timespec, err error) {
	var b [32]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return interval, value, err
	}
	le := binary.LittleEndian
	interval = unix.Timespec{Sec: int64(le.Uint64(b[0:])), Nsec: int64(le.Uint64(b[8:]))}
	value = unix.Timespec{Sec: int64(le.Uint64(b[16:])), Nsec: int64(le.Uint64(b[24:]))}
	for _, ts := range []unix.Timespec{interval, value} {
		if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
			return interval, value, unix.EINVAL
		}
	}
	return interval, value, nil
}

// untilClock returns the time from now until abs on clock id (negative if
// abs is past).
func untilClock(t *kernel.Task, id int32, abs unix.Timespec) (time.Duration, error) {
	now, err := readClock(t, id)
	if err != nil {
		return 0, err
	}
	return time.Duration(abs.Nano() - now.Nano()), nil
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

// sysTimerSettime implements timer_settime(2). An absolute time already
// past expires at once; a periodic timer then starts its periods from now
// (Linux counts the periods missed since that time as overruns).
func sysTimerSettime(t *kernel.Task, a args) (uintptr, error) {
	p, err := posixTimer(t, a[0])
	if err != nil {
		return 0, err
	}
	flags := int(int32(a[1]))
	if flags&^unix.TIMER_ABSTIME != 0 {
		return 0, unix.EINVAL
	}
	interval, value, err := getItimerspec(t, a[2])
	if err != nil {
		return 0, err
	}
	v := time.Duration(value.Nano())
	if flags&unix.TIMER_ABSTIME != 0 && v > 0 {
		if v, err = untilClock(t, p.Clock, value); err != nil {
			return 0, err
		}
		v = max(v, time.Nanosecond)
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

// queuedInfo reads the siginfo of rt_sigqueueinfo. A thread may not
// pretend to be the kernel or kill(2) (si_code >= 0, or SI_TKILL) when
// signalling anyone but itself: self is whether the target (pid or tid)
// is the caller's own thread id, Linux's test.
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

// queueResult maps a SendSignal result to rt_sigqueueinfo's: only a full
// real-time queue is an error.
func queueResult(err error) (uintptr, error) {
	if err == unix.EAGAIN {
		return 0, unix.EAGAIN
	}
	return 0, nil
}

// sysRtSigqueueinfo implements rt_sigqueueinfo(2).
func sysRtSigqueueinfo(t *kernel.Task, a args) (uintptr, error) {
	pid, sig := int(int32(a[0])), int(int32(a[1]))
	if sig < 0 || sig > kernel.NumSignals {
		return 0, unix.EINVAL
	}
	info, err := queuedInfo(t, sig, a[2], pid == t.TID())
	if err != nil {
		return 0, err
	}
	if pid <= 0 {
		return 0, unix.ESRCH
	}
	tg, ok := t.Kernel().ThreadGroupByPID(pid)
	if !ok {
		return 0, unix.ESRCH
	}
	if sig == 0 {
		return 0, nil
	}
	return queueResult(tg.SendSignal(info))
}

// sysRtTgsigqueueinfo implements rt_tgsigqueueinfo(2).
func sysRtTgsigqueueinfo(t *kernel.Task, a args) (uintptr, error) {
	tgid, tid, sig := int(int32(a[0])), int(int32(a[1])), int(int32(a[2]))
	if sig < 0 || sig > kernel.NumSignals || tgid <= 0 || tid <= 0 {
		return 0, unix.EINVAL
	}
	info, err := queuedInfo(t, sig, a[3], tid == t.TID())
	if err != nil {
		return 0, err
	}
	target, ok := t.Kernel().Task(tid)
	if !ok || target.ThreadGroup().PID() != tgid {
		return 0, unix.ESRCH
	}
	if sig == 0 {
		return 0, nil
	}
	return queueResult(target.SendSignal(info))
}

// timerfdClock reports the clocks timerfd_create(2) accepts.
func timerfdClock(id int32) bool {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM:
		return true
	}
	return false
}

// sysTimerfdCreate implements timerfd_create(2).
func sysTimerfdCreate(t *kernel.Task, a args) (uintptr, error) {
	clock, flags := int32(a[0]), int(int32(a[1]))
	if !timerfdClock(clock) || flags&^(unix.TFD_CLOEXEC|unix.TFD_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	tf := timerfd.New(clock)
	f := vfs.NewFileDescription(tf, unix.O_RDWR|flags&unix.O_NONBLOCK)
	tf.SetDescription(f)
	defer f.DecRef()
	fd, err := t.ThreadGroup().FDTable.NewFD(0, f, flags&unix.TFD_CLOEXEC != 0, nofile(t))
	if err != nil {
		return 0, unix.EMFILE
	}
	return uintptr(fd), nil
}

func timerfdOf(t *kernel.Task, fd uintptr) (*timerfd.File, *vfs.FileDescription, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	tf, ok := f.Impl.(*timerfd.File)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EINVAL
	}
	return tf, f, nil
}

// timerfd_settime(2) flags.
const tfdSettimeFlags = unix.TFD_TIMER_ABSTIME | unix.TFD_TIMER_CANCEL_ON_SET

// sysTimerfdSettime implements timerfd_settime(2). TFD_TIMER_CANCEL_ON_SET
// is accepted and never fires: nothing in the sandbox can set the clock.
func sysTimerfdSettime(t *kernel.Task, a args) (uintptr, error) {
	flags := int(int32(a[1]))
	if flags&^tfdSettimeFlags != 0 {
		return 0, unix.EINVAL
	}
	tf, f, err := timerfdOf(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	interval, value, err := getItimerspec(t, a[2])
	if err != nil {
		return 0, err
	}
	var next time.Time
	if value.Sec != 0 || value.Nsec != 0 {
		d := time.Duration(value.Nano())
		if flags&unix.TFD_TIMER_ABSTIME != 0 {
			if d, err = untilClock(t, tf.Clock(), value); err != nil {
				return 0, err
			}
		}
		next = time.Now().Add(d)
	}
	rem, oldInt := tf.Set(next, time.Duration(interval.Nano()))
	if a[3] != 0 {
		return 0, putItimerspec(t, a[3], rem, oldInt)
	}
	return 0, nil
}

// sysTimerfdGettime implements timerfd_gettime(2).
func sysTimerfdGettime(t *kernel.Task, a args) (uintptr, error) {
	tf, f, err := timerfdOf(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	rem, interval := tf.Get()
	return 0, putItimerspec(t, a[1], rem, interval)
}
