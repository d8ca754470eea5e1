package syscalls

// File descriptor I/O: read(2), write(2), readv(2), writev(2), pread(2),
// pwrite(2), close(2), dup(2), dup2(2), dup3(2), fcntl(2), ioctl(2) and
// fstat(2)/newfstatat(2) on descriptors.
//
// Data moves directly between the host file and application memory (the
// sentry's mapping of the memory file): no intermediate copy.

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"

	"sbx/fs/tty"
	unixsock "sbx/fs/unix"
	"sbx/fs/vfs"
	"sbx/sentry/kernel"
)

// maxRW is Linux's MAX_RW_COUNT: one call moves at most this many bytes.
const maxRW = 0x7ffff000

// FIOCLEX and FIONCLEX, from asm-generic/ioctls.h.
const (
	fionread = 0x541b
	fionbio  = 0x5421
	fionclex = 0x5450
	fioclex  = 0x5451
)

// uioMaxIov is UIO_MAXIOV.
const uioMaxIov = 1024

func registerFile(t *Table) {
	t.add(unix.SYS_READ, sysRead, "fBu", 'd')
	t.add(unix.SYS_WRITE, sysWrite, "fbu", 'd')
	t.add(unix.SYS_READV, sysReadv, "fpd", 'd')
	t.add(unix.SYS_WRITEV, sysWritev, "fpd", 'd')
	t.add(unix.SYS_PREAD64, sysPread64, "fBud", 'd')
	t.add(unix.SYS_PWRITE64, sysPwrite64, "fbud", 'd')
	t.add(unix.SYS_PREADV, sysPreadv, "fpdd", 'd')
	t.add(unix.SYS_PWRITEV, sysPwritev, "fpdd", 'd')
	t.add(unix.SYS_PREADV2, sysPreadv2, "fpddx", 'd')
	t.add(unix.SYS_PWRITEV2, sysPwritev2, "fpddx", 'd')
	t.add(unix.SYS_CLOSE, sysClose, "f", 'd')
	t.add(unix.SYS_DUP, sysDup, "f", 'd')
	t.add(unix.SYS_DUP2, sysDup2, "ff", 'd')
	t.add(unix.SYS_DUP3, sysDup3, "ffx", 'd')
	t.add(unix.SYS_FCNTL, sysFcntl, "fdx", 'd')
	t.add(unix.SYS_IOCTL, sysIoctl, "fxp", 'd')
	t.add(unix.SYS_FSTAT, sysFstat, "fp", 'd')
	t.add(unix.SYS_NEWFSTATAT, sysNewfstatatPath, "fspx", 'd')
}

func nofile(t *kernel.Task) int {
	l := t.ThreadGroup().Limit(kernel.RlimitNofile).Cur
	if l > 1<<20 {
		return 1 << 20
	}
	return int(l)
}

// ioBlocks returns the sentry's view of application buffers for I/O. For
// reads into application memory (write) the pages are pinned until the
// returned function runs.
func ioBlocks(t *kernel.Task, iovs []unix.Iovec, write bool) ([][]byte, func(), error) {
	var bufs [][]byte
	m := t.MemoryManager()
	var pinned []unix.Iovec
	unpin := func() {
		for _, p := range pinned {
			m.Unpin(uintptr(unsafe.Pointer(p.Base)), int(p.Len))
		}
	}
	for i, iov := range iovs {
		n := len(bufs)
		var err error
		if write {
			bufs, err = m.PinnedBlocks(uintptr(unsafe.Pointer(iov.Base)), int(iov.Len), bufs)
			if err == nil {
				pinned = append(pinned, iov)
			}
		} else {
			bufs, err = m.Blocks(uintptr(unsafe.Pointer(iov.Base)), int(iov.Len), false, bufs)
		}
		if err != nil {
			if i == 0 {
				return nil, unpin, err
			}
			return bufs[:n], unpin, nil
		}
	}
	return bufs, unpin, nil
}

func singleIov(addr, n uintptr) []unix.Iovec {
	if n > maxRW {
		n = maxRW
	}
	return []unix.Iovec{{Base: (*byte)(unsafe.Add(nil, addr)), Len: uint64(n)}}
}

