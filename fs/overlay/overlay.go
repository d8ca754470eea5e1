// Package overlay merges a read-only lower filesystem with a writable upper
// one (a tmpfs), as Linux's overlayfs does: reads see the upper file if there
// is one and the lower one otherwise; any change copies the file (and its
// parent directories) up first; removing a lower name leaves a whiteout (a
// 0:0 character device) in the upper directory; a directory created where a
// lower one was removed is marked opaque (xattr trusted.overlay.opaque=y) so
// the lower one's entries stay hidden. Renaming a directory that exists in
// the lower layer returns EXDEV, as overlayfs does without redirect_dir;
// programs then copy.
//
// Locking: FS.mu serializes every copy-up and every change of a node's layers.
//
// It must not import the sentry, syscalls or runsc layers.
package overlay

import (
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

const opaqueXattr = "trusted.overlay.opaque"

// FS is one overlay.
type FS struct {
	mu sync.Mutex // guards every node's upper field and copy-ups
	// dev is the device number every overlay inode reports.
	dev uint64
}

// New returns the root of an overlay of upper on lower (both directories).
func New(upper, lower vfs.Inode) *vfs.Dentry {
	fs := &FS{dev: 0x2f}
	return vfs.NewRoot(&node{fs: fs, upper: upper, lower: lower})
}

// node is one overlay inode.
type node struct {
	fs     *FS
	parent *node
	name   string
	upper  vfs.Inode // nil until copied up or created; guarded by fs.mu
	lower  vfs.Inode // nil when the file exists only in the upper layer
}

func (n *node) layers() (upper, lower vfs.Inode) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.upper, n.lower
}

func (n *node) top() vfs.Inode {
	u, l := n.layers()
	if u != nil {
		return u
	}
	return l
}

func isWhiteout(i vfs.Inode) bool {
	st, err := i.Stat()
	return err == nil && st.Type() == unix.S_IFCHR && st.Rdev == 0
}

func isOpaque(i vfs.Inode) bool {
	v, err := i.Getxattr(opaqueXattr)
	return err == nil && string(v) == "y"
}

// Stat implements vfs.Inode.
func (n *node) Stat() (vfs.Stat, error) {
	u, l := n.layers()
	var st vfs.Stat
	var err error
	if u != nil {
		st, err = u.Stat()
	} else {
		st, err = l.Stat()
	}
	if err != nil {
		return st, err
	}
	if u != nil && l != nil {
		// Keep the lower inode number, so it is stable across copy-up.
		if lst, err := l.Stat(); err == nil {
			st.Ino = lst.Ino
		}
	}
	st.Dev = n.fs.dev
	return st, nil
}

// StatFS implements vfs.Inode.
func (n *node) StatFS() (vfs.Statfs, error) {
	s, err := n.top().StatFS()
	s.Type = 0x794c7630 // OVERLAYFS_SUPER_MAGIC
	return s, err
}

// Lookup implements vfs.Inode.
func (n *node) Lookup(name string) (vfs.Inode, error) {
	u, l := n.layers()
	st, err := n.Stat()
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, unix.ENOTDIR
	}
	c := &node{fs: n.fs, parent: n, name: name}
	opaque := false
	if u != nil {
		ui, err := u.Lookup(name)
		switch {
		case err == nil && isWhiteout(ui):
			return nil, unix.ENOENT
		case err == nil:
			c.upper = ui
			ust, _ := ui.Stat()
			if !ust.IsDir() {
				return c, nil
			}
			opaque = isOpaque(ui)
		case err != unix.ENOENT:
			return nil, err
		}
		if isOpaque(u) {
			opaque = true
		}
	}
	if l != nil && !opaque {
		li, err := l.Lookup(name)
		switch {
		case err == nil:
			if c.upper != nil {
				// A lower non-directory under an upper directory is
				// hidden.
				if lst, err := li.Stat(); err != nil || !lst.IsDir() {
					break
				}
			}
			c.lower = li
		case err != unix.ENOENT && err != unix.ENOTDIR:
			return nil, err
		}
	}
	if c.upper == nil && c.lower == nil {
		return nil, unix.ENOENT
	}
	return c, nil
}

