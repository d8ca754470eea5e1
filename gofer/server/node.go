package server

import (
	"container/list"
	"strings"

	"golang.org/x/sys/unix"

	"sbx/gofer/proto"
)

// node is what a handle names: one file of one mount, as walked.
type node struct {
	// fd is an O_PATH|O_NOFOLLOW FD of the file, or -1 once closed to
	// stay under the session's bound (nodeFD reopens it by path). Roots
	// and detached nodes, which cannot be reopened, keep theirs.
	fd       int
	lru      *list.Element // in session.fds while fd may be closed
	mnt      *mount
	root     bool   // the mount's root; parent is nil
	parent   *node  // nil for the root and for detached nodes
	name     string // component in parent
	dev, ino uint64
	mode     uint32 // S_IFMT bits; an inode never changes type
	refs     int    // handle-table entries + child nodes
	detached bool   // its name was removed through this connection
}

func (n *node) isDir() bool { return n.mode == unix.S_IFDIR }

// nameKey identifies a directory entry: the directory's identity and a
// name. Nodes are indexed by it so Rename and Unlink can find every node
// of a name, whichever handle of the directory they were walked from.
type nameKey struct {
	mnt      *mount
	dev, ino uint64
	name     string
}

func (n *node) key() nameKey {
	return nameKey{n.mnt, n.parent.dev, n.parent.ino, n.name}
}

// session is the state of one connection. It is used by one goroutine.
type session struct {
	srv     *Server
	handles map[uint64]*node
	nextID  uint64
	byName  map[nameKey][]*node
	dirbuf  []byte
	// fds lists the nodes whose FD may be closed, most recently used
	// first: at most srv.maxNodeFDs of them keep one. The sentry holds a
	// handle for every file its dentry cache knows, so without a bound a
	// walk of a large tree ran the gofer out of FDs (EMFILE).
	fds *list.List
}

func newSession(s *Server) *session {
	return &session{
		srv:     s,
		handles: make(map[uint64]*node),
		byName:  make(map[nameKey][]*node),
		fds:     list.New(),
	}
}

// nodeFD returns n's O_PATH FD, reopening it by path (and checking it is
// still the same file: ESTALE if not) when it was closed. The FD stays
// valid until the session's next nodeFD or add.
func (s *session) nodeFD(n *node) (int, error) {
	if n.fd >= 0 {
		if n.lru != nil {
			s.fds.MoveToFront(n.lru)
		}
		return n.fd, nil
	}
	fd, _, err := s.reopen(n, unix.O_PATH)
	if err != nil {
		return -1, err
	}
	n.fd = fd
	s.track(n)
	return fd, nil
}

// track lists n's FD as closable and closes the least recently used ones
// beyond the bound.
func (s *session) track(n *node) {
	if n.root || n.detached || n.parent == nil {
		return
	}
	n.lru = s.fds.PushFront(n)
	for s.fds.Len() > s.srv.maxNodeFDs {
		e := s.fds.Back()
		m := e.Value.(*node)
		s.fds.Remove(e)
		m.lru = nil
		unix.Close(m.fd)
		m.fd = -1
	}
}

// untrack takes n off the closable list (it keeps its FD, if any).
func (s *session) untrack(n *node) {
	if n.lru != nil {
		s.fds.Remove(n.lru)
		n.lru = nil
	}
}

// pinName gives every node of dir's entry name its FD and keeps it, before
// an operation that may remove the name: a detached node cannot be
// reopened by path, and the sentry may still stat an unlinked file
// through its handle. unpin undoes it for the nodes still attached.
func (s *session) pinName(dir *node, name string) []*node {
	list := s.byName[nameKey{dir.mnt, dir.dev, dir.ino, name}]
	pinned := make([]*node, 0, len(list))
	for _, n := range list {
		if _, err := s.nodeFD(n); err == nil {
			s.untrack(n)
			pinned = append(pinned, n)
		}
	}
	return pinned
}

func (s *session) unpin(pinned []*node) {
	for _, n := range pinned {
		if !n.detached && n.fd >= 0 && n.lru == nil {
			s.track(n)
		}
	}
}

// get returns the node of handle id, or EBADF.
func (s *session) get(id uint64) (*node, error) {
	n, ok := s.handles[id]
	if !ok {
		return nil, unix.EBADF
	}
	return n, nil
}

// add makes a node for fd (an O_PATH FD of the file name in parent, or of
// mnt's root if parent is nil) and returns its new handle ID. It takes
// ownership of fd.
func (s *session) add(mnt *mount, parent *node, name string, fd int, st *unix.Stat_t) uint64 {
	n := &node{
		fd:   fd,
		mnt:  mnt,
		dev:  uint64(st.Dev),
		ino:  uint64(st.Ino),
		mode: st.Mode & unix.S_IFMT,
		refs: 1,
	}
	if parent == nil {
		n.root = true
	} else {
		n.parent, n.name = parent, name
		parent.refs++
		s.index(n)
		s.track(n)
	}
	s.nextID++
	s.handles[s.nextID] = n
	return s.nextID
}

func (s *session) index(n *node) {
	k := n.key()
	s.byName[k] = append(s.byName[k], n)
}

