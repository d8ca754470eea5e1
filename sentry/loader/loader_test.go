package loader_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/platform"
	"sbx/sentry/loader"
	"sbx/sentry/memfile"
	"sbx/sentry/mm"
)

const (
	pageSize = 4096
	maxUser  = uintptr(0x7ffffffff000 - 4096)
)

// Auxiliary vector keys, from <elf.h>.
const (
	atNull     = 0
	atPhdr     = 3
	atPhent    = 4
	atPhnum    = 5
	atPagesz   = 6
	atBase     = 7
	atEntry    = 9
	atUID      = 11
	atEUID     = 12
	atGID      = 13
	atEGID     = 14
	atPlatform = 15
	atSecure   = 23
	atRandom   = 25
	atExecfn   = 31
)

// ---------------------------------------------------------------------------
// Fake platform: records calls, maps nothing.

type fakeAS struct {
	mu   sync.Mutex
	maps int
}

func (a *fakeAS) MapFile(addr, length uintptr, off int64, access platform.Access) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maps++
	return nil
}
func (a *fakeAS) Unmap(addr, length uintptr) error { return nil }
func (a *fakeAS) Release()                         {}

type fakeContext struct{}

func (fakeContext) Switch(platform.AddressSpace, *platform.Registers) (platform.Event, error) {
	return platform.Event{Kind: platform.EventInterrupted}, nil
}
func (fakeContext) Interrupt()               {}
func (fakeContext) CPUTime() time.Duration   { return 0 }
func (fakeContext) FPState() ([]byte, error) { return nil, nil }
func (fakeContext) SetFPState([]byte) error  { return nil }
func (fakeContext) Release()                 {}

type fakePlatform struct{}

func (fakePlatform) NewAddressSpace() (platform.AddressSpace, error) { return &fakeAS{}, nil }
func (fakePlatform) NewContext() (platform.Context, error)           { return fakeContext{}, nil }
func (fakePlatform) MaxUserAddress() uintptr                         { return maxUser }

func newMM(t *testing.T) *mm.MemoryManager {
	t.Helper()
	mf, err := memfile.New(64 << 20)
	require.NoError(t, err)
	t.Cleanup(mf.Release)
	m, err := mm.New(fakePlatform{}, mf)
	require.NoError(t, err)
	t.Cleanup(m.Release)
	return m
}

// ---------------------------------------------------------------------------
// Building test programs.

const testProgram = `
#include <stdio.h>
int data_var = 0x12345678;
char big_bss[200000];
int main(int argc, char **argv) {
	printf("%d %s\n", data_var, argv[0]);
	return big_bss[argc];
}
`

// build compiles testProgram with gcc and the given flags.
func build(t *testing.T, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatal("gcc is needed to build the test programs: run make deps")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "prog.c")
	require.NoError(t, os.WriteFile(src, []byte(testProgram), 0o644))
	out := filepath.Join(dir, "prog")
	args := append(append([]string{}, flags...), "-O1", "-o", out, src)
	cmd := exec.Command("gcc", args...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "gcc %v: %s", args, b)
	return out
}

type program struct {
	path string
	raw  []byte
	elf  *elf.File
}

func open(t *testing.T, path string) program {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	f, err := elf.NewFile(bytes.NewReader(raw))
	require.NoError(t, err)
	return program{path, raw, f}
}

