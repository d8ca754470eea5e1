//go:build ignore

/*
 * proc_thread.c - threads: pthread_create/join over clone, what threads share
 * (memory, descriptors, pid) and what is theirs (thread id, signal mask),
 * futex waits and wakes, robust futex lists (owner death seen as
 * EOWNERDEAD, within a process and across processes), CLONE_PARENT_SETTID and
 * CLONE_CHILD_CLEARTID, signals aimed at one thread, exit and exit_group from
 * threads, and execve from a thread that is not the leader.
 *
 * Follows clone(2) (CLONE_THREAD, CLONE_VM, CLONE_PARENT_SETTID,
 * CLONE_CHILD_CLEARTID: "clear the child thread ID ... and wake the futex"),
 * gettid(2), futex(2) (FUTEX_WAIT/FUTEX_WAKE), set_robust_list(2) and
 * get_robust_list(2) (ERRORS: EINVAL for a wrong len, ESRCH),
 * pthread_mutexattr_setrobust(3) (EOWNERDEAD, pthread_mutex_consistent),
 * pthread_create(3) ("The new thread inherits a copy of the creating thread's
 * signal mask"), pthread_join(3), pthread_exit(3) (the process continues
 * while other threads run), pthread_kill(3) and tgkill(2), signal(7) ("A
 * process-directed signal may be delivered to any one of the threads that
 * does not currently have the signal blocked"), pthread_sigmask(3),
 * exit_group(2) and execve(2) ("All threads other than the calling thread
 * are destroyed"; the execing thread takes over the process id).
 *
 * Cases that end a process from a thread run in a forked child.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/exechelper.h"

#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

static long futex(atomic_int *addr, int op, int val, const struct timespec *ts) {
  return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

static pthread_t xthread(void *(*fn)(void *), void *arg) {
  pthread_t t;
  int e = pthread_create(&t, NULL, fn, arg);
  if (e != 0) FAILF("pthread_create: %s", strerror(e));
  return t;
}

static void *xjoin(pthread_t t) {
  void *r = NULL;
  int e = pthread_join(t, &r);
  if (e != 0) FAILF("pthread_join: %s", strerror(e));
  return r;
}

static atomic_long counter;
static void *add_many(void *arg) {
  (void)arg;
  for (int i = 0; i < 20000; i++) atomic_fetch_add(&counter, 1);
  return NULL;
}

TEST(eight_threads_atomic_counter) {
  atomic_store(&counter, 0);
  pthread_t t[8];
  for (int i = 0; i < 8; i++) t[i] = xthread(add_many, NULL);
  for (int i = 0; i < 8; i++) xjoin(t[i]);
  CHECK_EQ(atomic_load(&counter), 8 * 20000);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn, rounds_done;
enum { ROUNDS = 200 };

static void *pong(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&mu);
    while (turn != 1) pthread_cond_wait(&cv, &mu);
    rounds_done++;
    turn = 0;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

TEST(mutex_condvar_ping_pong) {
  turn = 0;
  rounds_done = 0;
  pthread_t t = xthread(pong, NULL);
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&mu);
    turn = 1;
    pthread_cond_signal(&cv);
    while (turn != 0) pthread_cond_wait(&cv, &mu);
    CHECK_EQ(rounds_done, i + 1);
    pthread_mutex_unlock(&mu);
  }
  xjoin(t);
  CHECK_EQ(rounds_done, ROUNDS);
}

struct ids {
  long tid, pid;
};
static void *report_ids(void *arg) {
  struct ids *id = arg;
  id->tid = syscall(SYS_gettid);
  id->pid = syscall(SYS_getpid);
  return NULL;
}

TEST(gettid_distinct_getpid_shared) {
  struct ids ids[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++) t[i] = xthread(report_ids, &ids[i]);
  for (int i = 0; i < 4; i++) xjoin(t[i]);
  long me = syscall(SYS_gettid);
  CHECK_EQ(me, getpid());
  for (int i = 0; i < 4; i++) {
    CHECK_EQ(ids[i].pid, getpid());
    CHECK(ids[i].tid != me);
    CHECK(ids[i].tid > 0);
    for (int j = 0; j < i; j++) CHECK(ids[i].tid != ids[j].tid);
  }
}

static void *exit_with(void *arg) {
  if ((long)arg == 1) pthread_exit((void *)0x5151);
  return (void *)0x4242;
}

TEST(pthread_join_returns_exit_value) {
  pthread_t a = xthread(exit_with, (void *)1);
  pthread_t b = xthread(exit_with, (void *)2);
  CHECK_EQ((long)xjoin(a), 0x5151);
  CHECK_EQ((long)xjoin(b), 0x4242);
}

static int shared_fd = -1;
static int shared_word;
static void *open_and_write(void *arg) {
  (void)arg;
  int p[2];
  if (pipe2(p, O_CLOEXEC) == 0) {
    if (write(p[1], "t", 1) == 1) shared_fd = p[0];
  }
  shared_word = 31;
  return NULL;
}

TEST(threads_share_fds_and_memory) {
  shared_fd = -1;
  shared_word = 0;
  xjoin(xthread(open_and_write, NULL));
  CHECK_EQ(shared_word, 31);
  CHECK(shared_fd >= 0);
  char c;
  CHECK_EQ(read(shared_fd, &c, 1), 1);
  CHECK_EQ(c, 't');
}

static uint64_t thread_mask;
static void *mask_thread(void *arg) {
  (void)arg;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &thread_mask, 8);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  return NULL;
}

TEST(signal_mask_per_thread_and_inherited) {
  uint64_t old = raw_mask();
  raw_setmask(SIGBIT(SIGUSR2));
  xjoin(xthread(mask_thread, NULL));
  /* the new thread started with our mask */
  CHECK_EQ(thread_mask & (SIGBIT(SIGUSR2) | SIGBIT(SIGHUP)), SIGBIT(SIGUSR2));
  /* and what it blocked did not change ours */
  CHECK_EQ(raw_mask(), SIGBIT(SIGUSR2));
  raw_setmask(old);
}

