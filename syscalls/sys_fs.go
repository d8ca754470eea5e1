package syscalls

// Paths and the namespace: open(2), openat(2), openat2(2), creat(2),
// close_range(2), lseek(2), stat(2) family and statx(2), access(2) family,
// getdents64(2), readlink(2), mkdir(2), rmdir(2), unlink(2), rename(2)
// family, link(2), symlink(2), chmod(2) and chown(2) families, utimensat(2),
// futimesat(2), utimes(2), utime(2), truncate(2), chdir(2), fchdir(2),
// getcwd(2), chroot(2), umask(2), statfs(2), mknod(2).
//
// Path semantics live in fs/vfs; these handlers decode arguments, pick the
// starting directory and encode results.

import (
	"encoding/binary"
	"strings"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/sentry/kernel"
)

func registerFS(t *Table) {
	t.add(unix.SYS_OPEN, sysOpen, "sxo", 'd')
	t.add(unix.SYS_OPENAT, sysOpenat, "fsxo", 'd')
	t.add(unix.SYS_OPENAT2, sysOpenat2, "fspu", 'd')
	t.add(unix.SYS_CREAT, sysCreat, "so", 'd')
	t.add(unix.SYS_CLOSE_RANGE, sysCloseRange, "uux", 'd')
	t.add(unix.SYS_LSEEK, sysLseek, "fdd", 'd')
	t.add(unix.SYS_STAT, sysStat, "sp", 'd')
	t.add(unix.SYS_LSTAT, sysLstat, "sp", 'd')
	t.add(unix.SYS_STATX, sysStatx, "fsxxp", 'd')
	t.add(unix.SYS_ACCESS, sysAccess, "so", 'd')
	t.add(unix.SYS_FACCESSAT, sysFaccessat, "fso", 'd')
	t.add(unix.SYS_FACCESSAT2, sysFaccessat2, "fsox", 'd')
	t.add(unix.SYS_GETDENTS64, sysGetdents64, "fpu", 'd')
	t.add(unix.SYS_READLINK, sysReadlink, "sBu", 'd')
	t.add(unix.SYS_READLINKAT, sysReadlinkat, "fsBu", 'd')
	t.add(unix.SYS_MKDIR, sysMkdir, "so", 'd')
	t.add(unix.SYS_MKDIRAT, sysMkdirat, "fso", 'd')
	t.add(unix.SYS_RMDIR, sysRmdir, "s", 'd')
	t.add(unix.SYS_UNLINK, sysUnlink, "s", 'd')
	t.add(unix.SYS_UNLINKAT, sysUnlinkat, "fsx", 'd')
	t.add(unix.SYS_RENAME, sysRename, "ss", 'd')
	t.add(unix.SYS_RENAMEAT, sysRenameat, "fsfs", 'd')
	t.add(unix.SYS_RENAMEAT2, sysRenameat2, "fsfsx", 'd')
	t.add(unix.SYS_LINK, sysLink, "ss", 'd')
	t.add(unix.SYS_LINKAT, sysLinkat, "fsfsx", 'd')
	t.add(unix.SYS_SYMLINK, sysSymlink, "ss", 'd')
	t.add(unix.SYS_SYMLINKAT, sysSymlinkat, "sfs", 'd')
	t.add(unix.SYS_CHMOD, sysChmod, "so", 'd')
	t.add(unix.SYS_FCHMOD, sysFchmod, "fo", 'd')
	t.add(unix.SYS_FCHMODAT, sysFchmodat, "fso", 'd')
	t.add(452, sysFchmodat2, "fsox", 'd')
	t.add(unix.SYS_CHOWN, sysChown, "sdd", 'd')
	t.add(unix.SYS_LCHOWN, sysLchown, "sdd", 'd')
	t.add(unix.SYS_FCHOWN, sysFchown, "fdd", 'd')
	t.add(unix.SYS_FCHOWNAT, sysFchownat, "fsddx", 'd')
	t.add(unix.SYS_UTIMENSAT, sysUtimensat, "fspx", 'd')
	t.add(unix.SYS_FUTIMESAT, sysFutimesat, "fsp", 'd')
	t.add(unix.SYS_UTIMES, sysUtimes, "sp", 'd')
	t.add(unix.SYS_UTIME, sysUtime, "sp", 'd')
	t.add(unix.SYS_TRUNCATE, sysTruncate, "sd", 'd')
	t.add(unix.SYS_CHDIR, sysChdir, "s", 'd')
	t.add(unix.SYS_FCHDIR, sysFchdir, "f", 'd')
	t.add(unix.SYS_CHROOT, sysChroot, "s", 'd')
	t.add(unix.SYS_UMASK, sysUmask, "o", 'o')
	t.add(unix.SYS_STATFS, sysStatfs, "sp", 'd')
	t.add(unix.SYS_FSTATFS, sysFstatfs, "fp", 'd')
	t.add(unix.SYS_MKNOD, sysMknod, "sox", 'd')
	t.add(unix.SYS_MKNODAT, sysMknodat, "fsox", 'd')
}

// copyInPath reads a path argument (ENAMETOOLONG beyond PATH_MAX).
func copyInPath(t *kernel.Task, addr uintptr) (string, error) {
	return t.MemoryManager().CopyInString(addr, vfs.MaxPath)
}

func fsOf(t *kernel.Task) (*vfs.VFS, error) {
	v := t.Kernel().VFS
	if v == nil {
		return nil, unix.ENOSYS
	}
	return v, nil
}

