//go:build ignore

/*
 * sig_handlers.c - delivering signals to handlers: raise, kill and tgkill;
 * the siginfo an SA_SIGINFO handler gets; the mask in force while a handler
 * runs (sa_mask, the signal itself, SA_NODEFER) and how sigreturn restores
 * it; SA_RESETHAND; SA_RESTART against EINTR for a blocking pipe read;
 * SA_ONSTACK with sigaltstack; nested handlers; leaving a handler with
 * siglongjmp; registers and floating-point state preserved across a handler;
 * hardware faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) with their
 * si_code and si_addr; SIGCHLD on child exit; SIGPIPE.
 *
 * Follows sigaction(2) (DESCRIPTION: sa_mask, SA_NODEFER, SA_RESETHAND,
 * SA_RESTART, SA_ONSTACK, SA_SIGINFO; "The siginfo_t argument to a
 * SA_SIGINFO handler": si_signo, si_code (SI_USER, SI_TKILL, SEGV_MAPERR,
 * SEGV_ACCERR, BUS_ADRERR, FPE_INTDIV, CLD_EXITED), si_pid, si_uid, si_addr,
 * si_status; "The ucontext argument"), signal(7) ("Interruption of system
 * calls and library functions by signal handlers": read on a pipe is
 * restarted with SA_RESTART and fails with EINTR without it), sigaltstack(2),
 * sigreturn(2) (the mask and registers come back from the signal frame),
 * sigsetjmp(3) (savesigs), raise(3), tgkill(2), pipe(7) and write(2) (EPIPE,
 * SIGPIPE), mmap(2) (SIGBUS beyond the end of the file).
 *
 * Linux-specific details that the manual pages leave open and these cases
 * pin down: ud2 raises SIGILL with si_code ILL_ILLOPN and si_addr at the
 * instruction; int3 raises SIGTRAP with si_code SI_KERNEL and resumes after
 * the instruction when the handler returns.
 *
 * x86-64 only (inline assembly for ud2, int3 and the register checks).
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/fsutil.h"

#include <poll.h>
#include <setjmp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <ucontext.h>

static volatile sig_atomic_t hits, depth, max_depth;
static volatile uint64_t mask_in_handler;
static volatile int last_sig;
static siginfo_t last_info;
static char order[16];
static volatile int norder;

static void count_handler(int sig) {
  last_sig = sig;
  hits++;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask_in_handler, 8);
}

static void info_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  last_sig = sig;
  last_info = *si;
  hits++;
}

static void reset_counts(void) {
  hits = depth = max_depth = 0;
  last_sig = 0;
  norder = 0;
  memset(order, 0, sizeof order);
  memset(&last_info, 0, sizeof last_info);
}

TEST(handler_runs_on_raise) {
  reset_counts();
  on_signal(SIGUSR1, count_handler, 0);
  CHECK_EQ(raise(SIGUSR1), 0);
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_sig, SIGUSR1);
}

TEST(handler_runs_on_kill_self) {
  reset_counts();
  on_signal(SIGUSR2, count_handler, 0);
  CHECK_EQ(syscall(SYS_kill, getpid(), SIGUSR2), 0);
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_sig, SIGUSR2);
}

TEST(handler_runs_on_tgkill) {
  reset_counts();
  on_signal(SIGTERM, count_handler, 0);
  CHECK_EQ(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGTERM), 0);
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_sig, SIGTERM);
}

TEST(handler_runs_for_realtime_signal) {
  reset_counts();
  on_signal(SIGRTMIN + 3, count_handler, 0);
  CHECK_EQ(syscall(SYS_kill, getpid(), SIGRTMIN + 3), 0);
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_sig, SIGRTMIN + 3);
}

TEST(siginfo_from_kill) {
  reset_counts();
  on_siginfo(SIGUSR1, info_handler, 0);
  CHECK_EQ(syscall(SYS_kill, getpid(), SIGUSR1), 0);
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_info.si_signo, SIGUSR1);
  CHECK_EQ(last_info.si_code, SI_USER);
  CHECK_EQ(last_info.si_pid, getpid());
  CHECK_EQ(last_info.si_uid, getuid());
}

TEST(siginfo_from_tgkill) {
  reset_counts();
  on_siginfo(SIGUSR2, info_handler, 0);
  CHECK_EQ(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2), 0);
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_info.si_signo, SIGUSR2);
  CHECK_EQ(last_info.si_code, SI_TKILL);
  CHECK_EQ(last_info.si_pid, getpid());
  CHECK_EQ(last_info.si_uid, getuid());
}

TEST(siginfo_from_child_kill) {
  reset_counts();
  uint64_t old = raw_mask();
  block_sig(SIGUSR1);
  on_siginfo(SIGUSR1, info_handler, 0);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(kill(getppid(), SIGUSR1) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK(raw_pending() & SIGBIT(SIGUSR1));
  CHECK_EQ(hits, 0);
  raw_setmask(old);
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_info.si_code, SI_USER);
  CHECK_EQ(last_info.si_pid, pid);
  CHECK_EQ(last_info.si_uid, getuid());
}

TEST(sa_mask_and_signal_blocked_during_handler) {
  reset_counts();
  uint64_t before = raw_mask();
  CHECK(!(before & (SIGBIT(SIGUSR1) | SIGBIT(SIGUSR2) | SIGBIT(SIGHUP))));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = count_handler;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  sigaddset(&sa.sa_mask, SIGHUP);
  CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
  CHECK_OK(raise(SIGUSR1));
  CHECK_EQ(hits, 1);
  CHECK_EQ(mask_in_handler, before | SIGBIT(SIGUSR1) | SIGBIT(SIGUSR2) | SIGBIT(SIGHUP));
  /* restored on return */
  CHECK_EQ(raw_mask(), before);
}

