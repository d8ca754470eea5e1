package boot

import (
	"golang.org/x/sys/unix"

	"sbx/gofer/confine"
)

// sentryRules are the host syscalls the sandbox process (the sentry, and the
// stub processes it forks, which inherit the filter) may make; every other
// one traps (SIGSYS), which kills the sentry, or, with --debug-seccomp, is
// let through and reported by name when the sandbox ends.
var sentryRules = []confine.Rule{
	// Memory.
	{Nr: unix.SYS_MMAP, Reason: "Go heap; the memory file and donated files mapped into the sentry; stubs map application memory"},
	{Nr: unix.SYS_MUNMAP, Reason: "Go heap; unmapping memory-file windows; stubs empty their address space"},
	{Nr: unix.SYS_MPROTECT, Reason: "stub code page and application mappings"},
	{Nr: unix.SYS_MADVISE, Reason: "Go heap returns memory; MADV_DONTNEED/REMOVE of memory-file pages"},
	{Nr: unix.SYS_MREMAP, Reason: "growing sentry-side mappings"},
	{Nr: unix.SYS_MSYNC, Reason: "msync(2) of shared file mappings"},
	{Nr: unix.SYS_MINCORE, Reason: "mincore(2) of the application, answered from the sentry's mapping"},
	{Nr: unix.SYS_MEMFD_CREATE, Reason: "the memory file grows in new memfds; a region per stub"},
	{Nr: unix.SYS_FTRUNCATE, Reason: "sizing memfds; truncating donated files"},
	{Nr: unix.SYS_FALLOCATE, Reason: "punching holes in the memory file; fallocate(2) on donated files"},
	// Threads, signals and time (the Go runtime and the platforms).
	{Nr: unix.SYS_CLONE, Reason: "Go threads; stub processes (vfork) and stub threads"},
	{Nr: unix.SYS_EXECVEAT, Reason: "a seccomp stub execs the stub image, a memfd (by FD only: AT_EMPTY_PATH; the sentry's root is empty)", Arg: &confine.ArgRule{Index: 4, Values: []uint32{unix.AT_EMPTY_PATH}}},
	{Nr: unix.SYS_FUTEX, Reason: "Go runtime locks; the seccomp platform's hand-off"},
	{Nr: unix.SYS_SCHED_YIELD, Reason: "Go runtime; the seccomp platform's polling"},
	{Nr: unix.SYS_SCHED_GETAFFINITY, Reason: "Go runtime counts CPUs"},
	{Nr: unix.SYS_RT_SIGACTION, Reason: "Go signal handling; stubs install their handlers"},
	{Nr: unix.SYS_RT_SIGPROCMASK, Reason: "Go signal handling; stubs set their masks"},
	{Nr: unix.SYS_RT_SIGRETURN, Reason: "return from Go's and the stubs' signal handlers"},
	{Nr: unix.SYS_SIGALTSTACK, Reason: "Go signal stacks; stub threads' signal stacks"},
	{Nr: unix.SYS_GETTID, Reason: "Go runtime; the platforms find the calling thread's stub thread"},
	{Nr: unix.SYS_GETPID, Reason: "Go runtime; the ptrace stub stops itself"},
	{Nr: unix.SYS_TGKILL, Reason: "Go preemption signals; Interrupt of a stub thread"},
	{Nr: unix.SYS_KILL, Reason: "killing stub processes; the ptrace stub's SIGSTOP"},
	{Nr: unix.SYS_EXIT, Reason: "Go threads and stub threads end"},
	{Nr: unix.SYS_EXIT_GROUP, Reason: "the sentry and stubs exit"},
	{Nr: unix.SYS_NANOSLEEP, Reason: "Go runtime usleep"},
	{Nr: unix.SYS_RESTART_SYSCALL, Reason: "the kernel restarts an interrupted sleep (nanosleep, futex with a timeout) through it"},
	{Nr: unix.SYS_CLOCK_GETTIME, Reason: "time (when the vDSO is not used); CPU clocks of stubs"},
	{Nr: unix.SYS_CLOCK_NANOSLEEP, Reason: "sleeping"},
	{Nr: unix.SYS_CLOCK_GETRES, Reason: "clock_getres(2) answers the host clock's resolution"},
	{Nr: unix.SYS_GETRANDOM, Reason: "AT_RANDOM, getrandom(2), Go's runtime seed"},
	{Nr: unix.SYS_TIMER_CREATE, Reason: "Go CPU profiler (--profile-cpu)"},
	{Nr: unix.SYS_TIMER_SETTIME, Reason: "Go CPU profiler (--profile-cpu)"},
	{Nr: unix.SYS_TIMER_DELETE, Reason: "Go CPU profiler (--profile-cpu)"},
	{Nr: unix.SYS_SETITIMER, Reason: "Go CPU profiler (--profile-cpu)"},
	{Nr: unix.SYS_GETRLIMIT, Reason: "Go runtime"},
	{Nr: unix.SYS_PRLIMIT64, Reason: "Go runtime reads limits"},
	{Nr: unix.SYS_SYSINFO, Reason: "/proc/meminfo's total"},
	{Nr: unix.SYS_UNAME, Reason: "Go runtime reads the kernel version"},
	{Nr: unix.SYS_GETRUSAGE, Reason: "CPU time the sentry spent for a process (getrusage's stime)"},
	// Processes: stubs.
	{Nr: unix.SYS_PTRACE, Reason: "the ptrace platform"},
	{Nr: unix.SYS_WAIT4, Reason: "ptrace stops; reaping stubs"},
	{Nr: unix.SYS_WAITID, Reason: "os/exec and reaping"},
	{Nr: unix.SYS_PIDFD_OPEN, Reason: "the seccomp platform watches its stubs"},
	{Nr: unix.SYS_PRCTL, Reason: "stubs set PDEATHSIG and no_new_privs"},
	{Nr: unix.SYS_SECCOMP, Reason: "stubs install their own, stricter filter"},
	{Nr: unix.SYS_SETSID, Reason: "seccomp stubs leave the terminal's process group"},
	{Nr: unix.SYS_CLOSE_RANGE, Reason: "stubs close every FD but the memory file"},
	{Nr: unix.SYS_ARCH_PRCTL, Reason: "stub threads set the application's FS base"},
	// Files: only FDs handed in (standard streams, gofer socket, the
	// program, the memory file) and those the gofer donates; no path can
	// be opened in the empty root.
	{Nr: unix.SYS_READ, Reason: "standard streams, donated files, pipes of the runtime"},
	{Nr: unix.SYS_WRITE, Reason: "standard streams, donated files, strace and logs"},
	{Nr: unix.SYS_PREAD64, Reason: "the program's file, donated files"},
	{Nr: unix.SYS_PWRITE64, Reason: "donated files"},
	{Nr: unix.SYS_READV, Reason: "standard streams, donated files"},
	{Nr: unix.SYS_WRITEV, Reason: "standard streams, donated files"},
	{Nr: unix.SYS_PREADV, Reason: "donated files"},
	{Nr: unix.SYS_PWRITEV, Reason: "donated files"},
	{Nr: unix.SYS_PREADV2, Reason: "donated files"},
	{Nr: unix.SYS_PWRITEV2, Reason: "donated files"},
	{Nr: unix.SYS_LSEEK, Reason: "donated files, SEEK_DATA/SEEK_HOLE"},
	{Nr: unix.SYS_CLOSE, Reason: "closing donated FDs"},
	{Nr: unix.SYS_FCNTL, Reason: "status flags and close-on-exec of held FDs"},
	{Nr: unix.SYS_DUP, Reason: "duplicating held FDs"},
	{Nr: unix.SYS_DUP3, Reason: "duplicating held FDs"},
	{Nr: unix.SYS_FSTAT, Reason: "held FDs"},
	{Nr: unix.SYS_NEWFSTATAT, Reason: "held FDs (AT_EMPTY_PATH)"},
	{Nr: unix.SYS_STATX, Reason: "held FDs (AT_EMPTY_PATH)"},
	{Nr: unix.SYS_FSTATFS, Reason: "statfs(2) of donated files"},
	{Nr: unix.SYS_FSYNC, Reason: "fsync(2) of donated files"},
	{Nr: unix.SYS_FDATASYNC, Reason: "fdatasync(2) of donated files"},
	{Nr: unix.SYS_SYNC_FILE_RANGE, Reason: "sync_file_range(2) of donated files"},
	{Nr: unix.SYS_GETDENTS64, Reason: "directories opened by donated FDs"},
	{Nr: unix.SYS_SENDFILE, Reason: "copying between donated files"},
	{Nr: unix.SYS_COPY_FILE_RANGE, Reason: "copying between donated files"},
	{Nr: unix.SYS_SPLICE, Reason: "copying between donated files"},
	{Nr: unix.SYS_SENDMSG, Reason: "gofer requests; host files handed to seccomp stubs to map"},
	{Nr: unix.SYS_SOCKETPAIR, Reason: "a socket per seccomp stub, for the host files it maps", Arg: &confine.ArgRule{Index: 0, Values: []uint32{unix.AF_UNIX}}},
	{Nr: unix.SYS_RECVMSG, Reason: "gofer replies, with donated FDs; seccomp stubs receive host files to map"},
	{Nr: unix.SYS_SHUTDOWN, Reason: "closing the gofer connection"},
	{Nr: unix.SYS_POLL, Reason: "readiness of host FDs (standard streams); stub liveness"},
	{Nr: unix.SYS_PPOLL, Reason: "readiness of host FDs"},
	{Nr: unix.SYS_EPOLL_CREATE1, Reason: "Go network poller"},
	{Nr: unix.SYS_EPOLL_CTL, Reason: "Go network poller"},
	{Nr: unix.SYS_EPOLL_PWAIT, Reason: "Go network poller"},
	{Nr: unix.SYS_EPOLL_PWAIT2, Reason: "Go network poller"},
	{Nr: unix.SYS_EVENTFD2, Reason: "Go network poller wake-ups"},
	{Nr: unix.SYS_PIPE2, Reason: "Go runtime"},
	{Nr: unix.SYS_IOCTL, Reason: "terminal requests on the standard streams (-t), FIONBIO", Arg: &confine.ArgRule{Index: 1, Values: []uint32{
		unix.TCGETS, unix.TCSETS, unix.TCSETSW, unix.TCSETSF, unix.TIOCGWINSZ, unix.TIOCSWINSZ,
		unix.TIOCGPGRP, unix.TIOCSPGRP, 0x5421 /* FIONBIO */, 0x541b /* FIONREAD */, 0x5451 /* FIOCLEX */, 0x5450, /* FIONCLEX */
	}}},
	{Nr: unix.SYS_FCHMOD, Reason: "fchmod(2) of donated files"},
	{Nr: unix.SYS_FCHOWN, Reason: "fchown(2) of donated files"},
	{Nr: unix.SYS_UTIMENSAT, Reason: "times of donated files (by FD)"},
	{Nr: unix.SYS_FLOCK, Reason: "flock(2) of donated files"},
	// Refused quietly: the root is empty, so nothing could be opened, and
	// a library's lazy read of a host file must fail, not kill.
	{Nr: unix.SYS_OPENAT, Reason: "no path to open: ENOENT", Errno: unix.ENOENT},
	{Nr: unix.SYS_OPEN, Reason: "no path to open: ENOENT", Errno: unix.ENOENT},
}

// InstallSentryFilter puts every thread of the sandbox process under its
// allow-list; stub processes, forked later, inherit it under their own.
// Calls outside the list trap (SIGSYS), which kills the sentry. With
// debug they are handed instead to the launcher, which names them and lets
// them through: the listener goes to it over the socket at FD
// sandboxSeccompFD.
func InstallSentryFilter(debug bool) error {
	def := uint32(confine.ActTrap)
	if debug {
		def = confine.ActUserNotif
	}
	prog, err := confine.Program(sentryRules, def)
	if err != nil {
		return err
	}
	listener, err := confine.Install(prog, debug)
	if err != nil || !debug {
		return err
	}
	defer unix.Close(listener)
	defer unix.Close(sandboxSeccompFD)
	return unix.Sendmsg(sandboxSeccompFD, []byte{0}, unix.UnixRights(listener), nil, 0)
}
