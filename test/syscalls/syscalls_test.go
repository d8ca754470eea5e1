//go:build linux

// Package syscalls_test runs the C conformance tests in this directory.
//
// Every *.c file here is a test binary built on harness.h: run with no
// argument it lists its cases, run with a case name it runs that case and
// exits 0 when it passes. Each file is built twice with the system gcc, as a
// static and as a static-pie executable, and every case of every build is run
// first natively, to prove the test itself right, and then under sbx:
//
//	$SBX run --platform=P -v <dir>:<dir> <binary> <case>
//
// for each platform P (ptrace and seccomp, or those in $SBX_PLATFORMS).
//
// SBX defaults to ../../bin/sbx (a relative SBX is taken from this directory);
// when that binary is missing the test fails, it is never skipped.
//
// Each C file starts with a "//go:build ignore" line: without it the go tool
// would refuse a package directory holding C files that do not use cgo.
package syscalls_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runTimeout bounds every single run: listing, native case and sandboxed case.
const runTimeout = 30 * time.Second

// buildTimeout bounds one gcc invocation.
const buildTimeout = 2 * time.Minute

// maxParallel is how many cases run at the same time.
const maxParallel = 2

type variant struct {
	name  string
	flags []string
}

var variants = []variant{
	{name: "static", flags: []string{"-O1", "-static"}},
	{name: "static-pie", flags: []string{"-O1", "-static-pie"}},
	{name: "dynamic", flags: []string{"-O1"}},
}

// result is what one run of a program produced.
type result struct {
	cmd      string
	stdout   string
	stderr   string
	err      error
	timedOut bool
}

func (r result) ok() bool { return r.err == nil && !r.timedOut }

func (r result) String() string {
	status := "exit status 0"
	switch {
	case r.timedOut:
		status = fmt.Sprintf("timed out after %v", runTimeout)
	case r.err != nil:
		status = r.err.Error()
	}
	return fmt.Sprintf("command: %s\nstatus: %s\n--- stdout ---\n%s\n--- stderr ---\n%s",
		r.cmd, status, r.stdout, r.stderr)
}

// run executes name with args, with the given timeout, and captures its output.
// The program gets its own process group so a timeout kills everything it started.
func run(ctx context.Context, timeout time.Duration, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
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

// sbxPath returns the sandbox binary to test, failing the test when it is missing.
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
	st, err := os.Stat(abs)
	if err != nil {
		t.Fatalf("sbx binary %s not found (%v): run make build first", abs, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("sbx binary %s is not an executable file: run make build first", abs)
	}
	return abs
}

// build compiles src into dir with the variant's flags and returns the binary.
func build(t *testing.T, dir, src string, v variant) string {
	t.Helper()
	bin := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c")+"."+v.name)
	args := append(append([]string{}, v.flags...), "-o", bin, src)
	r := run(t.Context(), buildTimeout, "gcc", args...)
	if !r.ok() {
		t.Fatalf("building %s (%s) failed:\n%s", src, v.name, r)
	}
	return bin
}

// listCases runs bin without arguments and returns the case names it prints.
func listCases(t *testing.T, bin string) []string {
	t.Helper()
	r := run(t.Context(), runTimeout, bin)
	if !r.ok() {
		t.Fatalf("listing the cases of %s failed:\n%s", bin, r)
	}
	var cases []string
	seen := map[string]bool{}
	for _, line := range strings.Split(r.stdout, "\n") {
		name := strings.TrimSpace(line)
		if name == "" {
			continue
		}
		if seen[name] {
			t.Fatalf("%s lists case %q twice", bin, name)
		}
		seen[name] = true
		cases = append(cases, name)
	}
	if len(cases) == 0 {
		t.Fatalf("%s lists no cases:\n%s", bin, r)
	}
	return cases
}

func TestSyscalls(t *testing.T) {
	sbx := sbxPath(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("gcc is needed to build the conformance tests: %v", err)
	}
	sources, err := filepath.Glob("*.c")
	if err != nil {
		t.Fatalf("finding the C tests: %v", err)
	}
	if len(sources) == 0 {
		t.Fatal("no *.c conformance tests found in the package directory")
	}
	sort.Strings(sources)
	for i, src := range sources {
		abs, err := filepath.Abs(src)
		if err != nil {
			t.Fatalf("resolving %s: %v", src, err)
		}
		sources[i] = abs
	}

	dir := t.TempDir()
	sem := make(chan struct{}, maxParallel)
	for _, src := range sources {
		t.Run(filepath.Base(src), func(t *testing.T) {
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					bin := build(t, dir, src, v)
					for _, name := range listCases(t, bin) {
						t.Run(name, func(t *testing.T) {
							t.Parallel()
							sem <- struct{}{}
							defer func() { <-sem }()
							runCase(t, sbx, bin, name)
						})
					}
				})
			}
		})
	}
}

// runCase runs one case natively and then under sbx.
func runCase(t *testing.T, sbx, bin, name string) {
	native := run(t.Context(), runTimeout, bin, name)
	if !native.ok() {
		t.Fatalf("case %s fails natively, so the test itself is wrong:\n%s", name, native)
	}
	// The build directory is on the host: bind it into the sandbox, whose
	// /tmp is its own.
	dir := filepath.Dir(bin)
	for _, p := range platforms() {
		sandboxed := run(t.Context(), runTimeout, sbx, "run", "--platform="+p, "-v", dir+":"+dir, bin, name)
		if !sandboxed.ok() {
			t.Errorf("case %s passes natively but fails under sbx on the %s platform:\n%s", name, p, sandboxed)
		}
	}
}

// platforms are the platforms every case runs on: $SBX_PLATFORMS
// (space-separated), or all of them.
func platforms() []string {
	if p := strings.Fields(os.Getenv("SBX_PLATFORMS")); len(p) > 0 {
		return p
	}
	return []string{"ptrace", "seccomp"}
}
