package syscalls

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

// fakeMemory is application memory for strace without a Task: data is
// readable at [base, base+len(data)), everything else faults. It follows
// mm.MemoryManager's contract: CopyIn copies what it can and returns EFAULT
// at the first unreadable byte; CopyInString returns ENAMETOOLONG when no NUL
// lies within max bytes.
type fakeMemory struct {
	base uintptr
	data []byte
}

func (m *fakeMemory) CopyIn(addr uintptr, dst []byte) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	if addr < m.base || addr-m.base >= uintptr(len(m.data)) {
		return 0, unix.EFAULT
	}
	n := copy(dst, m.data[addr-m.base:])
	if n < len(dst) {
		return n, unix.EFAULT
	}
	return n, nil
}

func (m *fakeMemory) CopyInString(addr uintptr, max int) (string, error) {
	var out []byte
	for len(out) < max {
		var c [1]byte
		if _, err := m.CopyIn(addr+uintptr(len(out)), c[:]); err != nil {
			return "", err
		}
		if c[0] == 0 {
			return string(out), nil
		}
		out = append(out, c[0])
	}
	return "", unix.ENAMETOOLONG
}

const fakeBase = 0x10000

// checkStraceLine formats one call the way Table.Syscall does (before and
// after) and checks the result is a single printable line naming the call.
func checkStraceLine(t *testing.T, tbl *Table, nr uintptr, fakeFormat string, a args, m *fakeMemory, rax uint64, errno unix.Errno) {
	var e *entry
	if nr < tableSize {
		e = &tbl.entries[nr]
	}
	if fakeFormat != "" {
		// A made-up entry, to reach argument kinds in combinations
		// no registered call has.
		e = &entry{fn: func(*kernel.Task, args) (uintptr, error) { return 0, nil }, format: fakeFormat, ret: fakeFormat[0]}
	}
	var pre string
	if e != nil && e.fn != nil {
		pre = formatArgs(m, nr, e, a, false, 0)
	}
	var err error
	ret := uintptr(rax)
	if e == nil || e.fn == nil {
		err = unix.ENOSYS
	} else if errno != 0 {
		err = errno
		rax = uint64(-int64(errno))
		ret = 0
	}
	line := straceLine(m, 42, nr, e, a, pre, rax, ret, err)
	want := "[pid 42] " + Name(nr) + "("
	if !strings.HasPrefix(line, want) {
		t.Fatalf("line %q does not start with %q", line, want)
	}
	if !strings.HasSuffix(line, "\n") {
		t.Fatalf("line %q does not end with a newline", line)
	}
	if !strings.Contains(line, ") = ") {
		t.Fatalf("line %q has no result", line)
	}
	// The application's bytes are escaped: one line, printable ASCII only.
	for i, c := range []byte(line[:len(line)-1]) {
		if c < 0x20 || c > 0x7e {
			t.Fatalf("line %q has byte %#x at %d", line, c, i)
		}
	}
}

