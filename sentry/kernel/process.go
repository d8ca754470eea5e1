package kernel

import (
	"encoding/binary"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/sentry/mm"
)

// clone(2) flags.
const (
	CloneVM            = 0x100
	CloneFS            = 0x200
	CloneFiles         = 0x400
	CloneSighand       = 0x800
	ClonePidfd         = 0x1000
	ClonePtrace        = 0x2000
	CloneVfork         = 0x4000
	CloneParent        = 0x8000
	CloneThread        = 0x10000
	CloneNewNS         = 0x20000
	CloneSysvsem       = 0x40000
	CloneSettls        = 0x80000
	CloneParentSettid  = 0x100000
	CloneChildCleartid = 0x200000
	CloneDetached      = 0x400000
	CloneUntraced      = 0x800000
	CloneChildSettid   = 0x1000000
	CloneNewCgroup     = 0x2000000
	CloneNewUTS        = 0x4000000
	CloneNewIPC        = 0x8000000
	CloneNewUser       = 0x10000000
	CloneNewPID        = 0x20000000
	CloneNewNet        = 0x40000000
	CloneIO            = 0x80000000
)

// CloneOptions are the decoded arguments of clone(2)/clone3(2).
type CloneOptions struct {
	Flags      uint64
	ExitSignal int
	Stack      uintptr
	ParentTID  uintptr
	ChildTID   uintptr
	TLS        uintptr
}

// Clone creates a new process (threads are not supported yet) and returns
// its id in the caller's PID namespace.
func (t *Task) Clone(o CloneOptions) (int, error) {
	f := o.Flags
	if t.k.isDying() {
		return 0, unix.EAGAIN
	}
	if f&CloneThread != 0 && f&CloneSighand == 0 || f&CloneSighand != 0 && f&CloneVM == 0 {
		return 0, unix.EINVAL
	}
	if f&CloneThread != 0 {
		if f&(CloneFiles|CloneFS) != CloneFiles|CloneFS {
			t.k.Log.Info("threads without CLONE_FILES|CLONE_FS are not implemented", "flags", f)
			return 0, unix.EINVAL
		}
		return t.cloneThread(o)
	}
	if f&CloneVM != 0 && f&CloneVfork == 0 {
		// A process sharing its parent's memory without being a vfork
		// child: not supported.
		t.k.Log.Info("clone with CLONE_VM but no CLONE_VFORK or CLONE_THREAD is not implemented", "flags", f)
		return 0, unix.ENOSYS
	}
	if f&(CloneNewNS|CloneNewCgroup|CloneNewUTS|CloneNewIPC|CloneNewUser|CloneNewPID|CloneNewNet) != 0 {
		t.k.Log.Info("clone into new namespaces is not implemented", "flags", f)
		return 0, unix.EINVAL
	}
	k := t.k
	if !k.reserveTask() {
		return 0, unix.EAGAIN
	}

	snap := t.mm.ForkSnapshot()
	tg := newThreadGroup(k)
	t.tg.mu.Lock()
	tg.limits = t.tg.limits
	tg.actions = t.tg.actions
	t.tg.mu.Unlock()
	if f&CloneFiles != 0 {
		tg.FDTable = t.tg.FDTable.Share()
	} else {
		tg.FDTable = t.tg.FDTable.Fork()
	}
	if f&CloneFS != 0 {
		tg.FS = t.tg.FS
	} else {
		tg.FS = t.tg.FS.Fork()
	}
	tg.exitSignal = o.ExitSignal
	child := &Task{
		k: k, tg: tg, regs: t.regs, tid: k.allocTID(),
		Creds: t.Creds, Image: t.Image, ExePath: t.ExePath, exe: t.exe,
		SigMask: t.SigMask, name: t.name, interruptCh: make(chan struct{}, 1),
	}
	if child.exe != nil {
		vfs.DenyWriteAccess(child.exe)
	}
	if f&CloneVfork == 0 {
		child.AltStack = t.AltStack
	}
	child.regs.Rax = 0
	if o.Stack != 0 {
		child.regs.Rsp = uint64(o.Stack)
	}
	if f&CloneSettls != 0 {
		child.regs.Fs_base = uint64(o.TLS)
	}
	if f&CloneChildCleartid != 0 {
		child.ClearChildTID = o.ChildTID
	}
	tg.pid = child.tid
	tg.leader = child
	tg.tasks = []*Task{child}
	// The parent keeps its own copy: the child clears the field when it
	// closes the channel.
	var vforkDone chan struct{}
	if f&CloneVfork != 0 {
		tg.vforkDone = make(chan struct{})
		vforkDone = tg.vforkDone
	}

	k.sigMu.Lock()
	child.sched = t.sched.forFork()
	parent := t.tg
	if f&CloneParent != 0 && t.tg.parent != nil {
		parent = t.tg.parent
	}
	tg.parent = parent
	tg.pgid, tg.sid = t.tg.pgid, t.tg.sid
	parent.children[tg] = struct{}{}
	k.sigMu.Unlock()

	if f&CloneParentSettid != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(child.tid))
		t.CopyOut(o.ParentTID, b[:])
	}
	ready := make(chan error, 1)
	k.startTask(child, func() error {
		m, err := mm.NewFromSnapshot(k.Platform, k.MemFile, snap)
		if err != nil {
			return err
		}
		child.mm = m
		if child.ctx, err = k.Platform.NewContext(); err != nil {
			return err
		}
		if f&CloneChildSettid != 0 {
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], uint32(child.tid))
			child.CopyOut(o.ChildTID, b[:])
		}
		return nil
	}, ready)
	if err := <-ready; err != nil {
		return 0, unix.ENOMEM
	}
	if vforkDone != nil {
		// The parent waits until the child execs or exits; like Linux it
		// can only be killed meanwhile (signals wait until vfork returns).
		for waiting := true; waiting; {
			select {
			case <-vforkDone:
				waiting = false
			case <-time.After(10 * time.Millisecond):
				waiting = !t.tg.isExiting()
			}
		}
	}
	return child.tid, nil
}

