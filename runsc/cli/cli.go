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
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"sbx/gofer/server"
	"sbx/runsc/boot"
	"sbx/runsc/cgroup"
	"sbx/sentry/kernel"
	"sbx/sentry/loader"
)

// Exit statuses of sbx itself, as a shell reports them.
const (
	exitUsage       = 2   // bad command line
	exitTimeout     = 124 // --timeout ended the sandbox, as timeout(1) says
	exitInternal    = 125 // the sandbox could not be set up
	exitCannotExec  = 126 // the program is not executable
	exitNotFound    = 127 // the program does not exist
	versionString   = "sbx version 0.1.0 (platforms: seccomp, the default, and ptrace)"
	defaultPlatform = "seccomp"
)

// Main runs the command line and returns the process exit status.
func Main(argv []string) int {
	name := filepath.Base(argv[0])
	if len(argv) > 1 && argv[1] == "gofer" {
		// The gofer process: the CLI re-executes itself to start it.
		return server.Main(argv[2:])
	}
	if len(argv) > 1 && argv[1] == "sandbox" {
		// The sandbox process, likewise.
		return sandboxMain(os.Stdout, os.Stderr)
	}
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
	rootfs   string
	volumes  listFlag
	workdir  string
	env      listFlag
	user     string
	cpuProf  string
	pids     int
	memory   string
	timeout  time.Duration
	tty      bool
	stdin    bool
	debugSec bool
	cpus     float64
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const runUsage = `Usage: sbx run [flags] BINARY [ARGS...]

Runs BINARY with ARGS in a new sandbox with the caller's environment and
standard streams. BINARY is a path inside the sandbox, or a name looked up
along the sandbox's $PATH; static and dynamic x86-64 ELF executables and
"#!" scripts run.

The sandbox's / is the host's / (or --rootfs), read-only underneath with an
in-memory layer on top: the program may write anywhere, and nothing reaches
the host but through a -v bind mount. /proc, /dev, /sys and /tmp are the
sandbox's own.

Flags:
`

func newRunFlagSet(o *runOptions, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sbx run", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.platform, "platform", defaultPlatform, "how application code runs and syscalls are caught: "+strings.Join(boot.Platforms, ", "))
	fs.BoolVar(&o.strace, "strace", false, "print each system call, strace-style, to standard error")
	fs.StringVar(&o.debugLog, "debug-log", "", "write the sandbox's debug log (including unimplemented syscalls) to `FILE`")
	fs.StringVar(&o.rootfs, "rootfs", "/", "host `DIR` to use as the sandbox's root (read-only underneath)")
	fs.Var(&o.volumes, "v", "bind-mount host directory `HOST:GUEST[:ro]` into the sandbox (repeatable; read-write unless :ro)")
	fs.StringVar(&o.workdir, "w", "/", "working `DIR` of the program inside the sandbox")
	fs.Var(&o.env, "e", "set environment variable `K=V` (repeatable; added to the caller's environment)")
	fs.StringVar(&o.user, "user", "0:0", "run as `UID[:GID]` inside the sandbox")
	fs.IntVar(&o.pids, "pids-limit", 0, "at most `N` processes and threads in the sandbox (fork and clone then fail with EAGAIN); 0: no limit")
	fs.BoolVar(&o.debugSec, "debug-seccomp", false, "name each host syscall the sentry makes outside its seccomp allow-list, and let it through (for sbx developers; without it such a call kills the sandbox)")
	fs.StringVar(&o.memory, "memory", "", "bound the sandbox's memory (all application memory and its in-memory files) to `SIZE` bytes, with a K, M, G or T suffix (e.g. 256M, 1G); a program that needs more gets ENOMEM or is killed with SIGKILL, as by the OOM killer; default: no limit")
	fs.Float64Var(&o.cpus, "cpus", 0, "bound the sandbox's CPU time to `N` CPUs (e.g. 0.5, 2) with a cgroup: v2 when its cpu controller is available, else v1; sbx says so and exits when neither can be used; 0: no limit")
	fs.DurationVar(&o.timeout, "timeout", 0, "kill the whole sandbox after `DURATION` (e.g. 30s, 5m); sbx then exits with status 124, as timeout(1) does; 0: no limit")
	fs.BoolVar(&o.tty, "t", false, "give the program a terminal of the sandbox's own (a pseudo-terminal: line editing, ^C, job control, window size) connected to sbx's standard streams")
	fs.BoolVar(&o.stdin, "i", true, "keep standard input attached (the default; -i=false gives the program /dev/null)")
	fs.StringVar(&o.cpuProf, "profile-cpu", "", "write a Go CPU profile of the sandbox's kernel to `FILE` (for sbx developers)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
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
	usage := fs.Usage
	// On -help the flag package would print the usage to stderr before
	// returning ErrHelp; it goes to stdout, once, below.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		fs.Usage = usage
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		fs.Usage()
		return exitUsage
	}
	fs.Usage = usage
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
	// Descriptors sbx inherited beyond the standard streams are not the
	// sandbox's: none may reach the processes sbx starts (the gofer is
	// exec'ed, and an inherited host directory there would be a way out
	// of its root, as in CVE-2024-21626).
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)

	log, closeLog, err := openLog(o.debugLog, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sbx run: %v\n", err)
		return exitUsage
	}
	defer closeLog()

	binds, err := parseVolumes(o.volumes)
	if err != nil {
		fmt.Fprintf(stderr, "sbx run: %v\n", err)
		return exitUsage
	}
	creds, err := parseUser(o.user)
	if err != nil {
		fmt.Fprintf(stderr, "sbx run: %v\n", err)
		return exitUsage
	}
	env := os.Environ()
	for _, kv := range o.env {
		if !strings.Contains(kv, "=") {
			fmt.Fprintf(stderr, "sbx run: -e %q: want K=V\n", kv)
			return exitUsage
		}
		env = setEnv(env, kv)
	}
	memLimit, err := parseSize(o.memory)
	if err != nil {
		fmt.Fprintf(stderr, "sbx run: --memory: %v\n", err)
		return exitUsage
	}
	if o.cpus < 0 || o.cpus != o.cpus || o.cpus > 1e6 {
		fmt.Fprintf(stderr, "sbx run: --cpus %v: want a number of CPUs above 0 (0: no limit)\n", o.cpus)
		return exitUsage
	}
	if o.timeout < 0 {
		fmt.Fprintf(stderr, "sbx run: --timeout %v: must not be negative\n", o.timeout)
		return exitUsage
	}
	rootfs, err := filepath.Abs(o.rootfs)
	if err != nil {
		fmt.Fprintf(stderr, "sbx run: --rootfs: %v\n", err)
		return exitUsage
	}
	if st, err := os.Stat(rootfs); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "sbx run: --rootfs %s: not a directory\n", o.rootfs)
		return exitUsage
	}

	cfg := boot.Config{
		Platform:    o.platform,
		Path:        prog,
		Argv:        append([]string{prog}, fs.Args()[1:]...),
		Envv:        env,
		Stdio:       [3]int{0, 1, 2},
		Log:         log,
		RootDir:     rootfs,
		Binds:       binds,
		Cwd:         o.workdir,
		Creds:       creds,
		PidsLimit:   o.pids,
		MemoryLimit: memLimit,
		Timeout:     o.timeout,
		Terminal:    o.tty,
	}
	if !o.stdin {
		devNull, err := os.Open(os.DevNull)
		if err != nil {
			fmt.Fprintf(stderr, "sbx run: %v\n", err)
			return exitInternal
		}
		defer devNull.Close()
		cfg.Stdio[0] = int(devNull.Fd())
	}
	lc := boot.LaunchConfig{
		Platform: cfg.Platform, Path: cfg.Path, Argv: cfg.Argv, Envv: cfg.Envv, MemoryLimit: cfg.MemoryLimit,
		Creds: cfg.Creds, RootDir: cfg.RootDir, Binds: cfg.Binds, Cwd: cfg.Cwd, PidsLimit: cfg.PidsLimit,
		Terminal: cfg.Terminal, Strace: o.strace, DebugLog: o.debugLog, ProfileCPU: o.cpuProf,
		DebugSeccomp: o.debugSec, Timeout: o.timeout, CPUs: o.cpus,
	}
	// The standard streams as files (os.Stdin and friends for 0-2, so no
	// second *os.File closes them when collected).
	var stdio [3]*os.File
	std := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i, fd := range cfg.Stdio {
		if fd >= 0 && fd <= 2 {
			stdio[i] = std[fd]
		} else if fd >= 0 {
			stdio[i] = os.NewFile(uintptr(fd), fmt.Sprintf("fd%d", fd))
		}
	}
	if o.timeout > 0 {
		// A backstop: should killing the sandbox not end it promptly, sbx
		// still exits (the sandbox process and the gofer die with it).
		backstop := time.AfterFunc(o.timeout+timeoutGrace, func() {
			fmt.Fprintf(stderr, "sbx: timed out after %v; the sandbox did not stop within %v of being killed, exiting\n", o.timeout, timeoutGrace)
			os.Exit(exitTimeout)
		})
		defer backstop.Stop()
	}
	code, err := boot.Launch(lc, cfg.Binary, stdio, log)
	if errors.Is(err, cgroup.ErrUnavailable) {
		fmt.Fprintf(stderr, "sbx run: --cpus: %v\n", err)
		return exitInternal
	}
	if err != nil {
		fmt.Fprintf(stderr, "sbx: sandbox failed: %v\n", err)
		return exitInternal
	}
	return code
}

