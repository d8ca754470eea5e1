package kernel

// Job control: group stops and continues (signal(7), "Stopping and
// resuming"), as Linux's prepare_signal, do_signal_stop and
// do_notify_parent_cldstop do them.
//
// A stop signal whose action is the default, once dequeued, marks every
// thread of the process as having to stop; each thread stops at its next
// signal check (a blocking syscall is interrupted and later restarted by
// the usual rules), and the last one to stop completes the group stop: the
// parent gets SIGCHLD with CLD_STOPPED (unless its SIGCHLD action has
// SA_NOCLDSTOP) and wait(WUNTRACED) can report the stop once. SIGCONT,
// when it is generated and whatever its disposition or mask, discards
// pending stop signals and resumes the group; the parent gets CLD_CONTINUED
// and wait(WCONTINUED) can report it once. Generating a stop signal
// discards a pending SIGCONT. SIGTSTP, SIGTTIN and SIGTTOU are discarded
// when the process group is orphaned; SIGSTOP never is. The sandbox's
// init never stops: as the init of a pid namespace, it ignores signals
// whose action is the default when they come from inside.
//
// Departure: a stop that SIGCONT ends before every thread has stopped is
// reported to the parent as CLD_STOPPED with the stop signal (Linux reports
// status 0 there).

import (
	"golang.org/x/sys/unix"
)

// CLD_* codes of stop and continue reports.
const (
	CLDStopped   = 5
	CLDContinued = 6
)

// stopMask is the set of stop signals.
const stopMask = 1<<(unix.SIGSTOP-1) | 1<<(unix.SIGTSTP-1) | 1<<(unix.SIGTTIN-1) | 1<<(unix.SIGTTOU-1)

const contBit = 1 << (unix.SIGCONT - 1)

// prepareSignal applies the job-control effects of generating sig for tg,
// before its disposition is looked at (Linux's prepare_signal). Called
// without k.sigMu.
func (tg *ThreadGroup) prepareSignal(sig int) {
	if !stopSignal(sig) && sig != int(unix.SIGCONT) {
		return
	}
	k := tg.k
	k.sigMu.Lock()
	if tg.exiting {
		k.sigMu.Unlock()
		return
	}
	if stopSignal(sig) {
		tg.pending.set &^= contBit
		for _, t := range tg.tasks {
			t.pending.set &^= contBit
		}
		k.sigMu.Unlock()
		return
	}
	tg.pending.set &^= stopMask
	var wake []*Task
	for _, t := range tg.tasks {
		t.pending.set &^= stopMask
		t.stopPending = false
		if t.stopped {
			t.stopped = false
			wake = append(wake, t)
		}
	}
	var code, status int32
	switch {
	case tg.groupStopped:
		code, status = CLDContinued, int32(unix.SIGCONT)
	case tg.stopCount > 0:
		code, status = CLDStopped, int32(tg.stopSig)
	}
	if code != 0 {
		tg.contReport = true
	}
	tg.groupStopped = false
	tg.stopCount = 0
	tg.stopSig = 0
	if code != 0 && tg.parent != nil {
		tg.parent.notifyChildLocked()
	}
	k.sigMu.Unlock()
	for _, t := range wake {
		t.Interrupt()
	}
	if code != 0 {
		tg.notifyParentCldStop(code, status)
	}
}

// notifyParentCldStop sends the parent SIGCHLD for a stop or continue,
// unless its SIGCHLD action has SA_NOCLDSTOP.
func (tg *ThreadGroup) notifyParentCldStop(code, status int32) {
	k := tg.k
	k.sigMu.Lock()
	parent := tg.parent
	var uid uint32
	if tg.leader != nil {
		uid = tg.leader.Creds.RUID
	}
	k.sigMu.Unlock()
	if parent == nil {
		return
	}
	if parent.SigAction(int(unix.SIGCHLD), nil).Flags&saNoCldStop != 0 {
		return
	}
	parent.SendSignal(SigInfo{Signo: int32(unix.SIGCHLD), Code: code, PID: int32(tg.pid), UID: uid, Status: status})
}

// pgrpOrphaned reports whether process group pgid is orphaned: no member
// has a parent in another process group of the same session. A parent
// outside the sandbox (init's) does not count, as a parent outside the
// pid namespace would not hold the group.
func (k *Kernel) pgrpOrphaned(pgid int) bool {
	tasks := k.Tasks()
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	for _, x := range tasks {
		tg := x.tg
		if tg.leader != x || tg.pgid != pgid || tg.exiting {
			continue
		}
		if p := tg.parent; p != nil && p.pgid != pgid && p.sid == tg.sid {
			return false
		}
	}
	return true
}

