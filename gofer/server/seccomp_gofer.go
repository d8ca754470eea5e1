package server

import (
	"golang.org/x/sys/unix"

	"sbx/gofer/confine"
)

// goferRules are the host syscalls a confined gofer may make; any other
// one traps (SIGSYS), which ends the gofer (and the sandbox's file access
// with it). Paths are always resolved from the mount FDs opened before the
// lockdown, one component at a time.
var goferRules = []confine.Rule{
	// The Go runtime.
	{Nr: unix.SYS_MMAP, Reason: "Go heap"},
	{Nr: unix.SYS_MUNMAP, Reason: "Go heap"},
	{Nr: unix.SYS_MADVISE, Reason: "Go heap returns memory"},
	{Nr: unix.SYS_MPROTECT, Reason: "Go runtime"},
	{Nr: unix.SYS_CLONE, Reason: "Go threads", Arg: &confine.ArgRule{Index: 0, Values: []uint32{goThreadFlags}}},
	{Nr: unix.SYS_FUTEX, Reason: "Go runtime locks"},
	{Nr: unix.SYS_SCHED_YIELD, Reason: "Go runtime"},
	{Nr: unix.SYS_SCHED_GETAFFINITY, Reason: "Go runtime counts CPUs"},
	{Nr: unix.SYS_RT_SIGACTION, Reason: "Go signal handling"},
	{Nr: unix.SYS_RT_SIGPROCMASK, Reason: "Go signal handling"},
	{Nr: unix.SYS_RT_SIGRETURN, Reason: "return from Go's signal handler"},
	{Nr: unix.SYS_SIGALTSTACK, Reason: "Go signal stacks"},
	{Nr: unix.SYS_GETTID, Reason: "Go runtime"},
	{Nr: unix.SYS_GETPID, Reason: "Go runtime"},
	{Nr: unix.SYS_TGKILL, Reason: "Go preemption signals"},
	{Nr: unix.SYS_EXIT, Reason: "Go threads end"},
	{Nr: unix.SYS_EXIT_GROUP, Reason: "the gofer exits"},
	{Nr: unix.SYS_NANOSLEEP, Reason: "Go runtime usleep"},
	{Nr: unix.SYS_RESTART_SYSCALL, Reason: "the kernel restarts an interrupted sleep (nanosleep, futex with a timeout) through it"},
	{Nr: unix.SYS_CLOCK_GETTIME, Reason: "time (when the vDSO is not used)"},
	{Nr: unix.SYS_GETRANDOM, Reason: "Go runtime"},
	{Nr: unix.SYS_EPOLL_CREATE1, Reason: "Go network poller"},
	{Nr: unix.SYS_EPOLL_CTL, Reason: "Go network poller"},
	{Nr: unix.SYS_EPOLL_PWAIT, Reason: "Go network poller"},
	{Nr: unix.SYS_EPOLL_PWAIT2, Reason: "Go network poller"},
	{Nr: unix.SYS_EVENTFD2, Reason: "Go network poller wake-ups"},
	{Nr: unix.SYS_PIPE2, Reason: "Go runtime"},
	// The connection to the sentry.
	{Nr: unix.SYS_SENDMSG, Reason: "replies, with donated FDs"},
	{Nr: unix.SYS_RECVMSG, Reason: "requests"},
	{Nr: unix.SYS_PPOLL, Reason: "waiting for a request while keeping the Go processor (proto.Conn.SetHold)"},
	{Nr: unix.SYS_SHUTDOWN, Reason: "closing the connection"},
	{Nr: unix.SYS_WRITE, Reason: "the log on standard error"},
	{Nr: unix.SYS_READ, Reason: "Go runtime"},
	// Files, relative to FDs it holds.
	{Nr: unix.SYS_OPENAT2, Reason: "one-component walks with RESOLVE_BENEATH|NO_SYMLINKS|NO_MAGICLINKS"},
	{Nr: unix.SYS_OPENAT, Reason: "reopening an O_PATH FD through /proc/self/fd (old kernels)"},
	{Nr: unix.SYS_CLOSE, Reason: "closing FDs"},
	{Nr: unix.SYS_FCNTL, Reason: "status flags and close-on-exec"},
	{Nr: unix.SYS_LSEEK, Reason: "directory offsets"},
	{Nr: unix.SYS_FSTAT, Reason: "identity checks"},
	{Nr: unix.SYS_NEWFSTATAT, Reason: "stat of FDs and of names in a directory FD"},
	{Nr: unix.SYS_STATX, Reason: "stat of FDs"},
	{Nr: unix.SYS_FSTATFS, Reason: "statfs of a mount"},
	{Nr: unix.SYS_GETDENTS64, Reason: "readdir"},
	{Nr: unix.SYS_READLINKAT, Reason: "readlink"},
	{Nr: unix.SYS_MKDIRAT, Reason: "mkdir"},
	{Nr: unix.SYS_MKNODAT, Reason: "FIFOs and socket nodes"},
	{Nr: unix.SYS_SYMLINKAT, Reason: "symlink"},
	{Nr: unix.SYS_LINKAT, Reason: "link"},
	{Nr: unix.SYS_UNLINKAT, Reason: "unlink and rmdir"},
	{Nr: unix.SYS_RENAMEAT2, Reason: "rename with NOREPLACE and EXCHANGE"},
	{Nr: unix.SYS_FCHMOD, Reason: "chmod of an open file"},
	{Nr: unix.SYS_FCHMODAT, Reason: "chmod through /proc/self/fd"},
	{Nr: unix.SYS_FCHMODAT2, Reason: "chmod of an O_PATH FD (AT_EMPTY_PATH)"},
	{Nr: unix.SYS_FCHOWNAT, Reason: "chown of an O_PATH FD (AT_EMPTY_PATH)"},
	{Nr: unix.SYS_UTIMENSAT, Reason: "times"},
	{Nr: unix.SYS_FTRUNCATE, Reason: "truncate"},
	{Nr: unix.SYS_PREAD64, Reason: "reading files for the sentry"},
	{Nr: unix.SYS_UMASK, Reason: "modes come exactly from the sentry"},
}

// goThreadFlags are the clone flags of the Go runtime's new threads:
// runtime.cloneFlags, to which runtime.clone (sys_linux_amd64.s) adds
// CLONE_SETTLS. Without that bit here, the first thread the runtime made
// after the lockdown (under load, when goroutines block in syscalls) was
// trapped while newosproc had every signal blocked, and the kernel killed
// the gofer with SIGSYS, without a Go trace.
const goThreadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_SYSVSEM | unix.CLONE_THREAD | unix.CLONE_SETTLS

// installFilter puts every thread of the confined gofer under goferRules.
func installFilter() error {
	prog, err := confine.Program(goferRules, confine.ActTrap)
	if err != nil {
		return err
	}
	_, err = confine.Install(prog, false)
	return err
}
