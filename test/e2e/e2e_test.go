// Package e2e runs real programs under sbx and compares what they print and
// how they exit with a native run of the same program.
package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sbxPath is the binary under test: $SBX, or bin/sbx at the repository root.
func sbxPath(t *testing.T) string {
	p := os.Getenv("SBX")
	if p == "" {
		p, _ = filepath.Abs("../../bin/sbx")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("sbx binary %s not found: run make build first", p)
	}
	return p
}

type result struct {
	stdout, stderr string
	status         int // as a shell reports it: 128+signal for a signal death
}

func run(t *testing.T, stdin string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s %v: timed out", name, args)
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.status = 128 + int(ws.Signal())
		} else {
			r.status = ws.ExitStatus()
		}
	} else {
		require.NoError(t, err)
	}
	return r
}

// sandboxed runs args under sbx. A program given by an absolute path
// outside the host's usual directories (a test build in a temp dir) has its
// directory bound into the sandbox read-only, since the sandbox's /tmp is
// its own.
func sandboxed(t *testing.T, stdin string, args ...string) result {
	pre := []string{"run", "--platform=ptrace"}
	if p := args[0]; strings.HasPrefix(p, os.TempDir()) {
		dir := filepath.Dir(p)
		pre = append(pre, "-v", dir+":"+dir+":ro")
	}
	return run(t, stdin, sbxPath(t), append(pre, args...)...)
}

// buildC compiles testdata/NAME.c into a temp dir, -static unless another
// link mode is given.
func buildC(t *testing.T, name string, mode ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if len(mode) == 0 {
		mode = []string{"-static"}
	}
	args := append([]string{"-O1", "-o", out, filepath.Join("testdata", name+".c")}, mode...)
	b, err := exec.Command("gcc", args...).CombinedOutput()
	require.NoError(t, err, "gcc: %s", b)
	return out
}

// sameAsNative runs the command natively and sandboxed and compares stdout
// and exit status.
func sameAsNative(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	native := run(t, stdin, args[0], args[1:]...)
	sb := sandboxed(t, stdin, args...)
	require.Equal(t, native.stdout, sb.stdout, "stdout differs; sandbox stderr: %s", sb.stderr)
	require.Equal(t, native.status, sb.status, "exit status differs; sandbox stderr: %s", sb.stderr)
	return sb
}

func TestBusybox(t *testing.T) {
	cases := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"echo", "", []string{"/bin/busybox", "echo", "hello"}},
		{"false", "", []string{"/bin/busybox", "false"}},
		{"true", "", []string{"/bin/busybox", "true"}},
		{"seq", "", []string{"/bin/busybox", "seq", "1", "5"}},
		{"sha256sum", "abc\n", []string{"/bin/busybox", "sha256sum"}},
		{"md5sum-large", strings.Repeat("0123456789abcdef", 1<<16), []string{"/bin/busybox", "md5sum"}},
		{"wc", "one two\nthree\n", []string{"/bin/busybox", "wc"}},
		{"tr", "hello\n", []string{"/bin/busybox", "tr", "a-z", "A-Z"}},
		{"sort", "b\nc\na\n", []string{"/bin/busybox", "sort"}},
		{"expr", "", []string{"/bin/busybox", "expr", "6", "*", "7"}},
		{"printf", "", []string{"/bin/busybox", "printf", "%05d|%s\n", "42", "x"}},
		{"uname-s", "", []string{"/bin/busybox", "uname", "-s", "-m"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { sameAsNative(t, c.stdin, c.args...) })
	}
	r := sandboxed(t, "", "/bin/busybox", "echo", "hello")
	require.Equal(t, "hello\n", r.stdout)
	require.Equal(t, 0, r.status)
}

