// Package arch holds the x86-64 facts the sentry needs about the CPU and the
// register file: the hardware capability words for the auxiliary vector, the
// initial register state of a new program, and register accessors for syscall
// arguments. Signal frames and FP state join it when signal delivery does.
//
// It must not import anything above the platform layer.
package arch

import "sbx/platform"

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// HWCap returns AT_HWCAP as Linux reports it on x86-64: CPUID leaf 1 EDX.
func HWCap() uint64 {
	_, _, _, edx := cpuid(1, 0)
	return uint64(edx)
}

// HWCap2 returns AT_HWCAP2. Linux sets bit 1 (FSGSBASE) when the kernel allows
// user FSGSBASE; the sentry reports none.
func HWCap2() uint64 { return 0 }

// InitialRegisters returns the registers of a program at its entry point:
// everything zero but the instruction and stack pointers, and the flags with
// only the reserved bit and interrupts set.
func InitialRegisters(entry, sp uintptr) platform.Registers {
	return platform.Registers{Rip: uint64(entry), Rsp: uint64(sp), Eflags: 0x202}
}

// SyscallArgs returns the six syscall argument registers.
func SyscallArgs(r *platform.Registers) [6]uintptr {
	return [6]uintptr{uintptr(r.Rdi), uintptr(r.Rsi), uintptr(r.Rdx), uintptr(r.R10), uintptr(r.R8), uintptr(r.R9)}
}