func (s *session) unindex(n *node) {
	k := n.key()
	list := s.byName[k]
	for i, m := range list {
		if m == n {
			list[i] = list[len(list)-1]
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(s.byName, k)
	} else {
		s.byName[k] = list
	}
}

// unref drops one reference to n, freeing it (and so possibly its
// ancestors) when none is left.
func (s *session) unref(n *node) {
	for n != nil {
		n.refs--
		if n.refs > 0 {
			return
		}
		s.untrack(n)
		if n.fd >= 0 {
			unix.Close(n.fd)
		}
		n.fd = -1
		p := n.parent
		if p != nil {
			s.unindex(n)
			n.parent = nil
		}
		n = p
	}
}

// release drops handle id.
func (s *session) release(id uint64) error {
	n, ok := s.handles[id]
	if !ok {
		return unix.EBADF
	}
	delete(s.handles, id)
	s.unref(n)
	return nil
}

// releaseAll drops every handle (end of the connection).
func (s *session) releaseAll() {
	for id := range s.handles {
		s.release(id)
	}
}

// detachName marks every node of dir's entry name as detached: the name
// was removed or replaced.
func (s *session) detachName(dir *node, name string) {
	k := nameKey{dir.mnt, dir.dev, dir.ino, name}
	list := s.byName[k]
	delete(s.byName, k)
	for _, n := range list {
		s.untrack(n)
		p := n.parent
		n.parent, n.detached = nil, true
		s.unref(p)
	}
}

// moveName re-homes every node of oldDir's entry oldName to newDir's
// entry newName: the name was renamed.
func (s *session) moveName(oldDir *node, oldName string, newDir *node, newName string) {
	k := nameKey{oldDir.mnt, oldDir.dev, oldDir.ino, oldName}
	list := s.byName[k]
	delete(s.byName, k)
	for _, n := range list {
		p := n.parent
		n.parent, n.name = newDir, newName
		newDir.refs++
		s.index(n)
		s.unref(p)
	}
}

// exchangeNames swaps the nodes of two entries (RENAME_EXCHANGE).
func (s *session) exchangeNames(a *node, aName string, b *node, bName string) {
	ka := nameKey{a.mnt, a.dev, a.ino, aName}
	kb := nameKey{b.mnt, b.dev, b.ino, bName}
	if ka == kb {
		return
	}
	la, lb := s.byName[ka], s.byName[kb]
	delete(s.byName, ka)
	delete(s.byName, kb)
	move := func(list []*node, dir *node, name string) {
		for _, n := range list {
			p := n.parent
			n.parent, n.name = dir, name
			dir.refs++
			s.index(n)
			s.unref(p)
		}
	}
	move(la, b, bName)
	move(lb, a, aName)
}

// path returns n's path from its mount root ("." for the root itself), or
// ENOENT if n or an ancestor is detached.
func (s *session) path(n *node) (string, error) {
	if n.root {
		return ".", nil
	}
	var names []string
	size := 0
	for p := n; !p.root; p = p.parent {
		if p.detached || p.parent == nil {
			return "", unix.ENOENT
		}
		names = append(names, p.name)
		size += len(p.name) + 1
		if size >= proto.MaxPath {
			return "", unix.ENAMETOOLONG
		}
	}
	var b strings.Builder
	b.Grow(size)
	for i := len(names) - 1; i >= 0; i-- {
		b.WriteString(names[i])
		if i > 0 {
			b.WriteByte('/')
		}
	}
	return b.String(), nil
}

// resolveBeneath is how every by-name open is confined: below the starting
// directory, through no symlink and no magic link.
const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openat2 opens name beneath dirfd with the given flags (O_NOFOLLOW and
// O_CLOEXEC always added, and O_NOCTTY unless O_PATH, which openat2 does
// not combine with it), retrying EINTR and EAGAIN.
func openat2(dirfd int, name string, flags uint64, mode uint32, resolve uint64) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	if flags&unix.O_PATH == 0 {
		flags |= unix.O_NOCTTY
	}
	how := unix.OpenHow{Flags: flags, Mode: uint64(mode), Resolve: resolve}
	var err error
	for range 16 {
		var fd int
		fd, err = unix.Openat2(dirfd, name, &how)
		if err == nil {
			return fd, nil
		}
		if err != unix.EINTR && err != unix.EAGAIN {
			break
		}
	}
	return -1, err
}

// reopen opens n afresh by its path from the mount root with flags, and
// checks that it is still the same inode (ESTALE if not). It returns the
// FD and its stat.
func (s *session) reopen(n *node, flags uint64) (int, *unix.Stat_t, error) {
	p, err := s.path(n)
	if err != nil {
		return -1, nil, err
	}
	fd, err := openat2(n.mnt.rootFD, p, flags, 0, resolveBeneath)
	if err != nil {
		return -1, nil, err
	}
	st := new(unix.Stat_t)
	if err := fstat(fd, st); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	if uint64(st.Dev) != n.dev || uint64(st.Ino) != n.ino {
		unix.Close(fd)
		return -1, nil, unix.ESTALE
	}
	return fd, st, nil
}

// dirFD returns a fresh, verified O_PATH FD of directory n.
func (s *session) dirFD(n *node) (int, error) {
	if !n.isDir() {
		return -1, unix.ENOTDIR
	}
	fd, _, err := s.reopen(n, unix.O_PATH|unix.O_DIRECTORY)
	return fd, err
}

func fstat(fd int, st *unix.Stat_t) error {
	for {
		err := unix.Fstat(fd, st)
		if err != unix.EINTR {
			return err
		}
	}
}

// fstatat stats name in dirfd without following a symlink.
func fstatat(dirfd int, name string, st *unix.Stat_t) error {
	for {
		err := unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			return err
		}
	}
}