static atomic_int fword;
static atomic_int waiter_result;
static void *futex_waiter(void *arg) {
  (void)arg;
  struct timespec ts = {10, 0};
  long r = futex(&fword, FUTEX_WAIT_PRIVATE, 0, &ts);
  atomic_store(&waiter_result, r == 0 ? 1 : -errno);
  return NULL;
}

TEST(futex_wake_between_threads) {
  atomic_store(&fword, 0);
  atomic_store(&waiter_result, 0);
  pthread_t t = xthread(futex_waiter, NULL);
  /* wake until the waiter was there to be woken (it gets there eventually) */
  long long end = now_ns() + 5000000000LL;
  long woken = 0;
  while ((woken = futex(&fword, FUTEX_WAKE_PRIVATE, 1, NULL)) == 0) {
    if (now_ns() > end) FAILF("the waiter never waited");
    sched_yield();
  }
  CHECK_EQ(woken, 1);
  xjoin(t);
  CHECK_EQ(atomic_load(&waiter_result), 1);
}

TEST(robust_list_registered_and_len_checked) {
  void *head = NULL;
  size_t len = 0;
  CHECK_EQ(syscall(SYS_get_robust_list, 0, &head, &len), 0);
  /* glibc registers a list for every thread */
  CHECK(head != NULL);
  CHECK_EQ(len, 3 * sizeof(void *));
  void *h2 = NULL;
  size_t l2 = 0;
  CHECK_EQ(syscall(SYS_get_robust_list, syscall(SYS_gettid), &h2, &l2), 0);
  CHECK(h2 == head);
  CHECK_ERRNO(syscall(SYS_set_robust_list, head, len + 1), EINVAL);
  CHECK_ERRNO(syscall(SYS_set_robust_list, head, 1), EINVAL);
  /* re-registering the same list is fine */
  CHECK_EQ(syscall(SYS_set_robust_list, head, len), 0);
  CHECK_ERRNO(syscall(SYS_get_robust_list, dead_pid(), &h2, &l2), ESRCH);
}

/* lock with a deadline: a kernel that never marks the owner dead must fail
 * the case, not hang it */
static int lock_5s(pthread_mutex_t *m) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 5;
  return pthread_mutex_timedlock(m, &ts);
}

static pthread_mutex_t robust;
static void *lock_and_die(void *arg) {
  (void)arg;
  pthread_mutex_lock(&robust);
  return NULL; /* exits holding the lock */
}