// startAt returns where a relative path starts: the working directory for
// AT_FDCWD, otherwise the directory open at dirfd.
func startAt(t *kernel.Task, ctx *vfs.Context, dirfd int, path string) (vfs.VirtualDentry, error) {
	if strings.HasPrefix(path, "/") {
		return ctx.Root, nil
	}
	if dirfd == unix.AT_FDCWD {
		return ctx.Cwd, nil
	}
	f, err := t.ThreadGroup().FDTable.Get(dirfd)
	if err != nil {
		return vfs.VirtualDentry{}, err
	}
	defer f.DecRef()
	vd := f.VirtualDentry()
	if !vd.Ok() {
		return vfs.VirtualDentry{}, unix.ENOTDIR
	}
	if path != "" {
		st, err := vd.Dentry.Inode().Stat()
		if err != nil {
			return vfs.VirtualDentry{}, err
		}
		if !st.IsDir() {
			return vfs.VirtualDentry{}, unix.ENOTDIR
		}
	}
	return vd, nil
}

// pathArgs decodes (dirfd, path) into a context and starting point.
func pathArgs(t *kernel.Task, dirfd int, addr uintptr) (*vfs.VFS, *vfs.Context, vfs.VirtualDentry, string, error) {
	v, err := fsOf(t)
	if err != nil {
		return nil, nil, vfs.VirtualDentry{}, "", err
	}
	path, err := copyInPath(t, addr)
	if err != nil {
		return nil, nil, vfs.VirtualDentry{}, "", err
	}
	ctx := t.VFSContext()
	start, err := startAt(t, ctx, dirfd, path)
	return v, ctx, start, path, err
}

// emptyPathTarget returns the file at dirfd for AT_EMPTY_PATH.
func emptyPathTarget(t *kernel.Task, ctx *vfs.Context, dirfd int) (vfs.VirtualDentry, *vfs.FileDescription, error) {
	if dirfd == unix.AT_FDCWD {
		return ctx.Cwd, nil, nil
	}
	f, err := t.ThreadGroup().FDTable.Get(dirfd)
	if err != nil {
		return vfs.VirtualDentry{}, nil, err
	}
	return f.VirtualDentry(), f, nil
}

// emptyPathAsName turns an AT_EMPTY_PATH operand (the file open at dirfd)
// into a start and a name the path walk can use: the file's parent and
// name, or the directory itself and ".". release drops the file reference.
func emptyPathAsName(t *kernel.Task, ctx *vfs.Context, dirfd int) (vfs.VirtualDentry, string, func(), error) {
	vd, f, err := emptyPathTarget(t, ctx, dirfd)
	release := func() {
		if f != nil {
			f.DecRef()
		}
	}
	if err != nil {
		return vd, "", release, err
	}
	if !vd.Ok() {
		release()
		return vd, "", func() {}, unix.ENOENT
	}
	if st, err := vd.Dentry.Inode().Stat(); err == nil && !st.IsDir() && vd.Dentry.Parent() != nil {
		return vfs.VirtualDentry{Mount: vd.Mount, Dentry: vd.Dentry.Parent()}, vd.Dentry.Name(), release, nil
	}
	return vd, ".", release, nil
}

// openFlagsValid are the flags open(2) knows.
const openFlagsValid = unix.O_ACCMODE | unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC |
	unix.O_APPEND | unix.O_NONBLOCK | unix.O_DSYNC | unix.O_ASYNC | unix.O_DIRECT | unix.O_LARGEFILE |
	unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NOATIME | unix.O_CLOEXEC | unix.O_SYNC | unix.O_PATH | unix.O_TMPFILE

func doOpen(t *kernel.Task, dirfd int, addr uintptr, flags int, mode uint32, res vfs.Resolve) (uintptr, error) {
	v, ctx, start, path, err := pathArgs(t, dirfd, addr)
	if err != nil {
		return 0, err
	}
	if (res.InRoot || res.Beneath) && strings.HasPrefix(path, "/") {
		// The starting directory is the root (or the fence) even for an
		// absolute path.
		if start, err = startAt(t, ctx, dirfd, "."); err != nil {
			return 0, err
		}
	}
	if flags&unix.O_TMPFILE == unix.O_TMPFILE {
		t.Kernel().Log.Info("O_TMPFILE not implemented")
		return 0, unix.EOPNOTSUPP
	}
	if flags&unix.O_PATH != 0 {
		flags &= unix.O_PATH | unix.O_CLOEXEC | unix.O_DIRECTORY | unix.O_NOFOLLOW
	}
	f, err := v.OpenAt(ctx, start, path, flags, mode, res)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.ThreadGroup().FDTable.NewFD(0, f, flags&unix.O_CLOEXEC != 0, nofile(t))
	if err == unix.EINVAL {
		err = unix.EMFILE
	}
	if err == nil && flags&(unix.O_NOCTTY|unix.O_PATH) == 0 {
		acquireTTY(t, f)
	}
	return uintptr(fd), err
}

// sysOpen implements open(2).
func sysOpen(t *kernel.Task, a args) (uintptr, error) {
	return doOpen(t, unix.AT_FDCWD, a[0], int(int32(a[1])), uint32(a[2]), vfs.Resolve{})
}

// sysOpenat implements openat(2).
func sysOpenat(t *kernel.Task, a args) (uintptr, error) {
	return doOpen(t, int(int32(a[0])), a[1], int(int32(a[2])), uint32(a[3]), vfs.Resolve{})
}

