//go:build ignore

/*
 * proc_exec.c - successful execve from a forked child, and what the new
 * program image keeps: the argument and environment vectors, descriptors not
 * marked close-on-exec, ignored signal dispositions, the blocked mask, pending
 * signals, the pid and parent pid; and what it loses: caught dispositions
 * (reset to default), close-on-exec descriptors, the alternate signal stack
 * and POSIX timers. Also interpreter scripts ("#!") and execveat on a
 * descriptor.
 *
 * Follows execve(2) (DESCRIPTION: argv/envp; "All process attributes are
 * preserved during an execve(), except the following"; "Note the following
 * further points": ignored dispositions stay ignored, SIGCHLD included on
 * Linux; close-on-exec; "Interpreter scripts" and NOTES "Interpreter scripts":
 * on Linux the whole text after the interpreter name is a single argument),
 * execveat(2) (AT_EMPTY_PATH), signal(7) ("Signal mask and pending signals":
 * both preserved across execve), sigaltstack(2) and timer_create(2) (timers
 * are not inherited by execve).
 *
 * The program executed is the test binary itself (via /proc/self/exe or its
 * resolved path): data/exechelper.h makes it act as a small helper when
 * argv[1] names a helper mode, and it writes its report to descriptor 1,
 * which run_helper connects to a pipe.
 *
 * The go:build line above only keeps the go tool from taking this file for
 * cgo source; gcc builds it as usual (see syscalls_test.go).
 */
#include "harness.h"
#include "data/procutil.h"
#include "data/fsutil.h"
#include "data/exechelper.h"

#include <sys/mman.h>

static char out[8192];

/* line: the value of "key=" in the helper report */
static const char *field(const char *key) {
  static char val[512];
  size_t k = strlen(key);
  for (const char *p = out; p && *p;) {
    if (strncmp(p, key, k) == 0 && p[k] == '=') {
      const char *e = strchr(p, '\n');
      size_t n = e ? (size_t)(e - p - k - 1) : strlen(p + k + 1);
      if (n >= sizeof val) n = sizeof val - 1;
      memcpy(val, p + k + 1, n);
      val[n] = 0;
      return val;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  FAILF("no %s= in the helper report:\n%s", key, out);
}

static void expect_ok(int st) {
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) FAILF("helper %s; report:\n%s", status_str(st), out);
}

/* the action letter of signal sig in a --sigstate report */
static char act_of(int sig) {
  const char *a = field("acts");
  int idx = sig <= 31 ? sig - 1 : sig - 3;
  return a[idx];
}

TEST(execve_helper_exit_code) {
  char *const argv[] = {"helper", "--exit", "37", NULL};
  int st = run_helper(NULL, argv, NULL, NULL, out, sizeof out);
  CHECK(WIFEXITED(st));
  CHECK_EQ(WEXITSTATUS(st), 37);
}

TEST(execve_helper_killed_by_signal) {
  char sig[8];
  snprintf(sig, sizeof sig, "%d", SIGUSR1);
  char *const argv[] = {"helper", "--kill", sig, NULL};
  int st = run_helper(NULL, argv, NULL, NULL, out, sizeof out);
  CHECK(WIFSIGNALED(st));
  CHECK_EQ(WTERMSIG(st), SIGUSR1);
}

TEST(execve_passes_argv_and_envp) {
  char *const argv[] = {"any name at all", "--args", "", "two words", "-x", NULL};
  char *const envp[] = {"A=1", "EMPTY=", "NOEQUALS", "PATH=/nowhere", NULL};
  int st = run_helper(NULL, argv, envp, NULL, out, sizeof out);
  expect_ok(st);
  const char *want =
      "argc=5\n"
      "argv[0]=any name at all\n"
      "argv[1]=--args\n"
      "argv[2]=\n"
      "argv[3]=two words\n"
      "argv[4]=-x\n"
      "env=A=1\n"
      "env=EMPTY=\n"
      "env=NOEQUALS\n"
      "env=PATH=/nowhere\n";
  if (strcmp(out, want) != 0) FAILF("report:\n%s\nwant:\n%s", out, want);
}

TEST(execve_empty_environment) {
  char *const argv[] = {"h", "--args", NULL};
  char *const envp[] = {NULL};
  int st = run_helper(NULL, argv, envp, NULL, out, sizeof out);
  expect_ok(st);
  CHECK(strcmp(out, "argc=2\nargv[0]=h\nargv[1]=--args\n") == 0);
}

TEST(execve_large_argument_list) {
  enum { N = 2000 };
  static char *argv[N + 3];
  static char bufs[N][12];
  argv[0] = "h";
  argv[1] = "--args";
  for (int i = 0; i < N; i++) {
    snprintf(bufs[i], sizeof bufs[i], "a%d", i);
    argv[i + 2] = bufs[i];
  }
  argv[N + 2] = NULL;
  static char big[64 * 1024];
  int st = run_helper(NULL, argv, (char *const[]){NULL}, NULL, big, sizeof big);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) FAILF("helper %s", status_str(st));
  CHECK(strncmp(big, "argc=2002\n", 10) == 0);
  CHECK(strstr(big, "argv[1999]=a1997\n") != NULL);
  CHECK(strstr(big, "argv[2001]=a1999\n") != NULL);
}