// cloneThread creates a thread in the caller's process, sharing its address
// space, descriptors, filesystem context and signal actions.
func (t *Task) cloneThread(o CloneOptions) (int, error) {
	k := t.k
	if !k.reserveTask() {
		return 0, unix.EAGAIN
	}
	tg := t.tg
	child := &Task{
		k: k, tg: tg, regs: t.regs, tid: k.allocTID(), mm: t.mm,
		Creds: t.Creds, Image: t.Image, ExePath: t.ExePath,
		SigMask: t.SigMask, name: t.name, interruptCh: make(chan struct{}, 1),
	}
	child.regs.Rax = 0
	if o.Stack != 0 {
		child.regs.Rsp = uint64(o.Stack)
	}
	if o.Flags&CloneSettls != 0 {
		child.regs.Fs_base = uint64(o.TLS)
	}
	if o.Flags&CloneChildCleartid != 0 {
		child.ClearChildTID = o.ChildTID
	}
	k.sigMu.Lock()
	if tg.exiting {
		k.sigMu.Unlock()
		k.mu.Lock()
		k.ntasks--
		k.mu.Unlock()
		return 0, unix.EAGAIN
	}
	tg.tasks = append(tg.tasks, child)
	tg.joinGroupStopLocked(child)
	child.sched = t.sched
	k.sigMu.Unlock()
	t.mm.IncUsers()
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(child.tid))
	if o.Flags&CloneParentSettid != 0 {
		t.CopyOut(o.ParentTID, b[:])
	}
	if o.Flags&CloneChildSettid != 0 {
		t.CopyOut(o.ChildTID, b[:])
	}
	ready := make(chan error, 1)
	k.startTask(child, func() error {
		var err error
		child.ctx, err = k.Platform.NewContext()
		return err
	}, ready)
	if err := <-ready; err != nil {
		return 0, unix.ENOMEM
	}
	return child.tid, nil
}

// killOtherThreads ends every other thread of the caller's process and
// waits for them to go (execve from a multi-threaded process).
func (t *Task) killOtherThreads() {
	k := t.k
	for {
		k.sigMu.Lock()
		others := make([]*Task, 0, len(t.tg.tasks))
		for _, x := range t.tg.tasks {
			if x != t {
				x.killThread = true
				others = append(others, x)
			}
		}
		k.sigMu.Unlock()
		if len(others) == 0 {
			return
		}
		for _, x := range others {
			x.Interrupt()
		}
		time.Sleep(time.Millisecond)
	}
}

func (k *Kernel) isDying() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.dying
}

// reserveTask counts a new task against the sandbox's limit.
func (k *Kernel) reserveTask() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.MaxTasks > 0 && k.ntasks >= k.MaxTasks {
		return false
	}
	k.ntasks++
	return true
}