static void reraise_handler(int sig) {
  depth++;
  if (depth > max_depth) max_depth = depth;
  hits++;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask_in_handler, 8);
  if (hits == 1) syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), sig);
  depth--;
}

TEST(same_signal_deferred_until_handler_returns) {
  reset_counts();
  on_signal(SIGUSR1, reraise_handler, 0);
  CHECK_OK(raise(SIGUSR1));
  /* the second delivery waited for the first handler to return */
  CHECK_EQ(hits, 2);
  CHECK_EQ(max_depth, 1);
}

TEST(sa_nodefer_allows_reentry) {
  reset_counts();
  uint64_t before = raw_mask();
  on_signal(SIGUSR1, reraise_handler, SA_NODEFER);
  CHECK_OK(raise(SIGUSR1));
  CHECK_EQ(hits, 2);
  CHECK_EQ(max_depth, 2);
  CHECK(!(mask_in_handler & SIGBIT(SIGUSR1)));
  CHECK_EQ(raw_mask(), before);
}

static volatile void *disp_in_handler;
static void resethand_handler(int sig) {
  struct sigaction cur;
  sigaction(sig, NULL, &cur);
  disp_in_handler = (void *)cur.sa_handler;
  hits++;
}

TEST(sa_resethand_restores_default) {
  reset_counts();
  on_signal(SIGUSR2, resethand_handler, SA_RESETHAND);
  CHECK_OK(raise(SIGUSR2));
  CHECK_EQ(hits, 1);
  /* already the default while the handler ran */
  CHECK(disp_in_handler == (void *)SIG_DFL);
  struct sigaction cur;
  CHECK_OK(sigaction(SIGUSR2, NULL, &cur));
  CHECK(cur.sa_handler == SIG_DFL);
  /* so a second SIGUSR2 would kill: check that in a child */
  on_signal(SIGUSR2, resethand_handler, SA_RESETHAND);
  pid_t pid = xfork();
  if (pid == 0) {
    raise(SIGUSR2);
    raise(SIGUSR2);
    _exit(0);
  }
  expect_killed(pid, SIGUSR2);
}

/* SA_RESTART vs EINTR: the parent blocks in read on an empty pipe; a child
 * waits 50 ms and until the parent sleeps (see wait_blocked), signals the
 * parent and waits for the handler's acknowledgement before deciding what to
 * write. */
static int ack_wfd = -1;
static void ack_handler(int sig) {
  (void)sig;
  hits++;
  if (write(ack_wfd, "a", 1) != 1) hits += 100;
}

