// Package loader loads an x86-64 ELF executable into a fresh address space and
// builds the initial stack (argv, envp, auxv) per the System V x86-64 ABI.
//
// The executable arrives as an open file (io.ReaderAt): the loader never opens
// a host path. Static executables (ET_EXEC) load at their link addresses;
// position-independent ones (ET_DYN) at a randomized base, as Linux does with
// ASLR. A dynamic executable's ELF interpreter is opened through
// Options.OpenInterp (the sandbox's VFS) and loaded beside it.
//
// Segments are mapped privately from the file's pages when it has them
// (Options.Mappable), else copied into anonymous memory; the result is the
// same for the program.
//
// It must not import the fs, syscalls or runsc layers.
package loader

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/platform"
	"sbx/sentry/arch"
	"sbx/sentry/mm"
)

// ErrNoExec wraps every reason a file cannot be executed as an ELF program;
// it corresponds to ENOEXEC.
var ErrNoExec = errors.New("exec format error")

// Auxiliary vector keys, from elf.h.
const (
	atNull          = 0
	atPhdr          = 3
	atPhent         = 4
	atPhnum         = 5
	atPagesz        = 6
	atBase          = 7
	atFlags         = 8
	atEntry         = 9
	atUID           = 11
	atEUID          = 12
	atGID           = 13
	atEGID          = 14
	atPlatform      = 15
	atHwcap         = 16
	atClktck        = 17
	atSecure        = 23
	atRandom        = 25
	atHwcap2        = 26
	atExecfn        = 31
	atMinsigstksz   = 51
	minSigStackSize = 2048
)

// Layout constants of the x86-64 Linux address space.
const (
	// etDynBase is where Linux puts a position-independent executable
	// (ELF_ET_DYN_BASE, 2/3 of TASK_SIZE, rounded).
	etDynBase = 0x555555554000
	// maxArgBytes bounds argv plus envp, as Linux's limit of a quarter of
	// the stack rlimit does for the default 8 MiB stack.
	maxArgBytes = 2 << 20
	// maxArgStrlen is MAX_ARG_STRLEN: one string, with its NUL, is at most
	// 32 pages.
	maxArgStrlen = 32 * 4096
)

// Image is a loaded program.
type Image struct {
	Entry      uintptr
	StackTop   uintptr // initial stack pointer
	Phdr       uintptr
	Brk        uintptr
	Auxv       []uint64 // key, value pairs, for /proc/[pid]/auxv
	Registers  platform.Registers
	ArgvStart  uintptr // [ArgvStart, ArgvEnd) holds the argv strings
	ArgvEnd    uintptr
	EnvvStart  uintptr
	EnvvEnd    uintptr
	ExecFn     string
	LoadBias   uintptr
	StackLimit uintptr
	// InterpBase is where the ELF interpreter was loaded (AT_BASE), or 0.
	InterpBase uintptr
}

// Credentials are the ids placed in the auxiliary vector.
type Credentials struct{ UID, EUID, GID, EGID uint32 }

// Options describe a program to load.
type Options struct {
	File io.ReaderAt
	// Mappable, if set, is File's contents as mappable pages: segments are
	// then mapped from it (copy on write) instead of copied.
	Mappable vfs.Mappable
	// OpenInterp opens the ELF interpreter a dynamic executable names
	// (through the sandbox's VFS); nil refuses dynamic executables.
	OpenInterp func(path string) (io.ReaderAt, vfs.Mappable, error)
	Path       string // AT_EXECFN
	Argv, Envv []string
	Creds      Credentials
	StackSize  uintptr // RLIMIT_STACK soft limit
}

func noexec(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNoExec, fmt.Sprintf(format, args...))
}

