package syscalls

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

// Argument formats for strace, one byte per argument:
//
//	d  signed decimal          u  unsigned decimal     x  hexadecimal
//	p  pointer (NULL or hex)   f  file descriptor      s  NUL-terminated string
//	b  input buffer; the next argument is its length
//	B  output buffer; its length is the result (shown after the call)
//	S  signal number           o  octal
//	A  address family          T  socket type and flags
//	a  input socket address; the next argument is its length
//
// Result formats: 'd' decimal, 'x' hexadecimal, 'o' octal (umask), '?' no
// result (exit).
const straceStringMax = 32

// straceMemory is how strace reads application memory: a task's
// *mm.MemoryManager in the sentry, a fake in the fuzz test (so the formatter
// runs without a Task).
type straceMemory interface {
	CopyIn(addr uintptr, dst []byte) (int, error)
	CopyInString(addr uintptr, max int) (string, error)
}

// formatArgs renders the argument list. after is true once the call returned;
// rax is then the value the call put in rax (result or -errno).
func formatArgs(m straceMemory, nr uintptr, e *entry, a args, after bool, rax uint64) string {
	var b strings.Builder
	b.WriteString(Name(nr))
	b.WriteByte('(')
	for i := 0; i < len(e.format); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		v := a[i]
		switch e.format[i] {
		case 'd':
			b.WriteString(strconv.FormatInt(int64(v), 10))
		case 'u':
			b.WriteString(strconv.FormatUint(uint64(v), 10))
		case 'f':
			if int32(v) == unix.AT_FDCWD {
				b.WriteString("AT_FDCWD")
			} else {
				b.WriteString(strconv.Itoa(int(int32(v))))
			}
		case 'p':
			if v == 0 {
				b.WriteString("NULL")
			} else {
				fmt.Fprintf(&b, "%#x", v)
			}
		case 's':
			s, err := m.CopyInString(v, 4096)
			if err != nil {
				fmt.Fprintf(&b, "%#x", v)
			} else {
				b.WriteString(quote([]byte(s)))
			}
		case 'b':
			n := 0
			if i+1 < len(a) {
				n = int(min(a[i+1], straceStringMax+1))
			}
			b.WriteString(readQuoted(m, v, n))
		case 'B':
			if !after {
				fmt.Fprintf(&b, "%#x", v)
			} else {
				n := int64(rax)
				if n < 0 {
					fmt.Fprintf(&b, "%#x", v)
				} else {
					b.WriteString(readQuoted(m, v, int(min(n, straceStringMax+1))))
				}
			}
		case 'S':
			if v > 0 && v <= 64 {
				b.WriteString(signalName(int(v)))
			} else {
				b.WriteString(strconv.FormatUint(uint64(v), 10))
			}
		case 'o':
			fmt.Fprintf(&b, "%#o", v)
		case 'A':
			b.WriteString(familyName(int(int32(v))))
		case 'T':
			b.WriteString(socketTypeName(int(int32(v))))
		case 'a':
			n := 0
			if i+1 < len(a) {
				n = int(int32(a[i+1]))
			}
			b.WriteString(formatSockaddr(m, v, n))
		default:
			fmt.Fprintf(&b, "%#x", v)
		}
	}
	b.WriteByte(')')
	return b.String()
}

func readQuoted(m straceMemory, addr uintptr, n int) string {
	if n < 0 {
		n = 0
	}
	buf := make([]byte, n)
	if _, err := m.CopyIn(addr, buf); err != nil {
		return fmt.Sprintf("%#x", addr)
	}
	return quote(buf)
}

// quote renders bytes as strace does: C escapes, at most straceStringMax
// bytes, then "...".
func quote(b []byte) string {
	more := len(b) > straceStringMax
	if more {
		b = b[:straceStringMax]
	}
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, `\x%02x`, c)
		}
	}
	s.WriteByte('"')
	if more {
		s.WriteString("...")
	}
	return s.String()
}

