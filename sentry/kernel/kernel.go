// Package kernel owns the sentry's model of processes: the Kernel, thread
// groups (processes) and tasks (threads), their credentials, resource limits,
// signal state and the futex table, and the loop that runs a task on the
// platform and routes each event (syscall, fault, signal) to its handler.
//
// Syscall meaning lives in syscalls/, which the kernel reaches only through
// the SyscallHandler it is given; this package must not import syscalls/ or
// runsc/.
package kernel

import (
	"errors"
	"strings"

	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"sbx/fs/tty"
	"sbx/fs/vfs"
	"sbx/platform"
	"sbx/sentry/kernel/shm"
	"sbx/sentry/loader"
	"sbx/sentry/memfile"
	"sbx/sentry/mm"
)

// SyscallHandler serves the syscall whose number and arguments are in the
// task's registers, writing the result back into them.
type SyscallHandler interface {
	Syscall(t *Task)
}

// Tracer is told of events strace shows besides syscalls.
type Tracer interface {
	// Signal reports a signal taking effect on t.
	Signal(t *Task, sig, code int, addr uintptr)
	// Exit reports the end of t's thread group.
	Exit(t *Task, st ExitStatus)
}

// Kernel is one sandbox's kernel.
type Kernel struct {
	Platform platform.Platform
	MemFile  *memfile.File
	Syscalls SyscallHandler
	// Tracer, if not nil, is told of signals and exits.
	Tracer Tracer
	Log    *slog.Logger
	// Hostname and Domainname are the sandbox's own, for uname(2).
	Hostname, Domainname string
	// VFS is the sandbox's filesystem (nil when it has none).
	VFS *vfs.VFS
	// Futexes is the futex table.
	Futexes *FutexTable
	// StartTime is when the kernel booted, for CLOCK_BOOTTIME-like answers.
	StartTime time.Time
	// Shm is the System V shared memory of the sandbox's IPC namespace.
	Shm *shm.Registry

	// MaxTasks bounds the number of tasks (--pids-limit); 0 means none.
	MaxTasks int

	// sigMu guards every task's and thread group's pending signals, the
	// process tree (parents, children, task lists) and exit state. Lock
	// order: sigMu before ThreadGroup.mu; never held while blocking.
	sigMu sync.Mutex
	// initTG is the first process (pid 1); guarded by sigMu.
	initTG *ThreadGroup
	// cttys are the controlling terminals by session id; guarded by sigMu.
	cttys map[int]*tty.Terminal
	// ttyOldPgrp is, by session id, the foreground group its terminal had
	// when the terminal was hung up; it gets SIGHUP and SIGCONT when the
	// session leader exits. Guarded by sigMu.
	ttyOldPgrp map[int]int
	// wg counts running task goroutines.
	wg sync.WaitGroup

	// mu guards nextTID, ntasks, tasks, byHostTID, tgs, dying. It is taken
	// after sigMu, never before: code holding sigMu walks the tasks through
	// Tasks(), not the map.
	mu      sync.Mutex
	nextTID int
	ntasks  int
	// dying is set once init has exited: every task is being killed.
	dying bool
	// tasks are the live tasks by tid.
	tasks map[int]*Task
	// byHostTID finds the task running on a host thread (each task's
	// goroutine is locked to one while it runs; see hostthread.go).
	byHostTID map[int]*Task
	// tgs are the processes, live or zombie, by pid.
	tgs map[int]*ThreadGroup

	memfd memfdFS
}

// New returns a kernel on the given platform and memory file.
func New(p platform.Platform, mf *memfile.File, sys SyscallHandler, log *slog.Logger) *Kernel {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	k := &Kernel{
		Platform: p, MemFile: mf, Syscalls: sys, Log: log,
		Hostname: "sbx", Domainname: "(none)",
		Futexes: NewFutexTable(), StartTime: time.Now(), nextTID: 1, Shm: shm.NewRegistry(mf),
		tasks: make(map[int]*Task), byHostTID: make(map[int]*Task), tgs: make(map[int]*ThreadGroup),
	}
	vfs.Block = k.block
	return k
}

// block is vfs.Block: an interruptible wait for the calling task.
func (k *Kernel) block(ch <-chan struct{}) error {
	t := k.Current()
	if t == nil {
		<-ch
		return nil
	}
	return t.Block(ch, time.Time{})
}

