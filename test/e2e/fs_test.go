package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The host's root is the sandbox's lower layer: listing and reading it
// match a native run.
func TestHostRoot(t *testing.T) {
	r := sameAsNative(t, "", "/bin/cat", "/etc/os-release")
	require.Contains(t, r.stdout, "NAME=")
	r = sandboxed(t, "", "/bin/ls", "-la", "/")
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	for _, name := range []string{"etc", "usr", "bin", "proc", "dev", "tmp"} {
		require.Contains(t, r.stdout, " "+name, "ls -la / output: %s", r.stdout)
	}
	sameAsNative(t, "", "/bin/ls", "/usr/share/doc/bash")
	sameAsNative(t, "", "/usr/bin/sort", "/etc/passwd")
	sameAsNative(t, "abc\n", "/usr/bin/sha256sum")
}

func TestPython(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatalf("/usr/bin/python3 is needed for this test: %v", err)
	}
	sameAsNative(t, "", "/usr/bin/python3", "-c",
		`import os,json,sqlite3; print(json.dumps(sorted(os.listdir("/etc"))[:5]))`)
	sameAsNative(t, "", "/usr/bin/python3", "-c",
		`import sqlite3; c=sqlite3.connect(":memory:"); c.execute("create table t(x)"); c.executemany("insert into t values(?)", [(i,) for i in range(100)]); print(c.execute("select sum(x) from t").fetchone())`)
	sameAsNative(t, "", "/usr/bin/python3", "-c", `import hashlib; print(hashlib.sha256(b"x"*100000).hexdigest())`)
}

// Writes land in the in-memory upper layer: visible inside, gone outside.
func TestWritesStayInside(t *testing.T) {
	probe := "/etc/sbx-probe-e2e"
	os.Remove(probe)
	r := sandboxed(t, "", "/usr/bin/python3", "-c",
		`open("`+probe+`","w").write("hi"); print(open("`+probe+`").read())`)
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.Equal(t, "hi\n", r.stdout)
	_, err := os.Stat(probe)
	require.True(t, os.IsNotExist(err), "the probe reached the host: %v", err)

	// Copy-up, whiteouts and renames of host files inside the sandbox.
	r = sandboxed(t, "", "/usr/bin/python3", "-c", `
import os
open("/etc/hostname", "a").write("extra\n")
print(open("/etc/hostname").read().splitlines()[-1])
os.remove("/etc/passwd")
print("removed" if not os.path.exists("/etc/passwd") else "still there")
print("passwd" in os.listdir("/etc"))
os.rename("/etc/os-release", "/etc/osr")
print(open("/etc/osr").readline().startswith("PRETTY_NAME"))
os.mkdir("/usr/share/sbxdir"); os.rmdir("/usr/share/sbxdir")
print(os.path.exists("/usr/share/sbxdir"))
`)
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.Equal(t, "extra\nremoved\nFalse\nTrue\nFalse\n", r.stdout)
	_, err = os.Stat("/etc/passwd")
	require.NoError(t, err, "the host's /etc/passwd must be untouched")
}

func TestBindMounts(t *testing.T) {
	dir := t.TempDir()
	r := sandboxed(t, "", "-v", dir+":/out", "/bin/busybox", "sh", "-c", "echo x > /out/f")
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	require.Equal(t, "x\n", string(b))

	r = sandboxed(t, "", "-v", dir+":/out:ro", "/bin/busybox", "sh", "-c", "echo y > /out/f")
	require.NotEqual(t, 0, r.status)
	require.Contains(t, strings.ToLower(r.stderr), "read-only")
	b, err = os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	require.Equal(t, "x\n", string(b), "a read-only bind mount was written")

	// -w and -e.
	r = sandboxed(t, "", "-v", dir+":/work", "-w", "/work", "-e", "SBX_E2E_VAR=v1", "/bin/busybox", "sh", "-c", `pwd; echo $SBX_E2E_VAR; cat f`)
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.Equal(t, "/work\nv1\nx\n", r.stdout)
}

func TestUser(t *testing.T) {
	r := sandboxed(t, "", "--user", "1000:1000", "/usr/bin/id")
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.Contains(t, r.stdout, "uid=1000")
	require.Contains(t, r.stdout, "gid=1000")
	// An unprivileged user cannot write the root-owned host files.
	r = sandboxed(t, "", "--user", "1000", "/bin/busybox", "sh", "-c", "echo x > /etc/hostname")
	require.NotEqual(t, 0, r.status)
	require.Contains(t, r.stderr, "ermission denied")
}

func TestScriptAndProc(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/busybox sh\necho script $1\n"), 0o755))
	r := sandboxed(t, "", script, "arg")
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.Equal(t, "script arg\n", r.stdout)

	sameAsNative(t, "", "/bin/readlink", "/proc/self/exe")
	sameAsNative(t, "", "/bin/cat", "/proc/self/comm")
	r = sandboxed(t, "", "/usr/bin/head", "-n1", "/proc/self/status")
	require.Equal(t, "Name:\thead\n", r.stdout)
}

// TestLargeTreeWalk walks a tree of more files than sbx may hold host FDs
// (its limit lowered to 512): the gofer keeps an FD for a bounded number of
// the files the sandbox has walked and reopens the others by path, where it
// once ran out of FDs (EMFILE) on a large tree such as /usr.
func TestLargeTreeWalk(t *testing.T) {
	dir := t.TempDir()
	const dirs, files = 30, 100
	for d := 0; d < dirs; d++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", d))
		require.NoError(t, os.Mkdir(sub, 0755))
		for f := 0; f < files; f++ {
			require.NoError(t, os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d", f)), []byte("x"), 0644))
		}
	}
	script := `ulimit -n 512 && exec "$0" run -v "$1":/data:ro /bin/busybox sh -c 'find /data -type f | wc -l; cat /data/d00/f000 /data/d29/f099'`
	r := run(t, "", "/bin/sh", "-c", script, sbxPath(t), dir)
	require.Equal(t, 0, r.status, "stderr: %s", r.stderr)
	require.Equal(t, fmt.Sprintf("%d\nxx", dirs*files), strings.TrimSpace(r.stdout), "stderr: %s", r.stderr)
}
