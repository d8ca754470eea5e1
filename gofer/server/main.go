package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"sbx/gofer/confine"
)

// mountFlags collects repeated --mount NAME=HOSTDIR[:ro|:rw] flags.
type mountFlags []Mount

func (m *mountFlags) String() string { return fmt.Sprint(*m) }

func (m *mountFlags) Set(v string) error {
	mt, err := ParseMount(v)
	if err != nil {
		return err
	}
	*m = append(*m, mt)
	return nil
}

// ParseMount parses NAME=HOSTDIR[:ro|:rw]. HOSTDIR must be absolute; a
// trailing ":ro" makes the mount read-only (":rw", the default, does not).
func ParseMount(v string) (Mount, error) {
	name, dir, ok := strings.Cut(v, "=")
	if !ok {
		return Mount{}, fmt.Errorf("mount %q: want NAME=HOSTDIR[:ro]", v)
	}
	var m Mount
	switch {
	case strings.HasSuffix(dir, ":ro"):
		dir, m.ReadOnly = strings.TrimSuffix(dir, ":ro"), true
	case strings.HasSuffix(dir, ":rw"):
		dir = strings.TrimSuffix(dir, ":rw")
	}
	if !filepath.IsAbs(dir) {
		return Mount{}, fmt.Errorf("mount %q: host directory must be absolute", v)
	}
	if err := checkMountName(name); err != nil {
		return Mount{}, err
	}
	m.Name, m.HostDir = name, filepath.Clean(dir)
	return m, nil
}

// Main is the gofer process: args are the arguments after "gofer"
// (os.Args[2:] when the CLI re-executes /proc/self/exe as "sbx gofer ...").
// It returns the process exit status: 0 once the sentry closed the socket,
// 1 on failure, 2 on bad usage.
func Main(args []string) int {
	logger := log.New(os.Stderr, "", log.LstdFlags|log.Lmicroseconds)
	fs := flag.NewFlagSet("gofer", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	socketFD := fs.Int("socket-fd", -1, "inherited FD of the SOCK_SEQPACKET socket to serve")
	var mounts mountFlags
	fs.Var(&mounts, "mount", "NAME=HOSTDIR[:ro], repeatable: a mount the sentry may attach")
	confined := fs.Bool("confine", false, "the process is in namespaces of its own: once the mounts are open, pivot into an empty root and drop privileges")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 || *socketFD < 0 {
		fmt.Fprintln(os.Stderr, "usage: gofer --socket-fd=N --mount NAME=HOSTDIR[:ro] ...")
		return 2
	}
	var st unix.Stat_t
	if err := unix.Fstat(*socketFD, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		logger.Printf("gofer: --socket-fd=%d is not a socket", *socketFD)
		return 2
	}
	unix.CloseOnExec(*socketFD)

	// A mount namespace is a property of a thread: keep this goroutine on
	// the thread that made it, for good. Everything after this is relative
	// to the FDs opened below, so other threads are not affected.
	runtime.LockOSThread()
	if *confined {
		// The launcher made a mount namespace for the whole process.
	} else if err := enterMountNamespace(); err != nil {
		if !errors.Is(err, unix.EPERM) {
			logger.Printf("gofer: %v", err)
			return 1
		}
		logger.Printf("gofer: %v; continuing in the current mount namespace", err)
	}
	// Modes are given exactly by the sentry.
	unix.Umask(0)

	srv, err := New(mounts, WithLogf(logger.Printf))
	if err != nil {
		logger.Print(err)
		return 1
	}
	defer srv.Close()
	if *confined {
		// Every mount is open: from here on the gofer reaches host files
		// only through those FDs, with the capabilities that serving
		// files as their owners needs.
		if err := confine.Lock(confine.Options{Proc: true, Caps: GoferCaps}); err != nil {
			logger.Printf("gofer: %v", err)
			return 1
		}
		if err := installFilter(); err != nil {
			logger.Printf("gofer: %v", err)
			return 1
		}
	}
	if err := srv.Serve(*socketFD); err != nil && err != io.EOF {
		logger.Printf("gofer: serve: %v", err)
		return 1
	}
	return 0
}

// GoferCaps are the capabilities a confined gofer keeps: to create,
// chown and chmod files for the sandbox's users whatever the host
// permissions say (the sentry has checked the sandbox's own).
var GoferCaps = []uintptr{unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_DAC_READ_SEARCH, unix.CAP_FOWNER, unix.CAP_FSETID}

// enterMountNamespace moves the calling thread into a new mount namespace
// whose mounts are all private, so nothing the gofer mounts propagates to
// the host and host mount events do not reach it.
func enterMountNamespace() error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	return nil
}
