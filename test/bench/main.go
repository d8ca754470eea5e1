// Command bench compares the cost of running programs natively and inside sbx.
//
// It prints one row per benchmark, with the native result, one column per
// sandbox platform (-platforms, comma separated), and the ratio sbx/native for
// each platform. For costs (times) the ratio is the slowdown, lower is
// better; for throughputs it is the fraction of native speed, higher is
// better, and reads "0.62x native":
//
//	benchmark                             native        ptrace           ratio
//	getpid (ns/call)                        85.1        2101.3           24.7x
//	busybox true (ms, median)                0.9          12.3           13.7x
//	read 256 MiB (MB/s)                  24902.7       15439.7    0.62x native
//	stat 10,000 files (ms)                  36.2        1869.0           51.6x
//
// The programs and files the benchmarks need (C programs, a 256 MiB file, a
// tree of 10,000 small files) are made once in a host temporary directory, bound
// read-only into each sandbox at the same path, and removed on exit, also on
// an interrupt.
//
// Usage, from the repository root (make bench does this after make build):
//
//	go run ./test/bench -sbx bin/sbx [-platforms ptrace,seccomp] [-iterations N] [-runs N]
//
// To add a row, add an entry to benchmarks below: a name and a unit, the
// native command, the sandboxed command (sbxRun of the native one, or
// sbxRunTmp if it uses what prepare made), and how a command is measured
// (selfReported, bestOf, medianOf, wallMedian or wallMedianOf). A benchmark that needs a
// program built or a file present does that in prepare, which runs for every
// row before anything is measured; prepare returns a skipError if the row
// cannot run on this machine but the others can.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed c/getpid.c
var getpidSource []byte

//go:embed c/fault.c
var faultSource []byte

//go:embed c/read.c
var readSource []byte

//go:embed c/stat.c
var statSource []byte

//go:embed c/fork.c
var forkSource []byte

//go:embed c/pipe.c
var pipeSource []byte

//go:embed c/futex.c
var futexSource []byte

const (
	bash    = "/bin/bash"
	busybox = "/bin/busybox"
	python3 = "/usr/bin/python3"
	// trueBin is dynamically linked on Debian, so its row includes ld.so.
	trueBin = "/bin/true"
)

// The read benchmark's file: readFileMiB MiB in a file of e.tmp.
const (
	readFileName = "read.dat"
	readFileMiB  = 256
)

// The stat benchmark's tree: treeDirs directories of treeFiles files each,
// under a directory of e.tmp.
const (
	treeName  = "tree"
	treeDirs  = 100
	treeFiles = 100
)

// selfReportedRuns is how many times a program that measures itself runs
// (best of in the read row, median of in the others), and a command runs
// in the bash row (median of). On a machine whose speed drifts by tens of
// percent within minutes, one run of a few seconds is at its mercy.
const selfReportedRuns = 3

// forkIterations is how many fork+exit+wait loops the fork row's program
// runs, and pingPongRoundTrips how many round trips the pipe and futex rows'
// programs make: a few seconds in all under sbx on a slow machine.
const (
	forkIterations     = 100
	pingPongRoundTrips = 2000
)

// faultPages is how many fresh pages the page fault row's program touches
// (64 MiB).
const faultPages = 16384

// bashLoops is how many times the bash row's script runs trueBin, one fork
// and exec each; bashScript is that script (seq is looked up along $PATH).
const bashLoops = 100

var bashScript = fmt.Sprintf("for i in $(seq %d); do %s; done", bashLoops, trueBin)

// warmups is how many times a wall-time command runs before it is timed.
const warmups = 2

// env is what the benchmarks share: flags and the programs prepare built.
type env struct {
	sbx        string // absolute path of the sbx binary
	iterations int    // getpid loop iterations
	runs       int    // timed runs of each wall-time command
	timeout    time.Duration
	ctx        context.Context   // canceled on SIGINT or SIGTERM
	tmp        string            // scratch directory, removed on exit
	bins       map[string]string // programs built by prepare, by name
}

