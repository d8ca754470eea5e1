// Package syscalls is the x86-64 Linux system call table: it maps each number
// to a handler, decodes the arguments, writes the result back, counts and logs
// unimplemented calls, and prints strace-style lines when asked.
//
// This is the only package where a syscall number means something. Handlers
// are grouped by area (sys_file.go, sys_mmap.go, ...), each citing the man page
// it follows and where it departs from Linux. Every number without a handler
// returns ENOSYS; no handler pretends to succeed.
//
// It may import the sentry and fs layers, never runsc/.
package syscalls

import (
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/sentry/arch"
	"sbx/sentry/kernel"
)

// args are a syscall's six argument registers.
type args [6]uintptr

// handler serves one syscall. It returns the result, or an error that is a
// unix.Errno.
type handler func(t *kernel.Task, a args) (uintptr, error)

// entry is one row of the table.
type entry struct {
	fn handler
	// format says how strace shows the arguments, one byte per argument
	// (see strace.go); ret says how it shows the result.
	format string
	ret    byte
	// silentENOSYS marks calls that return ENOSYS by design (rseq), which
	// are not logged as missing.
	silentENOSYS bool
}

const tableSize = 512

// Table is the syscall table of one sandbox. It implements
// kernel.SyscallHandler.
type Table struct {
	entries [tableSize]entry
	log     *slog.Logger
	// strace, when non-nil, receives one line per syscall.
	strace io.Writer

	mu sync.Mutex // guards missing and straceMu use
	// missing counts calls to unimplemented syscalls by name.
	missing map[string]int
}

// Options configure a Table.
type Options struct {
	Log *slog.Logger
	// Strace receives strace-style lines; nil disables tracing.
	Strace io.Writer
}

// New returns the table with every implemented syscall registered.
func New(o Options) *Table {
	t := &Table{log: o.Log, strace: o.Strace, missing: make(map[string]int)}
	if t.log == nil {
		t.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, reg := range []func(*Table){registerFile, registerMmap, registerProcess, registerTime, registerSignal, registerFutex, registerFS, registerFileOps, registerExec, registerCred, registerPipe, registerTask, registerPoll, registerTimer, registerSocket, registerShm, registerSched} {
		reg(t)
	}
	return t
}

// add registers a handler. format and ret describe its arguments for strace.
func (tbl *Table) add(nr uintptr, fn handler, format string, ret byte) {
	if tbl.entries[nr].fn != nil {
		panic(fmt.Sprintf("syscall %d registered twice", nr))
	}
	tbl.entries[nr] = entry{fn: fn, format: format, ret: ret}
}

// Name returns the syscall's name, or "syscall_N".
func Name(nr uintptr) string {
	if n, ok := names[nr]; ok {
		return n
	}
	return fmt.Sprintf("syscall_%d", nr)
}

// Syscall implements kernel.SyscallHandler.
func (tbl *Table) Syscall(t *kernel.Task) {
	vfs.BeginSyscall()
	regs := t.Regs()
	nr := uintptr(regs.Orig_rax)
	a := args(arch.SyscallArgs(regs))
	var e *entry
	if nr < tableSize {
		e = &tbl.entries[nr]
	}
	var (
		ret uintptr
		err error
	)
	var pre string
	if tbl.strace != nil && e != nil && e.fn != nil {
		// Arguments are shown before the call, as they were passed.
		pre = formatArgs(t.MemoryManager(), nr, e, a, false, 0)
	}
	if e == nil || e.fn == nil {
		err = unix.ENOSYS
		if e == nil || !e.silentENOSYS {
			tbl.countMissing(nr)
		}
	} else {
		ret, err = e.fn(t, a)
	}
	if err != nil {
		errno, ok := err.(unix.Errno)
		if !ok {
			tbl.log.Error("handler returned a non-errno error", "syscall", Name(nr), "err", err)
			errno = unix.EIO
		}
		regs.Rax = uint64(-int64(errno))
	} else {
		regs.Rax = uint64(ret)
	}
	if tbl.strace != nil {
		tbl.traceLine(t, nr, e, a, pre, ret, err)
	}
}

func (tbl *Table) countMissing(nr uintptr) {
	name := Name(nr)
	tbl.mu.Lock()
	tbl.missing[name]++
	first := tbl.missing[name] == 1
	tbl.mu.Unlock()
	if first {
		tbl.log.Info("unimplemented syscall, returning ENOSYS", "syscall", name, "nr", nr)
	}
}

// Missing returns the unimplemented syscalls called so far, with counts.
func (tbl *Table) Missing() map[string]int {
	tbl.mu.Lock()
	defer tbl.mu.Unlock()
	out := make(map[string]int, len(tbl.missing))
	for k, v := range tbl.missing {
		out[k] = v
	}
	return out
}

// LogSummary logs the unimplemented syscalls with their counts.
func (tbl *Table) LogSummary() {
	m := tbl.Missing()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		tbl.log.Info("unimplemented syscall summary", "syscall", k, "calls", m[k])
	}
}

// Implemented reports whether nr has a handler.
func (tbl *Table) Implemented(nr uintptr) bool {
	return nr < tableSize && tbl.entries[nr].fn != nil
}