// interpreter returns the PT_INTERP path, or "".
func interpreter(f *File, r io.ReaderAt) (string, error) {
	for _, p := range f.Progs {
		if p.Type != ptInterp {
			continue
		}
		if p.Filesz < 2 || p.Filesz > 4096 {
			return "", noexec("bad PT_INTERP size %d", p.Filesz)
		}
		b := make([]byte, p.Filesz)
		if n, _ := r.ReadAt(b, int64(p.Off)); n < len(b) || b[len(b)-1] != 0 {
			return "", noexec("bad PT_INTERP")
		}
		return string(b[:len(b)-1]), nil
	}
	return "", nil
}

// span returns the page-aligned range of addresses the PT_LOAD segments
// cover (before any bias).
func span(f *File) (lo, hi uintptr) {
	lo = ^uintptr(0)
	for _, p := range f.Progs {
		if p.Type != ptLoad {
			continue
		}
		lo = min(lo, uintptr(p.Vaddr)&^(mm.PageSize-1))
		hi = max(hi, (uintptr(p.Vaddr+p.Memsz)+mm.PageSize-1)&^(mm.PageSize-1))
	}
	return lo, hi
}

// loadSegments maps f's PT_LOAD segments at bias and returns the end of the
// image and the address of its program headers.
func loadSegments(m *mm.MemoryManager, f *File, r io.ReaderAt, mp vfs.Mappable, name string, bias uintptr) (end, phdr uintptr, err error) {
	maxAddr := m.MaxAddress()
	var loads []Prog
	for _, p := range f.Progs {
		switch p.Type {
		case ptLoad:
			loads = append(loads, p)
		case ptPhdr:
			phdr = uintptr(p.Vaddr) + bias
		}
	}
	if len(loads) == 0 {
		return 0, 0, noexec("no loadable segments")
	}
	for _, p := range loads {
		if p.Filesz > p.Memsz || p.Vaddr+p.Memsz < p.Vaddr || uintptr(p.Vaddr+p.Memsz)+bias > maxAddr {
			return 0, 0, noexec("bad segment at %#x", p.Vaddr)
		}
		if p.Vaddr%mm.PageSize != p.Off%mm.PageSize {
			return 0, 0, noexec("segment at %#x misaligned with its file offset", p.Vaddr)
		}
		va := uintptr(p.Vaddr) + bias
		start := va &^ (mm.PageSize - 1)
		segEnd := (va + uintptr(p.Memsz) + mm.PageSize - 1) &^ (mm.PageSize - 1)
		if segEnd == start {
			continue
		}
		head := va - start
		fileEnd := (va + uintptr(p.Filesz) + mm.PageSize - 1) &^ (mm.PageSize - 1)
		if p.Filesz == 0 {
			fileEnd = start
		}
		if mp != nil && fileEnd > start {
			// The file part, mapped privately from the file's pages.
			if _, err := m.MMap(mm.MMapOpts{Addr: start, Length: fileEnd - start, Perms: perms(p.Flags), Private: true,
				Fixed: true, Mappable: mp, Offset: int64(p.Off) - int64(head), Name: name}); err != nil {
				return 0, 0, noexec("cannot map segment at %#x: %v", va, err)
			}
			// Zero what follows the file data in its last page (bss).
			if tail := fileEnd - (va + uintptr(p.Filesz)); tail > 0 && p.Memsz > p.Filesz {
				if _, err := m.WriteForce(va+uintptr(p.Filesz), make([]byte, tail)); err != nil {
					return 0, 0, fmt.Errorf("zeroing bss: %w", err)
				}
			}
			if segEnd > fileEnd {
				if _, err := m.MMap(mm.MMapOpts{Addr: fileEnd, Length: segEnd - fileEnd, Perms: perms(p.Flags), Private: true, Fixed: true}); err != nil {
					return 0, 0, noexec("cannot map bss at %#x: %v", fileEnd, err)
				}
			}
		} else {
			if _, err := m.MMap(mm.MMapOpts{Addr: start, Length: segEnd - start, Perms: perms(p.Flags), Private: true, Fixed: true, Name: name}); err != nil {
				return 0, 0, noexec("cannot map segment at %#x: %v", va, err)
			}
			// The file's bytes from the page boundary, as a file mapping
			// would show.
			data := make([]byte, uintptr(p.Filesz)+head)
			if n, err := r.ReadAt(data, int64(p.Off)-int64(head)); n < len(data) {
				return 0, 0, noexec("short segment at %#x: %v", va, err)
			}
			if _, err := m.WriteForce(start, data); err != nil {
				return 0, 0, fmt.Errorf("writing segment: %w", err)
			}
		}
		if segEnd > end {
			end = segEnd
		}
		// Without PT_PHDR, the headers are found where the first segment
		// maps the file's start.
		if phdr == 0 && p.Off == 0 {
			phdr = va + uintptr(f.Phoff)
		}
	}
	return end, phdr, nil
}