static void interrupted_read(int restart) {
  reset_counts();
  int data[2], ack[2], ctl[2];
  xpipe(data);
  xpipe(ack);
  xpipe(ctl);
  ack_wfd = ack[1];
  on_signal(SIGUSR1, ack_handler, restart ? SA_RESTART : 0);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    close(ctl[1]);
    wait_blocked(getppid(), 50);
    CHILD_CHECK(kill(getppid(), SIGUSR1) == 0);
    CHILD_CHECK(get1(ack[0]) == 'a');
    if (restart) {
      CHILD_CHECK(write(data[1], "d", 1) == 1);
    } else {
      /* failure guard: if the parent's read was not interrupted, unblock it
       * after 5 s with a byte it will report as wrong */
      struct pollfd pf = {ctl[0], POLLIN, 0};
      if (poll(&pf, 1, 5000) == 0) CHILD_CHECK(write(data[1], "L", 1) == 1);
    }
    _exit(0);
  }
  close(data[1]); /* a child that dies early gives EOF, not a hang */
  char c = 0;
  errno = 0;
  long r = read(data[0], &c, 1);
  int e = errno;
  close(ctl[1]);
  expect_exit(pid, 0);
  CHECK_EQ(hits, 1);
  if (restart) {
    if (r != 1 || c != 'd') FAILF("read returned %ld (errno %d, byte %c), want 1 byte 'd'", r, e, c);
  } else {
    if (r != -1 || e != EINTR) FAILF("read returned %ld (errno %d, byte %c), want -1 EINTR", r, e, c);
  }
}

TEST(sa_restart_restarts_pipe_read) { interrupted_read(1); }

TEST(no_sa_restart_pipe_read_eintr) { interrupted_read(0); }

static char *alt_lo, *alt_hi;
static volatile int on_alt, alt_flags_in_handler;
static void alt_handler(int sig) {
  (void)sig;
  char local;
  on_alt = (&local >= alt_lo && &local < alt_hi);
  stack_t cur;
  syscall(SYS_sigaltstack, NULL, &cur);
  alt_flags_in_handler = cur.ss_flags;
  hits++;
}

TEST(sa_onstack_runs_on_alternate_stack) {
  reset_counts();
  size_t n = 64 * 1024;
  char *mem = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(mem != MAP_FAILED);
  alt_lo = mem;
  alt_hi = mem + n;
  stack_t ss = {.ss_sp = mem, .ss_size = n, .ss_flags = 0};
  CHECK_OK(sigaltstack(&ss, NULL));
  on_signal(SIGUSR1, alt_handler, SA_ONSTACK);
  CHECK_OK(raise(SIGUSR1));
  CHECK_EQ(hits, 1);
  CHECK(on_alt);
  CHECK(alt_flags_in_handler & SS_ONSTACK);
  /* not on it any more */
  stack_t cur;
  CHECK_OK(sigaltstack(NULL, &cur));
  CHECK_EQ(cur.ss_flags, 0);
  /* without SA_ONSTACK the normal stack is used */
  on_signal(SIGUSR1, alt_handler, 0);
  CHECK_OK(raise(SIGUSR1));
  CHECK_EQ(hits, 2);
  CHECK(!on_alt);
  ss.ss_flags = SS_DISABLE;
  CHECK_OK(sigaltstack(&ss, NULL));
  munmap(mem, n);
}

static void nest_inner(int sig) {
  (void)sig;
  order[norder++] = '2';
}
static void nest_outer(int sig) {
  (void)sig;
  order[norder++] = '1';
  syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), SIGUSR2);
  order[norder++] = '3';
}

TEST(nested_handlers_for_different_signals) {
  reset_counts();
  on_signal(SIGUSR1, nest_outer, 0);
  on_signal(SIGUSR2, nest_inner, 0);
  CHECK_OK(raise(SIGUSR1));
  if (strcmp(order, "123") != 0) FAILF("handler order %s, want 123", order);
}

TEST(nested_handler_blocked_by_sa_mask) {
  reset_counts();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = nest_outer;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
  on_signal(SIGUSR2, nest_inner, 0);
  CHECK_OK(raise(SIGUSR1));
  /* SIGUSR2 waited until the outer handler returned */
  if (strcmp(order, "132") != 0) FAILF("handler order %s, want 132", order);
}

