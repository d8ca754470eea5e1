package vfs

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// VFS is one sandbox's virtual filesystem: a mount namespace and the
// operations on paths in it.
type VFS struct {
	NS *MountNamespace
}

// Resolution options (openat2's RESOLVE_* and the *at() flags).
type Resolve struct {
	NoFollow   bool // do not follow a final symlink
	Beneath    bool // RESOLVE_BENEATH: stay under the starting directory
	InRoot     bool // RESOLVE_IN_ROOT: treat the starting directory as "/"
	NoSymlinks bool // RESOLVE_NO_SYMLINKS
	NoXdev     bool // RESOLVE_NO_XDEV
}

func (v *VFS) resolver(ctx *Context, start VirtualDentry, o Resolve) (*resolver, *Context) {
	if o.InRoot {
		c := *ctx
		c.Root = start
		ctx = &c
	}
	return &resolver{ns: v.NS, ctx: ctx, noSymlinks: o.NoSymlinks, beneath: o.Beneath, start: start, noXdev: o.NoXdev}, ctx
}

// Resolve returns what path names, relative to start.
func (v *VFS) Resolve(ctx *Context, start VirtualDentry, path string, o Resolve) (VirtualDentry, error) {
	r, _ := v.resolver(ctx, start, o)
	w, err := r.walkParent(start, path)
	if err != nil {
		return VirtualDentry{}, err
	}
	return r.resolveLast(w, !o.NoFollow)
}

// resolveParent resolves all but the last component, for operations that
// create or remove names. The last component comes back unresolved.
func (v *VFS) resolveParent(ctx *Context, start VirtualDentry, path string) (walkResult, *resolver, error) {
	r, _ := v.resolver(ctx, start, Resolve{})
	w, err := r.walkParent(start, path)
	if err != nil {
		return w, r, err
	}
	if err := r.searchable(w.parent); err != nil {
		return w, r, err
	}
	return w, r, nil
}

// mayModifyDir checks that the caller may add or remove names in dir.
func mayModifyDir(ctx *Context, dir VirtualDentry) error {
	if dir.Mount.ReadOnly {
		return unix.EROFS
	}
	st, err := dir.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return unix.ENOTDIR
	}
	return CheckPermission(ctx.Creds, &st, MayWrite|MayExec)
}

// mayDelete applies the sticky-bit rule of unlink(2).
func mayDelete(ctx *Context, dir VirtualDentry, victim Inode) error {
	if err := mayModifyDir(ctx, dir); err != nil {
		return err
	}
	dst, err := dir.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	if dst.Mode&unix.S_ISVTX == 0 || ctx.Creds.Privileged() {
		return nil
	}
	vst, err := victim.Stat()
	if err != nil {
		return err
	}
	if vst.UID != ctx.Creds.UID && dst.UID != ctx.Creds.UID {
		return unix.EPERM
	}
	return nil
}

func (ctx *Context) owner() Owner { return Owner{UID: ctx.Creds.UID, GID: ctx.Creds.GID} }

// ownerIn returns the owner of a new file in dir: the directory's group if
// it is set-group-ID.
func (ctx *Context) ownerIn(dir Inode) Owner {
	o := ctx.owner()
	if st, err := dir.Stat(); err == nil && st.Mode&unix.S_ISGID != 0 {
		o.GID = st.GID
	}
	return o
}

