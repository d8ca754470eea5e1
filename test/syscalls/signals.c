//go:build ignore

/*
 * signals.c - signal state the kernel records without delivering anything:
 * the blocked mask, signal dispositions and the alternate signal stack.
 *
 * Follows sigprocmask(2) (DESCRIPTION, ERRORS, "C library/kernel differences":
 * the raw rt_sigprocmask takes a sigsetsize that must be 8 on x86-64, and
 * SIGKILL/SIGSTOP cannot be blocked), sigaction(2) (DESCRIPTION, ERRORS,
 * "C library/kernel differences") and sigaltstack(2) (DESCRIPTION, ERRORS).
 *
 * Masks are the kernel's 64-bit sigset (bit n-1 is signal n) and the actions
 * use the kernel's struct layout, passed raw through syscall(2): glibc hides
 * its own two real-time signals from masks and rewrites sa_restorer.
 * No signal is ever raised.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"

#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIT(sig) (1ULL << ((sig) - 1))
#define KILLSTOP (BIT(SIGKILL) | BIT(SIGSTOP))

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

/* the x86-64 kernel's struct sigaction */
struct ksigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};

static long sigmask_raw(int how, const uint64_t *set, uint64_t *old) {
  return syscall(SYS_rt_sigprocmask, how, set, old, 8);
}

static uint64_t current_mask(void) {
  uint64_t m = 0xdeadbeefULL;
  if (sigmask_raw(SIG_BLOCK, NULL, &m) != 0) FAILF("reading the mask: %s", strerror(errno));
  return m;
}

static void set_mask(uint64_t m) {
  if (sigmask_raw(SIG_SETMASK, &m, NULL) != 0) FAILF("setting the mask: %s", strerror(errno));
}

static long sigaction_raw(int sig, const struct ksigaction *act, struct ksigaction *old) {
  return syscall(SYS_rt_sigaction, sig, act, old, 8);
}

static void dummy_handler(int sig) { (void)sig; }
static void dummy_restorer(void) {}

TEST(sigprocmask_block_unblock_round_trip) {
  set_mask(0);
  CHECK_EQ(current_mask(), 0);
  uint64_t set = BIT(SIGUSR1) | BIT(SIGUSR2), old = 0xff;
  CHECK_EQ(sigmask_raw(SIG_BLOCK, &set, &old), 0);
  CHECK_EQ(old, 0);
  CHECK_EQ(current_mask(), BIT(SIGUSR1) | BIT(SIGUSR2));
  /* blocking adds to the mask */
  set = BIT(SIGTERM);
  CHECK_EQ(sigmask_raw(SIG_BLOCK, &set, &old), 0);
  CHECK_EQ(old, BIT(SIGUSR1) | BIT(SIGUSR2));
  CHECK_EQ(current_mask(), BIT(SIGUSR1) | BIT(SIGUSR2) | BIT(SIGTERM));
  /* unblocking removes only the given signals */
  set = BIT(SIGUSR1);
  CHECK_EQ(sigmask_raw(SIG_UNBLOCK, &set, &old), 0);
  CHECK_EQ(old, BIT(SIGUSR1) | BIT(SIGUSR2) | BIT(SIGTERM));
  CHECK_EQ(current_mask(), BIT(SIGUSR2) | BIT(SIGTERM));
  /* unblocking something not blocked changes nothing */
  set = BIT(SIGHUP);
  CHECK_EQ(sigmask_raw(SIG_UNBLOCK, &set, NULL), 0);
  CHECK_EQ(current_mask(), BIT(SIGUSR2) | BIT(SIGTERM));
}

TEST(sigprocmask_setmask_replaces) {
  set_mask(BIT(SIGUSR1) | BIT(SIGINT));
  uint64_t set = BIT(SIGALRM) | BIT(SIGRTMIN + 3) | BIT(64), old = 0;
  CHECK_EQ(sigmask_raw(SIG_SETMASK, &set, &old), 0);
  CHECK_EQ(old, BIT(SIGUSR1) | BIT(SIGINT));
  CHECK_EQ(current_mask(), BIT(SIGALRM) | BIT(SIGRTMIN + 3) | BIT(64));
  set_mask(0);
  CHECK_EQ(current_mask(), 0);
}

TEST(sigprocmask_realtime_signals_recorded) {
  /* glibc reserves signals 32 and 33 for itself; the kernel records them like any other */
  set_mask(BIT(32) | BIT(33) | BIT(50));
  CHECK_EQ(current_mask(), BIT(32) | BIT(33) | BIT(50));
}

TEST(sigprocmask_kill_and_stop_silently_dropped) {
  uint64_t all = ~0ULL;
  CHECK_EQ(sigmask_raw(SIG_SETMASK, &all, NULL), 0);
  CHECK_EQ(current_mask(), ~KILLSTOP);
  set_mask(0);
  uint64_t ks = KILLSTOP;
  CHECK_EQ(sigmask_raw(SIG_BLOCK, &ks, NULL), 0);
  CHECK_EQ(current_mask(), 0);
}