func perms(flags uint32) platform.Access {
	return platform.Access{Read: flags&pfR != 0, Write: flags&pfW != 0, Execute: flags&pfX != 0}
}

// Load loads the program into m, which must be empty.
func Load(m *mm.MemoryManager, o Options) (*Image, error) {
	f, err := Check(o.File)
	if err != nil {
		return nil, err
	}
	interpPath, err := interpreter(f, o.File)
	if err != nil {
		return nil, err
	}
	if interpPath != "" && o.OpenInterp == nil {
		return nil, noexec("dynamically linked (needs an ELF interpreter): not supported here")
	}

	// Stack: its top is randomized below the platform's reserved area; the
	// mmap area starts below the stack's maximum extent plus a gap.
	stackSize := o.StackSize
	if stackSize < 128<<10 || stackSize > 1<<30 {
		stackSize = 8 << 20
	}
	stackTop := (m.MaxAddress() - mm.PageSize - uintptr(mrand.Uint64N(1<<22))*mm.PageSize) &^ 0xf
	stackTop &^= mm.PageSize - 1
	stackBottom := stackTop - stackSize
	if _, err := m.MMap(mm.MMapOpts{Addr: stackBottom, Length: stackSize, Perms: platform.Access{Read: true, Write: true},
		Private: true, Fixed: true, GrowsDown: true, Name: "[stack]"}); err != nil {
		return nil, fmt.Errorf("mapping stack: %w", err)
	}
	gap := max(stackSize, 128<<20)
	m.SetMmapBase(stackBottom - gap - uintptr(mrand.Uint64N(1<<28))*mm.PageSize)

	var bias uintptr
	if f.Type == etDyn {
		bias = etDynBase + uintptr(mrand.Uint64N(1<<28))*mm.PageSize
	}
	end, phdr, err := loadSegments(m, f, o.File, o.Mappable, o.Path, bias)
	if err != nil {
		return nil, err
	}
	entry := uintptr(f.Entry) + bias
	mainEntry := entry
	var interpBase uintptr
	if interpPath != "" {
		r, mp, err := o.OpenInterp(interpPath)
		if err != nil {
			return nil, fmt.Errorf("ELF interpreter %s: %w", interpPath, err)
		}
		inf, err := Check(r)
		if err != nil {
			return nil, fmt.Errorf("ELF interpreter %s: %w", interpPath, err)
		}
		if p, _ := interpreter(inf, r); p != "" {
			return nil, noexec("ELF interpreter %s itself needs an interpreter", interpPath)
		}
		if inf.Type != etDyn {
			return nil, noexec("ELF interpreter %s is not position independent", interpPath)
		}
		lo, hi := span(inf)
		base, err := m.MMap(mm.MMapOpts{Length: hi - lo, Private: true})
		if err != nil {
			return nil, fmt.Errorf("reserving space for %s: %w", interpPath, err)
		}
		interpBase = base - lo
		if _, _, err := loadSegments(m, inf, r, mp, interpPath, interpBase); err != nil {
			return nil, err
		}
		entry = uintptr(inf.Entry) + interpBase
	}

	// The heap starts at a random page within 32 MiB after the image.
	brk := end + uintptr(mrand.Uint64N(1<<13))*mm.PageSize
	m.SetBrk(brk)

	img := &Image{Entry: mainEntry, Phdr: phdr, Brk: brk, ExecFn: o.Path, LoadBias: bias, StackLimit: stackBottom, InterpBase: interpBase}
	sp, err := buildStack(m, stackTop, f, o, img)
	if err != nil {
		return nil, err
	}
	img.StackTop = sp
	img.Registers = arch.InitialRegisters(entry, sp)
	return img, nil
}