// startTask runs t on its own goroutine, locked to an OS thread (the
// platform's tracer), after setup has made its address space there.
// ready receives setup's result.
func (k *Kernel) startTask(t *Task, setup func() error, ready chan<- error) {
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		// Never unlocked: when the goroutine ends, Go ends the thread,
		// and the stub (whose tracer it is) with it.
		runtime.LockOSThread()
		if err := setup(); err != nil {
			ready <- err
			k.mu.Lock()
			k.ntasks--
			k.mu.Unlock()
			t.tg.exitWith(ExitStatus{Signo: int(unix.SIGKILL)})
			t.tg.finish(t)
			return
		}
		k.register(t)
		ready <- nil
		t.run()
	}()
}

// Fork returns a copy of the working directory, root and umask.
func (f *FSContext) Fork() *FSContext {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &FSContext{root: f.root, cwd: f.cwd, umask: f.umask}
}

// exitTask ends the calling task: its resources go, and the last thread's
// exit ends the process.
func (t *Task) exitTask() {
	k := t.k
	t.exitRobustList()
	// The thread id goes before the clear-tid word is cleared: a joiner
	// woken by it must find the thread gone (tgkill ESRCH).
	k.unregister(t)
	if t.ClearChildTID != 0 && t.mm != nil {
		var z [4]byte
		if _, err := t.mm.CopyOut(t.ClearChildTID, z[:]); err == nil {
			if key, err := t.FutexKey(t.ClearChildTID, false); err == nil {
				k.Futexes.Wake(key, 1, ^uint32(0))
			}
		}
	}
	t.tg.finish(t)
	k.mu.Lock()
	k.ntasks--
	k.mu.Unlock()
}

// finish removes t from its group and, with the last thread, ends the
// process: it becomes a zombie for its parent to reap.
func (tg *ThreadGroup) finish(t *Task) {
	k := tg.k
	thread, space := t.exitingUsage()
	k.sigMu.Lock()
	for i, x := range tg.tasks {
		if x == t {
			tg.tasks = append(tg.tasks[:i], tg.tasks[i+1:]...)
			break
		}
	}
	tg.usage.add(thread)
	last := len(tg.tasks) == 0
	if last && !tg.exiting {
		tg.exiting = true
		tg.exit = ExitStatus{Code: t.exitCode}
	}
	if last {
		tg.exitUsage = tg.usage
		tg.exitUsage.add(space)
	}
	stopDone := tg.leaveGroupStopLocked(t)
	stopSig := int32(tg.stopSig)
	k.sigMu.Unlock()
	if stopDone {
		tg.notifyParentCldStop(CLDStopped, stopSig)
	}
	t.release()
	if !last {
		if t.k.Tracer != nil {
			t.k.Tracer.Exit(t, ExitStatus{Code: t.exitCode})
		}
		return
	}
	tg.FDTable.Release()
	tg.deleteAllTimers(true)
	tg.releaseControllingTTY()
	if t.k.Tracer != nil {
		t.k.Tracer.Exit(t, tg.exit)
	}

	k.sigMu.Lock()
	st := tg.exit
	init := k.initTG
	// Orphans go to init; init's own death ends the sandbox. Children that
	// asked for a parent-death signal get it.
	var pdeath []*ThreadGroup
	children := make([]*ThreadGroup, 0, len(tg.children))
	for c := range tg.children {
		children = append(children, c)
		if c.pdeathSignal != 0 && !c.zombie {
			pdeath = append(pdeath, c)
		}
		if init != nil && init != tg {
			c.parent = init
			init.children[c] = struct{}{}
		} else {
			c.parent = nil
		}
	}
	if init != nil && init != tg && len(tg.children) > 0 {
		init.notifyChildLocked()
	}
	tg.children = make(map[*ThreadGroup]struct{})
	parent := tg.parent
	autoreap := parent == nil
	if parent != nil {
		a := parent.SigAction(int(unix.SIGCHLD), nil)
		if a.Handler == SigIgn || a.Flags&saNoCldWait != 0 {
			autoreap = true
		}
	}
	if autoreap {
		if parent != nil {
			delete(parent.children, tg)
		}
		defer k.forgetTG(tg)
	} else {
		tg.zombie = true
	}
	if tg.vforkDone != nil {
		close(tg.vforkDone)
		tg.vforkDone = nil
	}
	if parent != nil {
		parent.notifyChildLocked()
	}
	isInit := tg == init
	pgid, sid := tg.pgid, tg.sid
	k.sigMu.Unlock()
	if !isInit {
		k.orphanedByExit(parent, pgid, sid, children)
	}

	for _, c := range pdeath {
		c.SendSignal(SigInfo{Signo: int32(c.pdeathSignal), Code: SIUser, PID: int32(tg.pid)})
	}
	if parent != nil && tg.exitSignal > 0 {
		info := SigInfo{Signo: int32(tg.exitSignal), PID: int32(tg.pid), UID: t.Creds.RUID}
		info.Code, info.Status = ChildStatus(st)
		parent.SendSignal(info)
	}
	if isInit {
		k.killAll()
	}
}