// readIovecs copies in and checks an iovec array (readv(2) ERRORS).
func readIovecs(t *kernel.Task, addr uintptr, cnt int) ([]unix.Iovec, error) {
	if cnt < 0 || cnt > uioMaxIov {
		return nil, unix.EINVAL
	}
	if cnt == 0 {
		return nil, nil
	}
	raw := make([]byte, 16*cnt)
	if _, err := t.CopyIn(addr, raw); err != nil {
		return nil, unix.EFAULT
	}
	iovs := make([]unix.Iovec, cnt)
	var total uint64
	for i := range iovs {
		base := binary.LittleEndian.Uint64(raw[16*i:])
		l := binary.LittleEndian.Uint64(raw[16*i+8:])
		if int64(l) < 0 {
			return nil, unix.EINVAL
		}
		// The total is clipped to MAX_RW_COUNT, as Linux does.
		if total+l > maxRW {
			l = maxRW - total
		}
		total += l
		iovs[i] = unix.Iovec{Base: (*byte)(unsafe.Add(nil, uintptr(base))), Len: l}
	}
	return iovs, nil
}

type ioKind int

const (
	ioRead ioKind = iota
	ioWrite
	ioPread
	ioPwrite
)

func doIO(t *kernel.Task, fd int, iovs []unix.Iovec, kind ioKind, off int64) (uintptr, error) {
	f, err := t.ThreadGroup().FDTable.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	write := kind == ioWrite || kind == ioPwrite
	if f.IsPath() || write && !f.Writable() || !write && !f.Readable() {
		return 0, unix.EBADF
	}
	if (kind == ioPread || kind == ioPwrite) && off < 0 {
		return 0, unix.EINVAL
	}
	total := uint64(0)
	for _, v := range iovs {
		total += v.Len
	}
	if total == 0 {
		// A zero-length transfer still checks the file (pipes: ESPIPE).
		if kind == ioPread || kind == ioPwrite {
			return doZero(f, kind, off)
		}
		return 0, nil
	}
	// Reads fill application memory (the blocks must be writable); writes
	// read it.
	bufs, unpin, err := ioBlocks(t, iovs, !write)
	defer unpin()
	if err != nil {
		return 0, err
	}
	if s, ok := f.Impl.(*unixsock.Socket); ok && (kind == ioRead || kind == ioWrite) {
		// Sockets send and receive as the calling task (credentials,
		// SIGPIPE only for streams).
		return socketIO(t, s, bufs, write)
	}
	var n int
	switch kind {
	case ioRead:
		n, err = f.Read(bufs)
	case ioWrite:
		n, err = f.Write(bufs)
	case ioPread:
		n, err = f.Pread(bufs, off)
	case ioPwrite:
		n, err = f.Pwrite(bufs, off)
	}
	if err != nil {
		if err == unix.EPIPE && write {
			t.PostSignal(int(unix.SIGPIPE))
		}
		if n > 0 {
			return uintptr(n), nil
		}
		return 0, err
	}
	return uintptr(n), nil
}

func doZero(f *vfs.FileDescription, kind ioKind, off int64) (uintptr, error) {
	var err error
	if kind == ioPread {
		_, err = f.Pread(nil, off)
	} else {
		_, err = f.Pwrite(nil, off)
	}
	return 0, err
}

// sysRead implements read(2).
func sysRead(t *kernel.Task, a args) (uintptr, error) {
	return doIO(t, int(int32(a[0])), singleIov(a[1], a[2]), ioRead, 0)
}

// sysWrite implements write(2).
func sysWrite(t *kernel.Task, a args) (uintptr, error) {
	return doIO(t, int(int32(a[0])), singleIov(a[1], a[2]), ioWrite, 0)
}

// sysPread64 implements pread(2).
func sysPread64(t *kernel.Task, a args) (uintptr, error) {
	return doIO(t, int(int32(a[0])), singleIov(a[1], a[2]), ioPread, int64(a[3]))
}

// sysPwrite64 implements pwrite(2).
func sysPwrite64(t *kernel.Task, a args) (uintptr, error) {
	return doIO(t, int(int32(a[0])), singleIov(a[1], a[2]), ioPwrite, int64(a[3]))
}

