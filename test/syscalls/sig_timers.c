//go:build ignore

/*
 * sig_timers.c - timers that signal: alarm, setitimer/getitimer (ITIMER_REAL,
 * ITIMER_VIRTUAL, ITIMER_PROF), POSIX timers (timer_create with SIGEV_SIGNAL
 * and SIGEV_NONE, timer_settime/gettime/getoverrun/delete), timerfd, and
 * sleeps cut short by a signal (pause, nanosleep).
 *
 * Follows alarm(2) (returns the seconds left; shares the timer with
 * setitimer), getitimer(2) (DESCRIPTION: the three timers and their signals,
 * old_value; ERRORS: EINVAL), pause(2), timer_create(2) (sevp NULL means
 * SIGEV_SIGNAL, SIGALRM, sival_int = the timer id; SIGEV_NONE; ERRORS),
 * timer_settime(2) (TIMER_ABSTIME, old_value, it_interval, disarming with a
 * zero it_value; ERRORS: EINVAL), timer_getoverrun(2), timer_delete(2),
 * sigaction(2) (SI_TIMER, si_value, si_overrun), timerfd_create(2) (read
 * returns the number of expirations as a uint64_t; EAGAIN with TFD_NONBLOCK;
 * EINVAL for a short buffer; TFD_TIMER_ABSTIME; ERRORS), nanosleep(2) ("the
 * remaining time ... into the structure pointed to by rem"; EINTR; EINVAL),
 * clock_nanosleep(2) (TIMER_ABSTIME; CLOCK_PROCESS_CPUTIME_ID, which other
 * threads advance; not CLOCK_THREAD_CPUTIME_ID) and signal(7).
 *
 * Expirations are awaited with the raw rt_sigtimedwait or a blocking read;
 * every wait has a generous upper bound that only guards against hangs.
 * POSIX timer calls are made raw and take the kernel's timer id.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"

#include <poll.h>
#include <pthread.h>
#include <sys/time.h>
#include <sys/timerfd.h>

#define MS 1000000L

static long waitsig(int sig, siginfo_t *si, long ms) {
  uint64_t set = SIGBIT(sig);
  struct timespec ts = {ms / 1000, (ms % 1000) * MS};
  return syscall(SYS_rt_sigtimedwait, &set, si, &ts, 8);
}

static void clear_itimer(int which) {
  struct itimerval z;
  memset(&z, 0, sizeof z);
  setitimer(which, &z, NULL);
}

static long long tv_us(struct timeval tv) { return tv.tv_sec * 1000000LL + tv.tv_usec; }
static long long ts_ns(struct timespec ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

static int new_timer(clockid_t clock, int notify, int sig, int value) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = notify;
  sev.sigev_signo = sig;
  sev.sigev_value.sival_int = value;
  int id = -1;
  if (syscall(SYS_timer_create, clock, &sev, &id) != 0) FAILF("timer_create: %s", strerror(errno));
  return id;
}

static long tsettime(int id, int flags, long long value_ns, long long interval_ns, struct itimerspec *old) {
  struct itimerspec its = {{interval_ns / 1000000000LL, interval_ns % 1000000000LL},
                           {value_ns / 1000000000LL, value_ns % 1000000000LL}};
  return syscall(SYS_timer_settime, id, flags, &its, old);
}

static volatile sig_atomic_t hits;
static void count_handler(int sig) { (void)sig; hits++; }

static void burn_cpu_until(int sig) {
  /* spin on the CPU until sig is pending (it is blocked), 5 s at most */
  long long end = now_ns() + 5000 * MS;
  volatile double x = 1;
  while (!(raw_pending() & SIGBIT(sig)) && now_ns() < end)
    for (int i = 0; i < 10000; i++) x = x * 1.0000001 + 1e-9;
}

TEST(alarm_returns_seconds_left) {
  alarm(0);
  CHECK_EQ(alarm(30), 0);
  CHECK_EQ(alarm(10), 30);
  CHECK_EQ(alarm(0), 10);
  CHECK_EQ(alarm(0), 0);
}

TEST(alarm_shares_timer_with_itimer_real) {
  struct itimerval it = {{0, 0}, {20, 0}}, cur;
  CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
  CHECK_EQ(alarm(7), 20);
  CHECK_OK(getitimer(ITIMER_REAL, &cur));
  CHECK(cur.it_value.tv_sec <= 7 && tv_us(cur.it_value) > 6000000);
  CHECK_EQ(alarm(0), 7);
  CHECK_OK(getitimer(ITIMER_REAL, &cur));
  CHECK_EQ(tv_us(cur.it_value), 0);
}

