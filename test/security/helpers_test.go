// Package security runs escape attempts inside sbx: every test is an attack
// (named in the comment of its C program in testdata/) that must fail inside
// the sandbox and leave the host unchanged. Each runs on every platform, as
// subtests. The programs are built static with the system gcc; sbx is $SBX,
// or bin/sbx at the repository root.
//
// Every sandbox runs from a private copy of the sbx binary, so the host
// processes it leaves behind (gofer, stubs, anything a program manages to
// fork on the host) are exactly those whose executable is that copy: after
// each run there must be none.
package security

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// platforms are the platforms every attack is tried on.
var platforms = []string{"seccomp", "ptrace"}

// programs are the C programs in testdata/.
var programs = []string{"rawsys", "fsescape", "procexe", "robind", "procsys", "bombs", "orphan", "devnode"}

var (
	setupOnce sync.Once
	setupErr  error
	// binDir holds the built programs; it is bound read-only at /t.
	binDir string
	// sbxCopy is the private copy of sbx every sandbox runs from.
	sbxCopy string
	// sbxOrig is the sbx binary under test ($SBX or bin/sbx).
	sbxOrig string
)

// setup builds the programs and copies sbx, once for the package.
func setup(t *testing.T) {
	t.Helper()
	setupOnce.Do(func() { setupErr = doSetup() })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
}

func doSetup() error {
	sbxOrig = os.Getenv("SBX")
	if sbxOrig == "" {
		sbxOrig, _ = filepath.Abs("../../bin/sbx")
	}
	if _, err := os.Stat(sbxOrig); err != nil {
		return errors.New("sbx binary " + sbxOrig + " not found: run make build first")
	}
	dir, err := os.MkdirTemp("", "sbx-security-")
	if err != nil {
		return err
	}
	binDir = filepath.Join(dir, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		return err
	}
	sbxDir := filepath.Join(dir, "sbx")
	if err := os.Mkdir(sbxDir, 0o755); err != nil {
		return err
	}
	sbxCopy = filepath.Join(sbxDir, "sbx")
	if err := copyFile(sbxOrig, sbxCopy, 0o755); err != nil {
		return err
	}
	for _, p := range programs {
		out, err := exec.Command("gcc", "-static", "-O1", "-Wall", "-pthread", "-o", filepath.Join(binDir, p),
			filepath.Join("testdata", p+".c")).CombinedOutput()
		if err != nil {
			return errors.New("gcc " + p + ".c: " + err.Error() + ": " + string(out))
		}
	}
	return nil
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// forEachPlatform runs f as a subtest per platform.
func forEachPlatform(t *testing.T, f func(t *testing.T, platform string)) {
	setup(t)
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) { f(t, p) })
	}
}

// opts are the extras of one sandbox run.
type opts struct {
	flags []string   // sbx run flags besides --platform and the /t bind
	extra []*os.File // host files sbx inherits as FDs 3, 4, ...
	dir   string     // sbx's host working directory
	limit time.Duration
}

type result struct {
	stdout, stderr string
	status         int // as a shell reports it: 128+signal for a signal death
	elapsed        time.Duration
	maxRSS         int64 // of sbx itself, bytes
}

// sandbox runs testdata program prog with args under sbx on platform, then
// checks that no host process of the sandbox outlived it.
func sandbox(t *testing.T, platform string, o opts, prog string, args ...string) result {
	t.Helper()
	argv := []string{"run", "--platform=" + platform, "-v", binDir + ":/t:ro"}
	argv = append(argv, o.flags...)
	argv = append(argv, "/t/"+prog)
	argv = append(argv, args...)
	r := runHost(t, o, sbxCopy, argv...)
	requireNoLeftovers(t)
	return r
}

// runHost runs a host command with a time limit (60 s unless o.limit).
func runHost(t *testing.T, o opts, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.ExtraFiles = o.extra
	cmd.Dir = o.dir
	limit := o.limit
	if limit == 0 {
		limit = 60 * time.Second
	}
	start := time.Now()
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v: still running after %v\nstdout:\n%s\nstderr:\n%s", name, args, limit, out.String(), errb.String())
	}
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss << 10
	}
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
	require.NotContains(t, r.stderr, "panic:", "the sentry crashed")
	t.Logf("sbx %s: status %d in %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.status, r.elapsed.Round(time.Millisecond), r.stdout, r.stderr)
	return r
}

// hostLeftovers returns the live host processes (zombies aside) running the
// private sbx copy: the sandbox's gofer and stubs, and anything forked from
// them.
func hostLeftovers() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || strings.TrimSuffix(exe, " (deleted)") != sbxCopy {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// requireNoLeftovers fails the test (and kills them) if host processes of
// the sandbox are still alive a few seconds after sbx exited.
func requireNoLeftovers(t *testing.T) {
	t.Helper()
	var left []int
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = hostLeftovers(); len(left) == 0 {
			return
		}
	}
	var desc []string
	for _, pid := range left {
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		desc = append(desc, strconv.Itoa(pid)+": "+firstLines(string(st), 8))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	t.Errorf("host processes of the sandbox outlived sbx (killed now):\n%s", strings.Join(desc, "\n"))
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "; ")
}

// fileHash returns the SHA-256 of a host file.
func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// lines returns the lines of out that start with prefix.
func lines(out, prefix string) []string {
	var l []string
	for _, s := range strings.Split(out, "\n") {
		if strings.HasPrefix(s, prefix) {
			l = append(l, s)
		}
	}
	return l
}
