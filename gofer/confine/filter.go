package confine

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Rule allows one host syscall, with a one-line reason. When Arg is set,
// the call is allowed only when argument Arg.Index is one of Arg.Values
// (compared on its low 32 bits, which is where flags and requests live).
// When Errno is set, the call is not allowed but fails with that errno.
type Rule struct {
	Nr     uint32
	Reason string
	Arg    *ArgRule
	Errno  unix.Errno
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
	ActUserNotif   = 0x7fc00000
	actErrno       = 0x00050000
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
		if r.Errno != 0 {
			prog = append(prog,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.Nr, SkipFalse: 1},
				bpf.RetConstant{Val: actErrno | uint32(r.Errno)})
			continue
		}
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
// process must have no_new_privs set (Lock does). With listen (for a
// program whose default is ActUserNotif), it returns the listener FD that
// receives the calls the filter hands to a supervisor; else -1.
func Install(prog []bpf.RawInstruction, listen bool) (int, error) {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_TSYNC)
	if listen {
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	}
	r, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return -1, fmt.Errorf("seccomp: %w", e)
	}
	if !listen {
		return -1, nil
	}
	return int(r), nil
}

// Notification is one call handed to a supervisor (struct seccomp_notif).
type Notification struct {
	ID   uint64
	PID  uint32
	Nr   int32
	Args [6]uint64
}

// Supervise serves a listener: each call is passed to report and then let
// through (SECCOMP_USER_NOTIF_FLAG_CONTINUE). It returns when the listener
// has no process left.
func Supervise(listener int, report func(Notification)) {
	for {
		// POLLHUP: every process under the filter is gone.
		fds := []unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			return
		}
		var buf [80]byte // struct seccomp_notif
		if _, _, e := syscall.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&buf[0]))); e != 0 {
			if e == unix.EINTR || e == unix.ENOENT {
				continue // interrupted, or the caller died meanwhile
			}
			return
		}
		le := func(off int) uint64 {
			var v uint64
			for i := 7; i >= 0; i-- {
				v = v<<8 | uint64(buf[off+i])
			}
			return v
		}
		n := Notification{ID: le(0), PID: uint32(le(8)), Nr: int32(uint32(le(16)))}
		for i := range n.Args {
			n.Args[i] = le(32 + 8*i)
		}
		report(n)
		var resp [24]byte // struct seccomp_notif_resp
		for i := 0; i < 8; i++ {
			resp[i] = byte(n.ID >> (8 * i))
		}
		resp[20] = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
		syscall.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp[0])))
	}
}

// Evaluate runs prog on one call (struct seccomp_data for arch, nr and
// args) in a user-space BPF machine and returns the action, for tests of
// allow-lists. The kernel loads seccomp_data's 32-bit words in host order;
// the bpf package's machine loads packets in network order: each word is
// stored big-endian, a 64-bit argument as its low word, then its high word.
func Evaluate(prog []bpf.RawInstruction, arch uint32, nr int, args ...uint64) (uint32, error) {
	insns := make([]bpf.Instruction, len(prog))
	for i, r := range prog {
		insns[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		return 0, err
	}
	d := make([]byte, 64)
	binary.BigEndian.PutUint32(d[0:], uint32(nr))
	binary.BigEndian.PutUint32(d[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(d[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(d[20+8*i:], uint32(a>>32))
	}
	r, err := vm.Run(d)
	return uint32(r), err
}
