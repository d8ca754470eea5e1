package boot

import (
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"sbx/gofer/confine"
)

// run evaluates the sentry's program on one call.
func run(t *testing.T, prog []bpf.RawInstruction, arch uint32, nr int, args ...uint64) uint32 {
	t.Helper()
	r, err := confine.Evaluate(prog, arch, nr, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSentryFilter runs the sentry's filter program on every rule's call,
// on calls outside the list, on argument-narrowed calls and on another
// architecture's call.
func TestSentryFilter(t *testing.T) {
	prog, err := confine.Program(sentryRules, confine.ActTrap)
	if err != nil {
		t.Fatal(err)
	}
	const x8664 = 0xc000003e
	for _, r := range sentryRules {
		if r.Reason == "" {
			t.Errorf("syscall %d has no reason", r.Nr)
		}
		if r.Errno != 0 {
			if got := run(t, prog, x8664, int(r.Nr)); got != 0x00050000|uint32(r.Errno) {
				t.Errorf("syscall %d: action %#x, want errno %d", r.Nr, got, r.Errno)
			}
			continue
		}
		args := []uint64{0, 0}
		if r.Arg != nil {
			args = make([]uint64, 6)
			args[r.Arg.Index] = uint64(r.Arg.Values[0])
		}
		if got := run(t, prog, x8664, int(r.Nr), args...); got != confine.ActAllow {
			t.Errorf("syscall %d: action %#x, want allow", r.Nr, got)
		}
	}
	for _, nr := range []int{unix.SYS_ACCT, unix.SYS_MOUNT, unix.SYS_EXECVE, unix.SYS_SOCKET, unix.SYS_REBOOT} {
		if got := run(t, prog, x8664, nr); got != confine.ActTrap {
			t.Errorf("syscall %d: action %#x, want trap", nr, got)
		}
	}
	if got := run(t, prog, x8664, unix.SYS_IOCTL, 0, unix.TIOCSTI); got != confine.ActTrap {
		t.Errorf("ioctl TIOCSTI: action %#x, want trap", got)
	}
	if got := run(t, prog, 0x40000003 /* i386 */, unix.SYS_GETPID); got != confine.ActKillProcess {
		t.Errorf("i386 call: action %#x, want kill", got)
	}
}