// sandboxMain is the sandbox process ("sbx sandbox", started by sbx run in
// its own namespaces): it opens the files it was asked to write, locks
// itself down, runs the program and exits with its status.
func sandboxMain(stdout, stderr io.Writer) (code int) {
	lc, cfg, err := boot.SandboxConfig()
	if err != nil {
		fmt.Fprintf(stderr, "sbx: %v\n", err)
		return exitInternal
	}
	// Last, once the log and profile are written: sbx exits with the
	// status as soon as it has it.
	defer func() { boot.ReportStatus(lc, code) }()
	log, closeLog, err := openLog(lc.DebugLog, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sbx run: %v\n", err)
		return exitUsage
	}
	defer closeLog()
	cfg.Log = log
	if lc.Strace {
		cfg.Strace = stderr
	}
	if lc.ProfileCPU != "" {
		f, err := os.Create(lc.ProfileCPU)
		if err != nil {
			fmt.Fprintf(stderr, "sbx run: %v\n", err)
			return exitUsage
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if err := boot.Lockdown(); err != nil {
		fmt.Fprintf(stderr, "sbx: locking the sandbox down: %v\n", err)
		return exitInternal
	}
	if err := boot.InstallSentryFilter(lc.DebugSeccomp); err != nil {
		fmt.Fprintf(stderr, "sbx: installing the sandbox's seccomp filter: %v\n", err)
		return exitInternal
	}
	if nr := lc.ForbiddenSyscallForTest; nr > 0 {
		unix.RawSyscall(uintptr(nr), 0, 0, 0)
	}
	cfg.Timeout = lc.Timeout
	st, err := boot.Run(cfg)
	if errors.Is(err, boot.ErrTimeout) {
		fmt.Fprintf(stderr, "sbx: timed out after %v; the sandbox was killed\n", lc.Timeout)
		return exitTimeout
	}
	if err != nil {
		if errors.Is(err, kernel.ErrWorkdir) {
			fmt.Fprintf(stderr, "sbx: -w %s: %v\n", cfg.Cwd, errors.Unwrap(err))
			return exitInternal
		}
		if errors.Is(err, kernel.ErrLoad) {
			return loadFailure(stderr, cfg.Path, err)
		}
		fmt.Fprintf(stderr, "sbx: sandbox failed: %v\n", err)
		return exitInternal
	}
	log.Debug("program exited", "code", st.Code, "signal", st.Signo)
	return st.ShellStatus()
}

// timeoutGrace is how long a sandbox killed by --timeout may take to end
// before sbx exits anyway.
const timeoutGrace = 5 * time.Second

// parseSize reads a byte count with an optional K, M, G or T suffix (powers
// of 1024, an optional trailing B or iB allowed); "" is 0, no limit.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	num := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(s), "B"), "I")
	shift := 0
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		case 'T':
			shift = 40
		}
		if shift != 0 {
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q: want a positive size such as 256M or 1G", s)
	}
	if v > (1<<62)>>shift {
		return 0, fmt.Errorf("%q: too large", s)
	}
	const minSize = 1 << 20
	if v<<shift < minSize {
		return 0, fmt.Errorf("%q: at least 1M is needed to start a program", s)
	}
	return v << shift, nil
}

