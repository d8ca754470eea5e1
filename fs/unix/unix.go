// Package unix implements Unix domain sockets (unix(7)) inside the sandbox:
// SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET sockets, socket pairs,
// pathname and abstract addresses, listening and connecting, shutdown,
// passing open file descriptions (SCM_RIGHTS) and credentials
// (SCM_CREDENTIALS), the SOL_SOCKET options and readiness for
// poll/select/epoll. No host socket is ever made: every byte stays in the
// sentry.
//
// It follows Linux's net/unix/af_unix.c in its observable behaviour:
//   - A stream write is queued as segments (Linux's skbs) on the peer's
//     receive queue; a read crosses segments but stops after one that
//     carried descriptors, and, with SO_PASSCRED, where the sender's
//     credentials change. Datagrams and seqpackets are one message each.
//   - Flow control charges what a socket has queued and not yet read to the
//     sender (SO_SNDBUF): a write waits while the charge is at least the
//     buffer size, and POLLOUT is set while it is at most a quarter of it.
//     A datagram receiver that is not connected back to the sender also
//     limits its queue to max_dgram_qlen (10) messages.
//   - A pathname socket is a S_IFSOCK node made with mknod in the VFS;
//     the socket is found through the node (vfs.SocketHolder, or by device
//     and inode number on filesystems whose nodes cannot hold it). Abstract
//     names live in the sandbox's Namespace.
//
// Departures: no garbage collector for descriptors in flight (a socket sent
// over itself and closed is never released); SO_PEEK_OFF, MSG_OOB and
// SO_PEERGROUPS are not implemented; a datagram's skb overhead is a fixed
// msgOverhead bytes.
//
// Locking: one mutex per Namespace (the sandbox) guards the state of all its
// sockets; blocking waits release it. Lock order: Namespace.mu before a
// filesystem's locks (the node a socket is bound to). File descriptions are
// never released while it is held.
//
// It must not import the sentry, syscalls or runsc layers.
package unix

