package syscalls

// Processes: clone(2), clone3(2), fork(2), vfork(2), wait4(2), waitid(2)
// (with job control: see sentry/kernel/jobctl.go),
// getppid(2), setpgid(2), getpgid(2), getpgrp(2), setsid(2), getsid(2).
// Threads (CLONE_THREAD) are not implemented yet (ENOSYS, logged).

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

func registerTask(t *Table) {
	t.add(unix.SYS_CLONE, sysClone, "xppppx", 'd')
	t.add(unix.SYS_CLONE3, sysClone3, "pu", 'd')
	t.add(unix.SYS_FORK, sysFork, "", 'd')
	t.add(unix.SYS_VFORK, sysVfork, "", 'd')
	t.add(unix.SYS_WAIT4, sysWait4, "dpxp", 'd')
	t.add(unix.SYS_WAITID, sysWaitid, "ddpxp", 'd')
	t.add(unix.SYS_SETPGID, sysSetpgid, "dd", 'd')
	t.add(unix.SYS_GETPGID, sysGetpgid, "d", 'd')
	t.add(unix.SYS_GETPGRP, sysGetpgrp, "", 'd')
	t.add(unix.SYS_SETSID, sysSetsid, "", 'd')
	t.add(unix.SYS_GETSID, sysGetsid, "d", 'd')
}

// sysClone implements clone(2): x86-64 argument order is flags, stack,
// parent_tid, child_tid, tls.
func sysClone(t *kernel.Task, a args) (uintptr, error) {
	flags := uint64(a[0])
	tid, err := t.Clone(kernel.CloneOptions{
		Flags: flags &^ 0xff, ExitSignal: int(flags & 0xff),
		Stack: a[1], ParentTID: a[2], ChildTID: a[3], TLS: a[4],
	})
	return uintptr(tid), err
}

// sysClone3 implements clone3(2) (struct clone_args, at least 64 bytes).
func sysClone3(t *kernel.Task, a args) (uintptr, error) {
	size := a[1]
	if size < 64 || size > 4096 {
		return 0, unix.EINVAL
	}
	b := make([]byte, size)
	if _, err := t.CopyIn(a[0], b); err != nil {
		return 0, err
	}
	le := binary.LittleEndian
	flags := le.Uint64(b[0:])
	pidfd, childTID, parentTID := le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
	exitSignal, stack, stackSize, tls := le.Uint64(b[32:]), le.Uint64(b[40:]), le.Uint64(b[48:]), le.Uint64(b[56:])
	_ = pidfd
	if exitSignal > 64 || flags&kernel.ClonePidfd != 0 {
		return 0, unix.EINVAL
	}
	if size > 64 && le.Uint64(b[64:]) != 0 { // set_tid
		return 0, unix.EINVAL
	}
	var sp uintptr
	if stack != 0 {
		sp = uintptr(stack + stackSize)
	}
	tid, err := t.Clone(kernel.CloneOptions{
		Flags: flags, ExitSignal: int(exitSignal), Stack: sp,
		ParentTID: uintptr(parentTID), ChildTID: uintptr(childTID), TLS: uintptr(tls),
	})
	return uintptr(tid), err
}

// sysFork implements fork(2).
func sysFork(t *kernel.Task, a args) (uintptr, error) {
	tid, err := t.Clone(kernel.CloneOptions{ExitSignal: int(unix.SIGCHLD)})
	return uintptr(tid), err
}

// sysVfork implements vfork(2): the child gets a copy of the address space
// (not the parent's own, a departure that only a program relying on the
// sharing would notice); the parent waits until the child execs or exits.
func sysVfork(t *kernel.Task, a args) (uintptr, error) {
	tid, err := t.Clone(kernel.CloneOptions{Flags: kernel.CloneVM | kernel.CloneVfork, ExitSignal: int(unix.SIGCHLD)})
	return uintptr(tid), err
}

