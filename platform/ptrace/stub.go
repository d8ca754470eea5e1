package ptrace

import (
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The stub code page. A stub process is a clone of the sentry that jumps here
// at once; this code unmaps every other page of the process (so the stub holds
// nothing of the sentry), stops itself with SIGSTOP for the tracer, and
// afterwards is only entered at stubSyscallOffset, where the sentry makes the
// stub execute one host syscall (mmap, munmap, ...) followed by int3.
//
// Source (Intel syntax), assembled by hand:
//
//	lea  r12, [rip - 7]            ; r12 = page base
//	mov  eax, 11 ; SYS_munmap
//	xor  edi, edi
//	mov  rsi, r12
//	syscall                        ; munmap(0, base)
//	mov  eax, 11
//	lea  rdi, [r12 + 0x1000]
//	mov  rsi, [r12 + 0x800]        ; top of the user address space
//	sub  rsi, rdi
//	syscall                        ; munmap(base+4096, top-(base+4096))
//	mov  eax, 39 ; SYS_getpid
//	syscall
//	mov  edi, eax
//	mov  eax, 62 ; SYS_kill
//	mov  esi, 19 ; SIGSTOP
//	syscall
//	int3
//	...
//	0x50: syscall
//	      int3
var stubCode = []byte{
	0x4c, 0x8d, 0x25, 0xf9, 0xff, 0xff, 0xff,
	0xb8, 0x0b, 0x00, 0x00, 0x00,
	0x31, 0xff,
	0x4c, 0x89, 0xe6,
	0x0f, 0x05,
	0xb8, 0x0b, 0x00, 0x00, 0x00,
	0x49, 0x8d, 0xbc, 0x24, 0x00, 0x10, 0x00, 0x00,
	0x49, 0x8b, 0xb4, 0x24, 0x00, 0x08, 0x00, 0x00,
	0x48, 0x29, 0xfe,
	0x0f, 0x05,
	0xb8, 0x27, 0x00, 0x00, 0x00,
	0x0f, 0x05,
	0x89, 0xc7,
	0xb8, 0x3e, 0x00, 0x00, 0x00,
	0xbe, 0x13, 0x00, 0x00, 0x00,
	0x0f, 0x05,
	0xcc,
}

const (
	pageSize = 4096
	// stubSyscallOffset is where "syscall; int3" sits in the stub page.
	stubSyscallOffset = 0x50
	// stubCloneOffset is where new stub threads are made:
	//	syscall; test rax, rax; jz spin; int3; spin: jmp spin
	// The caller traps at int3; the new thread (rax 0) spins until its
	// tracer seizes it.
	stubCloneOffset = 0x60
	// stubTopOffset holds the top of the user address space, read by the stub.
	stubTopOffset = 0x800
	// userTop is the x86-64 TASK_SIZE with 4-level page tables.
	userTop = 0x7ffffffff000
)

var (
	stubOnce sync.Once
	stubBase uintptr
	stubErr  error
)

// stubInit maps the stub page in the sentry at the highest free page below
// userTop, so that every clone of the sentry has it at the same address.
func stubInit() (uintptr, error) {
	stubOnce.Do(func() {
		for addr := uintptr(userTop - pageSize); addr > userTop-(1<<32); addr -= pageSize {
			ptr, err := unix.MmapPtr(-1, 0, unsafe.Add(nil, addr), pageSize,
				unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE)
			if err != nil {
				continue
			}
			if uintptr(ptr) != addr { // an old kernel treating NOREPLACE as a hint
				unix.MunmapPtr(ptr, pageSize)
				continue
			}
			page := unsafe.Slice((*byte)(ptr), pageSize)
			for i := range page {
				page[i] = 0xcc // int3 everywhere we did not put code
			}
			copy(page, stubCode)
			page[stubSyscallOffset] = 0x0f
			page[stubSyscallOffset+1] = 0x05
			page[stubSyscallOffset+2] = 0xcc
			copy(page[stubCloneOffset:], []byte{0x0f, 0x05, 0x48, 0x85, 0xc0, 0x74, 0x01, 0xcc, 0xeb, 0xfe})
			*(*uint64)(unsafe.Pointer(&page[stubTopOffset])) = userTop
			if err := unix.Mprotect(page, unix.PROT_READ|unix.PROT_EXEC); err != nil {
				stubErr = fmt.Errorf("mprotect stub page: %w", err)
				return
			}
			stubBase = addr
			return
		}
		stubErr = fmt.Errorf("no free page for the stub below %#x", userTop)
	})
	return stubBase, stubErr
}

//go:linkname beforeFork syscall.runtime_BeforeFork
func beforeFork()

//go:linkname afterFork syscall.runtime_AfterFork
func afterFork()

//go:linkname afterForkInChild syscall.runtime_AfterForkInChild
func afterForkInChild()

func stubJump(addr uintptr)

// emptySigset is read by the child to clear its signal mask.
var emptySigset uint64

// forkStub clones the calling thread into a new stub process traced by it.
// The caller must be locked to its OS thread, which becomes the tracer. keepFD
// is the one FD the stub keeps open (the memory file); every other is closed.
//
// The child runs between clone and the jump with a copy of the Go runtime it
// must not touch: only nosplit code and raw syscalls.
//
//go:norace
//go:nosplit
func forkStub(base uintptr, keepFD int) (int, unix.Errno) {
	syscall.ForkLock.Lock()
	beforeFork()
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		afterFork()
		syscall.ForkLock.Unlock()
		return 0, unix.Errno(errno)
	}
	if pid == 0 {
		stubChild(base, keepFD)
	}
	afterFork()
	syscall.ForkLock.Unlock()
	return int(pid), 0
}

//go:norace
//go:nosplit
func stubChild(base uintptr, keepFD int) {
	afterForkInChild()
	// Die with the tracer thread.
	syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PTRACE, syscall.PTRACE_TRACEME, 0, 0, 0, 0, 0); e != 0 {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 120, 0, 0, 0, 0, 0)
	}
	if keepFD > 0 {
		syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, 0, uintptr(keepFD-1), 0, 0, 0, 0)
	}
	syscall.RawSyscall6(unix.SYS_CLOSE_RANGE, uintptr(keepFD+1), ^uintptr(0)>>32, 0, 0, 0, 0)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&emptySigset)), 0, 8, 0, 0)
	stubJump(base)
	for {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 121, 0, 0, 0, 0, 0)
	}
}
