// Package cli is sbx's command line. The name the binary is called by picks
// the command set: "sbx" (run a program in a sandbox) or "runsc" (an OCI
// runtime with runc's command line). It parses flags, opens the program the
// user named (the sandbox itself opens no host path), maps outcomes to exit
// statuses as a shell would, and prints messages for people.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sbx/runsc/boot"
	"sbx/sentry/kernel"
	"sbx/sentry/loader"
)

// Exit statuses of sbx itself, as a shell reports them.
const (
	exitUsage       = 2   // bad command line
	exitInternal    = 125 // the sandbox could not be set up
	exitCannotExec  = 126 // the program is not executable
	exitNotFound    = 127 // the program does not exist
	versionString   = "sbx version 0.1.0 (ptrace platform)"
	defaultPlatform = "ptrace"
)

// Main runs the command line and returns the process exit status.
func Main(argv []string) int {
	name := filepath.Base(argv[0])
	if name == "runsc" {
		return runscMain(argv[1:], os.Stdout, os.Stderr)
	}
	return sbxMain(argv[1:], os.Stdout, os.Stderr)
}

const sbxUsage = `sbx runs an untrusted Linux x86-64 program in a sandbox: every system call
it makes is served by sbx's own user-space kernel, never by the host's.

Usage:
  sbx run [flags] BINARY [ARGS...]   run BINARY in a new sandbox
  sbx version                        print the version
  sbx help [COMMAND]                 show help

The program's exit status is passed through; a program killed by a signal
gives 128+signal, as a shell reports it. sbx itself exits 126 when BINARY is
not an executable, 127 when it does not exist, 125 when the sandbox fails.

Run 'sbx run --help' for the flags of run.
`

func sbxMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sbxUsage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCommand(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionString)
		return 0
	case "help", "--help", "-h", "-help":
		if len(args) > 1 && args[1] == "run" {
			runFlags(stdout)
			return 0
		}
		fmt.Fprint(stdout, sbxUsage)
		return 0
	}
	fmt.Fprintf(stderr, "sbx: unknown command %q\n\n%s", args[0], sbxUsage)
	return exitUsage
}

type runOptions struct {
	platform string
	strace   bool
	debugLog string
}

const runUsage = `Usage: sbx run [flags] BINARY [ARGS...]

Runs BINARY with ARGS in a new sandbox with the caller's environment and
standard streams. BINARY is a path, or a name looked up in $PATH. It must be a
static (or static-PIE) x86-64 ELF executable for now.

Flags:
`

func newRunFlagSet(o *runOptions, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sbx run", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.platform, "platform", defaultPlatform, "how application code runs and syscalls are caught: "+strings.Join(boot.Platforms, ", "))
	fs.BoolVar(&o.strace, "strace", false, "print each system call, strace-style, to standard error")
	fs.StringVar(&o.debugLog, "debug-log", "", "write the sandbox's debug log (including unimplemented syscalls) to `FILE`")
	fs.Usage = func() {
		fmt.Fprint(out, runUsage)
		fs.PrintDefaults()
	}
	return fs
}

func runFlags(out io.Writer) {
	var o runOptions
	newRunFlagSet(&o, out).Usage()
}

func runCommand(args []string, stdout, stderr io.Writer) int {
	var o runOptions
	fs := newRunFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "sbx run: no BINARY given")
		fs.Usage()
		return exitUsage
	}
	if !validPlatform(o.platform) {
		fmt.Fprintf(stderr, "sbx run: unknown platform %q (have: %s)\n", o.platform, strings.Join(boot.Platforms, ", "))
		return exitUsage
	}
	prog := fs.Arg(0)

	log, closeLog, err := openLog(o.debugLog, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sbx run: %v\n", err)
		return exitUsage
	}
	defer closeLog()

	path, f, code := openProgram(prog, stderr)
	if f == nil {
		return code
	}
	defer f.Close()

	cfg := boot.Config{
		Platform: o.platform,
		Binary:   f,
		Path:     path,
		Argv:     append([]string{prog}, fs.Args()[1:]...),
		Envv:     os.Environ(),
		Stdio:    [3]int{0, 1, 2},
		Log:      log,
	}
	if o.strace {
		cfg.Strace = stderr
	}
	st, err := boot.Run(cfg)
	if err != nil {
		if errors.Is(err, kernel.ErrLoad) {
			why := strings.TrimPrefix(err.Error(), kernel.ErrLoad.Error()+": ")
			if errors.Is(err, loader.ErrNoExec) {
				fmt.Fprintf(stderr, "sbx: %s: cannot execute: %s\n", prog, why)
			} else {
				fmt.Fprintf(stderr, "sbx: %s: cannot load: %s\n", prog, why)
			}
			return exitCannotExec
		}
		fmt.Fprintf(stderr, "sbx: sandbox failed: %v\n", err)
		return exitInternal
	}
	log.Debug("program exited", "code", st.Code, "signal", st.Signo)
	return st.ShellStatus()
}

func validPlatform(p string) bool {
	for _, q := range boot.Platforms {
		if p == q {
			return true
		}
	}
	return false
}

// openLog returns the debug logger: to FILE at debug level if asked for,
// otherwise warnings and errors only, to stderr.
func openLog(path string, stderr io.Writer) (*slog.Logger, func(), error) {
	if path == "" {
		return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("debug log: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), func() { f.Close() }, nil
}

// openProgram finds and opens the program as a shell would, printing a
// message and returning the shell's status (126/127) when it cannot.
func openProgram(prog string, stderr io.Writer) (string, *os.File, int) {
	path := prog
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			fmt.Fprintf(stderr, "sbx: %s: command not found\n", prog)
			return "", nil, exitNotFound
		}
		path = p
	}
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(stderr, "sbx: %s: no such file or directory\n", prog)
			return "", nil, exitNotFound
		case errors.Is(err, fs.ErrPermission):
			fmt.Fprintf(stderr, "sbx: %s: permission denied\n", prog)
			return "", nil, exitCannotExec
		}
		fmt.Fprintf(stderr, "sbx: %s: %v\n", prog, err)
		return "", nil, exitCannotExec
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		fmt.Fprintf(stderr, "sbx: %s: %v\n", prog, err)
		return "", nil, exitCannotExec
	}
	switch {
	case st.IsDir():
		f.Close()
		fmt.Fprintf(stderr, "sbx: %s: is a directory\n", prog)
		return "", nil, exitCannotExec
	case !st.Mode().IsRegular():
		f.Close()
		fmt.Fprintf(stderr, "sbx: %s: cannot execute: not a regular file\n", prog)
		return "", nil, exitCannotExec
	case st.Mode().Perm()&0o111 == 0:
		f.Close()
		fmt.Fprintf(stderr, "sbx: %s: cannot execute: permission denied (the file has no execute permission)\n", prog)
		return "", nil, exitCannotExec
	}
	return path, f, 0
}

const runscUsage = `runsc is sbx's OCI runtime, with runc's command line, for containerd,
Podman and Docker. The OCI commands (create, start, state, kill, delete, run,
exec, ps, ...) are not implemented yet.

Usage:
  runsc --version
  runsc help
`

func runscMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, runscUsage)
		return exitUsage
	}
	switch args[0] {
	case "--version", "-v", "version":
		fmt.Fprintln(stdout, "runsc: "+versionString)
		fmt.Fprintln(stdout, "spec: 1.0.2")
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, runscUsage)
		return 0
	}
	fmt.Fprintf(stderr, "runsc: command %q is not implemented yet\n", args[0])
	return 1
}