TEST(pause_returns_eintr_on_sigalrm) {
  hits = 0;
  on_signal(SIGALRM, count_handler, 0);
  /* periodic, so that pause is woken even if the first expiration came
   * before it was entered */
  struct itimerval it = {{0, 20000}, {0, 20000}};
  long long t0 = now_ns();
  CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
  CHECK_ERRNO(pause(), EINTR);
  clear_itimer(ITIMER_REAL);
  CHECK(hits >= 1);
  CHECK(now_ns() - t0 >= 19 * MS);
}

TEST(setitimer_getitimer_real_round_trip) {
  struct itimerval it = {{1, 250000}, {10, 0}}, cur;
  CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
  CHECK_OK(getitimer(ITIMER_REAL, &cur));
  CHECK(tv_us(cur.it_value) > 9000000 && tv_us(cur.it_value) <= 10000000);
  CHECK_EQ(cur.it_interval.tv_sec, 1);
  CHECK_EQ(cur.it_interval.tv_usec, 250000);
  clear_itimer(ITIMER_REAL);
  CHECK_OK(getitimer(ITIMER_REAL, &cur));
  CHECK_EQ(tv_us(cur.it_value), 0);
  CHECK_EQ(tv_us(cur.it_interval), 0);
}

TEST(setitimer_returns_old_value) {
  struct itimerval a = {{0, 0}, {50, 0}}, b = {{0, 0}, {40, 0}}, old;
  CHECK_OK(setitimer(ITIMER_REAL, &a, NULL));
  memset(&old, 0xff, sizeof old);
  CHECK_OK(setitimer(ITIMER_REAL, &b, &old));
  CHECK(tv_us(old.it_value) > 49000000 && tv_us(old.it_value) <= 50000000);
  CHECK_EQ(tv_us(old.it_interval), 0);
  clear_itimer(ITIMER_REAL);
}

TEST(itimer_real_delivers_sigalrm) {
  uint64_t old = raw_mask();
  block_sig(SIGALRM);
  struct itimerval it = {{0, 0}, {0, 10000}};
  long long t0 = now_ns();
  CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitsig(SIGALRM, &si, 5000), SIGALRM);
  CHECK(now_ns() - t0 >= 9 * MS);
  CHECK_EQ(si.si_signo, SIGALRM);
  /* one-shot: disarmed now */
  struct itimerval cur;
  CHECK_OK(getitimer(ITIMER_REAL, &cur));
  CHECK_EQ(tv_us(cur.it_value), 0);
  raw_setmask(old);
}

TEST(itimer_real_periodic) {
  uint64_t old = raw_mask();
  block_sig(SIGALRM);
  struct itimerval it = {{0, 5000}, {0, 5000}}, cur;
  CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
  for (int i = 0; i < 3; i++) CHECK_EQ(waitsig(SIGALRM, NULL, 5000), SIGALRM);
  CHECK_OK(getitimer(ITIMER_REAL, &cur));
  CHECK_EQ(tv_us(cur.it_interval), 5000);
  CHECK(tv_us(cur.it_value) > 0 && tv_us(cur.it_value) <= 5000);
  clear_itimer(ITIMER_REAL);
  /* A period that ended before the timer was cleared left a SIGALRM
   * pending (a slow machine takes 5 ms between two calls): take it, or
   * unblocking it kills the process. */
  if (raw_pending() & SIGBIT(SIGALRM)) CHECK_EQ(waitsig(SIGALRM, NULL, 0), SIGALRM);
  raw_setmask(old);
}

TEST(itimer_virtual_counts_cpu_time) {
  uint64_t old = raw_mask();
  block_sig(SIGVTALRM);
  struct itimerval it = {{0, 0}, {0, 10000}}, cur;
  CHECK_OK(setitimer(ITIMER_VIRTUAL, &it, NULL));
  CHECK_OK(getitimer(ITIMER_VIRTUAL, &cur));
  /* Linux adds one clock tick (at most 10 ms) to CPU-time interval timers */
  CHECK(tv_us(cur.it_value) > 0 && tv_us(cur.it_value) <= 20000);
  burn_cpu_until(SIGVTALRM);
  CHECK(raw_pending() & SIGBIT(SIGVTALRM));
  CHECK_EQ(waitsig(SIGVTALRM, NULL, 0), SIGVTALRM);
  raw_setmask(old);
}

