package kernel

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/platform"
	"sbx/sentry/loader"
	"sbx/sentry/mm"
)

// Credentials are a task's user and group ids.
type Credentials struct {
	RUID, EUID, SUID uint32
	RGID, EGID, SGID uint32
	Groups           []uint32
}

// Resource limit numbers, from asm-generic/resource.h.
const (
	RlimitCPU        = 0
	RlimitFsize      = 1
	RlimitData       = 2
	RlimitStack      = 3
	RlimitCore       = 4
	RlimitRss        = 5
	RlimitNproc      = 6
	RlimitNofile     = 7
	RlimitMemlock    = 8
	RlimitAS         = 9
	RlimitLocks      = 10
	RlimitSigpending = 11
	RlimitMsgqueue   = 12
	RlimitNice       = 13
	RlimitRtprio     = 14
	RlimitRttime     = 15
	RlimitCount      = 16
)

// RlimInfinity is RLIM64_INFINITY.
const RlimInfinity = ^uint64(0)

// Rlimit is one resource limit.
type Rlimit struct{ Cur, Max uint64 }

// defaultLimits are Linux's defaults for a new login (init's limits).
var defaultLimits = [RlimitCount]Rlimit{
	RlimitCPU:        {RlimInfinity, RlimInfinity},
	RlimitFsize:      {RlimInfinity, RlimInfinity},
	RlimitData:       {RlimInfinity, RlimInfinity},
	RlimitStack:      {8 << 20, RlimInfinity},
	RlimitCore:       {0, RlimInfinity},
	RlimitRss:        {RlimInfinity, RlimInfinity},
	RlimitNproc:      {63704, 63704},
	RlimitNofile:     {1024, 524288},
	RlimitMemlock:    {8 << 20, 8 << 20},
	RlimitAS:         {RlimInfinity, RlimInfinity},
	RlimitLocks:      {RlimInfinity, RlimInfinity},
	RlimitSigpending: {63704, 63704},
	RlimitMsgqueue:   {819200, 819200},
	RlimitNice:       {0, 0},
	RlimitRtprio:     {0, 0},
	RlimitRttime:     {RlimInfinity, RlimInfinity},
}

// SigAction is a recorded struct sigaction (kernel layout).
type SigAction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     uint64
}

// Signal dispositions.
const (
	SigDfl = 0
	SigIgn = 1
)

// NumSignals is the number of signals (1..64).
const NumSignals = 64

// SignalStack is a recorded sigaltstack (stack_t).
type SignalStack struct {
	Sp    uint64
	Flags int32
	Size  uint64
}

// FSContext is a process's root, working directory and umask.
type FSContext struct {
	mu        sync.Mutex // guards root, cwd and umask
	root, cwd vfs.VirtualDentry
	umask     uint32
}

// Root returns the root directory.
func (f *FSContext) Root() vfs.VirtualDentry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.root
}

// Cwd returns the working directory.
func (f *FSContext) Cwd() vfs.VirtualDentry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cwd
}

// SetCwd changes the working directory.
func (f *FSContext) SetCwd(vd vfs.VirtualDentry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cwd = vd
}

// SetRoot changes the root directory (chroot).
func (f *FSContext) SetRoot(vd vfs.VirtualDentry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.root = vd
}

// SwapUmask sets the umask and returns the old one.
func (f *FSContext) SwapUmask(m uint32) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.umask
	f.umask = m & 0o777
	return old
}

// Umask returns the umask.
func (f *FSContext) Umask() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.umask
}

