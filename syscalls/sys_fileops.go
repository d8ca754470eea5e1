package syscalls

// Operations on open files: ftruncate(2), fallocate(2), fsync(2),
// fdatasync(2), sync(2), syncfs(2), flock(2), fcntl(2) record locks,
// sendfile(2), copy_file_range(2), memfd_create(2) and the xattr family
// (getxattr(2), setxattr(2), listxattr(2), removexattr(2)).

import (
	"encoding/binary"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/sentry/kernel"
)

func registerFileOps(t *Table) {
	t.add(unix.SYS_FTRUNCATE, sysFtruncate, "fd", 'd')
	t.add(unix.SYS_FALLOCATE, sysFallocate, "fxdd", 'd')
	t.add(unix.SYS_FSYNC, sysFsync, "f", 'd')
	t.add(unix.SYS_FDATASYNC, sysFsync, "f", 'd')
	t.add(unix.SYS_SYNC, sysSync, "", 'd')
	t.add(unix.SYS_SYNCFS, sysFsync, "f", 'd')
	t.add(unix.SYS_FLOCK, sysFlock, "fx", 'd')
	t.add(unix.SYS_SENDFILE, sysSendfile, "ffpu", 'd')
	t.add(unix.SYS_COPY_FILE_RANGE, sysCopyFileRange, "fpfpux", 'd')
	t.add(unix.SYS_MEMFD_CREATE, sysMemfdCreate, "sx", 'd')
	t.add(unix.SYS_GETXATTR, sysGetxattr, "ssBu", 'd')
	t.add(unix.SYS_LGETXATTR, sysLgetxattr, "ssBu", 'd')
	t.add(unix.SYS_FGETXATTR, sysFgetxattr, "fsBu", 'd')
	t.add(unix.SYS_SETXATTR, sysSetxattr, "ssbux", 'd')
	t.add(unix.SYS_LSETXATTR, sysLsetxattr, "ssbux", 'd')
	t.add(unix.SYS_FSETXATTR, sysFsetxattr, "fsbux", 'd')
	t.add(unix.SYS_LISTXATTR, sysListxattr, "spu", 'd')
	t.add(unix.SYS_LLISTXATTR, sysLlistxattr, "spu", 'd')
	t.add(unix.SYS_FLISTXATTR, sysFlistxattr, "fpu", 'd')
	t.add(unix.SYS_REMOVEXATTR, sysRemovexattr, "ss", 'd')
	t.add(unix.SYS_LREMOVEXATTR, sysLremovexattr, "ss", 'd')
	t.add(unix.SYS_FREMOVEXATTR, sysFremovexattr, "fs", 'd')
}

func getFile(t *kernel.Task, fd uintptr) (*vfs.FileDescription, error) {
	return t.ThreadGroup().FDTable.Get(int(int32(fd)))
}

// sysFtruncate implements ftruncate(2).
func sysFtruncate(t *kernel.Task, a args) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if int64(a[1]) < 0 {
		return 0, unix.EINVAL
	}
	i := f.Inode()
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if i == nil || !f.Writable() {
		return 0, unix.EINVAL
	}
	st, err := i.Stat()
	if err != nil {
		return 0, err
	}
	if !st.IsRegular() {
		return 0, unix.EINVAL
	}
	if f.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EPERM
	}
	return 0, i.SetStat(vfs.SetStat{Mask: vfs.SetSize, Size: int64(a[1])})
}

// allocator is implemented by files that support fallocate.
type allocator interface {
	Allocate(off, length int64) error
}