// A NULL write kills the program with SIGSEGV (139), an unimplemented syscall
// returns ENOSYS, and --strace shows both.
func TestNullDerefAndENOSYS(t *testing.T) {
	bin := buildC(t, "null_deref")
	r := sameAsNative(t, "", bin)
	require.Equal(t, 139, r.status)
	require.Contains(t, r.stdout, "syscall(400) = -1 errno=38")

	dir := filepath.Dir(bin)
	r = run(t, "", sbxPath(t), "run", "--strace", "-v", dir+":"+dir+":ro", bin)
	require.Equal(t, 139, r.status)
	require.Contains(t, r.stderr, "syscall_400(")
	require.Contains(t, r.stderr, "= -1 ENOSYS (Function not implemented)")
	require.Contains(t, r.stderr, "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---")
	// "(core dumped)" follows only when RLIMIT_CORE allows a core.
	require.Contains(t, r.stderr, "+++ killed by SIGSEGV")
}

func TestExitStatus(t *testing.T) {
	bin := buildC(t, "exit_code")
	for _, code := range []int{0, 1, 42, 255} {
		r := sameAsNative(t, "", bin, strconv.Itoa(code))
		require.Equal(t, code, r.status)
	}
	r := sandboxed(t, "", bin, "300")
	require.Equal(t, 300&0xff, r.status)
	r = sameAsNative(t, "", buildC(t, "abort"))
	require.Equal(t, 134, r.status)
}

func TestStaticPIE(t *testing.T) {
	bin := buildC(t, "args_env", "-static-pie")
	os.Setenv("SBX_E2E", "value with spaces")
	defer os.Unsetenv("SBX_E2E")
	r := sameAsNative(t, "", bin, "a", "", "c d")
	require.Contains(t, r.stdout, "argv[3]=c d")
	require.Contains(t, r.stdout, "execfn_ok=1")
	require.Contains(t, r.stdout, "random_ok=1")
}

func TestBadPrograms(t *testing.T) {
	r := sandboxed(t, "", "/etc/passwd")
	require.Equal(t, 126, r.status)
	require.Contains(t, r.stderr, "/etc/passwd")

	r = sandboxed(t, "", "/nonexistent")
	require.Equal(t, 127, r.status)
	require.Contains(t, r.stderr, "no such file")

	// Executable, but not ELF.
	dir := t.TempDir()
	script := filepath.Join(dir, "notelf")
	require.NoError(t, os.WriteFile(script, []byte("hello, I am not a program\n"), 0o755))
	r = sandboxed(t, "", script)
	require.Equal(t, 126, r.status)
	require.Contains(t, r.stderr, "exec format error")

	// An ELF for another machine.
	other := filepath.Join(dir, "other")
	hdr := make([]byte, 64)
	copy(hdr, "\x7fELF\x01\x01\x01")
	require.NoError(t, os.WriteFile(other, hdr, 0o755))
	r = sandboxed(t, "", other)
	require.Equal(t, 126, r.status)

	// A truncated x86-64 ELF.
	bin := buildC(t, "exit_code")
	data, err := os.ReadFile(bin)
	require.NoError(t, err)
	trunc := filepath.Join(dir, "trunc")
	require.NoError(t, os.WriteFile(trunc, data[:200], 0o755))
	r = sandboxed(t, "", trunc)
	require.Equal(t, 126, r.status, "stderr: %s", r.stderr)

	r = sandboxed(t, "", dir)
	require.Equal(t, 126, r.status)
}

func TestHelp(t *testing.T) {
	r := run(t, "", sbxPath(t), "run", "--help")
	require.Equal(t, 0, r.status)
	for _, flag := range []string{"-platform", "-strace", "-debug-log"} {
		require.Contains(t, r.stdout, flag)
	}
	r = run(t, "", sbxPath(t), "--help")
	require.Equal(t, 0, r.status)
	require.Contains(t, r.stdout, "sbx run")
}

// --debug-log names unimplemented syscalls.
func TestDebugLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	bin := buildC(t, "null_deref")
	dir := filepath.Dir(bin)
	r := run(t, "", sbxPath(t), "run", "--debug-log="+log, "-v", dir+":"+dir+":ro", bin)
	require.Equal(t, 139, r.status)
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Contains(t, string(b), "syscall=syscall_400")
}