// OpenAt implements open(2) and openat2(2) on a path. mode applies when the
// file is created (the umask is applied here).
func (v *VFS) OpenAt(ctx *Context, start VirtualDentry, path string, flags int, mode uint32, o Resolve) (*FileDescription, error) {
	if flags&unix.O_NOFOLLOW != 0 {
		o.NoFollow = true
	}
	r, rctx := v.resolver(ctx, start, o)
	w, err := r.walkParent(start, path)
	if err != nil {
		return nil, err
	}
	var vd VirtualDentry
	created := false
	if flags&unix.O_CREAT != 0 {
		for {
			if w.last == "" || w.last == "." || w.last == ".." || w.trailing {
				return nil, unix.EISDIR
			}
			if err := r.searchable(w.parent); err != nil {
				return nil, err
			}
			next, err := r.step(w.parent, w.last)
			if err == unix.ENOENT {
				if err := mayModifyDir(rctx, w.parent); err != nil {
					return nil, err
				}
				if w.parent.Dentry.IsDead() {
					return nil, unix.ENOENT
				}
				i, err := w.parent.Dentry.inode.Create(w.last, unix.S_IFREG|(mode&^ctx.Umask&0o7777), rctx.ownerIn(w.parent.Dentry.inode))
				if err != nil {
					return nil, err
				}
				vd = VirtualDentry{Mount: w.parent.Mount, Dentry: w.parent.Dentry.insert(w.last, i)}
				created = true
				break
			}
			if err != nil {
				return nil, err
			}
			if flags&unix.O_EXCL != 0 {
				return nil, unix.EEXIST
			}
			if st, err := next.Dentry.inode.Stat(); err == nil && st.IsDir() {
				return nil, unix.EISDIR
			}
			if isSymlink(next) {
				if o.NoFollow {
					return nil, unix.ELOOP
				}
				target, abs, err := r.followLink(next)
				if err != nil {
					return nil, err
				}
				st := w.parent
				p := joinPath(target, abs)
				if abs {
					st = rctx.Root
				}
				if w, err = r.walkParent(st, p); err != nil {
					return nil, err
				}
				continue
			}
			vd = next
			break
		}
	} else {
		if vd, err = r.resolveLast(w, !o.NoFollow); err != nil {
			return nil, err
		}
	}
	return v.openResolved(rctx, vd, flags, created)
}

func joinPath(comps []string, abs bool) string {
	p := ""
	for i, c := range comps {
		if i > 0 {
			p += "/"
		}
		p += c
	}
	if abs {
		return "/" + p
	}
	if p == "" {
		return "."
	}
	return p
}

// openResolved opens the file at vd after permission checks.
func (v *VFS) openResolved(ctx *Context, vd VirtualDentry, flags int, created bool) (*FileDescription, error) {
	st, err := vd.Dentry.inode.Stat()
	if err != nil {
		return nil, err
	}
	acc := flags & unix.O_ACCMODE
	if flags&unix.O_PATH != 0 {
		if flags&unix.O_DIRECTORY != 0 && !st.IsDir() {
			return nil, unix.ENOTDIR
		}
		fd := NewFileDescription(&pathFile{inode: vd.Dentry.inode}, unix.O_PATH|(flags&(unix.O_DIRECTORY|unix.O_NOFOLLOW)))
		fd.vd = vd
		fd.inode = vd.Dentry.inode
		return fd, nil
	}
	if acc == unix.O_ACCMODE {
		return nil, unix.EINVAL
	}
	if st.IsSymlink() {
		return nil, unix.ELOOP
	}
	if flags&unix.O_DIRECTORY != 0 && !st.IsDir() {
		return nil, unix.ENOTDIR
	}
	write := acc == unix.O_WRONLY || acc == unix.O_RDWR || flags&unix.O_TRUNC != 0
	if st.IsDir() && (acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0) {
		return nil, unix.EISDIR
	}
	if !created {
		var want uint32
		if acc == unix.O_RDONLY || acc == unix.O_RDWR {
			want |= MayRead
		}
		if write {
			want |= MayWrite
		}
		if err := CheckPermission(ctx.Creds, &st, want); err != nil {
			return nil, err
		}
	}
	if write && vd.Mount.ReadOnly && (st.IsRegular() || st.IsDir()) {
		return nil, unix.EROFS
	}
	if flags&unix.O_NOATIME != 0 && !ctx.Creds.Privileged() && ctx.Creds.UID != st.UID {
		return nil, unix.EPERM
	}
	writer := (acc == unix.O_WRONLY || acc == unix.O_RDWR) && st.IsRegular()
	if writer {
		if err := GetWriteAccess(vd.Dentry.inode); err != nil {
			return nil, err
		}
	}
	impl, err := vd.Dentry.inode.Open(flags)
	if err != nil {
		if writer {
			PutWriteAccess(vd.Dentry.inode)
		}
		return nil, err
	}
	if flags&unix.O_TRUNC != 0 && st.IsRegular() && !created && st.Size != 0 {
		if err := vd.Dentry.inode.SetStat(SetStat{Mask: SetSize}); err != nil {
			impl.Release()
			return nil, err
		}
	}
	fd := NewFileDescription(impl, flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_NOCTTY|unix.O_TRUNC))
	fd.vd = vd
	fd.inode = vd.Dentry.inode
	if writer {
		i := vd.Dentry.inode
		fd.OnRelease(func() { PutWriteAccess(i) })
	}
	if d, ok := impl.(interface{ SetDescription(*FileDescription) }); ok {
		d.SetDescription(fd)
	}
	return fd, nil
}