func load(t *testing.T, m *mm.MemoryManager, p program, o loader.Options) (*loader.Image, error) {
	t.Helper()
	f, err := os.Open(p.path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	o.File = f
	return loader.Load(m, o)
}

// ---------------------------------------------------------------------------
// Reading the initial stack back.

type initialStack struct {
	argc      uint64
	argvPtrs  []uintptr
	argv      []string
	envp      []string
	auxv      [][2]uint64
	auxvByKey map[uint64]uint64
}

func word(t *testing.T, m *mm.MemoryManager, addr uintptr) uint64 {
	t.Helper()
	var b [8]byte
	_, err := m.CopyIn(addr, b[:])
	require.NoError(t, err, "reading word at %#x", addr)
	return binary.LittleEndian.Uint64(b[:])
}

func str(t *testing.T, m *mm.MemoryManager, addr uintptr) string {
	t.Helper()
	s, err := m.CopyInString(addr, 4<<20)
	require.NoError(t, err, "reading string at %#x", addr)
	return s
}

// readStack decodes the System V x86-64 initial process stack at sp:
// argc, argv[0..argc-1], NULL, envp..., NULL, auxv pairs ending with AT_NULL.
func readStack(t *testing.T, m *mm.MemoryManager, sp uintptr) initialStack {
	t.Helper()
	var s initialStack
	s.argc = word(t, m, sp)
	require.Less(t, s.argc, uint64(1<<20), "implausible argc")
	p := sp + 8
	for i := uint64(0); i < s.argc; i++ {
		a := uintptr(word(t, m, p))
		s.argvPtrs = append(s.argvPtrs, a)
		s.argv = append(s.argv, str(t, m, a))
		p += 8
	}
	require.Zero(t, word(t, m, p), "argv[argc] must be NULL")
	p += 8
	for {
		a := uintptr(word(t, m, p))
		p += 8
		if a == 0 {
			break
		}
		s.envp = append(s.envp, str(t, m, a))
		require.Less(t, len(s.envp), 1<<20)
	}
	s.auxvByKey = map[uint64]uint64{}
	for {
		k, v := word(t, m, p), word(t, m, p+8)
		p += 16
		s.auxv = append(s.auxv, [2]uint64{k, v})
		if k == atNull {
			break
		}
		_, dup := s.auxvByKey[k]
		require.False(t, dup, "auxv key %d appears twice", k)
		s.auxvByKey[k] = v
		require.Less(t, len(s.auxv), 100, "auxv not terminated by AT_NULL")
	}
	return s
}

func readMem(t *testing.T, m *mm.MemoryManager, addr uintptr, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	got, err := m.CopyIn(addr, b)
	require.NoError(t, err, "reading %d bytes at %#x", n, addr)
	require.Equal(t, n, got)
	return b
}

// imageEnd returns the end of the highest PT_LOAD segment, page-rounded.
func imageEnd(f *elf.File) uintptr {
	var end uintptr
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			end = max(end, uintptr(p.Vaddr+p.Memsz))
		}
	}
	return (end + pageSize - 1) &^ (pageSize - 1)
}

