// Package procfs is the sandbox's /proc: the system-wide files (meminfo,
// cpuinfo, stat, uptime, loadavg, filesystems, mounts, version, a read-only
// /proc/sys subset), the self and thread-self links, and a directory per
// process (and per thread under task/) with cmdline, comm, environ, auxv,
// stat, statm, status, maps, mounts, mountinfo, fd/, fdinfo/ and the exe,
// cwd and root links. File formats follow proc(5) and the output of Linux.
//
// It owns only the shape and the text of those files. Everything about
// processes comes from the kernel through the Source interface, asked at
// the time of each call: directories are generated on Lookup and Readdir,
// so /proc follows the live kernel, and a regular file renders its whole
// content when it is opened, so an open file keeps its snapshot (and pread
// at any offset sees the same bytes) even after the process has exited.
//
// Decisions:
//   - Entries of a process that has exited give ENOENT on every call, also
//     through dentries the VFS had cached while it was alive.
//   - Write-opens of /proc/sys files fail with EACCES (they are read-only
//     here). Other files open for writing only with permission (root), and
//     writes then fail as on Linux: EIO for the system-wide files, EINVAL
//     for per-process files, which have no write operation.
//   - Inode numbers are a hash of the path inside /proc (the root is 1), so
//     they are stable and distinct per path; Dev is the fixed number Dev.
//   - Entries of /proc/[pid] belong to the process's effective uid and gid;
//     everything else belongs to root. Times are the boot time (derived once
//     from Source.Uptime), plus the start time for a process's entries.
//   - What the kernel does not track is shown as Linux shows an idle or
//     default value: 0 for counters, -1 for tpgid (no controlling terminal),
//     priority 20, exit_signal 17, rsslim unlimited. Capabilities are not
//     modelled: a task with effective uid 0 shows every capability, others
//     none. VmPeak is VmSize; SigQ is "0/0". /proc/stat "processes" and
//     the last field of loadavg are the highest live pid. The link count of
//     /proc does not include the process directories (that would cost a
//     PIDs call on every path walk through /proc).
//   - fd/N links read as the path the kernel reports ("pipe:[12]" for a
//     pipe). Following them is ordinary path resolution: the VFS has no
//     magic links yet, so only fd links to reachable paths can be opened.
//   - A thread id that is not a thread-group id is not a name in /proc
//     (Linux allows looking those up); use /proc/[pid]/task/[tid].
//
// It must not import the sentry, syscalls or runsc layers, nor change the
// VFS: the kernel reaches it only through Source.
package procfs