// loadFailure explains why the program could not start, with the status a
// shell gives: 127 when it does not exist, 126 when it cannot be executed.
func loadFailure(stderr io.Writer, prog string, err error) int {
	why := strings.TrimPrefix(err.Error(), kernel.ErrLoad.Error()+": ")
	switch {
	case errors.Is(err, unix.ENOENT):
		if !strings.Contains(prog, "/") {
			fmt.Fprintf(stderr, "sbx: %s: command not found\n", prog)
		} else {
			fmt.Fprintf(stderr, "sbx: %s: no such file or directory\n", prog)
		}
		return exitNotFound
	case errors.Is(err, unix.ENOEXEC), errors.Is(err, loader.ErrNoExec):
		fmt.Fprintf(stderr, "sbx: %s: cannot execute: exec format error (%s)\n", prog, why)
	case errors.Is(err, unix.EACCES):
		fmt.Fprintf(stderr, "sbx: %s: cannot execute: permission denied (not an executable file)\n", prog)
	default:
		fmt.Fprintf(stderr, "sbx: %s: cannot execute: %s\n", prog, why)
	}
	return exitCannotExec
}

// parseVolumes reads -v HOST:GUEST[:ro|:rw] flags.
func parseVolumes(vs []string) ([]boot.Bind, error) {
	var out []boot.Bind
	for _, v := range vs {
		parts := strings.Split(v, ":")
		b := boot.Bind{}
		switch {
		case len(parts) == 2:
		case len(parts) == 3 && (parts[2] == "ro" || parts[2] == "rw"):
			b.ReadOnly = parts[2] == "ro"
		default:
			return nil, fmt.Errorf("-v %q: want HOST:GUEST[:ro]", v)
		}
		host, err := filepath.Abs(parts[0])
		if err != nil {
			return nil, err
		}
		if st, err := os.Stat(host); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("-v %q: %s is not a directory on the host", v, parts[0])
		}
		if !strings.HasPrefix(parts[1], "/") {
			return nil, fmt.Errorf("-v %q: the sandbox path must be absolute", v)
		}
		b.Host, b.Guest = host, filepath.Clean(parts[1])
		out = append(out, b)
	}
	return out, nil
}

// parseUser reads --user UID[:GID].
func parseUser(s string) (kernel.Credentials, error) {
	uidS, gidS, hasGID := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(uidS, 10, 32)
	if err != nil {
		return kernel.Credentials{}, fmt.Errorf("--user %q: want numeric UID[:GID]", s)
	}
	gid := uid
	if hasGID {
		if gid, err = strconv.ParseUint(gidS, 10, 32); err != nil {
			return kernel.Credentials{}, fmt.Errorf("--user %q: want numeric UID[:GID]", s)
		}
	}
	u, g := uint32(uid), uint32(gid)
	return kernel.Credentials{RUID: u, EUID: u, SUID: u, RGID: g, EGID: g, SGID: g}, nil
}

// setEnv sets kv in env, replacing an existing value of the same key.
func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
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
