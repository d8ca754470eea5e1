package syscalls

// Pipes: pipe(2), pipe2(2), and fcntl(2) F_GETPIPE_SZ/F_SETPIPE_SZ (in
// pipeFcntl). Named pipes are opened through the VFS (fs/tmpfs).

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"sbx/fs/pipe"
	"sbx/fs/vfs"
	"sbx/sentry/kernel"
)

func registerPipe(t *Table) {
	t.add(unix.SYS_PIPE, sysPipe, "p", 'd')
	t.add(unix.SYS_PIPE2, sysPipe2, "px", 'd')
}

// sysPipe implements pipe(2).
func sysPipe(t *kernel.Task, a args) (uintptr, error) { return doPipe(t, a[0], 0) }

// sysPipe2 implements pipe2(2). O_DIRECT (packet mode) is accepted and
// treated as a byte stream, a departure.
func sysPipe2(t *kernel.Task, a args) (uintptr, error) {
	return doPipe(t, a[0], int(int32(a[1])))
}

func doPipe(t *kernel.Task, addr uintptr, flags int) (uintptr, error) {
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT) != 0 {
		return 0, unix.EINVAL
	}
	p := pipe.New()
	status := flags & unix.O_NONBLOCK
	r := vfs.NewFileDescription(p.Open(true, false), unix.O_RDONLY|status)
	w := vfs.NewFileDescription(p.Open(false, true), unix.O_WRONLY|status)
	r.Impl.(*pipe.End).SetDescription(r)
	w.Impl.(*pipe.End).SetDescription(w)
	defer r.DecRef()
	defer w.DecRef()
	tbl := t.ThreadGroup().FDTable
	cloexec := flags&unix.O_CLOEXEC != 0
	rfd, err := tbl.NewFD(0, r, cloexec, nofile(t))
	if err != nil {
		return 0, unix.EMFILE
	}
	wfd, err := tbl.NewFD(0, w, cloexec, nofile(t))
	if err != nil {
		tbl.Remove(rfd)
		return 0, unix.EMFILE
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(rfd))
	binary.LittleEndian.PutUint32(b[4:], uint32(wfd))
	if _, err := t.CopyOut(addr, b[:]); err != nil {
		tbl.Remove(rfd)
		tbl.Remove(wfd)
		return 0, err
	}
	return 0, nil
}

// pipeFcntl serves F_GETPIPE_SZ and F_SETPIPE_SZ.
func pipeFcntl(f *vfs.FileDescription, cmd int, arg uintptr) (uintptr, error) {
	e, ok := f.Impl.(*pipe.End)
	if !ok {
		return 0, unix.EBADF
	}
	if cmd == unix.F_GETPIPE_SZ {
		return uintptr(e.Size()), nil
	}
	n, err := e.SetSize(int(int32(arg)))
	return uintptr(n), err
}

// sealable is implemented by files that support memfd seals.
type sealable interface {
	Seals() uint32
	AddSeals(uint32) error
}

// sealFcntl serves F_GET_SEALS and F_ADD_SEALS (memfd_create(2)). Adding
// seals needs the file open for writing.
func sealFcntl(f *vfs.FileDescription, cmd int, arg uintptr) (uintptr, error) {
	s, ok := f.Impl.(sealable)
	if !ok {
		return 0, unix.EINVAL
	}
	if cmd == unix.F_GET_SEALS {
		return uintptr(s.Seals()), nil
	}
	if !f.Writable() {
		return 0, unix.EPERM
	}
	return 0, s.AddSeals(uint32(arg))
}