// sysCreat implements creat(2).
func sysCreat(t *kernel.Task, a args) (uintptr, error) {
	return doOpen(t, unix.AT_FDCWD, a[0], unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, uint32(a[1]), vfs.Resolve{})
}

// openat2(2) RESOLVE_ flags.
const (
	resolveNoXdev       = 0x01
	resolveNoMagiclinks = 0x02
	resolveNoSymlinks   = 0x04
	resolveBeneath      = 0x08
	resolveInRoot       = 0x10
	resolveCached       = 0x20
	openHowSize         = 24
)

// sysOpenat2 implements openat2(2). RESOLVE_NO_MAGICLINKS is satisfied
// trivially (procfs links are plain symlinks here); RESOLVE_CACHED is
// accepted and ignored.
func sysOpenat2(t *kernel.Task, a args) (uintptr, error) {
	size := a[3]
	if size < openHowSize {
		return 0, unix.EINVAL
	}
	if size > 4096 {
		return 0, unix.E2BIG
	}
	buf := make([]byte, size)
	if _, err := t.CopyIn(a[2], buf); err != nil {
		return 0, err
	}
	for _, b := range buf[openHowSize:] {
		if b != 0 {
			return 0, unix.E2BIG
		}
	}
	flags := binary.LittleEndian.Uint64(buf[0:])
	mode := binary.LittleEndian.Uint64(buf[8:])
	resolve := binary.LittleEndian.Uint64(buf[16:])
	if flags&^uint64(openFlagsValid) != 0 || mode&^0o7777 != 0 {
		return 0, unix.EINVAL
	}
	if mode != 0 && flags&unix.O_CREAT == 0 && flags&unix.O_TMPFILE != unix.O_TMPFILE {
		return 0, unix.EINVAL
	}
	if resolve&^(resolveNoXdev|resolveNoMagiclinks|resolveNoSymlinks|resolveBeneath|resolveInRoot|resolveCached) != 0 {
		return 0, unix.EINVAL
	}
	if resolve&resolveBeneath != 0 && resolve&resolveInRoot != 0 {
		return 0, unix.EINVAL
	}
	res := vfs.Resolve{
		NoXdev:     resolve&resolveNoXdev != 0,
		NoSymlinks: resolve&resolveNoSymlinks != 0,
		Beneath:    resolve&resolveBeneath != 0,
		InRoot:     resolve&resolveInRoot != 0,
	}
	return doOpen(t, int(int32(a[0])), a[1], int(flags), uint32(mode), res)
}

// close_range(2) flags.
const (
	closeRangeUnshare = 2
	closeRangeCloexec = 4
)

// sysCloseRange implements close_range(2).
func sysCloseRange(t *kernel.Task, a args) (uintptr, error) {
	first, last, flags := uint32(a[0]), uint32(a[1]), a[2]
	if flags&^(closeRangeUnshare|closeRangeCloexec) != 0 || first > last {
		return 0, unix.EINVAL
	}
	l := int(last)
	if last > 1<<30 {
		l = 1 << 30
	}
	t.ThreadGroup().FDTable.CloseRange(int(first), l, flags&closeRangeCloexec != 0)
	return 0, nil
}

// sysLseek implements lseek(2).
func sysLseek(t *kernel.Task, a args) (uintptr, error) {
	f, err := t.ThreadGroup().FDTable.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off, err := f.Seek(int64(a[1]), int(int32(a[2])))
	return uintptr(off), err
}

// statOf returns the stat of an open file: its inode's if it has one.
func statOf(f *vfs.FileDescription) (unix.Stat_t, error) {
	if i := f.Inode(); i != nil {
		return vfs.StatToUnix(i)
	}
	if f.IsPath() {
		return unix.Stat_t{}, unix.EBADF
	}
	return f.Impl.Stat()
}

func statPath(t *kernel.Task, dirfd int, addr uintptr, flags int) (unix.Stat_t, error) {
	v, err := fsOf(t)
	if err != nil {
		return unix.Stat_t{}, err
	}
	path, err := copyInPath(t, addr)
	if err != nil {
		return unix.Stat_t{}, err
	}
	ctx := t.VFSContext()
	if path == "" {
		if flags&unix.AT_EMPTY_PATH == 0 {
			return unix.Stat_t{}, unix.ENOENT
		}
		vd, f, err := emptyPathTarget(t, ctx, dirfd)
		if err != nil {
			return unix.Stat_t{}, err
		}
		if f != nil {
			defer f.DecRef()
			return statOf(f)
		}
		return vfs.StatToUnix(vd.Dentry.Inode())
	}
	start, err := startAt(t, ctx, dirfd, path)
	if err != nil {
		return unix.Stat_t{}, err
	}
	vd, err := v.Resolve(ctx, start, path, vfs.Resolve{NoFollow: flags&unix.AT_SYMLINK_NOFOLLOW != 0})
	if err != nil {
		return unix.Stat_t{}, err
	}
	return vfs.StatToUnix(vd.Dentry.Inode())
}

// sysStat implements stat(2).
func sysStat(t *kernel.Task, a args) (uintptr, error) {
	st, err := statPath(t, unix.AT_FDCWD, a[0], 0)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStat(t, a[1], &st)
}

