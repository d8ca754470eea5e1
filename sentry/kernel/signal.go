package kernel

import (
	"errors"
	"math/bits"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"sbx/sentry/arch"
)

// SigInfo is a siginfo_t, in the fields the sentry fills.
type SigInfo struct {
	Signo  int32
	Code   int32
	Errno  int32
	PID    int32
	UID    uint32
	Status int32
	Addr   uint64
	// TimerID, Overrun and Value describe a POSIX timer's signal
	// (SI_TIMER); Value is also the sigval of rt_sigqueueinfo.
	TimerID, Overrun int32
	Value            uint64

	// timer is the POSIX timer that queued this signal, and timerSeq the
	// timer's arming then: its overrun count is read when the signal is
	// taken, and the signal is dropped if the timer changed since.
	timer    *PosixTimer
	timerSeq uint64
}

// si_code values (siginfo.h).
const (
	SIUser    = 0
	SIKernel  = 0x80
	SITkill   = -6
	SIQueue   = -1
	CLDExited = 1
	CLDKilled = 2
	CLDDumped = 3
)

// SigRTMin is the first real-time signal: signals from here on queue one
// instance per sending, standard ones below it are pending at most once.
const SigRTMin = 32

// sigPending is a set of pending signals with their siginfo (signal(7),
// "Queueing and delivery semantics for standard signals" and "Real-time
// signals").
type sigPending struct {
	// set has bit sig-1 set while queue[sig-1] is not empty.
	set uint64
	// queue holds the instances of each signal in the order they were
	// sent: at most one for a standard signal.
	queue [NumSignals][]SigInfo
	// n counts the instances queued in all of queue.
	n int
}

// add queues info and returns nil. A standard signal already pending is
// not queued again (ErrSignalDropped: the pending instance keeps its
// siginfo, as in Linux), except a POSIX timer's, which Linux (since 6.13)
// queues behind it: a timer has at most one instance queued anyway. A
// real-time signal is queued unless limit instances are queued already
// (EAGAIN).
func (p *sigPending) add(info SigInfo, limit uint64) error {
	i := info.Signo - 1
	bit := uint64(1) << i
	if p.set&bit != 0 && info.Signo < SigRTMin && info.timer == nil {
		return ErrSignalDropped
	}
	if p.set&bit != 0 && uint64(p.n) >= limit {
		return unix.EAGAIN
	}
	p.set |= bit
	p.queue[i] = append(p.queue[i], info)
	p.n++
	return nil
}

// take removes and returns the oldest instance of sig, which must be
// pending. A timer's signal gets the overrun counted since it was queued;
// one queued before its timer was re-armed or deleted is dropped (false),
// as Linux (6.13 and later) drops it.
func (p *sigPending) take(sig int) (SigInfo, bool) {
	q := p.queue[sig-1]
	info := q[0]
	if len(q) == 1 {
		p.queue[sig-1] = nil
		p.set &^= 1 << (sig - 1)
	} else {
		p.queue[sig-1] = q[1:]
	}
	p.n--
	if info.timer != nil {
		ov, ok := info.timer.dequeued(info.timerSeq)
		if !ok {
			return SigInfo{}, false
		}
		info.Overrun = ov
		info.timer = nil
	}
	return info, true
}

// takeLowest takes the lowest-numbered pending signal of set (see
// lowest), skipping dropped timer signals.
func (p *sigPending) takeLowest(set uint64) (SigInfo, bool) {
	for p.set&set != 0 {
		if info, ok := p.take(lowest(p.set & set)); ok {
			return info, true
		}
	}
	return SigInfo{}, false
}

// discard drops every pending instance of the signals in mask.
func (p *sigPending) discard(mask uint64) {
	for sig := 1; sig <= NumSignals; sig++ {
		for p.set&mask&(1<<(sig-1)) != 0 {
			p.take(sig)
		}
	}
}

