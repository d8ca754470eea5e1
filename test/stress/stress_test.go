//go:build linux

// Package stress runs stress.c, a program that makes random system calls
// with random arguments from several threads and processes, under sbx on
// each platform.
//
// The program is built static-pie with the system gcc. It first runs
// natively in its "safe" mode (an allow-list of calls that act only on the
// program's own state: a native run is as root and must not touch the
// machine) to prove the program itself right; then under sbx, in its "all"
// mode (every syscall number but the few that would end or blind the test;
// see stress.c), where nothing reaches the host.
//
// A run fails when sbx prints a Go panic, when it does not end within
// STRESS_SECONDS + 30 s, when it exits non-zero, or when the program reports
// a return outside Linux's range (a value below -4095), a call stuck for
// 10 s, or a process that died.
//
//	STRESS_SECONDS   seconds per platform (default 20); make stress uses 300
//	STRESS_SEED      the program's random seed (default: from the clock; the
//	                 seed is printed, so a failure can be replayed)
//	SBX              the sbx binary (default ../../bin/sbx)
//	SBX_PLATFORMS    space-separated platforms (default: seccomp ptrace)
package stress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slack is how much longer than its duration a run may take.
const slack = 30 * time.Second

// nativeSeconds is the length of the native safe-mode run.
const nativeSeconds = 3

type result struct {
	cmd            string
	stdout, stderr string
	err            error
	timedOut       bool
}

func (r result) String() string {
	status := "exit status 0"
	switch {
	case r.timedOut:
		status = "timed out"
	case r.err != nil:
		status = r.err.Error()
	}
	return fmt.Sprintf("command: %s\nstatus: %s\n--- stdout ---\n%s\n--- stderr ---\n%s", r.cmd, status, r.stdout, r.stderr)
}

// run runs name in its own process group, killed with the group after timeout.
func run(ctx context.Context, timeout time.Duration, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return result{
		cmd:      strings.Join(cmd.Args, " "),
		stdout:   stdout.String(),
		stderr:   stderr.String(),
		err:      err,
		timedOut: errors.Is(ctx.Err(), context.DeadlineExceeded),
	}
}

func sbxPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SBX")
	if p == "" {
		p = filepath.Join("..", "..", "bin", "sbx")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatalf("resolving sbx path %q: %v", p, err)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("sbx binary %s missing or not executable (%v): run make build first", abs, err)
	}
	return abs
}

func seconds(t *testing.T) int {
	t.Helper()
	s := os.Getenv("STRESS_SECONDS")
	if s == "" {
		return 20
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("STRESS_SECONDS=%q: want a positive number of seconds", s)
	}
	return n
}

func platforms() []string {
	if p := strings.Fields(os.Getenv("SBX_PLATFORMS")); len(p) > 0 {
		return p
	}
	return []string{"seccomp", "ptrace"}
}

var callsRE = regexp.MustCompile(`(?m)^stress: calls=(\d+) `)

// check fails t unless r is a clean, passing run of the program.
func check(t *testing.T, r result, sandboxed bool) {
	t.Helper()
	if r.timedOut {
		t.Fatalf("the run did not end in time (a hang):\n%s", r)
	}
	if sandboxed && (strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ")) {
		t.Fatalf("sbx panicked:\n%s", r)
	}
	if strings.Contains(r.stdout, "stress: BAD") {
		t.Errorf("return values outside the Linux range:\n%s", r)
	}
	if r.err != nil || !strings.Contains(r.stdout, "stress: PASS") {
		t.Fatalf("the run failed:\n%s", r)
	}
	m := callsRE.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no summary line:\n%s", r)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Fatalf("no call was made:\n%s", r)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		t.Log(l)
	}
}

func TestStress(t *testing.T) {
	sbx := sbxPath(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("gcc is needed to build stress.c: %v", err)
	}
	src, err := filepath.Abs("stress.c")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "stress")
	if r := run(t.Context(), 2*time.Minute, "gcc", "-O2", "-Wall", "-static-pie", "-pthread", "-o", bin, src); r.err != nil || r.timedOut {
		t.Fatalf("building stress.c:\n%s", r)
	}
	secs := seconds(t)
	var seed []string
	if s := os.Getenv("STRESS_SEED"); s != "" {
		seed = []string{"-S", s}
	}

	// Natively, in safe mode only: this proves the program (its range check,
	// its signal handling, its watchdog) without letting random calls loose
	// on the machine.
	t.Run("native", func(t *testing.T) {
		args := append([]string{"-m", "safe", "-s", strconv.Itoa(nativeSeconds), "-t", "2", "-c", "1"}, seed...)
		check(t, run(t.Context(), nativeSeconds*time.Second+slack, bin, args...), false)
	})
	if t.Failed() {
		t.FailNow()
	}
	for _, p := range platforms() {
		t.Run(p, func(t *testing.T) {
			// The build directory is on the host: bind it in, the
			// sandbox's /tmp is its own.
			args := append([]string{"run", "--platform=" + p, "-v", dir + ":" + dir, bin, "-m", "all", "-s", strconv.Itoa(secs)}, seed...)
			check(t, run(t.Context(), time.Duration(secs)*time.Second+slack, sbx, args...), true)
		})
	}
}
