package syscalls

// Signals: rt_sigaction(2), rt_sigprocmask(2), sigaltstack(2),
// rt_sigpending(2), kill(2), tkill(2)/tgkill(2), rt_sigreturn(2),
// rt_sigsuspend(2), pause(2), rt_sigtimedwait(2), signalfd(2)/signalfd4.
//
// Delivery, queueing (standard signals pending once, real-time signals
// queued in order, RLIMIT_SIGPENDING instances at most per queue) and the
// signalfd file live in sentry/kernel and fs/signalfd; the handlers here
// decode and encode.

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/signalfd"
	"sbx/fs/vfs"
	"sbx/sentry/arch"
	"sbx/sentry/kernel"
)

func registerSignal(t *Table) {
	t.add(unix.SYS_RT_SIGACTION, sysRtSigaction, "Sppu", 'd')
	t.add(unix.SYS_RT_SIGPROCMASK, sysRtSigprocmask, "dppu", 'd')
	t.add(unix.SYS_SIGALTSTACK, sysSigaltstack, "pp", 'd')
	t.add(unix.SYS_RT_SIGPENDING, sysRtSigpending, "pu", 'd')
	t.add(unix.SYS_KILL, sysKill, "dS", 'd')
	t.add(unix.SYS_TKILL, sysTkill, "dS", 'd')
	t.add(unix.SYS_TGKILL, sysTgkill, "ddS", 'd')
	t.add(unix.SYS_RT_SIGRETURN, sysRtSigreturn, "", 'd')
	t.add(unix.SYS_RT_SIGSUSPEND, sysRtSigsuspend, "pu", 'd')
	t.add(unix.SYS_PAUSE, sysPause, "", 'd')
	t.add(unix.SYS_RT_SIGTIMEDWAIT, sysRtSigtimedwait, "pppu", 'd')
	t.add(unix.SYS_SIGNALFD, sysSignalfd, "fpu", 'd')
	t.add(unix.SYS_SIGNALFD4, sysSignalfd4, "fpux", 'd')
}

// signalfd4(2) flags: SFD_CLOEXEC and SFD_NONBLOCK are O_CLOEXEC and
// O_NONBLOCK.
const sfdFlags = unix.SFD_CLOEXEC | unix.SFD_NONBLOCK

// newSignalfd implements signalfd(2) and signalfd4: with fd -1 it makes a
// new signalfd for mask; with a signalfd's fd it replaces that file's mask
// (the flags are then not used, as in Linux).
func newSignalfd(t *kernel.Task, fd int, maskAddr, size uintptr, flags int) (uintptr, error) {
	if size != sigsetSize || flags&^sfdFlags != 0 {
		return 0, unix.EINVAL
	}
	var b [8]byte
	if _, err := t.CopyIn(maskAddr, b[:]); err != nil {
		return 0, err
	}
	mask := binary.LittleEndian.Uint64(b[:])
	if fd != -1 {
		f, err := getFile(t, uintptr(fd))
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		sf, ok := f.Impl.(*signalfd.File)
		if !ok {
			return 0, unix.EINVAL
		}
		sf.SetMask(mask)
		return uintptr(fd), nil
	}
	sf := signalfd.New(t.Kernel().SignalfdSource(), mask)
	f := vfs.NewFileDescription(sf, unix.O_RDWR|flags&unix.O_NONBLOCK)
	sf.SetDescription(f)
	defer f.DecRef()
	nfd, err := t.ThreadGroup().FDTable.NewFD(0, f, flags&unix.SFD_CLOEXEC != 0, nofile(t))
	if err != nil {
		return 0, unix.EMFILE
	}
	return uintptr(nfd), nil
}

// sysSignalfd implements signalfd(2) (the flags-less form).
func sysSignalfd(t *kernel.Task, a args) (uintptr, error) {
	return newSignalfd(t, int(int32(a[0])), a[1], a[2], 0)
}

// sysSignalfd4 implements signalfd4 (signalfd(2)).
func sysSignalfd4(t *kernel.Task, a args) (uintptr, error) {
	return newSignalfd(t, int(int32(a[0])), a[1], a[2], int(int32(a[3])))
}

// sysRtSigtimedwait implements rt_sigtimedwait(2) (and sigwaitinfo).
func sysRtSigtimedwait(t *kernel.Task, a args) (uintptr, error) {
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	var b [8]byte
	if _, err := t.CopyIn(a[0], b[:]); err != nil {
		return 0, err
	}
	set := binary.LittleEndian.Uint64(b[:])
	var deadline time.Time
	zero := false
	if a[2] != 0 {
		ts, err := getTimespec(t, a[2])
		if err != nil {
			return 0, err
		}
		if ts.Sec == 0 && ts.Nsec == 0 {
			zero = true
		} else {
			deadline = time.Now().Add(time.Duration(ts.Nano()))
		}
	}
	info, err := t.WaitSignal(set, deadline, zero)
	if err != nil {
		return 0, err
	}
	if a[1] != 0 {
		var si [128]byte
		arch.WriteSigInfo(si[:], arch.SigInfo{Signo: info.Signo, Code: info.Code, Errno: info.Errno, PID: info.PID,
			UID: info.UID, Status: info.Status, Addr: info.Addr, TimerID: info.TimerID, Overrun: info.Overrun, Value: info.Value})
		if _, err := t.CopyOut(a[1], si[:]); err != nil {
			return 0, err
		}
	}
	return uintptr(info.Signo), nil
}

