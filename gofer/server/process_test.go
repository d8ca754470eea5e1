package server_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/gofer/proto"
	"sbx/gofer/server"
)

const helperEnv = "SBX_GOFER_TEST_HELPER"

// TestHelperProcess is not a test: TestGoferProcess runs the test binary
// again with helperEnv set, and this turns it into a gofer process with
// the arguments after "--".
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(server.Main(args))
}

func TestGoferProcess(t *testing.T) {
	base := t.TempDir()
	root, ro := filepath.Join(base, "root"), filepath.Join(base, "ro")
	require.NoError(t, os.Mkdir(root, 0755))
	require.NoError(t, os.Mkdir(ro, 0755))
	write(t, filepath.Join(root, "hello"), "hello from the host\n")
	write(t, filepath.Join(ro, "file"), "ro\n")

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	sock := os.NewFile(uintptr(fds[0]), "gofer-socket")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "--",
		"--socket-fd=3", "--mount", "root="+root, "--mount", "ro="+ro+":ro")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.ExtraFiles = []*os.File{sock} // FD 3 in the child
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	sock.Close()
	defer func() {
		if t.Failed() {
			t.Logf("gofer stderr:\n%s", stderr.String())
		}
	}()

	c, err := proto.NewClient(fds[1])
	require.NoError(t, err)
	rootID, _, err := c.Attach("root")
	require.NoError(t, err)
	h, st, err := c.Walk(rootID, "hello")
	require.NoError(t, err)
	assert.Equal(t, int64(20), st.Size)
	fd, err := c.Open(h, unix.O_RDONLY)
	require.NoError(t, err)
	assert.Equal(t, "hello from the host\n", readFD(t, fd))

	_, st, fd, err = c.Create(rootID, "made", unix.O_WRONLY|unix.O_EXCL, 0640, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, uint32(unix.S_IFREG|0640), st.Mode)
	_, err = unix.Write(fd, []byte("by the gofer"))
	require.NoError(t, err)
	unix.Close(fd)
	assert.Equal(t, "by the gofer", read(t, filepath.Join(root, "made")))

	roID, _, err := c.Attach("ro")
	require.NoError(t, err)
	_, _, err = c.Mkdir(roID, "d", 0755, 0, 0)
	assert.Equal(t, unix.EROFS, err)

	// The gofer lives in its own mount namespace (on the thread that
	// serves; the namespace is per thread).
	if os.Geteuid() == 0 {
		mine, err := os.Readlink("/proc/self/ns/mnt")
		require.NoError(t, err)
		tasks, err := filepath.Glob(filepath.Join("/proc", itoa(cmd.Process.Pid), "task", "*", "ns", "mnt"))
		require.NoError(t, err)
		other := false
		for _, p := range tasks {
			if ns, err := os.Readlink(p); err == nil && ns != mine {
				other = true
			}
		}
		assert.True(t, other, "no gofer thread is in a new mount namespace")
	}

	require.NoError(t, c.Disconnect())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		assert.NoError(t, err, "the gofer exits 0 when the socket closes")
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the gofer did not exit after the socket closed")
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func TestMainUsage(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer devnull.Close()
	notSock := "--socket-fd=" + itoa(int(devnull.Fd()))
	for _, args := range [][]string{
		{},
		{"--mount", "root=/"},
		{notSock, "--mount", "root=/"},
		{"--socket-fd=3", "--mount", "root"},
		{"--socket-fd=3", "--mount", "root=relative/dir"},
		{"--socket-fd=3", "--mount", "=/"},
		{"--socket-fd=3", "--bogus"},
		{"--socket-fd=3", "extra"},
	} {
		assert.Equal(t, 2, server.Main(args), "%q", args)
	}
}

func TestParseMount(t *testing.T) {
	for in, want := range map[string]server.Mount{
		"root=/":         {Name: "root", HostDir: "/"},
		"data=/srv/x:ro": {Name: "data", HostDir: "/srv/x", ReadOnly: true},
		"data=/srv/x:rw": {Name: "data", HostDir: "/srv/x"},
		"d=/a:b/":        {Name: "d", HostDir: "/a:b"},
		"a=b=/x":         {}, // HostDir "b=/x" is relative
	} {
		got, err := server.ParseMount(in)
		if want.Name == "" {
			assert.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}

func TestNewRejectsBadMounts(t *testing.T) {
	dir := t.TempDir()
	for _, ms := range [][]server.Mount{
		{{Name: "", HostDir: dir}},
		{{Name: "a\x00", HostDir: dir}},
		{{Name: "a", HostDir: dir}, {Name: "a", HostDir: dir}},
		{{Name: "a", HostDir: filepath.Join(dir, "missing")}},
	} {
		_, err := server.New(ms)
		assert.Error(t, err, "%+v", ms)
	}
	f := filepath.Join(dir, "file")
	write(t, f, "")
	_, err := server.New([]server.Mount{{Name: "a", HostDir: f}})
	assert.Error(t, err, "a mount must be a directory")
}