// ChildStatus returns the CLD_* code and status of a finished process, as
// SIGCHLD's siginfo and waitid(2) report them.
func ChildStatus(st ExitStatus) (int32, int32) {
	switch {
	case st.Signo != 0 && st.Core:
		return CLDDumped, int32(st.Signo)
	case st.Signo != 0:
		return CLDKilled, int32(st.Signo)
	}
	return CLDExited, int32(st.Code)
}

// notifyChildLocked wakes waiters for a child state change. Called with
// k.sigMu held.
func (tg *ThreadGroup) notifyChildLocked() {
	close(tg.childEvent)
	tg.childEvent = make(chan struct{})
}

// killAll ends every process in the sandbox (init has exited). Tasks that
// are still being created see k.dying when they register and die at once.
func (k *Kernel) killAll() {
	k.mu.Lock()
	k.dying = true
	k.mu.Unlock()
	for _, t := range k.Tasks() {
		t.tg.Kill(int(unix.SIGKILL))
	}
}

// wait(2) options.
const (
	WNohang    = 0x1
	WUntraced  = 0x2
	WExited    = 0x4
	WContinued = 0x8
	WNowait    = 0x01000000
	WNothread  = 0x20000000
	WAll       = 0x40000000
	WClone     = 0x80000000
)

// WaitResult describes a reaped (or, with WNOWAIT, observed) child, or a
// stop or continue report.
type WaitResult struct {
	PID int
	UID uint32
	// Code is CLDStopped or CLDContinued for those reports, 0 for an
	// exit, whose status is Status; StopSig is the stop signal.
	Code    int32
	Status  ExitStatus
	StopSig int
	// Usage is the child's resource usage, its reaped children's
	// included.
	Usage Rusage
}

// WaitStatus encodes the result as wait(2)'s int status.
func (r WaitResult) WaitStatus() uint32 {
	switch r.Code {
	case CLDStopped:
		return uint32(r.StopSig)<<8 | 0x7f
	case CLDContinued:
		return 0xffff
	}
	return r.Status.WaitStatus()
}

// ChildStatus returns the si_code and si_status waitid(2) reports.
func (r WaitResult) ChildStatus() (int32, int32) {
	switch r.Code {
	case CLDStopped:
		return CLDStopped, int32(r.StopSig)
	case CLDContinued:
		return CLDContinued, int32(unix.SIGCONT)
	}
	return ChildStatus(r.Status)
}

// WaitStatus encodes st as wait(2)'s int status.
func (st ExitStatus) WaitStatus() uint32 {
	if st.Signo != 0 {
		s := uint32(st.Signo)
		if st.Core {
			s |= 0x80
		}
		return s
	}
	return uint32(st.Code&0xff) << 8
}