// FuzzStraceFormat feeds random syscall numbers, argument registers, results
// and application memory to the strace formatter: it must never panic and
// always produce one printable line.
//
//	go test -fuzz=FuzzStraceFormat -fuzztime=60s ./syscalls/
//
// nr below 1<<63 is taken modulo 600 (the table and a little past it); larger
// values are used as they are (orig_rax of -1 and the like). Bit i of ptrs
// turns argument i into a pointer into (or just past) mem. A non-empty format
// replaces the table's entry with one of that format (at most six kinds; its
// first byte is the result kind). errno 0 means the call succeeded with rax.
func FuzzStraceFormat(f *testing.F) {
	path := []byte("/etc/passwd\x00")
	sun := append([]byte{unix.AF_UNIX, 0}, "/tmp/sock\x00"...)
	abstract := append([]byte{unix.AF_UNIX, 0, 0}, "name\n\"\\\xff"...)
	f.Add(uint64(unix.SYS_OPENAT), uint64(0xffffff9c), uint64(fakeBase), uint64(unix.O_RDONLY), uint64(0), uint64(0), uint64(0), uint8(2), uint64(3), int32(0), "", path)
	f.Add(uint64(unix.SYS_READ), uint64(3), uint64(fakeBase), uint64(100), uint64(0), uint64(0), uint64(0), uint8(2), uint64(100), int32(0), "", []byte("hello\tworld\n\x00\x01\x7f\x80 and more than thirty-two bytes of it"))
	f.Add(uint64(unix.SYS_READ), uint64(3), uint64(fakeBase), uint64(100), uint64(0), uint64(0), uint64(0), uint8(2), uint64(1<<40), int32(0), "", []byte("short"))
	f.Add(uint64(unix.SYS_WRITE), uint64(1), uint64(fakeBase), uint64(1<<63), uint64(0), uint64(0), uint64(0), uint8(2), uint64(5), int32(0), "", []byte("out\n"))
	f.Add(uint64(unix.SYS_WRITE), uint64(1), uint64(0xdead0000), uint64(5), uint64(0), uint64(0), uint64(0), uint8(0), uint64(0), int32(unix.EFAULT), "", []byte{})
	f.Add(uint64(unix.SYS_CONNECT), uint64(3), uint64(fakeBase), uint64(len(sun)), uint64(0), uint64(0), uint64(0), uint8(2), uint64(0), int32(0), "", sun)
	f.Add(uint64(unix.SYS_BIND), uint64(3), uint64(fakeBase), uint64(len(abstract)), uint64(0), uint64(0), uint64(0), uint8(2), uint64(0), int32(0), "", abstract)
	f.Add(uint64(unix.SYS_BIND), uint64(3), uint64(fakeBase), uint64(3), uint64(0), uint64(0), uint64(0), uint8(2), uint64(0), int32(unix.EINVAL), "", []byte{unix.AF_UNIX, 0, 0})
	f.Add(uint64(unix.SYS_SOCKET), uint64(unix.AF_UNIX), uint64(unix.SOCK_STREAM|unix.SOCK_CLOEXEC|0x100), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0), uint64(3), int32(0), "", []byte{})
	f.Add(uint64(unix.SYS_KILL), uint64(1), uint64(65), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0), uint64(0), int32(unix.ESRCH), "", []byte{})
	f.Add(uint64(unix.SYS_MMAP), uint64(0), uint64(4096), uint64(3), uint64(0x22), uint64(1<<64-1), uint64(0), uint8(0), uint64(0x7f0000000000), int32(0), "", []byte{})
	f.Add(uint64(unix.SYS_EXIT_GROUP), uint64(1), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0), uint64(0), int32(0), "", []byte{})
	f.Add(uint64(335), uint64(1), uint64(2), uint64(3), uint64(4), uint64(5), uint64(6), uint8(0), uint64(0), int32(0), "", []byte{})
	f.Add(uint64(1<<64-1), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0), uint64(0), int32(0), "", []byte{})
	f.Add(uint64(unix.SYS_WRITE), uint64(1), uint64(0), uint64(1), uint64(2), uint64(3), uint64(4), uint8(0x3f), uint64(0), int32(4095), "dsbBaT", []byte("unterminated string"))
	f.Add(uint64(unix.SYS_WRITE), uint64(9), uint64(0), uint64(1), uint64(2), uint64(3), uint64(4), uint8(0x3f), uint64(7), int32(0), "xSoAfb", []byte{0})
	f.Add(uint64(unix.SYS_WRITE), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0x01), uint64(0), int32(0), "?a", []byte{0, 0})
	f.Add(uint64(unix.SYS_WRITE), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0x20), uint64(0), int32(-5), "ppppppB", []byte{})
	f.Add(uint64(unix.SYS_NANOSLEEP), uint64(fakeBase), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(1), uint64(0), int32(516), "", make([]byte, 16))
	tbl := New(Options{})
	f.Fuzz(func(t *testing.T, nr, a0, a1, a2, a3, a4, a5 uint64, ptrs uint8, rax uint64, errno int32, format string, mem []byte) {
		if nr < 1<<63 {
			nr %= 600
		}
		if len(format) > len(args{}) {
			format = format[:len(args{})]
		}
		m := &fakeMemory{base: fakeBase, data: mem}
		a := args{uintptr(a0), uintptr(a1), uintptr(a2), uintptr(a3), uintptr(a4), uintptr(a5)}
		for i := range a {
			if ptrs&(1<<i) != 0 {
				a[i] = fakeBase + a[i]%uintptr(len(mem)+8)
			}
		}
		checkStraceLine(t, tbl, uintptr(nr), format, a, m, rax, unix.Errno(uint32(errno)%4096))
	})
}

// TestStraceFormats checks every registered format uses only the kinds
// formatArgs knows and at most six arguments (a longer one would index past
// the registers).
func TestStraceFormats(t *testing.T) {
	tbl := New(Options{})
	for nr, e := range tbl.entries {
		if e.fn == nil {
			continue
		}
		if len(e.format) > len(args{}) {
			t.Errorf("%s: format %q has more than six arguments", Name(uintptr(nr)), e.format)
		}
		if i := strings.IndexFunc(e.format, func(r rune) bool { return !strings.ContainsRune("dupxfsbBSoAaT", r) }); i >= 0 {
			t.Errorf("%s: format %q has unknown kind %q", Name(uintptr(nr)), e.format, e.format[i])
		}
		if !strings.ContainsRune("dxo?", rune(e.ret)) {
			t.Errorf("%s: result kind %q", Name(uintptr(nr)), e.ret)
		}
	}
}

// TestStraceLine pins a few lines down exactly.
func TestStraceLine(t *testing.T) {
	tbl := New(Options{})
	m := &fakeMemory{base: fakeBase, data: []byte("hi\n\x00/etc/passwd\x00")}
	for _, c := range []struct {
		nr   uintptr
		a    args
		rax  uint64
		err  error
		want string
	}{
		{unix.SYS_READ, args{3, fakeBase, 10}, 3, nil, `[pid 7] read(3, "hi\n", 10) = 3` + "\n"},
		{unix.SYS_OPENAT, args{uintptr(0xffffff9c), fakeBase + 4, 0}, 5, nil, `[pid 7] openat(AT_FDCWD, "/etc/passwd", 0x0, 0) = 5` + "\n"},
		{unix.SYS_READ, args{3, 0xdead, 10}, 0, unix.EFAULT, "[pid 7] read(3, 0xdead, 10) = -1 EFAULT (Bad address)\n"},
		{unix.SYS_PAUSE, args{}, 0, kernel.ERestartNoHand, "[pid 7] pause() = -1 ERESTARTNOHAND (To be restarted if no handler)\n"},
		{unix.SYS_UMASK, args{0o77}, 0o22, nil, "[pid 7] umask(077) = 022\n"},
		{1000, args{1, 2, 3, 4, 5, 6}, 0, unix.ENOSYS, "[pid 7] syscall_1000(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)\n"},
	} {
		var e *entry
		if c.nr < tableSize {
			e = &tbl.entries[c.nr]
		}
		var pre string
		if e != nil && e.fn != nil {
			pre = formatArgs(m, c.nr, e, c.a, false, 0)
		}
		rax := c.rax
		if errno, ok := c.err.(unix.Errno); ok {
			rax = uint64(-int64(errno))
		}
		if got := straceLine(m, 7, c.nr, e, c.a, pre, rax, uintptr(c.rax), c.err); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
