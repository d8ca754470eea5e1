// Package boot wires a sandbox together: the memory file, the platform, the
// kernel and the syscall table, and runs the first program in it. It is the
// only place that knows every layer; the CLI calls it.
//
// It must not parse command lines or print to the user: it returns errors and
// exit statuses to the CLI.
package boot

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/devfs"
	"sbx/fs/gofer"
	"sbx/fs/host"
	"sbx/fs/overlay"
	"sbx/fs/procfs"
	"sbx/fs/sysfs"
	"sbx/fs/tmpfs"
	"sbx/fs/tty"
	"sbx/fs/vfs"
	"sbx/gofer/proto"
	"sbx/platform"
	"sbx/platform/ptrace"
	"sbx/platform/seccomp"
	"sbx/sentry/kernel"
	"sbx/sentry/memfile"
	"sbx/syscalls"
)

// Platforms lists the platform names a sandbox may use.
var Platforms = []string{"ptrace", "seccomp"}

// Config is what the sandbox runs and how.
type Config struct {
	Platform string
	// Binary is the executable, opened by the caller: the sandbox opens no
	// host path.
	Binary     *os.File
	Path       string // the path the program sees as its own (AT_EXECFN)
	Argv, Envv []string
	// Stdio are the host FDs handed to the program as 0, 1 and 2 (-1 for a
	// closed one). They are duplicated; the caller keeps its own.
	Stdio [3]int
	// Strace, if non-nil, receives strace-style lines.
	Strace io.Writer
	Log    *slog.Logger
	// MemoryLimit bounds the memory file in bytes (0: the default). It holds
	// all application memory and the in-memory filesystems; when it is full,
	// a page fault kills the faulting process with SIGKILL (Linux's OOM
	// answer) and allocations inside the sentry fail with ENOMEM.
	MemoryLimit int64
	Creds       kernel.Credentials
	// RootDir is the host directory that is the sandbox's read-only lower
	// layer ("" for none: an empty in-memory root).
	RootDir string
	// Binds are host directories mounted into the sandbox.
	Binds []Bind
	// Cwd is the program's working directory.
	Cwd string
	// PidsLimit bounds the number of tasks in the sandbox (0: none).
	PidsLimit int
	// Gofer, if set, is a connection to a gofer already serving RootDir
	// ("root") and Binds ("b0", "b1", ...); otherwise Run starts one.
	Gofer *proto.Client
	// Terminal gives the program a new pseudo-terminal as its standard
	// streams and controlling terminal; Stdio's host FDs then feed its
	// input and take its output.
	Terminal bool
	// Timeout, if positive, kills the whole sandbox that long after it
	// starts; Run then returns ErrTimeout.
	Timeout time.Duration
}

// ErrTimeout is returned by Run when Config.Timeout ended the sandbox.
var ErrTimeout = errors.New("timed out")

