// Package ptrace is the ptrace platform: each application address space is a
// stub process (a clone of the sentry that has unmapped everything but one code
// page of ours), and application code runs in it under PTRACE_SYSEMU, so every
// syscall stops the stub before the host kernel executes it.
//
// Address-space changes are made by the stub itself: the tracer points the
// stub's registers at the "syscall; int3" in the stub page and continues it.
//
// Threading rule: a ptrace tracer is a host thread. The stub is traced by the
// OS thread that created its address space; that thread (locked with
// runtime.LockOSThread) must make every call on the address space and every
// Switch into it. One stub thread serves one application thread.
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

// Platform is the ptrace platform. memFD is the memory file's host FD; every
// stub keeps it open to map application memory from.
type Platform struct {
	memFD int
	base  uintptr
}

// New returns a ptrace platform whose address spaces map from memFD.
func New(memFD int) (*Platform, error) {
	base, err := stubInit()
	if err != nil {
		return nil, err
	}
	return &Platform{memFD: memFD, base: base}, nil
}

// MaxUserAddress implements platform.Platform: the stub page and everything
// above it are ours.
func (p *Platform) MaxUserAddress() uintptr { return p.base }

// NewAddressSpace implements platform.Platform. The calling goroutine must be
// locked to its OS thread; that thread becomes the stub's tracer.
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	pid, errno := forkStub(p.base, p.memFD)
	if errno != 0 {
		return nil, fmt.Errorf("clone stub: %w", errno)
	}
	s := &stub{pid: pid, tracer: unix.Gettid(), platform: p}
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
	if err := unix.PtraceGetRegs(pid, &s.initRegs); err != nil {
		s.kill()
		return nil, fmt.Errorf("PTRACE_GETREGS: %w", err)
	}
	return s, nil
}

// NewContext implements platform.Platform.
func (p *Platform) NewContext() (platform.Context, error) {
	return &context{}, nil
}

// stub is a stub process: one application address space.
type stub struct {
	platform *Platform
	pid      int
	tracer   int // host tid of the tracing thread
	// initRegs are the stub's registers at its first stop; their segment
	// registers and flags are the base for every register set we load.
	initRegs platform.Registers
	// pendingInterrupt is set when a SIGSTOP sent by Interrupt was consumed
	// while the stub ran one of our own syscalls.
	pendingInterrupt atomic.Bool
	released         bool
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

// hostSyscall makes the stub execute one syscall from our code page.
func (s *stub) hostSyscall(nr uintptr, args ...uintptr) (uintptr, error) {
	regs := s.initRegs
	regs.Rip = uint64(s.platform.base + stubSyscallOffset)
	regs.Rax = uint64(nr)
	regs.Orig_rax = ^uint64(0)
	var a [6]uint64
	for i, v := range args {
		a[i] = uint64(v)
	}
	regs.Rdi, regs.Rsi, regs.Rdx, regs.R10, regs.R8, regs.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
	if err := unix.PtraceSetRegs(s.pid, &regs); err != nil {
		return 0, fmt.Errorf("PTRACE_SETREGS on stub %d: %w", s.pid, err)
	}
	if err := unix.PtraceCont(s.pid, 0); err != nil {
		return 0, fmt.Errorf("PTRACE_CONT on stub %d: %w", s.pid, err)
	}
	for {
		var ws unix.WaitStatus
		if err := wait(s.pid, &ws); err != nil {
			return 0, err
		}
		if !ws.Stopped() {
			return 0, fmt.Errorf("%w during host syscall %d: status %#x", errStubDied, nr, uint32(ws))
		}
		switch ws.StopSignal() {
		case unix.SIGTRAP:
			if err := unix.PtraceGetRegs(s.pid, &regs); err != nil {
				return 0, fmt.Errorf("PTRACE_GETREGS: %w", err)
			}
			if r := int64(regs.Rax); r < 0 && r > -4096 {
				return 0, unix.Errno(-r)
			}
			return uintptr(regs.Rax), nil
		case unix.SIGSTOP:
			// An Interrupt arrived meanwhile: keep it for the next Switch.
			s.pendingInterrupt.Store(true)
			if err := unix.PtraceCont(s.pid, 0); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("stub %d stopped by signal %v during host syscall %d", s.pid, ws.StopSignal(), nr)
		}
	}
}

// MapFile implements platform.AddressSpace.
func (s *stub) MapFile(addr, length uintptr, off int64, access platform.Access) error {
	_, err := s.hostSyscall(unix.SYS_MMAP, addr, length, uintptr(access.Prot()),
		unix.MAP_SHARED|unix.MAP_FIXED, uintptr(s.platform.memFD), uintptr(off))
	return err
}

// Unmap implements platform.AddressSpace.
func (s *stub) Unmap(addr, length uintptr) error {
	_, err := s.hostSyscall(unix.SYS_MUNMAP, addr, length)
	return err
}

// Release implements platform.AddressSpace.
func (s *stub) Release() {
	if !s.released {
		s.released = true
		s.kill()
	}
}

// context is one execution context. On this platform the stub's main thread
// runs the application thread, so the context holds only interrupt state.
type context struct {
	mu sync.Mutex // guards running
	// running is the stub being switched into, nil between Switches.
	running     *stub
	interrupted bool // set by Interrupt while not running; guarded by mu
	last        int  // pid of the stub last switched into; guarded by mu
}

// Interrupt implements platform.Context.
func (c *context) Interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running != nil {
		unix.Tgkill(c.running.pid, c.running.pid, unix.SIGSTOP)
		return
	}
	c.interrupted = true
}