TEST(itimer_prof_counts_cpu_time) {
  uint64_t old = raw_mask();
  block_sig(SIGPROF);
  struct itimerval it = {{0, 0}, {0, 10000}};
  CHECK_OK(setitimer(ITIMER_PROF, &it, NULL));
  burn_cpu_until(SIGPROF);
  CHECK(raw_pending() & SIGBIT(SIGPROF));
  CHECK_EQ(waitsig(SIGPROF, NULL, 0), SIGPROF);
  raw_setmask(old);
}

TEST(itimer_virtual_does_not_run_while_sleeping) {
  uint64_t old = raw_mask();
  block_sig(SIGVTALRM);
  struct itimerval it = {{0, 0}, {0, 5000}}, cur;
  CHECK_OK(setitimer(ITIMER_VIRTUAL, &it, NULL));
  sleep_ms(30);
  /* 30 ms asleep used far less than 5 ms of user CPU time */
  CHECK(!(raw_pending() & SIGBIT(SIGVTALRM)));
  CHECK_OK(getitimer(ITIMER_VIRTUAL, &cur));
  CHECK(tv_us(cur.it_value) > 0);
  clear_itimer(ITIMER_VIRTUAL);
  raw_setmask(old);
}

TEST(itimer_errors_einval) {
  struct itimerval it = {{0, 0}, {0, 1000000}}, cur;
  CHECK_ERRNO(setitimer(ITIMER_REAL, &it, NULL), EINVAL);
  it.it_value.tv_usec = -1;
  CHECK_ERRNO(setitimer(ITIMER_REAL, &it, NULL), EINVAL);
  it.it_value.tv_usec = 0;
  it.it_interval.tv_usec = 1000000;
  CHECK_ERRNO(setitimer(ITIMER_REAL, &it, NULL), EINVAL);
  CHECK_ERRNO(syscall(SYS_setitimer, 7, &it, NULL), EINVAL);
  CHECK_ERRNO(syscall(SYS_getitimer, 7, &cur), EINVAL);
}

TEST(timer_create_sigev_signal_delivers_value) {
  int sig = SIGRTMIN + 1;
  uint64_t old = raw_mask();
  block_sig(sig);
  int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 99);
  CHECK(id >= 0);
  long long t0 = now_ns();
  CHECK_EQ(tsettime(id, 0, 10 * MS, 0, NULL), 0);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitsig(sig, &si, 5000), sig);
  CHECK(now_ns() - t0 >= 9 * MS);
  CHECK_EQ(si.si_signo, sig);
  CHECK_EQ(si.si_code, SI_TIMER);
  CHECK_EQ(si.si_value.sival_int, 99);
  CHECK_EQ(si.si_overrun, 0);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
  raw_setmask(old);
}

TEST(timer_create_null_sevp_means_sigalrm_with_id) {
  uint64_t old = raw_mask();
  block_sig(SIGALRM);
  int id = -1;
  CHECK_EQ(syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &id), 0);
  CHECK(id >= 0);
  CHECK_EQ(tsettime(id, 0, 5 * MS, 0, NULL), 0);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitsig(SIGALRM, &si, 5000), SIGALRM);
  CHECK_EQ(si.si_code, SI_TIMER);
  CHECK_EQ(si.si_value.sival_int, id);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
  raw_setmask(old);
}

TEST(timer_gettime_remaining_and_interval) {
  int id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  struct itimerspec cur;
  memset(&cur, 0xff, sizeof cur);
  /* a new timer is disarmed */
  CHECK_EQ(syscall(SYS_timer_gettime, id, &cur), 0);
  CHECK_EQ(ts_ns(cur.it_value), 0);
  CHECK_EQ(ts_ns(cur.it_interval), 0);
  CHECK_EQ(tsettime(id, 0, 10000 * MS, 2000 * MS, NULL), 0);
  CHECK_EQ(syscall(SYS_timer_gettime, id, &cur), 0);
  CHECK(ts_ns(cur.it_value) > 9000 * MS && ts_ns(cur.it_value) <= 10000 * MS);
  CHECK_EQ(ts_ns(cur.it_interval), 2000 * MS);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
}

