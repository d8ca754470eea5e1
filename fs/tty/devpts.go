package tty

import (
	"sort"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// devptsDev is the device number of the devpts filesystem (st_dev).
const devptsDev = 241

// DevPTS is the devpts filesystem: a directory holding the replica of every
// terminal whose master is open, and the factory of new terminals.
//
// Terminal numbers are not reused while the sandbox runs (Linux hands out
// the lowest free one): the dentry cache may keep a name of a closed
// terminal, and that name must never lead to a different terminal.
type DevPTS struct {
	jc   JobControl
	root *vfs.Dentry

	mu sync.Mutex // guards next and terms
	// next is the number of the next terminal.
	next int
	// terms are the terminals whose master is open, by number.
	terms map[int]*Terminal
}

// NewDevPTS returns an empty devpts whose terminals signal through jc.
func NewDevPTS(jc JobControl) *DevPTS {
	d := &DevPTS{jc: jc, terms: make(map[int]*Terminal)}
	d.root = vfs.NewRoot(&ptsDir{d: d})
	return d
}

// Root returns the filesystem's root, to be mounted at /dev/pts.
func (d *DevPTS) Root() *vfs.Dentry { return d.root }

// OpenMaster makes a new terminal and returns its master end (open(2) of
// /dev/ptmx). The replica starts locked, as posix_openpt(3) expects.
func (d *DevPTS) OpenMaster(flags int) (vfs.FileDescriptionImpl, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := newTerminal(d.next, d.jc)
	d.next++
	d.terms[t.Index] = t
	return &Master{endpoint: endpoint{t: t}, pts: d}, nil
}

// NewTerminal makes a terminal for the sandbox itself (`sbx run -t`) and
// returns its master end, unlocked, with the given window size.
func (d *DevPTS) NewTerminal(w Winsize) *Master {
	impl, _ := d.OpenMaster(unix.O_RDWR)
	m := impl.(*Master)
	m.t.locked = false
	m.t.winsize = w
	return m
}

func (d *DevPTS) remove(index int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.terms, index)
}

func (d *DevPTS) lookup(index int) *Terminal {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.terms[index]
}

// ptsDir is the root directory of devpts.
type ptsDir struct {
	vfs.InodeBase
	d *DevPTS
}

// Stat implements vfs.Inode.
func (p *ptsDir) Stat() (vfs.Stat, error) {
	return vfs.Stat{Dev: devptsDev, Ino: 1, Mode: unix.S_IFDIR | 0o755, Nlink: 2, Blksize: 1024}, nil
}

// Lookup implements vfs.Inode.
func (p *ptsDir) Lookup(name string) (vfs.Inode, error) {
	n, err := strconv.Atoi(name)
	if err != nil || n < 0 || strconv.Itoa(n) != name {
		return nil, unix.ENOENT
	}
	t := p.d.lookup(n)
	if t == nil {
		return nil, unix.ENOENT
	}
	return &ptsNode{d: p.d, t: t}, nil
}

// Readdir implements vfs.Inode.
func (p *ptsDir) Readdir() ([]vfs.Dirent, error) {
	p.d.mu.Lock()
	var idx []int
	for i := range p.d.terms {
		idx = append(idx, i)
	}
	p.d.mu.Unlock()
	sort.Ints(idx)
	out := make([]vfs.Dirent, 0, len(idx))
	for _, i := range idx {
		out = append(out, vfs.Dirent{Name: strconv.Itoa(i), Ino: uint64(i) + 3, Type: unix.DT_CHR})
	}
	return out, nil
}

// Open implements vfs.Inode.
func (p *ptsDir) Open(flags int) (vfs.FileDescriptionImpl, error) {
	return &ptsDirFD{}, nil
}

// Creating names in devpts is refused, as Linux does.
func (p *ptsDir) Create(string, uint32, vfs.Owner) (vfs.Inode, error) { return nil, unix.EACCES }
func (p *ptsDir) Mkdir(string, uint32, vfs.Owner) (vfs.Inode, error)  { return nil, unix.EACCES }
func (p *ptsDir) Mknod(string, uint32, uint64, vfs.Owner) (vfs.Inode, error) {
	return nil, unix.EACCES
}
func (p *ptsDir) Symlink(string, string, vfs.Owner) (vfs.Inode, error) { return nil, unix.EACCES }
func (p *ptsDir) Link(string, vfs.Inode) error                         { return unix.EACCES }
func (p *ptsDir) Unlink(string) error                                  { return unix.EPERM }
func (p *ptsDir) Rmdir(string) error                                   { return unix.EPERM }
func (p *ptsDir) Rename(string, vfs.Inode, string, uint) error         { return unix.EPERM }

// ptsDirFD is the open devpts directory; the VFS lists it through the
// inode.
type ptsDirFD struct{ vfs.NoIO }

func (f *ptsDirFD) Positional() bool                                     { return true }
func (f *ptsDirFD) Preadv([][]byte, int64) (int, error)                  { return 0, unix.EISDIR }
func (f *ptsDirFD) Readv([][]byte) (int, error)                          { return 0, unix.EISDIR }
func (f *ptsDirFD) Ioctl(vfs.UserMemory, uint, uintptr) (uintptr, error) { return 0, unix.ENOTTY }
func (f *ptsDirFD) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Dev: devptsDev, Ino: 1, Mode: unix.S_IFDIR | 0o755, Nlink: 2, Blksize: 1024}, nil
}

// ptsNode is /dev/pts/<n>. Once the terminal's master is closed the name
// is gone: Stat and Open say ENOENT even through a cached dentry.
type ptsNode struct {
	vfs.InodeBase
	d *DevPTS
	t *Terminal
}

func (n *ptsNode) alive() bool { return n.d.lookup(n.t.Index) == n.t }

// stat is the replica node's attributes.
func (t *Terminal) stat() vfs.Stat {
	t.mu.Lock()
	defer t.mu.Unlock()
	return vfs.Stat{
		Dev: devptsDev, Ino: uint64(t.Index) + 3, Mode: unix.S_IFCHR | t.mode, Nlink: 1,
		UID: t.uid, GID: t.gid, Rdev: unix.Mkdev(replicaMajor, uint32(t.Index)), Blksize: 1024,
	}
}

// Stat implements vfs.Inode.
func (n *ptsNode) Stat() (vfs.Stat, error) {
	if !n.alive() {
		return vfs.Stat{}, unix.ENOENT
	}
	return n.t.stat(), nil
}

// SetStat implements vfs.Inode: chmod and chown of the replica
// (grantpt(3) in older C libraries).
func (n *ptsNode) SetStat(s vfs.SetStat) error {
	if !n.alive() {
		return unix.ENOENT
	}
	t := n.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.Mask&vfs.SetMode != 0 {
		t.mode = s.Mode & 0o7777
	}
	if s.Mask&vfs.SetUID != 0 {
		t.uid = s.UID
	}
	if s.Mask&vfs.SetGID != 0 {
		t.gid = s.GID
	}
	return nil
}

// Open implements vfs.Inode.
func (n *ptsNode) Open(flags int) (vfs.FileDescriptionImpl, error) {
	if !n.alive() {
		return nil, unix.ENOENT
	}
	return n.t.OpenReplica()
}