TEST(sigprocmask_invalid_how_einval) {
  set_mask(BIT(SIGUSR1));
  uint64_t set = BIT(SIGUSR2), old = 0;
  CHECK_ERRNO(sigmask_raw(3, &set, &old), EINVAL);
  CHECK_ERRNO(sigmask_raw(-1, &set, &old), EINVAL);
  CHECK_ERRNO(sigmask_raw(1000, &set, NULL), EINVAL);
  /* the mask is unchanged */
  CHECK_EQ(current_mask(), BIT(SIGUSR1));
}

TEST(sigprocmask_null_set_ignores_how) {
  set_mask(BIT(SIGUSR1));
  uint64_t old = 0;
  CHECK_EQ(sigmask_raw(1000, NULL, &old), 0);
  CHECK_EQ(old, BIT(SIGUSR1));
  CHECK_EQ(sigmask_raw(SIG_UNBLOCK, NULL, NULL), 0);
  CHECK_EQ(current_mask(), BIT(SIGUSR1));
}

TEST(sigprocmask_bad_sigsetsize_einval) {
  uint64_t set = BIT(SIGUSR1), old = 0;
  set_mask(0);
  CHECK_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old, 4), EINVAL);
  CHECK_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old, 16), EINVAL);
  CHECK_ERRNO(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old, 0), EINVAL);
  CHECK_EQ(current_mask(), 0);
}

TEST(sigaction_records_and_returns_old) {
  struct ksigaction act = {.handler = SIG_IGN, .flags = SA_RESTORER | SA_RESTART,
                           .restorer = (void *)dummy_restorer, .mask = BIT(SIGUSR2)};
  struct ksigaction old;
  CHECK_EQ(sigaction_raw(SIGUSR1, &act, NULL), 0);

  struct ksigaction act2 = {.handler = (void *)dummy_handler,
                            .flags = SA_RESTORER | SA_SIGINFO | SA_NODEFER,
                            .restorer = (void *)dummy_restorer,
                            .mask = BIT(SIGINT) | BIT(SIGTERM)};
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(sigaction_raw(SIGUSR1, &act2, &old), 0);
  CHECK(old.handler == SIG_IGN);
  CHECK_EQ(old.flags, SA_RESTORER | SA_RESTART);
  CHECK(old.restorer == (void *)dummy_restorer);
  CHECK_EQ(old.mask, BIT(SIGUSR2));

  /* query only */
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(sigaction_raw(SIGUSR1, NULL, &old), 0);
  CHECK(old.handler == (void *)dummy_handler);
  CHECK_EQ(old.flags, SA_RESTORER | SA_SIGINFO | SA_NODEFER);
  CHECK(old.restorer == (void *)dummy_restorer);
  CHECK_EQ(old.mask, BIT(SIGINT) | BIT(SIGTERM));
}

TEST(sigaction_is_per_signal) {
  struct ksigaction ign = {.handler = SIG_IGN, .flags = SA_RESTORER, .restorer = (void *)dummy_restorer};
  struct ksigaction dfl = {.handler = SIG_DFL, .flags = SA_RESTORER, .restorer = (void *)dummy_restorer};
  struct ksigaction old;
  CHECK_EQ(sigaction_raw(SIGUSR1, &ign, NULL), 0);
  CHECK_EQ(sigaction_raw(SIGUSR2, &dfl, NULL), 0);
  CHECK_EQ(sigaction_raw(SIGRTMIN + 5, &ign, NULL), 0);
  CHECK_EQ(sigaction_raw(SIGUSR1, NULL, &old), 0);
  CHECK(old.handler == SIG_IGN);
  CHECK_EQ(sigaction_raw(SIGUSR2, NULL, &old), 0);
  CHECK(old.handler == SIG_DFL);
  CHECK_EQ(sigaction_raw(SIGRTMIN + 5, NULL, &old), 0);
  CHECK(old.handler == SIG_IGN);
  CHECK_EQ(sigaction_raw(64, &ign, NULL), 0);
  CHECK_EQ(sigaction_raw(64, NULL, &old), 0);
  CHECK(old.handler == SIG_IGN);
}

TEST(sigaction_mask_drops_kill_and_stop) {
  struct ksigaction act = {.handler = (void *)dummy_handler, .flags = SA_RESTORER,
                           .restorer = (void *)dummy_restorer, .mask = ~0ULL};
  struct ksigaction old;
  CHECK_EQ(sigaction_raw(SIGUSR1, &act, NULL), 0);
  CHECK_EQ(sigaction_raw(SIGUSR1, NULL, &old), 0);
  CHECK_EQ(old.mask, ~KILLSTOP);
}

