# The seccomp platform's stub code page (GNU as, Intel syntax). gen.sh
# assembles it into stub_code.go; the page is copied to the same address in
# the sentry and in every stub process.
#
# Page layout: code from offset 0; the quad at 0x800 is the top of the user
# address space, the quad at 0x808 the base of the shared region (which ends
# where this page starts), the long at 0x810 the handler's spin count (the
# sched_yield rounds); then
# what stub_boot needs, written by seccomp.go: the long at 0x818 the memory
# file's FD (the region's FD is the next number), the kernel sigaction for
# handled signals at 0x820 and for ignored ones at 0x840, the quad at 0x860
# the set of handled signals (bit n-1 for signal n), the quad at 0x868 the
# signal mask, the sock_fprog of the stub's filter at 0x870 and the filter
# itself from 0x880.
# Every thread's slot in the region is SLOT bytes, SLOT-aligned: a 4 KiB
# control page, then the thread's signal stack.
#
# Control page (offsets must match seccomp.go):
#   0x00 u32 state: 0 running app code, 1 event posted (stub waits),
#                   2 resume (sentry says go), 3 exit, 4 run the request
#                   in 0x88..0xb8 and post again with the result in 0xc0
#   0x08 u32 signo    0x10 u64 siginfo address    0x18 u64 ucontext address
#   0x20 u64 new fs base    0x28 u32 set-fs flag    0x30 u32 child tid word
#   0x38 u32 the sentry sleeps on state (wake it)
#   0x3c u32 the stub thread sleeps on state (wake it)
#   0x40 stack_t for sigaltstack (filled by the sentry)
#   0x58 u32 the sentry says the wait will be long (its task blocks): stop
#            spinning and sleep on state
#   0x5c u32 how many rounds the handler may busy-wait (pause) before it
#            spins with sched_yield (set by the sentry at each post)
# Slot 0 belongs to the control thread (the stub's main thread):
#   0x80 u32 request: 0 idle, 1 posted, 2 done
#   0x88 nr, 0x90..0xb8 args, 0xc0 result, 0xc8 the new thread's slot (clone)

	.intel_syntax noprefix
	.text
	.set SLOT, 0x10000
	.set SYS_close, 3
	.set SYS_mmap, 9
	.set SYS_rt_sigaction, 13
	.set SYS_rt_sigprocmask, 14
	.set SYS_prctl, 157
	.set SYS_exit_group, 231
	.set SYS_seccomp, 317
	.set SYS_munmap, 11
	.set SYS_rt_sigreturn, 15
	.set SYS_clone, 56
	.set SYS_exit, 60
	.set SYS_sigaltstack, 131
	.set SYS_arch_prctl, 158
	.set SYS_futex, 202
	.set SYS_sched_yield, 24
	.set ARCH_SET_FS, 0x1002

	.globl stub_start
.Lpage:
stub_start:
	# Entered once, from stub_boot: unmap everything but this page and the
	# region below it (the image's stack and vdso), then serve the
	# sentry's requests.
	lea r12, [rip - 7]              # the page base (this instruction is 7 bytes)
	mov r13, [r12 + 0x808]          # region base
	mov eax, SYS_munmap
	xor edi, edi
	mov rsi, r13
	syscall                         # munmap(0, region)
	mov eax, SYS_munmap
	lea rdi, [r12 + 0x1000]
	mov rsi, [r12 + 0x800]
	sub rsi, rdi
	syscall                         # munmap(page end, top - page end)
	mov r12, r13                    # r12: slot 0, the control block

	jmp ctl_loop

	.globl stub_boot
stub_boot:
	# The entry point of a stub image (seccomp.go execs one per address
	# space): a fresh process whose mappings are this page, a stack and the
	# vdso, with every signal blocked and the memory file's and the
	# region's FDs open. Map the region, install the signal actions, the
	# mask and the filter, then start as above.
	lea r12, [rip + .Lpage]         # the page base
	mov r13, [r12 + 0x808]          # region base
	mov r14d, [r12 + 0x818]         # memory file FD
	mov rdi, r13
	mov rsi, r12
	sub rsi, r13                    # the region ends at this page
	mov edx, 3                      # PROT_READ|PROT_WRITE
	mov r10d, 0x11                  # MAP_SHARED|MAP_FIXED
	lea r8d, [r14 + 1]              # the region's FD
	xor r9d, r9d
	mov eax, SYS_mmap
	syscall
	mov edi, 123
	cmp rax, r13
	jne boot_fail
	lea edi, [r14 + 1]
	mov eax, SYS_close
	syscall
	mov r15d, 1                     # every signal: handled or ignored
boot_sig:
	lea rsi, [r12 + 0x840]
	mov rax, [r12 + 0x860]
	lea ecx, [r15 - 1]
	bt rax, rcx
	jnc boot_sig_set
	lea rsi, [r12 + 0x820]
boot_sig_set:
	mov edi, r15d
	xor edx, edx
	mov r10d, 8
	mov eax, SYS_rt_sigaction
	syscall                         # fails for SIGKILL and SIGSTOP only
	inc r15d
	cmp r15d, 64
	jbe boot_sig
	mov edi, 2                      # SIG_SETMASK
	lea rsi, [r12 + 0x868]
	xor edx, edx
	mov r10d, 8
	mov eax, SYS_rt_sigprocmask
	syscall
	mov edi, 38                     # PR_SET_NO_NEW_PRIVS
	mov esi, 1
	xor edx, edx
	xor r10d, r10d
	xor r8d, r8d
	mov eax, SYS_prctl
	syscall
	mov edi, 124
	test rax, rax
	jnz boot_fail
	mov edi, 1                      # SECCOMP_SET_MODE_FILTER
	xor esi, esi
	lea rdx, [r12 + 0x870]
	mov eax, SYS_seccomp
	syscall
	mov edi, 125
	test rax, rax
	jnz boot_fail
	jmp stub_start