// Release implements platform.Context.
func (c *context) Release() {}

// CPUTime implements platform.Context: the CPU clock of the stub process last
// switched into (a clock id made as MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
// in the kernel's posix-timers.h).
func (c *context) CPUTime() time.Duration {
	c.mu.Lock()
	pid := c.last
	c.mu.Unlock()
	if pid == 0 {
		return 0
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(^pid<<3|2), &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// Switch implements platform.Context.
func (c *context) Switch(as platform.AddressSpace, regs *platform.Registers) (platform.Event, error) {
	s := as.(*stub)
	c.mu.Lock()
	if c.interrupted || s.pendingInterrupt.Swap(false) {
		c.interrupted = false
		c.mu.Unlock()
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	c.running = s
	c.last = s.pid
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = nil
		c.mu.Unlock()
	}()

	// Segment selectors and the flags the kernel checks come from the stub.
	regs.Cs, regs.Ss, regs.Ds, regs.Es = s.initRegs.Cs, s.initRegs.Ss, s.initRegs.Ds, s.initRegs.Es
	if err := unix.PtraceSetRegs(s.pid, regs); err != nil {
		return platform.Event{}, fmt.Errorf("PTRACE_SETREGS on stub %d: %w", s.pid, err)
	}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SYSEMU, uintptr(s.pid), 0, 0, 0, 0); e != 0 {
		return platform.Event{}, fmt.Errorf("PTRACE_SYSEMU on stub %d: %w", s.pid, e)
	}
	var ws unix.WaitStatus
	if err := wait(s.pid, &ws); err != nil {
		return platform.Event{}, err
	}
	if !ws.Stopped() {
		return platform.Event{}, fmt.Errorf("%w: status %#x", errStubDied, uint32(ws))
	}
	if err := unix.PtraceGetRegs(s.pid, regs); err != nil {
		return platform.Event{}, fmt.Errorf("PTRACE_GETREGS on stub %d: %w", s.pid, err)
	}
	sig := ws.StopSignal()
	if sig == unix.SIGTRAP|0x80 {
		return platform.Event{Kind: platform.EventSyscall}, nil
	}
	if sig == unix.SIGSTOP {
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	// A signal-delivery-stop: read what the kernel would have delivered. The
	// signal is suppressed (never delivered to the stub) since the next resume
	// passes no signal.
	var info [128]byte
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(s.pid), 0,
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

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

// LockThread locks the calling goroutine to its OS thread, as a tracer must be.
func LockThread() { runtime.LockOSThread() }

// ntX86Xstate is NT_X86_XSTATE, the regset of the XSAVE area.
const ntX86Xstate = 0x202

// xstateMax bounds the XSAVE area (AVX-512 needs about 2.7 KiB).
const xstateMax = 8192

// FPState implements platform.Context.
func (c *context) FPState() ([]byte, error) {
	c.mu.Lock()
	pid := c.last
	c.mu.Unlock()
	buf := make([]byte, xstateMax)
	iov := unix.Iovec{Base: &buf[0], Len: uint64(len(buf))}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_GETREGSET, uintptr(pid), ntX86Xstate,
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
	c.mu.Lock()
	pid := c.last
	c.mu.Unlock()
	iov := unix.Iovec{Base: &state[0], Len: uint64(len(state))}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGSET, uintptr(pid), ntX86Xstate,
		uintptr(unsafe.Pointer(&iov)), 0, 0); e != 0 {
		return fmt.Errorf("PTRACE_SETREGSET: %w", e)
	}
	return nil
}