// A benchmark is one row of the table.
type benchmark struct {
	name string // what is measured, e.g. "getpid"
	unit string // unit of the measurement, e.g. "ns/call"
	// prepare, if set, checks what the benchmark needs and builds its
	// programs. It runs for all benchmarks before any is measured.
	prepare func(e *env) error
	// native and sandboxed return the argv to measure natively and under
	// the sbx platform.
	native    func(e *env) []string
	sandboxed func(e *env, platform string) []string
	// measure runs argv and returns its cost (or throughput) in unit.
	measure func(e *env, argv []string) (float64, error)
	// throughput is set if higher values are better (e.g. MB/s), so the
	// ratio reads as a fraction of native speed.
	throughput bool
	// skipped, set when prepare returned a skipError, says why the row is
	// not measured.
	skipped string
}

// A skipError from prepare skips its row, with the error as the note.
type skipError struct{ reason string }

func (s *skipError) Error() string { return s.reason }

var benchmarks = []benchmark{
	{
		name:    "getpid",
		unit:    "ns/call",
		prepare: buildC("getpid", getpidSource),
		native: func(e *env) []string {
			return []string{e.bins["getpid"], strconv.Itoa(e.iterations)}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRunTmp(e, platform, e.bins["getpid"], strconv.Itoa(e.iterations))
		},
		measure: medianOf(selfReportedRuns),
	},
	{
		name:    "page fault",
		unit:    "ns/page",
		prepare: buildC("fault", faultSource),
		native: func(e *env) []string {
			return []string{e.bins["fault"], strconv.Itoa(faultPages)}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRunTmp(e, platform, e.bins["fault"], strconv.Itoa(faultPages))
		},
		measure: medianOf(selfReportedRuns),
	},
	{
		name:    "busybox true",
		unit:    "ms, median",
		prepare: needExecutable(busybox, "install busybox-static (make deps)"),
		native: func(e *env) []string {
			return []string{busybox, "true"}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRun(e, platform, busybox, "true")
		},
		measure: wallMedian,
	},
	{
		name:    fmt.Sprintf("read %d MiB", readFileMiB),
		unit:    "MB/s",
		prepare: all(buildC("read", readSource), makeReadFile),
		native: func(e *env) []string {
			return []string{e.bins["read"], filepath.Join(e.tmp, readFileName)}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRunTmp(e, platform, e.bins["read"], filepath.Join(e.tmp, readFileName))
		},
		measure:    bestOf(selfReportedRuns),
		throughput: true,
	},
	{
		name:    fmt.Sprintf("stat %s files", thousands(treeDirs*treeFiles)),
		unit:    "ms",
		prepare: all(buildC("stat", statSource), makeTree),
		native: func(e *env) []string {
			return []string{e.bins["stat"], filepath.Join(e.tmp, treeName), strconv.Itoa(treeDirs * treeFiles)}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRunTmp(e, platform, e.bins["stat"], filepath.Join(e.tmp, treeName), strconv.Itoa(treeDirs*treeFiles))
		},
		measure: medianOf(selfReportedRuns),
	},
	{
		name:    "python3 -c pass",
		unit:    "ms, median",
		prepare: optionalExecutable(python3, "install python3 to measure it"),
		native: func(e *env) []string {
			return []string{python3, "-c", "pass"}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRun(e, platform, python3, "-c", "pass")
		},
		measure: wallMedian,
	},
	{
		name:    "sbx run " + trueBin,
		unit:    "ms, median",
		prepare: needExecutable(trueBin, "install coreutils"),
		native: func(e *env) []string {
			return []string{trueBin}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRun(e, platform, trueBin)
		},
		measure: wallMedian,
	},
	{
		name:    "fork+exit+wait",
		unit:    "us/iter",
		prepare: buildC("fork", forkSource),
		native: func(e *env) []string {
			return []string{e.bins["fork"], strconv.Itoa(forkIterations)}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRunTmp(e, platform, e.bins["fork"], strconv.Itoa(forkIterations))
		},
		measure: medianOf(selfReportedRuns),
	},
	{
		name:    "pipe ping-pong",
		unit:    "us/round trip",
		prepare: buildC("pipe", pipeSource),
		native: func(e *env) []string {
			return []string{e.bins["pipe"], strconv.Itoa(pingPongRoundTrips)}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRunTmp(e, platform, e.bins["pipe"], strconv.Itoa(pingPongRoundTrips))
		},
		measure: medianOf(selfReportedRuns),
	},
	{
		name:    "futex ping-pong",
		unit:    "us/round trip",
		prepare: buildC("futex", futexSource, "-pthread"),
		native: func(e *env) []string {
			return []string{e.bins["futex"], strconv.Itoa(pingPongRoundTrips)}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRunTmp(e, platform, e.bins["futex"], strconv.Itoa(pingPongRoundTrips))
		},
		measure: medianOf(selfReportedRuns),
	},
	{
		name: fmt.Sprintf("bash %d x %s", bashLoops, trueBin),
		unit: "ms",
		prepare: all(
			needExecutable(bash, "install bash"),
			needExecutable(trueBin, "install coreutils"),
			needInPath("seq", "install coreutils"),
		),
		native: func(e *env) []string {
			return []string{bash, "-c", bashScript}
		},
		sandboxed: func(e *env, platform string) []string {
			return sbxRun(e, platform, bash, "-c", bashScript)
		},
		// Each run under sbx takes seconds, so three, and no warm-up:
		// the native runs, first, bring the files into the page cache.
		measure: wallMedianOf(selfReportedRuns),
	},
}

