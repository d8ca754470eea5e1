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
// Every overlay inode reports the overlay's device, so inode numbers are
// mapped into one space as Linux's overlayfs does with xino: a lower inode
// number is reported as it is, an upper one with upperIno set (the layers
// number their inodes independently). A file copied up keeps the number of
// the lower file it was copied from, its origin, which is recorded on the
// upper inode (xattr trusted.overlay.origin), so st_ino does not change on
// copy-up and every hard link of the copy reports it. As in Linux, a lower
// file with several links is not given its origin's number: its lower
// links stay another file.
//
// Removing or renaming away a name leaves a whiteout whenever the lower
// layer has that name and the parent is not opaque (Linux's
// ovl_lower_positive), whether the name showed the lower file, a copy of it
// or a file created after the lower one was removed.
//
// Locking: FS.mu serializes every copy-up and every change of a node's layers
// (its upper field and its record of copied-up children).
//
// It must not import the sentry, syscalls or runsc layers.
package overlay

import (
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// Xattrs the overlay keeps on upper inodes; the trusted.overlay. namespace
// is hidden from (and may not be changed through) the overlay.
const (
	privateXattrPrefix = "trusted.overlay."
	opaqueXattr        = privateXattrPrefix + "opaque"
	// originXattr holds the inode number (8 bytes, little endian) of the
	// lower file an upper one was copied from.
	originXattr = privateXattrPrefix + "origin"
)

// upperIno marks the inode numbers of upper inodes with no origin.
const upperIno = 1 << 63

func isPrivateXattr(name string) bool {
	return len(name) >= len(privateXattrPrefix) && name[:len(privateXattrPrefix)] == privateXattrPrefix
}

// FS is one overlay.
type FS struct {
	mu sync.Mutex // guards every node's upper and copies fields and copy-ups
	// dev is the device number every overlay inode reports.
	dev uint64
}

// New returns the root of an overlay of upper on lower (both directories).
func New(upper, lower vfs.Inode) *vfs.Dentry {
	fs := &FS{dev: 0x2f}
	return vfs.NewRoot(&node{fs: fs, upper: upper, lower: lower})
}

// Cover makes name, in the upper directory dir, an opaque directory that
// hides any lower entry of that name, without looking the lower one up:
// for mount points, whose lower directory would be read only to be covered
// (each lookup in a gofer's lower layer is a round trip). It is meant for a
// layer not yet in an overlay.
func Cover(dir vfs.Inode, name string, mode uint32) error {
	i, err := dir.Mkdir(name, unix.S_IFDIR|mode, vfs.Owner{})
	if err != nil {
		return err
	}
	return i.Setxattr(opaqueXattr, []byte("y"), 0)
}

// node is one overlay inode.
type node struct {
	fs     *FS
	parent *node
	name   string
	upper  vfs.Inode // nil until copied up or created; guarded by fs.mu
	// lower is the lower inode the node shows or merges: nil when the file
	// exists only in the upper layer, or when an upper non-directory or
	// opaque directory hides the lower entry of the same name.
	lower vfs.Inode
	// copies maps the name of each child copied up so far to its upper
	// inode; guarded by fs.mu. Several nodes may stand for one name (the
	// VFS caches the node it looked up, the overlay looks names up again
	// for unlink and rename), and the VFS moves a cached node to the new
	// name on rename without telling it, so a node still without an
	// upper inode takes the one its name was copied up to (adoptLocked)
	// rather than copy the file up a second time at a name it may no
	// longer have. The lower entry at a name never shows again once the
	// name is copied up (a whiteout or another upper file hides it), so
	// the record can only ever be the node's copy.
	copies map[string]vfs.Inode
}

func (n *node) layers() (upper, lower vfs.Inode) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	n.adoptLocked()
	return n.upper, n.lower
}