// Run runs the program to completion and returns its exit status. Errors that
// keep the program from loading wrap kernel.ErrLoad.
func Run(c Config) (kernel.ExitStatus, error) {
	log := c.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	mf, err := memfile.New(c.MemoryLimit)
	if err != nil {
		return kernel.ExitStatus{}, err
	}
	defer mf.Release()
	var p platform.Platform
	switch c.Platform {
	case "", "ptrace":
		p, err = ptrace.New(mf.FD())
	case "seccomp":
		var sp *seccomp.Platform
		if sp, err = seccomp.New(mf.FD()); err == nil {
			// Half the processors Go would use (one on 2 CPUs) leaves
			// the rest to the application's threads; GOMAXPROCS, if
			// set, is kept.
			if _, ok := os.LookupEnv("GOMAXPROCS"); !ok {
				sp.ShareCPUs(max(1, runtime.GOMAXPROCS(0)/2))
			}
			p = sp
		}
	default:
		return kernel.ExitStatus{}, fmt.Errorf("unknown platform %q (have: %v)", c.Platform, Platforms)
	}
	if err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("platform %s: %w", c.Platform, err)
	}
	tbl := syscalls.New(syscalls.Options{Log: log, Strace: c.Strace})
	k := kernel.New(p, mf, tbl, log)
	var lower vfs.Inode
	var bindRoots []*vfs.Dentry
	if c.RootDir != "" {
		client := c.Gofer
		if client == nil {
			g, err := startGofer(c.RootDir, true, c.Binds)
			if err != nil {
				return kernel.ExitStatus{}, err
			}
			defer g.stop()
			client = g.client
		}
		root, err := gofer.New(client, mf, "root", true)
		if err != nil {
			return kernel.ExitStatus{}, fmt.Errorf("attaching the root: %w", err)
		}
		lower = root.Inode()
		for i, b := range c.Binds {
			d, err := gofer.New(client, mf, fmt.Sprintf("b%d", i), b.ReadOnly)
			if err != nil {
				return kernel.ExitStatus{}, fmt.Errorf("bind mount %s: %w", b.Host, err)
			}
			bindRoots = append(bindRoots, d)
		}
	}
	var pts *tty.DevPTS
	if k.VFS, pts, err = buildVFS(mf, lower, k); err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("building the filesystem: %w", err)
	}
	for i, b := range c.Binds {
		if err := bindMount(k.VFS, b, bindRoots[i]); err != nil {
			return kernel.ExitStatus{}, err
		}
	}
	if c.Strace != nil {
		k.Tracer = tbl
	}

	var stdio []*vfs.FileDescription
	var term *terminal
	if c.Terminal {
		if term, err = startTerminal(k.VFS, pts, c.Stdio); err != nil {
			return kernel.ExitStatus{}, fmt.Errorf("making the terminal: %w", err)
		}
		defer term.stop()
		for range 3 {
			term.replica.IncRef()
			stdio = append(stdio, term.replica)
		}
		term.replica.DecRef()
	} else {
		for _, fd := range c.Stdio {
			stdio = append(stdio, dupHostFile(fd))
		}
	}
	k.MaxTasks = c.PidsLimit
	stopForwarding := forwardSignals(k)
	defer stopForwarding()
	o := kernel.ProcessOptions{Path: c.Path, Argv: c.Argv, Envv: c.Envv, Stdio: stdio, Creds: c.Creds, Cwd: c.Cwd}
	if term != nil {
		o.TTY = term.master.Terminal()
	}
	if c.Binary != nil {
		o.File = c.Binary
	}
	var timedOut atomic.Bool
	if c.Timeout > 0 {
		done := make(chan struct{})
		defer close(done)
		go killAfter(k, c.Timeout, &timedOut, done)
	}
	st, err := k.Run(o)
	tbl.LogSummary()
	if err == nil && timedOut.Load() {
		return st, ErrTimeout
	}
	return st, err
}

// killAfter kills the sandbox's init with SIGKILL once d has passed (init's
// death kills every other process), retrying until done is closed, so an
// init still being created is not missed.
func killAfter(k *kernel.Kernel, d time.Duration, timedOut *atomic.Bool, done <-chan struct{}) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-done:
		return
	}
	timedOut.Store(true)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if tg, ok := k.ThreadGroupByPID(1); ok {
			tg.Kill(int(unix.SIGKILL))
		}
		select {
		case <-tick.C:
		case <-done:
			return
		}
	}
}

