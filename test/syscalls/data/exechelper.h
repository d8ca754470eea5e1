/*
 * exechelper.h - lets a test binary serve as the program its own cases execve.
 *
 * Include it after harness.h and procutil.h. It adds an ELF constructor that
 * runs before main (glibc passes argc, argv and envp to constructors). When
 * argv[1] names one of the helper modes below, the constructor does what the
 * mode says, writes its report to file descriptor 1 and ends the process with
 * _exit; otherwise it returns and the harness runs as usual. A case runs the
 * helper by executing /proc/self/exe (see run_helper), usually with a pipe on
 * descriptor 1, and compares the report with what execve(2) promises.
 *
 * Modes (argv[1]):
 *   --exit N        _exit(N)
 *   --kill SIG      reset SIG to its default action, unblock it and raise it
 *   --args          report argc, every argv[i] and every environment string
 *   --script...     any argv[1] starting with "--script": the same as --args
 *                   (used as the optional argument of a "#!" line)
 *   *.sbxscript     argv[1] ending in ".sbxscript" (a "#!" line without an
 *                   optional argument puts the script path there): as --args
 *   --fds N...      for each N, '1' if descriptor N is open, '0' if not
 *   --sigstate      the action of signals 1-31 and 34-64 ('D' default,
 *                   'I' ignored, 'H' caught), the blocked and pending masks,
 *                   and whether an alternate signal stack is set
 *   --ids           pid, parent pid, thread id and the number of threads
 *                   (entries of /proc/self/task, -1 when unreadable)
 *   --timer ID      errno of timer_gettime on kernel timer ID (0 if it worked)
 *   --itimer        the seconds left on the ITIMER_REAL timer (getitimer)
 *   --ready-wait    write "r", then read descriptor 0 until EOF, then _exit(0)
 *
 * Signals 32 and 33 are left out of --sigstate: glibc uses them itself.
 */
#ifndef SBX_EXECHELPER_H
#define SBX_EXECHELPER_H

#include <dirent.h>
#include <stdarg.h>
#include <sys/time.h>

extern char **environ;

static void eh_out(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) _exit(120);
  if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
  if (write_all(1, buf, (size_t)n) != 0) _exit(121);
}

static void eh_report_args(int argc, char **argv, char **envp) {
  eh_out("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) eh_out("argv[%d]=%s\n", i, argv[i]);
  for (char **e = envp; e && *e; e++) eh_out("env=%s\n", *e);
}

static int eh_ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

__attribute__((constructor)) static void eh_main(int argc, char **argv, char **envp) {
  if (argc < 2 || argv == NULL || argv[1] == NULL) return;
  const char *mode = argv[1];
  if (strcmp(mode, "--exit") == 0 && argc >= 3) {
    _exit(atoi(argv[2]));
  } else if (strcmp(mode, "--kill") == 0 && argc >= 3) {
    int sig = atoi(argv[2]);
    signal(sig, SIG_DFL);
    uint64_t m = SIGBIT(sig);
    syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, 8);
    syscall(SYS_kill, syscall(SYS_getpid), sig);
    _exit(122);
  } else if (strcmp(mode, "--args") == 0 || strncmp(mode, "--script", 8) == 0 ||
             eh_ends_with(mode, ".sbxscript")) {
    eh_report_args(argc, argv, envp);
    _exit(0);
  } else if (strcmp(mode, "--fds") == 0) {
    for (int i = 2; i < argc; i++)
      eh_out("%c", syscall(SYS_fcntl, atoi(argv[i]), F_GETFD) == -1 ? '0' : '1');
    eh_out("\n");
    _exit(0);
  } else if (strcmp(mode, "--sigstate") == 0) {
    char acts[65];
    int n = 0;
    for (int sig = 1; sig <= 64; sig++) {
      if (sig == 32 || sig == 33) continue;
      struct sigaction sa;
      if (sigaction(sig, NULL, &sa) != 0) { acts[n++] = '?'; continue; }
      acts[n++] = sa.sa_handler == SIG_DFL ? 'D' : sa.sa_handler == SIG_IGN ? 'I' : 'H';
    }
    acts[n] = 0;
    uint64_t mask = 0, pend = 0;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, 8);
    syscall(SYS_rt_sigpending, &pend, 8);
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    syscall(SYS_sigaltstack, NULL, &ss);
    eh_out("acts=%s\nmask=%llx\npending=%llx\naltstack_disabled=%d\n", acts,
           (unsigned long long)mask, (unsigned long long)pend, (ss.ss_flags & SS_DISABLE) ? 1 : 0);
    _exit(0);
  } else if (strcmp(mode, "--ids") == 0) {
    int tasks = -1;
    DIR *d = opendir("/proc/self/task");
    if (d) {
      struct dirent *e;
      tasks = 0;
      while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') tasks++;
      closedir(d);
    }
    eh_out("pid=%ld ppid=%ld tid=%ld tasks=%d\n", syscall(SYS_getpid), syscall(SYS_getppid),
           syscall(SYS_gettid), tasks);
    _exit(0);
  } else if (strcmp(mode, "--timer") == 0 && argc >= 3) {
    struct itimerspec its;
    long r = syscall(SYS_timer_gettime, atoi(argv[2]), &its);
    eh_out("%d\n", r == 0 ? 0 : errno);
    _exit(0);
  } else if (strcmp(mode, "--itimer") == 0) {
    struct itimerval it;
    memset(&it, 0, sizeof it);
    syscall(SYS_getitimer, ITIMER_REAL, &it);
    eh_out("%ld\n", (long)it.it_value.tv_sec);
    _exit(0);
  } else if (strcmp(mode, "--ready-wait") == 0) {
    eh_out("r");
    char c;
    for (;;) {
      ssize_t r = read(0, &c, 1);
      if (r == 0 || (r < 0 && errno != EINTR)) break;
    }
    _exit(0);
  }
}

/* exe_path: the absolute path of the running test binary */
static __attribute__((unused)) const char *exe_path(void) {
  static char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) FAILF("readlink /proc/self/exe: %s", strerror(errno));
  path[n] = 0;
  return path;
}

/*
 * run_helper: fork; in the child run prep (if any), put a pipe on descriptor 1
 * and execve path (NULL: /proc/self/exe) with argv and envp (NULL: environ).
 * Collect what the helper writes into out (NUL-terminated) and return the
 * child's wait status. A failed execve ends the child with exit code 127.
 */
static __attribute__((unused)) int run_helper(const char *path, char *const argv[], char *const envp[],
                                              void (*prep)(void), char *out, size_t cap) {
  int p[2];
  xpipe(p);
  pid_t pid = xfork();
  if (pid == 0) {
    child_guard(20);
    if (prep) prep();
    if (dup2(p[1], 1) != 1) _exit(126);
    syscall(SYS_execve, path ? path : "/proc/self/exe", argv, envp ? envp : environ);
    dprintf(2, "execve: %s\n", strerror(errno));
    _exit(127);
  }
  close(p[1]);
  long n = read_all(p[0], out, cap - 1);
  if (n < 0) FAILF("reading the helper's report: %s", strerror(errno));
  out[n] = 0;
  close(p[0]);
  return reap(pid);
}

#endif