func (k *Kernel) allocTID() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	tid := k.nextTID
	k.nextTID++
	return tid
}

// ExitStatus is how a thread group ended.
type ExitStatus struct {
	Code  int // exit code when Signo == 0
	Signo int // the signal that killed it, or 0
	Core  bool
}

// ShellStatus is the status a shell would report: the exit code, or 128 plus
// the number of the signal that killed the program.
func (e ExitStatus) ShellStatus() int {
	if e.Signo != 0 {
		return 128 + e.Signo
	}
	return e.Code & 0xff
}

// ProcessOptions describe the first process of a sandbox.
type ProcessOptions struct {
	// File is the executable, opened by the caller; nil to find Path in
	// the sandbox's filesystem, as execve(2) would.
	File       io.ReaderAt
	Path       string
	Argv, Envv []string
	// Stdio are host FDs for descriptors 0, 1 and 2 (owned by the kernel
	// from here on), as files.
	Stdio []*vfs.FileDescription
	Creds Credentials
	// Cwd is the initial working directory ("/" if empty).
	Cwd string
	// TTY, if set, is the controlling terminal of the first process's
	// session, with its group in the foreground (`sbx run -t`).
	TTY *tty.Terminal
}

// ErrLoad wraps errors that stop the program from being loaded at all.
var ErrLoad = errors.New("cannot load program")

// ErrWorkdir wraps a working directory that cannot be entered.
var ErrWorkdir = errors.New("bad working directory")

// Run creates the first process, runs it to completion and returns its exit
// status. The process runs on its own goroutine locked to an OS thread, as the
// platform's tracer must be.
func (k *Kernel) Run(o ProcessOptions) (ExitStatus, error) {
	ready := make(chan error, 1)
	var init *Task
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		// Never unlocked: when this goroutine ends, Go ends the thread,
		// and the stub (whose tracer it is) with it.
		runtime.LockOSThread()
		t, err := k.newInitTask(o)
		if err != nil {
			ready <- err
			return
		}
		init = t
		k.sigMu.Lock()
		k.initTG = t.tg
		if o.TTY != nil {
			k.setCTTYLocked(t.tg.sid, o.TTY, t.tg.pgid)
		}
		k.sigMu.Unlock()
		k.mu.Lock()
		k.ntasks++
		k.mu.Unlock()
		k.register(t)
		ready <- nil
		t.run()
	}()
	if err := <-ready; err != nil {
		k.wg.Wait()
		return ExitStatus{}, err
	}
	// The sandbox ends when init has exited and every other task is gone.
	k.wg.Wait()
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	return init.tg.exit, nil
}

func (k *Kernel) newInitTask(o ProcessOptions) (*Task, error) {
	tg := newThreadGroup(k)
	var ctx *vfs.Context
	if k.VFS != nil {
		root := k.VFS.NS.Root()
		tg.FS.root, tg.FS.cwd = root, root
		ctx = &vfs.Context{Creds: &vfs.Creds{UID: o.Creds.EUID, GID: o.Creds.EGID, Groups: o.Creds.Groups}, Root: root, Cwd: root, Umask: tg.FS.umask}
		if o.Cwd != "" && o.Cwd != "/" {
			cwd, err := k.VFS.Resolve(ctx, root, o.Cwd, vfs.Resolve{})
			if err == nil {
				if st, serr := cwd.Dentry.Inode().Stat(); serr != nil || !st.IsDir() {
					err = unix.ENOTDIR
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%w: working directory %s: %w", ErrWorkdir, o.Cwd, err)
			}
			tg.FS.cwd = cwd
			ctx.Cwd = cwd
		}
	}
	var p *program
	var err error
	stackSize := uintptr(tg.Limit(RlimitStack).Cur)
	if o.File != nil {
		// A program handed in as an open file (no filesystem needed).
		m, merr := mm.New(k.Platform, k.MemFile)
		if merr != nil {
			return nil, fmt.Errorf("creating address space: %w", merr)
		}
		var opener func(string) (io.ReaderAt, vfs.Mappable, error)
		img, lerr := loader.Load(m, loader.Options{
			File: o.File, Path: o.Path, Argv: o.Argv, Envv: o.Envv, OpenInterp: opener,
			Creds:     loader.Credentials{UID: o.Creds.RUID, EUID: o.Creds.EUID, GID: o.Creds.RGID, EGID: o.Creds.EGID},
			StackSize: stackSize,
		})
		if lerr != nil {
			m.Release()
			return nil, fmt.Errorf("%w: %w", ErrLoad, lerr)
		}
		p = &program{mm: m, img: img, exePath: o.Path, name: baseName(o.Path)}
	} else {
		if ctx == nil {
			return nil, fmt.Errorf("%w: no filesystem to find %s in", ErrLoad, o.Path)
		}
		path := o.Path
		if !strings.Contains(path, "/") {
			path = k.lookPath(ctx, path, o.Envv)
		}
		p, err = k.loadProgram(ctx, o.Creds, stackSize, ctx.Cwd, path, o.Argv, o.Envv, false)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrLoad, err)
		}
	}
	for i, f := range o.Stdio {
		if f != nil {
			tg.FDTable.SetFD(i, f, false, int(tg.Limit(RlimitNofile).Cur))
			f.DecRef()
		}
	}
	ctxp, err := k.Platform.NewContext()
	if err != nil {
		p.mm.Release()
		return nil, err
	}
	t := &Task{
		k: k, tg: tg, mm: p.mm, ctx: ctxp, regs: p.img.Registers,
		tid: k.allocTID(), Creds: o.Creds, Image: p.img, ExePath: p.exePath, exe: p.exe,
		interruptCh: make(chan struct{}, 1),
	}
	tg.pid = t.tid
	tg.leader = t
	tg.tasks = []*Task{t}
	tg.pgid, tg.sid = t.tid, t.tid
	t.SetName(p.name)
	return t, nil
}