// lowest returns the signal of ready to take first: the lowest-numbered
// one, so standard signals come before real-time ones (Linux's order).
func lowest(ready uint64) int {
	return bits.TrailingZeros64(ready) + 1
}

// Internal errnos a syscall handler returns when a signal interrupted it;
// they never reach the application (arch_do_signal_or_restart decides).
const (
	ERestartSys          = unix.Errno(512)
	ERestartNoIntr       = unix.Errno(513)
	ERestartNoHand       = unix.Errno(514)
	ERestartRestartBlock = unix.Errno(516)
)

// ErrInterrupted is what Block returns when a signal needs the task.
var ErrInterrupted = ERestartSys

const (
	saNoCldStop = 0x1
	saNoCldWait = 0x2
	saSigInfo   = 0x4
	saOnStack   = 0x08000000
	saRestart   = 0x10000000
	saNoDefer   = 0x40000000
	saResetHand = 0x80000000
)

func stopSignal(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return true
	}
	return false
}

// defaultIgnored reports whether sig's default action is to ignore it.
func defaultIgnored(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH, unix.SIGCONT:
		return true
	}
	return false
}

// coreSignal reports whether sig's default action dumps core (signal(7)).
func coreSignal(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS,
		unix.SIGFPE, unix.SIGSEGV, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSYS:
		return true
	}
	return false
}

// ignored reports whether sending sig to tg would be dropped at once.
func (tg *ThreadGroup) ignored(sig int) bool {
	if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
		return false
	}
	a := tg.SigAction(sig, nil)
	return a.Handler == SigIgn || (a.Handler == SigDfl && defaultIgnored(sig))
}

// Interrupt wakes the task: out of application code, and out of any
// blocking wait, to look at its signals.
func (t *Task) Interrupt() {
	select {
	case t.interruptCh <- struct{}{}:
	default:
	}
	t.ctx.Interrupt()
}

// Block waits until ch is closed, the deadline passes (ETIMEDOUT), or a
// signal needs the task (ErrInterrupted). A nil ch never fires; a zero
// deadline never expires.
func (t *Task) Block(ch <-chan struct{}, deadline time.Time) error {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return unix.ETIMEDOUT
		}
		tm := time.NewTimer(d)
		defer tm.Stop()
		timeout = tm.C
	}
	if m := t.leaveThread(); m != nil {
		defer t.takeThread(m)
	}
	for {
		if t.interrupted() {
			return ErrInterrupted
		}
		select {
		case <-ch:
			return nil
		case <-timeout:
			return unix.ETIMEDOUT
		case <-t.interruptCh:
		}
	}
}

// interrupted reports whether a signal or exit needs the task.
func (t *Task) interrupted() bool {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	if t.tg.exiting || t.killThread || t.stopPending {
		return true
	}
	return (t.pending.set|t.tg.pending.set)&^t.SigMask != 0 || (t.pending.set|t.tg.pending.set)&(1<<(unix.SIGKILL-1)) != 0
}

// SetAction installs act for sig (rt_sigaction). Setting a signal to be
// ignored discards its pending instances, as POSIX requires.
func (tg *ThreadGroup) SetAction(sig int, act SigAction) SigAction {
	old := tg.SigAction(sig, &act)
	if act.Handler == SigIgn || (act.Handler == SigDfl && defaultIgnored(sig)) {
		k := tg.k
		k.sigMu.Lock()
		bit := uint64(1) << (sig - 1)
		tg.pending.discard(bit)
		for _, t := range tg.tasks {
			t.pending.discard(bit)
		}
		k.sigMu.Unlock()
	}
	return old
}