// sysFallocate implements fallocate(2) mode 0 (and FALLOC_FL_KEEP_SIZE,
// which is then a no-op: files here are never sparse on disk).
func sysFallocate(t *kernel.Task, a args) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	mode, off, length := int(int32(a[1])), int64(a[2]), int64(a[3])
	if off < 0 || length <= 0 || off+length < off {
		return 0, unix.EINVAL
	}
	if !f.Writable() || f.IsPath() {
		return 0, unix.EBADF
	}
	if i := f.Inode(); i != nil {
		if st, err := i.Stat(); err == nil && st.IsDir() {
			return 0, unix.EISDIR
		}
	}
	switch mode {
	case 0:
	case unix.FALLOC_FL_KEEP_SIZE:
		return 0, nil
	default:
		return 0, unix.EOPNOTSUPP
	}
	al, ok := f.Impl.(allocator)
	if !ok {
		if isPipeLike(f) {
			return 0, unix.ESPIPE
		}
		return 0, unix.ENODEV
	}
	return 0, al.Allocate(off, length)
}

// syncer is implemented by files backed by something to flush.
type syncer interface {
	Sync() error
}

// sysFsync implements fsync(2), fdatasync(2) and syncfs(2): memory-backed
// files have nothing to flush; host-backed files are flushed on the host.
func sysFsync(t *kernel.Task, a args) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if s, ok := f.Impl.(syncer); ok {
		return 0, s.Sync()
	}
	if isPipeLike(f) {
		return 0, unix.EINVAL
	}
	return 0, nil
}

// isPipeLike reports a pipe, FIFO or socket: files without storage.
func isPipeLike(f *vfs.FileDescription) bool {
	st, err := statOf(f)
	if err != nil {
		return false
	}
	t := st.Mode & unix.S_IFMT
	return t == unix.S_IFIFO || t == unix.S_IFSOCK
}

// sysSync implements sync(2).
func sysSync(t *kernel.Task, a args) (uintptr, error) { return 0, nil }

// flockTable holds flock(2) locks: per inode, the open file descriptions
// holding a shared or exclusive lock.
type flockTable struct {
	mu   sync.Mutex // guards held
	cond *sync.Cond
	held map[vfs.Inode]map[*vfs.FileDescription]bool // value: exclusive
}

var flocks = func() *flockTable {
	ft := &flockTable{held: make(map[vfs.Inode]map[*vfs.FileDescription]bool)}
	ft.cond = sync.NewCond(&ft.mu)
	return ft
}()

// sysFlock implements flock(2): locks belong to open file descriptions and
// go with LOCK_UN or the description's last close.
func sysFlock(t *kernel.Task, a args) (uintptr, error) {
	f, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	op := int(int32(a[1]))
	nb := op&unix.LOCK_NB != 0
	op &^= unix.LOCK_NB
	i := f.Inode()
	if i == nil {
		return 0, unix.EINVAL
	}
	ft := flocks
	ft.mu.Lock()
	defer ft.mu.Unlock()
	switch op {
	case unix.LOCK_UN:
		delete(ft.held[i], f)
		ft.cond.Broadcast()
		return 0, nil
	case unix.LOCK_SH, unix.LOCK_EX:
	default:
		return 0, unix.EINVAL
	}
	excl := op == unix.LOCK_EX
	for {
		conflict := false
		for other, oex := range ft.held[i] {
			if other != f && (excl || oex) {
				conflict = true
			}
		}
		if !conflict {
			break
		}
		if nb {
			return 0, unix.EWOULDBLOCK
		}
		ft.cond.Wait()
	}
	if ft.held[i] == nil {
		ft.held[i] = make(map[*vfs.FileDescription]bool)
	}
	if _, had := ft.held[i][f]; !had {
		f.OnRelease(func() {
			ft.mu.Lock()
			defer ft.mu.Unlock()
			delete(ft.held[i], f)
			if len(ft.held[i]) == 0 {
				delete(ft.held, i)
			}
			ft.cond.Broadcast()
		})
	}
	ft.held[i][f] = excl
	return 0, nil
}

// sendfileChunk is how much sendfile and copy_file_range move per step.
const sendfileChunk = 256 << 10

