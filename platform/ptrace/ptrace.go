// Package ptrace is the ptrace platform: each application address space is a
// stub process (a clone of the sentry that has unmapped everything but one
// code page of ours), and application code runs in it under PTRACE_SYSEMU,
// so every syscall stops the stub before the host kernel executes it.
//
// Threading: a ptrace tracer is a host thread. Each stub process has a
// control goroutine, locked to the OS thread that created the stub, which
// traces the stub's main thread; that thread never runs application code.
// Every application thread that runs in the address space gets a stub thread
// of its own, cloned by the main thread (from our code page) and seized by
// the OS thread of the task that will run it. Address-space changes are made
// by a stub thread the calling OS thread traces, or by the main thread
// through the control goroutine.
//
// Interrupt uses SIGCHLD, whose default action is to be ignored, so a stub
// thread can never die of it; the tracer sees it and suppresses it.
//
// This package must not import the sentry, fs or syscalls layers.
package ptrace

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"sbx/platform"
)

// interruptSignal makes a running stub thread stop for its tracer.
const interruptSignal = unix.SIGCHLD

// Platform is the ptrace platform. memFD is the memory file's host FD; every
// stub keeps it open to map application memory from.
type Platform struct {
	memFD int
	base  uintptr
}

// New returns a ptrace platform whose address spaces map from memFD.
func New(memFD int) (*Platform, error) {
	if err := platform.QuietChildSignals(); err != nil {
		return nil, err
	}
	base, err := stubInit()
	if err != nil {
		return nil, err
	}
	return &Platform{memFD: memFD, base: base}, nil
}

// MaxUserAddress implements platform.Platform: the stub page and everything
// above it are ours.
func (p *Platform) MaxUserAddress() uintptr { return p.base }

// NewContext implements platform.Platform.
func (p *Platform) NewContext() (platform.Context, error) {
	return &context{}, nil
}

// stub is a stub process: one application address space.
type stub struct {
	platform *Platform
	pid      int
	// initRegs are the main thread's registers at its first stop; their
	// segment registers and flags are the base for every register set.
	initRegs platform.Registers
	// requests are served by the control goroutine, the main thread's
	// tracer.
	requests chan func(main *thread)
	done     chan struct{}

	mu sync.Mutex // guards threads and released
	// threads are the stub threads by the host tid of their tracer.
	threads  map[int]*thread
	released bool
}

// thread is one stub thread and its tracer.
type thread struct {
	s      *stub
	tid    int
	tracer int
	// pendingInterrupt is set when an interrupt signal was consumed while
	// the thread ran one of our own syscalls.
	pendingInterrupt atomic.Bool
}

// NewAddressSpace implements platform.Platform: it starts the stub's control
// goroutine, which creates the stub and serves requests until Release.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	s := &stub{platform: p, requests: make(chan func(*thread)), done: make(chan struct{}), threads: make(map[int]*thread)}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the stub dies with this thread (PDEATHSIG).
		runtime.LockOSThread()
		main, err := s.create()
		errc <- err
		if err != nil {
			close(s.done)
			return
		}
		for req := range s.requests {
			req(main)
		}
		s.kill()
		close(s.done)
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return s, nil
}

