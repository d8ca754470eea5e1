package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sbx/gofer/confine"
	"sbx/gofer/proto"
	"sbx/runsc/cgroup"
	"sbx/sentry/kernel"
	"sbx/syscalls"
)

// The sandbox process. `sbx run` (the launcher) starts the gofer on the
// host, then re-executes itself as "sbx sandbox" in new pid, mount, ipc, uts
// and net namespaces, handing it only the standard streams, its
// configuration, the gofer socket and the program's file. The sandbox
// process locks itself down (Lockdown: an empty read-only root, no new
// privileges, no capabilities) before the kernel starts, and exits with the
// program's status, which the launcher passes on.

// FDs of the sandbox process after the standard streams.
const (
	sandboxConfigFD = 3
	sandboxGoferFD  = 4
	sandboxBinaryFD = 5
	// sandboxSeccompFD is a socket on which, with --debug-seccomp, the
	// sandbox process sends its filter's listener to the launcher.
	sandboxSeccompFD = 6
	// sandboxStatusFD is the write end of a pipe on which the sandbox
	// process reports the program's status once it has cleaned up (every
	// stub killed): sbx then need not wait for the host to tear the
	// process itself down, which takes it a millisecond or two.
	sandboxStatusFD = 7
)

// LaunchConfig is the part of Config that crosses into the sandbox process,
// as JSON.
type LaunchConfig struct {
	Platform    string
	Path        string
	Argv, Envv  []string
	MemoryLimit int64
	Creds       kernel.Credentials
	RootDir     string
	Binds       []Bind
	Cwd         string
	PidsLimit   int
	Terminal    bool
	// Strace sends strace lines to the standard error; DebugLog and
	// ProfileCPU are host paths the sandbox process opens before it locks
	// itself down.
	Strace     bool
	DebugLog   string
	ProfileCPU string
	HasBinary  bool
	HasGofer   bool
	HasStatus  bool
	// Timeout, if positive, kills the sandbox that long after it starts.
	Timeout time.Duration
	// CPUs, if positive, bounds the sandbox process's CPU time to that
	// many CPUs with a cgroup (see runsc/cgroup).
	CPUs float64
	// DebugSeccomp lets host syscalls outside the sandbox process's
	// allow-list through, after the launcher has named them.
	DebugSeccomp bool
	// ForbiddenSyscallForTest, when not 0, is a host syscall the sandbox
	// process makes right after its filter is in place: the security tests
	// check that a sentry call outside the allow-list ends the sandbox
	// (set from $SBX_TEST_FORBIDDEN_SYSCALL; the call is made with all
	// arguments 0).
	ForbiddenSyscallForTest int
}