TEST(robust_mutex_owner_death_in_thread) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  CHECK_EQ(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
  CHECK_EQ(pthread_mutex_init(&robust, &a), 0);
  xjoin(xthread(lock_and_die, NULL));
  /* the kernel walked the dead thread's robust list */
  CHECK_EQ(lock_5s(&robust), EOWNERDEAD);
  CHECK_EQ(pthread_mutex_consistent(&robust), 0);
  CHECK_EQ(pthread_mutex_unlock(&robust), 0);
  CHECK_EQ(pthread_mutex_lock(&robust), 0);
  CHECK_EQ(pthread_mutex_unlock(&robust), 0);
}

TEST(robust_mutex_owner_death_across_processes) {
  pthread_mutex_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  CHECK_EQ(pthread_mutex_init(m, &a), 0);
  pid_t pid = xfork();
  if (pid == 0) {
    CHILD_CHECK(pthread_mutex_lock(m) == 0);
    _exit(0);
  }
  expect_exit(pid, 0);
  CHECK_EQ(lock_5s(m), EOWNERDEAD);
  CHECK_EQ(pthread_mutex_consistent(m), 0);
  CHECK_EQ(pthread_mutex_unlock(m), 0);
  CHECK_EQ(pthread_mutex_trylock(m), 0);
  CHECK_EQ(pthread_mutex_unlock(m), 0);
}

/* a bare clone()d thread: it must not touch glibc's per-thread state */
static atomic_int raw_ran;
static atomic_long raw_tid;
static int raw_thread_fn(void *arg) {
  (void)arg;
  atomic_store(&raw_tid, syscall(SYS_gettid));
  atomic_store(&raw_ran, 1);
  return 0; /* glibc's clone then calls the exit system call for this thread */
}

TEST(clone_parent_settid_and_child_cleartid) {
  size_t sz = 256 * 1024;
  char *stack = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(stack != MAP_FAILED);
  static atomic_int ctid;
  static pid_t ptid;
  atomic_store(&ctid, -1);
  ptid = 0;
  atomic_store(&raw_ran, 0);
  int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
              CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  int tid = clone(raw_thread_fn, stack + sz, flags, NULL, &ptid, NULL, &ctid);
  CHECK(tid > 0);
  CHECK_EQ(ptid, tid);
  /* wait for the kernel to clear ctid and wake us at the thread's exit */
  long long end = now_ns() + 10000000000LL;
  int v;
  while ((v = atomic_load(&ctid)) != 0) {
    struct timespec ts = {1, 0};
    futex(&ctid, FUTEX_WAIT, v, &ts);
    if (now_ns() > end) FAILF("ctid never cleared (still %d)", v);
  }
  CHECK_EQ(atomic_load(&raw_ran), 1);
  CHECK_EQ(atomic_load(&raw_tid), tid);
  munmap(stack, sz);
}

static volatile long handler_tid;
static int wake_wfd = -1;
static void record_tid(int sig) {
  (void)sig;
  handler_tid = syscall(SYS_gettid);
  if (write(wake_wfd, "w", 1) != 1) handler_tid = -1;
}

struct sigtarget {
  int rfd;
  int sig;
  long tid;
};
static void *wait_for_signal(void *arg) {
  struct sigtarget *st = arg;
  st->tid = syscall(SYS_gettid);
  /* this thread alone accepts the signal */
  uint64_t m = SIGBIT(st->sig);
  syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, 8);
  /* the handler writes to the pipe; 10 s is only a failure guard */
  struct pollfd pf = {st->rfd, POLLIN, 0};
  while (poll(&pf, 1, 10000) < 0 && errno == EINTR) {}
  return NULL;
}

TEST(pthread_kill_runs_handler_in_that_thread) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR1);
  int p[2];
  xpipe(p);
  wake_wfd = p[1];
  handler_tid = 0;
  on_signal(SIGUSR1, record_tid, SA_RESTART);
  struct sigtarget st = {p[0], SIGUSR1, 0};
  pthread_t t = xthread(wait_for_signal, &st);
  CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
  xjoin(t);
  CHECK(st.tid > 0);
  CHECK_EQ(handler_tid, st.tid);
  CHECK(handler_tid != syscall(SYS_gettid));
  /* it stayed blocked here all along */
  CHECK(!(raw_pending() & SIGBIT(SIGUSR1)));
  raw_setmask(old);
}