// ThreadGroup is a process.
type ThreadGroup struct {
	k      *Kernel
	pid    int
	leader *Task

	// FDTable is the process's descriptor table.
	FDTable *vfs.FDTable
	// FS is the process's root, working directory and umask.
	FS *FSContext

	mu sync.Mutex // guards limits, actions and timers
	// timers are the process's POSIX timers and ITIMER_REAL (made on
	// first use).
	timers *timers
	// limits are the resource limits.
	limits [RlimitCount]Rlimit
	// actions are the signal actions, indexed by signal number - 1.
	actions [NumSignals]SigAction

	// The fields below are guarded by Kernel.sigMu.

	// tasks are the live threads.
	tasks []*Task
	// parent is the process that waits for this one; nil for init.
	parent *ThreadGroup
	// children are the live and zombie child processes.
	children map[*ThreadGroup]struct{}
	// pending holds the process-directed pending signals.
	pending sigPending
	// sigQueued, when not nil, is closed at the next signal queued to the
	// process or one of its threads (see SignalQueued).
	sigQueued chan struct{}
	// exiting is set once the group is going away; exit is its status.
	exiting bool
	exit    ExitStatus
	// zombie is set when the last thread has gone and the parent has not
	// reaped the process yet.
	zombie bool
	// exitSignal is sent to the parent when the process ends (SIGCHLD).
	exitSignal int
	// pgid and sid are the process group and session.
	pgid, sid int
	// childEvent is closed (and replaced) when a child changes state.
	childEvent chan struct{}
	// vforkDone is closed when a vfork child execs or exits.
	vforkDone chan struct{}
	// stopCount counts the threads yet to stop in a group stop in
	// progress; groupStopped is set once they all have (Linux's
	// SIGNAL_STOP_STOPPED). stopSig is the stop signal, reported once to
	// wait(WUNTRACED) (group_exit_code); contReport is a continue not yet
	// reported to wait(WCONTINUED) (SIGNAL_STOP_CONTINUED). See jobctl.go.
	stopCount    int
	groupStopped bool
	stopSig      int
	contReport   bool
	// usage is the resource usage of exec'd address spaces and exited
	// threads, exitUsage the process's own usage once it has ended, and
	// childUsage that of its reaped children (see rusage.go).
	usage, exitUsage, childUsage Rusage
	// execed is set once the process has called execve (setpgid on it
	// from its parent then fails with EACCES).
	execed bool
	// pdeathSignal, dumpable, noNewPrivs and subreaper are prctl(2)
	// state.
	pdeathSignal int
	dumpable     bool
	noNewPrivs   bool
	subreaper    bool
}

func newThreadGroup(k *Kernel) *ThreadGroup {
	return &ThreadGroup{
		k: k, FDTable: &vfs.FDTable{}, FS: &FSContext{umask: 0o022}, limits: defaultLimits,
		children: make(map[*ThreadGroup]struct{}), childEvent: make(chan struct{}), exitSignal: int(unix.SIGCHLD),
		dumpable: true,
	}
}

// PID is the thread group's id in the sandbox's PID namespace.
func (tg *ThreadGroup) PID() int { return tg.pid }

// Limit returns a resource limit.
func (tg *ThreadGroup) Limit(r int) Rlimit {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.limits[r]
}

// SetLimit replaces a resource limit and returns the old one. privileged says
// whether the caller may raise the hard limit (CAP_SYS_RESOURCE).
func (tg *ThreadGroup) SetLimit(r int, l *Rlimit, privileged bool) (Rlimit, error) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	old := tg.limits[r]
	if l == nil {
		return old, nil
	}
	if l.Cur > l.Max {
		return old, unix.EINVAL
	}
	if l.Max > old.Max && !privileged {
		return old, unix.EPERM
	}
	if r == RlimitNofile && l.Max > 1<<20 {
		return old, unix.EPERM // above fs.nr_open
	}
	tg.limits[r] = *l
	return old, nil
}

// SigAction returns and optionally replaces the action for sig.
func (tg *ThreadGroup) SigAction(sig int, act *SigAction) SigAction {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	old := tg.actions[sig-1]
	if act != nil {
		tg.actions[sig-1] = *act
	}
	return old
}

// Task is a thread.
type Task struct {
	k   *Kernel
	tg  *ThreadGroup
	tid int
	mm  *mm.MemoryManager
	ctx platform.Context
	// regs are the task's registers while it is in the sentry.
	regs platform.Registers

	// The fields below are touched only by the task's own goroutine.

	// Creds are the task's credentials.
	Creds Credentials
	// Image describes the loaded program.
	Image *loader.Image
	// SigMask is the blocked signal set (change it with SetSigMask).
	SigMask uint64
	// pending holds the thread-directed pending signals; guarded by
	// Kernel.sigMu.
	pending sigPending
	// interruptCh wakes the task from a blocking wait.
	interruptCh chan struct{}
	// savedFP is a stack of FP states saved by signal delivery, restored
	// by rt_sigreturn.
	savedFP [][]byte
	// savedMask is the mask to restore after a rt_sigsuspend-like wait.
	savedMask    uint64
	hasSavedMask bool
	// AltStack is the alternate signal stack.
	AltStack SignalStack
	// ClearChildTID is set_tid_address's pointer.
	ClearChildTID uintptr
	// RobustList and RobustListLen are set_robust_list's arguments.
	RobustList    uintptr
	RobustListLen uintptr
	// ExePath is the path of the running executable in the sandbox.
	ExePath string
	// exe is the running executable's inode (writes to it give ETXTBSY).
	exe    vfs.Inode
	name   string
	exited bool
	// exitCode is the thread's own exit code (exit(2)).
	exitCode int
	// inSigreturn marks the syscall being rt_sigreturn (no restart rules).
	inSigreturn bool
	// killThread asks the thread alone to exit (execve of another thread);
	// guarded by Kernel.sigMu.
	killThread bool
	// stopPending says the thread must take part in a group stop, stopped
	// that it has and waits for SIGCONT; guarded by Kernel.sigMu.
	stopPending, stopped bool
	// minFlt counts the page faults the sentry resolved for the thread.
	minFlt atomic.Uint64
	// sched is the scheduling policy and priority; guarded by
	// Kernel.sigMu.
	sched SchedAttr
	// hostTID is the host thread the task's goroutine is locked to (0
	// while it waits off it, see hostthread.go); sTimeStart is that
	// thread's CPU clock when the task took it, sTimeDone the CPU time the
	// task used on threads it has left. Guarded by Kernel.mu; hostTID is
	// also read without it by the task itself.
	hostTID               int
	sTimeStart, sTimeDone time.Duration
	startTime             time.Duration
}