// checkImage verifies everything that follows from the ELF file itself and the
// x86-64 ABI, for a program loaded at bias.
func checkImage(t *testing.T, m *mm.MemoryManager, p program, img *loader.Image, bias uintptr, o loader.Options) initialStack {
	t.Helper()
	f := p.elf

	require.Equal(t, bias, img.LoadBias)
	require.Equal(t, uintptr(f.Entry)+bias, img.Entry)
	require.Equal(t, uint64(img.Entry), img.Registers.Rip)
	require.Equal(t, uint64(img.StackTop), img.Registers.Rsp)
	require.Zero(t, img.StackTop%16, "the ABI wants %%rsp 16-byte aligned at entry")

	// Segments hold the file's bytes; the rest of memsz (bss) is zero.
	for _, ph := range f.Progs {
		if ph.Type != elf.PT_LOAD {
			continue
		}
		va := uintptr(ph.Vaddr) + bias
		require.Equal(t, p.raw[ph.Off:ph.Off+ph.Filesz], readMem(t, m, va, int(ph.Filesz)), "segment at %#x", va)
		// As with a file mapping, the segment's first page shows the file
		// from the page boundary on.
		head := va % pageSize
		require.Equal(t, p.raw[ph.Off-uint64(head):ph.Off], readMem(t, m, va-head, int(head)), "page head of the segment at %#x", va)
		if ph.Memsz > ph.Filesz {
			bss := readMem(t, m, va+uintptr(ph.Filesz), int(ph.Memsz-ph.Filesz))
			require.Equal(t, make([]byte, len(bss)), bss, "bss of the segment at %#x is not zero", va)
		}
		// Permissions follow p_flags.
		_, err := m.CopyOut(va, []byte{p.raw[ph.Off]})
		if ph.Flags&elf.PF_W != 0 {
			require.NoError(t, err, "segment at %#x should be writable", va)
		} else {
			require.ErrorIs(t, err, unix.EFAULT, "segment at %#x should not be writable", va)
		}
	}
	// The initialised variable reads back through its symbol, when present.
	if syms, err := f.Symbols(); err == nil {
		for _, s := range syms {
			if s.Name == "data_var" {
				v := binary.LittleEndian.Uint32(readMem(t, m, uintptr(s.Value)+bias, 4))
				require.Equal(t, uint32(0x12345678), v)
			}
		}
	}

	s := readStack(t, m, img.StackTop)
	require.Equal(t, uint64(len(o.Argv)), s.argc)
	require.Equal(t, o.Argv, nilIfEmpty(s.argv))
	require.Equal(t, o.Envv, nilIfEmpty(s.envp))

	// auxv.
	require.Equal(t, [2]uint64{atNull, 0}, s.auxv[len(s.auxv)-1])
	aux := s.auxvByKey
	require.Equal(t, uint64(pageSize), aux[atPagesz])
	require.Equal(t, uint64(f.Entry)+uint64(bias), aux[atEntry])
	require.Equal(t, uint64(56), aux[atPhent], "sizeof(Elf64_Phdr)")
	require.Equal(t, uint64(len(f.Progs)), aux[atPhnum])
	require.Zero(t, aux[atBase], "no interpreter: AT_BASE is 0")
	require.Zero(t, aux[atSecure])
	require.Equal(t, uint64(o.Creds.UID), aux[atUID])
	require.Equal(t, uint64(o.Creds.EUID), aux[atEUID])
	require.Equal(t, uint64(o.Creds.GID), aux[atGID])
	require.Equal(t, uint64(o.Creds.EGID), aux[atEGID])
	require.Equal(t, uint64(img.Phdr), aux[atPhdr])
	phoff := binary.LittleEndian.Uint64(p.raw[32:40])
	phsize := int(aux[atPhnum] * aux[atPhent])
	require.Equal(t, p.raw[phoff:phoff+uint64(phsize)], readMem(t, m, uintptr(aux[atPhdr]), phsize),
		"AT_PHDR does not point at the program headers")
	require.Contains(t, aux, uint64(atRandom))
	readMem(t, m, uintptr(aux[atRandom]), 16)
	require.Contains(t, aux, uint64(atExecfn))
	require.Equal(t, o.Path, str(t, m, uintptr(aux[atExecfn])))
	if pl, ok := aux[atPlatform]; ok {
		require.Equal(t, "x86_64", str(t, m, uintptr(pl)))
	}

	// Strings live above the vectors, on the stack.
	for _, a := range s.argvPtrs {
		require.Greater(t, a, img.StackTop)
	}
	require.Greater(t, uintptr(aux[atRandom]), img.StackTop)
	require.Greater(t, uintptr(aux[atExecfn]), img.StackTop)
	require.LessOrEqual(t, img.StackLimit, img.StackTop)

	// [ArgvStart, ArgvEnd) and [EnvvStart, EnvvEnd) are what
	// /proc/[pid]/cmdline and environ show: NUL-terminated strings back to back.
	require.Equal(t, joinNUL(o.Argv), string(readMem(t, m, img.ArgvStart, int(img.ArgvEnd-img.ArgvStart))))
	require.Equal(t, joinNUL(o.Envv), string(readMem(t, m, img.EnvvStart, int(img.EnvvEnd-img.EnvvStart))))

	// The break starts after the image, within Linux's 32 MiB randomization.
	end := imageEnd(f) + bias
	require.GreaterOrEqual(t, img.Brk, end)
	require.Less(t, img.Brk, end+32<<20)
	require.Equal(t, img.Brk, m.Brk(0))
	require.Equal(t, img.Brk+pageSize, m.Brk(img.Brk+pageSize))
	_, err := m.CopyOut(img.Brk, []byte{1})
	require.NoError(t, err, "heap after brk growth")

	// The stack is writable from its lowest address to the vectors.
	_, err = m.CopyOut(img.StackLimit, []byte{1})
	require.NoError(t, err)
	require.Less(t, end, img.StackLimit, "image overlaps the stack")
	require.Less(t, img.StackTop, maxUser)
	return s
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func joinNUL(ss []string) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

var defaultOpts = loader.Options{
	Path:      "/usr/bin/prog",
	Argv:      []string{"prog", "hello world", "", "-x"},
	Envv:      []string{"HOME=/root", "PATH=/bin:/usr/bin", "EMPTY="},
	Creds:     loader.Credentials{UID: 1000, EUID: 1001, GID: 100, EGID: 101},
	StackSize: 8 << 20,
}

// ---------------------------------------------------------------------------
// Tests.

func TestLoadStatic(t *testing.T) {
	p := open(t, build(t, "-static", "-no-pie"))
	require.Equal(t, elf.ET_EXEC, p.elf.Type)
	m := newMM(t)
	img, err := load(t, m, p, defaultOpts)
	require.NoError(t, err)
	// ET_EXEC loads at its link addresses.
	checkImage(t, m, p, img, 0, defaultOpts)
}

func TestLoadStaticPIE(t *testing.T) {
	p := open(t, build(t, "-static-pie"))
	require.Equal(t, elf.ET_DYN, p.elf.Type)
	for _, ph := range p.elf.Progs {
		require.NotEqual(t, elf.PT_INTERP, ph.Type, "static-pie must have no interpreter")
	}
	var biases []uintptr
	var randoms [][]byte
	for i := 0; i < 2; i++ {
		m := newMM(t)
		img, err := load(t, m, p, defaultOpts)
		require.NoError(t, err)
		bias := img.LoadBias
		require.NotZero(t, bias, "ET_DYN must not load at 0")
		require.Zero(t, bias%pageSize, "load bias must be page-aligned")
		require.GreaterOrEqual(t, bias, uintptr(mm.MinAddress))
		s := checkImage(t, m, p, img, bias, defaultOpts)
		biases = append(biases, bias)
		randoms = append(randoms, readMem(t, m, uintptr(s.auxvByKey[atRandom]), 16))
	}
	require.NotEqual(t, biases[0], biases[1], "static-pie base is not randomized")
	require.NotEqual(t, randoms[0], randoms[1], "AT_RANDOM bytes repeat")
}

func TestStackAlignment(t *testing.T) {
	p := open(t, build(t, "-static"))
	// Every parity of argc and envc, and string lengths that leave the
	// string area at every offset mod 16.
	for argc := 0; argc <= 3; argc++ {
		for envc := 0; envc <= 2; envc++ {
			for pad := 0; pad < 16; pad += 5 {
				o := defaultOpts
				o.Argv = nil
				o.Envv = nil
				for i := 0; i < argc; i++ {
					o.Argv = append(o.Argv, strings.Repeat("a", i+pad))
				}
				for i := 0; i < envc; i++ {
					o.Envv = append(o.Envv, "V="+strings.Repeat("b", pad))
				}
				m := newMM(t)
				img, err := load(t, m, p, o)
				require.NoError(t, err)
				require.Zero(t, img.StackTop%16, "argc=%d envc=%d pad=%d", argc, envc, pad)
				s := readStack(t, m, img.StackTop)
				require.Equal(t, uint64(argc), s.argc)
				require.Equal(t, o.Argv, nilIfEmpty(s.argv))
				require.Equal(t, o.Envv, nilIfEmpty(s.envp))
			}
		}
	}
}

func TestLoadLargeArguments(t *testing.T) {
	p := open(t, build(t, "-static"))
	o := defaultOpts
	o.Argv = nil
	for i := 0; i < 16; i++ { // 1 MiB in strings within MAX_ARG_STRLEN each
		o.Argv = append(o.Argv, strings.Repeat(string(rune('a'+i)), 64<<10-1))
	}
	m := newMM(t)
	img, err := load(t, m, p, o)
	require.NoError(t, err)
	s := readStack(t, m, img.StackTop)
	require.Equal(t, o.Argv, s.argv)
	require.Zero(t, img.StackTop%16)
}

func TestLoadE2BIG(t *testing.T) {
	p := open(t, build(t, "-static"))
	chunk := strings.Repeat("x", 64<<10-1) // 64 KiB with its NUL
	var many []string
	for i := 0; i < 20; i++ {
		many = append(many, chunk)
	}
	tests := []struct {
		name       string
		argv, envv []string
	}{
		{"argv and envp together over 2 MiB", many, many},
		{"argv alone over 2 MiB", append(append([]string{}, many...), many...), nil},
		{"envp alone over 2 MiB", []string{"prog"}, append(append([]string{}, many...), many...)},
		// execve(2): "the limit per string is 32 pages (MAX_ARG_STRLEN)";
		// E2BIG: "an argument or environment string is too long".
		{"one argument longer than MAX_ARG_STRLEN", []string{"prog", strings.Repeat("y", 32*pageSize)}, nil},
		{"one env string longer than MAX_ARG_STRLEN", []string{"prog"}, []string{"A=" + strings.Repeat("z", 200000)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := defaultOpts
			o.Argv, o.Envv = tc.argv, tc.envv
			_, err := load(t, newMM(t), p, o)
			require.ErrorIs(t, err, unix.E2BIG)
		})
	}
}

// Without OpenInterp, a dynamic executable is refused.
func TestLoadDynamicRefused(t *testing.T) {
	p := open(t, build(t, "-pie"))
	hasInterp := false
	for _, ph := range p.elf.Progs {
		hasInterp = hasInterp || ph.Type == elf.PT_INTERP
	}
	require.True(t, hasInterp, "test binary should be dynamically linked")
	_, err := load(t, newMM(t), p, defaultOpts)
	require.ErrorIs(t, err, loader.ErrNoExec)
	// The format itself is fine: only loading without an interpreter
	// opener refuses it.
	_, err = loader.Check(bytes.NewReader(p.raw))
	require.NoError(t, err)

	p = open(t, build(t, "-no-pie"))
	_, err = load(t, newMM(t), p, defaultOpts)
	require.ErrorIs(t, err, loader.ErrNoExec)
}

// elf32 builds a minimal well-formed 32-bit little-endian executable.
func elf32(machine elf.Machine) []byte {
	var buf bytes.Buffer
	h := elf.Header32{
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(machine),
		Version:   uint32(elf.EV_CURRENT),
		Entry:     0x08048054,
		Phoff:     52,
		Ehsize:    52,
		Phentsize: 32,
		Phnum:     1,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.Write(&buf, binary.LittleEndian, h)
	ph := elf.Prog32{Type: uint32(elf.PT_LOAD), Vaddr: 0x08048000, Paddr: 0x08048000, Filesz: 0x60, Memsz: 0x60,
		Flags: uint32(elf.PF_R | elf.PF_X), Align: 0x1000}
	binary.Write(&buf, binary.LittleEndian, ph)
	buf.Write(bytes.Repeat([]byte{0x90}, 0x60-buf.Len()))
	return buf.Bytes()
}

func TestLoadBadFiles(t *testing.T) {
	raw := open(t, build(t, "-static")).raw
	patched := func(off int, v []byte) []byte {
		b := append([]byte{}, raw...)
		copy(b[off:], v)
		return b
	}
	le16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	// Without section headers, debug/elf reads only the program headers, so a
	// truncation inside a segment reaches the loader's own checks.
	noSections := patched(40, make([]byte, 8)) // e_shoff
	copy(noSections[58:], make([]byte, 6))     // e_shentsize, e_shnum, e_shstrndx
	var textOff uint64
	f, err := elf.NewFile(bytes.NewReader(noSections))
	require.NoError(t, err, "ELF without section headers must still parse")
	for _, ph := range f.Progs {
		if ph.Type == elf.PT_LOAD && ph.Flags&elf.PF_X != 0 {
			textOff = ph.Off + ph.Filesz/2
		}
	}
	require.NotZero(t, textOff)

	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"shell script", []byte("#!/bin/sh\necho hi\n")},
		{"just the magic", []byte("\x7fELF")},
		{"truncated ident", raw[:10]},
		{"truncated header", raw[:40]},
		{"truncated program headers", raw[:100]},
		{"truncated in a segment", raw[:len(raw)/2]},
		{"truncated in a segment, no section headers", noSections[:textOff]},
		{"32-bit i386", elf32(elf.EM_386)},
		{"32-bit class, x86-64 machine", elf32(elf.EM_X86_64)},
		{"aarch64", patched(18, le16(uint16(elf.EM_AARCH64)))},
		{"riscv", patched(18, le16(uint16(elf.EM_RISCV)))},
		{"relocatable object", patched(16, le16(uint16(elf.ET_REL)))},
		{"core file", patched(16, le16(uint16(elf.ET_CORE)))},
		{"big-endian", patched(elf.EI_DATA, []byte{byte(elf.ELFDATA2MSB)})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMM(t)
			_, err := loader.Load(m, loader.Options{File: bytes.NewReader(tc.data), Path: "/x", Argv: []string{"x"}})
			require.Error(t, err)
			require.True(t, errors.Is(err, loader.ErrNoExec), "want ErrNoExec, got %v", err)
		})
	}
}