// copyBetween moves up to n bytes from in (at *inOff, or its position) to
// out (at *outOff, or its position). Between chunks it stops for a signal
// pending for t, as Linux's splice loop does: EINTR if nothing was moved.
func copyBetween(t *kernel.Task, in, out *vfs.FileDescription, inOff, outOff *int64, n int64) (int64, error) {
	buf := make([]byte, min(n, sendfileChunk))
	var done int64
	for done < n {
		if done > 0 && t.Pending()&^t.SigMask != 0 {
			break
		}
		b := buf[:min(int64(len(buf)), n-done)]
		var r int
		var err error
		if inOff != nil {
			r, err = in.Pread([][]byte{b}, *inOff)
		} else {
			r, err = in.Read([][]byte{b})
		}
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if r == 0 {
			break
		}
		var w int
		if outOff != nil {
			w, err = out.Pwrite([][]byte{b[:r]}, *outOff)
		} else {
			w, err = out.Write([][]byte{b[:r]})
		}
		if inOff != nil {
			*inOff += int64(w)
		}
		if outOff != nil {
			*outOff += int64(w)
		}
		done += int64(w)
		if err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, err
		}
		if w < r {
			break
		}
	}
	return done, nil
}

func readOff(t *kernel.Task, addr uintptr) (*int64, error) {
	if addr == 0 {
		return nil, nil
	}
	var b [8]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return nil, err
	}
	v := int64(binary.LittleEndian.Uint64(b[:]))
	if v < 0 {
		return nil, unix.EINVAL
	}
	return &v, nil
}

func writeOff(t *kernel.Task, addr uintptr, v *int64) error {
	if addr == 0 {
		return nil
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(*v))
	_, err := t.CopyOut(addr, b[:])
	return err
}

// canSendFrom says whether sendfile may read f: Linux needs the file to
// have splice_read, which regular files and block devices have, and of the
// character devices here /dev/zero, /dev/full, /dev/random and
// /dev/urandom; pipes, sockets, eventfds, /dev/null and the rest get
// EINVAL. (An eventfd sent to itself would otherwise loop for ever.)
func canSendFrom(f *vfs.FileDescription) bool {
	i := f.Inode()
	if i == nil {
		return false
	}
	st, err := i.Stat()
	if err != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFBLK:
		return true
	case unix.S_IFCHR:
		// Major 1 (mem): zero 5, full 7, random 8, urandom 9.
		major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
		return major == 1 && (minor == 5 || minor == 7 || minor == 8 || minor == 9)
	}
	return false
}

// sysSendfile implements sendfile(2).
func sysSendfile(t *kernel.Task, a args) (uintptr, error) {
	out, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer out.DecRef()
	in, err := getFile(t, a[1])
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	if !in.Readable() || !out.Writable() {
		return 0, unix.EBADF
	}
	off, err := readOff(t, a[2])
	if err != nil {
		return 0, err
	}
	if out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EINVAL
	}
	if !canSendFrom(in) {
		return 0, unix.EINVAL
	}
	n, err := copyBetween(t, in, out, off, nil, int64(min(a[3], maxRW)))
	if err != nil {
		return 0, err
	}
	return uintptr(n), writeOff(t, a[2], off)
}

// sysCopyFileRange implements copy_file_range(2).
func sysCopyFileRange(t *kernel.Task, a args) (uintptr, error) {
	if a[5] != 0 {
		return 0, unix.EINVAL
	}
	in, err := getFile(t, a[0])
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	out, err := getFile(t, a[2])
	if err != nil {
		return 0, err
	}
	defer out.DecRef()
	if !in.Readable() || !out.Writable() || in.IsPath() || out.IsPath() {
		return 0, unix.EBADF
	}
	if out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EBADF
	}
	for _, f := range []*vfs.FileDescription{in, out} {
		i := f.Inode()
		if i == nil {
			return 0, unix.EINVAL
		}
		st, err := i.Stat()
		if err != nil {
			return 0, err
		}
		if st.IsDir() {
			return 0, unix.EISDIR
		}
		if !st.IsRegular() {
			return 0, unix.EINVAL
		}
	}
	inOff, err := readOff(t, a[1])
	if err != nil {
		return 0, err
	}
	outOff, err := readOff(t, a[3])
	if err != nil {
		return 0, err
	}
	if in.Inode() == out.Inode() && inOff != nil && outOff != nil {
		n := int64(a[4])
		if *inOff < *outOff+n && *outOff < *inOff+n {
			return 0, unix.EINVAL
		}
	}
	n, err := copyBetween(t, in, out, inOff, outOff, int64(min(a[4], maxRW)))
	if err != nil {
		return 0, err
	}
	if err := writeOff(t, a[1], inOff); err != nil {
		return 0, err
	}
	return uintptr(n), writeOff(t, a[3], outOff)
}

