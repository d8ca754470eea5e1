// Package platform defines how application code runs and how control comes back
// to the sentry: address spaces into which ranges of the memory file are mapped,
// and execution contexts that run application code until it makes a system call,
// faults, receives a host signal or is interrupted.
//
// This package and its children know nothing of tasks, files or syscall meaning;
// they load and save registers and map memory they are told to map. They must not
// import anything above them (sentry/, fs/, syscalls/, runsc/).
package platform

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Registers is the x86-64 general register file as ptrace(2) exposes it. The
// sentry keeps one per task; platforms only load and save it.
type Registers = unix.PtraceRegs

// Access is the kind of memory access, as in a page fault.
type Access struct {
	Read, Write, Execute bool
}

// String returns e.g. "rw-".
func (a Access) String() string {
	b := []byte("---")
	if a.Read {
		b[0] = 'r'
	}
	if a.Write {
		b[1] = 'w'
	}
	if a.Execute {
		b[2] = 'x'
	}
	return string(b)
}

// Prot converts an Access into PROT_* bits.
func (a Access) Prot() int {
	p := unix.PROT_NONE
	if a.Read {
		p |= unix.PROT_READ
	}
	if a.Write {
		p |= unix.PROT_WRITE
	}
	if a.Execute {
		p |= unix.PROT_EXEC
	}
	return p
}

// EventKind says why Context.Switch returned.
type EventKind int

const (
	// EventSyscall: the application executed a syscall instruction. The number
	// is in Orig_rax, arguments in Rdi, Rsi, Rdx, R10, R8, R9; Rip already points
	// past the instruction. The sentry writes the result into Rax.
	EventSyscall EventKind = iota
	// EventFault: a memory access faulted at Event.Addr. Registers are those of
	// the faulting instruction.
	EventFault
	// EventSignal: the application received a synchronous host signal other than
	// a memory fault (SIGFPE, SIGILL, SIGTRAP, ...), described by Event.Signo,
	// Event.Code and Event.Addr.
	EventSignal
	// EventInterrupted: Interrupt was called, or the context stopped for a reason
	// the sentry should re-check its state for.
	EventInterrupted
)

func (k EventKind) String() string {
	switch k {
	case EventSyscall:
		return "syscall"
	case EventFault:
		return "fault"
	case EventSignal:
		return "signal"
	case EventInterrupted:
		return "interrupted"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event describes why Switch returned.
type Event struct {
	Kind EventKind
	// Signo is the host signal number for EventFault and EventSignal.
	Signo int
	// Code is the siginfo si_code of the host signal.
	Code int
	// Addr is the faulting address (si_addr).
	Addr uintptr
}

// AddressSpace is one application address space (one per application mm).
// Mappings are made from the memory file, whose host FD the platform was given
// when it was created.
type AddressSpace interface {
	// MapFile maps [addr, addr+length) to the memory file at offset off with the
	// given protections, replacing whatever was mapped there.
	MapFile(addr uintptr, length uintptr, off int64, access Access) error
	// Unmap removes any mappings in [addr, addr+length).
	Unmap(addr uintptr, length uintptr) error
	// Release destroys the address space.
	Release()
}

// HostFileMapper is implemented by address spaces that can map a host file
// straight into the application, read-only: its pages then come from the
// host's page cache, with no copy into the memory file and no fault served
// by the sentry. The caller keeps fd; shared says MAP_SHARED (else
// MAP_PRIVATE).
type HostFileMapper interface {
	MapHostFile(addr, length uintptr, fd int, off int64, access Access, shared bool) error
}

// Context is an execution context: one application thread's view of the CPU.
type Context interface {
	// Switch runs application code in as with regs until an event, and returns
	// it with regs updated in place.
	Switch(as AddressSpace, regs *Registers) (Event, error)
	// Interrupt makes a running (or the next) Switch return EventInterrupted
	// promptly. It may be called from any goroutine.
	Interrupt()
	// CPUTime returns the host CPU time spent running application code in
	// this context so far.
	CPUTime() time.Duration
	// FPState returns the floating-point and vector state (XSAVE layout) of
	// the thread last switched into; SetFPState loads it back.
	FPState() ([]byte, error)
	SetFPState(state []byte) error
	// Release destroys the context.
	Release()
}

// MovableContext is a Context that does not need one host thread for its
// whole life: the sentry may let the goroutine that switches into it off
// its OS thread while the task waits, and carry on from another one. Detach
// is called on the old thread before, Attach on the new one after. A
// context whose platform traces threads (ptrace) must not implement it:
// only the tracer thread may resume a tracee. Letting goroutines move
// matters because Go hands a goroutine locked to an OS thread from one
// thread to another on every wake-up (tens of microseconds on a VM),
// where an unlocked one just runs on the waker's thread.
type MovableContext interface {
	Context
	Detach()
	Attach()
}

// Platform creates address spaces and contexts.
type Platform interface {
	// NewAddressSpace creates an empty address space.
	NewAddressSpace() (AddressSpace, error)
	// NewContext creates an execution context.
	NewContext() (Context, error)
	// MaxUserAddress is the first address application memory may not use: the
	// platform keeps its own code above it.
	MaxUserAddress() uintptr
}

// ProcessCPUTime is the CPU time of host process pid (a stub), read from
// its process CPU clock (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)); 0
// when it cannot be read. A thread's clock can only be read from its own
// process, so platforms count a stub's threads together.
func ProcessCPUTime(pid int) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(^pid<<3|2), &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// QuietChildSignals sets the calling process's SIGCHLD action to the
// default (discard). Every stub is a child of the sentry, and a ptrace stop
// or a stub's exit would otherwise raise SIGCHLD in it; the Go runtime's
// handler would then run on some sentry thread for each one (a signal
// delivery and a sigreturn: about 4 us per ptrace stop on this machine, a
// tenth of a traced syscall). wait4 still sees every stop and exit: only an
// explicit SIG_IGN or SA_NOCLDWAIT would make the kernel reap children by
// itself. The sentry never waits for SIGCHLD; platforms call this from New.
func QuietChildSignals() error {
	// struct kernel_sigaction: handler, flags, restorer, mask.
	var act [4]uint64 // handler 0: SIG_DFL
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD),
		uintptr(unsafe.Pointer(&act[0])), 0, 8, 0, 0); e != 0 {
		return fmt.Errorf("rt_sigaction(SIGCHLD): %w", e)
	}
	return nil
}