TEST(timer_settime_returns_old_value_and_disarms) {
  /* SIGEV_SIGNAL (the signal never comes: the timer is disarmed long before
   * it is due). With SIGEV_NONE, Linux keeps reporting the old remaining time
   * from timer_gettime after a disarm, contrary to timer_settime(2), so that
   * combination is not tested. */
  int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 6, 0);
  CHECK_EQ(tsettime(id, 0, 30000 * MS, 500 * MS, NULL), 0);
  struct itimerspec old, cur;
  memset(&old, 0, sizeof old);
  /* a zero it_value disarms */
  CHECK_EQ(tsettime(id, 0, 0, 0, &old), 0);
  CHECK(ts_ns(old.it_value) > 29000 * MS && ts_ns(old.it_value) <= 30000 * MS);
  CHECK_EQ(ts_ns(old.it_interval), 500 * MS);
  CHECK_EQ(syscall(SYS_timer_gettime, id, &cur), 0);
  CHECK_EQ(ts_ns(cur.it_value), 0);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
}

TEST(timer_settime_abstime) {
  int sig = SIGRTMIN + 2;
  uint64_t old = raw_mask();
  block_sig(sig);
  int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 5);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long target = ts_ns(now) + 15 * MS;
  CHECK_EQ(tsettime(id, TIMER_ABSTIME, target, 0, NULL), 0);
  CHECK_EQ(waitsig(sig, NULL, 5000), sig);
  CHECK(now_ns() >= target);
  /* an absolute time already past fires at once */
  clock_gettime(CLOCK_MONOTONIC, &now);
  CHECK_EQ(tsettime(id, TIMER_ABSTIME, ts_ns(now) - 1000 * MS, 0, NULL), 0);
  CHECK_EQ(waitsig(sig, NULL, 5000), sig);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
  raw_setmask(old);
}

TEST(timer_getoverrun_counts_missed_expirations) {
  int sig = SIGRTMIN + 3;
  uint64_t old = raw_mask();
  block_sig(sig);
  int id = new_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig, 0);
  CHECK_EQ(tsettime(id, 0, 1 * MS, 1 * MS, NULL), 0);
  /* the first expiration queues the signal; the ones while it stays pending
   * are counted as overruns when it is taken */
  sleep_ms(30);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK_EQ(waitsig(sig, &si, 5000), sig);
  CHECK_EQ(si.si_code, SI_TIMER);
  CHECK(si.si_overrun >= 5);
  long ov = syscall(SYS_timer_getoverrun, id);
  CHECK_EQ(ov, si.si_overrun);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
  raw_setmask(old);
}

TEST(timer_sigev_none_polled_with_gettime) {
  int id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  uint64_t before = raw_pending();
  CHECK_EQ(tsettime(id, 0, 20 * MS, 0, NULL), 0);
  struct itimerspec cur;
  CHECK_EQ(syscall(SYS_timer_gettime, id, &cur), 0);
  long long first = ts_ns(cur.it_value);
  CHECK(first > 0 && first <= 20 * MS);
  long long end = now_ns() + 5000 * MS, last = first;
  for (;;) {
    CHECK_EQ(syscall(SYS_timer_gettime, id, &cur), 0);
    long long v = ts_ns(cur.it_value);
    CHECK(v <= last);
    last = v;
    if (v == 0) break;
    if (now_ns() > end) FAILF("the SIGEV_NONE timer never expired");
    sleep_ms(2);
  }
  /* it expired silently */
  CHECK_EQ(raw_pending(), before);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
}

TEST(timer_delete_then_einval) {
  int id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
  struct itimerspec cur;
  CHECK_ERRNO(syscall(SYS_timer_gettime, id, &cur), EINVAL);
  CHECK_ERRNO(syscall(SYS_timer_delete, id), EINVAL);
  CHECK_ERRNO(syscall(SYS_timer_getoverrun, id), EINVAL);
  CHECK_ERRNO(tsettime(id, 0, MS, 0, NULL), EINVAL);
}

TEST(timer_create_and_settime_errors) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGUSR1;
  int id;
  CHECK_ERRNO(syscall(SYS_timer_create, 12345, &sev, &id), EINVAL);
  sev.sigev_signo = 65;
  CHECK_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id), EINVAL);
  sev.sigev_signo = SIGUSR1;
  sev.sigev_notify = 77;
  CHECK_ERRNO(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id), EINVAL);
  id = new_timer(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
  struct itimerspec bad = {{0, 0}, {0, 1000000000}};
  CHECK_ERRNO(syscall(SYS_timer_settime, id, 0, &bad, NULL), EINVAL);
  bad.it_value.tv_nsec = -1;
  CHECK_ERRNO(syscall(SYS_timer_settime, id, 0, &bad, NULL), EINVAL);
  CHECK_EQ(syscall(SYS_timer_delete, id), 0);
}