// Wait waits for a child matching sel (wait4's pid: >0 that pid, -1 any,
// 0 the caller's process group, < -1 that group) to finish (WEXITED), stop
// (WUNTRACED) or continue (WCONTINUED), as opts ask. With WNOHANG and
// nothing ready it returns a zero result.
func (t *Task) Wait(sel int, opts int) (WaitResult, error) {
	k := t.k
	for {
		k.sigMu.Lock()
		found := false
		for c := range t.tg.children {
			switch {
			case sel > 0 && c.pid != sel:
				continue
			case sel == 0 && c.pgid != t.tg.pgid:
				continue
			case sel < -1 && c.pgid != -sel:
				continue
			}
			// Children with an exit signal other than SIGCHLD are "clone"
			// children: only __WCLONE or __WALL waits see them.
			clone := c.exitSignal != int(unix.SIGCHLD)
			if opts&WAll == 0 && clone != (opts&WClone != 0) {
				continue
			}
			found = true
			r := WaitResult{PID: c.pid}
			if c.leader != nil {
				r.UID = c.leader.Creds.RUID
			}
			consume := opts&WNowait == 0
			switch {
			case c.zombie:
				if opts&WExited == 0 {
					continue
				}
				r.Status = c.exit
				r.Usage = c.exitUsage
				r.Usage.add(c.childUsage)
				if consume {
					delete(t.tg.children, c)
					c.zombie = false
					t.tg.childUsage.add(r.Usage)
					k.sigMu.Unlock()
					k.forgetTG(c)
					return r, nil
				}
				k.sigMu.Unlock()
				return r, nil
			case opts&WUntraced != 0 && c.groupStopped && c.stopSig != 0 && !c.exiting:
				r.Code, r.StopSig = CLDStopped, c.stopSig
				if consume {
					c.stopSig = 0
				}
			case opts&WContinued != 0 && c.contReport && !c.exiting:
				r.Code = CLDContinued
				if consume {
					c.contReport = false
				}
			default:
				continue
			}
			k.sigMu.Unlock()
			r.Usage = c.liveUsage(nil)
			k.sigMu.Lock()
			r.Usage.add(c.childUsage)
			k.sigMu.Unlock()
			return r, nil
		}
		if !found {
			k.sigMu.Unlock()
			return WaitResult{}, unix.ECHILD
		}
		if opts&WNohang != 0 {
			k.sigMu.Unlock()
			return WaitResult{}, nil
		}
		ch := t.tg.childEvent
		k.sigMu.Unlock()
		if err := t.Block(ch, time.Time{}); err != nil {
			return WaitResult{}, err
		}
	}
}

// Parent returns the parent process's pid in the sandbox, 0 for init.
func (tg *ThreadGroup) Parent() int {
	tg.k.sigMu.Lock()
	defer tg.k.sigMu.Unlock()
	if tg.parent == nil {
		return 0
	}
	return tg.parent.pid
}

// ProcessGroup returns the process group id.
func (tg *ThreadGroup) ProcessGroup() int {
	tg.k.sigMu.Lock()
	defer tg.k.sigMu.Unlock()
	return tg.pgid
}

// Session returns the session id.
func (tg *ThreadGroup) Session() int {
	tg.k.sigMu.Lock()
	defer tg.k.sigMu.Unlock()
	return tg.sid
}

// ThreadGroupByPID returns the live (or zombie) process pid.
func (k *Kernel) ThreadGroupByPID(pid int) (*ThreadGroup, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tg, ok := k.tgs[pid]
	return tg, ok
}

// forgetTG drops a reaped (or auto-reaped) process from the pid table.
func (k *Kernel) forgetTG(tg *ThreadGroup) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tgs[tg.pid] == tg {
		delete(k.tgs, tg.pid)
	}
}

// SetPGID implements setpgid(2) for the caller or one of its children.
func (t *Task) SetPGID(pid, pgid int) error {
	k := t.k
	target := t.tg
	if pid != 0 && pid != t.tg.pid {
		tg, ok := k.ThreadGroupByPID(pid)
		if !ok {
			return unix.ESRCH
		}
		k.sigMu.Lock()
		isChild := tg.parent == t.tg
		k.sigMu.Unlock()
		if !isChild {
			return unix.ESRCH
		}
		target = tg
	}
	if pgid < 0 {
		return unix.EINVAL
	}
	if pgid == 0 {
		pgid = target.pid
	}
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	if target != t.tg && target.execed {
		return unix.EACCES // the child has called execve
	}
	if target.sid == target.pid {
		return unix.EPERM // a session leader
	}
	if target.sid != t.tg.sid {
		return unix.EPERM
	}
	if pgid != target.pid {
		// The group must exist in the caller's session.
		ok := false
		for _, x := range k.Tasks() {
			if x.tg.pgid == pgid && x.tg.sid == t.tg.sid {
				ok = true
				break
			}
		}
		if !ok {
			return unix.EPERM
		}
	}
	target.pgid = pgid
	return nil
}

// SetSID implements setsid(2).
func (t *Task) SetSID() (int, error) {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	for _, x := range k.Tasks() {
		if x.tg != t.tg && x.tg.pgid == t.tg.pid {
			return 0, unix.EPERM
		}
	}
	if t.tg.pgid == t.tg.pid {
		return 0, unix.EPERM
	}
	t.tg.sid, t.tg.pgid = t.tg.pid, t.tg.pid
	return t.tg.pid, nil
}