// traceLine writes one strace line for a finished call.
func (tbl *Table) traceLine(t *kernel.Task, nr uintptr, e *entry, a args, pre string, ret uintptr, err error) {
	io.WriteString(tbl.strace, straceLine(t.MemoryManager(), t.TID(), nr, e, a, pre, t.Regs().Rax, ret, err))
}

// straceLine renders the line for a finished call: pre is the argument list
// rendered before the call, rax the value the call left in rax, ret and err
// what the handler returned (an err that is not a unix.Errno reached the
// application as EIO).
func straceLine(m straceMemory, tid int, nr uintptr, e *entry, a args, pre string, rax uint64, ret uintptr, err error) string {
	call := pre
	if e == nil || e.fn == nil {
		// Unknown: show the six raw registers.
		call = fmt.Sprintf("%s(%#x, %#x, %#x, %#x, %#x, %#x)", Name(nr), a[0], a[1], a[2], a[3], a[4], a[5])
	} else if strings.IndexByte(e.format, 'B') >= 0 {
		call = formatArgs(m, nr, e, a, true, rax)
	}
	kind := byte('d')
	if e != nil && e.fn != nil {
		kind = e.ret
	}
	var res string
	switch {
	case err != nil:
		errno, ok := err.(unix.Errno)
		if !ok {
			errno = unix.EIO
		}
		msg := []byte(errno.Error())
		if r, ok := restartErrnos[errno]; ok {
			msg = []byte(r[1])
		}
		if len(msg) > 0 && msg[0] >= 'a' && msg[0] <= 'z' {
			msg[0] -= 'a' - 'A'
		}
		res = fmt.Sprintf("-1 %s (%s)", errnoName(errno), msg)
	case kind == 'x':
		res = fmt.Sprintf("%#x", ret)
	case kind == 'o':
		res = fmt.Sprintf("%#o", ret)
	case kind == '?':
		res = "?"
	default:
		res = strconv.FormatInt(int64(ret), 10)
	}
	return fmt.Sprintf("[pid %d] %s = %s\n", tid, call, res)
}

// restartErrnos are the kernel's internal errnos of an interrupted call
// (the application sees EINTR or a restart), with strace's names and
// explanations.
var restartErrnos = map[unix.Errno][2]string{
	kernel.ERestartSys:          {"ERESTARTSYS", "To be restarted if SA_RESTART is set"},
	kernel.ERestartNoIntr:       {"ERESTARTNOINTR", "To be restarted"},
	kernel.ERestartNoHand:       {"ERESTARTNOHAND", "To be restarted if no handler"},
	kernel.ERestartRestartBlock: {"ERESTART_RESTARTBLOCK", "Interrupted by signal"},
}

// errnoName returns the symbolic name of an errno ("ENOSYS").
func errnoName(e unix.Errno) string {
	if r, ok := restartErrnos[e]; ok {
		return r[0]
	}
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return "E" + strconv.Itoa(int(e))
}

// signalName names a signal as strace does: "SIGUSR1", and "SIGRT_n" for
// real-time signal 32+n.
func signalName(sig int) string {
	if n := unix.SignalName(unix.Signal(sig)); n != "" {
		return n
	}
	if sig >= kernel.SigRTMin && sig <= kernel.NumSignals {
		return "SIGRT_" + strconv.Itoa(sig-kernel.SigRTMin)
	}
	return strconv.Itoa(sig)
}

// siCodeName names common si_code values for strace's signal lines.
func siCodeName(sig, code int) string {
	switch {
	case code == 0:
		return "SI_USER"
	case code == 0x80:
		return "SI_KERNEL"
	case code == -1:
		return "SI_QUEUE"
	case code == -2:
		return "SI_TIMER"
	case code == -6:
		return "SI_TKILL"
	case unix.Signal(sig) == unix.SIGSEGV && code == 1:
		return "SEGV_MAPERR"
	case unix.Signal(sig) == unix.SIGSEGV && code == 2:
		return "SEGV_ACCERR"
	case unix.Signal(sig) == unix.SIGBUS && code == 2:
		return "BUS_ADRERR"
	case unix.Signal(sig) == unix.SIGFPE && code == 1:
		return "FPE_INTDIV"
	case unix.Signal(sig) == unix.SIGILL && code == 2:
		return "ILL_ILLOPN"
	case unix.Signal(sig) == unix.SIGCHLD && code >= 1 && code <= 6:
		return []string{"CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"}[code-1]
	}
	return strconv.Itoa(code)
}

