//go:build ignore

/*
 * clocks.c - clocks and sleeping: clock_gettime, clock_getres, gettimeofday,
 * time, nanosleep and clock_nanosleep.
 *
 * Follows clock_getres(2) (DESCRIPTION: CLOCK_REALTIME, CLOCK_MONOTONIC,
 * CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID; ERRORS), gettimeofday(2),
 * time(2), nanosleep(2) (DESCRIPTION, ERRORS) and clock_nanosleep(2)
 * (TIMER_ABSTIME, ERRORS; the raw call returns -1 with errno like any other).
 *
 * Clocks are read through syscall(2), never the vDSO, so the kernel (or the
 * sandbox) answers every read.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL
#define BAD_CLOCK 100

static long long now_ns(clockid_t clk) {
  struct timespec ts;
  if (syscall(SYS_clock_gettime, clk, &ts) != 0)
    FAILF("clock_gettime(%d): %s", (int)clk, strerror(errno));
  if (ts.tv_nsec < 0 || ts.tv_nsec >= NS)
    FAILF("clock %d: tv_nsec %ld out of range", (int)clk, ts.tv_nsec);
  return ts.tv_sec * NS + ts.tv_nsec;
}

TEST(clock_monotonic_never_goes_backwards) {
  long long prev = now_ns(CLOCK_MONOTONIC);
  long long first = prev;
  for (int i = 0; i < 2000; i++) {
    long long t = now_ns(CLOCK_MONOTONIC);
    if (t < prev) FAILF("monotonic clock went back from %lld to %lld", prev, t);
    prev = t;
  }
  CHECK(prev > first);
}

TEST(clock_monotonic_positive) {
  struct timespec ts = {-1, -1};
  CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts), 0);
  CHECK(ts.tv_sec >= 0);
  CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < NS);
  CHECK(ts.tv_sec > 0 || ts.tv_nsec > 0);
}

TEST(clock_realtime_close_to_time) {
  long long rt = now_ns(CLOCK_REALTIME);
  time_t t1 = (time_t)syscall(SYS_time, NULL);
  time_t t2 = 0;
  time_t t3 = (time_t)syscall(SYS_time, &t2);
  CHECK_EQ(t3, t2);
  /* after 2001, and within a couple of seconds of each other */
  CHECK(t1 > 1000000000);
  CHECK(t1 >= rt / NS - 1 && t1 <= rt / NS + 2);
  CHECK(t3 >= t1 && t3 <= t1 + 2);
}

TEST(clock_realtime_close_to_gettimeofday) {
  long long rt1 = now_ns(CLOCK_REALTIME);
  struct timeval tv = {-1, -1};
  CHECK_EQ(syscall(SYS_gettimeofday, &tv, NULL), 0);
  long long rt2 = now_ns(CLOCK_REALTIME);
  CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
  long long g = tv.tv_sec * NS + tv.tv_usec * 1000LL;
  /* microsecond truncation: gtod may sit up to 1 us below the first read */
  CHECK(g >= rt1 - 1000);
  CHECK(g <= rt2);
  CHECK(rt2 - rt1 < 2 * NS);
}

TEST(clock_getres_sane) {
  clockid_t clks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                      CLOCK_THREAD_CPUTIME_ID};
  for (unsigned i = 0; i < sizeof clks / sizeof clks[0]; i++) {
    struct timespec res = {-1, -1};
    if (syscall(SYS_clock_getres, clks[i], &res) != 0)
      FAILF("clock_getres(%d): %s", (int)clks[i], strerror(errno));
    /* positive and no coarser than 10 ms */
    if (res.tv_sec != 0 || res.tv_nsec <= 0 || res.tv_nsec > 10000000)
      FAILF("clock %d resolution %ld.%09ld", (int)clks[i], (long)res.tv_sec, res.tv_nsec);
  }
  /* a NULL result pointer is allowed */
  CHECK_EQ(syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL), 0);
}

TEST(clock_invalid_id_einval) {
  struct timespec ts;
  CHECK_ERRNO(syscall(SYS_clock_gettime, BAD_CLOCK, &ts), EINVAL);
  CHECK_ERRNO(syscall(SYS_clock_getres, BAD_CLOCK, &ts), EINVAL);
  CHECK_ERRNO(syscall(SYS_clock_gettime, 12345, &ts), EINVAL);
  struct timespec req = {0, 1000};
  CHECK_ERRNO(syscall(SYS_clock_nanosleep, BAD_CLOCK, 0, &req, NULL), EINVAL);
}