TEST(sigaction_kill_and_stop_einval) {
  struct ksigaction act = {.handler = SIG_IGN, .flags = SA_RESTORER, .restorer = (void *)dummy_restorer};
  CHECK_ERRNO(sigaction_raw(SIGKILL, &act, NULL), EINVAL);
  CHECK_ERRNO(sigaction_raw(SIGSTOP, &act, NULL), EINVAL);
  act.handler = SIG_DFL;
  CHECK_ERRNO(sigaction_raw(SIGKILL, &act, NULL), EINVAL);
  /* querying them is allowed and they stay at the default */
  struct ksigaction old;
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(sigaction_raw(SIGKILL, NULL, &old), 0);
  CHECK(old.handler == SIG_DFL);
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(sigaction_raw(SIGSTOP, NULL, &old), 0);
  CHECK(old.handler == SIG_DFL);
}

TEST(sigaction_bad_signal_number_einval) {
  struct ksigaction act = {.handler = SIG_IGN, .flags = SA_RESTORER, .restorer = (void *)dummy_restorer};
  struct ksigaction old;
  CHECK_ERRNO(sigaction_raw(0, &act, NULL), EINVAL);
  CHECK_ERRNO(sigaction_raw(65, &act, NULL), EINVAL);
  CHECK_ERRNO(sigaction_raw(-1, &act, NULL), EINVAL);
  CHECK_ERRNO(sigaction_raw(0, NULL, &old), EINVAL);
  CHECK_ERRNO(sigaction_raw(65, NULL, &old), EINVAL);
}

TEST(sigaction_bad_sigsetsize_einval) {
  struct ksigaction act = {.handler = SIG_IGN, .flags = SA_RESTORER, .restorer = (void *)dummy_restorer};
  struct ksigaction old;
  CHECK_EQ(sigaction_raw(SIGUSR1, NULL, &old), 0);
  void *before = old.handler;
  CHECK_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, &act, NULL, 4), EINVAL);
  CHECK_ERRNO(syscall(SYS_rt_sigaction, SIGUSR1, &act, NULL, 16), EINVAL);
  CHECK_EQ(sigaction_raw(SIGUSR1, NULL, &old), 0);
  CHECK(old.handler == before);
}

TEST(sigaltstack_initially_disabled) {
  stack_t old;
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(syscall(SYS_sigaltstack, NULL, &old), 0);
  CHECK_EQ(old.ss_flags, SS_DISABLE);
}

TEST(sigaltstack_set_and_get) {
  static char stack[64 * 1024];
  stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0};
  stack_t old;
  CHECK_EQ(syscall(SYS_sigaltstack, &ss, NULL), 0);
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(syscall(SYS_sigaltstack, NULL, &old), 0);
  CHECK(old.ss_sp == stack);
  CHECK_EQ(old.ss_size, sizeof stack);
  CHECK_EQ(old.ss_flags, 0);

  /* replacing returns the previous one */
  static char stack2[32 * 1024];
  stack_t ss2 = {.ss_sp = stack2, .ss_size = sizeof stack2, .ss_flags = 0};
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(syscall(SYS_sigaltstack, &ss2, &old), 0);
  CHECK(old.ss_sp == stack);
  CHECK_EQ(old.ss_size, sizeof stack);
  CHECK_EQ(syscall(SYS_sigaltstack, NULL, &old), 0);
  CHECK(old.ss_sp == stack2);
  CHECK_EQ(old.ss_size, sizeof stack2);
}

TEST(sigaltstack_disable) {
  static char stack[64 * 1024];
  stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0};
  stack_t old;
  CHECK_EQ(syscall(SYS_sigaltstack, &ss, NULL), 0);
  stack_t dis = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(syscall(SYS_sigaltstack, &dis, &old), 0);
  CHECK(old.ss_sp == stack);
  CHECK_EQ(old.ss_flags, 0);
  memset(&old, 0x5a, sizeof old);
  CHECK_EQ(syscall(SYS_sigaltstack, NULL, &old), 0);
  CHECK_EQ(old.ss_flags, SS_DISABLE);
  CHECK(old.ss_sp == NULL);
  CHECK_EQ(old.ss_size, 0);
}

TEST(sigaltstack_too_small_enomem) {
  static char stack[64 * 1024];
  stack_t ss = {.ss_sp = stack, .ss_size = 1024, .ss_flags = 0};
  CHECK_ERRNO(syscall(SYS_sigaltstack, &ss, NULL), ENOMEM);
  ss.ss_size = 0;
  CHECK_ERRNO(syscall(SYS_sigaltstack, &ss, NULL), ENOMEM);
  /* nothing was installed */
  stack_t old;
  CHECK_EQ(syscall(SYS_sigaltstack, NULL, &old), 0);
  CHECK_EQ(old.ss_flags, SS_DISABLE);
}

TEST(sigaltstack_bad_flags_einval) {
  static char stack[64 * 1024];
  stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0x1234};
  CHECK_ERRNO(syscall(SYS_sigaltstack, &ss, NULL), EINVAL);
  ss.ss_flags = SS_DISABLE | 0x100;
  CHECK_ERRNO(syscall(SYS_sigaltstack, &ss, NULL), EINVAL);
  stack_t old;
  CHECK_EQ(syscall(SYS_sigaltstack, NULL, &old), 0);
  CHECK_EQ(old.ss_flags, SS_DISABLE);
}