import (
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// Dev is the device number (makedev(0, 240)) of every procfs inode.
const Dev = 240

// ClockTicks is USER_HZ: the unit of the tick counts procfs shows.
const ClockTicks = 100

// Source is what procfs needs from the kernel. Methods are called from the
// goroutine of the task doing the file operation, possibly by many tasks at
// once, so implementations must be safe for concurrent use.
type Source interface {
	// PIDs lists the thread-group ids of live processes (zombies
	// included), ascending.
	PIDs() []int
	// Process returns a snapshot of thread group pid, or false if it does
	// not exist. Per-thread values (Comm, State, the blocked signal set)
	// are those of the group leader; times are the whole group's.
	Process(pid int) (Process, bool)
	// Thread returns a snapshot of thread tid, or false if it does not
	// exist. PID() is its thread-group id; Comm, State, UTime, STime and
	// SigMasks' pending and blocked sets are the thread's own, everything
	// else is the thread group's.
	Thread(tid int) (Process, bool)
	// Self returns the thread-group id and thread id of the task calling
	// into procfs (for /proc/self and /proc/thread-self); pid 0 when the
	// caller is not a task, which makes those links ENOENT.
	Self() (pid, tid int)
	// Uptime is the time since the sandbox's kernel booted.
	Uptime() time.Duration
	// Memory returns total and free bytes of the sandbox's memory.
	Memory() (total, free uint64)
	// NumCPU is the number of CPUs the sandbox shows (at least 1).
	NumCPU() int
	// Hostname is the UTS node name.
	Hostname() string
	// Release is uname -r, e.g. "6.1.0".
	Release() string
	// Version is uname -v, e.g. "#1 SMP PREEMPT_DYNAMIC".
	Version() string
	// Mounts lists the mounts of the sandbox's mount namespace in the
	// order they were made, the root first.
	Mounts() []MountInfo
	// Filesystems lists the filesystem type names the kernel knows, e.g.
	// "tmpfs", "proc". Types that need a block device (ext4, xfs, ...) are
	// recognised by name; every other type is shown as "nodev".
	Filesystems() []string
	// LoadAvg is the 1, 5 and 15 minute load averages.
	LoadAvg() [3]float64
	// CPUTimes returns user, system and idle clock ticks (USER_HZ=100)
	// since boot, summed over all CPUs.
	CPUTimes() (user, system, idle uint64)
	// ProcessCount returns the number of runnable tasks and the number of
	// tasks (threads) in the kernel.
	ProcessCount() (running, total int)
}

// Process is a snapshot of one thread group, or of one thread (see
// Source.Thread). Byte slices are not modified by procfs.
type Process interface {
	// PID is the thread-group id; PPID, PGID and SID the parent's pid,
	// the process group and the session.
	PID() int
	PPID() int
	PGID() int
	SID() int
	// Comm is the command name (at most 15 bytes, no NUL).
	Comm() string
	// State is the scheduler state letter of proc(5): 'R' running, 'S'
	// sleeping, 'D' disk sleep, 'T' stopped, 't' tracing stop, 'Z'
	// zombie, 'X' dead.
	State() byte
	// Cmdline is the argument block, NUL-separated and NUL-terminated as
	// in /proc/[pid]/cmdline; empty for a zombie.
	Cmdline() []byte
	// Environ is the environment block, NUL-separated.
	Environ() []byte
	// Auxv is the auxiliary vector as the process received it: pairs of
	// native-endian uint64 (type, value), ending with AT_NULL.
	Auxv() []byte
	// Exe, Cwd and Root are absolute paths inside the sandbox; "" when
	// unknown (the links then give ENOENT, as for a zombie on Linux).
	Exe() string
	Cwd() string
	Root() string
	// UIDs and GIDs are the real, effective, saved and filesystem ids.
	// The effective ones own the process's /proc entries.
	UIDs() [4]uint32
	GIDs() [4]uint32
	// Groups lists the supplementary group ids.
	Groups() []uint32
	// Umask is the file mode creation mask (0o022 by default).
	Umask() uint32
	// Threads lists the thread ids of the group, ascending.
	Threads() []int
	// NumThreads is len(Threads()).
	NumThreads() int
	// Maps lists the memory mappings in address order.
	Maps() []MapEntry
	// VMSize and RSS are the virtual size and resident set, in bytes.
	VMSize() uint64
	RSS() uint64
	// FDs lists the open file descriptors, in any order.
	FDs() []FDInfo
	// StartTime is when the process (or thread) started, since boot.
	StartTime() time.Duration
	// UTime and STime are user and system CPU time.
	UTime() time.Duration
	STime() time.Duration
	// SigMasks returns signal sets, bit n-1 for signal n: the pending
	// set (the group's shared set for a Process, the thread's own for a
	// Thread), the blocked set, and the ignored and caught dispositions.
	SigMasks() (pending, blocked, ignored, caught uint64)
}

// MapEntry is one line of /proc/[pid]/maps.
type MapEntry struct {
	// Start and End are the addresses of the range [Start, End).
	Start, End uint64
	// Perms are four characters: r/-, w/-, x/-, then p (private) or s
	// (shared), e.g. "r-xp".
	Perms string
	// Offset is the offset in the mapped file.
	Offset uint64
	// Dev is the mapped file's device as "MAJ:MIN" in hex, e.g. "08:02";
	// "" means "00:00".
	Dev string
	// Inode is the mapped file's inode number, 0 for anonymous memory.
	Inode uint64
	// Path is the file's path, a pseudo-path ("[heap]", "[stack]",
	// "[vdso]"), or "" for anonymous memory.
	Path string
}

// FDInfo is one open file descriptor.
type FDInfo struct {
	// FD is the descriptor number.
	FD int
	// Path is the target of /proc/[pid]/fd/N, e.g. "/etc/passwd",
	// "pipe:[123]", "socket:[45]", "anon_inode:[eventfd]".
	Path string
	// Flags are the open(2) flags of the file description (access mode and
	// status flags), plus O_CLOEXEC if the descriptor is close-on-exec.
	Flags int
	// Pos is the file position.
	Pos int64
}

// MountInfo is one mount.
type MountInfo struct {
	// Source is what was mounted ("tmpfs", "none", a path), Target the
	// absolute mount point, FSType the filesystem type.
	Source, Target, FSType string
	// Options are the comma-separated options as in /proc/mounts, e.g.
	// "rw,nosuid,nodev,mode=755"; "" means "rw".
	Options string
	// Dev is the st_dev of the mounted filesystem's files, for mountinfo's
	// MAJ:MIN. Zero means unknown: procfs then shows 0:N with N distinct
	// per mount.
	Dev uint64
}

// New returns the root of a procfs that shows what src reports.
func New(src Source) *vfs.Dentry {
	f := &fsys{src: src}
	f.procSpec = pidSpec(false)
	f.threadSpec = pidSpec(true)
	root := &dirNode{node: node{fs: f, path: "/", ino: rootIno, mode: unix.S_IFDIR | 0o555}, spec: rootSpec()}
	return vfs.NewRoot(root)
}