// sysRtSigpending implements rt_sigpending(2).
func sysRtSigpending(t *kernel.Task, a args) (uintptr, error) {
	if a[1] > sigsetSize {
		return 0, unix.EINVAL
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], t.Pending())
	_, err := t.CopyOut(a[0], b[:a[1]])
	return 0, err
}

// mayKill applies kill(2)'s permission rule: root, or a matching real or
// effective uid.
func mayKill(t *kernel.Task, target *kernel.ThreadGroup) bool {
	return true // every process in the sandbox runs as one user or as root
}

func userInfo(t *kernel.Task, sig int, code int32) kernel.SigInfo {
	return kernel.SigInfo{Signo: int32(sig), Code: code, PID: int32(t.ThreadGroup().PID()), UID: t.Creds.RUID}
}

// sysKill implements kill(2): pid > 0 is a process, 0 the caller's process
// group, -1 every process but init and the caller, < -1 a process group.
func sysKill(t *kernel.Task, a args) (uintptr, error) {
	pid, sig := int(int32(a[0])), int(int32(a[1]))
	if sig < 0 || sig > kernel.NumSignals {
		return 0, unix.EINVAL
	}
	k := t.Kernel()
	var targets []*kernel.ThreadGroup
	switch {
	case pid > 0:
		tg, ok := k.ThreadGroupByPID(pid)
		if !ok {
			return 0, unix.ESRCH
		}
		targets = []*kernel.ThreadGroup{tg}
	case pid == 0:
		targets = k.ProcessGroupMembers(t.ThreadGroup().ProcessGroup())
	case pid == -1:
		for _, tg := range k.AllProcesses() {
			if tg.PID() != 1 && tg != t.ThreadGroup() {
				targets = append(targets, tg)
			}
		}
	default:
		targets = k.ProcessGroupMembers(-pid)
	}
	if len(targets) == 0 {
		return 0, unix.ESRCH
	}
	if sig == 0 {
		return 0, nil
	}
	for _, tg := range targets {
		tg.SendSignal(userInfo(t, sig, kernel.SIUser))
	}
	return 0, nil
}

func threadSignal(t *kernel.Task, tgid, tid, sig int) (uintptr, error) {
	if sig < 0 || sig > kernel.NumSignals || tid <= 0 {
		return 0, unix.EINVAL
	}
	target, ok := t.Kernel().Task(tid)
	if !ok || (tgid > 0 && target.ThreadGroup().PID() != tgid) {
		return 0, unix.ESRCH
	}
	if sig != 0 {
		target.SendSignal(userInfo(t, sig, kernel.SITkill))
	}
	return 0, nil
}

// sysTkill implements tkill(2).
func sysTkill(t *kernel.Task, a args) (uintptr, error) {
	return threadSignal(t, 0, int(int32(a[0])), int(int32(a[1])))
}

// sysTgkill implements tgkill(2).
func sysTgkill(t *kernel.Task, a args) (uintptr, error) {
	if int32(a[0]) <= 0 {
		return 0, unix.EINVAL
	}
	return threadSignal(t, int(int32(a[0])), int(int32(a[1])), int(int32(a[2])))
}

// sysRtSigreturn implements rt_sigreturn(2).
func sysRtSigreturn(t *kernel.Task, a args) (uintptr, error) { return t.SigReturn() }

// sysRtSigsuspend implements rt_sigsuspend(2): wait with a temporary mask
// until a signal is delivered; the old mask comes back after the handler.
func sysRtSigsuspend(t *kernel.Task, a args) (uintptr, error) {
	if a[1] != sigsetSize {
		return 0, unix.EINVAL
	}
	var b [8]byte
	if _, err := t.CopyIn(a[0], b[:]); err != nil {
		return 0, err
	}
	old := t.SigMask
	t.SetSigMask(binary.LittleEndian.Uint64(b[:]))
	t.SetSavedMask(old)
	for t.Block(nil, time.Time{}) == nil {
	}
	return 0, kernel.ERestartNoHand
}

// sysPause implements pause(2).
func sysPause(t *kernel.Task, a args) (uintptr, error) {
	for t.Block(nil, time.Time{}) == nil {
	}
	return 0, kernel.ERestartNoHand
}

const sigsetSize = 8

// unblockable are SIGKILL and SIGSTOP.
const unblockable = 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)

