package server

import (
	"testing"

	"golang.org/x/sys/unix"

	"sbx/gofer/confine"
)

// TestGoferFilter runs the gofer's filter program on every rule's call, on
// the clone the Go runtime makes for a new thread (its flags include
// CLONE_SETTLS, which the runtime's assembly adds: a filter without it
// killed the gofer the first time it needed a thread after the lockdown),
// on a clone that would make a process, and on calls outside the list.
func TestGoferFilter(t *testing.T) {
	prog, err := confine.Program(goferRules, confine.ActTrap)
	if err != nil {
		t.Fatal(err)
	}
	const x8664 = 0xc000003e
	run := func(nr int, args ...uint64) uint32 {
		t.Helper()
		r, err := confine.Evaluate(prog, x8664, nr, args...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, r := range goferRules {
		if r.Reason == "" {
			t.Errorf("syscall %d has no reason", r.Nr)
		}
		args := make([]uint64, 6)
		if r.Arg != nil {
			args[r.Arg.Index] = uint64(r.Arg.Values[0])
		}
		if got := run(int(r.Nr), args...); got != confine.ActAllow {
			t.Errorf("syscall %d: action %#x, want allow", r.Nr, got)
		}
	}
	goThread := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_SYSVSEM | unix.CLONE_THREAD | unix.CLONE_SETTLS)
	if got := run(unix.SYS_CLONE, goThread); got != confine.ActAllow {
		t.Errorf("clone of a Go thread: action %#x, want allow", got)
	}
	if got := run(unix.SYS_CLONE, uint64(unix.SIGCHLD)); got != confine.ActTrap {
		t.Errorf("clone of a process: action %#x, want trap", got)
	}
	for _, nr := range []int{unix.SYS_EXECVE, unix.SYS_EXECVEAT, unix.SYS_MOUNT, unix.SYS_SOCKET, unix.SYS_CONNECT, unix.SYS_PTRACE, unix.SYS_OPEN} {
		if got := run(nr); got != confine.ActTrap {
			t.Errorf("syscall %d: action %#x, want trap", nr, got)
		}
	}
}
