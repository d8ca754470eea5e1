package syscalls

// Time: clock_gettime(2), clock_getres(2), gettimeofday(2), time(2),
// nanosleep(2), clock_nanosleep(2).
//
// Clocks are the host's. CPU-time clocks measure the application's own
// instructions on the host; sentry time spent serving its syscalls is not
// counted, a departure from Linux. Sleeps cannot be interrupted by signals yet.

import (
	"encoding/binary"
	"time"
	_ "unsafe" // go:linkname

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

func registerTime(t *Table) {
	t.add(unix.SYS_CLOCK_GETTIME, sysClockGettime, "dp", 'd')
	t.add(unix.SYS_CLOCK_GETRES, sysClockGetres, "dp", 'd')
	t.add(unix.SYS_GETTIMEOFDAY, sysGettimeofday, "pp", 'd')
	t.add(unix.SYS_TIME, sysTime, "p", 'd')
	t.add(unix.SYS_NANOSLEEP, sysNanosleep, "pp", 'd')
	t.add(unix.SYS_CLOCK_NANOSLEEP, sysClockNanosleep, "dxpp", 'd')
}

func validClock(id int32) bool {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_PROCESS_CPUTIME_ID,
		unix.CLOCK_THREAD_CPUTIME_ID, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_REALTIME_COARSE,
		unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME, unix.CLOCK_REALTIME_ALARM,
		unix.CLOCK_BOOTTIME_ALARM, unix.CLOCK_TAI:
		return true
	}
	return false
}

// readClock returns the clock's value. The CPU-time clocks report the host
// CPU time of the application's own instructions, as the platform accounts it.
func readClock(t *kernel.Task, id int32) (unix.Timespec, error) {
	if id == unix.CLOCK_PROCESS_CPUTIME_ID || id == unix.CLOCK_THREAD_CPUTIME_ID {
		return unix.NsecToTimespec(t.CPUTime().Nanoseconds()), nil
	}
	return readHost(id)
}

func putTimespec(t *kernel.Task, addr uintptr, ts unix.Timespec) error {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], uint64(ts.Sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(ts.Nsec))
	_, err := t.CopyOut(addr, b[:])
	return err
}

func getTimespec(t *kernel.Task, addr uintptr) (unix.Timespec, error) {
	var b [16]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return unix.Timespec{}, err
	}
	ts := unix.Timespec{Sec: int64(binary.LittleEndian.Uint64(b[:])), Nsec: int64(binary.LittleEndian.Uint64(b[8:]))}
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
		return ts, unix.EINVAL
	}
	return ts, nil
}

// sysClockGettime implements clock_gettime(2).
func sysClockGettime(t *kernel.Task, a args) (uintptr, error) {
	id := int32(a[0])
	if !validClock(id) {
		return 0, unix.EINVAL
	}
	ts, err := readClock(t, id)
	if err != nil {
		return 0, err
	}
	return 0, putTimespec(t, a[1], ts)
}

// sysClockGetres implements clock_getres(2); a NULL res is allowed.
func sysClockGetres(t *kernel.Task, a args) (uintptr, error) {
	id := int32(a[0])
	if !validClock(id) {
		return 0, unix.EINVAL
	}
	var ts unix.Timespec
	if err := unix.ClockGetres(id, &ts); err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, nil
	}
	return 0, putTimespec(t, a[1], ts)
}

// sysGettimeofday implements gettimeofday(2). The timezone, if asked for,
// is UTC (the kernel's timezone is rarely set).
func sysGettimeofday(t *kernel.Task, a args) (uintptr, error) {
	if a[0] != 0 {
		var ts unix.Timespec
		unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], uint64(ts.Sec))
		binary.LittleEndian.PutUint64(b[8:], uint64(ts.Nsec/1000))
		if _, err := t.CopyOut(a[0], b[:]); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		var z [8]byte
		if _, err := t.CopyOut(a[1], z[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// sysTime implements time(2).
func sysTime(t *kernel.Task, a args) (uintptr, error) {
	now := time.Now().Unix()
	if a[0] != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(now))
		if _, err := t.CopyOut(a[0], b[:]); err != nil {
			return 0, err
		}
	}
	return uintptr(now), nil
}

// sleepUntil sleeps on clock id until the absolute time ts, or until a
// signal interrupts it (kernel.ErrInterrupted).
func sleepUntil(t *kernel.Task, id int32, ts unix.Timespec) error {
	for {
		now, err := readHost(id)
		if err != nil {
			return err
		}
		d := time.Duration(ts.Nano() - now.Nano())
		if d <= 0 {
			return nil
		}
		if err := t.Block(nil, time.Now().Add(d)); err != unix.ETIMEDOUT {
			return err
		}
	}
}

