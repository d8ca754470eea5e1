package syscalls

// Program execution: execve(2) and execveat(2). The work (interpreters,
// "#!" scripts, the new address space, close-on-exec) is in sentry/kernel.

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

func registerExec(t *Table) {
	t.add(unix.SYS_EXECVE, sysExecve, "spp", 'd')
	t.add(unix.SYS_EXECVEAT, sysExecveat, "fsppx", 'd')
}

// Limits of execve(2): MAX_ARG_STRLEN per string; the count is bounded so
// the 2 MiB total cannot be reached by pointers alone.
const (
	maxArgStrlen  = 32 * 4096
	maxArgStrings = 1 << 19
)

// copyInStrings reads a NULL-terminated array of string pointers.
func copyInStrings(t *kernel.Task, addr uintptr) ([]string, error) {
	if addr == 0 {
		return nil, nil
	}
	var out []string
	var b [8]byte
	for i := 0; ; i++ {
		if i >= maxArgStrings {
			return nil, unix.E2BIG
		}
		if _, err := t.CopyIn(addr+uintptr(i)*8, b[:]); err != nil {
			return nil, err
		}
		p := uintptr(binary.LittleEndian.Uint64(b[:]))
		if p == 0 {
			return out, nil
		}
		s, err := t.MemoryManager().CopyInString(p, maxArgStrlen)
		if err == unix.ENAMETOOLONG {
			return nil, unix.E2BIG
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
}

func doExecve(t *kernel.Task, dirfd int, pathAddr, argvAddr, envpAddr uintptr, flags int) (uintptr, error) {
	if flags&^(unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	_, ctx, start, path, err := pathArgs(t, dirfd, pathAddr)
	if err != nil {
		return 0, err
	}
	argv, err := copyInStrings(t, argvAddr)
	if err != nil {
		return 0, err
	}
	envv, err := copyInStrings(t, envpAddr)
	if err != nil {
		return 0, err
	}
	if path == "" {
		if flags&unix.AT_EMPTY_PATH == 0 {
			return 0, unix.ENOENT
		}
		var release func()
		start, path, release, err = emptyPathAsName(t, ctx, dirfd)
		if err == unix.ENOENT {
			return 0, unix.EACCES // an fd with no file behind it
		}
		if err != nil {
			return 0, err
		}
		defer release()
	}
	return 0, t.Execve(start, path, argv, envv, flags&unix.AT_SYMLINK_NOFOLLOW != 0)
}

// sysExecve implements execve(2).
func sysExecve(t *kernel.Task, a args) (uintptr, error) {
	return doExecve(t, unix.AT_FDCWD, a[0], a[1], a[2], 0)
}

// sysExecveat implements execveat(2).
func sysExecveat(t *kernel.Task, a args) (uintptr, error) {
	return doExecve(t, int(int32(a[0])), a[1], a[2], a[3], int(int32(a[4])))
}