// signalStop starts a group stop for a dequeued stop signal whose action
// is the default, then stops the calling thread (Linux's do_signal_stop).
func (t *Task) signalStop(sig int) {
	if sig != int(unix.SIGSTOP) && t.k.pgrpOrphaned(t.tg.ProcessGroup()) {
		return
	}
	k := t.k
	tg := t.tg
	k.sigMu.Lock()
	if tg.exiting || t.killThread || tg == k.initTG {
		k.sigMu.Unlock()
		return
	}
	if !tg.groupStopped {
		tg.stopSig = sig
	}
	tg.stopCount = 0
	var wake []*Task
	for _, x := range tg.tasks {
		if x == t {
			x.stopPending = true
			tg.stopCount++
		} else if !x.stopped && !x.killThread {
			x.stopPending = true
			tg.stopCount++
			wake = append(wake, x)
		}
	}
	k.sigMu.Unlock()
	for _, x := range wake {
		x.wake()
	}
	t.doStop()
}

// wake interrupts the thread if it is running (registered): a thread still
// being created has no platform context yet, and will see its pending stop
// at its first signal check.
func (t *Task) wake() {
	if x, ok := t.k.Task(t.tid); ok && x == t {
		t.Interrupt()
	}
}

// doStop makes the calling thread take part in a pending group stop, and
// waits until the group is continued or killed.
func (t *Task) doStop() {
	k := t.k
	tg := t.tg
	k.sigMu.Lock()
	if !t.stopPending {
		k.sigMu.Unlock()
		return
	}
	t.stopPending = false
	t.stopped = true
	if tg.stopCount > 0 {
		tg.stopCount--
	}
	notify := tg.stopCount == 0 && !tg.groupStopped
	var status int32
	if notify {
		tg.groupStopped = true
		tg.contReport = false
		status = int32(tg.stopSig)
		if tg.parent != nil {
			tg.parent.notifyChildLocked()
		}
	}
	k.sigMu.Unlock()
	if notify {
		tg.notifyParentCldStop(CLDStopped, status)
	}
	for {
		k.sigMu.Lock()
		still := t.stopped && !tg.exiting && !t.killThread
		k.sigMu.Unlock()
		if !still {
			return
		}
		<-t.interruptCh
	}
}

// stopPendingNow reports whether the thread must take part in a group
// stop.
func (t *Task) stopPendingNow() bool {
	t.k.sigMu.Lock()
	defer t.k.sigMu.Unlock()
	return t.stopPending
}

// leaveGroupStopLocked takes an exiting thread out of a group stop in
// progress; the last thread to stop or leave completes it. It returns
// whether the parent must be told. Called with k.sigMu held.
func (tg *ThreadGroup) leaveGroupStopLocked(t *Task) bool {
	if !t.stopPending {
		return false
	}
	t.stopPending = false
	if tg.stopCount > 0 {
		tg.stopCount--
	}
	if tg.stopCount == 0 && !tg.groupStopped && len(tg.tasks) > 0 {
		tg.groupStopped = true
		tg.contReport = false
		if tg.parent != nil {
			tg.parent.notifyChildLocked()
		}
		return true
	}
	return false
}

// joinGroupStopLocked makes a new thread take part in a group stop in
// progress. Called with k.sigMu held.
func (tg *ThreadGroup) joinGroupStopLocked(t *Task) {
	if tg.stopCount > 0 && !tg.groupStopped {
		t.stopPending = true
		tg.stopCount++
	}
}

// Stopped reports whether the process is in a completed group stop.
func (tg *ThreadGroup) Stopped() bool {
	tg.k.sigMu.Lock()
	defer tg.k.sigMu.Unlock()
	return tg.groupStopped
}

// pgrpHasStopped reports whether a process of group pgid is stopped.
func (k *Kernel) pgrpHasStopped(pgid int) bool {
	for _, tg := range k.ProcessGroupMembers(pgid) {
		if tg.Stopped() {
			return true
		}
	}
	return false
}

// killOrphanedPgrp sends SIGHUP then SIGCONT to every process of group
// pgid if an exit has just orphaned it and one of them is stopped, so that
// no stopped process is left without a job-control shell to resume it
// (Linux's kill_orphaned_pgrp; see credentials(7) and _exit(2)).
func (k *Kernel) killOrphanedPgrp(pgid int) {
	if !k.pgrpOrphaned(pgid) || !k.pgrpHasStopped(pgid) {
		return
	}
	members := k.ProcessGroupMembers(pgid)
	for _, tg := range members {
		tg.SendSignal(SigInfo{Signo: int32(unix.SIGHUP), Code: SIKernel})
	}
	for _, tg := range members {
		tg.SendSignal(SigInfo{Signo: int32(unix.SIGCONT), Code: SIKernel})
	}
}

// orphanedByExit applies killOrphanedPgrp to the groups the exit of tg
// may have orphaned: its own, if its parent linked it to the session, and
// each of its children's. parent, pgid and sid are tg's at its exit;
// children are the processes it had.
func (k *Kernel) orphanedByExit(parent *ThreadGroup, pgid, sid int, children []*ThreadGroup) {
	k.sigMu.Lock()
	var check []int
	if parent != nil && parent.pgid != pgid && parent.sid == sid {
		check = append(check, pgid)
	}
	for _, c := range children {
		if c.pgid != pgid && c.sid == sid && !c.zombie {
			check = append(check, c.pgid)
		}
	}
	k.sigMu.Unlock()
	for _, g := range check {
		k.killOrphanedPgrp(g)
	}
}