// sysLstat implements lstat(2).
func sysLstat(t *kernel.Task, a args) (uintptr, error) {
	st, err := statPath(t, unix.AT_FDCWD, a[0], unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStat(t, a[1], &st)
}

const (
	statxReserved   = 0x80000000
	atStatxSyncType = 0x6000
)

// sysStatx implements statx(2): the basic fields; no birth time.
func sysStatx(t *kernel.Task, a args) (uintptr, error) {
	dirfd, flags, mask := int(int32(a[0])), int(int32(a[2])), uint32(a[3])
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|atStatxSyncType) != 0 ||
		flags&atStatxSyncType == atStatxSyncType || mask&statxReserved != 0 {
		return 0, unix.EINVAL
	}
	st, err := statPath(t, dirfd, a[1], flags)
	if err != nil {
		return 0, err
	}
	var b [256]byte
	le := binary.LittleEndian
	le.PutUint32(b[0:], unix.STATX_BASIC_STATS)
	le.PutUint32(b[4:], uint32(st.Blksize))
	le.PutUint32(b[16:], uint32(st.Nlink))
	le.PutUint32(b[20:], st.Uid)
	le.PutUint32(b[24:], st.Gid)
	binary.LittleEndian.PutUint16(b[28:], uint16(st.Mode))
	le.PutUint64(b[32:], st.Ino)
	le.PutUint64(b[40:], uint64(st.Size))
	le.PutUint64(b[48:], uint64(st.Blocks))
	putTs := func(off int, ts unix.Timespec) {
		le.PutUint64(b[off:], uint64(ts.Sec))
		le.PutUint32(b[off+8:], uint32(ts.Nsec))
	}
	putTs(64, st.Atim)
	putTs(96, st.Ctim)
	putTs(112, st.Mtim)
	le.PutUint32(b[128:], unix.Major(st.Rdev))
	le.PutUint32(b[132:], unix.Minor(st.Rdev))
	le.PutUint32(b[136:], unix.Major(st.Dev))
	le.PutUint32(b[140:], unix.Minor(st.Dev))
	_, err = t.CopyOut(a[4], b[:])
	return 0, err
}

// sysNewfstatatPath implements fstatat(2).
func sysNewfstatatPath(t *kernel.Task, a args) (uintptr, error) {
	flags := int(int32(a[3]))
	if flags&^(unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT) != 0 {
		return 0, unix.EINVAL
	}
	st, err := statPath(t, int(int32(a[0])), a[1], flags)
	if err != nil {
		return 0, err
	}
	return 0, copyOutStat(t, a[2], &st)
}

func doAccess(t *kernel.Task, dirfd int, addr uintptr, mode uint32, flags int) (uintptr, error) {
	if mode&^7 != 0 || flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	v, ctx, start, path, err := pathArgs(t, dirfd, addr)
	if err != nil {
		return 0, err
	}
	if flags&unix.AT_EACCESS == 0 {
		// access(2) checks with the real ids.
		ctx.Creds = &vfs.Creds{UID: t.Creds.RUID, GID: t.Creds.RGID, Groups: t.Creds.Groups}
	}
	if path == "" {
		if flags&unix.AT_EMPTY_PATH == 0 {
			return 0, unix.ENOENT
		}
		vd, f, err := emptyPathTarget(t, ctx, dirfd)
		if err != nil {
			return 0, err
		}
		if f != nil {
			f.DecRef()
		}
		st, err := vd.Dentry.Inode().Stat()
		if err != nil {
			return 0, err
		}
		return 0, vfs.CheckPermission(ctx.Creds, &st, mode)
	}
	return 0, v.AccessAt(ctx, start, path, mode, vfs.Resolve{NoFollow: flags&unix.AT_SYMLINK_NOFOLLOW != 0})
}

// sysAccess implements access(2).
func sysAccess(t *kernel.Task, a args) (uintptr, error) {
	return doAccess(t, unix.AT_FDCWD, a[0], uint32(a[1]), 0)
}

// sysFaccessat implements faccessat(2) (no flags argument).
func sysFaccessat(t *kernel.Task, a args) (uintptr, error) {
	return doAccess(t, int(int32(a[0])), a[1], uint32(a[2]), 0)
}

// sysFaccessat2 implements faccessat2(2).
func sysFaccessat2(t *kernel.Task, a args) (uintptr, error) {
	return doAccess(t, int(int32(a[0])), a[1], uint32(a[2]), int(int32(a[3])))
}

