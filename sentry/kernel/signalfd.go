package kernel

import (
	"golang.org/x/sys/unix"

	"sbx/fs/signalfd"
)

// SignalfdSource returns the kernel's side of signalfd files.
func (k *Kernel) SignalfdSource() signalfd.Source { return signalfdSource{k} }

// signalfdSource implements signalfd.Source for the task calling into the
// file. A caller that is not a task (none should be) sees no signals.
type signalfdSource struct{ k *Kernel }

// Dequeue implements signalfd.Source.
func (s signalfdSource) Dequeue(mask uint64) (signalfd.Info, bool) {
	t := s.k.Current()
	if t == nil {
		return signalfd.Info{}, false
	}
	info, ok := t.DequeueSignal(mask)
	if !ok {
		return signalfd.Info{}, false
	}
	return signalfdInfo(info), true
}

// Pending implements signalfd.Source.
func (s signalfdSource) Pending() uint64 {
	t := s.k.Current()
	if t == nil {
		return 0
	}
	return t.Pending()
}

// Queued implements signalfd.Source.
func (s signalfdSource) Queued() <-chan struct{} {
	t := s.k.Current()
	if t == nil {
		return nil
	}
	return t.tg.SignalQueued()
}

// signalfdInfo fills a signalfd_siginfo with the fields of the siginfo's
// layout, as Linux's signalfd_copyinfo does (the layout follows from the
// signal and si_code, see siginfo_layout in kernel/signal.c).
func signalfdInfo(i SigInfo) signalfd.Info {
	out := signalfd.Info{Signo: uint32(i.Signo), Errno: i.Errno, Code: i.Code}
	kernelCode := i.Code > SIUser && i.Code < SIKernel
	switch {
	case i.Code == SITimer:
		out.TID, out.Overrun = uint32(i.TimerID), uint32(i.Overrun)
		out.Ptr, out.Int = i.Value, int32(i.Value)
	case kernelCode && faultSignal(int(i.Signo)):
		out.Addr = i.Addr
	case kernelCode && i.Signo == int32(unix.SIGCHLD):
		out.PID, out.UID, out.Status = uint32(i.PID), i.UID, i.Status
	case i.Code < 0 && i.Code != siSigio:
		out.PID, out.UID = uint32(i.PID), i.UID
		out.Ptr, out.Int = i.Value, int32(i.Value)
	default:
		out.PID, out.UID = uint32(i.PID), i.UID
	}
	return out
}

// siSigio is SI_SIGIO.
const siSigio = -5

// faultSignal reports the signals whose kernel-sent siginfo carries a
// fault address.
func faultSignal(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGILL, unix.SIGFPE, unix.SIGSEGV, unix.SIGBUS, unix.SIGTRAP:
		return true
	}
	return false
}