// create forks the stub process; the calling thread becomes its tracer.
func (s *stub) create() (*thread, error) {
	pid, errno := forkStub(s.platform.base, s.platform.memFD)
	if errno != 0 {
		return nil, fmt.Errorf("clone stub: %w", errno)
	}
	s.pid = pid
	// The stub stops itself with SIGSTOP once it has emptied its address space.
	var ws unix.WaitStatus
	if err := wait(pid, &ws); err != nil {
		s.kill()
		return nil, err
	}
	if !ws.Stopped() || ws.StopSignal() != unix.SIGSTOP {
		s.kill()
		return nil, fmt.Errorf("stub %d did not stop as expected: status %#x", pid, uint32(ws))
	}
	if err := unix.PtraceSetOptions(pid, unix.PTRACE_O_EXITKILL|unix.PTRACE_O_TRACESYSGOOD); err != nil {
		s.kill()
		return nil, fmt.Errorf("PTRACE_SETOPTIONS: %w", err)
	}
	if err := getRegs(pid, &s.initRegs); err != nil {
		s.kill()
		return nil, fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	return &thread{s: s, tid: pid, tracer: unix.Gettid()}, nil
}

func wait(pid int, ws *unix.WaitStatus) error {
	for {
		_, err := unix.Wait4(pid, ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait4(%d): %w", pid, err)
		}
		return nil
	}
}

func (s *stub) kill() {
	unix.Kill(s.pid, unix.SIGKILL)
	var ws unix.WaitStatus
	for {
		if _, err := unix.Wait4(s.pid, &ws, unix.WALL, nil); err != unix.EINTR {
			return
		}
	}
}

var errStubDied = errors.New("stub process died")

// hostSyscall makes the thread execute one syscall from our code page at
// site, and returns its result.
func (t *thread) hostSyscallAt(site uintptr, nr uintptr, args ...uintptr) (uintptr, error) {
	s := t.s
	regs := s.initRegs
	regs.Rip = uint64(s.platform.base + site)
	regs.Rax = uint64(nr)
	regs.Orig_rax = ^uint64(0)
	var a [6]uint64
	for i, v := range args {
		a[i] = uint64(v)
	}
	regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
	if err := setRegs(t.tid, &regs); err != nil {
		return 0, fmt.Errorf("PTRACE_SETREGS on stub thread %d: %w", t.tid, err)
	}
	if err := unix.PtraceCont(t.tid, 0); err != nil {
		return 0, fmt.Errorf("PTRACE_CONT on stub thread %d: %w", t.tid, err)
	}
	for {
		var ws unix.WaitStatus
		if err := wait(t.tid, &ws); err != nil {
			return 0, err
		}
		if !ws.Stopped() {
			if nr == unix.SYS_EXIT && ws.Exited() {
				return 0, nil
			}
			return 0, fmt.Errorf("%w during host syscall %d: status %#x", errStubDied, nr, uint32(ws))
		}
		switch ws.StopSignal() {
		case unix.SIGTRAP:
			if ws.TrapCause() == unix.PTRACE_EVENT_STOP {
				unix.PtraceCont(t.tid, 0)
				continue
			}
			if err := getRegs(t.tid, &regs); err != nil {
				return 0, fmt.Errorf("PTRACE_GETREGS: %w", err)
			}
			if r := int64(regs.Rax); r < 0 && r > -4096 {
				return 0, unix.Errno(-r)
			}
			return uintptr(regs.Rax), nil
		case interruptSignal, unix.SIGSTOP:
			// An Interrupt (or a group stop) arrived meanwhile: keep it
			// for the next Switch.
			t.pendingInterrupt.Store(true)
			if err := unix.PtraceCont(t.tid, 0); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("stub thread %d stopped by signal %v during host syscall %d", t.tid, ws.StopSignal(), nr)
		}
	}
}

// syscall runs a host syscall in the stub from the calling OS thread's
// stub thread, or through the control goroutine when it has none.
func (s *stub) syscall(nr uintptr, args ...uintptr) (uintptr, error) {
	s.mu.Lock()
	t := s.threads[unix.Gettid()]
	released := s.released
	s.mu.Unlock()
	if t != nil {
		return t.hostSyscallAt(stubSyscallOffset, nr, args...)
	}
	if released {
		return 0, errStubDied
	}
	type result struct {
		r   uintptr
		err error
	}
	res := make(chan result, 1)
	s.requests <- func(main *thread) {
		r, err := main.hostSyscallAt(stubSyscallOffset, nr, args...)
		res <- result{r, err}
	}
	r := <-res
	return r.r, r.err
}

// threadForCaller returns the stub thread traced by the calling OS thread,
// making one if needed: the main thread clones it (it spins at our code
// page, untraced) and the caller seizes it.
func (s *stub) threadForCaller() (*thread, error) {
	me := unix.Gettid()
	s.mu.Lock()
	if t := s.threads[me]; t != nil {
		s.mu.Unlock()
		return t, nil
	}
	if s.released {
		s.mu.Unlock()
		return nil, errStubDied
	}
	s.mu.Unlock()
	type result struct {
		tid int
		err error
	}
	res := make(chan result, 1)
	s.requests <- func(main *thread) {
		const flags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
			unix.CLONE_THREAD | unix.CLONE_SYSVSEM
		tid, err := main.hostSyscallAt(stubCloneOffset, unix.SYS_CLONE, flags, 0, 0, 0, 0)
		res <- result{int(tid), err}
	}
	r := <-res
	if r.err != nil {
		return nil, fmt.Errorf("cloning a stub thread: %w", r.err)
	}
	opts := unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESYSGOOD
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(r.tid), 0, uintptr(opts), 0, 0); e != 0 {
		unix.Tgkill(s.pid, r.tid, unix.SIGKILL)
		return nil, fmt.Errorf("PTRACE_SEIZE: %w", e)
	}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(r.tid), 0, 0, 0, 0); e != 0 {
		return nil, fmt.Errorf("PTRACE_INTERRUPT: %w", e)
	}
	for {
		var ws unix.WaitStatus
		if err := wait(r.tid, &ws); err != nil {
			return nil, err
		}
		if !ws.Stopped() {
			return nil, fmt.Errorf("%w: new thread status %#x", errStubDied, uint32(ws))
		}
		if ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_STOP {
			break
		}
		// Another stop first (a signal): suppress it and wait for ours.
		unix.PtraceCont(r.tid, 0)
	}
	t := &thread{s: s, tid: r.tid, tracer: me}
	s.mu.Lock()
	s.threads[me] = t
	s.mu.Unlock()
	return t, nil
}

