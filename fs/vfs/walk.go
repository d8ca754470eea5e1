package vfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Creds are the filesystem credentials of a caller.
type Creds struct {
	UID, GID uint32
	Groups   []uint32
}

// Privileged reports whether the caller bypasses permission checks
// (CAP_DAC_OVERRIDE, CAP_FOWNER: root in the sandbox).
func (c *Creds) Privileged() bool { return c.UID == 0 }

// InGroup reports whether gid is the caller's group or a supplementary one.
func (c *Creds) InGroup(gid uint32) bool {
	if c.GID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// Context is the caller of a VFS operation: who, and where "/" and "." are.
type Context struct {
	Creds     *Creds
	Root, Cwd VirtualDentry
	Umask     uint32
}

// Access bits for permission checks.
const (
	MayExec  = 1
	MayWrite = 2
	MayRead  = 4
)

// CheckPermission applies the classic owner/group/other checks of
// path_resolution(7) to an inode's stat.
func CheckPermission(c *Creds, st *Stat, want uint32) error {
	if c.Privileged() {
		// Root may do anything, except execute a file with no x bit.
		if want&MayExec != 0 && !st.IsDir() && st.Mode&0o111 == 0 {
			return unix.EACCES
		}
		return nil
	}
	var bits uint32
	switch {
	case c.UID == st.UID:
		bits = (st.Mode >> 6) & 7
	case c.InGroup(st.GID):
		bits = (st.Mode >> 3) & 7
	default:
		bits = st.Mode & 7
	}
	if want&^bits != 0 {
		return unix.EACCES
	}
	return nil
}

// maxSymlinks is Linux's limit on symlinks followed in one resolution.
const maxSymlinks = 40

// MaxPath is PATH_MAX; MaxName is NAME_MAX.
const (
	MaxPath = 4096
	MaxName = 255
)

// resolver walks paths for one operation.
type resolver struct {
	ns       *MountNamespace
	ctx      *Context
	symlinks int
	// noSymlinks, beneath and noMagic implement openat2's RESOLVE_ flags.
	noSymlinks bool
	beneath    bool
	start      VirtualDentry
	noXdev     bool
}

func splitPath(p string) []string {
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, c := range parts {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

func (r *resolver) isRoot(vd VirtualDentry) bool {
	if r.beneath {
		return vd == r.start
	}
	return vd == r.ctx.Root
}

// stepDotDot moves to the parent of vd, crossing mounts, never above root.
func (r *resolver) stepDotDot(vd VirtualDentry) (VirtualDentry, error) {
	if r.beneath && vd == r.start {
		return vd, unix.EXDEV
	}
	if r.isRoot(vd) {
		return vd, nil
	}
	for vd.Dentry == vd.Mount.root && vd.Mount.parent != nil {
		if r.noXdev {
			return vd, unix.EXDEV
		}
		vd = vd.Mount.MountPoint()
		if r.isRoot(vd) {
			return vd, nil
		}
	}
	if vd.Dentry.parent == nil {
		return vd, nil
	}
	if r.beneath && vd.Dentry == vd.Mount.root {
		return vd, unix.EXDEV
	}
	return VirtualDentry{Mount: vd.Mount, Dentry: vd.Dentry.parent}, nil
}

// searchable checks that vd is a directory the caller may search.
func (r *resolver) searchable(vd VirtualDentry) error {
	st, err := vd.Dentry.inode.Stat()
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return unix.ENOTDIR
	}
	return CheckPermission(r.ctx.Creds, &st, MayExec)
}

// step looks up one name in vd, following mounts.
func (r *resolver) step(vd VirtualDentry, name string) (VirtualDentry, error) {
	if len(name) > MaxName {
		return vd, unix.ENAMETOOLONG
	}
	d, err := vd.Dentry.lookup(name)
	if err != nil {
		return vd, err
	}
	next := VirtualDentry{Mount: vd.Mount, Dentry: d}
	followed := r.ns.followMounts(next)
	if r.noXdev && followed.Mount != next.Mount {
		return vd, unix.EXDEV
	}
	return followed, nil
}

// readSymlink returns the target of vd if it is a symlink.
func isSymlink(vd VirtualDentry) bool {
	st, err := vd.Dentry.inode.Stat()
	return err == nil && st.IsSymlink()
}

func (r *resolver) followLink(vd VirtualDentry) ([]string, bool, error) {
	if r.noSymlinks {
		return nil, false, unix.ELOOP
	}
	r.symlinks++
	if r.symlinks > maxSymlinks {
		return nil, false, unix.ELOOP
	}
	target, err := vd.Dentry.inode.Readlink()
	if err != nil {
		return nil, false, err
	}
	if target == "" {
		return nil, false, unix.ENOENT
	}
	return splitPath(target), strings.HasPrefix(target, "/"), nil
}

// walkResult is where a walk ended.
type walkResult struct {
	parent   VirtualDentry // the directory holding the last component
	last     string        // the last component ("" when the path was "/")
	trailing bool          // the path ended in "/"
}

// walkParent resolves every component but the last, starting at start.
func (r *resolver) walkParent(start VirtualDentry, path string) (walkResult, error) {
	if path == "" {
		return walkResult{}, unix.ENOENT
	}
	if len(path) >= MaxPath {
		return walkResult{}, unix.ENAMETOOLONG
	}
	vd := start
	if path[0] == '/' {
		if r.beneath {
			return walkResult{}, unix.EXDEV
		}
		if r.noXdev && r.ctx.Root.Mount != start.Mount {
			return walkResult{}, unix.EXDEV
		}
		vd = r.ctx.Root
	}
	comps := splitPath(path)
	trailing := strings.HasSuffix(path, "/")
	if len(comps) == 0 {
		return walkResult{parent: vd, last: "", trailing: trailing}, nil
	}
	for len(comps) > 1 {
		c := comps[0]
		comps = comps[1:]
		if err := r.searchable(vd); err != nil {
			return walkResult{}, err
		}
		switch c {
		case ".":
			continue
		case "..":
			var err error
			if vd, err = r.stepDotDot(vd); err != nil {
				return walkResult{}, err
			}
			continue
		}
		next, err := r.step(vd, c)
		if err != nil {
			return walkResult{}, err
		}
		if isSymlink(next) {
			target, abs, err := r.followLink(next)
			if err != nil {
				return walkResult{}, err
			}
			if abs {
				if r.beneath {
					return walkResult{}, unix.EXDEV
				}
				if r.noXdev && r.ctx.Root.Mount != vd.Mount {
					return walkResult{}, unix.EXDEV
				}
				vd = r.ctx.Root
			}
			comps = append(target, comps...)
			if len(comps) == 0 {
				comps = []string{"."}
			}
			continue
		}
		vd = next
	}
	return walkResult{parent: vd, last: comps[0], trailing: trailing}, nil
}

// resolveLast resolves the last component of w, following a final symlink
// if follow is set (a trailing slash always follows).
func (r *resolver) resolveLast(w walkResult, follow bool) (VirtualDentry, error) {
	for {
		vd := w.parent
		if w.last == "" {
			return vd, nil
		}
		if err := r.searchable(vd); err != nil {
			return vd, err
		}
		var next VirtualDentry
		var err error
		switch w.last {
		case ".":
			next = vd
		case "..":
			next, err = r.stepDotDot(vd)
		default:
			next, err = r.step(vd, w.last)
		}
		if err != nil {
			return next, err
		}
		if (follow || w.trailing) && isSymlink(next) {
			target, abs, err := r.followLink(next)
			if err != nil {
				return next, err
			}
			start := vd
			if abs {
				if r.beneath {
					return next, unix.EXDEV
				}
				if r.noXdev && r.ctx.Root.Mount != vd.Mount {
					return next, unix.EXDEV
				}
				start = r.ctx.Root
			}
			path := strings.Join(target, "/")
			if path == "" {
				path = "."
			}
			if abs {
				path = "/" + path
			}
			trailing := w.trailing
			w, err = r.walkParent(start, path)
			if err != nil {
				return next, err
			}
			w.trailing = w.trailing || trailing
			continue
		}
		if w.trailing {
			st, err := next.Dentry.inode.Stat()
			if err != nil {
				return next, err
			}
			if !st.IsDir() {
				return next, unix.ENOTDIR
			}
		}
		return next, nil
	}
}
