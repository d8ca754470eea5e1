package boot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"sbx/gofer/confine"
	"sbx/gofer/proto"
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
	// DebugSeccomp lets host syscalls outside the sandbox process's
	// allow-list through; the host kernel logs them and the launcher
	// names them when the sandbox ends.
	DebugSeccomp bool
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
		defer g.stop()
		lc.HasGofer = true
	}
	lc.HasBinary = binary != nil
	cfg, err := configFile(lc)
	if err != nil {
		return 0, err
	}
	defer cfg.Close()
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	extra := []*os.File{cfg, nil, nil}
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
	start := func(a *syscall.SysProcAttr) (*exec.Cmd, error) {
		cmd := exec.Command(self, "sandbox")
		cmd.Args[0] = "sbx-sandbox"
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio[0], stdio[1], stdio[2]
		cmd.ExtraFiles = extra
		cmd.Env = []string{}
		cmd.SysProcAttr = a
		return cmd, cmd.Start()
	}
	kmsg := -1
	if lc.DebugSeccomp {
		// The kernel's log, from now on: violations are audit records.
		// (A raw FD: Go would make an *os.File of a non-blocking FD wait
		// in its poller instead of returning EAGAIN at the end.)
		if kmsg, err = unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
			unix.Seek(kmsg, 0, io.SeekEnd)
		} else {
			log.Warn("--debug-seccomp: cannot read the kernel log; look for audit type=1326 records", "err", err)
			kmsg = -1
		}
	}
	cmd, err := start(attr)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL) {
		// No namespaces for us here (an unprivileged user without user
		// namespaces): the sandbox process still locks itself down as far
		// as it can.
		log.Warn("cannot create namespaces for the sandbox; running without them", "err", err)
		a := *attr
		a.Cloneflags = 0
		cmd, err = start(&a)
	}
	if err != nil {
		return 0, fmt.Errorf("starting the sandbox process: %w", err)
	}
	if g != nil {
		g.sandboxEnd.Close()
		g.sandboxEnd = nil
	}
	stop := forwardToProcess(cmd.Process)
	err = cmd.Wait()
	stop()
	if kmsg >= 0 {
		reportSeccompLog(kmsg, self, stdio[2])
		unix.Close(kmsg)
	}
	if foreground {
		// Take the terminal back (ignoring the SIGTTOU a background
		// process group gets for it).
		signal.Ignore(syscall.SIGTTOU)
		unix.IoctlSetPointerInt(int(stdio[0].Fd()), unix.TIOCSPGRP, unix.Getpgrp())
		signal.Reset(syscall.SIGTTOU)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
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

// forwardToProcess passes the signals a user sends to sbx on to p.
func forwardToProcess(p *os.Process) func() {
	ch := make(chan os.Signal, 8)
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				p.Signal(s)
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
	return lc, c, nil
}

// Lockdown confines the sandbox process before the kernel starts: in its
// own mount namespace it pivots into an empty read-only root (so no host
// path can be opened), sets no_new_privs and drops every capability, from
// the bounding set too.
func Lockdown() error {
	return confine.Lock(confine.Options{})
}

// reportSeccompLog names the host syscalls the sandbox's processes made
// outside their allow-lists, from the kernel's seccomp audit records
// (type=1326) of processes running exe.
func reportSeccompLog(kmsg int, exe string, out *os.File) {
	if out == nil {
		return
	}
	counts := map[int]int{}
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(kmsg, buf)
		if err != nil || n <= 0 {
			if err == unix.EPIPE { // records were overwritten: go on
				continue
			}
			break
		}
		rec := string(buf[:n])
		if !strings.Contains(rec, "type=1326") || !strings.Contains(rec, `exe="`+exe+`"`) {
			continue
		}
		if i := strings.Index(rec, " syscall="); i >= 0 {
			f := strings.Fields(rec[i+len(" syscall="):])
			if len(f) > 0 {
				if nr, err := strconv.Atoi(f[0]); err == nil {
					counts[nr]++
				}
			}
		}
	}
	if len(counts) == 0 {
		fmt.Fprintln(out, "sbx: --debug-seccomp: no host syscall outside the allow-lists")
		return
	}
	var nrs []int
	for nr := range counts {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	for _, nr := range nrs {
		fmt.Fprintf(out, "sbx: --debug-seccomp: host syscall %s (%d) outside the allow-list, %d time(s)\n", syscalls.Name(uintptr(nr)), nr, counts[nr])
	}
}