// StatAt implements stat(2)/lstat(2)/fstatat(2) on a path.
func (v *VFS) StatAt(ctx *Context, start VirtualDentry, path string, o Resolve) (Stat, error) {
	vd, err := v.Resolve(ctx, start, path, o)
	if err != nil {
		return Stat{}, err
	}
	return vd.Dentry.inode.Stat()
}

// create resolves the parent of path and adds a name with mk.
func (v *VFS) create(ctx *Context, start VirtualDentry, path string, dirOK bool, mk func(dir Inode, name string, o Owner) (Inode, error)) error {
	w, r, err := v.resolveParent(ctx, start, path)
	if err != nil {
		return err
	}
	if w.last == "" || w.last == "." || w.last == ".." {
		return unix.EEXIST
	}
	if len(w.last) > MaxName {
		return unix.ENAMETOOLONG
	}
	if _, err := r.step(w.parent, w.last); err == nil {
		return unix.EEXIST
	} else if err != unix.ENOENT {
		return err
	}
	if w.trailing && !dirOK {
		return unix.ENOENT
	}
	if err := mayModifyDir(ctx, w.parent); err != nil {
		return err
	}
	if w.parent.Dentry.IsDead() {
		return unix.ENOENT
	}
	i, err := mk(w.parent.Dentry.inode, w.last, ctx.ownerIn(w.parent.Dentry.inode))
	if err != nil {
		return err
	}
	w.parent.Dentry.insert(w.last, i)
	return nil
}

// MkdirAt implements mkdir(2).
func (v *VFS) MkdirAt(ctx *Context, start VirtualDentry, path string, mode uint32) error {
	return v.create(ctx, start, path, true, func(dir Inode, name string, o Owner) (Inode, error) {
		m := mode &^ ctx.Umask & 0o1777
		if st, err := dir.Stat(); err == nil && st.Mode&unix.S_ISGID != 0 {
			m |= unix.S_ISGID
		}
		return dir.Mkdir(name, unix.S_IFDIR|m, o)
	})
}

// MknodAt implements mknod(2) for FIFOs, sockets and regular files.
func (v *VFS) MknodAt(ctx *Context, start VirtualDentry, path string, mode uint32, dev uint64) error {
	switch mode & unix.S_IFMT {
	case 0:
		mode |= unix.S_IFREG
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFCHR, unix.S_IFBLK:
		if !ctx.Creds.Privileged() {
			return unix.EPERM
		}
	case unix.S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	return v.create(ctx, start, path, false, func(dir Inode, name string, o Owner) (Inode, error) {
		return dir.Mknod(name, mode&unix.S_IFMT|(mode&^ctx.Umask&0o7777), dev, o)
	})
}

// SymlinkAt implements symlink(2).
func (v *VFS) SymlinkAt(ctx *Context, target string, start VirtualDentry, path string) error {
	if target == "" {
		return unix.ENOENT
	}
	if len(target) >= MaxPath {
		return unix.ENAMETOOLONG
	}
	return v.create(ctx, start, path, false, func(dir Inode, name string, o Owner) (Inode, error) {
		return dir.Symlink(name, target, o)
	})
}

// LinkAt implements link(2)/linkat(2).
func (v *VFS) LinkAt(ctx *Context, oldStart VirtualDentry, oldPath string, follow bool, newStart VirtualDentry, newPath string) error {
	old, err := v.Resolve(ctx, oldStart, oldPath, Resolve{NoFollow: !follow})
	if err != nil {
		return err
	}
	st, err := old.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return unix.EPERM
	}
	w, r, err := v.resolveParent(ctx, newStart, newPath)
	if err != nil {
		return err
	}
	if w.last == "" || w.last == "." || w.last == ".." {
		return unix.EEXIST
	}
	if w.parent.Mount != old.Mount {
		return unix.EXDEV
	}
	if _, err := r.step(w.parent, w.last); err == nil {
		return unix.EEXIST
	} else if err != unix.ENOENT {
		return err
	}
	if w.trailing {
		return unix.ENOENT
	}
	if err := mayModifyDir(ctx, w.parent); err != nil {
		return err
	}
	if err := w.parent.Dentry.inode.Link(w.last, old.Dentry.inode); err != nil {
		return err
	}
	w.parent.Dentry.forget(w.last)
	return nil
}