// Signal implements kernel.Tracer.
func (tbl *Table) Signal(t *kernel.Task, sig, code int, addr uintptr) {
	if tbl.strace == nil {
		return
	}
	a := "NULL"
	if addr != 0 {
		a = fmt.Sprintf("%#x", addr)
	}
	name := signalName(sig)
	fmt.Fprintf(tbl.strace, "[pid %d] --- %s {si_signo=%s, si_code=%s, si_addr=%s} ---\n", t.TID(), name, name, siCodeName(sig, code), a)
}

// Exit implements kernel.Tracer.
func (tbl *Table) Exit(t *kernel.Task, st kernel.ExitStatus) {
	if tbl.strace == nil {
		return
	}
	if st.Signo != 0 {
		core := ""
		if st.Core {
			core = " (core dumped)"
		}
		fmt.Fprintf(tbl.strace, "[pid %d] +++ killed by %s%s +++\n", t.TID(), signalName(st.Signo), core)
		return
	}
	fmt.Fprintf(tbl.strace, "[pid %d] +++ exited with %d +++\n", t.TID(), st.Code)
}

// familyName names an address family as strace does ("AF_UNIX").
func familyName(f int) string {
	switch f {
	case unix.AF_UNSPEC:
		return "AF_UNSPEC"
	case unix.AF_UNIX:
		return "AF_UNIX"
	case unix.AF_INET:
		return "AF_INET"
	case unix.AF_INET6:
		return "AF_INET6"
	case unix.AF_NETLINK:
		return "AF_NETLINK"
	case unix.AF_PACKET:
		return "AF_PACKET"
	}
	return strconv.Itoa(f)
}

// socketTypeName renders socket(2)'s type argument
// ("SOCK_STREAM|SOCK_CLOEXEC").
func socketTypeName(v int) string {
	names := map[int]string{
		unix.SOCK_STREAM: "SOCK_STREAM", unix.SOCK_DGRAM: "SOCK_DGRAM", unix.SOCK_RAW: "SOCK_RAW",
		unix.SOCK_RDM: "SOCK_RDM", unix.SOCK_SEQPACKET: "SOCK_SEQPACKET", unix.SOCK_PACKET: "SOCK_PACKET",
	}
	s, ok := names[v&0xf]
	if !ok {
		s = strconv.Itoa(v & 0xf)
	}
	if v&unix.SOCK_NONBLOCK != 0 {
		s += "|SOCK_NONBLOCK"
	}
	if v&unix.SOCK_CLOEXEC != 0 {
		s += "|SOCK_CLOEXEC"
	}
	if rest := v &^ (0xf | unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC); rest != 0 {
		s += fmt.Sprintf("|%#x", rest)
	}
	return s
}

// formatSockaddr renders a socket address of length n as strace does:
// {sa_family=AF_UNIX, sun_path="/tmp/s"}, with an abstract name as
// @"name".
func formatSockaddr(m straceMemory, addr uintptr, n int) string {
	if addr == 0 {
		return "NULL"
	}
	if n < 2 || n > 128 {
		return fmt.Sprintf("%#x", addr)
	}
	raw := make([]byte, n)
	if _, err := m.CopyIn(addr, raw); err != nil {
		return fmt.Sprintf("%#x", addr)
	}
	fam := int(raw[0]) | int(raw[1])<<8
	s := "{sa_family=" + familyName(fam)
	if fam == unix.AF_UNIX && n > 2 {
		p := raw[2:]
		if p[0] == 0 {
			s += ", sun_path=@" + quote(p[1:])
		} else {
			if i := bytes.IndexByte(p, 0); i >= 0 {
				p = p[:i]
			}
			s += ", sun_path=" + quote(p)
		}
	}
	return s + "}"
}