// MapFile implements platform.AddressSpace. The pages are populated with the
// mapping (MAP_POPULATE): the sentry maps what a fault populated, a chunk
// at a time, and one call is cheaper than a host fault per page.
func (s *stub) MapFile(addr, length uintptr, off int64, access platform.Access) error {
	_, err := s.syscall(unix.SYS_MMAP, addr, length, uintptr(access.Prot()),
		unix.MAP_SHARED|unix.MAP_FIXED|unix.MAP_POPULATE, uintptr(s.platform.memFD), uintptr(off))
	return err
}

// Unmap implements platform.AddressSpace.
func (s *stub) Unmap(addr, length uintptr) error {
	_, err := s.syscall(unix.SYS_MUNMAP, addr, length)
	return err
}

// Release implements platform.AddressSpace: the stub process is killed.
// It does not wait for the stub to be reaped: a stub thread traced by a task
// that has not released its context keeps the process a zombie until that
// tracer waits for it.
func (s *stub) Release() {
	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		return
	}
	s.released = true
	s.mu.Unlock()
	close(s.requests)
}

// context is one execution context: the application thread of one task,
// running in the stub threads it owns.
type context struct {
	mu sync.Mutex // guards running, interrupted, last and owned
	// running is the thread being switched into, nil between Switches.
	running     *thread
	interrupted bool // set by Interrupt while not running
	last        *thread
	// owned are the stub threads made for this context.
	owned []*thread
}

// Interrupt implements platform.Context.
func (c *context) Interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running != nil {
		unix.Tgkill(c.running.s.pid, c.running.tid, interruptSignal)
		return
	}
	c.interrupted = true
}

// Release implements platform.Context: the context's stub threads exit.
// It must be called on the context's own OS thread (their tracer).
func (c *context) Release() {
	c.mu.Lock()
	owned := c.owned
	c.owned = nil
	c.mu.Unlock()
	for _, t := range owned {
		t.s.mu.Lock()
		released := t.s.released
		if t.s.threads[t.tracer] == t {
			delete(t.s.threads, t.tracer)
		}
		t.s.mu.Unlock()
		if !released {
			t.hostSyscallAt(stubSyscallOffset, unix.SYS_EXIT, 0)
		}
	}
}

// CPUTime implements platform.Context: the CPU clock of the stub thread last
// switched into (MAKE_THREAD_CPUCLOCK can only name the caller's own
// threads, so the stub's process clock is used: exact for one thread).
func (c *context) CPUTime() time.Duration {
	c.mu.Lock()
	t := c.last
	c.mu.Unlock()
	if t == nil {
		return 0
	}
	return platform.ProcessCPUTime(t.s.pid)
}

