package arch

import (
	"encoding/binary"

	"sbx/platform"
)

// The x86-64 signal frame (arch/x86/include/asm/sigframe.h, uapi
// asm/sigcontext.h and asm/ucontext.h):
//
//	rt_sigframe { pretcode u64; ucontext uc; siginfo info; }
//	ucontext    { uc_flags u64; uc_link u64; stack_t uc_stack;
//	              sigcontext uc_mcontext; sigset_t uc_sigmask; }
//
// The FP state goes above the frame, 64-byte aligned, in the legacy
// FXSAVE layout; the full XSAVE state is kept by the sentry and restored by
// rt_sigreturn.
const (
	sigcontextSize = 256
	// UcontextSize is sizeof(struct ucontext) in the kernel ABI.
	UcontextSize = 8 + 8 + 24 + sigcontextSize + 8
	siginfoSize  = 128
	frameSize    = 8 + UcontextSize + siginfoSize
	fxsaveSize   = 512

	ucOff      = 8
	mctxOff    = 40 // within the ucontext
	sigmaskOff = 40 + sigcontextSize
	infoOff    = 8 + UcontextSize
)

// StackT is a stack_t.
type StackT struct {
	Sp    uint64
	Flags int32
	Size  uint64
}

// SigInfo is the part of a siginfo_t the sentry fills.
type SigInfo struct {
	Signo, Code, Errno int32
	PID                int32
	UID                uint32
	Status             int32
	Addr               uint64
	TimerID, Overrun   int32
	Value              uint64
}

// WriteSigInfo lays out a siginfo_t (128 bytes) in b.
func WriteSigInfo(b []byte, info SigInfo) {
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(info.Signo))
	le.PutUint32(b[4:], uint32(info.Errno))
	le.PutUint32(b[8:], uint32(info.Code))
	switch {
	case info.Code == -2: // SI_TIMER: si_tid, si_overrun, si_sigval
		le.PutUint32(b[16:], uint32(info.TimerID))
		le.PutUint32(b[20:], uint32(info.Overrun))
		le.PutUint64(b[24:], info.Value)
	case info.Code < 0 && info.Code != -5: // SI_QUEUE, SI_MESGQ, SI_TKILL, ...: _rt
		le.PutUint32(b[16:], uint32(info.PID))
		le.PutUint32(b[20:], info.UID)
		le.PutUint64(b[24:], info.Value)
	case info.Addr != 0:
		le.PutUint64(b[16:], info.Addr)
	default:
		le.PutUint32(b[16:], uint32(info.PID))
		le.PutUint32(b[20:], info.UID)
		le.PutUint32(b[24:], uint32(info.Status))
	}
}

// fixEflags are the flags rt_sigreturn may restore (FIX_EFLAGS).
const fixEflags = 0x50DD5

// BuildSignalFrame lays out a signal frame below sp for the registers in
// regs, and returns its bytes and the address it goes at (the handler's
// stack pointer).
func BuildSignalFrame(regs *platform.Registers, sp uint64, fp []byte, mask uint64, ss StackT, info SigInfo, restorer uint64) ([]byte, uint64) {
	fpAddr := (sp - fxsaveSize) &^ 63
	addr := ((fpAddr - frameSize) &^ 15) - 8
	buf := make([]byte, fpAddr+fxsaveSize-addr)
	le := binary.LittleEndian
	le.PutUint64(buf[0:], restorer)
	uc := buf[ucOff:]
	le.PutUint64(uc[0:], 0) // uc_flags: legacy FP state only
	le.PutUint64(uc[16:], ss.Sp)
	le.PutUint32(uc[24:], uint32(ss.Flags))
	le.PutUint64(uc[32:], ss.Size)
	m := uc[mctxOff:]
	for i, v := range []uint64{regs.R8, regs.R9, regs.R10, regs.R11, regs.R12, regs.R13, regs.R14, regs.R15,
		regs.Rdi, regs.Rsi, regs.Rbp, regs.Rbx, regs.Rdx, regs.Rax, regs.Rcx, regs.Rsp, regs.Rip, regs.Eflags} {
		le.PutUint64(m[8*i:], v)
	}
	binary.LittleEndian.PutUint16(m[144:], uint16(regs.Cs))
	binary.LittleEndian.PutUint16(m[150:], uint16(regs.Ss))
	le.PutUint64(m[168:], mask) // oldmask
	le.PutUint64(m[176:], info.Addr)
	if len(fp) >= fxsaveSize {
		copy(buf[fpAddr-addr:], fp[:fxsaveSize])
		le.PutUint64(m[184:], fpAddr)
	}
	le.PutUint64(uc[sigmaskOff:], mask)
	WriteSigInfo(buf[infoOff:], info)
	return buf, addr
}

// EnterHandler points the registers at a signal handler whose frame is at
// frame: the handler runs as handler(sig, &info, &uc).
func EnterHandler(regs *platform.Registers, frame uint64, sig int, handler uint64) {
	regs.Rip = handler
	regs.Rsp = frame
	regs.Rdi = uint64(sig)
	regs.Rsi = frame + infoOff
	regs.Rdx = frame + ucOff
	regs.Rax = 0
	regs.Eflags &^= 0x400 | 0x100 | 0x10000 // DF, TF, RF
	regs.Orig_rax = ^uint64(0)
}

// RestoreSignalFrame reads back the registers saved in a ucontext (as
// rt_sigreturn finds it at the stack pointer). It returns the signal mask
// and alternate stack saved there.
func RestoreSignalFrame(regs *platform.Registers, uc []byte) (mask uint64, ss StackT, ok bool) {
	if len(uc) < UcontextSize {
		return 0, StackT{}, false
	}
	le := binary.LittleEndian
	m := uc[mctxOff:]
	get := func(i int) uint64 { return le.Uint64(m[8*i:]) }
	regs.R8, regs.R9, regs.R10, regs.R11 = get(0), get(1), get(2), get(3)
	regs.R12, regs.R13, regs.R14, regs.R15 = get(4), get(5), get(6), get(7)
	regs.Rdi, regs.Rsi, regs.Rbp, regs.Rbx = get(8), get(9), get(10), get(11)
	regs.Rdx, regs.Rax, regs.Rcx, regs.Rsp = get(12), get(13), get(14), get(15)
	regs.Rip = get(16)
	regs.Eflags = regs.Eflags&^fixEflags | get(17)&fixEflags
	regs.Orig_rax = ^uint64(0)
	ss = StackT{Sp: le.Uint64(uc[16:]), Flags: int32(le.Uint32(uc[24:])), Size: le.Uint64(uc[32:])}
	return le.Uint64(uc[sigmaskOff:]), ss, true
}