// Readdir implements vfs.Inode: the upper entries, then the lower ones not
// hidden by an upper entry or a whiteout.
func (n *node) Readdir() ([]vfs.Dirent, error) {
	u, l := n.layers()
	seen := make(map[string]bool)
	var out []vfs.Dirent
	opaque := false
	if u != nil {
		ents, err := u.Readdir()
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			seen[e.Name] = true
			if e.Type == vfs.DTypeOf(unix.S_IFCHR) {
				if c, err := u.Lookup(e.Name); err == nil && isWhiteout(c) {
					continue
				}
			}
			out = append(out, e)
		}
		opaque = isOpaque(u)
	}
	if l != nil && !opaque {
		ents, err := l.Readdir()
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !seen[e.Name] {
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// copyUpLocked gives n an upper inode, copying its parents up first.
func (n *node) copyUpLocked() error {
	if n.upper != nil {
		return nil
	}
	if n.parent == nil {
		return unix.EROFS // a root without an upper layer
	}
	if err := n.parent.copyUpLocked(); err != nil {
		return err
	}
	st, err := n.lower.Stat()
	if err != nil {
		return err
	}
	pu := n.parent.upper
	o := vfs.Owner{UID: st.UID, GID: st.GID}
	// A whiteout may sit where the copy goes only if the lower file was
	// removed; then n would not exist. Clear any stale entry anyway.
	var up vfs.Inode
	switch st.Type() {
	case unix.S_IFDIR:
		up, err = pu.Mkdir(n.name, st.Mode, o)
	case unix.S_IFLNK:
		var target string
		if target, err = n.lower.Readlink(); err == nil {
			up, err = pu.Symlink(n.name, target, o)
		}
	case unix.S_IFREG:
		up, err = copyFile(pu, n.name, n.lower, st, o)
	default:
		up, err = pu.Mknod(n.name, st.Mode, st.Rdev, o)
	}
	if err != nil {
		return err
	}
	mask := uint32(vfs.SetMode | vfs.SetUID | vfs.SetGID | vfs.SetAtime | vfs.SetMtime)
	if st.IsSymlink() {
		mask &^= vfs.SetMode
	}
	up.SetStat(vfs.SetStat{Mask: mask, Mode: st.Mode & 0o7777, UID: st.UID, GID: st.GID, Atime: st.Atime, Mtime: st.Mtime})
	n.upper = up
	return nil
}

// copyFile copies a lower regular file's data into a new upper file.
func copyFile(dir vfs.Inode, name string, lower vfs.Inode, st vfs.Stat, o vfs.Owner) (vfs.Inode, error) {
	up, err := dir.Create(name, st.Mode, o)
	if err != nil {
		return nil, err
	}
	if st.Size == 0 {
		return up, nil
	}
	src, err := lower.Open(unix.O_RDONLY)
	if err != nil {
		dir.Unlink(name)
		return nil, err
	}
	defer src.Release()
	dst, err := up.Open(unix.O_WRONLY)
	if err != nil {
		dir.Unlink(name)
		return nil, err
	}
	defer dst.Release()
	buf := make([]byte, 1<<20)
	var off int64
	for {
		n, err := src.Preadv([][]byte{buf}, off)
		if n > 0 {
			if _, werr := dst.Pwritev([][]byte{buf[:n]}, off); werr != nil {
				dir.Unlink(name)
				return nil, werr
			}
			off += int64(n)
		}
		if err != nil {
			dir.Unlink(name)
			return nil, err
		}
		if n == 0 {
			return up, nil
		}
	}
}

func (n *node) copyUp() (vfs.Inode, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if err := n.copyUpLocked(); err != nil {
		return nil, err
	}
	return n.upper, nil
}

// SetStat implements vfs.Inode.
func (n *node) SetStat(s vfs.SetStat) error {
	u, err := n.copyUp()
	if err != nil {
		return err
	}
	return u.SetStat(s)
}

// Open implements vfs.Inode: opening for writing copies up.
func (n *node) Open(flags int) (vfs.FileDescriptionImpl, error) {
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_WRONLY || acc == unix.O_RDWR || flags&unix.O_TRUNC != 0 {
		u, err := n.copyUp()
		if err != nil {
			return nil, err
		}
		return u.Open(flags)
	}
	return n.top().Open(flags)
}

// Readlink implements vfs.Inode.
func (n *node) Readlink() (string, error) { return n.top().Readlink() }

// prepareName makes n's upper directory ready to receive name: n is copied
// up and a whiteout at name is removed. It reports whether one was.
func (n *node) prepareName(name string) (vfs.Inode, bool, error) {
	u, err := n.copyUp()
	if err != nil {
		return nil, false, err
	}
	if c, err := u.Lookup(name); err == nil {
		if !isWhiteout(c) {
			return nil, false, unix.EEXIST
		}
		if err := u.Unlink(name); err != nil {
			return nil, false, err
		}
		return u, true, nil
	}
	return u, false, nil
}

func (n *node) child(name string, upper vfs.Inode) *node {
	return &node{fs: n.fs, parent: n, name: name, upper: upper}
}

// Create implements vfs.Inode.
func (n *node) Create(name string, mode uint32, o vfs.Owner) (vfs.Inode, error) {
	u, _, err := n.prepareName(name)
	if err != nil {
		return nil, err
	}
	i, err := u.Create(name, mode, o)
	if err != nil {
		return nil, err
	}
	return n.child(name, i), nil
}

// Mkdir implements vfs.Inode. A directory made where a whiteout was hides
// the removed lower directory's entries.
func (n *node) Mkdir(name string, mode uint32, o vfs.Owner) (vfs.Inode, error) {
	u, wasWhiteout, err := n.prepareName(name)
	if err != nil {
		return nil, err
	}
	i, err := u.Mkdir(name, mode, o)
	if err != nil {
		return nil, err
	}
	if wasWhiteout {
		i.Setxattr(opaqueXattr, []byte("y"), 0)
	}
	return n.child(name, i), nil
}

// Mknod implements vfs.Inode.
func (n *node) Mknod(name string, mode uint32, dev uint64, o vfs.Owner) (vfs.Inode, error) {
	u, _, err := n.prepareName(name)
	if err != nil {
		return nil, err
	}
	i, err := u.Mknod(name, mode, dev, o)
	if err != nil {
		return nil, err
	}
	return n.child(name, i), nil
}

// Symlink implements vfs.Inode.
func (n *node) Symlink(name, target string, o vfs.Owner) (vfs.Inode, error) {
	u, _, err := n.prepareName(name)
	if err != nil {
		return nil, err
	}
	i, err := u.Symlink(name, target, o)
	if err != nil {
		return nil, err
	}
	return n.child(name, i), nil
}

// Link implements vfs.Inode.
func (n *node) Link(name string, target vfs.Inode) error {
	t, ok := target.(*node)
	if !ok || t.fs != n.fs {
		return unix.EXDEV
	}
	tu, err := t.copyUp()
	if err != nil {
		return err
	}
	u, _, err := n.prepareName(name)
	if err != nil {
		return err
	}
	return u.Link(name, tu)
}

// whiteout leaves a whiteout for name in n's upper directory.
func whiteout(u vfs.Inode, name string) error {
	_, err := u.Mknod(name, unix.S_IFCHR, 0, vfs.Owner{})
	return err
}

// remove removes name (a non-directory if !dir).
func (n *node) remove(name string, dir bool) error {
	ci, err := n.Lookup(name)
	if err != nil {
		return err
	}
	c := ci.(*node)
	if dir {
		ents, err := c.Readdir()
		if err != nil {
			return err
		}
		if len(ents) != 0 {
			return unix.ENOTEMPTY
		}
	}
	u, err := n.copyUp()
	if err != nil {
		return err
	}
	cu, cl := c.layers()
	if cu != nil {
		if dir {
			// Clear the whiteouts an emptied directory may still hold.
			if ents, err := cu.Readdir(); err == nil {
				for _, e := range ents {
					cu.Unlink(e.Name)
				}
			}
			err = u.Rmdir(name)
		} else {
			err = u.Unlink(name)
		}
		if err != nil {
			return err
		}
	}
	if cl != nil {
		return whiteout(u, name)
	}
	return nil
}

// Unlink implements vfs.Inode.
func (n *node) Unlink(name string) error { return n.remove(name, false) }

// Rmdir implements vfs.Inode.
func (n *node) Rmdir(name string) error { return n.remove(name, true) }

// Rename implements vfs.Inode.
func (n *node) Rename(oldName string, newDir vfs.Inode, newName string, flags uint) error {
	nd, ok := newDir.(*node)
	if !ok || nd.fs != n.fs {
		return unix.EXDEV
	}
	si, err := n.Lookup(oldName)
	if err != nil {
		return err
	}
	src := si.(*node)
	sst, err := src.Stat()
	if err != nil {
		return err
	}
	if _, sl := src.layers(); sl != nil && sst.IsDir() {
		return unix.EXDEV
	}
	if flags&unix.RENAME_EXCHANGE != 0 {
		return unix.EXDEV // exchanging across layers is not supported
	}
	var dst *node
	if di, err := nd.Lookup(newName); err == nil {
		dst = di.(*node)
		dst.fs.mu.Lock()
		dl := dst.lower
		dst.fs.mu.Unlock()
		dstt, _ := dst.Stat()
		if dstt.IsDir() {
			ents, err := dst.Readdir()
			if err != nil {
				return err
			}
			if len(ents) != 0 {
				return unix.ENOTEMPTY
			}
			if dl != nil {
				return unix.EXDEV
			}
		}
	} else if err != unix.ENOENT {
		return err
	}
	if _, err := src.copyUp(); err != nil {
		return err
	}
	su, err := n.copyUp()
	if err != nil {
		return err
	}
	du, err := nd.copyUp()
	if err != nil {
		return err
	}
	if err := su.Rename(oldName, du, newName, flags); err != nil {
		return err
	}
	if _, sl := src.layers(); sl != nil {
		return whiteout(su, oldName)
	}
	return nil
}

// Getxattr implements vfs.Inode.
func (n *node) Getxattr(name string) ([]byte, error) {
	if name == opaqueXattr {
		return nil, unix.ENODATA
	}
	return n.top().Getxattr(name)
}

// Setxattr implements vfs.Inode.
func (n *node) Setxattr(name string, value []byte, flags int) error {
	if name == opaqueXattr {
		return unix.EPERM
	}
	u, err := n.copyUp()
	if err != nil {
		return err
	}
	return u.Setxattr(name, value, flags)
}

// Listxattr implements vfs.Inode.
func (n *node) Listxattr() ([]string, error) {
	l, err := n.top().Listxattr()
	out := l[:0]
	for _, x := range l {
		if x != opaqueXattr {
			out = append(out, x)
		}
	}
	return out, err
}

// Removexattr implements vfs.Inode.
func (n *node) Removexattr(name string) error {
	u, err := n.copyUp()
	if err != nil {
		return err
	}
	return u.Removexattr(name)
}