TEST(nanosleep_sleeps_at_least_requested) {
  long long t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec req = {0, 20 * 1000 * 1000}, rem = {7, 7};
  CHECK_EQ(syscall(SYS_nanosleep, &req, &rem), 0);
  long long dt = now_ns(CLOCK_MONOTONIC) - t0;
  if (dt < 20 * 1000 * 1000LL) FAILF("slept only %lld ns", dt);
  if (dt > 2 * NS) FAILF("slept %lld ns for a 20 ms request", dt);
}

TEST(nanosleep_zero_returns_immediately) {
  struct timespec req = {0, 0};
  long long t0 = now_ns(CLOCK_MONOTONIC);
  CHECK_EQ(syscall(SYS_nanosleep, &req, NULL), 0);
  CHECK(now_ns(CLOCK_MONOTONIC) - t0 < NS);
}

TEST(nanosleep_bad_timespec_einval) {
  struct timespec req = {0, 1000000000};
  long long t0 = now_ns(CLOCK_MONOTONIC);
  CHECK_ERRNO(syscall(SYS_nanosleep, &req, NULL), EINVAL);
  req.tv_nsec = -1;
  CHECK_ERRNO(syscall(SYS_nanosleep, &req, NULL), EINVAL);
  req.tv_sec = -1;
  req.tv_nsec = 0;
  CHECK_ERRNO(syscall(SYS_nanosleep, &req, NULL), EINVAL);
  req.tv_sec = 5;
  req.tv_nsec = 2000000000;
  CHECK_ERRNO(syscall(SYS_nanosleep, &req, NULL), EINVAL);
  /* none of them slept */
  CHECK(now_ns(CLOCK_MONOTONIC) - t0 < NS);
}

TEST(clock_nanosleep_relative) {
  long long t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec req = {0, 15 * 1000 * 1000};
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL), 0);
  CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 15 * 1000 * 1000LL);
}

TEST(clock_nanosleep_abstime_monotonic) {
  long long target = now_ns(CLOCK_MONOTONIC) + 20 * 1000 * 1000LL;
  struct timespec req = {target / NS, target % NS};
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &req, NULL), 0);
  long long t = now_ns(CLOCK_MONOTONIC);
  if (t < target) FAILF("woke at %lld, before the deadline %lld", t, target);
  CHECK(t - target < 2 * NS);
}

TEST(clock_nanosleep_abstime_realtime) {
  long long target = now_ns(CLOCK_REALTIME) + 10 * 1000 * 1000LL;
  struct timespec req = {target / NS, target % NS};
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, &req, NULL), 0);
  CHECK(now_ns(CLOCK_REALTIME) >= target);
}

TEST(clock_nanosleep_abstime_in_past_returns_at_once) {
  long long t0 = now_ns(CLOCK_MONOTONIC);
  struct timespec req = {0, 1};
  CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &req, NULL), 0);
  CHECK(now_ns(CLOCK_MONOTONIC) - t0 < NS);
}

TEST(clock_nanosleep_bad_arguments_einval) {
  struct timespec req = {0, NS};
  CHECK_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL), EINVAL);
  CHECK_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &req, NULL), EINVAL);
  req.tv_nsec = -1;
  CHECK_ERRNO(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL), EINVAL);
}

static volatile uint64_t sink;

TEST(clock_cputime_advances_while_spinning) {
  long long p0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  long long th0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
  long long w0 = now_ns(CLOCK_MONOTONIC);
  long long p1 = p0;
  /* burn CPU in user space until 10 ms of process CPU time are used */
  while (p1 - p0 < 10 * 1000 * 1000LL) {
    for (int i = 0; i < 200000; i++) sink = sink * 6364136223846793005ULL + 1;
    p1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (now_ns(CLOCK_MONOTONIC) - w0 > NS)
      FAILF("process CPU time advanced only %lld ns in a second of spinning", p1 - p0);
  }
  long long th1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
  long long w1 = now_ns(CLOCK_MONOTONIC);
  CHECK(th1 > th0);
  /* one thread cannot use more CPU time than wall time has passed (1 ms slack) */
  CHECK(p1 - p0 <= w1 - w0 + 1000000);
}

TEST(clock_cputime_does_not_advance_much_while_sleeping) {
  long long p0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  struct timespec req = {0, 50 * 1000 * 1000};
  CHECK_EQ(syscall(SYS_nanosleep, &req, NULL), 0);
  long long p1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  CHECK(p1 >= p0);
  if (p1 - p0 > 25 * 1000 * 1000LL) FAILF("sleeping 50 ms used %lld ns of CPU", p1 - p0);
}