// writeRemaining stores the unslept time of an interrupted relative sleep.
func writeRemaining(t *kernel.Task, addr uintptr, id int32, end unix.Timespec) {
	if addr == 0 {
		return
	}
	now, _ := readHost(id)
	rem := end.Nano() - now.Nano()
	if rem < 0 {
		rem = 0
	}
	putTimespec(t, addr, unix.NsecToTimespec(rem))
}

func readHost(id int32) (unix.Timespec, error) {
	switch id {
	case unix.CLOCK_REALTIME:
		// Go reads these through the vDSO; unix.ClockGettime is a real
		// host syscall (python3 -c pass asks for the time 226 times).
		return unix.NsecToTimespec(time.Now().UnixNano()), nil
	case unix.CLOCK_MONOTONIC:
		return unix.NsecToTimespec(nanotime()), nil
	}
	var ts unix.Timespec
	err := unix.ClockGettime(id, &ts)
	return ts, err
}

// nanotime is the Go runtime's clock: CLOCK_MONOTONIC, read through the
// vDSO.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// sysNanosleep implements nanosleep(2) on CLOCK_MONOTONIC.
func sysNanosleep(t *kernel.Task, a args) (uintptr, error) {
	req, err := getTimespec(t, a[0])
	if err != nil {
		return 0, err
	}
	now, _ := readHost(unix.CLOCK_MONOTONIC)
	end := unix.NsecToTimespec(now.Nano() + req.Nano())
	if err := sleepUntil(t, unix.CLOCK_MONOTONIC, end); err != nil {
		// A handler makes it EINTR with the remaining time; without one
		// the sleep restarts (from the start: a departure).
		writeRemaining(t, a[1], unix.CLOCK_MONOTONIC, end)
		return 0, kernel.ERestartRestartBlock
	}
	return 0, nil
}

// sysClockNanosleep implements clock_nanosleep(2): relative or TIMER_ABSTIME
// sleeps on REALTIME, MONOTONIC, BOOTTIME, TAI and the process's CPU clock
// (which other threads advance; see sentry/kernel/timer.go for how CPU
// time is sampled). Other valid clocks, the thread CPU clock among them,
// cannot be slept on: EOPNOTSUPP, as in Linux (the man page says EINVAL).
func sysClockNanosleep(t *kernel.Task, a args) (uintptr, error) {
	id, flags := int32(a[0]), int(int32(a[1]))
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_TAI:
	case unix.CLOCK_PROCESS_CPUTIME_ID:
		return cpuNanosleep(t, flags, a)
	default:
		if !validClock(id) {
			return 0, unix.EINVAL
		}
		return 0, unix.ENOTSUP
	}
	req, err := getTimespec(t, a[2])
	if err != nil {
		return 0, err
	}
	if flags&unix.TIMER_ABSTIME != 0 {
		if err := sleepUntil(t, id, req); err != nil {
			return 0, kernel.ERestartNoHand
		}
		return 0, nil
	}
	now, _ := readHost(id)
	end := unix.NsecToTimespec(now.Nano() + req.Nano())
	if err := sleepUntil(t, id, end); err != nil {
		writeRemaining(t, a[3], id, end)
		return 0, kernel.ERestartRestartBlock
	}
	return 0, nil
}

// cpuNanosleep is clock_nanosleep(2) on CLOCK_PROCESS_CPUTIME_ID.
func cpuNanosleep(t *kernel.Task, flags int, a args) (uintptr, error) {
	req, err := getTimespec(t, a[2])
	if err != nil {
		return 0, err
	}
	d := time.Duration(req.Nano())
	if flags&unix.TIMER_ABSTIME != 0 {
		if d, err = untilClock(t, unix.CLOCK_PROCESS_CPUTIME_ID, req); err != nil {
			return 0, err
		}
	}
	if d <= 0 {
		return 0, nil
	}
	rem, err := t.SleepCPU(d)
	if err == nil {
		return 0, nil
	}
	if flags&unix.TIMER_ABSTIME != 0 {
		return 0, kernel.ERestartNoHand
	}
	if a[3] != 0 {
		putTimespec(t, a[3], unix.NsecToTimespec(rem.Nanoseconds()))
	}
	return 0, kernel.ERestartRestartBlock
}