import (
	"sync"
	"sync/atomic"
	"time"

	linux "golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// Socket types (socket(2)).
const (
	Stream    = linux.SOCK_STREAM
	Dgram     = linux.SOCK_DGRAM
	SeqPacket = linux.SOCK_SEQPACKET
)

// Limits and defaults, from Linux's defaults.
const (
	defaultBuf   = 212992 // net.core.{w,r}mem_default
	maxBuf       = 212992 // net.core.{w,r}mem_max
	minSndBuf    = 4608   // SOCK_MIN_SNDBUF
	minRcvBuf    = 2304   // SOCK_MIN_RCVBUF
	maxDgramQlen = 10     // net.unix.max_dgram_qlen
	somaxconn    = 4096   // net.core.somaxconn
	// msgOverhead is charged to the sender for every queued datagram or
	// seqpacket besides its bytes (a stand-in for an skb's overhead).
	msgOverhead = 512
	// maxSegment bounds one queued stream segment.
	maxSegment = 65536
	// MaxFDs is SCM_MAX_FD: the descriptors one message may carry.
	MaxFDs = 253
	// sockfsDev is st_dev of sockets.
	sockfsDev = 0x8
)

// erestartsys is the restart errno vfs.Block returns when a signal
// interrupts a wait (the sentry's ERESTARTSYS).
const erestartsys = linux.Errno(512)

// shutdown bits (RCV_SHUTDOWN, SEND_SHUTDOWN).
const (
	rcvShutdown  = 1
	sendShutdown = 2
	shutdownMask = 3
)

// Socket states.
const (
	stateClosed = iota // unconnected (TCP_CLOSE)
	stateListening
	stateConnected
)

var nextIno atomic.Uint64

func init() { nextIno.Store(1 << 20) }

// Creds are credentials as struct ucred carries them.
type Creds struct {
	PID      int32
	UID, GID uint32
}

// nobody is what a receiver with SO_PASSCRED sees for data sent without
// credentials (Linux's overflow ids).
var nobody = Creds{PID: 0, UID: 65534, GID: 65534}

// Caller is the task making a call: its view of the filesystem (for
// pathname addresses) and its credentials.
type Caller struct {
	VFS *vfs.VFS
	FS  *vfs.Context
	// Cred are the caller's process id and real ids (SCM_CREDENTIALS).
	Cred Creds
	// PeerCred are its process id and effective ids (SO_PEERCRED).
	PeerCred Creds
}

// Address is a socket name as Linux keeps it: the bytes of sun_path, a
// pathname with its terminating NUL or an abstract name starting with NUL.
// An empty Address is no name.
type Address []byte

// IsAbstract reports an abstract name.
func (a Address) IsAbstract() bool { return len(a) > 0 && a[0] == 0 }

// Path returns a pathname address's path.
func (a Address) Path() string {
	if len(a) == 0 || a[0] == 0 {
		return ""
	}
	return string(a[:len(a)-1])
}

// Sockaddr returns the address as a struct sockaddr_un of its real length.
func (a Address) Sockaddr() []byte {
	b := make([]byte, 2+len(a))
	b[0] = linux.AF_UNIX
	copy(b[2:], a)
	return b
}

// SockaddrLen is the size of struct sockaddr_un.
const SockaddrLen = 110

// ParseAddress decodes a struct sockaddr_un of the given length
// (unix_validate_addr and unix_mkname_bsd): EINVAL for a short or long one
// or another family.
func ParseAddress(raw []byte) (Address, error) {
	if len(raw) <= 2 || len(raw) > SockaddrLen {
		return nil, linux.EINVAL
	}
	if uint16(raw[0])|uint16(raw[1])<<8 != linux.AF_UNIX {
		return nil, linux.EINVAL
	}
	p := raw[2:]
	if p[0] == 0 {
		return Address(append([]byte(nil), p...)), nil
	}
	n := 0
	for n < len(p) && p[n] != 0 {
		n++
	}
	a := make(Address, n+1)
	copy(a, p[:n])
	return a, nil
}

// message is a queued datagram, seqpacket or stream segment.
type message struct {
	data []byte
	// off is how much of a stream segment has been read.
	off int
	// fds are the file descriptions it carries (a reference each).
	fds []*vfs.FileDescription
	// creds are the sender's credentials, when attached.
	creds *Creds
	// from is the sender's address when it was sent.
	from Address
	// sender is charged charge bytes until the message is read.
	sender *Socket
	charge int
}

type absKey struct {
	typ  int
	name string
}

type fileKey struct{ dev, ino uint64 }

// Namespace is one sandbox's Unix socket world: its abstract names, the
// sockets bound on filesystems that cannot hold them, and the lock of all
// its sockets.
type Namespace struct {
	// mu guards the maps below, autobind, and the state of every socket
	// of the namespace (the Socket fields marked so). Lock order: before
	// the locks of the filesystem holding a bound node.
	mu sync.Mutex
	// abstract are the bound abstract names, by socket type and name.
	abstract map[absKey]*Socket
	// files are the sockets bound to nodes that cannot hold them
	// (vfs.SocketHolder), by the node's device and inode number.
	files map[fileKey]*Socket
	// autobind is the last autobind name tried.
	autobind uint32
}

// NewNamespace returns an empty namespace.
func NewNamespace() *Namespace {
	return &Namespace{
		abstract: make(map[absKey]*Socket),
		files:    make(map[fileKey]*Socket),
		autobind: uint32(time.Now().UnixNano()) & 0xfffff,
	}
}

// Socket is one Unix socket. It is the FileDescriptionImpl of its file.
type Socket struct {
	ns  *Namespace
	typ int
	ino uint64
	// owner made the socket: st_uid/st_gid, and the credentials of writes
	// that arrive without a caller (sendfile, splice).
	owner Creds
	// desc is the socket's file description (its O_NONBLOCK flag); nil
	// for a connection not yet accepted.
	desc atomic.Pointer[vfs.FileDescription]

	// Guarded by ns.mu:
	state    int
	addr     Address
	holder   vfs.SocketHolder // the node a pathname address is bound to
	fileKey  *fileKey         // or its identity in ns.files
	peer     *Socket
	rq       []*message
	pending  []*Socket // connections waiting for accept
	wmem     int
	sndbuf   int
	rcvbuf   int
	shutdown int
	err      linux.Errno
	// backlog is the listen backlog, or max_dgram_qlen.
	backlog  int
	passcred bool
	peerCred *Creds
	opts     map[int]int32
	linger   [8]byte
	rcvlowat int
	rcvtimeo time.Duration
	sndtimeo time.Duration
	released bool
	// changed is closed (and replaced) at every change of the socket's
	// state or readiness.
	changed chan struct{}
	// spaceWaiters are datagram sockets told when this one's queue drains
	// (their writability depends on it).
	spaceWaiters map[*Socket]bool
}

func (ns *Namespace) newSocket(typ int, owner Creds) *Socket {
	return &Socket{
		ns: ns, typ: typ, ino: nextIno.Add(1), owner: owner,
		sndbuf: defaultBuf, rcvbuf: defaultBuf, backlog: maxDgramQlen, rcvlowat: 1,
		changed: make(chan struct{}),
	}
}

// ValidType reports a socket type this package makes (SOCK_RAW is made a
// datagram socket by the caller, as Linux does).
func ValidType(typ int) bool { return typ == Stream || typ == Dgram || typ == SeqPacket }

// New returns an unconnected socket of the given type, made by owner.
func (ns *Namespace) New(typ int, owner Creds) *Socket { return ns.newSocket(typ, owner) }

// Pair returns two sockets connected to each other (socketpair(2)); each
// one's SO_PEERCRED is the caller's.
func (ns *Namespace) Pair(typ int, c Creds, peerCred Creds) (*Socket, *Socket) {
	a, b := ns.newSocket(typ, c), ns.newSocket(typ, c)
	a.peer, b.peer = b, a
	a.state, b.state = stateConnected, stateConnected
	pa, pb := peerCred, peerCred
	a.peerCred, b.peerCred = &pa, &pb
	return a, b
}

// SetDescription ties the socket to its file description, whose O_NONBLOCK
// flag it follows.
func (s *Socket) SetDescription(fd *vfs.FileDescription) { s.desc.Store(fd) }

// Type returns SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
func (s *Socket) Type() int { return s.typ }

func (s *Socket) nonblocking() bool {
	fd := s.desc.Load()
	return fd != nil && fd.Flags()&linux.O_NONBLOCK != 0
}

// notifyLocked wakes everyone waiting on the socket.
func (s *Socket) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitLocked waits for a change of s with ns.mu released. With a timeout
// (SO_RCVTIMEO/SO_SNDTIMEO) it returns EAGAIN once it passes and EINTR,
// not a restart, when a signal comes, as Linux's sock_intr_errno does.
func (s *Socket) waitLocked(timeout time.Duration) error {
	return s.waitOnLocked(s, timeout)
}

// waitOnLocked waits for a change of other (a listener, a datagram
// receiver).
func (s *Socket) waitOnLocked(other *Socket, timeout time.Duration) error {
	if timeout < 0 {
		return linux.EAGAIN // a negative SO_RCVTIMEO: never wait
	}
	ch := other.changed
	ns := s.ns
	ns.mu.Unlock()
	defer ns.mu.Lock()
	if timeout == 0 {
		return vfs.Block(ch)
	}
	done := make(chan struct{})
	stop := make(chan struct{})
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var mu sync.Mutex // guards expired
	expired := false
	go func() {
		select {
		case <-ch:
		case <-timer.C:
			mu.Lock()
			expired = true
			mu.Unlock()
		case <-stop:
			return
		}
		close(done)
	}()
	err := vfs.Block(done)
	close(stop)
	if err != nil {
		if err == erestartsys {
			return linux.EINTR
		}
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if expired {
		return linux.EAGAIN
	}
	return nil
}

// Bound reports whether the socket has a name.
func (s *Socket) Bound() bool {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	return len(s.addr) > 0
}

// Name returns the socket's address (getsockname(2)); empty when unbound.
func (s *Socket) Name() Address {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	return s.addr
}

// PeerName returns the peer's address (getpeername(2)), ENOTCONN without a
// peer.
func (s *Socket) PeerName() (Address, error) {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	if s.peer == nil {
		return nil, linux.ENOTCONN
	}
	return s.peer.addr, nil
}

// Bind implements bind(2). A pathname creates the socket node (EADDRINUSE
// if the name exists); an abstract name is taken in the namespace; an empty
// address autobinds to an abstract name of five hex digits.
func (s *Socket) Bind(c *Caller, addr Address) error {
	if len(addr) == 0 {
		s.ns.mu.Lock()
		defer s.ns.mu.Unlock()
		if len(s.addr) > 0 {
			return nil
		}
		return s.autobindLocked()
	}
	if addr.IsAbstract() {
		s.ns.mu.Lock()
		defer s.ns.mu.Unlock()
		if len(s.addr) > 0 {
			return linux.EINVAL
		}
		k := absKey{s.typ, string(addr)}
		if _, taken := s.ns.abstract[k]; taken {
			return linux.EADDRINUSE
		}
		s.ns.abstract[k] = s
		s.addr = addr
		return nil
	}
	if s.Bound() {
		return linux.EINVAL
	}
	if c == nil || c.VFS == nil {
		return linux.ENOENT
	}
	path := addr.Path()
	err := c.VFS.MknodAt(c.FS, c.FS.Cwd, path, linux.S_IFSOCK|0o777, 0)
	if err == linux.EEXIST {
		return linux.EADDRINUSE
	}
	if err != nil {
		return err
	}
	vd, err := c.VFS.Resolve(c.FS, c.FS.Cwd, path, vfs.Resolve{NoFollow: true})
	if err != nil {
		return err
	}
	node := vd.Dentry.Inode()
	st, err := node.Stat()
	if err != nil {
		return err
	}
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	if len(s.addr) > 0 || s.released {
		// Bound meanwhile by another thread: undo the node, as Linux does.
		s.ns.mu.Unlock()
		c.VFS.UnlinkAt(c.FS, c.FS.Cwd, path)
		s.ns.mu.Lock()
		return linux.EINVAL
	}
	if h, ok := node.(vfs.SocketHolder); ok && h.SetBoundSocket(s) {
		s.holder = h
	} else {
		k := fileKey{st.Dev, st.Ino}
		s.ns.files[k] = s
		s.fileKey = &k
	}
	s.addr = addr
	return nil
}

// autobindLocked gives the socket an abstract name "\0XXXXX".
func (s *Socket) autobindLocked() error {
	ns := s.ns
	for i := 0; i <= 0xfffff; i++ {
		ns.autobind = (ns.autobind + 1) & 0xfffff
		const hex = "0123456789abcdef"
		name := []byte{0, 0, 0, 0, 0, 0}
		v := ns.autobind
		for j := 5; j >= 1; j-- {
			name[j] = hex[v&0xf]
			v >>= 4
		}
		k := absKey{s.typ, string(name)}
		if _, taken := ns.abstract[k]; taken {
			continue
		}
		ns.abstract[k] = s
		s.addr = Address(name)
		return nil
	}
	return linux.ENOSPC
}

func (s *Socket) autobindIfPasscred() error {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	if s.passcred && len(s.addr) == 0 {
		return s.autobindLocked()
	}
	return nil
}

// find returns the socket bound to addr for a socket of type typ
// (unix_find_other): ENOENT and friends from the path walk, EACCES without
// write permission on the node, ECONNREFUSED when nothing is bound there,
// EPROTOTYPE for another type.
func (ns *Namespace) find(c *Caller, addr Address, typ int) (*Socket, error) {
	if addr.IsAbstract() {
		ns.mu.Lock()
		defer ns.mu.Unlock()
		o := ns.abstract[absKey{typ, string(addr)}]
		if o == nil {
			return nil, linux.ECONNREFUSED
		}
		return o, nil
	}
	if c == nil || c.VFS == nil {
		return nil, linux.ECONNREFUSED
	}
	vd, err := c.VFS.Resolve(c.FS, c.FS.Cwd, addr.Path(), vfs.Resolve{})
	if err != nil {
		return nil, err
	}
	node := vd.Dentry.Inode()
	st, err := node.Stat()
	if err != nil {
		return nil, err
	}
	if err := vfs.CheckPermission(c.FS.Creds, &st, vfs.MayWrite); err != nil {
		return nil, err
	}
	if st.Type() != linux.S_IFSOCK {
		return nil, linux.ECONNREFUSED
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	var o *Socket
	if h, ok := node.(vfs.SocketHolder); ok {
		o, _ = h.BoundSocket().(*Socket)
	}
	if o == nil {
		o = ns.files[fileKey{st.Dev, st.Ino}]
	}
	if o == nil || o.released {
		return nil, linux.ECONNREFUSED
	}
	if o.typ != typ {
		return nil, linux.EPROTOTYPE
	}
	return o, nil
}

// Listen implements listen(2).
func (s *Socket) Listen(c *Caller, backlog int) error {
	if s.typ == Dgram {
		return linux.EOPNOTSUPP
	}
	if uint(backlog) > somaxconn {
		backlog = somaxconn
	}
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	if len(s.addr) == 0 {
		return linux.EINVAL
	}
	if s.state != stateClosed && s.state != stateListening {
		return linux.EINVAL
	}
	s.backlog = backlog
	s.state = stateListening
	pc := c.PeerCred
	s.peerCred = &pc
	s.notifyLocked()
	return nil
}

// Connect implements connect(2). For a stream or seqpacket socket it
// queues a new connection on the listener (waiting while its backlog is
// full); for a datagram socket it sets the default peer, and an address of
// family AF_UNSPEC (unspec) dissolves it.
func (s *Socket) Connect(c *Caller, addr Address, unspec bool) error {
	if s.typ == Dgram {
		return s.connectDgram(c, addr, unspec)
	}
	if unspec {
		return linux.EINVAL
	}
	if err := s.autobindIfPasscred(); err != nil {
		return err
	}
	ns := s.ns
	for {
		other, err := ns.find(c, addr, s.typ)
		if err != nil {
			return err
		}
		ns.mu.Lock()
		if other.released {
			ns.mu.Unlock()
			continue
		}
		if other.state != stateListening || other.shutdown&rcvShutdown != 0 {
			ns.mu.Unlock()
			return linux.ECONNREFUSED
		}
		if len(other.pending) > other.backlog {
			if s.nonblocking() {
				ns.mu.Unlock()
				return linux.EAGAIN
			}
			err := s.waitOnLocked(other, s.sndtimeo)
			ns.mu.Unlock()
			if err != nil {
				return err
			}
			continue
		}
		switch s.state {
		case stateConnected:
			ns.mu.Unlock()
			return linux.EISCONN
		case stateListening:
			ns.mu.Unlock()
			return linux.EINVAL
		}
		n := ns.newSocket(s.typ, other.owner)
		n.state = stateConnected
		n.peer = s
		pc := c.PeerCred
		n.peerCred = &pc
		n.addr = other.addr
		n.passcred = other.passcred
		s.peerCred = other.peerCred
		s.state = stateConnected
		s.peer = n
		other.pending = append(other.pending, n)
		other.notifyLocked()
		s.notifyLocked()
		ns.mu.Unlock()
		return nil
	}
}

func (s *Socket) connectDgram(c *Caller, addr Address, unspec bool) error {
	ns := s.ns
	var other *Socket
	if !unspec {
		if err := s.autobindIfPasscred(); err != nil {
			return err
		}
		o, err := ns.find(c, addr, s.typ)
		if err != nil {
			return err
		}
		other = o
	}
	ns.mu.Lock()
	if other != nil {
		if other.released {
			ns.mu.Unlock()
			return linux.ECONNREFUSED
		}
		if other.peer != nil && other.peer != s {
			ns.mu.Unlock()
			return linux.EPERM
		}
	}
	old := s.peer
	s.peer = other
	if other != nil {
		s.state = stateConnected
	} else {
		s.state = stateClosed
	}
	var drop []*vfs.FileDescription
	if old != nil && old != other {
		drop = s.disconnectedLocked(old)
	}
	s.notifyLocked()
	ns.mu.Unlock()
	release(drop)
	return nil
}

// disconnectedLocked is unix_dgram_disconnected: a datagram socket that
// changes its peer drops what it had received; a bidirectional peer learns
// of the loss through ECONNRESET.
func (s *Socket) disconnectedLocked(old *Socket) []*vfs.FileDescription {
	if len(s.rq) == 0 {
		return nil
	}
	drop := s.purgeLocked()
	if !old.released && old.peer == s {
		old.err = linux.ECONNRESET
		old.notifyLocked()
	}
	return drop
}

// purgeLocked empties the receive queue, uncharging the senders, and
// returns the descriptions it carried.
func (s *Socket) purgeLocked() []*vfs.FileDescription {
	var drop []*vfs.FileDescription
	for _, m := range s.rq {
		drop = append(drop, m.fds...)
		m.fds = nil
		s.uncharge(m)
	}
	s.rq = nil
	s.wakeSpaceWaitersLocked()
	return drop
}

func (s *Socket) uncharge(m *message) {
	if m.sender != nil && m.charge != 0 {
		m.sender.wmem -= m.charge
		m.charge = 0
		m.sender.notifyLocked()
	}
}

func (s *Socket) wakeSpaceWaitersLocked() {
	for w := range s.spaceWaiters {
		w.notifyLocked()
	}
	s.spaceWaiters = nil
	s.notifyLocked()
}

// Accept implements accept(2): it takes the next connection, waiting for
// one unless the listener is non-blocking (EAGAIN). The new socket has no
// file description yet.
func (s *Socket) Accept() (*Socket, error) {
	if s.typ == Dgram {
		return nil, linux.EOPNOTSUPP
	}
	ns := s.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if s.state != stateListening {
		return nil, linux.EINVAL
	}
	for len(s.pending) == 0 {
		if s.err != 0 {
			err := s.err
			s.err = 0
			return nil, err
		}
		if s.shutdown&rcvShutdown != 0 {
			return nil, linux.EINVAL
		}
		if s.nonblocking() {
			return nil, linux.EAGAIN
		}
		if err := s.waitLocked(s.rcvtimeo); err != nil {
			return nil, err
		}
		if s.state != stateListening {
			return nil, linux.EINVAL
		}
	}
	n := s.pending[0]
	s.pending[0] = nil
	s.pending = s.pending[1:]
	s.notifyLocked()
	return n, nil
}

// Shutdown implements shutdown(2): how is SHUT_RD, SHUT_WR or SHUT_RDWR.
// A connected stream or seqpacket peer is shut the other way.
func (s *Socket) Shutdown(how int) error {
	if how < linux.SHUT_RD || how > linux.SHUT_RDWR {
		return linux.EINVAL
	}
	mode := how + 1
	ns := s.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s.shutdown |= mode
	s.notifyLocked()
	if o := s.peer; o != nil && s.typ != Dgram && !o.released {
		pm := 0
		if mode&rcvShutdown != 0 {
			pm |= sendShutdown
		}
		if mode&sendShutdown != 0 {
			pm |= rcvShutdown
		}
		o.shutdown |= pm
		o.notifyLocked()
	}
	return nil
}

// SendOptions describe one sendmsg(2).
type SendOptions struct {
	// Flags are MSG_* flags (MSG_DONTWAIT, MSG_NOSIGNAL, MSG_OOB, ...).
	Flags int
	// To is the destination (sendto); nil for the connected peer.
	To Address
	// FDs are descriptions to pass (SCM_RIGHTS); the socket takes its own
	// references.
	FDs []*vfs.FileDescription
	// Creds are explicit SCM_CREDENTIALS (checked by the caller).
	Creds *Creds
}

// Send implements sendmsg(2) and write(2) on the socket. It returns EPIPE
// when the peer is gone or shut; for a stream socket the caller then raises
// SIGPIPE unless MSG_NOSIGNAL (unix_stream_sendmsg), datagram and seqpacket
// sockets raise none.
func (s *Socket) Send(c *Caller, bufs [][]byte, o SendOptions) (int, error) {
	if o.Flags&linux.MSG_OOB != 0 {
		return 0, linux.EOPNOTSUPP
	}
	if s.typ == Stream {
		return s.sendStream(c, bufs, o)
	}
	return s.sendDgram(c, bufs, o)
}

func (s *Socket) callerCreds(c *Caller) Creds {
	if c != nil {
		return c.Cred
	}
	return s.owner
}

func totalLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// gather copies up to n bytes from the front of *bufs, consuming them.
func gather(bufs *[][]byte, n int) []byte {
	out := make([]byte, 0, n)
	for n > 0 && len(*bufs) > 0 {
		b := (*bufs)[0]
		c := min(n, len(b))
		out = append(out, b[:c]...)
		n -= c
		if c == len(b) {
			*bufs = (*bufs)[1:]
		} else {
			(*bufs)[0] = b[c:]
		}
	}
	return out
}

// scatter copies data into the front of *bufs, consuming them, and returns
// how much fit.
func scatter(bufs *[][]byte, data []byte) int {
	done := 0
	for len(data) > 0 && len(*bufs) > 0 {
		b := (*bufs)[0]
		c := copy(b, data)
		data = data[c:]
		done += c
		if c == len(b) {
			*bufs = (*bufs)[1:]
		} else {
			(*bufs)[0] = b[c:]
		}
	}
	return done
}

func incRefs(fds []*vfs.FileDescription) []*vfs.FileDescription {
	if len(fds) == 0 {
		return nil
	}
	out := make([]*vfs.FileDescription, len(fds))
	for i, f := range fds {
		f.IncRef()
		out[i] = f
	}
	return out
}

func release(fds []*vfs.FileDescription) {
	for _, f := range fds {
		f.DecRef()
	}
}

// attachCreds decides the credentials a message carries
// (unix_maybe_add_creds): explicit ones, or the sender's when either side
// has SO_PASSCRED or the receiver is not accepted yet.
func (s *Socket) attachCredsLocked(c *Caller, o *SendOptions, other *Socket) *Creds {
	if o.Creds != nil {
		cr := *o.Creds
		return &cr
	}
	if s.passcred || other.passcred || other.desc.Load() == nil {
		cr := s.callerCreds(c)
		return &cr
	}
	return nil
}

func (s *Socket) sendStream(c *Caller, bufs [][]byte, o SendOptions) (int, error) {
	ns := s.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if o.To != nil {
		if s.state == stateConnected {
			return 0, linux.EISCONN
		}
		return 0, linux.EOPNOTSUPP
	}
	other := s.peer
	if other == nil {
		return 0, linux.ENOTCONN
	}
	if s.shutdown&sendShutdown != 0 {
		return 0, linux.EPIPE
	}
	bufs = append([][]byte(nil), bufs...)
	total := totalLen(bufs)
	nonblock := s.nonblocking() || o.Flags&linux.MSG_DONTWAIT != 0
	sent := 0
	fdsSent := false
	for sent < total {
		if other.released || other.shutdown&rcvShutdown != 0 || s.shutdown&sendShutdown != 0 {
			if sent > 0 {
				return sent, nil
			}
			return 0, linux.EPIPE
		}
		if s.wmem >= s.sndbuf {
			if nonblock {
				if sent > 0 {
					return sent, nil
				}
				return 0, linux.EAGAIN
			}
			if err := s.waitLocked(s.sndtimeo); err != nil {
				if sent > 0 {
					return sent, nil
				}
				return 0, err
			}
			continue
		}
		size := min(total-sent, max(s.sndbuf/2-64, 1), maxSegment)
		m := &message{data: gather(&bufs, size), from: s.addr, sender: s, charge: size}
		if !fdsSent {
			m.fds = incRefs(o.FDs)
			fdsSent = true
		}
		m.creds = s.attachCredsLocked(c, &o, other)
		s.wmem += size
		other.rq = append(other.rq, m)
		other.notifyLocked()
		sent += size
	}
	return sent, nil
}

func (s *Socket) sendDgram(c *Caller, bufs [][]byte, o SendOptions) (int, error) {
	ns := s.ns
	to := o.To
	if s.typ == SeqPacket {
		ns.mu.Lock()
		if s.err != 0 {
			err := s.err
			s.err = 0
			ns.mu.Unlock()
			return 0, err
		}
		if s.state != stateConnected {
			ns.mu.Unlock()
			return 0, linux.ENOTCONN
		}
		ns.mu.Unlock()
		to = nil
	}
	if err := s.autobindIfPasscred(); err != nil {
		return 0, err
	}
	total := totalLen(bufs)
	ns.mu.Lock()
	sndbuf := s.sndbuf
	ns.mu.Unlock()
	if total > sndbuf-32 {
		return 0, linux.EMSGSIZE
	}
	bufs = append([][]byte(nil), bufs...)
	data := gather(&bufs, total)
	nonblock := s.nonblocking() || o.Flags&linux.MSG_DONTWAIT != 0

	var other *Socket
	if to != nil {
		x, err := ns.find(c, to, s.typ)
		if err != nil {
			return 0, err
		}
		other = x
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if other == nil {
		other = s.peer
		if other == nil {
			return 0, linux.ENOTCONN
		}
	}
	for {
		if other.peer != nil && other.peer != s {
			return 0, linux.EPERM
		}
		if other.released {
			if s.typ == SeqPacket {
				return 0, linux.EPIPE
			}
			if s.peer == other {
				s.peer = nil
				s.state = stateClosed
				drop := s.disconnectedLocked(other)
				s.notifyLocked()
				if len(drop) > 0 {
					ns.mu.Unlock()
					release(drop)
					ns.mu.Lock()
				}
				return 0, linux.ECONNREFUSED
			}
			if to == nil {
				return 0, linux.ECONNRESET
			}
			return 0, linux.ECONNREFUSED
		}
		if other.shutdown&rcvShutdown != 0 {
			return 0, linux.EPIPE
		}
		if s.wmem >= s.sndbuf && s.wmem > 0 {
			if nonblock {
				return 0, linux.EAGAIN
			}
			if err := s.waitLocked(s.sndtimeo); err != nil {
				return 0, err
			}
			continue
		}
		if other != s && other.peer != s && len(other.rq) > other.backlog {
			if nonblock {
				return 0, linux.EAGAIN
			}
			if err := s.waitOnLocked(other, s.sndtimeo); err != nil {
				return 0, err
			}
			continue
		}
		break
	}
	charge := total + msgOverhead
	m := &message{data: data, fds: incRefs(o.FDs), from: s.addr, sender: s, charge: charge}
	m.creds = s.attachCredsLocked(c, &o, other)
	s.wmem += charge
	other.rq = append(other.rq, m)
	other.notifyLocked()
	return total, nil
}

// RecvResult is what one recvmsg(2) got.
type RecvResult struct {
	// N is the byte count to return (the full datagram length with
	// MSG_TRUNC).
	N int
	// MsgFlags are the msg_flags bits (MSG_TRUNC).
	MsgFlags int
	// From is the sender's address (empty when it had none or nothing was
	// read).
	From Address
	// FDs are the descriptions received; the caller owns a reference to
	// each and installs or releases them.
	FDs []*vfs.FileDescription
	// Creds, with SO_PASSCRED on, are the credentials to report.
	Creds *Creds
}

// Recv implements recvmsg(2) and read(2) on the socket.
func (s *Socket) Recv(bufs [][]byte, flags int) (RecvResult, error) {
	if s.typ == Stream {
		return s.recvStream(bufs, flags)
	}
	return s.recvDgram(bufs, flags)
}

func credsEqual(a, b *Creds) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (s *Socket) recvStream(bufs [][]byte, flags int) (RecvResult, error) {
	var res RecvResult
	if flags&linux.MSG_OOB != 0 {
		return res, linux.EINVAL
	}
	ns := s.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if s.state != stateConnected {
		return res, linux.EINVAL
	}
	bufs = append([][]byte(nil), bufs...)
	size := totalLen(bufs)
	target := min(s.rcvlowat, size)
	if flags&linux.MSG_WAITALL != 0 {
		target = size
	}
	if target < 1 {
		target = 1
	}
	peek := flags&linux.MSG_PEEK != 0
	nonblock := s.nonblocking() || flags&linux.MSG_DONTWAIT != 0
	copied := 0
	var err error
	checkCreds := false
	var cur *Creds
	readAny := false
	peekIdx := 0
	for {
		var m *message
		if peek {
			if peekIdx < len(s.rq) {
				m = s.rq[peekIdx]
			}
		} else if len(s.rq) > 0 {
			m = s.rq[0]
		}
		if m == nil {
			if copied >= target {
				break
			}
			if s.err != 0 {
				err = s.err
				s.err = 0
				break
			}
			if s.shutdown&rcvShutdown != 0 {
				break
			}
			if nonblock {
				err = linux.EAGAIN
				break
			}
			if err = s.waitLocked(s.rcvtimeo); err != nil {
				break
			}
			// Another reader may have taken what was peeked.
			peekIdx = min(peekIdx, len(s.rq))
			continue
		}
		if checkCreds {
			if !credsEqual(m.creds, cur) {
				break
			}
		} else if s.passcred {
			cur = m.creds
			checkCreds = true
		}
		if !readAny {
			res.From = m.from
			readAny = true
		}
		n := scatter(&bufs, m.data[m.off:])
		copied += n
		if !peek {
			m.off += n
			if len(m.fds) > 0 {
				res.FDs = m.fds
				m.fds = nil
			}
			if m.off < len(m.data) {
				break
			}
			s.rq[0] = nil
			s.rq = s.rq[1:]
			s.uncharge(m)
			if res.FDs != nil {
				break
			}
		} else {
			if len(m.fds) > 0 {
				res.FDs = incRefs(m.fds)
				break
			}
			if n < len(m.data)-m.off {
				break
			}
			peekIdx++
		}
		if len(bufs) == 0 {
			break
		}
	}
	if s.passcred {
		// Data sent without credentials reads as nobody's; no data
		// at all as zeros (scm_recv of an empty cookie).
		var c Creds
		switch {
		case cur != nil:
			c = *cur
		case readAny:
			c = nobody
		}
		res.Creds = &c
	}
	res.N = copied
	if copied > 0 {
		return res, nil
	}
	return res, err
}

func (s *Socket) recvDgram(bufs [][]byte, flags int) (RecvResult, error) {
	var res RecvResult
	if flags&linux.MSG_OOB != 0 {
		return res, linux.EOPNOTSUPP
	}
	ns := s.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if s.typ == SeqPacket && s.state != stateConnected {
		return res, linux.ENOTCONN
	}
	nonblock := s.nonblocking() || flags&linux.MSG_DONTWAIT != 0
	for len(s.rq) == 0 {
		if s.err != 0 {
			err := s.err
			s.err = 0
			return res, err
		}
		if nonblock {
			if s.typ == SeqPacket && s.shutdown&rcvShutdown != 0 {
				return res, nil
			}
			return res, linux.EAGAIN
		}
		if s.shutdown&rcvShutdown != 0 {
			return res, nil
		}
		if err := s.waitLocked(s.rcvtimeo); err != nil {
			return res, err
		}
	}
	m := s.rq[0]
	bufs = append([][]byte(nil), bufs...)
	n := scatter(&bufs, m.data)
	if n < len(m.data) {
		res.MsgFlags |= linux.MSG_TRUNC
	}
	res.N = n
	if flags&linux.MSG_TRUNC != 0 {
		res.N = len(m.data)
	}
	res.From = m.from
	if s.passcred {
		c := nobody
		if m.creds != nil {
			c = *m.creds
		}
		res.Creds = &c
	}
	if flags&linux.MSG_PEEK != 0 {
		res.FDs = incRefs(m.fds)
		return res, nil
	}
	res.FDs = m.fds
	m.fds = nil
	s.rq[0] = nil
	s.rq = s.rq[1:]
	s.uncharge(m)
	s.wakeSpaceWaitersLocked()
	return res, nil
}

// Readv implements vfs.FileDescriptionImpl (read(2) without a caller):
// descriptors that arrive are closed, as Linux does for read(2).
func (s *Socket) Readv(bufs [][]byte) (int, error) {
	res, err := s.Recv(bufs, 0)
	release(res.FDs)
	return res.N, err
}

// Writev implements vfs.FileDescriptionImpl (write(2) without a caller:
// sendfile, splice).
func (s *Socket) Writev(bufs [][]byte) (int, error) {
	return s.Send(nil, bufs, SendOptions{})
}

// Preadv implements vfs.FileDescriptionImpl: sockets have no offsets.
func (s *Socket) Preadv([][]byte, int64) (int, error) { return 0, linux.ESPIPE }

// Pwritev implements vfs.FileDescriptionImpl.
func (s *Socket) Pwritev([][]byte, int64) (int, error) { return 0, linux.ESPIPE }

// ioctl requests (asm-generic/ioctls.h, sockios.h).
const (
	siocinq  = 0x541b // FIONREAD
	siocoutq = 0x5411 // TIOCOUTQ
)

// Ioctl implements vfs.FileDescriptionImpl: FIONREAD/SIOCINQ (bytes to
// read; a datagram socket's next datagram) and TIOCOUTQ/SIOCOUTQ (bytes
// sent and not yet read).
func (s *Socket) Ioctl(mem vfs.UserMemory, req uint, arg uintptr) (uintptr, error) {
	s.ns.mu.Lock()
	var n int
	switch req {
	case siocinq:
		if s.state == stateListening {
			s.ns.mu.Unlock()
			return 0, linux.EINVAL
		}
		if s.typ == Dgram {
			if len(s.rq) > 0 {
				n = len(s.rq[0].data)
			}
		} else {
			for _, m := range s.rq {
				n += len(m.data) - m.off
			}
		}
	case siocoutq:
		n = s.wmem
	default:
		s.ns.mu.Unlock()
		return 0, linux.ENOTTY
	}
	s.ns.mu.Unlock()
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	_, err := mem.CopyOut(arg, b)
	return 0, err
}

// Stat implements vfs.FileDescriptionImpl: a sockfs inode.
func (s *Socket) Stat() (linux.Stat_t, error) {
	return linux.Stat_t{
		Dev: sockfsDev, Ino: s.ino, Mode: linux.S_IFSOCK | 0o777, Nlink: 1,
		Uid: s.owner.UID, Gid: s.owner.GID, Blksize: 4096,
	}, nil
}

// Release implements vfs.FileDescriptionImpl: the last close
// (unix_release_sock). A connected stream or seqpacket peer is shut both
// ways (with ECONNRESET if this end had unread data); pending connections
// of a listener are closed; the name is released.
func (s *Socket) Release() {
	ns := s.ns
	ns.mu.Lock()
	drop := s.releaseLocked(false)
	ns.mu.Unlock()
	release(drop)
}

func (s *Socket) releaseLocked(embryo bool) []*vfs.FileDescription {
	if s.released {
		return nil
	}
	ns := s.ns
	s.released = true
	if s.addr.IsAbstract() {
		k := absKey{s.typ, string(s.addr)}
		if ns.abstract[k] == s {
			delete(ns.abstract, k)
		}
	}
	if s.holder != nil {
		if cur, _ := s.holder.BoundSocket().(*Socket); cur == s {
			s.holder.SetBoundSocket(nil)
		}
		s.holder = nil
	}
	if s.fileKey != nil {
		if ns.files[*s.fileKey] == s {
			delete(ns.files, *s.fileKey)
		}
		s.fileKey = nil
	}
	s.shutdown = shutdownMask
	state := s.state
	s.state = stateClosed
	peer := s.peer
	s.peer = nil
	if peer != nil && s.typ != Dgram {
		peer.shutdown = shutdownMask
		if len(s.rq) > 0 || embryo {
			peer.err = linux.ECONNRESET
		}
		peer.notifyLocked()
	}
	drop := s.purgeLocked()
	if state == stateListening {
		for _, n := range s.pending {
			drop = append(drop, n.releaseLocked(true)...)
		}
		s.pending = nil
	}
	s.notifyLocked()
	return drop
}

// Readiness implements vfs.Pollable (unix_poll and unix_dgram_poll).
func (s *Socket) Readiness(mask uint32) uint32 {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	var ev uint32
	if s.err != 0 {
		ev |= vfs.PollErr
	}
	if s.shutdown == shutdownMask {
		ev |= vfs.PollHup
	}
	if s.shutdown&rcvShutdown != 0 {
		ev |= vfs.PollRdHup | vfs.PollIn | vfs.PollRdNorm
	}
	if len(s.rq) > 0 || len(s.pending) > 0 {
		ev |= vfs.PollIn | vfs.PollRdNorm
	}
	if s.typ != Dgram && s.state == stateClosed {
		ev |= vfs.PollHup
	}
	if mask&(vfs.PollOut|vfs.PollWrNorm|pollWrBand) == 0 {
		return ev & mask
	}
	writable := s.state != stateListening && s.wmem*4 <= s.sndbuf
	if writable && s.typ != Stream {
		if o := s.peer; o != nil && o.peer != s && !o.released && len(o.rq) > o.backlog {
			writable = false
			if o.spaceWaiters == nil {
				o.spaceWaiters = make(map[*Socket]bool)
			}
			o.spaceWaiters[s] = true
		}
	}
	if writable {
		ev |= vfs.PollOut | vfs.PollWrNorm | pollWrBand
	}
	return ev & mask
}

// pollWrBand is POLLWRBAND.
const pollWrBand = 0x200

// Changed implements vfs.Pollable.
func (s *Socket) Changed() <-chan struct{} {
	s.ns.mu.Lock()
	defer s.ns.mu.Unlock()
	return s.changed
}