// Launch runs the sandbox process for lc with the given standard streams
// and program file (nil to look the program up inside), forwarding the
// signals sbx receives, and returns the status the sandbox process exited
// with (as a shell reports it). Messages about the program (not found,
// cannot execute) are the sandbox process's to print.
func Launch(lc LaunchConfig, binary *os.File, stdio [3]*os.File, log *slog.Logger) (int, error) {
	var g *goferProcess
	if lc.RootDir != "" {
		var err error
		if g, err = startGoferConn(lc.RootDir, true, lc.Binds); err != nil {
			return 0, err
		}
		// sbx exits once the sandbox process has: the gofer is not
		// waited for (it dies with us, if it has not already ended).
		defer g.abandon()
		lc.HasGofer = true
	}
	lc.HasBinary = binary != nil
	if v, err := strconv.Atoi(os.Getenv("SBX_TEST_FORBIDDEN_SYSCALL")); err == nil && v > 0 {
		lc.ForbiddenSyscallForTest = v
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer statusR.Close()
	lc.HasStatus = true
	cfg, err := configFile(lc)
	if err != nil {
		statusW.Close()
		return 0, err
	}
	defer cfg.Close()
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	extra := []*os.File{cfg, nil, nil, nil, statusW}
	if g != nil {
		extra[1] = g.sandboxEnd
	}
	if binary != nil {
		extra[2] = binary
	}
	attr := &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNET,
		Pdeathsig:  syscall.SIGKILL,
	}
	// The sandbox gets its own process group, in the foreground of the
	// terminal when sbx is: ^C at the terminal then reaches it alone, and
	// signals sent to sbx are forwarded below.
	foreground := false
	if stdio[0] != nil {
		if pg, err := unix.IoctlGetInt(int(stdio[0].Fd()), unix.TIOCGPGRP); err == nil && pg == unix.Getpgrp() {
			foreground = true
			attr.Foreground = true
			attr.Ctty = 0
		}
	}
	attr.Setpgid = true
	var cg *cgroup.CPU
	if lc.CPUs > 0 {
		var err error
		if cg, err = cgroup.NewCPU(lc.CPUs, fmt.Sprintf("sbx-%d", os.Getpid())); err != nil {
			return 0, err
		}
		defer cg.Remove()
		if cg.V2 {
			attr.UseCgroupFD, attr.CgroupFD = true, cg.FD
		}
	}
	start := func(a *syscall.SysProcAttr) (*process, error) {
		env := []string{}
		// The platform's tuning knobs and the Go runtime's GOMAXPROCS
		// (for measuring) are the only variables the sandbox process
		// sees.
		for _, k := range []string{"SBX_SECCOMP_SPIN_SENTRY", "SBX_SECCOMP_SPIN_STUB", "SBX_SECCOMP_BUSY_SENTRY", "SBX_SECCOMP_BUSY_STUB", "GOMAXPROCS"} {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
		return startProcess(self, []string{"sbx-sandbox", "sandbox"}, env, append(stdio[:], extra...), a)
	}
	var supervised chan struct{}
	if lc.DebugSeccomp {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		mine := os.NewFile(uintptr(fds[0]), "seccomp-supervisor")
		theirs := os.NewFile(uintptr(fds[1]), "seccomp-listener")
		defer mine.Close()
		defer theirs.Close()
		extra[sandboxSeccompFD-3] = theirs
		supervised = make(chan struct{})
		go func() {
			defer close(supervised)
			superviseSeccomp(int(mine.Fd()), stdio[2])
		}()
	}
	// The sandbox process is started from a thread of its own, which
	// lives until it is reaped: its parent-death signal follows that
	// thread, and the thread is readied (confine.PrepareChild) so that the
	// process starts with no_new_privs and an empty bounding set.
	type startResult struct {
		proc *process
		err  error
	}
	type exitResult struct {
		ws  syscall.WaitStatus
		err error
	}
	started := make(chan startResult, 1)
	exited := make(chan exitResult, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with us
		confine.PrepareChild()
		if cg != nil {
			// A v1 group takes this thread for the fork: the
			// sandbox process starts in it.
			if err := cg.Enter(); err != nil {
				started <- startResult{nil, fmt.Errorf("--cpus: entering %s: %w", cg.Dir, err)}
				return
			}
		}
		proc, err := start(attr)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
			// No namespaces for us here (an unprivileged user without
			// user namespaces): the sandbox process still locks itself
			// down as far as it can.
			log.Warn("cannot create namespaces for the sandbox; running without them", "err", err)
			a := *attr
			a.Cloneflags = 0
			proc, err = start(&a)
		}
		if cg != nil {
			cg.Leave()
		}
		started <- startResult{proc, err}
		if err == nil {
			ws, err := proc.wait()
			exited <- exitResult{ws, err}
		}
	}()
	r := <-started
	statusW.Close()
	proc, err := r.proc, r.err
	if err != nil {
		return 0, fmt.Errorf("starting the sandbox process: %w", err)
	}
	reported := make(chan int, 1)
	go func() {
		if code, ok := readStatus(statusR); ok {
			reported <- code
		}
		close(reported)
	}()
	if g != nil {
		// The gofer was started alongside: the two processes' start-up
		// overlaps.
		g.sandboxEnd.Close()
		g.sandboxEnd = nil
		if err := g.waitStarted(); err != nil {
			proc.signal(syscall.SIGKILL)
			<-exited
			return 0, err
		}
	}
	stop := forwardToProcess(proc)
	// The reported status is final unless the process must be gone
	// before we go on: a cgroup is removed only once empty, and the
	// seccomp supervisor reports until the filter's last user ends.
	early, waitExit := -1, cg != nil || supervised != nil
	var ex exitResult
	select {
	case ex = <-exited:
	case code, ok := <-reported:
		if !ok {
			ex = <-exited
		} else if early = code; waitExit {
			ex = <-exited
		}
	}
	stop()
	if supervised != nil {
		<-supervised
	}
	if foreground {
		// Take the terminal back (ignoring the SIGTTOU a background
		// process group gets for it).
		signal.Ignore(syscall.SIGTTOU)
		unix.IoctlSetPointerInt(int(stdio[0].Fd()), unix.TIOCSPGRP, unix.Getpgrp())
		signal.Reset(syscall.SIGTTOU)
	}
	if early >= 0 {
		return early, nil
	}
	if ex.err != nil {
		return 0, ex.err
	}
	return shellStatus(ex.ws), nil
}