func vectorIO(t *kernel.Task, a args, kind ioKind) (uintptr, error) {
	fd := int(int32(a[0]))
	if _, err := t.ThreadGroup().FDTable.CloseOnExec(fd); err != nil {
		return 0, err
	}
	iovs, err := readIovecs(t, a[1], int(int32(a[2])))
	if err != nil {
		return 0, err
	}
	return doIO(t, fd, iovs, kind, 0)
}

// sysReadv implements readv(2).
func sysReadv(t *kernel.Task, a args) (uintptr, error) { return vectorIO(t, a, ioRead) }

// sysWritev implements writev(2).
func sysWritev(t *kernel.Task, a args) (uintptr, error) { return vectorIO(t, a, ioWrite) }

func vectorIOAt(t *kernel.Task, a args, kind ioKind, off int64) (uintptr, error) {
	fd := int(int32(a[0]))
	if _, err := t.ThreadGroup().FDTable.CloseOnExec(fd); err != nil {
		return 0, err
	}
	iovs, err := readIovecs(t, a[1], int(int32(a[2])))
	if err != nil {
		return 0, err
	}
	return doIO(t, fd, iovs, kind, off)
}

// sysPreadv implements preadv(2).
func sysPreadv(t *kernel.Task, a args) (uintptr, error) {
	return vectorIOAt(t, a, ioPread, int64(a[3]))
}

// sysPwritev implements pwritev(2).
func sysPwritev(t *kernel.Task, a args) (uintptr, error) {
	return vectorIOAt(t, a, ioPwrite, int64(a[3]))
}

// RWF_* flags of preadv2(2)/pwritev2(2).
const (
	rwfHipri  = 1
	rwfDsync  = 2
	rwfSync   = 4
	rwfNowait = 8
	rwfAppend = 16
)

// sysPreadv2 implements preadv2(2): offset -1 uses the file position;
// RWF_HIPRI, RWF_DSYNC and RWF_SYNC change nothing here.
func sysPreadv2(t *kernel.Task, a args) (uintptr, error) {
	if a[5]&^(rwfHipri|rwfDsync|rwfSync) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if int64(a[3]) == -1 {
		return vectorIO(t, a, ioRead)
	}
	return vectorIOAt(t, a, ioPread, int64(a[3]))
}

// sysPwritev2 implements pwritev2(2).
func sysPwritev2(t *kernel.Task, a args) (uintptr, error) {
	if a[5]&^(rwfHipri|rwfDsync|rwfSync|rwfAppend) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if int64(a[3]) == -1 || a[5]&rwfAppend != 0 {
		return vectorIO(t, a, ioWrite)
	}
	return vectorIOAt(t, a, ioPwrite, int64(a[3]))
}

// sysClose implements close(2).
func sysClose(t *kernel.Task, a args) (uintptr, error) {
	tbl := t.ThreadGroup().FDTable
	f, err := tbl.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	closeFile(t, f)
	f.DecRef()
	return 0, tbl.Remove(int(int32(a[0])))
}

// sysDup implements dup(2).
func sysDup(t *kernel.Task, a args) (uintptr, error) {
	tbl := t.ThreadGroup().FDTable
	f, err := tbl.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := tbl.NewFD(0, f, false, nofile(t))
	if err == unix.EINVAL {
		err = unix.EMFILE
	}
	return uintptr(fd), err
}