static int fd_plain = -1, fd_cloexec = -1, fd_toggled = -1;
static void prep_fds(void) {
  /* descriptors 20, 21 and 22, opened in the child before the execve */
  int p[2];
  if (pipe(p) != 0) _exit(125);
  fd_plain = dup2(p[0], 20);
  fd_cloexec = dup3(p[1], 21, O_CLOEXEC);
  fd_toggled = dup2(p[1], 22);
  fcntl(22, F_SETFD, FD_CLOEXEC);
  fcntl(20, F_SETFD, 0);
  if (fd_plain != 20 || fd_cloexec != 21 || fd_toggled != 22) _exit(124);
  /* 23 starts close-on-exec and has it cleared again */
  if (dup3(p[0], 23, O_CLOEXEC) != 23 || fcntl(23, F_SETFD, 0) != 0) _exit(123);
  close(p[0]);
  close(p[1]);
}

TEST(execve_closes_cloexec_fds_keeps_others) {
  char *const argv[] = {"h", "--fds", "0", "1", "2", "20", "21", "22", "23", "24", NULL};
  int st = run_helper(NULL, argv, NULL, prep_fds, out, sizeof out);
  expect_ok(st);
  /* 0-2 inherited, 20 and 23 kept, 21 and 22 closed, 24 never open */
  if (strcmp(out, "11110010\n") != 0) FAILF("open map %s, want 11110010", out);
}

static void handler(int sig) { (void)sig; }
static void prep_dispositions(void) {
  signal(SIGUSR1, handler);
  signal(SIGUSR2, SIG_IGN);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, handler);
  signal(SIGHUP, SIG_IGN);
  signal(SIGCHLD, SIG_IGN);
  signal(SIGRTMIN + 4, handler);
  signal(SIGRTMIN + 5, SIG_IGN);
}

TEST(execve_resets_caught_keeps_ignored) {
  char *const argv[] = {"h", "--sigstate", NULL};
  int st = run_helper(NULL, argv, NULL, prep_dispositions, out, sizeof out);
  expect_ok(st);
  CHECK_EQ(act_of(SIGUSR1), 'D');
  CHECK_EQ(act_of(SIGINT), 'D');
  CHECK_EQ(act_of(SIGRTMIN + 4), 'D');
  CHECK_EQ(act_of(SIGUSR2), 'I');
  CHECK_EQ(act_of(SIGHUP), 'I');
  CHECK_EQ(act_of(SIGRTMIN + 5), 'I');
  /* Linux keeps an ignored SIGCHLD ignored */
  CHECK_EQ(act_of(SIGCHLD), 'I');
  CHECK_EQ(act_of(SIGTERM), 'D');
  /* no handler survives anywhere */
  CHECK(strchr(field("acts"), 'H') == NULL);
}

static void prep_mask(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGWINCH);
  sigaddset(&s, SIGRTMIN + 2);
  sigprocmask(SIG_SETMASK, &s, NULL);
}

TEST(execve_preserves_blocked_mask) {
  char *const argv[] = {"h", "--sigstate", NULL};
  int st = run_helper(NULL, argv, NULL, prep_mask, out, sizeof out);
  expect_ok(st);
  unsigned long long want = SIGBIT(SIGUSR1) | SIGBIT(SIGWINCH) | SIGBIT(SIGRTMIN + 2);
  CHECK_EQ(strtoull(field("mask"), NULL, 16), want);
  CHECK_EQ(strtoull(field("pending"), NULL, 16), 0);
}