// SendSignal sends a signal to this thread (tgkill(2), faults, SIGPIPE).
// An ignored signal is dropped unless the thread blocks it (then it stays
// pending, as in Linux). It returns nil when the signal was queued,
// ErrSignalDropped when it was ignored or is a standard signal already
// pending, and EAGAIN when a real-time signal found its queue full
// (RLIMIT_SIGPENDING instances).
func (t *Task) SendSignal(info SigInfo) error {
	k := t.k
	t.tg.prepareSignal(int(info.Signo))
	if t.SigMask&(1<<(info.Signo-1)) == 0 && t.tg.ignored(int(info.Signo)) {
		return ErrSignalDropped
	}
	if info.Signo == int32(unix.SIGKILL) {
		t.tg.Kill(int(unix.SIGKILL))
		return nil
	}
	limit := t.tg.Limit(RlimitSigpending).Cur
	k.sigMu.Lock()
	err := t.pending.add(info, limit)
	if err == nil {
		t.tg.signalQueuedLocked()
	}
	k.sigMu.Unlock()
	t.Interrupt()
	return err
}

// ErrSignalDropped is what SendSignal returns for a signal that was not
// queued because it is ignored, already pending (a standard signal), or
// sent to a process that is exiting. The sender sees success.
var ErrSignalDropped = errors.New("signal dropped")

// SendSignal sends a process-directed signal (kill(2)). It returns what
// Task.SendSignal does.
func (tg *ThreadGroup) SendSignal(info SigInfo) error {
	k := tg.k
	sig := int(info.Signo)
	if sig == int(unix.SIGKILL) {
		tg.Kill(sig)
		return nil
	}
	tg.prepareSignal(sig)
	if tg.ignored(sig) && (tg.leader == nil || tg.leader.SigMask&(1<<(sig-1)) == 0) {
		return ErrSignalDropped
	}
	limit := tg.Limit(RlimitSigpending).Cur
	k.sigMu.Lock()
	if tg.exiting {
		k.sigMu.Unlock()
		return ErrSignalDropped
	}
	if err := tg.pending.add(info, limit); err != nil {
		k.sigMu.Unlock()
		return err
	}
	tg.signalQueuedLocked()
	// Wake a thread that does not block it.
	var target *Task
	for _, t := range tg.tasks {
		if t.SigMask&(1<<(sig-1)) == 0 {
			target = t
			break
		}
	}
	k.sigMu.Unlock()
	if target != nil {
		target.Interrupt()
	}
	return nil
}

// signalQueuedLocked wakes whoever waits for a signal to be queued to the
// process or one of its threads, blocked or not (signalfd readers and
// pollers). Kernel.sigMu must be held.
func (tg *ThreadGroup) signalQueuedLocked() {
	if tg.sigQueued != nil {
		close(tg.sigQueued)
		tg.sigQueued = nil
	}
}

// SignalQueued returns a channel closed at the next signal queued to the
// process or one of its threads.
func (tg *ThreadGroup) SignalQueued() <-chan struct{} {
	tg.k.sigMu.Lock()
	defer tg.k.sigMu.Unlock()
	if tg.sigQueued == nil {
		tg.sigQueued = make(chan struct{})
	}
	return tg.sigQueued
}

// Kill ends the whole thread group with a signal (SIGKILL, or a signal's
// default action).
func (tg *ThreadGroup) Kill(sig int) {
	// A core is "dumped" (reported in the wait status) only when
	// RLIMIT_CORE allows one; no file is written.
	core := coreSignal(sig) && tg.Limit(RlimitCore).Cur > 0
	tg.exitWith(ExitStatus{Signo: sig, Core: core})
}

// exitWith starts the group's exit with st (the first status wins) and
// wakes every thread so it notices.
func (tg *ThreadGroup) exitWith(st ExitStatus) {
	k := tg.k
	k.sigMu.Lock()
	if !tg.exiting {
		tg.exiting = true
		tg.exit = st
	}
	tasks := append([]*Task(nil), tg.tasks...)
	k.sigMu.Unlock()
	for _, t := range tasks {
		t.Interrupt()
	}
}

// ExitGroup implements exit_group(2).
func (t *Task) ExitGroup(code int) {
	t.tg.exitWith(ExitStatus{Code: code & 0xff})
	t.exited = true
}