// lastChild resolves the final component of w without following it.
func (r *resolver) lastChild(w walkResult) (VirtualDentry, error) {
	d, err := w.parent.Dentry.lookup(w.last)
	if err != nil {
		return VirtualDentry{}, err
	}
	return VirtualDentry{Mount: w.parent.Mount, Dentry: d}, nil
}

// isMountPoint reports whether something is mounted on vd.
func (v *VFS) isMountPoint(vd VirtualDentry) bool { return v.NS.mountedOn(vd) != nil }

// UnlinkAt implements unlink(2).
func (v *VFS) UnlinkAt(ctx *Context, start VirtualDentry, path string) error {
	w, r, err := v.resolveParent(ctx, start, path)
	if err != nil {
		return err
	}
	if w.last == "" || w.last == "." || w.last == ".." {
		return unix.EISDIR
	}
	c, err := r.lastChild(w)
	if err != nil {
		return err
	}
	st, err := c.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return unix.EISDIR
	}
	if w.trailing {
		return unix.ENOTDIR
	}
	if err := mayDelete(ctx, w.parent, c.Dentry.inode); err != nil {
		return err
	}
	if v.isMountPoint(c) {
		return unix.EBUSY
	}
	if err := w.parent.Dentry.inode.Unlink(w.last); err != nil {
		return err
	}
	w.parent.Dentry.forget(w.last)
	return nil
}

// RmdirAt implements rmdir(2).
func (v *VFS) RmdirAt(ctx *Context, start VirtualDentry, path string) error {
	w, r, err := v.resolveParent(ctx, start, path)
	if err != nil {
		return err
	}
	switch w.last {
	case ".":
		return unix.EINVAL
	case "..":
		return unix.ENOTEMPTY
	case "":
		return unix.EBUSY
	}
	c, err := r.lastChild(w)
	if err != nil {
		return err
	}
	st, err := c.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return unix.ENOTDIR
	}
	if err := mayDelete(ctx, w.parent, c.Dentry.inode); err != nil {
		return err
	}
	if v.isMountPoint(c) || c == ctx.Root {
		return unix.EBUSY
	}
	if err := w.parent.Dentry.inode.Rmdir(w.last); err != nil {
		return err
	}
	w.parent.Dentry.forget(w.last)
	return nil
}

// isAncestor reports whether a is d or one of its ancestors (same mount).
func isAncestor(a, d *Dentry) bool {
	for ; d != nil; d = d.parent {
		if d == a {
			return true
		}
	}
	return false
}