// memfd_create(2) flags.
const (
	mfdCloexec      = 1
	mfdAllowSealing = 2
	mfdHugetlb      = 4
	mfdNoexecSeal   = 8
	mfdExec         = 0x10
)

// sysMemfdCreate implements memfd_create(2): an anonymous tmpfs file.
// Seals are accepted at creation but F_ADD_SEALS is not implemented yet.
func sysMemfdCreate(t *kernel.Task, a args) (uintptr, error) {
	flags := a[1]
	if flags&^(mfdCloexec|mfdAllowSealing|mfdHugetlb|mfdNoexecSeal|mfdExec) != 0 {
		return 0, unix.EINVAL
	}
	if flags&mfdHugetlb != 0 {
		return 0, unix.EINVAL
	}
	name, err := t.MemoryManager().CopyInString(a[0], 250)
	if err != nil {
		if err == unix.ENAMETOOLONG {
			return 0, unix.EINVAL
		}
		return 0, err
	}
	f, err := t.Kernel().NewMemfd(name, 0o777, flags&mfdAllowSealing != 0)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.ThreadGroup().FDTable.NewFD(0, f, flags&mfdCloexec != 0, nofile(t))
	if err == unix.EINVAL {
		err = unix.EMFILE
	}
	return uintptr(fd), err
}

// xattrTarget resolves the inode an xattr call names: a path (following the
// final symlink unless nofollow) or an open file.
func xattrTarget(t *kernel.Task, pathAddr uintptr, fd uintptr, usePath, nofollow bool) (vfs.Inode, bool, error) {
	if !usePath {
		f, err := getFile(t, fd)
		if err != nil {
			return nil, false, err
		}
		defer f.DecRef()
		if f.IsPath() || f.Inode() == nil {
			return nil, false, unix.EBADF
		}
		ro := f.VirtualDentry().Mount != nil && f.VirtualDentry().Mount.ReadOnly
		return f.Inode(), ro, nil
	}
	v, ctx, start, path, err := pathArgs(t, unix.AT_FDCWD, pathAddr)
	if err != nil {
		return nil, false, err
	}
	vd, err := v.Resolve(ctx, start, path, vfs.Resolve{NoFollow: nofollow})
	if err != nil {
		return nil, false, err
	}
	return vd.Dentry.Inode(), vd.Mount.ReadOnly, nil
}

func xattrName(t *kernel.Task, addr uintptr) (string, error) {
	name, err := t.MemoryManager().CopyInString(addr, 256)
	if err == unix.ENAMETOOLONG || (err == nil && (name == "" || len(name) > 255)) {
		return "", unix.ERANGE
	}
	return name, err
}

func doGetxattr(t *kernel.Task, a args, usePath, nofollow bool) (uintptr, error) {
	i, _, err := xattrTarget(t, a[0], a[0], usePath, nofollow)
	if err != nil {
		return 0, err
	}
	name, err := xattrName(t, a[1])
	if err != nil {
		return 0, err
	}
	if !strings.Contains(name, ".") {
		return 0, unix.EOPNOTSUPP
	}
	v, err := i.Getxattr(name)
	if err != nil {
		return 0, err
	}
	if a[3] == 0 {
		return uintptr(len(v)), nil
	}
	if uintptr(len(v)) > a[3] {
		return 0, unix.ERANGE
	}
	_, err = t.CopyOut(a[2], v)
	return uintptr(len(v)), err
}