// buildVFS makes the sandbox's mount namespace: root is an overlay of a tmpfs
// upper layer on lower (or a bare tmpfs when lower is nil), with the
// sentry's own /dev and /tmp mounted on top.
func buildVFS(mf *memfile.File, lower vfs.Inode, k *kernel.Kernel) (*vfs.VFS, *tty.DevPTS, error) {
	_, upperRoot := tmpfs.New(mf, 0o755, vfs.Owner{})
	var root *vfs.Dentry
	fstype := "tmpfs"
	if lower != nil {
		// The mount points below are covered in the upper layer, not
		// looked up in the lower one.
		for _, d := range []string{"dev", "tmp", "proc", "sys"} {
			if err := overlay.Cover(upperRoot.Inode(), d, 0o755); err != nil {
				return nil, nil, err
			}
		}
		root = overlay.New(upperRoot.Inode(), lower)
		fstype = "overlay"
	} else {
		root = upperRoot
		for _, d := range []string{"dev", "tmp", "proc", "sys", "etc"} {
			if _, err := root.Inode().Mkdir(d, unix.S_IFDIR|0o755, vfs.Owner{}); err != nil {
				return nil, nil, err
			}
		}
	}
	ns := vfs.NewMountNamespace(root, fstype, "none", false)
	v := &vfs.VFS{NS: ns}
	ctx := &vfs.Context{Creds: &vfs.Creds{}, Root: ns.Root(), Cwd: ns.Root()}
	mountAt := func(path string, d *vfs.Dentry, fstype string) error {
		vd, err := v.Resolve(ctx, ns.Root(), path, vfs.Resolve{})
		if err != nil {
			return fmt.Errorf("mount point %s: %w", path, err)
		}
		_, err = ns.Mount(vd, d, fstype, fstype, false)
		return err
	}
	pts := tty.NewDevPTS(k)
	dev, err := devfs.New(mf, devfs.Options{PTMX: pts.OpenMaster, TTY: k.OpenControllingTTY})
	if err != nil {
		return nil, nil, err
	}
	if err := mountAt("/dev", dev, "devtmpfs"); err != nil {
		return nil, nil, err
	}
	if err := mountAt("/dev/pts", pts.Root(), "devpts"); err != nil {
		return nil, nil, err
	}
	_, tmp := tmpfs.New(mf, 0o1777, vfs.Owner{})
	if err := mountAt("/tmp", tmp, "tmpfs"); err != nil {
		return nil, nil, err
	}
	if err := mountAt("/proc", procfs.New(k.ProcSource()), "proc"); err != nil {
		return nil, nil, err
	}
	if err := mountAt("/sys", sysfs.New(runtime.NumCPU()), "sysfs"); err != nil {
		return nil, nil, err
	}
	_, shm := tmpfs.New(mf, 0o1777, vfs.Owner{})
	if err := mountAt("/dev/shm", shm, "tmpfs"); err != nil {
		return nil, nil, err
	}
	return v, pts, nil
}

// bindMount mounts a bind's root at its guest path, creating the mount
// point (in the in-memory upper layer) when it does not exist.
func bindMount(v *vfs.VFS, b Bind, root *vfs.Dentry) error {
	ns := v.NS
	ctx := &vfs.Context{Creds: &vfs.Creds{}, Root: ns.Root(), Cwd: ns.Root(), Umask: 0o022}
	dir := ns.Root()
	for _, c := range strings.Split(b.Guest, "/") {
		if c == "" {
			continue
		}
		next, err := v.Resolve(ctx, dir, c, vfs.Resolve{})
		if err == unix.ENOENT {
			if err := v.MkdirAt(ctx, dir, c, 0o755); err != nil {
				return fmt.Errorf("creating mount point %s: %w", b.Guest, err)
			}
			next, err = v.Resolve(ctx, dir, c, vfs.Resolve{})
		}
		if err != nil {
			return fmt.Errorf("mount point %s: %w", b.Guest, err)
		}
		dir = next
	}
	_, err := ns.Mount(dir, root, "9p", b.Host, b.ReadOnly)
	return err
}

// forwardSignals sends the signals a user sends to sbx (^C, kill) to the
// sandbox's foreground process group: init's group.
func forwardSignals(k *kernel.Kernel) func() {
	ch := make(chan os.Signal, 8)
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				k.SignalForeground(int(s.(syscall.Signal)))
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

// dupHostFile wraps a duplicate of a host FD, or returns nil if it is closed.
func dupHostFile(fd int) *vfs.FileDescription {
	if fd < 0 {
		return nil
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil
	}
	f, err := host.NewFile(nfd)
	if err != nil {
		unix.Close(nfd)
		return nil
	}
	return f
}