// ProcessGroupMembers returns the processes in group pgid.
func (k *Kernel) ProcessGroupMembers(pgid int) []*ThreadGroup {
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	var out []*ThreadGroup
	for _, t := range k.Tasks() {
		// A process whose last thread has finished but is not yet
		// unregistered is a zombie or already reaped: either way not a
		// member to signal.
		if t.tg.leader == t && t.tg.pgid == pgid && !t.tg.zombie && len(t.tg.tasks) > 0 {
			out = append(out, t.tg)
		}
	}
	return out
}

// AllProcesses returns every live process.
func (k *Kernel) AllProcesses() []*ThreadGroup {
	var out []*ThreadGroup
	for _, t := range k.Tasks() {
		if t.tg.leader == t {
			out = append(out, t.tg)
		}
	}
	return out
}

// execDone lets a vfork parent go on after the child's successful exec.
func (t *Task) execDone() {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	t.tg.execed = true
	if t.tg.vforkDone != nil {
		close(t.tg.vforkDone)
		t.tg.vforkDone = nil
	}
}

// SignalForeground sends sig, from outside the sandbox, to the foreground
// process group: that of init's terminal, or init's own group.
func (k *Kernel) SignalForeground(sig int) {
	k.sigMu.Lock()
	pgid := k.foregroundGroupLocked()
	k.sigMu.Unlock()
	if pgid == 0 {
		return
	}
	for _, tg := range k.ProcessGroupMembers(pgid) {
		tg.SendSignal(SigInfo{Signo: int32(sig), Code: SIUser})
	}
}

// Prctl holds the prctl(2) state of a process.
type Prctl struct {
	PdeathSignal int
	Dumpable     bool
	NoNewPrivs   bool
	Subreaper    bool
}

// PrctlState returns the process's prctl state.
func (tg *ThreadGroup) PrctlState() Prctl {
	tg.k.sigMu.Lock()
	defer tg.k.sigMu.Unlock()
	return Prctl{tg.pdeathSignal, tg.dumpable, tg.noNewPrivs, tg.subreaper}
}

// SetPrctlState replaces the process's prctl state.
func (tg *ThreadGroup) SetPrctlState(p Prctl) {
	tg.k.sigMu.Lock()
	defer tg.k.sigMu.Unlock()
	tg.pdeathSignal, tg.dumpable, tg.noNewPrivs, tg.subreaper = p.PdeathSignal, p.Dumpable, p.NoNewPrivs, p.Subreaper
}

// Robust futex bits (futex(2)).
const (
	futexWaiters   = 0x80000000
	futexOwnerDied = 0x40000000
	futexTIDMask   = 0x3fffffff
	robustListMax  = 2048
)

// exitRobustList marks the robust futexes the dying thread holds as owned
// by a dead thread and wakes a waiter of each (set_robust_list(2)).
func (t *Task) exitRobustList() {
	if t.RobustList == 0 || t.mm == nil {
		return
	}
	le := binary.LittleEndian
	read64 := func(a uintptr) (uint64, bool) {
		var b [8]byte
		_, err := t.mm.CopyIn(a, b[:])
		return le.Uint64(b[:]), err == nil
	}
	head := t.RobustList
	next, ok1 := read64(head)
	off, ok2 := read64(head + 8)
	pending, ok3 := read64(head + 16)
	if !ok1 || !ok2 || !ok3 {
		return
	}
	handle := func(entry uint64) {
		word := uintptr(int64(entry) + int64(off))
		var b [4]byte
		if _, err := t.mm.CopyIn(word, b[:]); err != nil {
			return
		}
		v := le.Uint32(b[:])
		if int(v&futexTIDMask) != t.tid {
			return
		}
		le.PutUint32(b[:], v&futexWaiters|futexOwnerDied)
		if _, err := t.mm.CopyOut(word, b[:]); err != nil {
			return
		}
		if v&futexWaiters != 0 {
			if key, err := t.FutexKey(word, false); err == nil {
				t.k.Futexes.Wake(key, 1, ^uint32(0))
			}
			if key, err := t.FutexKey(word, true); err == nil {
				t.k.Futexes.Wake(key, 1, ^uint32(0))
			}
		}
	}
	for i := 0; next != uint64(head) && next != 0 && i < robustListMax; i++ {
		entry := next
		n, ok := read64(uintptr(entry))
		if !ok {
			break
		}
		if entry != pending {
			handle(entry)
		}
		next = n
	}
	if pending != 0 {
		handle(pending)
	}
}