boot_fail:
	mov eax, SYS_exit_group
	syscall

	.globl ctl_loop
ctl_loop:
	mov eax, [r12 + 0x80]
	cmp eax, 1
	je do_request
	lea rdi, [r12 + 0x80]
	xor esi, esi                    # FUTEX_WAIT (shared)
	xor edx, edx                    # while the word is 0
	xor r10d, r10d
	mov eax, SYS_futex
	syscall
	jmp ctl_loop
do_request:
	mov rax, [r12 + 0x88]
	mov rdi, [r12 + 0x90]
	mov rsi, [r12 + 0x98]
	mov rdx, [r12 + 0xa0]
	mov r10, [r12 + 0xa8]
	mov r8, [r12 + 0xb0]
	mov r9, [r12 + 0xb8]
	mov r13, [r12 + 0xc8]           # kept by a clone child
	syscall
	cmp qword ptr [r12 + 0x88], SYS_clone
	jne request_done
	test rax, rax
	jz thread_start
request_done:
	mov [r12 + 0xc0], rax
	mov dword ptr [r12 + 0x80], 2
	lea rdi, [r12 + 0x80]
	mov esi, 1                      # FUTEX_WAKE
	mov edx, 1
	mov eax, SYS_futex
	syscall
	jmp ctl_loop

thread_start:
	# A new thread: r13 is its slot. Take the slot's signal stack, then
	# trap: the handler reports the thread to the sentry, which gives it
	# the application registers to return into.
	lea rdi, [r13 + 0x40]
	xor esi, esi
	mov eax, SYS_sigaltstack
	syscall
	int3
	xor edi, edi
	mov eax, SYS_exit
	syscall

	.globl handler
handler:
	# Every host signal (SIGSYS from the filter, faults, the interrupt
	# signal) lands here on the slot's signal stack, with every signal
	# blocked: post the event, wait for the sentry, return through the
	# restorer into whatever registers the sentry left in the frame.
	mov r12, rsp
	and r12, -SLOT
	mov [r12 + 0x08], edi
	mov [r12 + 0x10], rsi
	mov [r12 + 0x18], rdx
post:
	mov eax, 1
	xchg [r12], eax                 # state = 1, a full barrier before the load below
	cmp dword ptr [r12 + 0x38], 0   # is the sentry asleep?
	je wait_resume
	mov rdi, r12
	mov esi, 1                      # FUTEX_WAKE the sentry
	mov edx, 1
	mov eax, SYS_futex
	syscall
wait_resume:
	mov ecx, dword ptr [r12 + 0x5c]
	test ecx, ecx
	jz wait_yield
busy:                                   # a few microseconds without a syscall:
	mov eax, [r12]                  # a sentry on another CPU answers in that
	cmp eax, 1                      # time, and a sched_yield costs more
	jne resumed
	cmp dword ptr [r12 + 0x58], 0
	jne sleep
	pause
	dec ecx
	jnz busy
wait_yield:
	mov ecx, dword ptr [rip + spin_count_local]
spin:
	mov eax, [r12]
	cmp eax, 1
	jne resumed
	cmp dword ptr [r12 + 0x58], 0
	jne sleep
	mov r13d, ecx
	mov eax, SYS_sched_yield         # let the sentry have this CPU if it shares it
	syscall
	mov ecx, r13d
	dec ecx
	jnz spin
sleep:
	mov eax, 1
	xchg [r12 + 0x3c], eax          # say we sleep, then sleep while state is 1
	mov rdi, r12
	xor esi, esi                    # FUTEX_WAIT
	mov edx, 1
	xor r10d, r10d
	mov eax, SYS_futex
	syscall
	mov dword ptr [r12 + 0x3c], 0
	jmp wait_resume
resumed:
	cmp eax, 4
	je run_request
	cmp eax, 3
	je thread_exit
	mov dword ptr [r12], 0
	cmp dword ptr [r12 + 0x28], 0
	je handler_return
	mov dword ptr [r12 + 0x28], 0
	mov edi, ARCH_SET_FS
	mov rsi, [r12 + 0x20]
	mov eax, SYS_arch_prctl
	syscall
handler_return:
	ret
run_request:
	# The sentry wants a host syscall made in this address space (mmap on
	# a fault, ...): this parked thread makes it, then posts again.
	mov rax, [r12 + 0x88]
	mov rdi, [r12 + 0x90]
	mov rsi, [r12 + 0x98]
	mov rdx, [r12 + 0xa0]
	mov r10, [r12 + 0xa8]
	mov r8, [r12 + 0xb0]
	mov r9, [r12 + 0xb8]
	syscall
	mov [r12 + 0xc0], rax
	jmp post
thread_exit:
	xor edi, edi
	mov eax, SYS_exit
	syscall

	.globl restorer
restorer:
	mov eax, SYS_rt_sigreturn
	syscall

	.globl stub_end
stub_end:

	# How many times the handler looks at the state word before it
	# sleeps; the sentry sets it when it writes the page.
	.org 0x810
	.globl spin_count
spin_count:
spin_count_local:
	.long 300