// defaultPath is searched for a program name without a slash when the
// environment has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds name in the sandbox along the environment's PATH, as a
// shell would; it returns name unchanged when nothing matches.
func (k *Kernel) lookPath(ctx *vfs.Context, name string, env []string) string {
	path := defaultPath
	for _, e := range env {
		if strings.HasPrefix(e, "PATH=") {
			path = e[5:]
		}
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		vd, err := k.VFS.Resolve(ctx, ctx.Cwd, p, vfs.Resolve{})
		if err != nil {
			continue
		}
		if st, err := vd.Dentry.Inode().Stat(); err == nil && st.IsRegular() && vfs.CheckPermission(ctx.Creds, &st, vfs.MayExec) == nil {
			return p
		}
	}
	return name
}

// register records a task that is about to run on the calling host thread.
func (k *Kernel) register(t *Task) {
	tid := unix.Gettid()
	start := threadCPUSelf()
	t.startTime = time.Since(k.StartTime)
	k.mu.Lock()
	t.hostTID, t.sTimeStart, t.sTimeDone = tid, start, 0
	k.tasks[t.tid] = t
	k.byHostTID[t.hostTID] = t
	if t.tg.leader == t {
		k.tgs[t.tg.pid] = t.tg
	}
	dying := k.dying
	k.mu.Unlock()
	if dying {
		// Created as the sandbox was going away: die at once.
		t.tg.Kill(int(unix.SIGKILL))
	}
}

func (k *Kernel) unregister(t *Task) {
	k.mu.Lock()
	defer k.mu.Unlock()
	// Only its own entries: a thread that exec'd in the leader's place
	// has taken over the leader's id.
	if k.tasks[t.tid] == t {
		delete(k.tasks, t.tid)
	}
	if k.byHostTID[t.hostTID] == t {
		delete(k.byHostTID, t.hostTID)
	}
}

// Task returns the live task with id tid.
func (k *Kernel) Task(tid int) (*Task, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.tasks[tid]
	return t, ok
}

// TaskOrZombie is Task, except that the pid of a process that has exited
// and is not yet reaped finds its (exited) leader, as Linux's pid lookups
// find a zombie until wait(2) releases it.
func (k *Kernel) TaskOrZombie(tid int) (*Task, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.tasks[tid]; ok {
		return t, true
	}
	if tg, ok := k.tgs[tid]; ok && tg.leader != nil {
		return tg.leader, true
	}
	return nil, false
}

// Tasks returns the live tasks.
func (k *Kernel) Tasks() []*Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]*Task, 0, len(k.tasks))
	for _, t := range k.tasks {
		out = append(out, t)
	}
	return out
}

// Current returns the task running on the calling host thread, if any.
func (k *Kernel) Current() *Task {
	tid := unix.Gettid()
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.byHostTID[tid]
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