func (b *benchmark) label() string { return b.name + " (" + b.unit + ")" }

// sbxRun returns the argv that runs argv in a new sandbox on platform.
func sbxRun(e *env, platform string, argv ...string) []string {
	return append([]string{e.sbx, "run", "--platform=" + platform}, argv...)
}

// sbxRunTmp is sbxRun with e.tmp bound read-only at the same path in the
// sandbox, for programs and files made by prepare: the sandbox's /tmp is its
// own, so the host's temporary directory is not visible otherwise.
func sbxRunTmp(e *env, platform string, argv ...string) []string {
	return append([]string{e.sbx, "run", "--platform=" + platform, "-v", e.tmp + ":" + e.tmp + ":ro"}, argv...)
}

// all returns a prepare function that runs each of prepares in turn.
func all(prepares ...func(e *env) error) func(e *env) error {
	return func(e *env) error {
		for _, p := range prepares {
			if err := p(e); err != nil {
				return err
			}
		}
		return nil
	}
}

// makeReadFile writes the read benchmark's file, readFileMiB MiB of
// non-zero bytes (so no file system stores it sparse).
func makeReadFile(e *env) error {
	f, err := os.Create(filepath.Join(e.tmp, readFileName))
	if err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for i := range readFileMiB {
		for j := range chunk {
			chunk[j] = byte(i+j) | 1
		}
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// makeTree makes the stat benchmark's tree: treeDirs directories of
// treeFiles small files each.
func makeTree(e *env) error {
	root := filepath.Join(e.tmp, treeName)
	for d := range treeDirs {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for f := range treeFiles {
			name := fmt.Sprintf("f%03d", f)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(name+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// thousands formats n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// buildC returns a prepare function that compiles source, a C program, with
// gcc -O2 -static and flags (such as -pthread) into e.tmp, and records it in
// e.bins[name].
func buildC(name string, source []byte, flags ...string) func(e *env) error {
	return func(e *env) error {
		if _, err := exec.LookPath("gcc"); err != nil {
			return fmt.Errorf("gcc not found in $PATH; it is needed to build the %s benchmark (install gcc and libc6-dev, or run make deps)", name)
		}
		src := filepath.Join(e.tmp, name+".c")
		if err := os.WriteFile(src, source, 0o644); err != nil {
			return err
		}
		bin := filepath.Join(e.tmp, name)
		argv := append([]string{"gcc", "-O2", "-static"}, flags...)
		if _, err := run(e, append(argv, "-o", bin, src)); err != nil {
			return fmt.Errorf("building %s: %w", name, err)
		}
		e.bins[name] = bin
		return nil
	}
}

// needExecutable returns a prepare function that checks path is an
// executable regular file, suggesting hint if it is not.
func needExecutable(path, hint string) func(e *env) error {
	return func(*env) error {
		return checkExecutable(path, hint)
	}
}

// optionalExecutable returns a prepare function that skips its row if path
// is not an executable regular file, suggesting hint.
func optionalExecutable(path, hint string) func(e *env) error {
	return func(*env) error {
		if err := checkExecutable(path, hint); err != nil {
			return &skipError{err.Error()}
		}
		return nil
	}
}

// needInPath returns a prepare function that checks name is found along
// $PATH, suggesting hint if it is not.
func needInPath(name, hint string) func(e *env) error {
	return func(*env) error {
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Errorf("%s not found in $PATH: %s", name, hint)
		}
		return nil
	}
}

func checkExecutable(path, hint string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s not found: %s", path, hint)
	case err != nil:
		return fmt.Errorf("%v: %s", err, hint)
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not an executable file: %s", path, hint)
	}
	return nil
}

// selfReported runs argv once and returns the number at the start of the
// last line of its standard output (for getpid, "<ns> ns/call"; for read,
// "<MB/s> MB/s <bytes> bytes"; for stat, "<ms> ms <files> files"; for fork,
// "<us> us/iter"; for pipe and futex, "<us> us/round trip").
func selfReported(e *env, argv []string) (float64, error) {
	out, err := run(e, argv)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if len(fields) == 0 {
		return 0, fmt.Errorf("%s: no result on standard output", quote(argv))
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("%s: cannot parse result %q: %v", quote(argv), lines[len(lines)-1], err)
	}
	return v, nil
}

// bestOf returns a measure function that runs argv n times and returns the
// highest self-reported result (for throughputs).
func bestOf(n int) func(e *env, argv []string) (float64, error) {
	return func(e *env, argv []string) (float64, error) {
		best := 0.0
		for range n {
			v, err := selfReported(e, argv)
			if err != nil {
				return 0, err
			}
			best = max(best, v)
		}
		return best, nil
	}
}

// medianOf returns a measure function that runs argv n times and returns the
// median self-reported result.
func medianOf(n int) func(e *env, argv []string) (float64, error) {
	return func(e *env, argv []string) (float64, error) {
		vs := make([]float64, 0, n)
		for range n {
			v, err := selfReported(e, argv)
			if err != nil {
				return 0, err
			}
			vs = append(vs, v)
		}
		return median(vs), nil
	}
}

// wallMedian runs argv warmups times untimed, then e.runs times timed, and
// returns the median wall time in milliseconds.
func wallMedian(e *env, argv []string) (float64, error) {
	return wallTimes(e, argv, warmups, e.runs)
}

// wallMedianOf returns a measure function that runs argv n times timed, with
// no warm-up, and returns the median wall time in milliseconds (for commands
// too slow to run e.runs times).
func wallMedianOf(n int) func(e *env, argv []string) (float64, error) {
	return func(e *env, argv []string) (float64, error) {
		return wallTimes(e, argv, 0, n)
	}
}

// wallTimes runs argv warm times untimed, then n times timed, and returns the
// median wall time in milliseconds.
func wallTimes(e *env, argv []string, warm, n int) (float64, error) {
	times := make([]float64, 0, n)
	for i := range warm + n {
		start := time.Now()
		if _, err := run(e, argv); err != nil {
			return 0, err
		}
		if i >= warm {
			times = append(times, float64(time.Since(start))/float64(time.Millisecond))
		}
	}
	return median(times), nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// run runs argv with no input and returns its standard output. If it fails,
// the error holds the command line, how it ended, and all it printed.
func run(e *env, argv []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if e.ctx.Err() != nil {
		return nil, errors.New("interrupted")
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v (see -timeout)", e.timeout)
	}
	if err != nil {
		var b strings.Builder
		fmt.Fprintf(&b, "command failed: %s: %v", quote(argv), err)
		for _, s := range []struct {
			name string
			buf  *bytes.Buffer
		}{{"stdout", &stdout}, {"stderr", &stderr}} {
			if s.buf.Len() == 0 {
				fmt.Fprintf(&b, "\n--- %s: (empty)", s.name)
			} else {
				fmt.Fprintf(&b, "\n--- %s:\n%s", s.name, strings.TrimRight(s.buf.String(), "\n"))
			}
		}
		return nil, errors.New(b.String())
	}
	return stdout.Bytes(), nil
}

func quote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$`") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// table prints rows aligned: the label left-justified, numbers right-justified.
type table struct {
	labelWidth int
	colWidths  []int
}

func (t *table) row(label string, cells []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-*s", t.labelWidth, label)
	for i, c := range cells {
		fmt.Fprintf(&b, "%*s", t.colWidths[i], c)
	}
	fmt.Println(strings.TrimRight(b.String(), " "))
}

func parsePlatforms(s string) ([]string, error) {
	var ps []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if slices.Contains(ps, p) {
			return nil, fmt.Errorf("-platforms: %q given twice", p)
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil, errors.New("-platforms: no platform given")
	}
	return ps, nil
}

func main() {
	if err := benchMain(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func benchMain() error {
	sbx := flag.String("sbx", "bin/sbx", "path of the sbx `binary`")
	platformsFlag := flag.String("platforms", "ptrace,seccomp", "comma-separated sbx `platforms`, one column each")
	iterations := flag.Int("iterations", 300000, "getpid loop iterations (each of the row's runs)")
	runs := flag.Int("runs", 20, "timed runs of each wall-time benchmark, after 2 warm-ups")
	timeout := flag.Duration("timeout", 3*time.Minute, "limit on each command's run time")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if *iterations <= 0 || *runs <= 0 || *timeout <= 0 {
		return errors.New("-iterations, -runs and -timeout must be positive")
	}
	platforms, err := parsePlatforms(*platformsFlag)
	if err != nil {
		return err
	}

	if err := checkExecutable(*sbx, "build it with make build, or pass -sbx PATH"); err != nil {
		return fmt.Errorf("sbx binary: %w", err)
	}
	sbxPath, err := filepath.Abs(*sbx)
	if err != nil {
		return err
	}
	// An interrupt cancels ctx, which kills the running command, so that
	// benchMain returns and removes tmp and the large files in it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "sbx-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	e := &env{
		sbx:        sbxPath,
		iterations: *iterations,
		runs:       *runs,
		timeout:    *timeout,
		ctx:        ctx,
		tmp:        tmp,
		bins:       map[string]string{},
	}

	for i := range benchmarks {
		b := &benchmarks[i]
		if b.prepare == nil {
			continue
		}
		var skip *skipError
		if err := b.prepare(e); errors.As(err, &skip) {
			b.skipped = skip.reason
		} else if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
	}

	// Columns: native, one per platform, then one ratio per platform.
	t := &table{labelWidth: len("benchmark")}
	for i := range benchmarks {
		t.labelWidth = max(t.labelWidth, len(benchmarks[i].label()))
	}
	header := []string{"native"}
	header = append(header, platforms...)
	for _, p := range platforms {
		if len(platforms) == 1 {
			header = append(header, "ratio")
		} else {
			header = append(header, p+" ratio")
		}
	}
	for i, h := range header {
		w := 14 // room for a value such as 1234567.8
		if i > len(platforms) {
			w = 16 // room for a ratio such as 1234.5x or 0.62x native
		}
		t.colWidths = append(t.colWidths, max(w, len(h)+4))
	}
	t.row("benchmark", header)

	// Rows are printed as they finish, so a slow run shows progress.
	for i := range benchmarks {
		b := &benchmarks[i]
		if b.skipped != "" {
			fmt.Printf("  %-*s  (skipped: %s)\n", t.labelWidth, b.label(), b.skipped)
			continue
		}
		native, err := b.measure(e, b.native(e))
		if err != nil {
			return fmt.Errorf("%s, native: %w", b.name, err)
		}
		values := []float64{native}
		for _, p := range platforms {
			v, err := b.measure(e, b.sandboxed(e, p))
			if err != nil {
				return fmt.Errorf("%s, %s: %w", b.name, p, err)
			}
			values = append(values, v)
		}
		cells := make([]string, 0, len(header))
		for _, v := range values {
			cells = append(cells, strconv.FormatFloat(v, 'f', 1, 64))
		}
		for _, v := range values[1:] {
			switch {
			case native <= 0:
				cells = append(cells, "n/a")
			case b.throughput:
				// A fraction of native speed: "0.62x native".
				cells = append(cells, strconv.FormatFloat(v/native, 'f', 2, 64)+"x native")
			default:
				// A slowdown: "24.7x" as long as native.
				cells = append(cells, strconv.FormatFloat(v/native, 'f', 1, 64)+"x")
			}
		}
		t.row(b.label(), cells)
	}
	return nil
}