// Exit implements exit(2): the calling thread ends; the last thread's exit
// ends the process with its code.
func (t *Task) Exit(code int) {
	t.exitCode = code & 0xff
	t.exited = true
}

// PostSignal sends sig to the calling task from the kernel (SIGPIPE).
func (t *Task) PostSignal(sig int) {
	t.SendSignal(SigInfo{Signo: int32(sig), Code: SIKernel})
}

// forceSignal delivers a synchronous signal caused by the task's own
// instruction: it cannot be blocked or ignored (a blocked or ignored fault
// signal takes its default action, as in Linux's force_sig_info).
func (t *Task) forceSignal(sig, code int, addr uintptr) {
	act := t.tg.SigAction(sig, nil)
	bit := uint64(1) << (sig - 1)
	if act.Handler == SigIgn || t.SigMask&bit != 0 {
		t.tg.SigAction(sig, &SigAction{})
		t.SigMask &^= bit
	}
	t.k.sigMu.Lock()
	t.pending.add(SigInfo{Signo: int32(sig), Code: int32(code), Addr: uint64(addr)}, RlimInfinity)
	t.k.sigMu.Unlock()
}

// SetSigMask replaces the blocked set (SIGKILL and SIGSTOP never block).
func (t *Task) SetSigMask(mask uint64) {
	t.SigMask = mask &^ (1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1))
}

// Pending returns the pending signals of the task and its process.
func (t *Task) Pending() uint64 {
	t.k.sigMu.Lock()
	defer t.k.sigMu.Unlock()
	return t.pending.set | t.tg.pending.set
}

// SetSavedMask arranges for mask to become the signal mask once a handler
// has been set up (rt_sigsuspend, ppoll, pselect).
func (t *Task) SetSavedMask(mask uint64) {
	t.savedMask, t.hasSavedMask = mask, true
}

// dequeue takes the next deliverable signal: SIGKILL first, then the
// lowest-numbered unblocked one, thread-directed before process-directed.
func (t *Task) dequeue() (SigInfo, bool) {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	for _, p := range []*sigPending{&t.pending, &t.tg.pending} {
		ready := ^t.SigMask
		if p.set&(1<<(unix.SIGKILL-1)) != 0 {
			ready = 1 << (unix.SIGKILL - 1)
		}
		if info, ok := p.takeLowest(ready); ok {
			return info, true
		}
	}
	return SigInfo{}, false
}

// DequeueSignal takes the lowest-numbered pending signal of set, looking
// at the thread's own signals before the process's (signalfd(2) reads).
func (t *Task) DequeueSignal(set uint64) (SigInfo, bool) {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	for _, p := range []*sigPending{&t.pending, &t.tg.pending} {
		if info, ok := p.takeLowest(set); ok {
			return info, true
		}
	}
	return SigInfo{}, false
}