// adoptLocked gives n the upper inode its name was copied up to by another
// node, if it was.
func (n *node) adoptLocked() {
	if n.upper == nil && n.parent != nil {
		if up, ok := n.parent.copies[n.name]; ok {
			n.upper = up
		}
	}
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

// origin returns the inode number of the lower file u was copied from.
func origin(u vfs.Inode) (uint64, bool) {
	v, err := u.Getxattr(originXattr)
	if err != nil || len(v) != 8 {
		return 0, false
	}
	var ino uint64
	for k := 7; k >= 0; k-- {
		ino = ino<<8 | uint64(v[k])
	}
	return ino, true
}

// setOrigin records on u the inode number of the lower file it copies.
func setOrigin(u vfs.Inode, ino uint64) error {
	v := make([]byte, 8)
	for k := range v {
		v[k] = byte(ino >> (8 * k))
	}
	return u.Setxattr(originXattr, v, 0)
}

// upperInoOf returns the inode number the overlay reports for the upper
// inode u, whose own number is ino: its origin's; for a merged directory
// with no origin recorded, the number of the lower directory lower returns
// (lower may be nil); otherwise ino marked as an upper one.
func upperInoOf(u vfs.Inode, ino uint64, isDir bool, lower func() (vfs.Inode, bool)) uint64 {
	if o, ok := origin(u); ok {
		return o
	}
	if isDir && lower != nil {
		if l, ok := lower(); ok {
			if lst, err := l.Stat(); err == nil {
				return lst.Ino
			}
		}
	}
	return ino | upperIno
}

// Stat implements vfs.Inode.
func (n *node) Stat() (vfs.Stat, error) {
	u, l := n.layers()
	if u == nil {
		st, err := l.Stat()
		st.Dev = n.fs.dev
		return st, err
	}
	st, err := u.Stat()
	if err != nil {
		return st, err
	}
	st.Ino = upperInoOf(u, st.Ino, st.IsDir(), func() (vfs.Inode, bool) { return l, l != nil })
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
	top := u
	if top == nil {
		top = l
	}
	st, err := top.Stat()
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, unix.ENOTDIR
	}
	c := &node{fs: n.fs, parent: n, name: name}
	if u != nil {
		ui, err := u.Lookup(name)
		switch {
		case err == nil && isWhiteout(ui):
			return nil, unix.ENOENT
		case err == nil:
			c.upper = ui
			ust, err := ui.Stat()
			if err != nil {
				return nil, err
			}
			if !ust.IsDir() || isOpaque(ui) {
				// An upper non-directory or opaque directory
				// hides the lower entry; whether there is one
				// matters only on removal (lowerPositive).
				return c, nil
			}
		case err != unix.ENOENT:
			return nil, err
		}
		if l != nil && isOpaque(u) {
			l = nil
		}
	}
	if l != nil {
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

// lowerPositive reports whether the lower layer has name in directory n
// and n is not opaque, so that the lower entry must stay hidden by a
// whiteout once the name is removed from the upper layer (Linux's
// ovl_lower_positive). It holds whether the name shows the lower file, a
// copy of it, or a file made after the lower one was removed.
func (n *node) lowerPositive(name string) (bool, error) {
	u, l := n.layers()
	if l == nil || (u != nil && isOpaque(u)) {
		return false, nil
	}
	switch _, err := l.Lookup(name); err {
	case nil:
		return true, nil
	case unix.ENOENT, unix.ENOTDIR:
		return false, nil
	default:
		return false, err
	}
}

// hidesLower reports whether removing c, the child name of n, must leave a
// whiteout.
func (n *node) hidesLower(c *node, name string) (bool, error) {
	if _, cl := c.layers(); cl != nil {
		return true, nil
	}
	return n.lowerPositive(name)
}

// Readdir implements vfs.Inode: the upper entries, then the lower ones not
// hidden by an upper entry or a whiteout. Inode numbers are the ones Stat
// reports.
func (n *node) Readdir() ([]vfs.Dirent, error) {
	u, l := n.layers()
	if u != nil && l != nil && isOpaque(u) {
		l = nil
	}
	var lents []vfs.Dirent
	lower := make(map[string]int) // name -> index in lents
	if l != nil {
		var err error
		if lents, err = l.Readdir(); err != nil {
			return nil, err
		}
		for k, e := range lents {
			lower[e.Name] = k
		}
	}
	seen := make(map[string]bool)
	var out []vfs.Dirent
	if u != nil {
		ents, err := u.Readdir()
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			seen[e.Name] = true
			c, err := u.Lookup(e.Name)
			if err != nil {
				continue // removed meanwhile
			}
			if e.Type == vfs.DTypeOf(unix.S_IFCHR) && isWhiteout(c) {
				continue
			}
			isDir := e.Type == vfs.DTypeOf(unix.S_IFDIR)
			e.Ino = upperInoOf(c, e.Ino, isDir, func() (vfs.Inode, bool) {
				k, ok := lower[e.Name]
				if !ok || lents[k].Type != vfs.DTypeOf(unix.S_IFDIR) || isOpaque(c) {
					return nil, false
				}
				li, err := l.Lookup(e.Name)
				return li, err == nil
			})
			out = append(out, e)
		}
	}
	for _, e := range lents {
		if !seen[e.Name] {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// copyUpLocked gives n an upper inode, copying its parents up first.
func (n *node) copyUpLocked() error {
	if n.adoptLocked(); n.upper != nil {
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
	if st.IsDir() || st.Nlink == 1 {
		// Keep the inode number (best effort: an upper layer
		// without trusted xattrs gives the copy its own).
		setOrigin(up, st.Ino)
	}
	mask := uint32(vfs.SetMode | vfs.SetUID | vfs.SetGID | vfs.SetAtime | vfs.SetMtime)
	if st.IsSymlink() {
		mask &^= vfs.SetMode
	}
	up.SetStat(vfs.SetStat{Mask: mask, Mode: st.Mode & 0o7777, UID: st.UID, GID: st.GID, Atime: st.Atime, Mtime: st.Mtime})
	n.upper = up
	if n.parent.copies == nil {
		n.parent.copies = make(map[string]vfs.Inode)
	}
	n.parent.copies[n.name] = up
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

// BoundSocket implements vfs.SocketHolder for the layer the node shows.
func (n *node) BoundSocket() any {
	if h, ok := n.top().(vfs.SocketHolder); ok {
		return h.BoundSocket()
	}
	return nil
}

// SetBoundSocket implements vfs.SocketHolder: a socket binds to the upper
// layer's node (bind(2) always creates one there).
func (n *node) SetBoundSocket(s any) bool {
	if h, ok := n.top().(vfs.SocketHolder); ok {
		return h.SetBoundSocket(s)
	}
	return false
}

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

// child returns the node of a file just made in n's upper directory.
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
	positive, err := n.hidesLower(c, name)
	if err != nil {
		return err
	}
	u, err := n.copyUp()
	if err != nil {
		return err
	}
	cu, _ := c.layers()
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
	if positive {
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
		if flags&unix.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		dst = di.(*node)
		_, dl := dst.layers()
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
	// The lower entries at either name must stay hidden: the old name
	// by a whiteout, the new one (when a directory moves there) by
	// making the directory opaque.
	srcPositive, err := n.hidesLower(src, oldName)
	if err != nil {
		return err
	}
	dstPositive := false
	if sst.IsDir() {
		if dst != nil {
			dstPositive, err = nd.hidesLower(dst, newName)
		} else {
			dstPositive, err = nd.lowerPositive(newName)
		}
		if err != nil {
			return err
		}
	}
	srcUpper, err := src.copyUp()
	if err != nil {
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
	if dstPositive && !isOpaque(srcUpper) {
		// Set before the move, so no lookup sees the lower directory's
		// entries through it; harmless where it is now (an upper-only
		// directory merges nothing).
		if err := srcUpper.Setxattr(opaqueXattr, []byte("y"), 0); err != nil {
			return err
		}
	}
	// A whiteout at the new name (a removed lower file) is not a file of
	// the merged view: it goes, so RENAME_NOREPLACE succeeds and no
	// directory replaces a device in the upper layer. The moved file
	// hides the lower one from then on; if the rename fails the whiteout
	// is put back.
	removedWhiteout := false
	if dst == nil {
		if c, err := du.Lookup(newName); err == nil {
			if !isWhiteout(c) {
				return unix.EEXIST
			}
			if err := du.Unlink(newName); err != nil {
				return err
			}
			removedWhiteout = true
		}
	}
	if err := su.Rename(oldName, du, newName, flags); err != nil {
		if removedWhiteout {
			whiteout(du, newName)
		}
		return err
	}
	if srcPositive {
		return whiteout(su, oldName)
	}
	return nil
}

// Getxattr implements vfs.Inode.
func (n *node) Getxattr(name string) ([]byte, error) {
	if isPrivateXattr(name) {
		return nil, unix.ENODATA
	}
	return n.top().Getxattr(name)
}

// Setxattr implements vfs.Inode.
func (n *node) Setxattr(name string, value []byte, flags int) error {
	if isPrivateXattr(name) {
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
		if !isPrivateXattr(x) {
			out = append(out, x)
		}
	}
	return out, err
}

// Removexattr implements vfs.Inode.
func (n *node) Removexattr(name string) error {
	if isPrivateXattr(name) {
		return unix.EPERM
	}
	u, err := n.copyUp()
	if err != nil {
		return err
	}
	return u.Removexattr(name)
}
