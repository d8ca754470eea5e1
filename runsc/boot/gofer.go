package boot

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"sbx/gofer/confine"
	"sbx/gofer/proto"
	"sbx/gofer/server"
)

// Bind is a host directory mounted into the sandbox.
type Bind struct {
	Host, Guest string
	ReadOnly    bool
}

// goferProcess is a running gofer with the client end of its socket, or,
// for a gofer whose client is the sandbox process, that end as a file to
// hand over.
type goferProcess struct {
	proc       *process
	client     *proto.Client
	sandboxEnd *os.File
	// started receives nil once the gofer's exec has completed (proc is
	// then set), or why it could not start.
	started chan error
	// exited is closed once the gofer is reaped (or never started).
	exited chan struct{}
}

// startGofer starts the gofer process (this binary, re-executed as
// "sbx gofer") serving the root and each bind mount, named "root" and
// "bN".
func startGofer(rootDir string, rootRO bool, binds []Bind) (*goferProcess, error) {
	g, err := startGoferConn(rootDir, rootRO, binds)
	if err == nil {
		err = g.waitStarted()
	}
	if err != nil {
		if g != nil {
			g.sandboxEnd.Close()
		}
		return nil, err
	}
	// The client owns its FD: hand it a duplicate of the file's.
	fd, err := unix.FcntlInt(g.sandboxEnd.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	g.sandboxEnd.Close()
	g.sandboxEnd = nil
	var c *proto.Client
	if err == nil {
		c, err = proto.NewClient(fd)
	}
	if err != nil {
		g.proc.signal(syscall.SIGKILL)
		<-g.exited
		return nil, err
	}
	g.client = c
	return g, nil
}

// startGoferConn begins starting the gofer and returns it with the client
// end of its socket as a file (close-on-exec), before the gofer's exec has
// completed: the caller goes on (starting the sandbox process, say) and
// calls waitStarted before it relies on the process.
func startGoferConn(rootDir string, rootRO bool, binds []Bind) (*goferProcess, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("gofer socket: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, err
	}
	mode := func(ro bool) string {
		if ro {
			return ":ro"
		}
		return ""
	}
	args := []string{"gofer", "--socket-fd=3", "--confine", "--mount=root=" + rootDir + mode(rootRO)}
	for i, b := range binds {
		args = append(args, fmt.Sprintf("--mount=b%d=%s%s", i, b.Host, mode(b.ReadOnly)))
	}
	child := os.NewFile(uintptr(fds[1]), "gofer-socket")
	g := &goferProcess{sandboxEnd: os.NewFile(uintptr(fds[0]), "gofer-client"), exited: make(chan struct{}), started: make(chan error, 1)}
	// The gofer gets namespaces of its own (it sees the host's files only
	// through the mounts it opens first, then confines itself), or, where
	// namespaces cannot be made, runs unconfined in a mount namespace of
	// its serving thread.
	//
	// The parent-death signal comes when the thread that forked the gofer
	// ends, not the process (prctl(2), PR_SET_PDEATHSIG), and Go ends an
	// OS thread whose locked goroutine returns, as each task's does: fork
	// from a thread of our own that lives until the gofer is reaped.
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with us
		// What the gofer may ever hold: its file capabilities, and,
		// until its lockdown, what that needs.
		confine.PrepareChild(server.GoferCaps...)
		start := func(args []string, flags uintptr) (*process, error) {
			return startProcess(self, append([]string{"sbx-gofer"}, args...), []string{},
				[]*os.File{nil, nil, os.Stderr, child},
				&syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Cloneflags: flags})
		}
		proc, err := start(args, unix.CLONE_NEWNS|unix.CLONE_NEWPID|unix.CLONE_NEWIPC|unix.CLONE_NEWUTS|unix.CLONE_NEWNET)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
			plain := append([]string{}, args[:2]...)
			plain = append(plain, args[3:]...)
			proc, err = start(plain, 0)
		}
		child.Close()
		if err != nil {
			g.started <- fmt.Errorf("starting the gofer: %w", err)
			close(g.exited)
			return
		}
		g.proc = proc
		g.started <- nil
		ws, err := proc.wait()
		if err == nil && ws.Signaled() {
			// The gofer ends when its connection closes; a signal
			// is news the user should see (file access failed with
			// EIO from then on).
			fmt.Fprintf(os.Stderr, "sbx: the gofer was killed by %v\n", ws.Signal())
		}
		close(g.exited)
	}()
	return g, nil
}

// waitStarted waits until the gofer's exec has completed (or failed); it
// is called once.
func (g *goferProcess) waitStarted() error {
	return <-g.started
}

// abandon closes the connection without waiting for the gofer to exit: it
// ends when it sees the connection close, or with us (its parent-death
// signal). For a launcher about to exit, which need not reap it.
func (g *goferProcess) abandon() {
	if g.client != nil {
		g.client.Disconnect()
	}
	if g.sandboxEnd != nil {
		g.sandboxEnd.Close()
	}
}

// stop closes the connection (the gofer exits when it sees that) and
// reaps the process.
func (g *goferProcess) stop() {
	if g.client != nil {
		g.client.Disconnect()
	}
	if g.sandboxEnd != nil {
		g.sandboxEnd.Close()
	}
	<-g.exited
}
