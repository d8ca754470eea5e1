//go:build ignore

/*
 * stress: random system calls from several threads and processes.
 *
 *   stress [-s seconds] [-t threads] [-c children] [-m all|safe] [-S seed] [-v]
 *
 * For the given time, each worker (threads of the main process, plus one
 * worker in each of a few forked children, plus in "all" mode short-lived
 * threads that two of the main workers keep starting and joining: 256 calls
 * each) issues random syscall numbers
 * with random arguments through the raw `syscall` instruction, and checks
 * that every return is a Linux return: a value >= 0, or -4095..-1 (-errno).
 * A summary is printed at the end (calls made, errnos seen); the last line is
 * "stress: PASS" or "stress: FAIL", and the exit status 0 or 1.
 *
 * Modes.
 *   all   every syscall number 0..~470, numbers past the table and a few
 *         huge ones, minus the exclusions below. Meant to run under sbx,
 *         where nothing reaches the host.
 *   safe  only an allow-list of calls that cannot touch anything outside this
 *         process (no kill, no pid arguments that reach other processes, no
 *         path-changing calls, no sockets but socketpair, no privileged
 *         calls): it is run natively, as root, to prove the program itself.
 *
 * Arguments are drawn from: small ints, our own fds, pointers into a
 * per-thread scratch buffer (followed by a PROT_NONE guard page, so the kernel
 * can write through it with any length without reaching our memory), a fixed
 * set of invalid pointers (NULL, low pages, the guard page, a non-canonical
 * and a kernel address, -1), -1, 32-bit and 64-bit random values, boundary
 * values. The binary is static-pie so its data lies at a high address that
 * 32-bit random values never reach.
 *
 * Never issued (they would end the test or make it useless):
 *   exit, exit_group           end the thread/process
 *   rt_sigreturn               restores a garbage frame: certain crash
 *   vfork, clone3              a child sharing our memory and stack; clone3's
 *                              struct cannot be sanitized cheaply
 *   execve, execveat           would replace the program
 *   ptrace                     PTRACE_TRACEME stops us on every signal
 *   process_vm_writev          pids are small in the sandbox: writes random
 *                              bytes into our own memory
 *   userfaultfd                registering our own memory hangs our faults
 *   uretprobe (335)            Linux kills the caller with SIGILL unless it
 *                              is called from a uretprobe trampoline
 *   seccomp                    SECCOMP_MODE_STRICT kills us on the next call
 *   set_tid_address            harmless to Linux but glibc's thread exit
 *                              bookkeeping relies on it
 * Sanitized (called, with arguments made harmless):
 *   fork, clone                clone's flags lose CLONE_VM, VFORK, THREAD,
 *                              SIGHAND, SETTLS, PARENT, PTRACE and get
 *                              SIGCHLD; the stack is 0. A child exits at once.
 *   kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo,
 *   pidfd_send_signal          SIGKILL and SIGSTOP become 0 (every other
 *                              signal is handled or ignored)
 *   rt_sigaction               act is NULL (query only): our handlers stay
 *   rt_sigprocmask             allowed; the mask is cleared again after it
 *   rt_sigsuspend, ppoll, pselect6, epoll_pwait, epoll_pwait2
 *                              the temporary mask is empty/NULL, so the
 *                              watchdog's signal still interrupts them
 *   timer_create, mq_notify    sigevent NULL (a timer could send SIGKILL)
 *   fcntl                      F_SETSIG never SIGKILL/SIGSTOP
 *   futex                      the PI lock ops get an expired timeout
 *                              (they restart after a signal, and could wait
 *                              for a thread that never unlocks)
 *   setrlimit, prlimit64       never RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_RTTIME
 *                              (SIGKILL at the hard CPU limit)
 *   prctl                      never PR_SET_SECCOMP, PR_SET_TSC, PR_SET_MM,
 *                              PR_SET_SYSCALL_USER_DISPATCH
 *   arch_prctl                 only queries and invalid codes (SET_FS would
 *                              break TLS, shadow stacks break returns)
 *   mmap                       never MAP_FIXED (could map over our code);
 *                              no MAP_POPULATE/MAP_LOCKED; at most 1 GiB;
 *                              what it maps is unmapped at once
 *   munmap, mprotect, madvise, msync, mincore, mlock, munlock, mlock2,
 *   remap_file_pages, pkey_mprotect, mbind, mseal, mremap
 *                              the range lies inside a 4 MiB arena kept for
 *                              them (or length -1); mremap never
 *                              MREMAP_FIXED, and what it moves is unmapped
 *   shmat                      never SHM_REMAP
 *   brk                        only brk(0): shrinking the heap breaks malloc
 *   close, dup2, dup3, close_range
 *                              never our saved stdout (fd 1000)
 *
 * Blocking calls (read on an empty pipe, pause, wait4, futex waits, ...) are
 * interrupted by a watchdog thread in each process, which sends SIGUSR2 to a
 * worker that has been in the same call for two of its 20 ms ticks (our
 * handlers have no SA_RESTART, so the call fails with EINTR). A call still
 * blocked after 10 s is reported as STUCK with its arguments, and fails the
 * run. Synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS)
 * are ignored: a sent one is discarded, a real fault kills the process, which
 * the parent reports. Every other catchable signal has a handler (it only
 * counts), so no signal we send ourselves ends the test. Standard input,
 * output and error are /dev/null during the run; the summary goes to the
 * original stdout, kept at fd 1000.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUTFD 1000
#define MAXWORKERS 16
#define MAXCHILDREN 4
#define SCRATCH (64 * 1024)
#define ARENA (4 * 1024 * 1024)
#define NRMAX 480 /* past the last x86-64 syscall (mseal, 462) */
#define STUCK_TICKS 500 /* 500 x 20 ms = 10 s */
#define MAXBAD 16