// RenameAt implements rename(2)/renameat2(2).
func (v *VFS) RenameAt(ctx *Context, oldStart VirtualDentry, oldPath string, newStart VirtualDentry, newPath string, flags uint) error {
	if flags&^(unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE|unix.RENAME_WHITEOUT) != 0 {
		return unix.EINVAL
	}
	if flags&unix.RENAME_EXCHANGE != 0 && flags&(unix.RENAME_NOREPLACE|unix.RENAME_WHITEOUT) != 0 {
		return unix.EINVAL
	}
	if flags&unix.RENAME_WHITEOUT != 0 {
		return unix.EINVAL
	}
	ow, or, err := v.resolveParent(ctx, oldStart, oldPath)
	if err != nil {
		return err
	}
	nw, nr, err := v.resolveParent(ctx, newStart, newPath)
	if err != nil {
		return err
	}
	if ow.last == "" || ow.last == "." || ow.last == ".." || nw.last == "" || nw.last == "." || nw.last == ".." {
		// Not a normal last component: EBUSY, as do_renameat2 says (EEXIST
		// for a target with RENAME_NOREPLACE).
		if flags&unix.RENAME_NOREPLACE != 0 && (nw.last == "." || nw.last == ".." || nw.last == "") && ow.last != "" && ow.last != "." && ow.last != ".." {
			return unix.EEXIST
		}
		return unix.EBUSY
	}
	if ow.parent.Mount != nw.parent.Mount {
		return unix.EXDEV
	}
	src, err := or.lastChild(ow)
	if err != nil {
		return err
	}
	sst, err := src.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	if (ow.trailing || nw.trailing) && !sst.IsDir() {
		return unix.ENOTDIR
	}
	dst, derr := nr.lastChild(nw)
	if derr != nil && derr != unix.ENOENT {
		return derr
	}
	if derr == nil && (dst.Dentry == src.Dentry || dst.Dentry.inode == src.Dentry.inode) {
		return nil // the same file (or two links to it): nothing to do
	}
	if err := mayDelete(ctx, ow.parent, src.Dentry.inode); err != nil {
		return err
	}
	if err := mayModifyDir(ctx, nw.parent); err != nil {
		return err
	}
	if sst.IsDir() && isAncestor(src.Dentry, nw.parent.Dentry) {
		return unix.EINVAL
	}
	// Moving a directory to another parent rewrites its "..": it needs
	// write permission on the directory itself.
	if sst.IsDir() && ow.parent.Dentry != nw.parent.Dentry {
		if err := CheckPermission(ctx.Creds, &sst, MayWrite); err != nil {
			return err
		}
	}
	if flags&unix.RENAME_EXCHANGE != 0 {
		if derr != nil {
			return unix.ENOENT
		}
		dst2, err := dst.Dentry.inode.Stat()
		if err != nil {
			return err
		}
		if dst2.IsDir() {
			if isAncestor(dst.Dentry, ow.parent.Dentry) {
				return unix.EINVAL
			}
			if ow.parent.Dentry != nw.parent.Dentry {
				if err := CheckPermission(ctx.Creds, &dst2, MayWrite); err != nil {
					return err
				}
			}
		}
		if err := mayDelete(ctx, nw.parent, dst.Dentry.inode); err != nil {
			return err
		}
	} else if derr == nil {
		if flags&unix.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		dst2, err := dst.Dentry.inode.Stat()
		if err != nil {
			return err
		}
		if sst.IsDir() && !dst2.IsDir() {
			return unix.ENOTDIR
		}
		if !sst.IsDir() && dst2.IsDir() {
			return unix.EISDIR
		}
		if err := mayDelete(ctx, nw.parent, dst.Dentry.inode); err != nil {
			return err
		}
		if dst2.IsDir() && isAncestor(dst.Dentry, ow.parent.Dentry) {
			return unix.ENOTEMPTY
		}
	}
	if v.isMountPoint(src) || (derr == nil && v.isMountPoint(dst)) {
		return unix.EBUSY
	}
	if err := ow.parent.Dentry.inode.Rename(ow.last, nw.parent.Dentry.inode, nw.last, flags); err != nil {
		return err
	}
	moveDentries(ow.parent.Dentry, ow.last, nw.parent.Dentry, nw.last, flags&unix.RENAME_EXCHANGE != 0)
	return nil
}

// moveDentries updates the dentry cache after a rename: the moved dentry
// keeps its identity (open files and working directories follow it), the
// one it replaced dies.
func moveDentries(op *Dentry, oname string, np *Dentry, nname string, exchange bool) {
	// Lock order: by address, so two renames cannot deadlock.
	first, second := op, np
	if uintptrOf(first) > uintptrOf(second) {
		first, second = second, first
	}
	first.mu.Lock()
	if second != first {
		second.mu.Lock()
	}
	src := op.children[oname]
	dst := np.children[nname]
	delete(op.children, oname)
	delete(np.children, nname)
	if np.children == nil {
		np.children = make(map[string]*Dentry)
	}
	if op.children == nil {
		op.children = make(map[string]*Dentry)
	}
	if src != nil {
		src.parent, src.name = np, nname
		np.children[nname] = src
	}
	if dst != nil {
		if exchange {
			dst.parent, dst.name = op, oname
			op.children[oname] = dst
		} else {
			dst.markDead()
		}
	}
	if second != first {
		second.mu.Unlock()
	}
	first.mu.Unlock()
}

// ReadlinkAt implements readlink(2).
func (v *VFS) ReadlinkAt(ctx *Context, start VirtualDentry, path string) (string, error) {
	vd, err := v.Resolve(ctx, start, path, Resolve{NoFollow: true})
	if err != nil {
		return "", err
	}
	return vd.Dentry.inode.Readlink()
}