static void prep_pending(void) {
  prep_mask();
  signal(SIGUSR1, handler); /* caught now; reset to default by execve, still blocked */
  raise(SIGUSR1);
  union sigval v = {.sival_int = 1};
  sigqueue(getpid(), SIGRTMIN + 2, v);
}

TEST(execve_preserves_pending_signals) {
  char *const argv[] = {"h", "--sigstate", NULL};
  int st = run_helper(NULL, argv, NULL, prep_pending, out, sizeof out);
  expect_ok(st);
  CHECK_EQ(strtoull(field("pending"), NULL, 16), SIGBIT(SIGUSR1) | SIGBIT(SIGRTMIN + 2));
  CHECK_EQ(act_of(SIGUSR1), 'D');
}

static char altstack_mem[64 * 1024];
static void prep_altstack(void) {
  stack_t ss = {.ss_sp = altstack_mem, .ss_size = sizeof altstack_mem, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) _exit(125);
}

TEST(execve_drops_alternate_signal_stack) {
  char *const argv[] = {"h", "--sigstate", NULL};
  int st = run_helper(NULL, argv, NULL, NULL, out, sizeof out);
  expect_ok(st);
  CHECK(strcmp(field("altstack_disabled"), "1") == 0);
  st = run_helper(NULL, argv, NULL, prep_altstack, out, sizeof out);
  expect_ok(st);
  CHECK(strcmp(field("altstack_disabled"), "1") == 0);
}

TEST(execve_keeps_pid_and_parent) {
  char *const argv[] = {"h", "--ids", NULL};
  int p[2];
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) {
    if (dup2(p[1], 1) != 1) _exit(126);
    syscall(SYS_execve, "/proc/self/exe", argv, environ);
    _exit(127);
  }
  close(p[1]);
  long n = read_all(p[0], out, sizeof out - 1);
  CHECK(n > 0);
  out[n] = 0;
  expect_exit(pid, 0);
  long rpid = -1, rppid = -1, rtid = -1;
  int tasks = 0;
  CHECK_EQ(sscanf(out, "pid=%ld ppid=%ld tid=%ld tasks=%d", &rpid, &rppid, &rtid, &tasks), 4);
  CHECK_EQ(rpid, pid);
  CHECK_EQ(rtid, pid);
  CHECK_EQ(rppid, getpid());
}

TEST(execve_drops_posix_timers) {
  int p[2];
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) {
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_NONE;
    int id = -1;
    CHILD_CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id) == 0);
    struct itimerspec its;
    CHILD_CHECK(syscall(SYS_timer_gettime, id, &its) == 0);
    char ids[16];
    snprintf(ids, sizeof ids, "%d", id);
    char *const argv[] = {"h", "--timer", ids, NULL};
    CHILD_CHECK(dup2(p[1], 1) == 1);
    syscall(SYS_execve, "/proc/self/exe", argv, environ);
    _exit(127);
  }
  close(p[1]);
  long n = read_all(p[0], out, sizeof out - 1);
  CHECK(n >= 0);
  out[n] = 0;
  expect_exit(pid, 0);
  /* the timer the old image made does not exist in the new one */
  CHECK_EQ(atoi(out), EINVAL);
}

static void prep_itimer(void) {
  struct itimerval it = {{0, 0}, {100, 0}};
  if (setitimer(ITIMER_REAL, &it, NULL) != 0) _exit(125);
}

TEST(execve_keeps_itimer_real) {
  /* interval timers are not in execve's list of what is lost */
  char *const argv[] = {"h", "--itimer", NULL};
  int st = run_helper(NULL, argv, NULL, prep_itimer, out, sizeof out);
  expect_ok(st);
  long left = atol(out);
  CHECK(left > 80 && left <= 100);
}

