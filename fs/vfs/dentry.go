package vfs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Dentry is a name in the directory tree, caching the inode it resolves to.
// Every change of the namespace goes through the VFS, which keeps the cache
// exact; a filesystem whose files change behind the sandbox's back (a bind
// mount of a host directory) is re-read on lookups that miss.
type Dentry struct {
	name   string
	parent *Dentry // nil for a filesystem root
	inode  Inode

	mu sync.Mutex // guards children
	// children caches looked-up names.
	children map[string]*Dentry
	// dead is set once the name is unlinked or replaced. It is atomic, not
	// under mu: PathOf reads it while a lookup may hold mu on the same
	// dentry (a /proc/self/fd lookup names the open /proc/self/fd
	// directory itself).
	dead atomic.Bool
}

// NewRoot returns the root dentry of a filesystem.
func NewRoot(i Inode) *Dentry { return &Dentry{inode: i} }

// Inode returns the dentry's inode.
func (d *Dentry) Inode() Inode { return d.inode }

// Name returns the dentry's name in its parent.
func (d *Dentry) Name() string { return d.name }

// Parent returns the parent dentry within the same filesystem, or nil.
func (d *Dentry) Parent() *Dentry { return d.parent }

// lookup returns the child name, from the cache or the filesystem.
func (d *Dentry) lookup(name string) (*Dentry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.children[name]; ok {
		return c, nil
	}
	i, err := d.inode.Lookup(name)
	if err != nil {
		return nil, err
	}
	return d.insertLocked(name, i), nil
}

func (d *Dentry) insertLocked(name string, i Inode) *Dentry {
	if d.children == nil {
		d.children = make(map[string]*Dentry)
	}
	c := &Dentry{name: name, parent: d, inode: i}
	d.children[name] = c
	return c
}

// insert records a new child created through the VFS.
func (d *Dentry) insert(name string, i Inode) *Dentry {
	d.mu.Lock()
	defer d.mu.Unlock()
	if old := d.children[name]; old != nil {
		old.markDead()
	}
	return d.insertLocked(name, i)
}

// forget drops a child from the cache (after unlink or rename).
func (d *Dentry) forget(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.children[name]; c != nil {
		c.markDead()
		delete(d.children, name)
	}
}

func (d *Dentry) markDead() { d.dead.Store(true) }

// IsDead reports whether the dentry was unlinked.
func (d *Dentry) IsDead() bool { return d.dead.Load() }

// Mount is a filesystem attached at a point of the tree.
type Mount struct {
	root     *Dentry
	parent   *Mount  // nil for the namespace root
	point    *Dentry // where it is attached in parent
	ReadOnly bool
	// FSType and Source are shown in /proc/mounts.
	FSType, Source string
	Options        string
}

// Root returns the mount's root dentry.
func (m *Mount) Root() *Dentry { return m.root }

// Parent returns the mount this one is attached in.
func (m *Mount) Parent() *Mount { return m.parent }

// VirtualDentry is a dentry seen through a mount.
type VirtualDentry struct {
	Mount  *Mount
	Dentry *Dentry
}

// Ok reports whether the virtual dentry is set.
func (vd VirtualDentry) Ok() bool { return vd.Dentry != nil }

type mountKey struct {
	parent *Mount
	point  *Dentry
}

// MountNamespace is a tree of mounts.
type MountNamespace struct {
	root *Mount

	mu sync.RWMutex // guards mounts
	// mounts maps a mount point to the mounts stacked on it, last on top.
	mounts map[mountKey][]*Mount
	all    []*Mount
}

// NewMountNamespace returns a namespace whose root is the given filesystem.
func NewMountNamespace(root *Dentry, fstype, source string, ro bool) *MountNamespace {
	m := &Mount{root: root, FSType: fstype, Source: source, ReadOnly: ro}
	return &MountNamespace{root: m, mounts: make(map[mountKey][]*Mount), all: []*Mount{m}}
}

// Root returns the namespace's root.
func (ns *MountNamespace) Root() VirtualDentry {
	return VirtualDentry{Mount: ns.root, Dentry: ns.root.root}
}

// Mount attaches the filesystem rooted at root on the directory at vd.
func (ns *MountNamespace) Mount(vd VirtualDentry, root *Dentry, fstype, source string, ro bool) (*Mount, error) {
	st, err := vd.Dentry.inode.Stat()
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if r, err := root.inode.Stat(); err != nil || r.IsDir() {
			return nil, unix.ENOTDIR
		}
	}
	m := &Mount{root: root, parent: vd.Mount, point: vd.Dentry, FSType: fstype, Source: source, ReadOnly: ro}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	k := mountKey{vd.Mount, vd.Dentry}
	ns.mounts[k] = append(ns.mounts[k], m)
	ns.all = append(ns.all, m)
	return m, nil
}

// Mounts returns every mount in the order they were made.
func (ns *MountNamespace) Mounts() []*Mount {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return append([]*Mount(nil), ns.all...)
}

// mountedOn returns the top mount on vd, or nil.
func (ns *MountNamespace) mountedOn(vd VirtualDentry) *Mount {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	ms := ns.mounts[mountKey{vd.Mount, vd.Dentry}]
	if len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1]
}

// followMounts descends into whatever is mounted on vd.
func (ns *MountNamespace) followMounts(vd VirtualDentry) VirtualDentry {
	for {
		m := ns.mountedOn(vd)
		if m == nil {
			return vd
		}
		vd = VirtualDentry{Mount: m, Dentry: m.root}
	}
}

// MountPoint returns where m is attached (its parent's view).
func (m *Mount) MountPoint() VirtualDentry {
	return VirtualDentry{Mount: m.parent, Dentry: m.point}
}