static sigjmp_buf jb;
static void jump_handler(int sig) { siglongjmp(jb, sig); }

TEST(siglongjmp_out_of_handler_restores_mask) {
  uint64_t before = raw_mask();
  on_signal(SIGUSR1, jump_handler, 0);
  volatile int jumped = 0;
  int r = sigsetjmp(jb, 1);
  if (r == 0) {
    raise(SIGUSR1);
    FAILF("the handler returned instead of jumping");
  }
  jumped = 1;
  CHECK_EQ(r, SIGUSR1);
  CHECK(jumped);
  /* the mask saved by sigsetjmp came back: SIGUSR1 is no longer blocked */
  CHECK_EQ(raw_mask(), before);
}

TEST(longjmp_without_savesigs_keeps_handler_mask) {
  uint64_t before = raw_mask();
  on_signal(SIGUSR2, jump_handler, 0);
  int r = sigsetjmp(jb, 0);
  if (r == 0) {
    raise(SIGUSR2);
    FAILF("the handler returned instead of jumping");
  }
  CHECK_EQ(r, SIGUSR2);
  /* nobody restored the mask the kernel set up for the handler */
  CHECK_EQ(raw_mask(), before | SIGBIT(SIGUSR2));
  raw_setmask(before);
}

static volatile int global_value;
static void set_global(int sig) { (void)sig; global_value = 4242; }

TEST(handler_write_to_global_seen_after_return) {
  global_value = 1;
  on_signal(SIGUSR1, set_global, 0);
  CHECK_OK(raise(SIGUSR1));
  CHECK_EQ(global_value, 4242);
}

static void sigmask_edit_handler(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ucv;
  /* the saved mask is the one from before delivery */
  if (sigismember(&uc->uc_sigmask, SIGWINCH) && !sigismember(&uc->uc_sigmask, SIGUSR1)) hits++;
  /* whatever the handler leaves there is what sigreturn installs */
  sigaddset(&uc->uc_sigmask, SIGHUP);
}

TEST(ucontext_sigmask_restored_by_sigreturn) {
  reset_counts();
  uint64_t before = raw_mask();
  block_sig(SIGWINCH);
  on_siginfo(SIGUSR1, sigmask_edit_handler, 0);
  CHECK_OK(raise(SIGUSR1));
  CHECK_EQ(hits, 1);
  CHECK_EQ(raw_mask(), before | SIGBIT(SIGWINCH) | SIGBIT(SIGHUP));
  raw_setmask(before);
}

/* registers across a handler: xmm8-xmm15 and r8-r10 hold known values around a
 * raw tgkill; the handler clobbers them all; sigreturn must bring them back */
struct regtest {
  unsigned char xin[8][16];
  unsigned char xout[8][16];
  unsigned long gin[3];
  unsigned long gout[3];
  long nr, a0, a1, a2, ret;
};
_Static_assert(offsetof(struct regtest, xout) == 128, "layout");
_Static_assert(offsetof(struct regtest, gin) == 256, "layout");
_Static_assert(offsetof(struct regtest, gout) == 280, "layout");
_Static_assert(offsetof(struct regtest, nr) == 304, "layout");
_Static_assert(offsetof(struct regtest, ret) == 336, "layout");

