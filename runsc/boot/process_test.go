package boot

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestProcess: a started process can be signalled until it is reaped, its
// status reads as a shell's, and missing standard streams are /dev/null.
func TestProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Standard input and output missing: reading gives EOF, and the
	// script's own output goes to fd 3.
	p, err := startProcess("/bin/sh", []string{"sh", "-c", "cat; readlink /proc/self/fd/0 >&3; echo ok >&1; kill -TERM $$"}, nil,
		[]*os.File{nil, nil, os.Stderr, f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := p.wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := shellStatus(ws); got != 128+int(syscall.SIGTERM) {
		t.Errorf("status %d, want %d", got, 128+int(syscall.SIGTERM))
	}
	if err := p.signal(syscall.SIGKILL); err != os.ErrProcessDone {
		t.Errorf("signal after reaping: %v, want os.ErrProcessDone", err)
	}
	if b, _ := os.ReadFile(out); string(b) != os.DevNull+"\n" {
		t.Errorf("the child's standard input is %q, want %s", b, os.DevNull)
	}

	p, err = startProcess("/bin/sh", []string{"sh", "-c", "exit 7"}, nil, []*os.File{nil, nil, nil}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := p.wait(); err != nil || shellStatus(ws) != 7 {
		t.Errorf("exit 7: status %d, err %v", shellStatus(ws), err)
	}
	if _, err := startProcess("/nonexistent", []string{"x"}, nil, nil, nil); err == nil {
		t.Error("starting a missing program succeeded")
	}
}