// Switch implements platform.Context.
func (c *context) Switch(as platform.AddressSpace, regs *platform.Registers) (platform.Event, error) {
	s := as.(*stub)
	t, err := s.threadForCaller()
	if err != nil {
		return platform.Event{}, err
	}
	c.mu.Lock()
	if t != c.last {
		found := false
		for _, o := range c.owned {
			found = found || o == t
		}
		if !found {
			c.owned = append(c.owned, t)
		}
	}
	if c.interrupted || t.pendingInterrupt.Swap(false) {
		c.interrupted = false
		c.mu.Unlock()
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	c.running = t
	c.last = t
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = nil
		c.mu.Unlock()
	}()

	// Segment selectors and the flags the kernel checks come from the stub.
	regs.Cs, regs.Ss, regs.Ds, regs.Es = s.initRegs.Cs, s.initRegs.Ss, s.initRegs.Ds, s.initRegs.Es
	if err := setRegs(t.tid, regs); err != nil {
		return platform.Event{}, fmt.Errorf("PTRACE_SETREGS on stub thread %d: %w", t.tid, err)
	}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SYSEMU, uintptr(t.tid), 0, 0, 0, 0); e != 0 {
		return platform.Event{}, fmt.Errorf("PTRACE_SYSEMU on stub thread %d: %w", t.tid, e)
	}
	var ws unix.WaitStatus
	if err := wait(t.tid, &ws); err != nil {
		return platform.Event{}, err
	}
	if !ws.Stopped() {
		return platform.Event{}, fmt.Errorf("%w: status %#x", errStubDied, uint32(ws))
	}
	if err := getRegs(t.tid, regs); err != nil {
		return platform.Event{}, fmt.Errorf("PTRACE_GETREGS on stub thread %d: %w", t.tid, err)
	}
	sig := ws.StopSignal()
	if sig == unix.SIGTRAP|0x80 {
		return platform.Event{Kind: platform.EventSyscall}, nil
	}
	if sig == interruptSignal || sig == unix.SIGSTOP || (sig == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_STOP) {
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	// A signal-delivery-stop: read what the kernel would have delivered. The
	// signal is suppressed (never delivered to the stub) since the next resume
	// passes no signal.
	var info [128]byte
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(t.tid), 0,
		uintptr(unsafe.Pointer(&info[0])), 0, 0); e != 0 {
		return platform.Event{}, fmt.Errorf("PTRACE_GETSIGINFO: %w", e)
	}
	ev := platform.Event{
		Kind:  platform.EventSignal,
		Signo: int(sig),
		Code:  int(int32(le32(info[8:]))),
		Addr:  uintptr(le64(info[16:])),
	}
	if (sig == unix.SIGSEGV || sig == unix.SIGBUS) && ev.Code > 0 && ev.Code != 0x80 {
		ev.Kind = platform.EventFault
	}
	return ev, nil
}

// getRegs and setRegs are PTRACE_GETREGS and PTRACE_SETREGS as raw
// syscalls: they never block (the thread is stopped), so the Go runtime's
// system-call bookkeeping would only add to every traced syscall.
func getRegs(tid int, regs *platform.Registers) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETREGS, uintptr(tid), 0, uintptr(unsafe.Pointer(regs)), 0, 0); e != 0 {
		return e
	}
	return nil
}

func setRegs(tid int, regs *platform.Registers) error {
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGS, uintptr(tid), 0, uintptr(unsafe.Pointer(regs)), 0, 0); e != 0 {
		return e
	}
	return nil
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

// ntX86Xstate is NT_X86_XSTATE, the regset of the XSAVE area.
const ntX86Xstate = 0x202

// xstateMax bounds the XSAVE area (AVX-512 needs about 2.7 KiB).
const xstateMax = 8192

func (c *context) lastTID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		return 0
	}
	return c.last.tid
}

// FPState implements platform.Context.
func (c *context) FPState() ([]byte, error) {
	buf := make([]byte, xstateMax)
	iov := unix.Iovec{Base: &buf[0], Len: uint64(len(buf))}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETREGSET, uintptr(c.lastTID()), ntX86Xstate,
		uintptr(unsafe.Pointer(&iov)), 0, 0); e != 0 {
		return nil, fmt.Errorf("PTRACE_GETREGSET: %w", e)
	}
	return buf[:iov.Len], nil
}

// SetFPState implements platform.Context.
func (c *context) SetFPState(state []byte) error {
	if len(state) == 0 {
		return nil
	}
	iov := unix.Iovec{Base: &state[0], Len: uint64(len(state))}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGSET, uintptr(c.lastTID()), ntX86Xstate,
		uintptr(unsafe.Pointer(&iov)), 0, 0); e != 0 {
		return fmt.Errorf("PTRACE_SETREGSET: %w", e)
	}
	return nil
}