func doSetxattr(t *kernel.Task, a args, usePath, nofollow bool) (uintptr, error) {
	flags := int(int32(a[4]))
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return 0, unix.EINVAL
	}
	i, ro, err := xattrTarget(t, a[0], a[0], usePath, nofollow)
	if err != nil {
		return 0, err
	}
	name, err := xattrName(t, a[1])
	if err != nil {
		return 0, err
	}
	if a[3] > 65536 {
		return 0, unix.E2BIG
	}
	val := make([]byte, a[3])
	if _, err := t.CopyIn(a[2], val); err != nil {
		return 0, err
	}
	if ro {
		return 0, unix.EROFS
	}
	if !strings.Contains(name, ".") {
		return 0, unix.EOPNOTSUPP
	}
	if err := checkXattrPerm(t, i, name); err != nil {
		return 0, err
	}
	return 0, i.Setxattr(name, val, flags)
}

// checkXattrPerm applies xattr(7)'s rules for writing: user.* needs write
// permission on a regular file or directory; trusted.* and security.* need
// privilege.
func checkXattrPerm(t *kernel.Task, i vfs.Inode, name string) error {
	st, err := i.Stat()
	if err != nil {
		return err
	}
	c := t.FSCreds()
	if strings.HasPrefix(name, "user.") {
		if !st.IsRegular() && !st.IsDir() {
			return unix.EPERM
		}
		return vfs.CheckPermission(c, &st, vfs.MayWrite)
	}
	if !c.Privileged() {
		return unix.EPERM
	}
	return nil
}

func doListxattr(t *kernel.Task, a args, usePath, nofollow bool) (uintptr, error) {
	i, _, err := xattrTarget(t, a[0], a[0], usePath, nofollow)
	if err != nil {
		return 0, err
	}
	names, err := i.Listxattr()
	if err != nil {
		return 0, err
	}
	sort.Strings(names)
	var b []byte
	for _, n := range names {
		b = append(append(b, n...), 0)
	}
	if a[2] == 0 {
		return uintptr(len(b)), nil
	}
	if uintptr(len(b)) > a[2] {
		return 0, unix.ERANGE
	}
	_, err = t.CopyOut(a[1], b)
	return uintptr(len(b)), err
}

func doRemovexattr(t *kernel.Task, a args, usePath, nofollow bool) (uintptr, error) {
	i, ro, err := xattrTarget(t, a[0], a[0], usePath, nofollow)
	if err != nil {
		return 0, err
	}
	name, err := xattrName(t, a[1])
	if err != nil {
		return 0, err
	}
	if ro {
		return 0, unix.EROFS
	}
	if err := checkXattrPerm(t, i, name); err != nil {
		return 0, err
	}
	return 0, i.Removexattr(name)
}

func sysGetxattr(t *kernel.Task, a args) (uintptr, error)  { return doGetxattr(t, a, true, false) }
func sysLgetxattr(t *kernel.Task, a args) (uintptr, error) { return doGetxattr(t, a, true, true) }
func sysFgetxattr(t *kernel.Task, a args) (uintptr, error) { return doGetxattr(t, a, false, false) }
func sysSetxattr(t *kernel.Task, a args) (uintptr, error)  { return doSetxattr(t, a, true, false) }
func sysLsetxattr(t *kernel.Task, a args) (uintptr, error) { return doSetxattr(t, a, true, true) }
func sysFsetxattr(t *kernel.Task, a args) (uintptr, error) { return doSetxattr(t, a, false, false) }
func sysListxattr(t *kernel.Task, a args) (uintptr, error) { return doListxattr(t, a, true, false) }
func sysLlistxattr(t *kernel.Task, a args) (uintptr, error) {
	return doListxattr(t, a, true, true)
}
func sysFlistxattr(t *kernel.Task, a args) (uintptr, error) {
	return doListxattr(t, a, false, false)
}
func sysRemovexattr(t *kernel.Task, a args) (uintptr, error) {
	return doRemovexattr(t, a, true, false)
}
func sysLremovexattr(t *kernel.Task, a args) (uintptr, error) {
	return doRemovexattr(t, a, true, true)
}
func sysFremovexattr(t *kernel.Task, a args) (uintptr, error) {
	return doRemovexattr(t, a, false, false)
}
