package kernel

// Scheduling attributes (sched(7)): each thread's policy and static
// priority, as sched_setscheduler(2) and sched_setparam(2) record them and
// fork(2) passes them on. They are recorded only: every task is scheduled
// by the host as the sentry's own threads are (a departure for the
// real-time policies).

import "golang.org/x/sys/unix"

// Scheduling policies (linux/sched.h).
const (
	SchedOther    = 0
	SchedFIFO     = 1
	SchedRR       = 2
	SchedBatch    = 3
	SchedIdle     = 5
	SchedDeadline = 6
	// SchedResetOnFork is ORed into a policy.
	SchedResetOnFork = 0x40000000
)

// SchedAttr is a thread's scheduling policy and priority.
type SchedAttr struct {
	Policy      int
	Priority    int
	ResetOnFork bool
}

// forFork is what a child process starts with: the same attributes, or
// SCHED_OTHER-like defaults with SCHED_RESET_ON_FORK.
func (a SchedAttr) forFork() SchedAttr {
	if !a.ResetOnFork {
		return a
	}
	if a.Policy == SchedFIFO || a.Policy == SchedRR {
		a.Policy, a.Priority = SchedOther, 0
	}
	a.ResetOnFork = false
	return a
}

// PriorityRange returns sched_get_priority_min/max for a policy, or
// EINVAL.
func PriorityRange(policy int) (lo, hi int, err error) {
	switch policy {
	case SchedFIFO, SchedRR:
		return 1, 99, nil
	case SchedOther, SchedBatch, SchedIdle, SchedDeadline:
		return 0, 0, nil
	}
	return 0, 0, unix.EINVAL
}

// Sched returns the thread's scheduling attributes.
func (t *Task) Sched() SchedAttr {
	t.k.sigMu.Lock()
	defer t.k.sigMu.Unlock()
	return t.sched
}

// SetSched implements sched_setscheduler(2) (policy >= 0) and
// sched_setparam(2) (policy < 0: keep the policy) on target, asked by t.
// A real-time policy needs privilege (RLIMIT_RTPRIO is 0); changing
// another user's thread too.
func (t *Task) SetSched(target *Task, policy, priority int, resetOnFork bool) error {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	a := target.sched
	if policy < 0 {
		policy = a.Policy
		resetOnFork = a.ResetOnFork
	}
	lo, hi, err := PriorityRange(policy)
	if err != nil || priority < lo || priority > hi {
		return unix.EINVAL
	}
	root := t.Creds.EUID == 0
	if !root {
		if t.Creds.EUID != target.Creds.RUID && t.Creds.EUID != target.Creds.EUID {
			return unix.EPERM
		}
		rt := policy == SchedFIFO || policy == SchedRR
		if rt && uint64(priority) > t.tg.Limit(RlimitRtprio).Cur {
			return unix.EPERM
		}
		if policy == SchedDeadline || (a.ResetOnFork && !resetOnFork) {
			return unix.EPERM
		}
	}
	target.sched = SchedAttr{Policy: policy, Priority: priority, ResetOnFork: resetOnFork}
	return nil
}