// stackWriter builds the stack downward from top.
type stackWriter struct {
	m   *mm.MemoryManager
	sp  uintptr
	err error
}

func (s *stackWriter) push(b []byte) uintptr {
	s.sp -= uintptr(len(b))
	if s.err == nil {
		_, s.err = s.m.CopyOut(s.sp, b)
	}
	return s.sp
}

func (s *stackWriter) pushString(str string) uintptr {
	return s.push(append([]byte(str), 0))
}

func buildStack(m *mm.MemoryManager, top uintptr, f *File, o Options, img *Image) (uintptr, error) {
	total := 0
	for _, a := range append(o.Argv[:len(o.Argv):len(o.Argv)], o.Envv...) {
		if len(a)+1 > maxArgStrlen {
			return 0, unix.E2BIG
		}
		total += len(a) + 1 + 8 // the string and its pointer
	}
	if total > maxArgBytes {
		return 0, unix.E2BIG
	}
	s := &stackWriter{m: m, sp: top}
	execfn := s.pushString(o.Path)
	envAddrs := make([]uintptr, len(o.Envv))
	img.EnvvEnd = s.sp
	for i := len(o.Envv) - 1; i >= 0; i-- {
		envAddrs[i] = s.pushString(o.Envv[i])
	}
	img.EnvvStart = s.sp
	argAddrs := make([]uintptr, len(o.Argv))
	img.ArgvEnd = s.sp
	for i := len(o.Argv) - 1; i >= 0; i-- {
		argAddrs[i] = s.pushString(o.Argv[i])
	}
	img.ArgvStart = s.sp
	platformStr := s.pushString("x86_64")
	var rnd [16]byte
	rand.Read(rnd[:])
	random := s.push(rnd[:])
	s.sp &^= 0xf

	auxv := []uint64{
		atPhdr, uint64(img.Phdr),
		atPhent, uint64(56),
		atPhnum, uint64(len(f.Progs)),
		atPagesz, mm.PageSize,
		atBase, uint64(img.InterpBase),
		atFlags, 0,
		atEntry, uint64(img.Entry),
		atUID, uint64(o.Creds.UID),
		atEUID, uint64(o.Creds.EUID),
		atGID, uint64(o.Creds.GID),
		atEGID, uint64(o.Creds.EGID),
		atSecure, 0,
		atClktck, 100,
		atHwcap, arch.HWCap(),
		atHwcap2, arch.HWCap2(),
		atPlatform, uint64(platformStr),
		atRandom, uint64(random),
		atExecfn, uint64(execfn),
		atMinsigstksz, minSigStackSize,
		atNull, 0,
	}
	img.Auxv = auxv
	// argc, argv..., NULL, envp..., NULL, auxv: 8-byte words; the final
	// stack pointer (at argc) must be 16-byte aligned.
	words := 1 + len(argAddrs) + 1 + len(envAddrs) + 1 + len(auxv)
	if words%2 == 1 {
		s.sp -= 8
	}
	buf := make([]byte, 0, words*8)
	put := func(v uint64) { buf = binary.LittleEndian.AppendUint64(buf, v) }
	put(uint64(len(o.Argv)))
	for _, a := range argAddrs {
		put(uint64(a))
	}
	put(0)
	for _, e := range envAddrs {
		put(uint64(e))
	}
	put(0)
	for _, v := range auxv {
		put(v)
	}
	sp := s.push(buf)
	if s.err != nil {
		return 0, fmt.Errorf("building stack: %w", s.err)
	}
	return sp, nil
}