// sysWait4 implements wait4(2): exits always, stops with WUNTRACED,
// continues with WCONTINUED; rusage is the child's usage with its own
// reaped children's.
func sysWait4(t *kernel.Task, a args) (uintptr, error) {
	opts := int(int32(a[2]))
	if opts&^(kernel.WNohang|kernel.WUntraced|kernel.WContinued|kernel.WNothread|kernel.WAll|kernel.WClone) != 0 {
		return 0, unix.EINVAL
	}
	pid := int(int32(a[0]))
	if pid == -2147483648 {
		return 0, unix.ESRCH
	}
	r, err := t.Wait(pid, opts|kernel.WExited)
	if err != nil {
		return 0, err
	}
	if r.PID == 0 {
		return 0, nil
	}
	if a[1] != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], r.WaitStatus())
		if _, err := t.CopyOut(a[1], b[:]); err != nil {
			return 0, err
		}
	}
	if a[3] != 0 {
		if _, err := t.CopyOut(a[3], encodeRusage(r.Usage)); err != nil {
			return 0, err
		}
	}
	return uintptr(r.PID), nil
}

// waitid(2) id types.
const (
	pAll  = 0
	pPID  = 1
	pPGID = 2
)

// sysWaitid implements waitid(2): WEXITED, WSTOPPED, WCONTINUED, WNOWAIT.
// The fifth argument (a struct rusage, in the raw syscall) gets the
// child's usage.
func sysWaitid(t *kernel.Task, a args) (uintptr, error) {
	idtype, id, opts := int(int32(a[0])), int(int32(a[1])), int(int32(a[3]))
	if opts&^(kernel.WNohang|kernel.WUntraced|kernel.WExited|kernel.WContinued|kernel.WNowait|kernel.WNothread|kernel.WAll|kernel.WClone) != 0 ||
		opts&(kernel.WExited|kernel.WUntraced|kernel.WContinued) == 0 {
		return 0, unix.EINVAL
	}
	var sel int
	switch idtype {
	case pAll:
		sel = -1
	case pPID:
		if id <= 0 {
			return 0, unix.EINVAL
		}
		sel = id
	case pPGID:
		if id < 0 {
			return 0, unix.EINVAL
		}
		sel = -id
		if id == 0 {
			sel = 0
		}
	default:
		return 0, unix.EINVAL
	}
	r, err := t.Wait(sel, opts)
	if err != nil {
		return 0, err
	}
	if r.PID != 0 && a[4] != 0 {
		if _, err := t.CopyOut(a[4], encodeRusage(r.Usage)); err != nil {
			return 0, err
		}
	}
	if a[2] != 0 {
		var si [128]byte
		if r.PID != 0 {
			code, status := r.ChildStatus()
			le := binary.LittleEndian
			le.PutUint32(si[0:], uint32(unix.SIGCHLD))
			le.PutUint32(si[8:], uint32(code))
			le.PutUint32(si[16:], uint32(r.PID))
			le.PutUint32(si[20:], r.UID)
			le.PutUint32(si[24:], uint32(status))
		}
		if _, err := t.CopyOut(a[2], si[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// sysSetpgid implements setpgid(2).
func sysSetpgid(t *kernel.Task, a args) (uintptr, error) {
	return 0, t.SetPGID(int(int32(a[0])), int(int32(a[1])))
}

func processOf(t *kernel.Task, pid int) (*kernel.ThreadGroup, error) {
	if pid == 0 {
		return t.ThreadGroup(), nil
	}
	tg, ok := t.Kernel().ThreadGroupByPID(pid)
	if !ok {
		return nil, unix.ESRCH
	}
	return tg, nil
}

// sysGetpgid implements getpgid(2).
func sysGetpgid(t *kernel.Task, a args) (uintptr, error) {
	tg, err := processOf(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	return uintptr(tg.ProcessGroup()), nil
}

// sysGetpgrp implements getpgrp(2).
func sysGetpgrp(t *kernel.Task, a args) (uintptr, error) {
	return uintptr(t.ThreadGroup().ProcessGroup()), nil
}

// sysSetsid implements setsid(2).
func sysSetsid(t *kernel.Task, a args) (uintptr, error) {
	sid, err := t.SetSID()
	return uintptr(sid), err
}

// sysGetsid implements getsid(2).
func sysGetsid(t *kernel.Task, a args) (uintptr, error) {
	tg, err := processOf(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	return uintptr(tg.Session()), nil
}