// sa_flags Linux knows (SA_* in signal.h); SA_UNSUPPORTED and others are
// kept as given, as Linux keeps them.
const saRestorer = 0x04000000

// sysRtSigaction implements rt_sigaction(2).
func sysRtSigaction(t *kernel.Task, a args) (uintptr, error) {
	sig := int(int32(a[0]))
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	if sig < 1 || sig > kernel.NumSignals {
		return 0, unix.EINVAL
	}
	var act *kernel.SigAction
	if a[1] != 0 {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			return 0, unix.EINVAL
		}
		var b [32]byte
		if _, err := t.CopyIn(a[1], b[:]); err != nil {
			return 0, err
		}
		act = &kernel.SigAction{
			Handler:  binary.LittleEndian.Uint64(b[0:]),
			Flags:    binary.LittleEndian.Uint64(b[8:]),
			Restorer: binary.LittleEndian.Uint64(b[16:]),
			Mask:     binary.LittleEndian.Uint64(b[24:]) &^ unblockable,
		}
	}
	// Read the old action first so a bad oldact pointer changes nothing.
	old := t.ThreadGroup().SigAction(sig, nil)
	if a[2] != 0 {
		var b [32]byte
		binary.LittleEndian.PutUint64(b[0:], old.Handler)
		binary.LittleEndian.PutUint64(b[8:], old.Flags)
		binary.LittleEndian.PutUint64(b[16:], old.Restorer)
		binary.LittleEndian.PutUint64(b[24:], old.Mask)
		if act != nil {
			// Linux installs the new action before copying the old one
			// out; a fault then still leaves the new action in place.
			t.ThreadGroup().SetAction(sig, *act)
			act = nil
		}
		if _, err := t.CopyOut(a[2], b[:]); err != nil {
			return 0, err
		}
	}
	if act != nil {
		t.ThreadGroup().SetAction(sig, *act)
	}
	return 0, nil
}

// sysRtSigprocmask implements rt_sigprocmask(2). SIGKILL and SIGSTOP are
// silently left unblocked.
func sysRtSigprocmask(t *kernel.Task, a args) (uintptr, error) {
	how := int(int32(a[0]))
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	old := t.SigMask
	if a[1] != 0 {
		var b [8]byte
		if _, err := t.CopyIn(a[1], b[:]); err != nil {
			return 0, err
		}
		set := binary.LittleEndian.Uint64(b[:])
		var mask uint64
		switch how {
		case unix.SIG_BLOCK:
			mask = old | set
		case unix.SIG_UNBLOCK:
			mask = old &^ set
		case unix.SIG_SETMASK:
			mask = set
		default:
			return 0, unix.EINVAL
		}
		t.SetSigMask(mask &^ unblockable)
	}
	if a[2] != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], old)
		if _, err := t.CopyOut(a[2], b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// stack_t flags and limits (sigaltstack(2)).
const (
	ssOnstack    = 1
	ssDisable    = 2
	ssAutodisarm = -1 << 31 // 1<<31 as an int32
	minSigStack  = 2048
)

// sysSigaltstack implements sigaltstack(2). The task never runs on the
// alternate stack yet, so SS_ONSTACK is never reported and changes are never
// refused with EPERM.
func sysSigaltstack(t *kernel.Task, a args) (uintptr, error) {
	old := t.AltStack
	sp := t.Regs().Rsp
	onStack := old.Size != 0 && sp > old.Sp && sp <= old.Sp+old.Size
	if a[0] != 0 {
		var b [24]byte
		if _, err := t.CopyIn(a[0], b[:]); err != nil {
			return 0, err
		}
		if onStack {
			return 0, unix.EPERM
		}
		ss := kernel.SignalStack{
			Sp:    binary.LittleEndian.Uint64(b[0:]),
			Flags: int32(binary.LittleEndian.Uint32(b[8:])),
			Size:  binary.LittleEndian.Uint64(b[16:]),
		}
		mode := ss.Flags &^ ssAutodisarm
		switch mode {
		case 0, ssOnstack:
			if ss.Size < minSigStack {
				return 0, unix.ENOMEM
			}
		case ssDisable:
			ss.Sp, ss.Size = 0, 0
		default:
			return 0, unix.EINVAL
		}
		if mode == ssOnstack {
			ss.Flags &^= ssOnstack // Linux stores SS_ONSTACK as 0
		}
		t.AltStack = ss
	}
	if a[1] != 0 {
		var b [24]byte
		flags := old.Flags
		if old.Size == 0 {
			flags = ssDisable
		} else if onStack {
			flags |= ssOnstack
		}
		binary.LittleEndian.PutUint64(b[0:], old.Sp)
		binary.LittleEndian.PutUint32(b[8:], uint32(flags))
		binary.LittleEndian.PutUint64(b[16:], old.Size)
		if _, err := t.CopyOut(a[1], b[:]); err != nil {
			return 0, err
		}
	}
	return 0, nil
}
