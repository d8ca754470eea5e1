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

	"github.com/stretchr/testify/require"
)

// cpuQuota returns the CPU bound of process pid's cgroup as "QUOTA PERIOD"
// (v1's cpu.cfs_quota_us and cpu.cfs_period_us, or v2's cpu.max), and the
// group's directory.
func cpuQuota(t *testing.T, pid int) (string, string) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	require.NoError(t, err)
	var v2 string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c != "cpu" {
				continue
			}
			dir := filepath.Join("/sys/fs/cgroup", parts[1], parts[2])
			q, err1 := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
			p, err2 := os.ReadFile(filepath.Join(dir, "cpu.cfs_period_us"))
			require.NoError(t, err1)
			require.NoError(t, err2)
			return strings.TrimSpace(string(q)) + " " + strings.TrimSpace(string(p)), dir
		}
	}
	dir := filepath.Join("/sys/fs/cgroup", v2)
	m, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
	require.NoError(t, err, "no cpu controller in %s", b)
	return strings.TrimSpace(string(m)), dir
}

// TestCPUs: --cpus=0.5 puts the sandbox process in a cgroup of its own
// with a quota of half the period, removed when sbx exits; where no cgroup
// cpu controller can be used, sbx says so and exits 125. Bad values are
// usage errors.
func TestCPUs(t *testing.T) {
	r := run(t, "", sbxPath(t), "run", "--cpus=-1", "/bin/true")
	require.Equal(t, 2, r.status)
	require.Contains(t, r.stderr, "--cpus")
	r = run(t, "", sbxPath(t), "run", "--cpus=abc", "/bin/true")
	require.Equal(t, 2, r.status)

	cmd := exec.Command("/usr/bin/env", "SBX_CGROUP_ROOT="+t.TempDir(), sbxPath(t), "run", "--cpus=1", "/bin/true")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	require.Equal(t, 125, cmd.ProcessState.ExitCode())
	require.Contains(t, string(out), "sbx run: --cpus: no usable cgroup cpu controller")

	var stderr bytes.Buffer
	cmd = exec.Command(sbxPath(t), "run", "--cpus=0.5", "/bin/sleep", "5")
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer cmd.Wait()
	defer cmd.Process.Kill()
	sandbox := 0
	for deadline := time.Now().Add(20 * time.Second); sandbox == 0 && time.Now().Before(deadline); {
		for _, c := range childrenOf(t, cmd.Process.Pid) {
			args, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c), "cmdline"))
			if bytes.HasPrefix(args, []byte("sbx-sandbox\x00")) {
				sandbox = c
			}
		}
		if cmd.ProcessState == nil && sandbox == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if sandbox == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		if strings.Contains(stderr.String(), "no usable cgroup cpu controller") {
			t.Logf("this host has no usable cgroup cpu controller; sbx said: %s", stderr.String())
			require.Equal(t, 125, cmd.ProcessState.ExitCode())
			return
		}
		t.Fatalf("no sandbox process under sbx %d; stderr: %s", cmd.Process.Pid, stderr.String())
	}
	quota, dir := cpuQuota(t, sandbox)
	require.Equal(t, "50000 100000", quota)
	require.Contains(t, filepath.Base(dir), "sbx-")
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err), "the cgroup %s outlived sbx", dir)
}