TEST(timer_create_realtime_and_cputime_clocks) {
  int a = new_timer(CLOCK_REALTIME, SIGEV_NONE, 0, 0);
  int b = new_timer(CLOCK_PROCESS_CPUTIME_ID, SIGEV_NONE, 0, 0);
  int c = new_timer(CLOCK_BOOTTIME, SIGEV_NONE, 0, 0);
  CHECK(a != b && b != c && a != c);
  CHECK_EQ(tsettime(b, 0, 1000 * MS, 0, NULL), 0);
  struct itimerspec cur;
  CHECK_EQ(syscall(SYS_timer_gettime, b, &cur), 0);
  CHECK(ts_ns(cur.it_value) > 0 && ts_ns(cur.it_value) <= 1000 * MS);
  CHECK_EQ(syscall(SYS_timer_delete, a), 0);
  CHECK_EQ(syscall(SYS_timer_delete, b), 0);
  CHECK_EQ(syscall(SYS_timer_delete, c), 0);
}

TEST(timerfd_read_blocks_until_expiration) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  CHECK(fd >= 0);
  CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  struct itimerspec its = {{0, 0}, {0, 10 * MS}};
  long long t0 = now_ns();
  CHECK_OK(timerfd_settime(fd, 0, &its, NULL));
  uint64_t n = 0;
  CHECK_EQ(read(fd, &n, sizeof n), sizeof n);
  CHECK(now_ns() - t0 >= 9 * MS);
  CHECK_EQ(n, 1);
  close(fd);
}

TEST(timerfd_periodic_expiration_count) {
  int fd = timerfd_create(CLOCK_MONOTONIC, 0);
  CHECK(fd >= 0);
  struct itimerspec its = {{0, 10 * MS}, {0, 10 * MS}};
  CHECK_OK(timerfd_settime(fd, 0, &its, NULL));
  uint64_t n = 0;
  CHECK_EQ(read(fd, &n, sizeof n), sizeof n);
  CHECK(n >= 1);
  sleep_ms(35);
  /* any 35 ms hold at least three 10 ms periods */
  CHECK_EQ(read(fd, &n, sizeof n), sizeof n);
  CHECK(n >= 3);
  CHECK(n < 100);
  close(fd);
}

TEST(timerfd_nonblock_eagain_and_gettime) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  CHECK(fd >= 0);
  CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
  uint64_t n;
  /* disarmed: nothing to read */
  CHECK_ERRNO(read(fd, &n, sizeof n), EAGAIN);
  struct itimerspec its = {{3, 0}, {20, 0}}, cur, old;
  CHECK_OK(timerfd_settime(fd, 0, &its, NULL));
  CHECK_ERRNO(read(fd, &n, sizeof n), EAGAIN);
  CHECK_OK(timerfd_gettime(fd, &cur));
  CHECK(ts_ns(cur.it_value) > 19000 * MS && ts_ns(cur.it_value) <= 20000 * MS);
  CHECK_EQ(ts_ns(cur.it_interval), 3000 * MS);
  /* disarm, getting the old setting back */
  memset(&its, 0, sizeof its);
  CHECK_OK(timerfd_settime(fd, 0, &its, &old));
  CHECK(ts_ns(old.it_value) > 19000 * MS);
  CHECK_OK(timerfd_gettime(fd, &cur));
  CHECK_EQ(ts_ns(cur.it_value), 0);
  CHECK_ERRNO(read(fd, &n, sizeof n), EAGAIN);
  close(fd);
}

TEST(timerfd_abstime_and_poll) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  CHECK(fd >= 0);
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long target = ts_ns(now) + 15 * MS;
  struct itimerspec its = {{0, 0}, {target / 1000000000LL, target % 1000000000LL}};
  CHECK_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
  struct pollfd pf = {fd, POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 0), 0);
  CHECK_EQ(poll(&pf, 1, 5000), 1);
  CHECK(pf.revents & POLLIN);
  CHECK(now_ns() >= target);
  uint64_t n = 0;
  CHECK_EQ(read(fd, &n, sizeof n), sizeof n);
  CHECK_EQ(n, 1);
  /* reading reset the count */
  CHECK_EQ(poll(&pf, 1, 0), 0);
  close(fd);
}

