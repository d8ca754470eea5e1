package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childrenOf returns the pids whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

func statusField(t *testing.T, pid int, name string) string {
	t.Helper()
	return fileField(t, filepath.Join("/proc", strconv.Itoa(pid), "status"), name)
}

// fileField reads one field of a /proc status file.
func fileField(t *testing.T, path, name string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestLockdown looks at a running sandbox from the host: the sandbox
// process and the gofer are in namespaces of their own, in an empty root,
// with no_new_privs, no capabilities beyond the gofer's five, and the
// sandbox process and the gofer each under a seccomp filter.
func TestLockdown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the lockdown checks need root (namespaces)")
	}
	cmd := exec.Command(sbxPath(t), "run", "/bin/sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var sandbox, gofer int
	deadline := time.Now().Add(20 * time.Second)
	for (sandbox == 0 || gofer == 0) && time.Now().Before(deadline) {
		for _, c := range childrenOf(t, cmd.Process.Pid) {
			args, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c), "cmdline"))
			switch {
			case bytes.HasPrefix(args, []byte("sbx-sandbox\x00")):
				sandbox = c
			case bytes.HasPrefix(args, []byte("sbx-gofer\x00")):
				gofer = c
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if sandbox == 0 || gofer == 0 {
		t.Fatalf("sandbox process %d, gofer %d: not both found under sbx %d", sandbox, gofer, cmd.Process.Pid)
	}
	time.Sleep(500 * time.Millisecond) // both have locked themselves down
	for _, p := range []struct {
		name     string
		pid      int
		caps     string
		seccomp  string
		rootWant []string
	}{
		{"sandbox", sandbox, "0000000000000000", "2", nil},
		{"gofer", gofer, "000000000000001f", "2", []string{"proc"}},
	} {
		for _, ns := range []string{"pid", "mnt", "net", "ipc", "uts"} {
			mine, _ := os.Readlink("/proc/self/ns/" + ns)
			theirs, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(p.pid), "ns", ns))
			if err != nil || theirs == mine {
				t.Errorf("%s: %s namespace %q (err %v), the host's is %q", p.name, ns, theirs, err, mine)
			}
		}
		// Capabilities and no_new_privs belong to each thread: every
		// thread must have dropped them, the inheritable set too (what
		// the lockdown needed came through the exec in it).
		tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(p.pid), "task", "*", "status"))
		if err != nil || len(tasks) == 0 {
			t.Fatalf("%s: no threads listed (%v)", p.name, err)
		}
		for _, task := range tasks {
			for field, want := range map[string]string{"CapEff": p.caps, "CapPrm": p.caps, "CapBnd": p.caps, "CapInh": "0000000000000000", "NoNewPrivs": "1"} {
				if got := fileField(t, task, field); got != want {
					t.Errorf("%s: %s: %s %s, want %s", p.name, task, field, got, want)
				}
			}
		}
		if p.seccomp != "" {
			if got := statusField(t, p.pid, "Seccomp"); got != p.seccomp {
				t.Errorf("%s: Seccomp %s, want %s (filter)", p.name, got, p.seccomp)
			}
		}
		ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(p.pid), "root"))
		if err != nil {
			t.Errorf("%s: reading its root: %v", p.name, err)
			continue
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if strings.Join(names, ",") != strings.Join(p.rootWant, ",") {
			t.Errorf("%s: root holds %v, want %v", p.name, names, p.rootWant)
		}
	}
}

// TestSentrySeccomp: a host syscall the sentry's allow-list lacks kills the
// sandbox (the sentry is made to call acct(2), as a compromised sentry
// might); with --debug-seccomp it is named and let through.
func TestSentrySeccomp(t *testing.T) {
	cmd := exec.Command(sbxPath(t), "run", "/bin/busybox", "echo", "ran")
	cmd.Env = append(os.Environ(), "SBX_TEST_FORBIDDEN_SYSCALL=163")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err == nil || strings.Contains(out.String(), "ran") {
		t.Fatalf("sandbox survived a forbidden sentry syscall: err %v, stdout %q", err, out.String())
	}
	if !strings.Contains(errb.String(), "bad system call") {
		t.Errorf("stderr does not say why the sandbox died:\n%s", errb.String())
	}

	cmd = exec.Command(sbxPath(t), "run", "--debug-seccomp", "/bin/busybox", "echo", "ran")
	cmd.Env = append(os.Environ(), "SBX_TEST_FORBIDDEN_SYSCALL=163")
	out.Reset()
	errb.Reset()
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("--debug-seccomp run failed: %v\n%s", err, errb.String())
	}
	if out.String() != "ran\n" || !strings.Contains(errb.String(), "acct(") {
		t.Errorf("--debug-seccomp: stdout %q, stderr %q; want the program's output and acct named", out.String(), errb.String())
	}
}
