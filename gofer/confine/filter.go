package confine

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Rule allows one host syscall, with a one-line reason. When Arg is set,
// the call is allowed only when argument Arg.Index is one of Arg.Values
// (compared on its low 32 bits, which is where flags and requests live).
type Rule struct {
	Nr     uint32
	Reason string
	Arg    *ArgRule
}

// ArgRule narrows a Rule to some values of one argument.
type ArgRule struct {
	Index  int
	Values []uint32
}

// Seccomp actions (seccomp(2)).
const (
	ActKillProcess = 0x80000000
	ActTrap        = 0x00030000
	ActLog         = 0x7ffc0000
	ActAllow       = 0x7fff0000
	auditArchX8664 = 0xc000003e
)

// Program builds the filter: syscalls of another architecture kill the
// process; syscalls in rules (with their argument checks) are allowed; the
// rest get def.
func Program(rules []Rule, def uint32) ([]bpf.RawInstruction, error) {
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: auditArchX8664, SkipTrue: 1},
		bpf.RetConstant{Val: ActKillProcess},
	}
	loadNr := bpf.LoadAbsolute{Off: 0, Size: 4}
	prog = append(prog, loadNr)
	for _, r := range rules {
		if r.Arg == nil {
			prog = append(prog,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.Nr, SkipFalse: 1},
				bpf.RetConstant{Val: ActAllow})
			continue
		}
		// nr matches: load the argument, compare with each value, then
		// reload the number for the rules after.
		n := len(r.Arg.Values)
		if n > 100 {
			return nil, fmt.Errorf("rule for syscall %d: too many values", r.Nr)
		}
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.Nr, SkipFalse: uint8(2*n + 2)})
		prog = append(prog, bpf.LoadAbsolute{Off: uint32(16 + 8*r.Arg.Index), Size: 4})
		for _, v := range r.Arg.Values {
			prog = append(prog,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipFalse: 1},
				bpf.RetConstant{Val: ActAllow})
		}
		prog = append(prog, bpf.RetConstant{Val: def}, loadNr)
	}
	prog = append(prog, bpf.RetConstant{Val: def})
	return bpf.Assemble(prog)
}

// Install puts the calling process, every thread of it, under prog. The
// process must have no_new_privs set (Lock does).
func Install(prog []bpf.RawInstruction) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	_, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
