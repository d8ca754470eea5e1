package security

import (
	"bytes"
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

func codepageSbx(t *testing.T) string {
	p := os.Getenv("SBX")
	if p == "" {
		p, _ = filepath.Abs("../../bin/sbx")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("sbx binary %s not found: run make build first", p)
	}
	return p
}

// hostProcs returns the live host processes running exe.
func hostProcs(exe string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/exe"); err != nil || strings.TrimSuffix(l, " (deleted)") != exe {
			continue
		}
		st, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// Attack: the seccomp platform's filter lets through the stub's own
// syscalls when they come from its code page, which is readable and
// executable in the application's address space: codepage.c finds
// "syscall; ret" there and calls it. A clone(SIGCHLD) from there would be a
// host process the sentry does not know (outside --pids-limit, outliving
// the sandbox), an anonymous mmap host memory outside --memory. The filter
// checks those calls' arguments (only stub-thread clones, only shared
// fixed mappings of the memory file), so both trap and are served as the
// application's own calls.
func TestCodePageGadget(t *testing.T) {
	dir := t.TempDir()
	sbx := filepath.Join(dir, "sbx")
	b, err := os.ReadFile(codepageSbx(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(sbx, b, 0o755))
	bin := filepath.Join(dir, "codepage")
	out, err := exec.Command("gcc", "-static", "-O1", "-o", bin, "testdata/codepage.c").CombinedOutput()
	require.NoError(t, err, "%s", out)

	for _, platform := range []string{"seccomp", "ptrace"} {
		t.Run(platform, func(t *testing.T) {
			for _, mode := range []string{"fork", "memory"} {
				t.Run(mode, func(t *testing.T) {
					limit := "--pids-limit=8"
					if mode == "memory" {
						limit = "--memory=256M"
					}
					// The fork attack races with the sentry (the host child
					// shares the thread's slot), so it gets a few tries.
					for try := 0; try < 5; try++ {
						cmd := exec.Command(sbx, "run", "--platform="+platform, limit, "-v", dir+":/t:ro", "/t/codepage", mode)
						var o bytes.Buffer
						cmd.Stdout, cmd.Stderr = &o, &o
						require.NoError(t, cmd.Start())
						timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
						cmd.Wait()
						timer.Stop()
						t.Logf("output:\n%s", o.String())
						var left []int
						for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
							if left = hostProcs(sbx); len(left) == 0 {
								break
							}
						}
						for _, pid := range left {
							syscall.Kill(pid, syscall.SIGKILL)
						}
						require.Empty(t, left, "host processes made through the code page outlived the sandbox (killed now)")
						require.NotContains(t, o.String(), "ESCAPED")
					}
				})
			}
		})
	}
}
