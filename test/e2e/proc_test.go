package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The shell line of issue 4: functions, pipelines, a background subshell
// with wait, a trap run by kill, and command substitution.
func TestBashJobs(t *testing.T) {
	script := `f(){ echo $1; }; for i in 1 2 3; do f $i | cat; done; (sleep 0.1; echo sub) & wait; trap "echo trapped" USR1; kill -USR1 $$; echo $(echo nested)`
	r := sameAsNative(t, "", "/bin/bash", "-c", script)
	require.Equal(t, "1\n2\n3\nsub\ntrapped\nnested\n", r.stdout)
	sameAsNative(t, "", "/bin/bash", "-c", `x=0; for i in $(seq 20); do x=$((x+i)); done; echo $x | tr 0-9 a-j; exit 3`)
	sameAsNative(t, "b\na\n", "/bin/bash", "-c", `sort | uniq -c | sed 's/ *//'`)
}

func TestPythonThreadsAndProcesses(t *testing.T) {
	r := sandboxed(t, "", "/usr/bin/python3", "-c",
		`import threading,multiprocessing as m; t=[threading.Thread(target=print,args=(i,)) for i in range(8)]; [x.start() for x in t]; [x.join() for x in t]; print(sorted(m.Pool(2).map(abs,[-1,-2,-3])))`)
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Equal(t, "[1, 2, 3]", lines[len(lines)-1])
	digits := strings.Join(lines[:len(lines)-1], "")
	got := strings.Split(digits, "")
	sort.Strings(got)
	require.Equal(t, "01234567", strings.Join(got, ""), "threads printed %q", r.stdout)

	sameAsNative(t, "", "/usr/bin/python3", "-c",
		`import subprocess; print(subprocess.run(["/bin/echo","child"],capture_output=True).stdout.decode().strip())`)
}

// make building a two-file C program with gcc in a bind-mounted directory.
func TestMakeWithGCC(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"main.c":   "#include <stdio.h>\nint add(int, int);\nint main(void) { printf(\"sum=%d\\n\", add(2, 3)); return 0; }\n",
		"add.c":    "int add(int a, int b) { return a + b; }\n",
		"Makefile": "prog: main.o add.o\n\tgcc -o prog main.o add.o\n\t./prog\n%.o: %.c\n\tgcc -c -O1 $<\n",
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	r := sandboxed(t, "", "-v", dir+":/w", "-w", "/w", "/usr/bin/make")
	require.Equal(t, 0, r.status, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "sum=5")
	st, err := os.Stat(filepath.Join(dir, "prog"))
	require.NoError(t, err)
	require.NotZero(t, st.Mode().Perm()&0o100, "prog is not executable on the host")
}

// A SIGINT sent to sbx reaches the sandboxed program, which dies of it: sbx
// exits as Linux reports a SIGINT death.
func TestSignalForwarding(t *testing.T) {
	cmd := exec.Command(sbxPath(t), "run", "/bin/sleep", "30")
	require.NoError(t, cmd.Start())
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	require.Less(t, time.Since(start), 5*time.Second)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 130, ee.ExitCode())
}

// A fork bomb under --pids-limit gets EAGAIN and the host's process count
// stays bounded.
func TestPidsLimit(t *testing.T) {
	bin := buildC(t, "fork_many")
	dir := filepath.Dir(bin)
	r := sandboxed(t, "", "--pids-limit=16", "-v", dir+":"+dir+":ro", bin)
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.Equal(t, "forked=15 eagain=185\n", r.stdout)

	before := countProcs(t)
	cmd := exec.Command(sbxPath(t), "run", "--pids-limit=32", "/bin/bash", "-c", `bomb(){ bomb | bomb & }; bomb; sleep 3`)
	require.NoError(t, cmd.Start())
	peak := 0
	for i := 0; i < 20; i++ {
		time.Sleep(100 * time.Millisecond)
		peak = max(peak, countProcs(t))
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		// sbx did not end on SIGTERM: fail, but leave no processes.
		cmd.Process.Kill()
		<-done
		t.Errorf("sbx did not exit within 20s of SIGTERM")
	}
	// Each sandboxed process is one stub process on the host, plus sbx and
	// its gofer: the limit bounds them.
	require.Less(t, peak-before, 32+8, "host processes grew from %d to %d", before, peak)
}

func countProcs(t *testing.T) int {
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	n := 0
	for _, e := range ents {
		if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			n++
		}
	}
	return n
}

// Job control from a shell: a stopped job shows as T in /proc, is
// continued, and is killed; "ps"-like state is read from /proc/PID/status.
func TestShellStopContinue(t *testing.T) {
	script := `sleep 30 & p=$!; kill -STOP $p; sleep 0.3; grep '^State' /proc/$p/status; ` +
		`kill -CONT $p; sleep 0.3; grep -c 'T (stopped)' /proc/$p/status; kill $p; wait $p; echo status=$?`
	r := sameAsNative(t, "", "/bin/bash", "-c", script)
	require.Equal(t, "State:\tT (stopped)\n0\nstatus=143\n", r.stdout)
}

// The sandbox's init is a pid namespace's init: stop signals with their
// default action, sent from inside, do not stop it.
func TestInitIgnoresStopSignals(t *testing.T) {
	r := sandboxed(t, "", "/bin/bash", "-c", `kill -STOP $$; kill -TSTP 0; echo alive`)
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.Equal(t, "alive\n", r.stdout)
}