static void clobber_handler(int sig) {
  (void)sig;
  volatile double d = 1.0;
  for (int i = 0; i < 50; i++) d = d * 1.5 + 0.25;
  __asm__ volatile(
      "pcmpeqd %%xmm8, %%xmm8\n\t"
      "pcmpeqd %%xmm9, %%xmm9\n\t"
      "pxor %%xmm10, %%xmm10\n\t"
      "pxor %%xmm11, %%xmm11\n\t"
      "pcmpeqd %%xmm12, %%xmm12\n\t"
      "pxor %%xmm13, %%xmm13\n\t"
      "pcmpeqd %%xmm14, %%xmm14\n\t"
      "pxor %%xmm15, %%xmm15\n\t"
      "mov $-1, %%r8\n\t"
      "mov $-1, %%r9\n\t"
      "mov $-1, %%r10\n\t"
      ::: "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "r8", "r9", "r10");
  /* and a different rounding mode, for SSE and x87 */
  unsigned int mx = 0x1f80 | (2u << 13);
  __asm__ volatile("ldmxcsr %0" ::"m"(mx));
  unsigned short cw = 0x037f | (2u << 10);
  __asm__ volatile("fldcw %0" ::"m"(cw));
  hits++;
}

TEST(registers_and_fp_state_preserved_across_handler) {
  reset_counts();
  on_signal(SIGUSR1, clobber_handler, 0);
  static struct regtest rt;
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 16; j++) rt.xin[i][j] = (unsigned char)(i * 16 + j + 1);
  rt.gin[0] = 0x1111222233334444UL;
  rt.gin[1] = 0x5555666677778888UL;
  rt.gin[2] = 0x9999aaaabbbbccccUL;
  rt.nr = SYS_tgkill;
  rt.a0 = getpid();
  rt.a1 = syscall(SYS_gettid);
  rt.a2 = SIGUSR1;
  /* round toward zero in both units before the signal */
  unsigned int mx_saved, mx = 0x1f80 | (3u << 13);
  unsigned short cw_saved, cw = 0x037f | (3u << 10);
  __asm__ volatile("stmxcsr %0" : "=m"(mx_saved));
  __asm__ volatile("fnstcw %0" : "=m"(cw_saved));
  __asm__ volatile("ldmxcsr %0" ::"m"(mx));
  __asm__ volatile("fldcw %0" ::"m"(cw));
  __asm__ volatile(
      "movdqu 0(%0), %%xmm8\n\t"
      "movdqu 16(%0), %%xmm9\n\t"
      "movdqu 32(%0), %%xmm10\n\t"
      "movdqu 48(%0), %%xmm11\n\t"
      "movdqu 64(%0), %%xmm12\n\t"
      "movdqu 80(%0), %%xmm13\n\t"
      "movdqu 96(%0), %%xmm14\n\t"
      "movdqu 112(%0), %%xmm15\n\t"
      "mov 256(%0), %%r8\n\t"
      "mov 264(%0), %%r9\n\t"
      "mov 272(%0), %%r10\n\t"
      "mov 304(%0), %%rax\n\t"
      "mov 312(%0), %%rdi\n\t"
      "mov 320(%0), %%rsi\n\t"
      "mov 328(%0), %%rdx\n\t"
      "syscall\n\t"
      "mov %%rax, 336(%0)\n\t"
      "movdqu %%xmm8, 128(%0)\n\t"
      "movdqu %%xmm9, 144(%0)\n\t"
      "movdqu %%xmm10, 160(%0)\n\t"
      "movdqu %%xmm11, 176(%0)\n\t"
      "movdqu %%xmm12, 192(%0)\n\t"
      "movdqu %%xmm13, 208(%0)\n\t"
      "movdqu %%xmm14, 224(%0)\n\t"
      "movdqu %%xmm15, 240(%0)\n\t"
      "mov %%r8, 280(%0)\n\t"
      "mov %%r9, 288(%0)\n\t"
      "mov %%r10, 296(%0)\n\t"
      :
      : "r"(&rt)
      : "rax", "rdi", "rsi", "rdx", "rcx", "r11", "r8", "r9", "r10", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory");
  unsigned int mx_after;
  unsigned short cw_after;
  __asm__ volatile("stmxcsr %0" : "=m"(mx_after));
  __asm__ volatile("fnstcw %0" : "=m"(cw_after));
  __asm__ volatile("ldmxcsr %0" ::"m"(mx_saved));
  __asm__ volatile("fldcw %0" ::"m"(cw_saved));
  CHECK_EQ(rt.ret, 0);
  CHECK_EQ(hits, 1);
  for (int i = 0; i < 8; i++)
    if (memcmp(rt.xin[i], rt.xout[i], 16) != 0) FAILF("xmm%d changed across the handler", 8 + i);
  for (int i = 0; i < 3; i++)
    if (rt.gin[i] != rt.gout[i]) FAILF("r%d is 0x%lx after the handler, want 0x%lx", 8 + i, rt.gout[i], rt.gin[i]);
  CHECK_EQ(mx_after & 0x6000, 3u << 13);
  CHECK_EQ(cw_after & 0x0c00, 3u << 10);
}

TEST(double_arithmetic_unchanged_by_handler) {
  reset_counts();
  on_signal(SIGUSR2, clobber_handler, 0);
  volatile double a = 1.0 / 3.0, b = 2.0 / 7.0;
  double x = 0;
  for (int i = 0; i < 100; i++) {
    x = x * 0.5 + a * b;
    if (i == 50) raise(SIGUSR2);
  }
  double y = 0;
  for (int i = 0; i < 100; i++) y = y * 0.5 + a * b;
  CHECK_EQ(hits, 1);
  CHECK(x == y);
  /* and the default rounding mode is back */
  volatile double one = 1.0, three = 3.0;
  CHECK(one / three * three == 1.0);
}

static void fault_handler(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  last_info = *si;
  siglongjmp(jb, sig);
}

TEST(sigsegv_null_write_si_addr) {
  reset_counts();
  on_siginfo(SIGSEGV, fault_handler, 0);
  int r = sigsetjmp(jb, 1);
  if (r == 0) {
    *(volatile int *)16 = 1;
    FAILF("writing to address 16 did not fault");
  }
  CHECK_EQ(r, SIGSEGV);
  CHECK_EQ(last_info.si_signo, SIGSEGV);
  CHECK_EQ(last_info.si_code, SEGV_MAPERR);
  CHECK_EQ((long)last_info.si_addr, 16);
  signal(SIGSEGV, SIG_DFL);
}

TEST(sigsegv_write_to_read_only_page_accerr) {
  reset_counts();
  char *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  on_siginfo(SIGSEGV, fault_handler, 0);
  int r = sigsetjmp(jb, 1);
  if (r == 0) {
    ((volatile char *)m)[100] = 1;
    FAILF("writing to a read-only page did not fault");
  }
  CHECK_EQ(r, SIGSEGV);
  CHECK_EQ(last_info.si_code, SEGV_ACCERR);
  CHECK(last_info.si_addr == m + 100);
  /* reading is fine */
  CHECK_EQ(((volatile char *)m)[100], 0);
  signal(SIGSEGV, SIG_DFL);
  munmap(m, 4096);
}

TEST(sigbus_beyond_end_of_file) {
  reset_counts();
  put_file(P("f"), "short", 0644);
  int fd = must_open(P("f"), O_RDONLY, 0);
  char *m = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(m != MAP_FAILED);
  on_siginfo(SIGBUS, fault_handler, 0);
  int r = sigsetjmp(jb, 1);
  if (r == 0) {
    CHECK_EQ(((volatile char *)m)[0], 's');
    /* the rest of the first page reads as zeros */
    CHECK_EQ(((volatile char *)m)[4095], 0);
    (void)((volatile char *)m)[4096 + 8];
    FAILF("reading past the end of the file did not fault");
  }
  CHECK_EQ(r, SIGBUS);
  CHECK_EQ(last_info.si_code, BUS_ADRERR);
  CHECK(last_info.si_addr == m + 4096 + 8);
  signal(SIGBUS, SIG_DFL);
  munmap(m, 2 * 4096);
  close(fd);
}

static volatile int sink;

TEST(sigfpe_integer_divide_by_zero) {
  reset_counts();
  on_siginfo(SIGFPE, fault_handler, 0);
  volatile int num = 7, den = 0;
  int r = sigsetjmp(jb, 1);
  if (r == 0) {
    sink = num / den;
    FAILF("integer division by zero did not trap");
  }
  CHECK_EQ(r, SIGFPE);
  CHECK_EQ(last_info.si_signo, SIGFPE);
  CHECK_EQ(last_info.si_code, FPE_INTDIV);
  signal(SIGFPE, SIG_DFL);
}

TEST(sigill_on_ud2) {
  reset_counts();
  on_siginfo(SIGILL, fault_handler, 0);
  int r = sigsetjmp(jb, 1);
  if (r == 0) {
    __asm__ volatile("ud2");
    FAILF("ud2 did not trap");
  }
  CHECK_EQ(r, SIGILL);
  CHECK_EQ(last_info.si_signo, SIGILL);
  CHECK_EQ(last_info.si_code, ILL_ILLOPN);
  /* si_addr is the faulting instruction: 0f 0b */
  const unsigned char *ip = last_info.si_addr;
  CHECK(ip != NULL);
  CHECK(ip[0] == 0x0f && ip[1] == 0x0b);
  signal(SIGILL, SIG_DFL);
}

static volatile unsigned char trap_byte;
static void trap_handler(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  ucontext_t *uc = ucv;
  last_info = *si;
  const unsigned char *rip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
  trap_byte = rip[-1];
  hits++;
}

TEST(sigtrap_on_int3_resumes_after_it) {
  reset_counts();
  on_siginfo(SIGTRAP, trap_handler, 0);
  __asm__ volatile("int3");
  /* the handler returned and execution went on after the breakpoint */
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_info.si_signo, SIGTRAP);
  CHECK_EQ(last_info.si_code, SI_KERNEL);
  CHECK_EQ(trap_byte, 0xcc);
  signal(SIGTRAP, SIG_DFL);
}

