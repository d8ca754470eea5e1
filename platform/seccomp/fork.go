package seccomp

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Making a stub process. A stub is a clone of the sentry that, still in Go
// (nosplit code and raw syscalls only: it holds a copy of the runtime it must
// not use), closes every FD but the memory file and its region, maps the
// region, installs the signal handlers of the code page, blocks every other
// signal, and puts itself under the seccomp filter; it then jumps to the code
// page, which unmaps everything else.
//
// The clone is made by one locked OS thread that never exits (the forker),
// because the stub's parent-death signal follows the thread that made it.
//
// The sentry must not have an rseq area registered (a cgo build's C library
// registers one per thread unless GLIBC_TUNABLES=glibc.pthread.rseq=0): the
// stub inherits the registration, and once the area is unmapped the kernel
// kills the stub at its next rseq update.

//go:linkname beforeFork syscall.runtime_BeforeFork
func beforeFork()

//go:linkname afterFork syscall.runtime_AfterFork
func afterFork()

func stubJump(addr uintptr)

// kernelSigaction is the kernel's struct sigaction for rt_sigaction(2).
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// sa_flags bits (asm-generic/signal.h).
const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestorer = 0x04000000
)

// childSetup is everything the child needs, prepared before the clone.
type childSetup struct {
	memFD, regionFD int
	regionBase      uintptr
	regionSize      uintptr
	entry           uintptr
	actions         [65]kernelSigaction
	mask            uint64
	prog            unix.SockFprog
}

type forkRequest struct {
	setup *childSetup
	res   chan forkResult
}

type forkResult struct {
	pid   int
	errno unix.Errno
}

// forker runs the forks; started once.
func forker(reqs chan forkRequest) {
	runtime.LockOSThread() // never unlocked: the stubs' parent-death signal follows this thread
	for r := range reqs {
		pid, errno := forkStub(r.setup)
		r.res <- forkResult{pid, errno}
	}
}

// forkStub clones the calling thread into a new stub process.
//
//go:norace
//go:nosplit
func forkStub(c *childSetup) (int, unix.Errno) {
	syscall.ForkLock.Lock()
	beforeFork()
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		afterFork()
		syscall.ForkLock.Unlock()
		return 0, unix.Errno(errno)
	}
	if pid == 0 {
		stubChild(c)
	}
	afterFork()
	syscall.ForkLock.Unlock()
	return int(pid), 0
}

// stubChild sets the stub up; every failure ends it with a distinct status.
//
//go:norace
//go:nosplit
func stubChild(c *childSetup) {
	// Signals stay blocked from beforeFork until the mask below.
	syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
	syscall.RawSyscall6(syscall.SYS_SETSID, 0, 0, 0, 0, 0, 0) // out of the terminal's process group: no ^C from there
	lo, hi := c.memFD, c.regionFD
	if lo > hi {
		lo, hi = hi, lo
	}
	if lo > 0 {
		syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, 0, uintptr(lo-1), 0, 0, 0, 0)
	}
	if hi > lo+1 {
		syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, uintptr(lo+1), uintptr(hi-1), 0, 0, 0, 0)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, uintptr(hi+1), ^uintptr(0)>>32, 0, 0, 0, 0)
	if _, _, e := syscall.RawSyscall6(syscall.SYS_MMAP, c.regionBase, c.regionSize, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_SHARED|syscall.MAP_FIXED, uintptr(c.regionFD), 0); e != 0 {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 123, 0, 0, 0, 0, 0)
	}
	for sig := uintptr(1); sig <= 64; sig++ {
		if sig == uintptr(syscall.SIGKILL) || sig == uintptr(syscall.SIGSTOP) {
			continue
		}
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&c.actions[sig])), 0, 8, 0, 0)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&c.mask)), 0, 8, 0, 0)
	if rawErrno(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0) != 0 {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 124, 0, 0, 0, 0, 0)
	}
	if rawErrno(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&c.prog)), 0, 0, 0) != 0 {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 125, 0, 0, 0, 0, 0)
	}
	// From here on only the code page may make syscalls.
	stubJump(c.entry)
	for {
	}
}

//go:norace
//go:nosplit
func rawErrno(nr, a1, a2, a3, a4, a5, a6 uintptr) unix.Errno {
	_, _, e := syscall.RawSyscall6(nr, a1, a2, a3, a4, a5, a6)
	return unix.Errno(e)
}
