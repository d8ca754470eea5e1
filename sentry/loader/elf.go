package loader

import (
	"encoding/binary"
	"io"
)

// The parts of ELF64 (System V ABI, elf(5)) the loader reads: the file
// header and the program headers. Section headers play no part in loading
// a program, and Linux's exec never reads them; neither does Check.
// (debug/elf parses them all, and links in DWARF and zstd besides.)

// ELF constants used by the loader (elf(5), /usr/include/elf.h).
const (
	elfHeaderSize = 64 // sizeof(Elf64_Ehdr)
	elfPhdrSize   = 56 // sizeof(Elf64_Phdr)
	elfClass64    = 2  // ELFCLASS64
	elfData2LSB   = 1  // ELFDATA2LSB
	elfMachineX86 = 62 // EM_X86_64

	// etExec and etDyn, the two types exec accepts.
	etExec = 2
	etDyn  = 3

	ptLoad   = 1 // PT_LOAD
	ptInterp = 3 // PT_INTERP
	ptPhdr   = 6 // PT_PHDR

	pfX = 1 // PF_X
	pfW = 2 // PF_W
	pfR = 4 // PF_R

	// maxPhdrBytes bounds the program header table, as Linux's
	// load_elf_phdrs does (at most ELF_MIN_ALIGN, a page, on x86-64).
	maxPhdrBytes = 4096
)

// File is an ELF64 executable's header and program headers.
type File struct {
	Type  uint16 // e_type: etExec or etDyn
	Entry uint64 // e_entry
	Phoff uint64 // e_phoff
	Progs []Prog
}

// Prog is one program header (Elf64_Phdr).
type Prog struct {
	Type   uint32
	Flags  uint32
	Off    uint64
	Vaddr  uint64
	Filesz uint64
	Memsz  uint64
	Align  uint64
}

// Check reads and validates the ELF header and program headers of an x86-64
// executable, with Linux's checks (fs/binfmt_elf.c): the magic, the type,
// the machine, and a program header table of 1 to 73 entries of the right
// size. The version fields are not looked at, as Linux does not.
func Check(r io.ReaderAt) (*File, error) {
	var h [elfHeaderSize]byte
	n, _ := r.ReadAt(h[:], 0)
	if n < 4 || string(h[:4]) != "\x7fELF" {
		return nil, noexec("not an ELF file")
	}
	if n < len(h) {
		return nil, noexec("malformed ELF: truncated header")
	}
	le := binary.LittleEndian
	class, data, machine := h[4], h[5], le.Uint16(h[18:])
	if class != elfClass64 || data != elfData2LSB || machine != elfMachineX86 {
		return nil, noexec("not an x86-64 ELF executable (class %d, data %d, machine %d)", class, data, machine)
	}
	f := &File{Type: le.Uint16(h[16:]), Entry: le.Uint64(h[24:]), Phoff: le.Uint64(h[32:])}
	if f.Type != etExec && f.Type != etDyn {
		return nil, noexec("ELF type %d is not executable", f.Type)
	}
	phentsize, phnum := le.Uint16(h[54:]), int(le.Uint16(h[56:]))
	if phentsize != elfPhdrSize || phnum == 0 || phnum*elfPhdrSize > maxPhdrBytes {
		return nil, noexec("malformed ELF: %d program headers of %d bytes", phnum, phentsize)
	}
	if f.Phoff > 1<<62 {
		return nil, noexec("malformed ELF: program headers at %#x", f.Phoff)
	}
	b := make([]byte, phnum*elfPhdrSize)
	if n, _ := r.ReadAt(b, int64(f.Phoff)); n < len(b) {
		return nil, noexec("malformed ELF: truncated program headers")
	}
	f.Progs = make([]Prog, phnum)
	for i := range f.Progs {
		p := b[i*elfPhdrSize:]
		f.Progs[i] = Prog{
			Type: le.Uint32(p[0:]), Flags: le.Uint32(p[4:]), Off: le.Uint64(p[8:]), Vaddr: le.Uint64(p[16:]),
			Filesz: le.Uint64(p[32:]), Memsz: le.Uint64(p[40:]), Align: le.Uint64(p[48:]),
		}
	}
	return f, nil
}
