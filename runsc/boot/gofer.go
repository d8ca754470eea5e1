package boot

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"sbx/gofer/proto"
)

// Bind is a host directory mounted into the sandbox.
type Bind struct {
	Host, Guest string
	ReadOnly    bool
}

// goferProcess is a running gofer with the client end of its socket.
type goferProcess struct {
	cmd    *exec.Cmd
	client *proto.Client
	// exited receives the gofer's exit (cmd.Wait) once it is reaped.
	exited chan error
}

// startGofer starts the gofer process (this binary, re-executed as
// "sbx gofer") serving the root and each bind mount, named "root" and
// "bN".
func startGofer(rootDir string, rootRO bool, binds []Bind) (*goferProcess, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("gofer socket: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	mode := func(ro bool) string {
		if ro {
			return ":ro"
		}
		return ""
	}
	args := []string{"gofer", "--socket-fd=3", "--mount=root=" + rootDir + mode(rootRO)}
	for i, b := range binds {
		args = append(args, fmt.Sprintf("--mount=b%d=%s%s", i, b.Host, mode(b.ReadOnly)))
	}
	cmd := exec.Command(self, args...)
	cmd.Args[0] = "sbx-gofer"
	child := os.NewFile(uintptr(fds[1]), "gofer-socket")
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// The parent-death signal comes when the thread that forked the gofer
	// ends, not the process (prctl(2), PR_SET_PDEATHSIG), and Go ends an
	// OS thread whose locked goroutine returns, as each task's does: fork
	// from a thread of our own that lives until the gofer is reaped.
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with us
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	err = <-started
	child.Close()
	if err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("starting the gofer: %w", err)
	}
	c, err := proto.NewClient(fds[0])
	if err != nil {
		cmd.Process.Kill()
		<-exited
		return nil, err
	}
	return &goferProcess{cmd: cmd, client: c, exited: exited}, nil
}

// stop closes the connection (the gofer exits when it sees that) and
// reaps the process.
func (g *goferProcess) stop() {
	g.client.Disconnect()
	<-g.exited
}