TEST(fault_with_default_action_kills_child) {
  pid_t pid = xfork();
  if (pid == 0) {
    no_core();
    signal(SIGFPE, SIG_DFL);
    volatile int num = 1, den = 0;
    sink = num / den;
    _exit(0);
  }
  expect_killed(pid, SIGFPE);
  pid = xfork();
  if (pid == 0) {
    no_core();
    signal(SIGILL, SIG_DFL);
    __asm__ volatile("ud2");
    _exit(0);
  }
  expect_killed(pid, SIGILL);
}

TEST(sigchld_handler_on_child_exit) {
  reset_counts();
  uint64_t old = raw_mask();
  block_sig(SIGCHLD);
  on_siginfo(SIGCHLD, info_handler, 0);
  pid_t pid = xfork();
  if (pid == 0) _exit(3);
  siginfo_t si;
  CHECK_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
  CHECK(raw_pending() & SIGBIT(SIGCHLD));
  raw_setmask(old);
  CHECK_EQ(hits, 1);
  CHECK_EQ(last_info.si_signo, SIGCHLD);
  CHECK_EQ(last_info.si_code, CLD_EXITED);
  CHECK_EQ(last_info.si_pid, pid);
  CHECK_EQ(last_info.si_status, 3);
  expect_exit(pid, 3);
  signal(SIGCHLD, SIG_DFL);
}