TEST(execve_script_with_optional_arg) {
  char script[8192];
  snprintf(script, sizeof script, "#!%s --script\nnot read by anyone\n", exe_path());
  put_file(P("s"), script, 0755);
  char *const argv[] = {"ignored argv0", "one", "two", NULL};
  int st = run_helper(P("s"), argv, (char *const[]){NULL}, NULL, out, sizeof out);
  expect_ok(st);
  char want[8192];
  snprintf(want, sizeof want,
           "argc=5\nargv[0]=%s\nargv[1]=--script\nargv[2]=%s\nargv[3]=one\nargv[4]=two\n",
           exe_path(), P("s"));
  if (strcmp(out, want) != 0) FAILF("report:\n%s\nwant:\n%s", out, want);
}

TEST(execve_script_optional_arg_is_one_word) {
  char script[8192];
  snprintf(script, sizeof script, "#!%s --script a  b\t c\n", exe_path());
  put_file(P("s"), script, 0755);
  char *const argv[] = {"x", NULL};
  int st = run_helper(P("s"), argv, (char *const[]){NULL}, NULL, out, sizeof out);
  expect_ok(st);
  /* the whole rest of the line, white space included */
  CHECK(strcmp(field("argv[1]"), "--script a  b\t c") == 0);
  CHECK(strcmp(field("argv[2]"), P("s")) == 0);
  CHECK(strcmp(field("argc"), "3") == 0);
}

TEST(execve_script_without_optional_arg) {
  char script[8192];
  snprintf(script, sizeof script, "#!%s\n", exe_path());
  put_file(P("run.sbxscript"), script, 0755);
  char *const argv[] = {"x", "--args", NULL};
  char *const envp[] = {"K=V", NULL};
  int st = run_helper(P("run.sbxscript"), argv, envp, NULL, out, sizeof out);
  expect_ok(st);
  char want[8192];
  snprintf(want, sizeof want, "argc=3\nargv[0]=%s\nargv[1]=%s\nargv[2]=--args\nenv=K=V\n",
           exe_path(), P("run.sbxscript"));
  if (strcmp(out, want) != 0) FAILF("report:\n%s\nwant:\n%s", out, want);
}

TEST(execve_script_interpreter_is_script) {
  char script[8192];
  snprintf(script, sizeof script, "#!%s --script-inner\n", exe_path());
  put_file(P("inner"), script, 0755);
  snprintf(script, sizeof script, "#!%s\n", P("inner"));
  put_file(P("outer"), script, 0755);
  char *const argv[] = {"x", "arg", NULL};
  int st = run_helper(P("outer"), argv, (char *const[]){NULL}, NULL, out, sizeof out);
  expect_ok(st);
  /* exe --script-inner <inner> <outer> arg */
  CHECK(strcmp(field("argc"), "5") == 0);
  CHECK(strcmp(field("argv[1]"), "--script-inner") == 0);
  CHECK(strcmp(field("argv[2]"), P("inner")) == 0);
  CHECK(strcmp(field("argv[3]"), P("outer")) == 0);
  CHECK(strcmp(field("argv[4]"), "arg") == 0);
}

static int exe_fd = -1;
static void prep_exe_fd(void) {
  if (dup2(exe_fd, 30) != 30) _exit(125);
}

TEST(execveat_empty_path_runs_descriptor) {
  exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  CHECK(exe_fd >= 0);
  int p[2];
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) {
    prep_exe_fd();
    if (dup2(p[1], 1) != 1) _exit(126);
    char *const argv[] = {"h", "--fds", "30", NULL};
    syscall(SYS_execveat, 30, "", argv, environ, AT_EMPTY_PATH);
    _exit(127);
  }
  close(p[1]);
  long n = read_all(p[0], out, sizeof out - 1);
  CHECK(n >= 0);
  out[n] = 0;
  expect_exit(pid, 0);
  /* the descriptor executed was not close-on-exec, so it is still open */
  CHECK(strcmp(out, "1\n") == 0);
}

TEST(execve_failure_leaves_process_intact) {
  pid_t pid = xfork();
  if (pid == 0) {
    char *const argv[] = {"x", NULL};
    signal(SIGUSR1, handler);
    CHILD_CHECK(syscall(SYS_execve, "/nonexistent/prog", argv, environ) == -1 && errno == ENOENT);
    /* still the old image, with its handler */
    struct sigaction sa;
    CHILD_CHECK(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == handler);
    _exit(55);
  }
  expect_exit(pid, 55);
}
