package syscalls

// Scheduling and resource usage: sched_getscheduler(2),
// sched_setscheduler(2), sched_getparam(2), sched_setparam(2),
// sched_get_priority_min(2)/max, sched_rr_get_interval(2), getcpu(2),
// getrusage(2) and times(2).
//
// Policies and priorities are recorded per thread and inherited across
// fork, but every thread is scheduled by the host like the sentry's own
// (see sentry/kernel/sched.go). getcpu reports a CPU derived from the
// thread id: the sandbox does not pin threads, so any CPU the sandbox may
// use is as true an answer as the host's momentary one. Resource usage is
// accounted as sentry/kernel/rusage.go describes.

import (
	"encoding/binary"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

func registerSched(t *Table) {
	t.add(unix.SYS_SCHED_GETSCHEDULER, sysSchedGetscheduler, "d", 'd')
	t.add(unix.SYS_SCHED_SETSCHEDULER, sysSchedSetscheduler, "ddp", 'd')
	t.add(unix.SYS_SCHED_GETPARAM, sysSchedGetparam, "dp", 'd')
	t.add(unix.SYS_SCHED_SETPARAM, sysSchedSetparam, "dp", 'd')
	t.add(unix.SYS_SCHED_GET_PRIORITY_MAX, sysSchedGetPriorityMax, "d", 'd')
	t.add(unix.SYS_SCHED_GET_PRIORITY_MIN, sysSchedGetPriorityMin, "d", 'd')
	t.add(unix.SYS_SCHED_RR_GET_INTERVAL, sysSchedRrGetInterval, "dp", 'd')
	t.add(unix.SYS_GETCPU, sysGetcpu, "ppp", 'd')
	t.add(unix.SYS_GETRUSAGE, sysGetrusage, "dp", 'd')
	t.add(unix.SYS_TIMES, sysTimes, "p", 'd')
}

// schedTarget resolves the pid of a sched_* call: 0 is the caller, others
// a thread id, or the pid of a zombie (found until it is reaped, as in
// Linux).
func schedTarget(t *kernel.Task, pid int) (*kernel.Task, error) {
	if pid < 0 {
		return nil, unix.EINVAL
	}
	if pid == 0 {
		return t, nil
	}
	target, ok := t.Kernel().TaskOrZombie(pid)
	if !ok {
		return nil, unix.ESRCH
	}
	return target, nil
}

// sysSchedGetscheduler implements sched_getscheduler(2).
func sysSchedGetscheduler(t *kernel.Task, a args) (uintptr, error) {
	target, err := schedTarget(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	s := target.Sched()
	p := s.Policy
	if s.ResetOnFork {
		p |= kernel.SchedResetOnFork
	}
	return uintptr(p), nil
}

func readSchedParam(t *kernel.Task, addr uintptr) (int, error) {
	var b [4]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return 0, err
	}
	return int(int32(binary.LittleEndian.Uint32(b[:]))), nil
}

// sysSchedSetscheduler implements sched_setscheduler(2).
func sysSchedSetscheduler(t *kernel.Task, a args) (uintptr, error) {
	pid, policy := int(int32(a[0])), int(int32(a[1]))
	if a[2] == 0 || pid < 0 || policy < 0 {
		return 0, unix.EINVAL
	}
	prio, err := readSchedParam(t, a[2])
	if err != nil {
		return 0, err
	}
	target, err := schedTarget(t, pid)
	if err != nil {
		return 0, err
	}
	reset := policy&kernel.SchedResetOnFork != 0
	return 0, t.SetSched(target, policy&^kernel.SchedResetOnFork, prio, reset)
}

// sysSchedGetparam implements sched_getparam(2).
func sysSchedGetparam(t *kernel.Task, a args) (uintptr, error) {
	pid := int(int32(a[0]))
	if a[1] == 0 || pid < 0 {
		return 0, unix.EINVAL
	}
	target, err := schedTarget(t, pid)
	if err != nil {
		return 0, err
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(target.Sched().Priority))
	_, err = t.CopyOut(a[1], b[:])
	return 0, err
}

// sysSchedSetparam implements sched_setparam(2).
func sysSchedSetparam(t *kernel.Task, a args) (uintptr, error) {
	pid := int(int32(a[0]))
	if a[1] == 0 || pid < 0 {
		return 0, unix.EINVAL
	}
	prio, err := readSchedParam(t, a[1])
	if err != nil {
		return 0, err
	}
	target, err := schedTarget(t, pid)
	if err != nil {
		return 0, err
	}
	return 0, t.SetSched(target, -1, prio, false)
}

// sysSchedGetPriorityMax implements sched_get_priority_max(2).
func sysSchedGetPriorityMax(t *kernel.Task, a args) (uintptr, error) {
	_, hi, err := kernel.PriorityRange(int(int32(a[0])))
	return uintptr(hi), err
}

// sysSchedGetPriorityMin implements sched_get_priority_min(2).
func sysSchedGetPriorityMin(t *kernel.Task, a args) (uintptr, error) {
	lo, _, err := kernel.PriorityRange(int(int32(a[0])))
	return uintptr(lo), err
}

// rrTimeslice is the SCHED_RR quantum Linux reports by default.
const rrTimeslice = 100 * time.Millisecond

// sysSchedRrGetInterval implements sched_rr_get_interval(2): the default
// round-robin quantum for SCHED_RR threads, 0 for the others (as Linux
// answers for FIFO; for the fair policies Linux reports a figure derived
// from the load, 0 is its value with nothing else to run).
func sysSchedRrGetInterval(t *kernel.Task, a args) (uintptr, error) {
	target, err := schedTarget(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	var d time.Duration
	if target.Sched().Policy == kernel.SchedRR {
		d = rrTimeslice
	}
	return 0, putTimespec(t, a[1], unix.NsecToTimespec(d.Nanoseconds()))
}

// sysGetcpu implements getcpu(2); either pointer may be NULL, the third
// argument is unused since Linux 2.6.24. There is one NUMA node.
func sysGetcpu(t *kernel.Task, a args) (uintptr, error) {
	var b [4]byte
	if a[0] != 0 {
		binary.LittleEndian.PutUint32(b[:], uint32(t.TID()%runtime.NumCPU()))
		if _, err := t.CopyOut(a[0], b[:]); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		binary.LittleEndian.PutUint32(b[:], 0)
		if _, err := t.CopyOut(a[1], b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// rusageSize is sizeof(struct rusage).
const rusageSize = 144

// encodeRusage lays out a struct rusage.
func encodeRusage(r kernel.Rusage) []byte {
	b := make([]byte, rusageSize)
	le := binary.LittleEndian
	putTimeval := func(off int, d time.Duration) {
		tv := unix.NsecToTimeval(d.Nanoseconds())
		le.PutUint64(b[off:], uint64(tv.Sec))
		le.PutUint64(b[off+8:], uint64(tv.Usec))
	}
	putTimeval(0, r.UTime)
	putTimeval(16, r.STime)
	le.PutUint64(b[32:], r.MaxRSS/1024) // ru_maxrss, in kilobytes
	le.PutUint64(b[64:], r.MinFlt)      // ru_minflt
	return b
}

// sysGetrusage implements getrusage(2).
func sysGetrusage(t *kernel.Task, a args) (uintptr, error) {
	who := int(int32(a[0]))
	switch who {
	case kernel.RusageSelf, kernel.RusageChildren, kernel.RusageThread:
	default:
		return 0, unix.EINVAL
	}
	_, err := t.CopyOut(a[1], encodeRusage(t.Rusage(who)))
	return 0, err
}

// sysTimes implements times(2): the process's and its reaped children's
// CPU times in clock ticks; the result is the ticks elapsed since the
// sandbox started. buf may be NULL.
func sysTimes(t *kernel.Task, a args) (uintptr, error) {
	if a[0] != 0 {
		self, children := t.Rusage(kernel.RusageSelf), t.Rusage(kernel.RusageChildren)
		var b [32]byte
		le := binary.LittleEndian
		le.PutUint64(b[0:], kernel.Ticks(self.UTime))
		le.PutUint64(b[8:], kernel.Ticks(self.STime))
		le.PutUint64(b[16:], kernel.Ticks(children.UTime))
		le.PutUint64(b[24:], kernel.Ticks(children.STime))
		if _, err := t.CopyOut(a[0], b[:]); err != nil {
			return 0, err
		}
	}
	return uintptr(kernel.Ticks(time.Since(t.Kernel().StartTime))), nil
}
