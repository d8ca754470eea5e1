package syscalls

// Process and thread identity and attributes: exit(2), exit_group(2),
// set_tid_address(2), set_robust_list(2), getpid(2) and friends, uname(2),
// arch_prctl(2), prctl(2) (PR_SET_NAME, PR_GET_NAME), getrandom(2),
// getrlimit(2)/setrlimit(2)/prlimit(2), sched_yield(2),
// sched_getaffinity(2), getcwd(3)'s syscall, and rseq(2) (ENOSYS by design:
// glibc then manages without it).

import (
	"crypto/rand"
	"encoding/binary"
	"runtime"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

func registerProcess(t *Table) {
	t.add(unix.SYS_EXIT, sysExit, "d", '?')
	t.add(unix.SYS_EXIT_GROUP, sysExitGroup, "d", '?')
	t.add(unix.SYS_SET_TID_ADDRESS, sysSetTidAddress, "p", 'd')
	t.add(unix.SYS_SET_ROBUST_LIST, sysSetRobustList, "pu", 'd')
	t.add(unix.SYS_GET_ROBUST_LIST, sysGetRobustList, "dpp", 'd')
	t.add(unix.SYS_GETPID, sysGetpid, "", 'd')
	t.add(unix.SYS_GETTID, sysGettid, "", 'd')
	t.add(unix.SYS_GETPPID, sysGetppid, "", 'd')
	t.add(unix.SYS_GETUID, sysGetuid, "", 'd')
	t.add(unix.SYS_GETEUID, sysGeteuid, "", 'd')
	t.add(unix.SYS_GETGID, sysGetgid, "", 'd')
	t.add(unix.SYS_GETEGID, sysGetegid, "", 'd')
	t.add(unix.SYS_UNAME, sysUname, "p", 'd')
	t.add(unix.SYS_ARCH_PRCTL, sysArchPrctl, "xx", 'd')
	t.add(unix.SYS_PRCTL, sysPrctl, "dxxxx", 'd')
	t.add(unix.SYS_GETRANDOM, sysGetrandom, "pux", 'd')
	t.add(unix.SYS_PRLIMIT64, sysPrlimit64, "ddpp", 'd')
	t.add(unix.SYS_GETRLIMIT, sysGetrlimit, "dp", 'd')
	t.add(unix.SYS_SETRLIMIT, sysSetrlimit, "dp", 'd')
	t.add(unix.SYS_SCHED_YIELD, sysSchedYield, "", 'd')
	t.add(unix.SYS_SCHED_GETAFFINITY, sysSchedGetaffinity, "dup", 'd')
	t.add(unix.SYS_GETCWD, sysGetcwd, "pu", 'd')
	t.entries[unix.SYS_RSEQ] = entry{silentENOSYS: true}
}

// sysExit implements exit(2).
func sysExit(t *kernel.Task, a args) (uintptr, error) {
	t.Exit(int(int32(a[0])))
	return 0, nil
}

// sysExitGroup implements exit_group(2).
func sysExitGroup(t *kernel.Task, a args) (uintptr, error) {
	t.ExitGroup(int(int32(a[0])))
	return 0, nil
}

// sysSetTidAddress implements set_tid_address(2).
func sysSetTidAddress(t *kernel.Task, a args) (uintptr, error) {
	t.ClearChildTID = a[0]
	return uintptr(t.TID()), nil
}

// robustListHeadSize is sizeof(struct robust_list_head).
const robustListHeadSize = 24

// sysSetRobustList implements set_robust_list(2).
func sysSetRobustList(t *kernel.Task, a args) (uintptr, error) {
	if a[1] != robustListHeadSize {
		return 0, unix.EINVAL
	}
	t.RobustList, t.RobustListLen = a[0], a[1]
	return 0, nil
}

// sysGetRobustList implements get_robust_list(2) for the calling thread.
func sysGetRobustList(t *kernel.Task, a args) (uintptr, error) {
	if pid := int(int32(a[0])); pid != 0 && pid != t.TID() {
		return 0, unix.ESRCH
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(t.RobustList))
	if _, err := t.CopyOut(a[1], b[:]); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint64(b[:], robustListHeadSize)
	_, err := t.CopyOut(a[2], b[:])
	return 0, err
}

// sysGetpid implements getpid(2): the id in the sandbox's PID namespace.
func sysGetpid(t *kernel.Task, a args) (uintptr, error) { return uintptr(t.ThreadGroup().PID()), nil }

// sysGettid implements gettid(2).
func sysGettid(t *kernel.Task, a args) (uintptr, error) { return uintptr(t.TID()), nil }

// sysGetppid implements getppid(2): the first process's parent is outside the
// sandbox's PID namespace, so it sees 0.
func sysGetppid(t *kernel.Task, a args) (uintptr, error) {
	return uintptr(t.ThreadGroup().Parent()), nil
}

func sysGetuid(t *kernel.Task, a args) (uintptr, error)  { return uintptr(t.Creds.RUID), nil }
func sysGeteuid(t *kernel.Task, a args) (uintptr, error) { return uintptr(t.Creds.EUID), nil }
func sysGetgid(t *kernel.Task, a args) (uintptr, error)  { return uintptr(t.Creds.RGID), nil }
func sysGetegid(t *kernel.Task, a args) (uintptr, error) { return uintptr(t.Creds.EGID), nil }

// sysUname implements uname(2).
func sysUname(t *kernel.Task, a args) (uintptr, error) {
	var u [6 * 65]byte
	for i, s := range []string{"Linux", t.Kernel().Hostname, kernel.Release, kernel.Version, "x86_64", t.Kernel().Domainname} {
		copy(u[i*65:i*65+64], s)
	}
	_, err := t.CopyOut(a[0], u[:])
	return 0, err
}

// arch_prctl(2) codes.
const (
	archSetGS = 0x1001
	archSetFS = 0x1002
	archGetFS = 0x1003
	archGetGS = 0x1004
)

// sysArchPrctl implements arch_prctl(2) for the FS and GS bases. Other codes
// (CPUID faulting, CET, AMX permissions) are EINVAL, as on a kernel without
// those features.
func sysArchPrctl(t *kernel.Task, a args) (uintptr, error) {
	regs := t.Regs()
	var v uint64
	switch a[0] {
	case archSetFS, archSetGS:
		if a[1] >= t.MemoryManager().MaxAddress() {
			return 0, unix.EPERM
		}
		if a[0] == archSetFS {
			regs.Fs_base = uint64(a[1])
		} else {
			regs.Gs_base = uint64(a[1])
		}
		return 0, nil
	case archGetFS:
		v = regs.Fs_base
	case archGetGS:
		v = regs.Gs_base
	default:
		return 0, unix.EINVAL
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_, err := t.CopyOut(a[1], b[:])
	return 0, err
}

// sysPrctl implements prctl(2): PR_SET_NAME/PR_GET_NAME, PR_SET_PDEATHSIG/
// PR_GET_PDEATHSIG, PR_SET_DUMPABLE/PR_GET_DUMPABLE, PR_SET_NO_NEW_PRIVS/
// PR_GET_NO_NEW_PRIVS and PR_SET_CHILD_SUBREAPER/PR_GET_CHILD_SUBREAPER
// (recorded; orphans still go to init). Other options are EINVAL, as Linux
// answers for an option it does not know, with a log line.
func sysPrctl(t *kernel.Task, a args) (uintptr, error) {
	switch int(int32(a[0])) {
	case unix.PR_SET_NAME:
		var b [16]byte
		n := 0
		for ; n < 15; n++ {
			if _, err := t.CopyIn(a[1]+uintptr(n), b[n:n+1]); err != nil {
				return 0, err
			}
			if b[n] == 0 {
				break
			}
		}
		t.SetName(string(b[:n]))
		return 0, nil
	case unix.PR_GET_NAME:
		var b [16]byte
		copy(b[:15], t.Name())
		_, err := t.CopyOut(a[1], b[:])
		return 0, err
	}
	tg := t.ThreadGroup()
	st := tg.PrctlState()
	switch int(int32(a[0])) {
	case unix.PR_SET_PDEATHSIG:
		if a[1] > kernel.NumSignals {
			return 0, unix.EINVAL
		}
		st.PdeathSignal = int(a[1])
	case unix.PR_GET_PDEATHSIG:
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(st.PdeathSignal))
		_, err := t.CopyOut(a[1], b[:])
		return 0, err
	case unix.PR_GET_DUMPABLE:
		if st.Dumpable {
			return 1, nil
		}
		return 0, nil
	case unix.PR_SET_DUMPABLE:
		if a[1] > 1 {
			return 0, unix.EINVAL
		}
		st.Dumpable = a[1] == 1
	case unix.PR_SET_NO_NEW_PRIVS:
		if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		st.NoNewPrivs = true
	case unix.PR_GET_NO_NEW_PRIVS:
		if st.NoNewPrivs {
			return 1, nil
		}
		return 0, nil
	case unix.PR_SET_CHILD_SUBREAPER:
		st.Subreaper = a[1] != 0
	case unix.PR_GET_CHILD_SUBREAPER:
		var b [4]byte
		if st.Subreaper {
			b[0] = 1
		}
		_, err := t.CopyOut(a[1], b[:])
		return 0, err
	default:
		t.Kernel().Log.Info("prctl option not implemented", "option", int(int32(a[0])))
		return 0, unix.EINVAL
	}
	tg.SetPrctlState(st)
	return 0, nil
}

// getrandom(2) flags.
const (
	grndNonblock = 1
	grndRandom   = 2
	grndInsecure = 4
)

// sysGetrandom implements getrandom(2). The sandbox's entropy pool is the
// host's, through crypto/rand; it never blocks once the host has booted.
func sysGetrandom(t *kernel.Task, a args) (uintptr, error) {
	flags := a[2]
	if flags&^(grndNonblock|grndRandom|grndInsecure) != 0 || flags&(grndRandom|grndInsecure) == grndRandom|grndInsecure {
		return 0, unix.EINVAL
	}
	n := min(a[1], 1<<25-1) // Linux returns at most 32 MiB - 1 per call
	if n == 0 {
		return 0, nil
	}
	buf := make([]byte, min(n, 1<<16))
	done := uintptr(0)
	for done < n {
		chunk := buf[:min(uintptr(len(buf)), n-done)]
		rand.Read(chunk)
		c, err := t.CopyOut(a[0]+done, chunk)
		done += uintptr(c)
		if err != nil {
			if done == 0 {
				return 0, err
			}
			break
		}
	}
	return done, nil
}

// checkRlimitTarget resolves prlimit's pid: only the caller exists yet.
func checkRlimitTarget(t *kernel.Task, pid int) error {
	if pid != 0 && pid != t.ThreadGroup().PID() {
		return unix.ESRCH
	}
	return nil
}

func readRlimit(t *kernel.Task, addr uintptr) (*kernel.Rlimit, error) {
	var b [16]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return nil, err
	}
	return &kernel.Rlimit{Cur: binary.LittleEndian.Uint64(b[:]), Max: binary.LittleEndian.Uint64(b[8:])}, nil
}

