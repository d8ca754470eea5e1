package platform

import (
	"os/exec"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestQuietChildSignals checks that SIGCHLD's action becomes SIG_DFL and
// that a child's exit can still be waited for (the kernel does not reap it
// by itself, as it would under SIG_IGN).
func TestQuietChildSignals(t *testing.T) {
	if err := QuietChildSignals(); err != nil {
		t.Fatal(err)
	}
	var old [4]uint64
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD), 0,
		uintptr(unsafe.Pointer(&old[0])), 8, 0, 0); e != 0 {
		t.Fatal(e)
	}
	if old[0] != 0 {
		t.Fatalf("SIGCHLD handler is %#x, want SIG_DFL", old[0])
	}
	cmd := exec.Command("/bin/sh", "-c", "exit 7")
	if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 7 {
		t.Fatalf("child's exit status lost: %v", err)
	}
}
