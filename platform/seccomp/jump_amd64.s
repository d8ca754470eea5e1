#include "textflag.h"

// func vforkExec(a *execArgs) (pid uintptr, errno uintptr)
//
// Starts a stub: clone(CLONE_VM|CLONE_VFORK|SIGCHLD), and in the child
// setsid, PR_SET_PDEATHSIG(SIGKILL), the region's FD and the stub's socket
// moved to the two numbers after the memory file's (the caller keeps both
// sources, and the image, above those), close-on-exec on every other FD, then
// execveat(image, "", argv, envp, AT_EMPTY_PATH). The child shares our
// memory and stack until the exec, so it uses no stack at all (registers
// only, every signal blocked by the caller) and never returns; the parent
// resumes once the child has exec'd or exited (127: the exec failed).
// Field offsets of execArgs: memFD 0, regionFD 8, imageFD 16, path 24,
// argv 32, envp 40, sockFD 48.
TEXT ·vforkExec(SB),NOSPLIT|NOFRAME,$0-24
	MOVQ a+0(FP), R12
	MOVQ $0x4111, DI // CLONE_VM|CLONE_VFORK|SIGCHLD
	XORQ SI, SI
	XORQ DX, DX
	XORQ R10, R10
	XORQ R8, R8
	MOVQ $56, AX // SYS_clone
	SYSCALL
	CMPQ AX, $0
	JEQ child
	CMPQ AX, $0xfffffffffffff001
	JLS ok
	NEGQ AX
	MOVQ $0, pid+8(FP)
	MOVQ AX, errno+16(FP)
	RET
ok:
	MOVQ AX, pid+8(FP)
	MOVQ $0, errno+16(FP)
	RET

child:
	MOVQ $112, AX // SYS_setsid: out of the terminal's process group
	SYSCALL
	MOVQ $157, AX // SYS_prctl
	MOVQ $1, DI   // PR_SET_PDEATHSIG
	MOVQ $9, SI   // SIGKILL
	SYSCALL
	MOVQ 0(R12), SI
	INCQ SI
	MOVQ 8(R12), DI
	CMPQ DI, SI
	JEQ moved
	MOVQ $292, AX // SYS_dup3(regionFD, memFD+1, 0)
	XORQ DX, DX
	SYSCALL
moved:
	MOVQ $292, AX // SYS_dup3(sockFD, memFD+2, 0): sockFD is never memFD+1
	MOVQ 48(R12), DI
	MOVQ 0(R12), SI
	ADDQ $2, SI
	XORQ DX, DX
	SYSCALL
	MOVQ $436, AX // SYS_close_range(0, ~0U, CLOSE_RANGE_CLOEXEC)
	XORQ DI, DI
	MOVQ $0xffffffff, SI
	MOVQ $4, DX
	SYSCALL
	MOVQ $72, AX // SYS_fcntl(memFD, F_SETFD, 0)
	MOVQ 0(R12), DI
	MOVQ $2, SI
	XORQ DX, DX
	SYSCALL
	MOVQ $72, AX // SYS_fcntl(memFD+1, F_SETFD, 0)
	MOVQ 0(R12), DI
	INCQ DI
	MOVQ $2, SI
	XORQ DX, DX
	SYSCALL
	MOVQ $72, AX // SYS_fcntl(memFD+2, F_SETFD, 0)
	MOVQ 0(R12), DI
	ADDQ $2, DI
	MOVQ $2, SI
	XORQ DX, DX
	SYSCALL
	MOVQ $322, AX // SYS_execveat(image, "", argv, envp, AT_EMPTY_PATH)
	MOVQ 16(R12), DI
	MOVQ 24(R12), SI
	MOVQ 32(R12), DX
	MOVQ 40(R12), R10
	MOVQ $0x1000, R8
	SYSCALL
	MOVQ $231, AX // SYS_exit_group(127)
	MOVQ $127, DI
	SYSCALL
	JMP child