func writeRlimit(t *kernel.Task, addr uintptr, l kernel.Rlimit) error {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], l.Cur)
	binary.LittleEndian.PutUint64(b[8:], l.Max)
	_, err := t.CopyOut(addr, b[:])
	return err
}

// privileged says whether the task holds CAP_SYS_RESOURCE: root in the
// sandbox does.
func privileged(t *kernel.Task) bool { return t.Creds.EUID == 0 }

// sysPrlimit64 implements prlimit(2).
func sysPrlimit64(t *kernel.Task, a args) (uintptr, error) {
	if err := checkRlimitTarget(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	r := int(uint32(a[1]))
	if r >= kernel.RlimitCount {
		return 0, unix.EINVAL
	}
	var nl *kernel.Rlimit
	if a[2] != 0 {
		var err error
		if nl, err = readRlimit(t, a[2]); err != nil {
			return 0, err
		}
	}
	old, err := t.ThreadGroup().SetLimit(r, nl, privileged(t))
	if err != nil {
		return 0, err
	}
	if a[3] != 0 {
		return 0, writeRlimit(t, a[3], old)
	}
	return 0, nil
}

// sysGetrlimit implements getrlimit(2).
func sysGetrlimit(t *kernel.Task, a args) (uintptr, error) {
	r := int(uint32(a[0]))
	if r >= kernel.RlimitCount {
		return 0, unix.EINVAL
	}
	return 0, writeRlimit(t, a[1], t.ThreadGroup().Limit(r))
}

// sysSetrlimit implements setrlimit(2).
func sysSetrlimit(t *kernel.Task, a args) (uintptr, error) {
	r := int(uint32(a[0]))
	if r >= kernel.RlimitCount {
		return 0, unix.EINVAL
	}
	nl, err := readRlimit(t, a[1])
	if err != nil {
		return 0, err
	}
	_, err = t.ThreadGroup().SetLimit(r, nl, privileged(t))
	return 0, err
}

// sysSchedYield implements sched_yield(2).
func sysSchedYield(t *kernel.Task, a args) (uintptr, error) {
	runtime.Gosched()
	return 0, nil
}

// sysSchedGetaffinity implements sched_getaffinity(2): every CPU the sandbox
// may use. The result is the size of the kernel's cpumask in bytes.
func sysSchedGetaffinity(t *kernel.Task, a args) (uintptr, error) {
	if pid := int(int32(a[0])); pid != 0 && pid != t.TID() {
		return 0, unix.ESRCH
	}
	ncpu := runtime.NumCPU()
	size := uintptr((ncpu + 63) / 64 * 8)
	if a[1] < size || a[1]&7 != 0 {
		return 0, unix.EINVAL
	}
	mask := make([]byte, size)
	for i := 0; i < ncpu; i++ {
		mask[i/8] |= 1 << (i % 8)
	}
	if _, err := t.CopyOut(a[2], mask); err != nil {
		return 0, err
	}
	return size, nil
}

// sysGetcwd implements the getcwd syscall: the result is the length
// including the NUL. A working directory outside the root is reported with
// the "(unreachable)" prefix, as Linux does.
func sysGetcwd(t *kernel.Task, a args) (uintptr, error) {
	cwd := "/"
	if v := t.Kernel().VFS; v != nil {
		fs := t.ThreadGroup().FS
		p, ok := v.PathOf(fs.Root(), fs.Cwd())
		if !ok {
			p = "(unreachable)" + p
		}
		if fs.Cwd().Dentry.IsDead() {
			return 0, unix.ENOENT
		}
		cwd = p
	}
	b := append([]byte(cwd), 0)
	if a[1] < uintptr(len(b)) {
		return 0, unix.ERANGE
	}
	if _, err := t.CopyOut(a[0], b); err != nil {
		return 0, err
	}
	return uintptr(len(b)), nil
}