TEST(process_signal_goes_to_thread_not_blocking_it) {
  uint64_t old = raw_mask();
  block_sig(SIGUSR2);
  int p[2];
  xpipe(p);
  wake_wfd = p[1];
  handler_tid = 0;
  on_signal(SIGUSR2, record_tid, SA_RESTART);
  struct sigtarget st = {p[0], SIGUSR2, 0};
  pthread_t t = xthread(wait_for_signal, &st);
  CHECK_EQ(kill(getpid(), SIGUSR2), 0);
  xjoin(t);
  CHECK(st.tid > 0);
  CHECK_EQ(handler_tid, st.tid);
  raw_setmask(old);
}

static void *tid_only(void *arg) {
  *(long *)arg = syscall(SYS_gettid);
  return NULL;
}

TEST(tgkill_thread_of_wrong_group_esrch) {
  long tid = 0;
  pthread_t t = xthread(tid_only, &tid);
  xjoin(t);
  CHECK(tid > 0);
  /* it is gone now */
  CHECK_ERRNO(syscall(SYS_tgkill, getpid(), tid, 0), ESRCH);
  /* our own thread, but named with another thread group (a live child's) */
  int gate[2];
  xpipe(gate);
  pid_t pid = xfork();
  if (pid == 0) {
    close(gate[1]);
    get1(gate[0]);
    _exit(0);
  }
  CHECK_ERRNO(syscall(SYS_tgkill, pid, syscall(SYS_gettid), 0), ESRCH);
  CHECK_ERRNO(syscall(SYS_tgkill, getpid(), pid, 0), ESRCH);
  close(gate[1]);
  expect_exit(pid, 0);
  CHECK_EQ(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0), 0);
}

static void *exit_group_thread(void *arg) {
  (void)arg;
  _exit(7);
}

TEST(exit_from_thread_ends_process) {
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    pthread_t t;
    CHILD_CHECK(pthread_create(&t, NULL, exit_group_thread, NULL) == 0);
    for (;;) pause();
  }
  expect_exit(pid, 7);
}

static pthread_t leader;
static void *outlive_leader(void *arg) {
  (void)arg;
  /* wait for the leader to finish, then end the process */
  pthread_join(leader, NULL);
  if (syscall(SYS_getpid) <= 0) _exit(1);
  _exit(9);
}

TEST(leader_pthread_exit_process_lives_on) {
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    leader = pthread_self();
    pthread_t t;
    CHILD_CHECK(pthread_create(&t, NULL, outlive_leader, NULL) == 0);
    pthread_exit(NULL);
  }
  expect_exit(pid, 9);
}

static int report_wfd = -1;
static void *exec_from_thread(void *arg) {
  (void)arg;
  if (dup2(report_wfd, 1) != 1) _exit(126);
  char *const argv[] = {"h", "--ids", NULL};
  syscall(SYS_execve, "/proc/self/exe", argv, environ);
  _exit(127);
}
static void *block_forever(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

TEST(execve_in_thread_kills_other_threads) {
  int p[2];
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    report_wfd = p[1];
    pthread_t t;
    for (int i = 0; i < 3; i++) CHILD_CHECK(pthread_create(&t, NULL, block_forever, NULL) == 0);
    CHILD_CHECK(pthread_create(&t, NULL, exec_from_thread, NULL) == 0);
    for (;;) pause();
  }
  close(p[1]);
  char out[256];
  long n = read_all(p[0], out, sizeof out - 1);
  CHECK(n > 0);
  out[n] = 0;
  expect_exit(pid, 0);
  long rpid = -1, rppid = -1, rtid = -1;
  int tasks = -2;
  if (sscanf(out, "pid=%ld ppid=%ld tid=%ld tasks=%d", &rpid, &rppid, &rtid, &tasks) != 4)
    FAILF("helper report: %s", out);
  /* the new image runs as the process, with the process's id, alone */
  CHECK_EQ(rpid, pid);
  CHECK_EQ(rtid, pid);
  CHECK_EQ(rppid, getpid());
  CHECK_EQ(tasks, 1);
}