TEST(sigpipe_default_kills_writer) {
  pid_t pid = xfork();
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    uint64_t m = SIGBIT(SIGPIPE);
    syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, 8);
    int p[2];
    CHILD_CHECK(pipe(p) == 0);
    close(p[0]);
    (void)!write(p[1], "x", 1);
    _exit(0);
  }
  expect_killed(pid, SIGPIPE);
}

TEST(sigpipe_ignored_gives_epipe) {
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  xpipe(p);
  close(p[0]);
  CHECK_ERRNO(write(p[1], "x", 1), EPIPE);
  CHECK(!(raw_pending() & SIGBIT(SIGPIPE)));
  signal(SIGPIPE, SIG_DFL);
}

TEST(sigpipe_blocked_gives_epipe_and_stays_pending) {
  uint64_t old = raw_mask();
  block_sig(SIGPIPE);
  int p[2];
  xpipe(p);
  close(p[0]);
  CHECK_ERRNO(write(p[1], "x", 1), EPIPE);
  CHECK(raw_pending() & SIGBIT(SIGPIPE));
  signal(SIGPIPE, SIG_IGN); /* discards it */
  CHECK(!(raw_pending() & SIGBIT(SIGPIPE)));
  raw_setmask(old);
  signal(SIGPIPE, SIG_DFL);
}

TEST(ignored_signal_is_discarded) {
  signal(SIGUSR1, SIG_IGN);
  CHECK_OK(raise(SIGUSR1));
  CHECK(!(raw_pending() & SIGBIT(SIGUSR1)));
  signal(SIGUSR1, SIG_DFL);
}

TEST(default_action_ignore_for_sigchld_and_sigurg) {
  /* SIGCHLD, SIGURG and SIGWINCH are ignored by default: raising them is harmless */
  signal(SIGCHLD, SIG_DFL);
  signal(SIGURG, SIG_DFL);
  signal(SIGWINCH, SIG_DFL);
  CHECK_OK(raise(SIGCHLD));
  CHECK_OK(raise(SIGURG));
  CHECK_OK(raise(SIGWINCH));
}