typedef unsigned long u64;

/* ---- raw syscalls ----------------------------------------------------- */

static long raw6(long nr, u64 a, u64 b, u64 c, u64 d, u64 e, u64 f)
{
	long ret;
	register u64 r10 __asm__("r10") = d;
	register u64 r8 __asm__("r8") = e;
	register u64 r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define raw(nr, a, b, c) raw6((nr), (u64)(a), (u64)(b), (u64)(c), 0, 0, 0)

/* The signal trampoline our handlers return through. */
void stress_restorer(void);
__asm__(".text\n"
	".globl stress_restorer\n"
	"stress_restorer:\n"
	"\tmov $15, %rax\n"
	"\tsyscall\n"
	"\thlt\n");

struct ksigaction {
	void *handler;
	u64 flags;
	void *restorer;
	u64 mask;
};

/* ---- shared state ----------------------------------------------------- */

struct badcall {
	long nr;
	u64 a[6];
	long ret;
};

/* One per process tree, MAP_SHARED so the children's counts add up here. */
struct shared {
	u64 calls;
	u64 okcalls;
	u64 errcalls;
	u64 signals;
	u64 nbad;
	u64 errnos[4096];
	struct badcall bad[MAXBAD];
	u64 stuck;
	struct badcall stuckcall;
	int child_done[MAXCHILDREN];
	u64 child_calls[MAXCHILDREN];
};

struct worker {
	volatile long tid;
	volatile u64 seq;     /* incremented before each call */
	volatile int in_call; /* 1 while in a random call */
	volatile long nr;     /* the call, for STUCK reports */
	volatile u64 a[6];
	u64 rng;
	unsigned char *scratch;
	u64 calls;
	int index;
	/* Short-lived threads: a spawner's churn slot (see maybe_spawn). */
	u64 budget; /* calls to make before leaving; 0: until the deadline */
	double deadline;
	pthread_t th;
	int spawned;
	void *stack;
};

static struct shared *sh;
static struct worker workers[MAXWORKERS];
static int nworkers;
/* The first nchurn workers of the main process each keep starting a
 * short-lived thread (256 calls, then it returns) in slot churn_base + i. */
static int nchurn, churn_base;
static u64 churned;
#define CHURN_STACK (256 * 1024)
static volatile int stop;
static int safe_mode;
static int verbose; /* -v: print each call before making it */
static double seconds = 10;
static unsigned char *arena;
static int myfds[16];
static int nmyfds;
static char tmpdir[24];
static const struct timespec past = {0, 1};
static const u64 zeromask;

static void add(u64 *p, u64 n) { __atomic_fetch_add(p, n, __ATOMIC_RELAXED); }

static u64 xrand(u64 *s)
{
	/* xorshift64* */
	u64 x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- signals ---------------------------------------------------------- */

static void on_signal(int sig)
{
	(void)sig;
	if (sh)
		add(&sh->signals, 1);
}

static int sync_signal(int s)
{
	return s == SIGSEGV || s == SIGBUS || s == SIGILL || s == SIGFPE || s == SIGTRAP || s == SIGSYS;
}

static void setup_signals(void)
{
	for (int s = 1; s <= 64; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		struct ksigaction sa = {0};
		sa.handler = sync_signal(s) ? SIG_IGN : (void *)on_signal;
		sa.flags = 0x04000000; /* SA_RESTORER; no SA_RESTART */
		sa.restorer = stress_restorer;
		sa.mask = 0;
		raw6(SYS_rt_sigaction, s, (u64)&sa, 0, 8, 0, 0);
	}
	raw6(SYS_rt_sigprocmask, SIG_SETMASK, (u64)&zeromask, 0, 8, 0, 0);
}

/* ---- argument generation ------------------------------------------------ */

static u64 scratch_ptr(struct worker *w)
{
	u64 r = xrand(&w->rng);
	u64 off = r % SCRATCH;
	switch (r >> 60) {
	case 0: /* near the end: partial reads and writes */
		off = SCRATCH - (r >> 32) % 64;
		break;
	case 1:
		off = 0;
		break;
	default:
		if (r & (1UL << 40))
			off &= ~7UL;
	}
	return (u64)w->scratch + off;
}

static u64 bad_ptr(struct worker *w)
{
	static const u64 fixed[] = {0, 1, 0xfff, 0x1000, 0x10000, 0x7ffffffff000UL, 0x800000000000UL,
				    0xffff800000000000UL, 0xffffffff81000000UL, (u64)-1, (u64)-4096, 1UL << 63};
	u64 r = xrand(&w->rng);
	if (r % 4 == 0)
		return (u64)w->scratch + SCRATCH + (r >> 8) % 4096; /* the guard page */
	return fixed[(r >> 8) % (sizeof fixed / sizeof fixed[0])];
}

static u64 rand_arg(struct worker *w)
{
	static const u64 edges[] = {0x7fffffff, 0x80000000, 0xffffffff, 0x100000000UL, 0x7fffffffffffffffUL,
				    0x8000000000000000UL, 4096, 4095, 65536, 1UL << 20, 1UL << 30, 1UL << 40};
	u64 r = xrand(&w->rng);
	switch (r % 20) {
	case 0: case 1: case 2: case 3:
		return (r >> 8) % 8;
	case 4: case 5:
		return (r >> 8) % 256;
	case 6: case 7:
		return nmyfds ? (u64)myfds[(r >> 8) % nmyfds] : 3;
	case 8: case 9: case 10: case 11:
		return scratch_ptr(w);
	case 12:
		return bad_ptr(w);
	case 13:
		return (u64)-1;
	case 14:
		return (r >> 16) & 0xffffffff;
	case 15:
		return xrand(&w->rng);
	case 16:
		return edges[(r >> 8) % (sizeof edges / sizeof edges[0])];
	case 17:
		return 1UL << ((r >> 8) % 64);
	case 18:
		return (r >> 8) & 0xffff; /* flag-like bits */
	default:
		return (u64)-(long)((r >> 8) % 200); /* small negatives: AT_FDCWD is -100 */
	}
}

/* ---- what we call, and how ---------------------------------------------- */

/* safe_calls are the only calls of the native "safe" mode: they read our own
 * state, or act on our own fds and memory only. */
static const short safe_calls[] = {
	0 /* read */, 1 /* write */, 3 /* close */, 4 /* stat */, 5 /* fstat */, 6 /* lstat */,
	7 /* poll */, 8 /* lseek */, 9 /* mmap */, 10 /* mprotect */, 11 /* munmap */, 12 /* brk */,
	13 /* rt_sigaction */, 14 /* rt_sigprocmask */, 17 /* pread64 */,
	18 /* pwrite64 */, 19 /* readv */, 20 /* writev */, 21 /* access */, 23 /* select */,
	24 /* sched_yield */, 25 /* mremap */, 27 /* mincore */, 28 /* madvise */, 32 /* dup */,
	33 /* dup2 */, 34 /* pause */, 35 /* nanosleep */, 36 /* getitimer */, 37 /* alarm */,
	38 /* setitimer */, 39 /* getpid */, 45 /* recvfrom */, 44 /* sendto */, 46 /* sendmsg */,
	47 /* recvmsg */, 48 /* shutdown */, 53 /* socketpair */, 54 /* setsockopt */,
	55 /* getsockopt */, 57 /* fork */, 61 /* wait4 */, 63 /* uname */, 72 /* fcntl */,
	74 /* fsync */, 77 /* ftruncate */, 79 /* getcwd */, 89 /* readlink */, 96 /* gettimeofday */,
	97 /* getrlimit */, 98 /* getrusage */, 99 /* sysinfo */, 100 /* times */, 102 /* getuid */,
	104 /* getgid */, 107 /* geteuid */, 108 /* getegid */, 110 /* getppid */, 111 /* getpgrp */,
	115 /* getgroups */, 118 /* getresuid */, 120 /* getresgid */, 121 /* getpgid */,
	124 /* getsid */, 127 /* rt_sigpending */, 130 /* rt_sigsuspend */, 131 /* sigaltstack */,
	140 /* getpriority */, 143 /* sched_getparam */, 145 /* sched_getscheduler */,
	186 /* gettid */, 201 /* time */, 202 /* futex */, 204 /* sched_getaffinity */,
	217 /* getdents64 */, 228 /* clock_gettime */, 229 /* clock_getres */,
	230 /* clock_nanosleep */, 232 /* epoll_wait */, 233 /* epoll_ctl */, 247 /* waitid */,
	262 /* newfstatat */, 267 /* readlinkat */, 269 /* faccessat */, 270 /* pselect6 */,
	271 /* ppoll */, 283 /* timerfd_create */, 286 /* timerfd_settime */,
	287 /* timerfd_gettime */, 290 /* eventfd2 */, 291 /* epoll_create1 */, 292 /* dup3 */,
	293 /* pipe2 */, 295 /* preadv */, 296 /* pwritev */, 309 /* getcpu */, 318 /* getrandom */,
	319 /* memfd_create */, 332 /* statx */, 439 /* faccessat2 */,
	/* never implemented on x86-64: ENOSYS natively */
	500, 600, 1000,
};

/* common_calls are what real programs use: half of the "all" mode's calls
 * come from here, so that implemented handlers get past their first checks
 * more often than a uniform pick over 0..479 (mostly ENOSYS) would. */
static const short common_calls[] = {
	0, 1, 2 /* open */, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 16 /* ioctl */, 17, 18, 19, 20, 21, 22 /* pipe */,
	23, 25, 28, 32, 33, 34, 35, 39, 40 /* sendfile */, 41 /* socket */, 42 /* connect */,
	43 /* accept */, 44, 45, 46, 47, 48, 49 /* bind */, 50 /* listen */, 51, 52, 53, 54, 55,
	56 /* clone */, 57, 61, 62 /* kill */, 63, 72, 73 /* flock */, 74, 76 /* truncate */, 77,
	78 /* getdents */, 79, 80 /* chdir */, 81 /* fchdir */, 82 /* rename */, 83 /* mkdir */,
	84 /* rmdir */, 86 /* link */, 87 /* unlink */, 88 /* symlink */, 89, 90 /* chmod */,
	91 /* fchmod */, 95 /* umask */, 97, 102, 109 /* setpgid */, 112 /* setsid */, 130, 131,
	157 /* prctl */, 158, 160, 186, 200 /* tkill */, 202, 217, 222 /* timer_create */,
	223 /* timer_settime */, 226 /* timer_delete */, 228, 230, 232, 233, 234 /* tgkill */,
	247, 257 /* openat */, 258 /* mkdirat */, 259 /* mknodat */, 262, 263 /* unlinkat */,
	264 /* renameat */, 265 /* linkat */, 266 /* symlinkat */, 267, 268 /* fchmodat */, 270, 271,
	275 /* splice */, 276 /* tee */, 280 /* utimensat */, 281, 282 /* signalfd */, 283, 285 /* fallocate */,
	286, 288 /* accept4 */, 289 /* signalfd4 */, 290, 291, 292, 293, 302, 316 /* renameat2 */,
	318, 319, 326 /* copy_file_range */, 332, 434 /* pidfd_open */, 436 /* close_range */,
	437 /* openat2 */, 439, 441,
};

static int excluded(long nr)
{
	switch (nr) {
	case 15:  /* rt_sigreturn */
	case 58:  /* vfork */
	case 59:  /* execve */
	case 60:  /* exit */
	case 101: /* ptrace */
	case 218: /* set_tid_address */
	case 231: /* exit_group */
	case 311: /* process_vm_writev */
	case 317: /* seccomp */
	case 322: /* execveat */
	case 323: /* userfaultfd */
	case 335: /* uretprobe: SIGILL unless called from a uretprobe trampoline */
	case 435: /* clone3 */
		return 1;
	}
	/* x32 versions of calls: rt_sigreturn (513), execve (520), execveat (545), ... */
	return nr >= 512 && nr <= 547;
}

static void arena_range(struct worker *w, u64 *addr, u64 *len)
{
	u64 r = xrand(&w->rng);
	u64 off = r % ARENA;
	if (r & 1)
		off &= ~4095UL;
	*addr = (u64)arena + off;
	if ((r >> 8) % 16 == 0)
		*len = (u64)-1;
	else
		*len = (r >> 16) % (ARENA - off + 1);
}

static int bad_signal(u64 s) { return (int)s == SIGKILL || (int)s == SIGSTOP; }

/* sanitize makes the call harmless to the test (see the comment at the top).
 * It returns 0 when the call must not be made. */
static int sanitize(struct worker *w, long nr, u64 *a)
{
	if (excluded(nr))
		return 0;
	for (int i = 0; i < 6; i++)
		if (a[i] == OUTFD)
			a[i] = (u64)-1;
	switch (nr) {
	case 9: /* mmap */
		a[3] &= ~(u64)(MAP_FIXED | MAP_POPULATE | MAP_LOCKED);
		if (a[1] > (1UL << 30) && a[1] < (1UL << 47))
			a[1] %= 1UL << 30;
		break;
	case 10: case 11: case 26: case 27: case 28: case 149: case 150: case 216: case 237:
	case 325: case 329: case 462:
		arena_range(w, &a[0], &a[1]);
		if (nr == 28 && (a[2] == 100 || a[2] == 101)) /* MADV_HWPOISON, MADV_SOFT_OFFLINE */
			a[2] = 0;
		break;
	case 25: /* mremap */
		arena_range(w, &a[0], &a[1]);
		a[2] %= 1UL << 30;
		a[3] &= ~2UL; /* MREMAP_FIXED */
		break;
	case 12: /* brk */
		a[0] = 0;
		break;
	case 13: /* rt_sigaction */
		a[1] = 0;
		break;
	case 30: /* shmat */
		a[2] &= ~(u64)040000; /* SHM_REMAP */
		break;
	case 56: /* clone */
		a[0] &= ~(u64)(0x100 | 0x4000 | 0x10000 | 0x800 | 0x80000 | 0x8000 | 0x2000 | 0xff);
		a[0] |= SIGCHLD;
		a[1] = 0;
		break;
	case 62: case 129: case 200: case 424: /* kill, rt_sigqueueinfo, tkill, pidfd_send_signal */
		if (bad_signal(a[1]))
			a[1] = 0;
		break;
	case 234: case 297: /* tgkill, rt_tgsigqueueinfo */
		if (bad_signal(a[2]))
			a[2] = 0;
		break;
	case 72: /* fcntl */
		if ((int)a[1] == F_SETSIG && bad_signal(a[2]))
			a[2] = 0;
		break;
	case 130: /* rt_sigsuspend */
		a[0] = (u64)&zeromask;
		a[1] = 8;
		break;
	case 157: /* prctl */
		if ((int)a[0] == 22 || (int)a[0] == 26 || (int)a[0] == 35 || (int)a[0] == 59)
			a[0] = 0xdead;
		break;
	case 158: { /* arch_prctl */
		static const u64 codes[] = {0x1011 /* GET_CPUID */, 0x1003 /* GET_FS */, 0x1004 /* GET_GS */,
					    0x1021 /* GET_XCOMP_SUPP */, 0x1022 /* GET_XCOMP_PERM */,
					    0x3001 /* GET_UNTAG_MASK */, 0, 0xdead};
		a[0] = codes[a[0] % (sizeof codes / sizeof codes[0])];
		break;
	}
	case 160: /* setrlimit */
		if ((int)a[0] == RLIMIT_CPU || (int)a[0] == RLIMIT_FSIZE || (int)a[0] == RLIMIT_RTTIME)
			a[0] = 0xdead;
		break;
	case 302: /* prlimit64 */
		if ((int)a[1] == RLIMIT_CPU || (int)a[1] == RLIMIT_FSIZE || (int)a[1] == RLIMIT_RTTIME)
			a[1] = 0xdead;
		break;
	case 202: { /* futex */
		int cmd = (int)a[1] & ~(128 | 256);
		if (cmd == 6 || cmd == 11 || cmd == 13) /* LOCK_PI, WAIT_REQUEUE_PI, LOCK_PI2 */
			a[3] = (u64)&past;
		break;
	}
	case 222: /* timer_create */
	case 244: /* mq_notify */
		a[1] = 0;
		break;
	case 270: /* pselect6 */
		a[5] = 0;
		break;
	case 271: /* ppoll */
		a[3] = 0;
		break;
	case 281: case 441: /* epoll_pwait, epoll_pwait2 */
		a[4] = 0;
		break;
	case 436: /* close_range */
		if ((unsigned)a[0] <= OUTFD && (unsigned)a[1] >= OUTFD) {
			if ((unsigned)a[0] == OUTFD)
				return 0;
			a[1] = OUTFD - 1;
		}
		break;
	}
	return 1;
}

/* undo cleans up after a call that succeeded (ret >= 0). */
static void undo(long nr, const u64 *a, long ret)
{
	switch (nr) {
	case 9: /* mmap: give the memory back */
		raw(SYS_munmap, ret, a[1], 0);
		break;
	case 25: /* mremap: what moved out of the arena goes */
		if ((u64)ret != a[0])
			raw(SYS_munmap, ret, a[2], 0);
		else if (a[0] + a[2] > (u64)arena + ARENA)
			raw(SYS_munmap, (u64)arena + ARENA, a[0] + a[2] - ((u64)arena + ARENA), 0);
		break;
	}
}

/* ---- per-process setup ------------------------------------------------- */

static void fill_scratch(struct worker *w)
{
	static const char *strs[] = {"/dev/null", "/proc/self/status", ".", "/", "", "/tmp", "a", "..",
				     "/dev/zero", "/etc/passwd", "b", "c/d", "/proc/self/fd/3", "/dev/pts/ptmx",
				     "/proc/self/maps"};
	u64 *q = (u64 *)w->scratch;
	for (int i = 0; i < SCRATCH / 16; i++) {
		u64 r = xrand(&w->rng);
		switch (r % 5) {
		case 0:
			q[2 * i] = xrand(&w->rng);
			q[2 * i + 1] = xrand(&w->rng);
			break;
		case 1: /* an iovec-like pair */
			q[2 * i] = (u64)w->scratch + (r >> 8) % SCRATCH;
			q[2 * i + 1] = (r >> 40) % 512;
			break;
		case 2: /* small numbers */
			q[2 * i] = (r >> 8) % 64;
			q[2 * i + 1] = (r >> 16) % 4096;
			break;
		case 3: /* a path, in this slot and the next */
			if (i + 1 == SCRATCH / 16)
				break;
			if (r & (1UL << 32))
				snprintf((char *)&q[2 * i], 32, "%s", strs[(r >> 8) % (sizeof strs / sizeof strs[0])]);
			else
				snprintf((char *)&q[2 * i], 32, "%s/%c", tmpdir, "abcdf"[(r >> 8) % 5]);
			i++;
			break;
		default:
			q[2 * i] = 0;
			q[2 * i + 1] = 0;
		}
	}
}

/* refresh gives the process a known set of fds to play with (closing what
 * random calls left open), a fresh arena, and reaps exited children. */
static void refresh(void)
{
	nmyfds = 0;
	if (raw(SYS_close_range, 3, OUTFD - 1, 0) != 0)
		for (int fd = 3; fd < 256; fd++)
			raw(SYS_close, fd, 0, 0);
	raw(SYS_close_range, OUTFD + 1, ~0U, 0);
	int p[2];
	if (pipe2(p, O_NONBLOCK) == 0) {
		myfds[nmyfds++] = p[0];
		myfds[nmyfds++] = p[1];
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
		myfds[nmyfds++] = sv[0];
		myfds[nmyfds++] = sv[1];
	}
	char path[96];
	snprintf(path, sizeof path, "%s/f", tmpdir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0)
		myfds[nmyfds++] = fd;
	fd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0)
		myfds[nmyfds++] = fd;
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0)
		myfds[nmyfds++] = fd;
	fd = open("/dev/zero", O_RDONLY);
	if (fd >= 0)
		myfds[nmyfds++] = fd;
	fd = (int)raw(SYS_eventfd2, 0, O_NONBLOCK, 0);
	if (fd >= 0)
		myfds[nmyfds++] = fd;
	fd = (int)raw(SYS_memfd_create, (u64) "stress", 0, 0);
	if (fd >= 0)
		myfds[nmyfds++] = fd;
	fd = (int)raw(SYS_epoll_create1, 0, 0, 0);
	if (fd >= 0)
		myfds[nmyfds++] = fd;
	void *m = mmap(arena, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	(void)m; /* sealed by a random mseal: keep what is there */
	int st;
	while (raw6(SYS_wait4, -1, (u64)&st, WNOHANG | __WALL, 0, 0, 0) > 0)
		;
}

/* ---- workers ------------------------------------------------------------ */

static long pick_nr(struct worker *w)
{
	u64 r = xrand(&w->rng);
	if (safe_mode)
		return safe_calls[r % (sizeof safe_calls / sizeof safe_calls[0])];
	switch ((r >> 56) % 64) {
	case 0: case 1: case 2: /* past the table */
		return NRMAX + (r % (2048 - NRMAX));
	case 3: /* the x32 bit */
		return 0x40000000 | (r % NRMAX);
	case 4: /* anything at all */
		return (long)xrand(&w->rng);
	default:
		if (r & (1UL << 40))
			return common_calls[r % (sizeof common_calls / sizeof common_calls[0])];
		return r % NRMAX;
	}
}

static void record_bad(long nr, const u64 *a, long ret)
{
	u64 i = __atomic_fetch_add(&sh->nbad, 1, __ATOMIC_RELAXED);
	if (i < MAXBAD) {
		sh->bad[i].nr = nr;
		memcpy(sh->bad[i].a, a, sizeof sh->bad[i].a);
		sh->bad[i].ret = ret;
	}
}

static void one_call(struct worker *w)
{
	long nr = pick_nr(w);
	u64 a[6];
	for (int i = 0; i < 6; i++)
		a[i] = rand_arg(w);
	/* Linux takes the number as an int; sanitize by what it will run. */
	int low = (int)nr;
	long base = low >= 0 ? (low & ~0x40000000) : -1;
	if (base >= 0 && base < 2048 && !sanitize(w, base, a))
		return;
	w->nr = nr;
	for (int i = 0; i < 6; i++)
		w->a[i] = a[i];
	if (verbose)
		dprintf(OUTFD, "stress: [%ld] syscall %ld (%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)\n", w->tid, nr, a[0], a[1],
			a[2], a[3], a[4], a[5]);
	w->seq++;
	__atomic_store_n(&w->in_call, 1, __ATOMIC_SEQ_CST);
	long ret = raw6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	__atomic_store_n(&w->in_call, 0, __ATOMIC_SEQ_CST);
	if (ret == 0 && (base == 56 || base == 57))
		raw(SYS_exit_group, 0, 0, 0); /* the child of a fork or clone */
	w->calls++;
	add(&sh->calls, 1);
	if (ret >= 0) {
		add(&sh->okcalls, 1);
		undo(base, a, ret);
	} else if (ret >= -4095) {
		add(&sh->errcalls, 1);
		add(&sh->errnos[-ret], 1);
	} else if (!(base == 72 && (int)a[1] == F_GETOWN)) {
		/* fcntl(F_GETOWN) returns a negative process group: Linux's own
		 * exception to the rule. */
		record_bad(nr, a, ret);
	}
	if (base == 14) /* rt_sigprocmask: our signals must stay deliverable */
		raw6(SYS_rt_sigprocmask, SIG_SETMASK, (u64)&zeromask, 0, 8, 0, 0);
}

static void maybe_spawn(struct worker *w);

static void run_worker(struct worker *w, double deadline)
{
	w->tid = raw(SYS_gettid, 0, 0, 0);
	fill_scratch(w);
	for (;;) {
		for (int i = 0; i < 64; i++)
			one_call(w);
		if (stop || now() >= deadline || (w->budget && w->calls >= w->budget))
			break;
		if (w->calls % 1024 < 64)
			fill_scratch(w);
		if (w->index < nchurn && w->calls % 512 < 64)
			maybe_spawn(w);
	}
}

static void *worker_thread(void *p)
{
	struct worker *w = p;
	run_worker(w, w->deadline);
	__atomic_store_n(&w->tid, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

/* maybe_spawn starts w's short-lived thread again once the last one is gone.
 * Its stack is ours (a random mmap may land anywhere, and the arena is
 * remapped under whatever lies in it), so it is joined before reuse:
 * pthread_join waits for the kernel to clear the thread's tid at its exit
 * (CLONE_CHILD_CLEARTID and a futex wake). */
static void maybe_spawn(struct worker *w)
{
	struct worker *c = &workers[churn_base + w->index];
	if (c->spawned) {
		if (__atomic_load_n(&c->tid, __ATOMIC_SEQ_CST) != 0)
			return;
		pthread_join(c->th, NULL);
		c->spawned = 0;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, c->stack, CHURN_STACK);
	c->budget = c->calls + 256;
	c->deadline = w->deadline;
	c->rng ^= w->calls;
	__atomic_store_n(&c->tid, -1, __ATOMIC_SEQ_CST);
	if (pthread_create(&c->th, &attr, worker_thread, c) == 0) {
		c->spawned = 1;
		churned++;
	} else {
		__atomic_store_n(&c->tid, 0, __ATOMIC_SEQ_CST);
	}
	pthread_attr_destroy(&attr);
}

/* The watchdog interrupts workers blocked in a call, reports calls that
 * cannot be interrupted, and refreshes the process's fds every second. */
static void *watchdog(void *p)
{
	(void)p;
	u64 lastseq[MAXWORKERS] = {0};
	int ticks[MAXWORKERS] = {0};
	struct timespec tick = {0, 20 * 1000 * 1000};
	int n = 0;
	long pid = raw(SYS_getpid, 0, 0, 0);
	while (!stop) {
		nanosleep(&tick, NULL);
		if (++n % 50 == 0)
			refresh();
		for (int i = 0; i < nworkers; i++) {
			struct worker *w = &workers[i];
			if (w->tid == 0 || !w->in_call || w->seq != lastseq[i]) {
				lastseq[i] = w->seq;
				ticks[i] = 0;
				continue;
			}
			if (++ticks[i] == STUCK_TICKS && __atomic_fetch_add(&sh->stuck, 1, __ATOMIC_RELAXED) == 0) {
				sh->stuckcall.nr = w->nr;
				for (int j = 0; j < 6; j++)
					sh->stuckcall.a[j] = w->a[j];
			}
			raw(SYS_tgkill, pid, w->tid, SIGUSR2);
		}
	}
	return NULL;
}

static unsigned char *new_scratch(void)
{
	unsigned char *p = mmap(NULL, SCRATCH + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		dprintf(OUTFD, "stress: mmap scratch: %s\n", strerror(errno));
		exit(1);
	}
	mprotect(p + SCRATCH, 4096, PROT_NONE);
	return p;
}

/* start_workers starts n workers, and churn slots for the first churn. */
static void start_workers(int n, int churn, u64 seed, double deadline)
{
	nchurn = churn;
	churn_base = n;
	nworkers = n + churn;
	for (int i = 0; i < n + churn; i++) {
		struct worker *w = &workers[i];
		w->index = i;
		w->rng = seed * 0x9E3779B97F4A7C15ULL + (u64)i * 7919 + 1;
		w->scratch = new_scratch();
		w->deadline = deadline;
		if (i >= n) {
			w->stack = mmap(NULL, CHURN_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (w->stack == MAP_FAILED) {
				dprintf(OUTFD, "stress: mmap stack: %s\n", strerror(errno));
				exit(1);
			}
		}
	}
	for (int i = 0; i < n; i++) {
		struct worker *w = &workers[i];
		w->tid = -1; /* running, tid not known yet */
		if (pthread_create(&w->th, NULL, worker_thread, w) != 0) {
			dprintf(OUTFD, "stress: pthread_create failed\n");
			exit(1);
		}
	}
}

/* wait_workers waits for every worker to leave its loop, up to limit. */
static int wait_workers(double limit)
{
	struct timespec t = {0, 10 * 1000 * 1000};
	for (;;) {
		int running = 0;
		for (int i = 0; i < nworkers; i++)
			running += workers[i].tid != 0;
		if (!running)
			return 1;
		if (now() > limit)
			return 0;
		nanosleep(&t, NULL);
	}
}

/* ---- main --------------------------------------------------------------- */

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

static void usage(void)
{
	fprintf(stderr, "usage: stress [-s seconds] [-t threads] [-c children] [-m all|safe] [-S seed] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int threads = 4, children = 2, opt;
	u64 seed = 0;
	while ((opt = getopt(argc, argv, "s:t:c:m:S:v")) != -1) {
		switch (opt) {
		case 's': seconds = atof(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'c': children = atoi(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'v': verbose = 1; break;
		case 'm':
			if (strcmp(optarg, "safe") == 0)
				safe_mode = 1;
			else if (strcmp(optarg, "all") != 0)
				usage();
			break;
		default: usage();
		}
	}
	if (threads < 1 || threads > MAXWORKERS - 2 || children < 0 || children > MAXCHILDREN || seconds <= 0)
		usage();
	if (seed == 0)
		seed = (u64)time(NULL) ^ ((u64)getpid() << 32);

	/* Keep stdout at OUTFD; stdin, stdout and stderr become /dev/null. */
	if (dup2(1, OUTFD) != OUTFD) {
		perror("dup2");
		return 1;
	}
	int null = open("/dev/null", O_RDWR);
	if (null < 0) {
		perror("/dev/null");
		return 1;
	}
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close(null);

	struct rlimit fsz = {16 << 20, 16 << 20};
	setrlimit(RLIMIT_FSIZE, &fsz);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/stress.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		dprintf(OUTFD, "stress: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (chdir(tmpdir) != 0) {
		dprintf(OUTFD, "stress: chdir %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || arena == MAP_FAILED) {
		dprintf(OUTFD, "stress: mmap: %s\n", strerror(errno));
		return 1;
	}
	dprintf(OUTFD, "stress: mode=%s seconds=%g threads=%d children=%d seed=%#lx\n", safe_mode ? "safe" : "all",
		seconds, threads, children, seed);
	setup_signals();
	refresh();
	double start = now(), deadline = start + seconds;
	pthread_t wd;

	pid_t kids[MAXCHILDREN];
	for (int c = 0; c < children; c++) {
		kids[c] = fork();
		if (kids[c] < 0) {
			dprintf(OUTFD, "stress: fork: %s\n", strerror(errno));
			return 1;
		}
		if (kids[c] == 0) {
			/* A child: one worker and its own watchdog. */
			start_workers(1, 0, seed + 1000 * (c + 1), deadline);
			pthread_create(&wd, NULL, watchdog, NULL);
			wait_workers(deadline + 15);
			sh->child_calls[c] = workers[0].calls;
			__atomic_store_n(&sh->child_done[c], 1, __ATOMIC_SEQ_CST);
			raw(SYS_exit_group, 0, 0, 0);
		}
	}
	start_workers(threads, safe_mode ? 0 : (threads < 2 ? threads : 2), seed, deadline);
	pthread_create(&wd, NULL, watchdog, NULL);
	int finished = wait_workers(deadline + 15);

	/* The children report through sh; wait for them (they may have been
	 * reaped already by a random wait4, so their flag is what counts). */
	int fail = 0;
	for (int c = 0; c < children; c++) {
		while (!__atomic_load_n(&sh->child_done[c], __ATOMIC_SEQ_CST) && now() < deadline + 20) {
			int st;
			long r = raw6(SYS_wait4, kids[c], (u64)&st, WNOHANG | __WALL, 0, 0, 0);
			if (r == kids[c] && !__atomic_load_n(&sh->child_done[c], __ATOMIC_SEQ_CST)) {
				dprintf(OUTFD, "stress: child %d (pid %d) died before finishing: status %#x\n", c, kids[c], st);
				break;
			}
			struct timespec t = {0, 10 * 1000 * 1000};
			nanosleep(&t, NULL);
		}
		if (!sh->child_done[c]) {
			dprintf(OUTFD, "stress: FAIL child %d (pid %d) did not finish\n", c, kids[c]);
			fail = 1;
		}
	}
	stop = 1;
	double took = now() - start;

	u64 main_calls = 0;
	for (int i = 0; i < nworkers; i++)
		main_calls += workers[i].calls;
	dprintf(OUTFD, "stress: calls=%lu ok=%lu errors=%lu bad=%lu signals=%lu seconds=%.1f\n", sh->calls,
		sh->okcalls, sh->errcalls, sh->nbad, sh->signals, took);
	dprintf(OUTFD, "stress: calls per worker: main");
	for (int i = 0; i < threads; i++)
		dprintf(OUTFD, " %lu", workers[i].calls);
	for (int c = 0; c < children; c++)
		dprintf(OUTFD, ", child%d %lu", c, sh->child_calls[c]);
	dprintf(OUTFD, "; short-lived threads %lu, their calls", churned);
	for (int i = churn_base; i < nworkers; i++)
		dprintf(OUTFD, " %lu", workers[i].calls);
	dprintf(OUTFD, "\n");
	int distinct = 0;
	for (int e = 1; e < 4096; e++)
		distinct += sh->errnos[e] != 0;
	dprintf(OUTFD, "stress: distinct errnos=%d:", distinct);
	for (int e = 1; e < 4096; e++)
		if (sh->errnos[e])
			dprintf(OUTFD, " %s=%lu", e < 134 ? errname(e) : "E?", sh->errnos[e]);
	dprintf(OUTFD, "\n");
	for (u64 i = 0; i < sh->nbad && i < MAXBAD; i++) {
		struct badcall *b = &sh->bad[i];
		dprintf(OUTFD, "stress: BAD return %ld (%#lx) from syscall %ld (%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)\n", b->ret,
			(u64)b->ret, b->nr, b->a[0], b->a[1], b->a[2], b->a[3], b->a[4], b->a[5]);
	}
	if (sh->nbad)
		fail = 1;
	if (sh->stuck) {
		struct badcall *b = &sh->stuckcall;
		dprintf(OUTFD, "stress: STUCK for %d s in syscall %ld (%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)\n",
			STUCK_TICKS / 50, b->nr, b->a[0], b->a[1], b->a[2], b->a[3], b->a[4], b->a[5]);
		fail = 1;
	}
	if (!finished) {
		dprintf(OUTFD, "stress: FAIL workers still running 15 s after the deadline\n");
		fail = 1;
	}
	if (sh->calls == 0 || main_calls == 0)
		fail = 1;
	char path[96];
	snprintf(path, sizeof path, "%s/f", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	dprintf(OUTFD, "stress: %s\n", fail ? "FAIL" : "PASS");
	raw(SYS_exit_group, fail, 0, 0);
	return fail;
}
