// Package boot wires a sandbox together: the memory file, the platform, the
// kernel and the syscall table, and runs the first program in it. It is the
// only place that knows every layer; the CLI calls it.
//
// It must not parse command lines or print to the user: it returns errors and
// exit statuses to the CLI.
package boot

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"

	"sbx/fs/host"
	"sbx/fs/vfs"
	"sbx/platform"
	"sbx/platform/ptrace"
	"sbx/sentry/kernel"
	"sbx/sentry/memfile"
	"sbx/syscalls"
)

// Platforms lists the platform names a sandbox may use.
var Platforms = []string{"ptrace"}

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
	// MemoryLimit bounds the memory file in bytes (0: the default).
	MemoryLimit int64
	Creds       kernel.Credentials
}

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
	default:
		return kernel.ExitStatus{}, fmt.Errorf("unknown platform %q (have: %v)", c.Platform, Platforms)
	}
	if err != nil {
		return kernel.ExitStatus{}, fmt.Errorf("platform %s: %w", c.Platform, err)
	}
	tbl := syscalls.New(syscalls.Options{Log: log, Strace: c.Strace})
	k := kernel.New(p, mf, tbl, log)
	if c.Strace != nil {
		k.Tracer = tbl
	}

	var stdio []*vfs.FileDescription
	for _, fd := range c.Stdio {
		stdio = append(stdio, dupHostFile(fd))
	}
	st, err := k.Run(kernel.ProcessOptions{
		File: c.Binary, Path: c.Path, Argv: c.Argv, Envv: c.Envv,
		Stdio: stdio, Creds: c.Creds,
	})
	tbl.LogSummary()
	return st, err
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