// deliverSignals runs before the task returns to application code: it
// takes the signals it can deliver and acts on them, and resolves the
// restart of an interrupted syscall (arch_do_signal_or_restart).
func (t *Task) deliverSignals(afterSyscall bool) {
	for !t.exited {
		if t.stopPendingNow() {
			t.doStop()
		}
		info, ok := t.dequeue()
		if !ok {
			break
		}
		sig := int(info.Signo)
		act := t.tg.SigAction(sig, nil)
		switch {
		case sig == int(unix.SIGKILL):
			t.tg.Kill(sig)
		case act.Handler == SigIgn:
			continue
		case act.Handler == SigDfl:
			if stopSignal(sig) {
				if t.k.Tracer != nil {
					t.k.Tracer.Signal(t, sig, int(info.Code), uintptr(info.Addr))
				}
				t.signalStop(sig) // jobctl.go
				continue
			}
			if defaultIgnored(sig) {
				continue
			}
			if t.k.Tracer != nil {
				t.k.Tracer.Signal(t, sig, int(info.Code), uintptr(info.Addr))
			}
			t.k.Log.Debug("fatal signal", "tid", t.tid, "signal", sig, "code", info.Code,
				"addr", info.Addr, "rip", t.regs.Rip, "rsp", t.regs.Rsp)
			t.tg.Kill(sig)
		default:
			if afterSyscall {
				t.restartSyscall(act.Flags&saRestart != 0, true)
				afterSyscall = false
			}
			if t.k.Tracer != nil {
				t.k.Tracer.Signal(t, sig, int(info.Code), uintptr(info.Addr))
			}
			if err := t.setupFrame(sig, act, info); err != nil {
				// No room for the frame: SIGSEGV, as Linux does.
				t.k.Log.Debug("cannot set up signal frame", "signal", sig, "err", err)
				t.tg.Kill(int(unix.SIGSEGV))
			}
			return
		}
		if t.tg.isExiting() {
			t.exited = true
			return
		}
	}
	if afterSyscall {
		t.restartSyscall(true, false)
	}
	if t.hasSavedMask {
		t.SetSigMask(t.savedMask)
		t.hasSavedMask = false
	}
}

// restartSyscall applies the restart rules to a syscall that returned an
// internal restart errno.
func (t *Task) restartSyscall(saRestartSet, handler bool) {
	r := &t.regs
	e := uint64(unix.EINTR)
	eintr := -e
	if int64(r.Rax) >= 0 || int64(r.Rax) < -4095 {
		return
	}
	switch unix.Errno(-int64(r.Rax)) {
	case ERestartNoIntr:
	case ERestartSys:
		if handler && !saRestartSet {
			r.Rax = eintr
			return
		}
	case ERestartNoHand, ERestartRestartBlock:
		if handler {
			r.Rax = eintr
			return
		}
	default:
		return
	}
	r.Rax = r.Orig_rax
	r.Rip -= 2
}

func (tg *ThreadGroup) isExiting() bool {
	tg.k.sigMu.Lock()
	defer tg.k.sigMu.Unlock()
	return tg.exiting
}

// onAltStack reports whether sp is on the task's alternate signal stack.
func (t *Task) onAltStack(sp uint64) bool {
	a := t.AltStack
	return a.Size != 0 && sp > a.Sp && sp <= a.Sp+a.Size
}

// setupFrame builds the rt_sigframe for sig on the application stack and
// points the registers at the handler.
func (t *Task) setupFrame(sig int, act SigAction, info SigInfo) error {
	fp, err := t.ctx.FPState()
	if err != nil {
		return err
	}
	sp := t.regs.Rsp
	onStack := t.onAltStack(sp)
	if act.Flags&saOnStack != 0 && t.AltStack.Size != 0 && !onStack {
		sp = t.AltStack.Sp + t.AltStack.Size
	} else {
		sp -= 128 // the red zone
	}
	ss := arch.StackT{Sp: t.AltStack.Sp, Size: t.AltStack.Size, Flags: t.AltStack.Flags}
	if t.AltStack.Size == 0 {
		ss.Flags = 2 // SS_DISABLE
	} else if onStack {
		ss.Flags = 1 // SS_ONSTACK
	}
	mask := t.SigMask
	if t.hasSavedMask {
		mask = t.savedMask
		t.hasSavedMask = false
	}
	frame, addr := arch.BuildSignalFrame(&t.regs, sp, fp, mask, ss, arch.SigInfo{
		Signo: info.Signo, Code: info.Code, Errno: info.Errno, PID: info.PID, UID: info.UID,
		Status: info.Status, Addr: info.Addr, TimerID: info.TimerID, Overrun: info.Overrun, Value: info.Value,
	}, act.Restorer)
	if _, err := t.mm.CopyOut(uintptr(addr), frame); err != nil {
		return err
	}
	if len(t.savedFP) >= 64 {
		t.savedFP = t.savedFP[1:] // a handler that never returned
	}
	t.savedFP = append(t.savedFP, fp)
	arch.EnterHandler(&t.regs, addr, sig, act.Handler)
	newMask := mask | act.Mask
	if act.Flags&saNoDefer == 0 {
		newMask |= 1 << (sig - 1)
	}
	t.SetSigMask(newMask)
	if act.Flags&saResetHand != 0 {
		t.tg.SigAction(sig, &SigAction{})
	}
	return nil
}