// configFile writes lc into an anonymous file for the sandbox process.
func configFile(lc LaunchConfig) (*os.File, error) {
	b, err := json.Marshal(lc)
	if err != nil {
		return nil, err
	}
	fd, err := unix.MemfdCreate("sbx-config", 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "sbx-config")
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readStatus reads the status the sandbox process reports: three decimal
// digits (0-255) and a newline. ok is false if it ended without one.
func readStatus(r io.Reader) (code int, ok bool) {
	b := make([]byte, 4)
	if _, err := io.ReadFull(r, b); err != nil || b[3] != '\n' {
		return 0, false
	}
	code, err := strconv.Atoi(string(b[:3]))
	if err != nil || code < 0 || code > 255 {
		return 0, false
	}
	return code, true
}

// ReportStatus sends the program's status to sbx, if it asked for it
// (LaunchConfig.HasStatus): the sandbox process calls it once everything
// it started is gone, right before it exits.
func ReportStatus(lc LaunchConfig, code int) {
	if !lc.HasStatus {
		return
	}
	unix.Write(sandboxStatusFD, fmt.Appendf(nil, "%03d\n", code&0xff))
	unix.Close(sandboxStatusFD)
}

// forwardToProcess passes the signals a user sends to sbx on to p.
func forwardToProcess(p *process) func() {
	ch := make(chan os.Signal, 8)
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				p.signal(s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// SandboxConfig reads the sandbox process's configuration and returns the
// Config to run with the files it was handed. Host paths it names (debug
// log, profile) are opened by the caller before Lockdown.
func SandboxConfig() (LaunchConfig, Config, error) {
	var lc LaunchConfig
	f := os.NewFile(sandboxConfigFD, "sbx-config")
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return lc, Config{}, fmt.Errorf("reading the sandbox configuration: %w", err)
	}
	if err := json.Unmarshal(b, &lc); err != nil {
		return lc, Config{}, fmt.Errorf("decoding the sandbox configuration: %w", err)
	}
	c := Config{
		Platform: lc.Platform, Path: lc.Path, Argv: lc.Argv, Envv: lc.Envv, Stdio: [3]int{0, 1, 2},
		MemoryLimit: lc.MemoryLimit, Creds: lc.Creds, RootDir: lc.RootDir, Binds: lc.Binds, Cwd: lc.Cwd,
		PidsLimit: lc.PidsLimit, Terminal: lc.Terminal,
	}
	if lc.HasGofer {
		cl, err := proto.NewClient(sandboxGoferFD)
		if err != nil {
			return lc, Config{}, fmt.Errorf("gofer connection: %w", err)
		}
		c.Gofer = cl
	}
	if lc.HasBinary {
		c.Binary = os.NewFile(sandboxBinaryFD, lc.Path)
	}
	if lc.HasStatus {
		// Not for the stub processes.
		unix.CloseOnExec(sandboxStatusFD)
	}
	return lc, c, nil
}

// Lockdown confines the sandbox process before the kernel starts: in its
// own mount namespace it pivots into an empty read-only root (so no host
// path can be opened), sets no_new_privs and drops every capability, from
// the bounding set too.
func Lockdown() error {
	return confine.Lock(confine.Options{})
}

// superviseSeccomp receives the sandbox process's filter listener on sock
// and names each call outside its allow-list, until the sandbox is gone.
func superviseSeccomp(sock int, out *os.File) {
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, 0)
	if err != nil {
		return
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return
	}
	listener := fds[0]
	defer unix.Close(listener)
	seen := 0
	confine.Supervise(listener, func(n confine.Notification) {
		seen++
		if out != nil {
			fmt.Fprintf(out, "sbx: --debug-seccomp: the sentry called %s(%#x, %#x, %#x, ...) (syscall %d), which its allow-list lacks; let through\n",
				syscalls.Name(uintptr(n.Nr)), n.Args[0], n.Args[1], n.Args[2], n.Nr)
		}
	})
	if seen == 0 && out != nil {
		fmt.Fprintln(out, "sbx: --debug-seccomp: the sentry called nothing outside its allow-list")
	}
}