// AccessAt implements access(2)/faccessat(2) with the given credentials.
func (v *VFS) AccessAt(ctx *Context, start VirtualDentry, path string, mode uint32, o Resolve) error {
	vd, err := v.Resolve(ctx, start, path, o)
	if err != nil {
		return err
	}
	if mode == 0 {
		return nil
	}
	st, err := vd.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	if mode&MayWrite != 0 && vd.Mount.ReadOnly && (st.IsRegular() || st.IsDir() || st.IsSymlink()) {
		return unix.EROFS
	}
	return CheckPermission(ctx.Creds, &st, mode)
}

// Now returns the current time as a Timespec.
func Now() unix.Timespec { return unix.NsecToTimespec(time.Now().UnixNano()) }

// SetStatChecked applies s to the inode at vd after the permission rules of
// chmod(2), chown(2), truncate(2) and utimensat(2). timesNow says both times
// are UTIME_NOW (which needs only write permission).
func SetStatChecked(ctx *Context, vd VirtualDentry, s SetStat, timesNow bool) error {
	if vd.Mount != nil && vd.Mount.ReadOnly {
		return unix.EROFS
	}
	st, err := vd.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	c := ctx.Creds
	owner := c.Privileged() || c.UID == st.UID
	if s.Mask&SetMode != 0 {
		if !owner {
			return unix.EPERM
		}
		if !c.Privileged() && !c.InGroup(st.GID) {
			s.Mode &^= unix.S_ISGID
		}
	}
	if s.Mask&(SetUID|SetGID) != 0 && !c.Privileged() {
		if s.Mask&SetUID != 0 && s.UID != st.UID {
			return unix.EPERM
		}
		if s.Mask&SetGID != 0 && (c.UID != st.UID || !c.InGroup(s.GID)) && s.GID != st.GID {
			return unix.EPERM
		}
	}
	if s.Mask&SetSize != 0 {
		if st.IsDir() {
			return unix.EISDIR
		}
		if !st.IsRegular() {
			return unix.EINVAL
		}
		if err := CheckPermission(c, &st, MayWrite); err != nil {
			return err
		}
	}
	if s.Mask&(SetAtime|SetMtime) != 0 && !owner {
		if !timesNow {
			return unix.EPERM
		}
		if err := CheckPermission(c, &st, MayWrite); err != nil {
			return err
		}
	}
	if s.Mask&(SetUID|SetGID) != 0 && st.IsRegular() && s.Mask&SetMode == 0 {
		// chown clears set-user-ID and set-group-ID (if group-executable).
		clear := uint32(unix.S_ISUID)
		if st.Mode&0o010 != 0 {
			clear |= unix.S_ISGID
		}
		if st.Mode&clear != 0 {
			s.Mask |= SetMode
			s.Mode = st.Mode & 0o7777 &^ clear
		}
	}
	return vd.Dentry.inode.SetStat(s)
}

// pathFile is an O_PATH file description: it names a file but cannot be
// read or written.
type pathFile struct {
	NoIO
	inode Inode
}

func (p *pathFile) Stat() (unix.Stat_t, error) { return StatToUnix(p.inode) }

// PathOf returns the absolute path of vd as seen from root, with " (deleted)"
// appended for an unlinked file; reachable is false when vd is not under
// root.
func (v *VFS) PathOf(root, vd VirtualDentry) (path string, reachable bool) {
	var parts []string
	deleted := vd.Dentry.IsDead()
	for vd != root {
		if vd.Dentry == vd.Mount.root {
			if vd.Mount.parent == nil {
				return joinAbs(parts), false
			}
			vd = vd.Mount.MountPoint()
			continue
		}
		parts = append(parts, vd.Dentry.name)
		vd = VirtualDentry{Mount: vd.Mount, Dentry: vd.Dentry.parent}
		if vd.Dentry == nil {
			return joinAbs(parts), false
		}
	}
	p := joinAbs(parts)
	if deleted {
		p += " (deleted)"
	}
	return p, true
}

func joinAbs(rev []string) string {
	if len(rev) == 0 {
		return "/"
	}
	p := ""
	for i := len(rev) - 1; i >= 0; i-- {
		p += "/" + rev[i]
	}
	return p
}

func uintptrOf(d *Dentry) uintptr { return uintptr(unsafe.Pointer(d)) }