// Kernel returns the task's kernel.
func (t *Task) Kernel() *Kernel { return t.k }

// ThreadGroup returns the task's process.
func (t *Task) ThreadGroup() *ThreadGroup { return t.tg }

// TID is the thread id in the sandbox's PID namespace.
func (t *Task) TID() int { return t.tid }

// MemoryManager returns the task's address space.
func (t *Task) MemoryManager() *mm.MemoryManager { return t.mm }

// Regs returns the task's registers.
func (t *Task) Regs() *platform.Registers { return &t.regs }

// Name returns the task's comm.
func (t *Task) Name() string { return t.name }

// SetName sets the comm, truncated to 15 bytes as Linux does.
func (t *Task) SetName(n string) {
	if len(n) > 15 {
		n = n[:15]
	}
	t.name = n
}

// FSCreds returns the task's filesystem credentials.
func (t *Task) FSCreds() *vfs.Creds {
	return &vfs.Creds{UID: t.Creds.EUID, GID: t.Creds.EGID, Groups: t.Creds.Groups}
}

// VFSContext returns the context of a VFS operation made by the task.
func (t *Task) VFSContext() *vfs.Context {
	fs := t.tg.FS
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return &vfs.Context{Creds: t.FSCreds(), Root: fs.root, Cwd: fs.cwd, Umask: fs.umask}
}

// CPUTime is the CPU time the task's application code has used.
func (t *Task) CPUTime() time.Duration { return t.ctx.CPUTime() }

// CopyIn copies application memory into dst.
func (t *Task) CopyIn(addr uintptr, dst []byte) (int, error) { return t.mm.CopyIn(addr, dst) }

// CopyOut copies src into application memory.
func (t *Task) CopyOut(addr uintptr, src []byte) (int, error) { return t.mm.CopyOut(addr, src) }

// run is the task's life: switch into the application, serve what comes
// back, deliver signals, until the task exits.
func (t *Task) run() {
	for !t.exited && !t.tg.isExiting() && !t.threadKilled() {
		// Looked up each time: execve replaces the address space.
		epoch := t.mm.Epoch()
		ev, err := t.ctx.Switch(t.mm.AddressSpace(), &t.regs)
		if err != nil {
			t.k.Log.Error("platform failure, killing the process", "tid", t.tid, "err", err)
			t.tg.Kill(int(unix.SIGKILL))
			break
		}
		t.checkCPUTimers()
		afterSyscall := false
		switch ev.Kind {
		case platform.EventSyscall:
			t.k.Syscalls.Syscall(t)
			afterSyscall = !t.inSigreturn
			t.inSigreturn = false
		case platform.EventFault:
			f, err := t.mm.HandleFault(ev.Addr, epoch)
			if err != nil {
				// Out of memory file: Linux's OOM answer is SIGKILL.
				t.k.Log.Warn("cannot populate page", "addr", ev.Addr, "err", err)
				t.tg.Kill(int(unix.SIGKILL))
			} else if f.Signo != 0 {
				t.forceSignal(f.Signo, f.Code, ev.Addr)
			} else {
				t.minFlt.Add(1)
			}
		case platform.EventSignal:
			t.forceSignal(ev.Signo, ev.Code, ev.Addr)
		case platform.EventInterrupted:
		}
		if t.exited {
			break
		}
		t.deliverSignals(afterSyscall)
	}
	t.exitTask()
}

func (t *Task) threadKilled() bool {
	t.k.sigMu.Lock()
	defer t.k.sigMu.Unlock()
	return t.killThread
}

func (t *Task) release() {
	// Signals left pending for the thread go with it (a timer aimed at it
	// is then free to signal again).
	t.k.sigMu.Lock()
	t.pending.discard(^uint64(0))
	t.k.sigMu.Unlock()
	if t.exe != nil {
		vfs.AllowWriteAccess(t.exe)
		t.exe = nil
	}
	if t.ctx != nil {
		t.ctx.Release()
	}
	if t.mm != nil {
		t.mm.Release()
	}
}