TEST(timerfd_errors_einval) {
  CHECK_ERRNO(timerfd_create(12345, 0), EINVAL);
  CHECK_ERRNO(timerfd_create(CLOCK_MONOTONIC, 0x1), EINVAL);
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  CHECK(fd >= 0);
  struct itimerspec its = {{0, 0}, {0, 1000000000}};
  CHECK_ERRNO(timerfd_settime(fd, 0, &its, NULL), EINVAL);
  its.it_value.tv_nsec = 1 * MS;
  CHECK_ERRNO(timerfd_settime(fd, 0x100, &its, NULL), EINVAL);
  CHECK_OK(timerfd_settime(fd, 0, &its, NULL));
  struct pollfd pf = {fd, POLLIN, 0};
  CHECK_EQ(poll(&pf, 1, 5000), 1);
  uint32_t small;
  CHECK_ERRNO(read(fd, &small, sizeof small), EINVAL);
  int p[2];
  xpipe(p);
  CHECK_ERRNO(timerfd_settime(p[0], 0, &its, NULL), EINVAL);
  close(fd);
}

TEST(nanosleep_sleeps_at_least_requested) {
  struct timespec req = {0, 20 * MS}, rem = {9, 9};
  long long t0 = now_ns();
  CHECK_EQ(nanosleep(&req, &rem), 0);
  CHECK(now_ns() - t0 >= 20 * MS);
}

TEST(nanosleep_interrupted_eintr_with_remaining) {
  hits = 0;
  on_signal(SIGUSR1, count_handler, SA_RESTART); /* nanosleep is never restarted */
  pid_t pid = xfork();
  if (pid == 0) {
    wait_blocked(getppid(), 200);
    CHILD_CHECK(kill(getppid(), SIGUSR1) == 0);
    _exit(0);
  }
  struct timespec req = {5, 0}, rem = {0, 0};
  long long t0 = now_ns();
  CHECK_ERRNO(syscall(SYS_nanosleep, &req, &rem), EINTR);
  long long slept = now_ns() - t0;
  expect_exit(pid, 0);
  CHECK_EQ(hits, 1);
  CHECK(slept < 4000 * MS);
  /* what is left is the rest of the five seconds */
  CHECK(ts_ns(rem) > 4000 * MS && ts_ns(rem) < 5000 * MS);
  /* and what was slept (about 200 ms) went off it. slept also counts the
   * entry into the call and, after rem was computed, the handler and the
   * return, which a loaded machine (or a sandbox) can stretch to tens of
   * milliseconds */
  CHECK(slept >= 150 * MS);
  CHECK(ts_ns(rem) <= 5000 * MS - slept + 50 * MS);
}

TEST(clock_nanosleep_abstime) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long target = ts_ns(now) + 20 * MS;
  struct timespec t = {target / 1000000000LL, target % 1000000000LL};
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL), 0);
  CHECK(now_ns() >= target);
  /* a time in the past returns at once */
  t.tv_sec -= 10;
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL), 0);
}

TEST(nanosleep_invalid_einval) {
  struct timespec bad = {0, 1000000000};
  CHECK_ERRNO(syscall(SYS_nanosleep, &bad, NULL), EINVAL);
  bad.tv_nsec = -1;
  CHECK_ERRNO(syscall(SYS_nanosleep, &bad, NULL), EINVAL);
  bad.tv_sec = -1;
  bad.tv_nsec = 0;
  CHECK_ERRNO(syscall(SYS_nanosleep, &bad, NULL), EINVAL);
}

static volatile int spin_stop;
static void *spin_thread(void *arg) {
  (void)arg;
  volatile double x = 1;
  while (!spin_stop)
    for (int i = 0; i < 10000; i++) x = x * 1.0000001 + 1e-9;
  return NULL;
}

static long long process_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts_ns(ts);
}

TEST(clock_nanosleep_process_cpu_clock) {
  struct timespec t = {0, 30 * MS};
  /* the thread clock cannot be slept on: EINVAL says the man page, and
   * EOPNOTSUPP today's kernels (the clock has no nsleep operation) */
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &t, NULL), -1);
  CHECK(errno == EOPNOTSUPP || errno == EINVAL);
  spin_stop = 0;
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, spin_thread, NULL), 0);
  /* relative: until the spinning thread has used 30 ms more */
  long long c0 = process_cpu_ns();
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, 0, &t, NULL), 0);
  CHECK(process_cpu_ns() - c0 >= 30 * MS);
  /* absolute: until the process clock reads the target */
  long long target = process_cpu_ns() + 20 * MS;
  struct timespec abs = {target / 1000000000LL, target % 1000000000LL};
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &abs, NULL), 0);
  CHECK(process_cpu_ns() >= target);
  spin_stop = 1;
  CHECK_EQ(pthread_join(th, NULL), 0);
  /* a target already reached returns at once */
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &abs, NULL), 0);
}