// sysGetdents64 implements getdents64(2).
func sysGetdents64(t *kernel.Task, a args) (uintptr, error) {
	f, err := t.ThreadGroup().FDTable.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.IsPath() {
		return 0, unix.EBADF
	}
	if i := f.Inode(); i == nil {
		return 0, unix.ENOTDIR
	} else if st, err := i.Stat(); err != nil {
		return 0, err
	} else if !st.IsDir() {
		return 0, unix.ENOTDIR
	}
	count := int(min(a[2], 1<<20))
	buf := make([]byte, 0, count)
	tooSmall := false
	err = f.ReadDir(func(d vfs.Dirent, next int64) bool {
		reclen := (19 + len(d.Name) + 1 + 7) &^ 7
		if len(buf)+reclen > count {
			if len(buf) == 0 {
				tooSmall = true
			}
			return false
		}
		start := len(buf)
		var h [19]byte
		binary.LittleEndian.PutUint64(h[0:], d.Ino)
		binary.LittleEndian.PutUint64(h[8:], uint64(next))
		binary.LittleEndian.PutUint16(h[16:], uint16(reclen))
		h[18] = d.Type
		buf = append(buf, h[:]...)
		buf = append(buf, d.Name...)
		for len(buf) < start+reclen {
			buf = append(buf, 0)
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	if tooSmall {
		return 0, unix.EINVAL
	}
	if _, err := t.CopyOut(a[1], buf); err != nil {
		return 0, err
	}
	return uintptr(len(buf)), nil
}

func doReadlink(t *kernel.Task, dirfd int, addr, buf, size uintptr) (uintptr, error) {
	if int(int32(size)) <= 0 {
		return 0, unix.EINVAL
	}
	v, ctx, start, path, err := pathArgs(t, dirfd, addr)
	if err != nil {
		return 0, err
	}
	var target string
	if path == "" {
		vd, f, err := emptyPathTarget(t, ctx, dirfd)
		if err != nil {
			return 0, err
		}
		if f != nil {
			defer f.DecRef()
		}
		if !vd.Ok() {
			return 0, unix.ENOENT
		}
		if target, err = vd.Dentry.Inode().Readlink(); err != nil {
			return 0, unix.ENOENT
		}
	} else if target, err = v.ReadlinkAt(ctx, start, path); err != nil {
		return 0, err
	}
	b := []byte(target)
	if uintptr(len(b)) > size {
		b = b[:size]
	}
	_, err = t.CopyOut(buf, b)
	return uintptr(len(b)), err
}

// sysReadlink implements readlink(2).
func sysReadlink(t *kernel.Task, a args) (uintptr, error) {
	return doReadlink(t, unix.AT_FDCWD, a[0], a[1], a[2])
}

// sysReadlinkat implements readlinkat(2).
func sysReadlinkat(t *kernel.Task, a args) (uintptr, error) {
	return doReadlink(t, int(int32(a[0])), a[1], a[2], a[3])
}

func doMkdir(t *kernel.Task, dirfd int, addr uintptr, mode uint32) (uintptr, error) {
	v, ctx, start, path, err := pathArgs(t, dirfd, addr)
	if err != nil {
		return 0, err
	}
	return 0, v.MkdirAt(ctx, start, path, mode)
}

// sysMkdir implements mkdir(2).
func sysMkdir(t *kernel.Task, a args) (uintptr, error) {
	return doMkdir(t, unix.AT_FDCWD, a[0], uint32(a[1]))
}

// sysMkdirat implements mkdirat(2).
func sysMkdirat(t *kernel.Task, a args) (uintptr, error) {
	return doMkdir(t, int(int32(a[0])), a[1], uint32(a[2]))
}

// sysRmdir implements rmdir(2).
func sysRmdir(t *kernel.Task, a args) (uintptr, error) {
	v, ctx, start, path, err := pathArgs(t, unix.AT_FDCWD, a[0])
	if err != nil {
		return 0, err
	}
	return 0, v.RmdirAt(ctx, start, path)
}

// sysUnlink implements unlink(2).
func sysUnlink(t *kernel.Task, a args) (uintptr, error) {
	return sysUnlinkat(t, args{uintptr(unix.AT_FDCWD & 0xffffffff), a[0], 0})
}

// sysUnlinkat implements unlinkat(2).
func sysUnlinkat(t *kernel.Task, a args) (uintptr, error) {
	flags := int(int32(a[2]))
	if flags&^unix.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	v, ctx, start, path, err := pathArgs(t, int(int32(a[0])), a[1])
	if err != nil {
		return 0, err
	}
	if flags&unix.AT_REMOVEDIR != 0 {
		return 0, v.RmdirAt(ctx, start, path)
	}
	return 0, v.UnlinkAt(ctx, start, path)
}

func doRename(t *kernel.Task, olddirfd int, oldAddr uintptr, newdirfd int, newAddr uintptr, flags uint) (uintptr, error) {
	v, ctx, ostart, opath, err := pathArgs(t, olddirfd, oldAddr)
	if err != nil {
		return 0, err
	}
	npath, err := copyInPath(t, newAddr)
	if err != nil {
		return 0, err
	}
	nstart, err := startAt(t, ctx, newdirfd, npath)
	if err != nil {
		return 0, err
	}
	if opath == "" || npath == "" {
		return 0, unix.ENOENT
	}
	return 0, v.RenameAt(ctx, ostart, opath, nstart, npath, flags)
}

// sysRename implements rename(2).
func sysRename(t *kernel.Task, a args) (uintptr, error) {
	return doRename(t, unix.AT_FDCWD, a[0], unix.AT_FDCWD, a[1], 0)
}

// sysRenameat implements renameat(2).
func sysRenameat(t *kernel.Task, a args) (uintptr, error) {
	return doRename(t, int(int32(a[0])), a[1], int(int32(a[2])), a[3], 0)
}

// sysRenameat2 implements renameat2(2).
func sysRenameat2(t *kernel.Task, a args) (uintptr, error) {
	return doRename(t, int(int32(a[0])), a[1], int(int32(a[2])), a[3], uint(uint32(a[4])))
}

func doLink(t *kernel.Task, olddirfd int, oldAddr uintptr, newdirfd int, newAddr uintptr, flags int) (uintptr, error) {
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	v, ctx, ostart, opath, err := pathArgs(t, olddirfd, oldAddr)
	if err != nil {
		return 0, err
	}
	npath, err := copyInPath(t, newAddr)
	if err != nil {
		return 0, err
	}
	nstart, err := startAt(t, ctx, newdirfd, npath)
	if err != nil {
		return 0, err
	}
	if opath == "" {
		if flags&unix.AT_EMPTY_PATH == 0 {
			return 0, unix.ENOENT
		}
		var release func()
		ostart, opath, release, err = emptyPathAsName(t, ctx, olddirfd)
		if err != nil {
			return 0, err
		}
		defer release()
	}
	return 0, v.LinkAt(ctx, ostart, opath, flags&unix.AT_SYMLINK_FOLLOW != 0, nstart, npath)
}

// sysLink implements link(2).
func sysLink(t *kernel.Task, a args) (uintptr, error) {
	return doLink(t, unix.AT_FDCWD, a[0], unix.AT_FDCWD, a[1], 0)
}

// sysLinkat implements linkat(2).
func sysLinkat(t *kernel.Task, a args) (uintptr, error) {
	return doLink(t, int(int32(a[0])), a[1], int(int32(a[2])), a[3], int(int32(a[4])))
}

func doSymlink(t *kernel.Task, targetAddr uintptr, dirfd int, addr uintptr) (uintptr, error) {
	target, err := copyInPath(t, targetAddr)
	if err != nil {
		return 0, err
	}
	v, ctx, start, path, err := pathArgs(t, dirfd, addr)
	if err != nil {
		return 0, err
	}
	return 0, v.SymlinkAt(ctx, target, start, path)
}

// sysSymlink implements symlink(2).
func sysSymlink(t *kernel.Task, a args) (uintptr, error) {
	return doSymlink(t, a[0], unix.AT_FDCWD, a[1])
}

// sysSymlinkat implements symlinkat(2).
func sysSymlinkat(t *kernel.Task, a args) (uintptr, error) {
	return doSymlink(t, a[0], int(int32(a[1])), a[2])
}

// setStatPath resolves (dirfd, path) — or the file at dirfd for an empty
// path with AT_EMPTY_PATH — and applies s.
func setStatPath(t *kernel.Task, dirfd int, addr uintptr, flags int, s vfs.SetStat, timesNow bool) error {
	v, err := fsOf(t)
	if err != nil {
		return err
	}
	ctx := t.VFSContext()
	var vd vfs.VirtualDentry
	path := ""
	if addr != 0 {
		if path, err = copyInPath(t, addr); err != nil {
			return err
		}
	}
	if path == "" {
		if addr != 0 && flags&unix.AT_EMPTY_PATH == 0 {
			return unix.ENOENT
		}
		var f *vfs.FileDescription
		if vd, f, err = emptyPathTarget(t, ctx, dirfd); err != nil {
			return err
		}
		if f != nil {
			defer f.DecRef()
		}
		if !vd.Ok() {
			return unix.EBADF
		}
	} else {
		start, err := startAt(t, ctx, dirfd, path)
		if err != nil {
			return err
		}
		if vd, err = v.Resolve(ctx, start, path, vfs.Resolve{NoFollow: flags&unix.AT_SYMLINK_NOFOLLOW != 0}); err != nil {
			return err
		}
	}
	return vfs.SetStatChecked(ctx, vd, s, timesNow)
}

// setStatFD applies s to the file open at fd.
func setStatFD(t *kernel.Task, fd int, s vfs.SetStat, timesNow bool) error {
	f, err := t.ThreadGroup().FDTable.Get(fd)
	if err != nil {
		return err
	}
	defer f.DecRef()
	vd := f.VirtualDentry()
	if !vd.Ok() {
		return unix.EBADF
	}
	if f.IsPath() {
		return unix.EBADF
	}
	return vfs.SetStatChecked(t.VFSContext(), vd, s, timesNow)
}

// sysChmod implements chmod(2).
func sysChmod(t *kernel.Task, a args) (uintptr, error) {
	return 0, setStatPath(t, unix.AT_FDCWD, a[0], 0, vfs.SetStat{Mask: vfs.SetMode, Mode: uint32(a[1]) & 0o7777}, false)
}

// sysFchmod implements fchmod(2).
func sysFchmod(t *kernel.Task, a args) (uintptr, error) {
	return 0, setStatFD(t, int(int32(a[0])), vfs.SetStat{Mask: vfs.SetMode, Mode: uint32(a[1]) & 0o7777}, false)
}

// sysFchmodat implements fchmodat(2) (the syscall has no flags).
func sysFchmodat(t *kernel.Task, a args) (uintptr, error) {
	return 0, setStatPath(t, int(int32(a[0])), a[1], 0, vfs.SetStat{Mask: vfs.SetMode, Mode: uint32(a[2]) & 0o7777}, false)
}

// sysFchmodat2 implements fchmodat2: AT_SYMLINK_NOFOLLOW on a symlink is
// EOPNOTSUPP, as symlink modes cannot change on Linux.
func sysFchmodat2(t *kernel.Task, a args) (uintptr, error) {
	flags := int(int32(a[3]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		st, err := statPath(t, int(int32(a[0])), a[1], flags)
		if err != nil {
			return 0, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return 0, unix.EOPNOTSUPP
		}
	}
	return 0, setStatPath(t, int(int32(a[0])), a[1], flags, vfs.SetStat{Mask: vfs.SetMode, Mode: uint32(a[2]) & 0o7777}, false)
}

func chownStat(uid, gid uintptr) vfs.SetStat {
	var s vfs.SetStat
	if int32(uid) != -1 {
		s.Mask |= vfs.SetUID
		s.UID = uint32(uid)
	}
	if int32(gid) != -1 {
		s.Mask |= vfs.SetGID
		s.GID = uint32(gid)
	}
	return s
}

// sysChown implements chown(2).
func sysChown(t *kernel.Task, a args) (uintptr, error) {
	return 0, setStatPath(t, unix.AT_FDCWD, a[0], 0, chownStat(a[1], a[2]), false)
}

// sysLchown implements lchown(2).
func sysLchown(t *kernel.Task, a args) (uintptr, error) {
	return 0, setStatPath(t, unix.AT_FDCWD, a[0], unix.AT_SYMLINK_NOFOLLOW, chownStat(a[1], a[2]), false)
}

// sysFchown implements fchown(2).
func sysFchown(t *kernel.Task, a args) (uintptr, error) {
	return 0, setStatFD(t, int(int32(a[0])), chownStat(a[1], a[2]), false)
}

// sysFchownat implements fchownat(2).
func sysFchownat(t *kernel.Task, a args) (uintptr, error) {
	flags := int(int32(a[4]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	return 0, setStatPath(t, int(int32(a[0])), a[1], flags, chownStat(a[2], a[3]), false)
}

// timesStat turns two timespecs (UTIME_NOW/UTIME_OMIT allowed) into a
// SetStat; timesNow reports both were UTIME_NOW (or the pointer was NULL).
func timesStat(ts *[2]unix.Timespec) (vfs.SetStat, bool, error) {
	now := vfs.Now()
	if ts == nil {
		return vfs.SetStat{Mask: vfs.SetAtime | vfs.SetMtime, Atime: now, Mtime: now}, true, nil
	}
	var s vfs.SetStat
	allNow := true
	for i, x := range ts {
		switch x.Nsec {
		case unix.UTIME_OMIT:
			allNow = false
			continue
		case unix.UTIME_NOW:
			x = now
		default:
			allNow = false
			if x.Nsec < 0 || x.Nsec >= 1e9 {
				return s, false, unix.EINVAL
			}
		}
		if i == 0 {
			s.Mask |= vfs.SetAtime
			s.Atime = x
		} else {
			s.Mask |= vfs.SetMtime
			s.Mtime = x
		}
	}
	return s, allNow, nil
}

// sysUtimensat implements utimensat(2); a NULL path applies to dirfd.
func sysUtimensat(t *kernel.Task, a args) (uintptr, error) {
	flags := int(int32(a[3]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	var tsp *[2]unix.Timespec
	if a[2] != 0 {
		var b [32]byte
		if _, err := t.CopyIn(a[2], b[:]); err != nil {
			return 0, err
		}
		tsp = &[2]unix.Timespec{
			{Sec: int64(binary.LittleEndian.Uint64(b[0:])), Nsec: int64(binary.LittleEndian.Uint64(b[8:]))},
			{Sec: int64(binary.LittleEndian.Uint64(b[16:])), Nsec: int64(binary.LittleEndian.Uint64(b[24:]))},
		}
	}
	s, allNow, err := timesStat(tsp)
	if err != nil {
		return 0, err
	}
	if s.Mask == 0 {
		return 0, nil
	}
	if a[1] == 0 {
		if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
			return 0, unix.EINVAL
		}
		if int32(a[0]) == unix.AT_FDCWD {
			return 0, unix.EFAULT
		}
		return 0, setStatFD(t, int(int32(a[0])), s, allNow)
	}
	return 0, setStatPath(t, int(int32(a[0])), a[1], flags, s, allNow)
}

// timevals reads two struct timevals as timespecs (nil for NULL).
func timevals(t *kernel.Task, addr uintptr) (*[2]unix.Timespec, error) {
	if addr == 0 {
		return nil, nil
	}
	var b [32]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return nil, err
	}
	var ts [2]unix.Timespec
	for i := range ts {
		sec, usec := int64(binary.LittleEndian.Uint64(b[16*i:])), int64(binary.LittleEndian.Uint64(b[16*i+8:]))
		if usec < 0 || usec >= 1e6 {
			return nil, unix.EINVAL
		}
		ts[i] = unix.Timespec{Sec: sec, Nsec: usec * 1000}
	}
	return &ts, nil
}

// sysFutimesat implements futimesat(2).
func sysFutimesat(t *kernel.Task, a args) (uintptr, error) {
	ts, err := timevals(t, a[2])
	if err != nil {
		return 0, err
	}
	s, allNow, err := timesStat(ts)
	if err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, setStatFD(t, int(int32(a[0])), s, allNow)
	}
	return 0, setStatPath(t, int(int32(a[0])), a[1], 0, s, allNow)
}

// sysUtimes implements utimes(2).
func sysUtimes(t *kernel.Task, a args) (uintptr, error) {
	return sysFutimesat(t, args{uintptr(unix.AT_FDCWD & 0xffffffff), a[0], a[1]})
}

// sysUtime implements utime(2).
func sysUtime(t *kernel.Task, a args) (uintptr, error) {
	var tsp *[2]unix.Timespec
	if a[1] != 0 {
		var b [16]byte
		if _, err := t.CopyIn(a[1], b[:]); err != nil {
			return 0, err
		}
		tsp = &[2]unix.Timespec{{Sec: int64(binary.LittleEndian.Uint64(b[0:]))}, {Sec: int64(binary.LittleEndian.Uint64(b[8:]))}}
	}
	s, allNow, err := timesStat(tsp)
	if err != nil {
		return 0, err
	}
	return 0, setStatPath(t, unix.AT_FDCWD, a[0], 0, s, allNow)
}

// sysTruncate implements truncate(2).
func sysTruncate(t *kernel.Task, a args) (uintptr, error) {
	if int64(a[1]) < 0 {
		return 0, unix.EINVAL
	}
	return 0, setStatPath(t, unix.AT_FDCWD, a[0], 0, vfs.SetStat{Mask: vfs.SetSize, Size: int64(a[1])}, false)
}

func dirOf(t *kernel.Task, addr uintptr) (vfs.VirtualDentry, error) {
	v, ctx, start, path, err := pathArgs(t, unix.AT_FDCWD, addr)
	if err != nil {
		return vfs.VirtualDentry{}, err
	}
	vd, err := v.Resolve(ctx, start, path, vfs.Resolve{})
	if err != nil {
		return vd, err
	}
	st, err := vd.Dentry.Inode().Stat()
	if err != nil {
		return vd, err
	}
	if !st.IsDir() {
		return vd, unix.ENOTDIR
	}
	return vd, vfs.CheckPermission(ctx.Creds, &st, vfs.MayExec)
}

// sysChdir implements chdir(2).
func sysChdir(t *kernel.Task, a args) (uintptr, error) {
	vd, err := dirOf(t, a[0])
	if err != nil {
		return 0, err
	}
	t.ThreadGroup().FS.SetCwd(vd)
	return 0, nil
}

// sysFchdir implements fchdir(2).
func sysFchdir(t *kernel.Task, a args) (uintptr, error) {
	f, err := t.ThreadGroup().FDTable.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	vd := f.VirtualDentry()
	if !vd.Ok() {
		return 0, unix.ENOTDIR
	}
	st, err := vd.Dentry.Inode().Stat()
	if err != nil {
		return 0, err
	}
	if !st.IsDir() {
		return 0, unix.ENOTDIR
	}
	if err := vfs.CheckPermission(t.FSCreds(), &st, vfs.MayExec); err != nil {
		return 0, err
	}
	t.ThreadGroup().FS.SetCwd(vd)
	return 0, nil
}

// sysChroot implements chroot(2); root in the sandbox holds CAP_SYS_CHROOT.
func sysChroot(t *kernel.Task, a args) (uintptr, error) {
	if t.Creds.EUID != 0 {
		return 0, unix.EPERM
	}
	vd, err := dirOf(t, a[0])
	if err != nil {
		return 0, err
	}
	t.ThreadGroup().FS.SetRoot(vd)
	return 0, nil
}

// sysUmask implements umask(2).
func sysUmask(t *kernel.Task, a args) (uintptr, error) {
	return uintptr(t.ThreadGroup().FS.SwapUmask(uint32(a[0]))), nil
}

// statfsOut writes a struct statfs.
func statfsOut(t *kernel.Task, addr uintptr, s vfs.Statfs, ro bool) error {
	var b [120]byte
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(s.Type))
	le.PutUint64(b[8:], uint64(s.Bsize))
	le.PutUint64(b[16:], s.Blocks)
	le.PutUint64(b[24:], s.Bfree)
	le.PutUint64(b[32:], s.Bavail)
	le.PutUint64(b[40:], s.Files)
	le.PutUint64(b[48:], s.Ffree)
	le.PutUint64(b[64:], uint64(s.Namelen))
	frsize := s.Frsize
	if frsize == 0 {
		frsize = s.Bsize
	}
	le.PutUint64(b[72:], uint64(frsize))
	flags := uint64(s.Flags) | stValid
	if ro {
		flags |= stRdonly
	}
	le.PutUint64(b[80:], flags)
	_, err := t.CopyOut(addr, b[:])
	return err
}

// sysStatfs implements statfs(2).
func sysStatfs(t *kernel.Task, a args) (uintptr, error) {
	v, ctx, start, path, err := pathArgs(t, unix.AT_FDCWD, a[0])
	if err != nil {
		return 0, err
	}
	vd, err := v.Resolve(ctx, start, path, vfs.Resolve{})
	if err != nil {
		return 0, err
	}
	s, err := vd.Dentry.Inode().StatFS()
	if err != nil {
		return 0, err
	}
	return 0, statfsOut(t, a[1], s, vd.Mount.ReadOnly)
}

// sysFstatfs implements fstatfs(2).
func sysFstatfs(t *kernel.Task, a args) (uintptr, error) {
	f, err := t.ThreadGroup().FDTable.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	i := f.Inode()
	if i == nil {
		// Pipes, sockets and the standard streams: an anonymous fs.
		return 0, statfsOut(t, a[1], vfs.Statfs{Type: 0x50495045, Bsize: 4096, Namelen: 255}, false)
	}
	s, err := i.StatFS()
	if err != nil {
		return 0, err
	}
	return 0, statfsOut(t, a[1], s, f.VirtualDentry().Mount != nil && f.VirtualDentry().Mount.ReadOnly)
}

func doMknod(t *kernel.Task, dirfd int, addr uintptr, mode uint32, dev uint64) (uintptr, error) {
	v, ctx, start, path, err := pathArgs(t, dirfd, addr)
	if err != nil {
		return 0, err
	}
	return 0, v.MknodAt(ctx, start, path, mode, dev)
}

// sysMknod implements mknod(2).
func sysMknod(t *kernel.Task, a args) (uintptr, error) {
	return doMknod(t, unix.AT_FDCWD, a[0], uint32(a[1]), uint64(uint32(a[2])))
}

// sysMknodat implements mknodat(2).
func sysMknodat(t *kernel.Task, a args) (uintptr, error) {
	return doMknod(t, int(int32(a[0])), a[1], uint32(a[2]), uint64(uint32(a[3])))
}

// statfs f_flags (ST_* in statvfs.h; ST_VALID is the kernel's).
const (
	stRdonly = 0x1
	stValid  = 0x20
)
