package seccomp

import (
	"encoding/binary"

	"sbx/platform"
)

// The kernel's struct ucontext on x86-64 (uc_flags, uc_link, uc_stack, then
// uc_mcontext, a struct sigcontext), and the FP state it points to.
const (
	ucMcontext   = 40
	ucontextSize = ucMcontext + 256 + 8 // mcontext and uc_sigmask
	// Offsets in struct sigcontext.
	mcR8      = 0
	mcR9      = 8
	mcR10     = 16
	mcR11     = 24
	mcR12     = 32
	mcR13     = 40
	mcR14     = 48
	mcR15     = 56
	mcRdi     = 64
	mcRsi     = 72
	mcRbp     = 80
	mcRbx     = 88
	mcRdx     = 96
	mcRax     = 104
	mcRcx     = 112
	mcRsp     = 120
	mcRip     = 128
	mcEflags  = 136
	mcCS      = 144
	mcSS      = 150
	mcFPState = 184

	fxsaveSize     = 512
	swBytesOffset  = 464 // struct _fpx_sw_bytes in the FXSAVE area's software-reserved bytes
	fpXstateMagic1 = 0x46505853
)

var le = binary.LittleEndian

// storeRegs writes regs into the frame's sigcontext, for rt_sigreturn to
// load. Segment selectors stay the kernel's.
func storeRegs(uc []byte, r *platform.Registers) {
	m := uc[ucMcontext:]
	le.PutUint64(m[mcR8:], r.R8)
	le.PutUint64(m[mcR9:], r.R9)
	le.PutUint64(m[mcR10:], r.R10)
	le.PutUint64(m[mcR11:], r.R11)
	le.PutUint64(m[mcR12:], r.R12)
	le.PutUint64(m[mcR13:], r.R13)
	le.PutUint64(m[mcR14:], r.R14)
	le.PutUint64(m[mcR15:], r.R15)
	le.PutUint64(m[mcRdi:], r.Rdi)
	le.PutUint64(m[mcRsi:], r.Rsi)
	le.PutUint64(m[mcRbp:], r.Rbp)
	le.PutUint64(m[mcRbx:], r.Rbx)
	le.PutUint64(m[mcRdx:], r.Rdx)
	le.PutUint64(m[mcRax:], r.Rax)
	le.PutUint64(m[mcRcx:], r.Rcx)
	le.PutUint64(m[mcRsp:], r.Rsp)
	le.PutUint64(m[mcRip:], r.Rip)
	le.PutUint64(m[mcEflags:], r.Eflags)
}

// loadRegs reads the registers the thread had when the signal came.
// FS base is not in the frame: the sentry's value stands (the application
// cannot change it without a syscall, unless it uses WRFSBASE, which this
// platform does not see: a departure from ptrace).
func loadRegs(uc []byte, r *platform.Registers) {
	m := uc[ucMcontext:]
	r.R8 = le.Uint64(m[mcR8:])
	r.R9 = le.Uint64(m[mcR9:])
	r.R10 = le.Uint64(m[mcR10:])
	r.R11 = le.Uint64(m[mcR11:])
	r.R12 = le.Uint64(m[mcR12:])
	r.R13 = le.Uint64(m[mcR13:])
	r.R14 = le.Uint64(m[mcR14:])
	r.R15 = le.Uint64(m[mcR15:])
	r.Rdi = le.Uint64(m[mcRdi:])
	r.Rsi = le.Uint64(m[mcRsi:])
	r.Rbp = le.Uint64(m[mcRbp:])
	r.Rbx = le.Uint64(m[mcRbx:])
	r.Rdx = le.Uint64(m[mcRdx:])
	r.Rax = le.Uint64(m[mcRax:])
	r.Rcx = le.Uint64(m[mcRcx:])
	r.Rsp = le.Uint64(m[mcRsp:])
	r.Rip = le.Uint64(m[mcRip:])
	r.Eflags = le.Uint64(m[mcEflags:])
	r.Cs = uint64(le.Uint16(m[mcCS:]))
	r.Ss = uint64(le.Uint16(m[mcSS:]))
}

// copyFP loads an XSAVE image into a frame's FP area, keeping the frame's
// software-reserved bytes (the kernel's description of the frame's format)
// and never writing past the frame's XSAVE size.
func copyFP(dst, src []byte) {
	if len(dst) < fxsaveSize || len(src) < fxsaveSize {
		return
	}
	var sw [fxsaveSize - swBytesOffset]byte
	copy(sw[:], dst[swBytesOffset:fxsaveSize])
	copy(dst, src)
	copy(dst[swBytesOffset:fxsaveSize], sw[:])
}

// initialFPState is the FP state of a thread that never ran: x87 control
// word 0x37f, MXCSR 0x1f80, everything else clear (FXSAVE layout).
func initialFPState() []byte {
	b := make([]byte, fxsaveSize)
	le.PutUint16(b[0:], 0x37f)
	le.PutUint32(b[24:], 0x1f80)
	le.PutUint32(b[28:], 0xffff) // MXCSR_MASK
	return b
}