// SigReturn implements rt_sigreturn(2): it restores the registers, signal
// mask and FP state saved in the frame at the stack pointer. It returns the
// restored rax, the syscall's "result".
func (t *Task) SigReturn() (uintptr, error) {
	t.inSigreturn = true
	// The handler's "ret" popped the restorer address: the ucontext is at
	// rsp.
	buf := make([]byte, arch.UcontextSize)
	if _, err := t.mm.CopyIn(uintptr(t.regs.Rsp), buf); err != nil {
		t.tg.Kill(int(unix.SIGSEGV))
		return 0, nil
	}
	mask, ss, ok := arch.RestoreSignalFrame(&t.regs, buf)
	if !ok {
		t.tg.Kill(int(unix.SIGSEGV))
		return 0, nil
	}
	t.SetSigMask(mask)
	_ = ss
	if n := len(t.savedFP); n > 0 {
		fp := t.savedFP[n-1]
		t.savedFP = t.savedFP[:n-1]
		t.ctx.SetFPState(fp)
	}
	return uintptr(t.regs.Rax), nil
}

// BlockAny waits until one of chans closes, the deadline passes
// (ETIMEDOUT) or a signal needs the task (ErrInterrupted). With poll set,
// it also returns (nil) every few milliseconds, for files that cannot
// report their changes.
func (t *Task) BlockAny(chans []<-chan struct{}, deadline time.Time, poll bool) error {
	if poll {
		next := time.Now().Add(5 * time.Millisecond)
		if deadline.IsZero() || next.Before(deadline) {
			err := t.blockAny(chans, next)
			if err == unix.ETIMEDOUT {
				return nil
			}
			return err
		}
	}
	return t.blockAny(chans, deadline)
}

func (t *Task) blockAny(chans []<-chan struct{}, deadline time.Time) error {
	switch len(chans) {
	case 0:
		return t.Block(nil, deadline)
	case 1:
		return t.Block(chans[0], deadline)
	}
	any := make(chan struct{})
	stop := make(chan struct{})
	var once sync.Once
	seen := make(map[<-chan struct{}]bool, len(chans))
	for _, c := range chans {
		if c == nil || seen[c] {
			continue
		}
		seen[c] = true
		go func(c <-chan struct{}) {
			select {
			case <-c:
				once.Do(func() { close(any) })
			case <-stop:
			}
		}(c)
	}
	defer close(stop)
	return t.Block(any, deadline)
}

// WaitSignal implements rt_sigtimedwait(2): it takes a pending signal of
// set (normally blocked), waiting until one comes or the deadline passes
// (EAGAIN). Other signals interrupt the wait (EINTR).
func (t *Task) WaitSignal(set uint64, deadline time.Time, zero bool) (SigInfo, error) {
	set &^= 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)
	for {
		if info, ok := t.DequeueSignal(set); ok {
			return info, nil
		}
		if zero {
			return SigInfo{}, unix.EAGAIN
		}
		// Wake on any signal: the ones in set are blocked, so unblock them
		// for the wait.
		old := t.SigMask
		t.SigMask &^= set
		err := t.Block(nil, deadline)
		t.SigMask = old
		switch err {
		case unix.ETIMEDOUT:
			return SigInfo{}, unix.EAGAIN
		case ErrInterrupted:
			if t.Pending()&set != 0 {
				continue
			}
			return SigInfo{}, unix.EINTR
		case nil:
		default:
			return SigInfo{}, err
		}
	}
}