// sysDup2 implements dup2(2): the same descriptor twice is returned as is if
// valid.
func sysDup2(t *kernel.Task, a args) (uintptr, error) {
	oldfd, newfd := int(int32(a[0])), int(int32(a[1]))
	tbl := t.ThreadGroup().FDTable
	f, err := tbl.Get(oldfd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if oldfd == newfd {
		return uintptr(newfd), nil
	}
	return uintptr(newfd), tbl.SetFD(newfd, f, false, nofile(t))
}

// sysDup3 implements dup3(2): only O_CLOEXEC is a valid flag, and equal
// descriptors are EINVAL.
func sysDup3(t *kernel.Task, a args) (uintptr, error) {
	oldfd, newfd, flags := int(int32(a[0])), int(int32(a[1])), int(int32(a[2]))
	if flags&^unix.O_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	tbl := t.ThreadGroup().FDTable
	f, err := tbl.Get(oldfd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if oldfd == newfd {
		return 0, unix.EINVAL
	}
	return uintptr(newfd), tbl.SetFD(newfd, f, flags&unix.O_CLOEXEC != 0, nofile(t))
}

// sysFcntl implements fcntl(2): F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD,
// F_GETFL, F_SETFL. Locks, leases, owners and pipe sizes are not yet
// implemented (EINVAL, as for an unknown command, with a log line).
func sysFcntl(t *kernel.Task, a args) (uintptr, error) {
	fd, cmd, arg := int(int32(a[0])), int(int32(a[1])), a[2]
	tbl := t.ThreadGroup().FDTable
	f, err := tbl.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		min := int(int32(arg))
		if min < 0 || min >= nofile(t) {
			return 0, unix.EINVAL
		}
		nfd, err := tbl.NewFD(min, f, cmd == unix.F_DUPFD_CLOEXEC, nofile(t))
		return uintptr(nfd), err
	case unix.F_GETFD:
		ce, err := tbl.CloseOnExec(fd)
		if ce {
			return unix.FD_CLOEXEC, err
		}
		return 0, err
	case unix.F_SETFD:
		return 0, tbl.SetCloseOnExec(fd, arg&unix.FD_CLOEXEC != 0)
	case unix.F_GETFL:
		return uintptr(f.Flags()), nil
	case unix.F_SETFL:
		f.SetStatusFlags(int(int32(arg)))
		return 0, nil
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW:
		return fcntlLock(t, f, cmd, arg)
	case unix.F_GETPIPE_SZ, unix.F_SETPIPE_SZ:
		return pipeFcntl(f, cmd, arg)
	case unix.F_ADD_SEALS, unix.F_GET_SEALS:
		return sealFcntl(f, cmd, arg)
	}
	t.Kernel().Log.Info("fcntl command not implemented", "cmd", cmd)
	return 0, unix.EINVAL
}

// sysIoctl implements ioctl(2) by passing the request to the file, which
// answers ENOTTY for requests it does not know; FIOCLEX and FIONCLEX are
// handled here for every file.
func sysIoctl(t *kernel.Task, a args) (uintptr, error) {
	fd, req := int(int32(a[0])), uint(uint32(a[1]))
	tbl := t.ThreadGroup().FDTable
	f, err := tbl.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	switch req {
	case fioclex:
		return 0, tbl.SetCloseOnExec(fd, true)
	case fionclex:
		return 0, tbl.SetCloseOnExec(fd, false)
	case fionbio:
		// Sets or clears O_NONBLOCK on any file, as do_vfs_ioctl does.
		if f.IsPath() {
			return 0, unix.EBADF
		}
		var b [4]byte
		if _, err := t.CopyIn(a[2], b[:]); err != nil {
			return 0, unix.EFAULT
		}
		fl := f.Flags() &^ unix.O_NONBLOCK
		if binary.LittleEndian.Uint32(b[:]) != 0 {
			fl |= unix.O_NONBLOCK
		}
		f.SetStatusFlags(fl)
		return 0, nil
	case fionread:
		// For regular files: the bytes between the position and the end.
		if i := f.Inode(); i != nil {
			st, err := i.Stat()
			if err != nil {
				return 0, err
			}
			if st.IsRegular() {
				pos, _ := f.Seek(0, unix.SEEK_CUR)
				var b [4]byte
				binary.LittleEndian.PutUint32(b[:], uint32(max(st.Size-pos, 0)))
				_, err := t.CopyOut(a[2], b[:])
				return 0, err
			}
			if st.IsDir() {
				return 0, unix.ENOTTY
			}
		}
	}
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if ep, ok := f.Impl.(tty.Endpoint); ok {
		if r, handled, err := ttyIoctl(t, ep, req, a[2]); handled {
			return r, err
		}
	}
	return f.Impl.Ioctl(t.MemoryManager(), req, a[2])
}

func copyOutStat(t *kernel.Task, addr uintptr, st *unix.Stat_t) error {
	b := unsafe.Slice((*byte)(unsafe.Pointer(st)), unsafe.Sizeof(*st))
	_, err := t.CopyOut(addr, b)
	return err
}

// sysFstat implements fstat(2).
func sysFstat(t *kernel.Task, a args) (uintptr, error) {
	f, err := t.ThreadGroup().FDTable.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	st, err := statOf(f)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStat(t, a[1], &st)
}
