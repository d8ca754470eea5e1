package syscalls

// Sockets: socket(2), socketpair(2), bind(2), listen(2), connect(2),
// accept(2), accept4(2), getsockname(2), getpeername(2), shutdown(2),
// sendto(2), recvfrom(2), sendmsg(2), recvmsg(2), sendmmsg(2),
// recvmmsg(2), getsockopt(2), setsockopt(2); read(2) and write(2) on a
// socket come here from doIO.
//
// Only AF_UNIX exists (unix(7)), served entirely in the sandbox by fs/unix:
// other families are EAFNOSUPPORT. This file decodes and encodes: socket
// addresses, msghdr and cmsg buffers (SCM_RIGHTS descriptors are looked up
// in and installed into FD tables here), option lengths.

import (
	"encoding/binary"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	unixsock "sbx/fs/unix"
	"sbx/fs/vfs"
	"sbx/sentry/kernel"
)

// socketCalls serves the socket calls of one sandbox, whose abstract
// socket names live in ns.
type socketCalls struct {
	ns *unixsock.Namespace
}

func registerSocket(tbl *Table) {
	s := &socketCalls{ns: unixsock.NewNamespace()}
	tbl.add(unix.SYS_SOCKET, s.socket, "ATd", 'd')
	tbl.add(unix.SYS_SOCKETPAIR, s.socketpair, "ATdp", 'd')
	tbl.add(unix.SYS_BIND, s.bind, "fad", 'd')
	tbl.add(unix.SYS_LISTEN, s.listen, "fd", 'd')
	tbl.add(unix.SYS_CONNECT, s.connect, "fad", 'd')
	tbl.add(unix.SYS_ACCEPT, s.accept, "fpp", 'd')
	tbl.add(unix.SYS_ACCEPT4, s.accept4, "fppx", 'd')
	tbl.add(unix.SYS_GETSOCKNAME, s.getsockname, "fpp", 'd')
	tbl.add(unix.SYS_GETPEERNAME, s.getpeername, "fpp", 'd')
	tbl.add(unix.SYS_SHUTDOWN, s.shutdown, "fd", 'd')
	tbl.add(unix.SYS_SENDTO, s.sendto, "fbuxad", 'd')
	tbl.add(unix.SYS_RECVFROM, s.recvfrom, "fBuxpp", 'd')
	tbl.add(unix.SYS_SENDMSG, s.sendmsg, "fpx", 'd')
	tbl.add(unix.SYS_RECVMSG, s.recvmsg, "fpx", 'd')
	tbl.add(unix.SYS_SENDMMSG, s.sendmmsg, "fpux", 'd')
	tbl.add(unix.SYS_RECVMMSG, s.recvmmsg, "fpuxp", 'd')
	tbl.add(unix.SYS_GETSOCKOPT, s.getsockopt, "fddpp", 'd')
	tbl.add(unix.SYS_SETSOCKOPT, s.setsockopt, "fddpd", 'd')
}

// Limits from include/linux/socket.h and net/core.
const (
	sockaddrStorage = 128    // sizeof(struct sockaddr_storage)
	optmemMax       = 131072 // net.core.optmem_max: the largest msg_control
	sockTypeMask    = 0xf
	sockMax         = 11 // SOCK_MAX
	nproto          = 46 // NPROTO
	msghdrSize      = 56 // sizeof(struct msghdr)
	mmsghdrSize     = 64 // sizeof(struct mmsghdr)
	cmsghdrSize     = 16 // sizeof(struct cmsghdr)
)

// caller describes t for fs/unix.
func caller(t *kernel.Task) *unixsock.Caller {
	pid := int32(t.ThreadGroup().PID())
	c := &t.Creds
	return &unixsock.Caller{
		VFS:      t.Kernel().VFS,
		FS:       t.VFSContext(),
		Cred:     unixsock.Creds{PID: pid, UID: c.RUID, GID: c.RGID},
		PeerCred: unixsock.Creds{PID: pid, UID: c.EUID, GID: c.EGID},
	}
}

// getSocket returns the socket open at fd (EBADF, ENOTSOCK) and its file,
// whose reference the caller drops.
func getSocket(t *kernel.Task, fd uintptr) (*unixsock.Socket, *vfs.FileDescription, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	s, ok := f.Impl.(*unixsock.Socket)
	if !ok {
		f.DecRef()
		return nil, nil, unix.ENOTSOCK
	}
	return s, f, nil
}

// installSocket gives s a file description and a descriptor; flags are
// SOCK_NONBLOCK and SOCK_CLOEXEC. On failure the socket is released.
func installSocket(t *kernel.Task, s *unixsock.Socket, flags int) (int, error) {
	f := vfs.NewFileDescription(s, unix.O_RDWR|flags&unix.O_NONBLOCK)
	s.SetDescription(f)
	defer f.DecRef()
	fd, err := t.ThreadGroup().FDTable.NewFD(0, f, flags&unix.O_CLOEXEC != 0, nofile(t))
	if err != nil {
		return 0, unix.EMFILE
	}
	return fd, nil
}

// socketType decodes socket(2)'s type argument: the type, its flags, or
// EINVAL for other flags or an out-of-range type.
func socketType(arg uintptr) (int, int, error) {
	v := int(int32(arg))
	typ, flags := v&sockTypeMask, v&^sockTypeMask
	if flags&^(unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK) != 0 {
		return 0, 0, unix.EINVAL
	}
	if v < 0 || typ >= sockMax {
		return 0, 0, unix.EINVAL
	}
	return typ, flags, nil
}

// unixType checks an AF_UNIX socket's type and protocol (unix_create):
// SOCK_RAW is a datagram socket.
func unixType(typ int, protocol uintptr) (int, error) {
	if p := int32(protocol); p != 0 && p != unix.AF_UNIX {
		return 0, unix.EPROTONOSUPPORT
	}
	if typ == unix.SOCK_RAW {
		typ = unix.SOCK_DGRAM
	}
	if !unixsock.ValidType(typ) {
		return 0, unix.ESOCKTNOSUPPORT
	}
	return typ, nil
}

// socket implements socket(2): AF_UNIX only.
func (sc *socketCalls) socket(t *kernel.Task, a args) (uintptr, error) {
	typ, flags, err := socketType(a[1])
	if err != nil {
		return 0, err
	}
	domain := int(int32(a[0]))
	if domain != unix.AF_UNIX {
		return 0, unix.EAFNOSUPPORT
	}
	if typ, err = unixType(typ, a[2]); err != nil {
		return 0, err
	}
	c := caller(t)
	fd, err := installSocket(t, sc.ns.New(typ, c.PeerCred), flags)
	return uintptr(fd), err
}

// socketpair implements socketpair(2). Families that exist in Linux but
// cannot make pairs (AF_INET, AF_INET6, AF_NETLINK, AF_PACKET) are
// EOPNOTSUPP, as there; other families EAFNOSUPPORT.
func (sc *socketCalls) socketpair(t *kernel.Task, a args) (uintptr, error) {
	typ, flags, err := socketType(a[1])
	if err != nil {
		return 0, err
	}
	switch domain := int(int32(a[0])); domain {
	case unix.AF_UNIX:
	case unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_PACKET:
		return 0, unix.EOPNOTSUPP
	default:
		return 0, unix.EAFNOSUPPORT
	}
	if typ, err = unixType(typ, a[2]); err != nil {
		return 0, err
	}
	c := caller(t)
	x, y := sc.ns.Pair(typ, c.PeerCred, c.PeerCred)
	fd0, err := installSocket(t, x, flags)
	if err != nil {
		y.Release()
		return 0, err
	}
	fd1, err := installSocket(t, y, flags)
	if err != nil {
		t.ThreadGroup().FDTable.Remove(fd0)
		return 0, err
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(fd0))
	binary.LittleEndian.PutUint32(b[4:], uint32(fd1))
	if _, err := t.CopyOut(a[3], b[:]); err != nil {
		t.ThreadGroup().FDTable.Remove(fd0)
		t.ThreadGroup().FDTable.Remove(fd1)
		return 0, err
	}
	return 0, nil
}

// copyInSockaddr reads a socket address of length n (move_addr_to_kernel):
// EINVAL beyond sizeof(struct sockaddr_storage).
func copyInSockaddr(t *kernel.Task, addr uintptr, n uintptr) ([]byte, error) {
	l := int(int32(n))
	if l < 0 || l > sockaddrStorage {
		return nil, unix.EINVAL
	}
	b := make([]byte, l)
	if l > 0 {
		if _, err := t.CopyIn(addr, b); err != nil {
			return nil, unix.EFAULT
		}
	}
	return b, nil
}

// copyOutSockaddr writes an address to addr and its full length to *lenAddr
// (move_addr_to_user): at most the caller's length is copied.
func copyOutSockaddr(t *kernel.Task, sa []byte, addr, lenAddr uintptr) error {
	var lb [4]byte
	if _, err := t.CopyIn(lenAddr, lb[:]); err != nil {
		return unix.EFAULT
	}
	l := int(int32(binary.LittleEndian.Uint32(lb[:])))
	if l < 0 {
		return unix.EINVAL
	}
	l = min(l, len(sa))
	if l > 0 {
		if _, err := t.CopyOut(addr, sa[:l]); err != nil {
			return unix.EFAULT
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(sa)))
	if _, err := t.CopyOut(lenAddr, lb[:]); err != nil {
		return unix.EFAULT
	}
	return nil
}

// bind implements bind(2); a bare family is an autobind.
func (sc *socketCalls) bind(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	raw, err := copyInSockaddr(t, a[1], a[2])
	if err != nil {
		return 0, err
	}
	if len(raw) == 2 && binary.LittleEndian.Uint16(raw) == unix.AF_UNIX {
		return 0, s.Bind(caller(t), nil)
	}
	addr, err := unixsock.ParseAddress(raw)
	if err != nil {
		return 0, err
	}
	return 0, s.Bind(caller(t), addr)
}

// listen implements listen(2).
func (sc *socketCalls) listen(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, s.Listen(caller(t), int(int32(a[1])))
}

// connect implements connect(2). A datagram socket given AF_UNSPEC
// forgets its peer.
func (sc *socketCalls) connect(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	raw, err := copyInSockaddr(t, a[1], a[2])
	if err != nil {
		return 0, err
	}
	if s.Type() == unix.SOCK_DGRAM {
		if len(raw) < 2 {
			return 0, unix.EINVAL
		}
		if binary.LittleEndian.Uint16(raw) == unix.AF_UNSPEC {
			return 0, s.Connect(caller(t), nil, true)
		}
	}
	addr, err := unixsock.ParseAddress(raw)
	if err != nil {
		return 0, err
	}
	return 0, s.Connect(caller(t), addr, false)
}

// accept implements accept(2).
func (sc *socketCalls) accept(t *kernel.Task, a args) (uintptr, error) {
	return sc.doAccept(t, a[0], a[1], a[2], 0)
}

// accept4 implements accept4(2): flags are SOCK_NONBLOCK and SOCK_CLOEXEC.
func (sc *socketCalls) accept4(t *kernel.Task, a args) (uintptr, error) {
	return sc.doAccept(t, a[0], a[1], a[2], int(int32(a[3])))
}

func (sc *socketCalls) doAccept(t *kernel.Task, fd, addr, lenAddr uintptr, flags int) (uintptr, error) {
	if flags&^(unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	s, f, err := getSocket(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := s.Accept()
	if err != nil {
		return 0, err
	}
	nfd, err := installSocket(t, n, flags)
	if err != nil {
		return 0, err
	}
	if addr != 0 {
		peer, _ := n.PeerName()
		if err := copyOutSockaddr(t, peer.Sockaddr(), addr, lenAddr); err != nil {
			t.ThreadGroup().FDTable.Remove(nfd)
			return 0, err
		}
	}
	return uintptr(nfd), nil
}

// getsockname implements getsockname(2): an unbound socket's name is the
// bare family.
func (sc *socketCalls) getsockname(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, copyOutSockaddr(t, s.Name().Sockaddr(), a[1], a[2])
}

// getpeername implements getpeername(2).
func (sc *socketCalls) getpeername(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	peer, err := s.PeerName()
	if err != nil {
		return 0, err
	}
	return 0, copyOutSockaddr(t, peer.Sockaddr(), a[1], a[2])
}

// shutdown implements shutdown(2).
func (sc *socketCalls) shutdown(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, s.Shutdown(int(int32(a[1])))
}

// msgHeader is a decoded struct msghdr.
type msgHeader struct {
	name       uintptr
	namelen    int32
	iov        uintptr
	iovlen     uint64
	control    uintptr
	controllen uint64
	flags      int32
}

func readMsgHeader(t *kernel.Task, addr uintptr) (msgHeader, error) {
	var b [msghdrSize]byte
	if _, err := t.CopyIn(addr, b[:]); err != nil {
		return msgHeader{}, unix.EFAULT
	}
	return msgHeader{
		name:       uintptr(binary.LittleEndian.Uint64(b[0:])),
		namelen:    int32(binary.LittleEndian.Uint32(b[8:])),
		iov:        uintptr(binary.LittleEndian.Uint64(b[16:])),
		iovlen:     binary.LittleEndian.Uint64(b[24:]),
		control:    uintptr(binary.LittleEndian.Uint64(b[32:])),
		controllen: binary.LittleEndian.Uint64(b[40:]),
		flags:      int32(binary.LittleEndian.Uint32(b[48:])),
	}, nil
}

// msgIovecs reads a msghdr's iovec array (EMSGSIZE beyond UIO_MAXIOV).
func msgIovecs(t *kernel.Task, h *msgHeader) ([]unix.Iovec, error) {
	if h.iovlen > uioMaxIov {
		return nil, unix.EMSGSIZE
	}
	return readIovecs(t, h.iov, int(h.iovlen))
}

// sendMessage is the common part of sendto, sendmsg and sendmmsg and of
// write(2) on a socket: it raises SIGPIPE for EPIPE on a stream socket
// unless MSG_NOSIGNAL.
func sendMessage(t *kernel.Task, s *unixsock.Socket, iovs []unix.Iovec, o unixsock.SendOptions) (uintptr, error) {
	bufs, unpin, err := ioBlocks(t, iovs, false)
	defer unpin()
	if err != nil {
		return 0, err
	}
	n, err := s.Send(caller(t), bufs, o)
	if err == unix.EPIPE && s.Type() == unix.SOCK_STREAM && o.Flags&unix.MSG_NOSIGNAL == 0 {
		t.PostSignal(int(unix.SIGPIPE))
	}
	return uintptr(n), err
}

// socketIO serves read(2)/write(2)/readv(2)/writev(2) on a socket: a send
// or receive without flags; descriptors that arrive are closed.
func socketIO(t *kernel.Task, s *unixsock.Socket, bufs [][]byte, write bool) (uintptr, error) {
	if write {
		n, err := s.Send(caller(t), bufs, unixsock.SendOptions{})
		if err == unix.EPIPE && s.Type() == unix.SOCK_STREAM {
			t.PostSignal(int(unix.SIGPIPE))
		}
		return uintptr(n), err
	}
	res, err := s.Recv(bufs, 0)
	releaseAll(res.FDs)
	return uintptr(res.N), err
}

func releaseAll(fds []*vfs.FileDescription) {
	for _, f := range fds {
		f.DecRef()
	}
}

// sendto implements sendto(2) and send(2).
func (sc *socketCalls) sendto(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	o := unixsock.SendOptions{Flags: int(int32(a[3]))}
	if a[4] != 0 && int32(a[5]) != 0 {
		raw, err := copyInSockaddr(t, a[4], a[5])
		if err != nil {
			return 0, err
		}
		if o.To, err = destination(s, raw); err != nil {
			return 0, err
		}
	}
	return sendMessage(t, s, singleIov(a[1], a[2]), o)
}

// destination decodes a send's address: a datagram socket's destination
// (EINVAL if malformed); any address makes a stream send fail (EISCONN or
// EOPNOTSUPP, whatever it holds); a seqpacket socket ignores it.
func destination(s *unixsock.Socket, raw []byte) (unixsock.Address, error) {
	switch s.Type() {
	case unix.SOCK_DGRAM:
		return unixsock.ParseAddress(raw)
	case unix.SOCK_STREAM:
		return unixsock.Address{0}, nil
	}
	return nil, nil
}

// parseControl decodes a sendmsg control buffer (__scm_send): SCM_RIGHTS
// descriptors (EBADF, at most SCM_MAX_FD in all) and SCM_CREDENTIALS,
// which must be the caller's own unless privileged (EPERM) and name a live
// process (ESRCH). Messages of other levels are ignored, other SOL_SOCKET
// types are EINVAL. The returned descriptions hold references the caller
// drops.
func parseControl(t *kernel.Task, ctl []byte, o *unixsock.SendOptions) error {
	for off := 0; off+cmsghdrSize <= len(ctl); {
		clen := binary.LittleEndian.Uint64(ctl[off:])
		level := int32(binary.LittleEndian.Uint32(ctl[off+8:]))
		typ := int32(binary.LittleEndian.Uint32(ctl[off+12:]))
		if clen < cmsghdrSize || clen > uint64(len(ctl)-off) {
			return unix.EINVAL
		}
		data := ctl[off+cmsghdrSize : off+int(clen)]
		if level == unix.SOL_SOCKET {
			switch typ {
			case unix.SCM_RIGHTS:
				n := len(data) / 4
				if len(o.FDs)+n > unixsock.MaxFDs {
					return unix.EINVAL
				}
				for i := 0; i < n; i++ {
					fd := int32(binary.LittleEndian.Uint32(data[4*i:]))
					f, err := t.ThreadGroup().FDTable.Get(int(fd))
					if err != nil {
						return unix.EBADF
					}
					o.FDs = append(o.FDs, f)
				}
			case unix.SCM_CREDENTIALS:
				if clen != cmsghdrSize+12 {
					return unix.EINVAL
				}
				cr := unixsock.Creds{
					PID: int32(binary.LittleEndian.Uint32(data[0:])),
					UID: binary.LittleEndian.Uint32(data[4:]),
					GID: binary.LittleEndian.Uint32(data[8:]),
				}
				if err := checkCreds(t, cr); err != nil {
					return err
				}
				o.Creds = &cr
			default:
				return unix.EINVAL
			}
		}
		off += int((clen + 7) &^ 7)
	}
	return nil
}

// checkCreds is scm_check_creds: a sender may claim only its own process
// id (unless CAP_SYS_ADMIN) and one of its real, effective or saved ids
// (unless CAP_SETUID/CAP_SETGID); root in the sandbox has them all.
func checkCreds(t *kernel.Task, cr unixsock.Creds) error {
	c := &t.Creds
	priv := c.EUID == 0
	pidOK := cr.PID == int32(t.ThreadGroup().PID()) || priv
	uidOK := cr.UID == c.RUID || cr.UID == c.EUID || cr.UID == c.SUID || priv
	gidOK := cr.GID == c.RGID || cr.GID == c.EGID || cr.GID == c.SGID || priv
	if !pidOK || !uidOK || !gidOK {
		return unix.EPERM
	}
	if _, ok := t.Kernel().ThreadGroupByPID(int(cr.PID)); !ok {
		return unix.ESRCH
	}
	return nil
}

// doSendmsg serves one msghdr at addr.
func doSendmsg(t *kernel.Task, s *unixsock.Socket, addr uintptr, flags int) (uintptr, error) {
	h, err := readMsgHeader(t, addr)
	if err != nil {
		return 0, err
	}
	o := unixsock.SendOptions{Flags: flags}
	if h.namelen < 0 {
		return 0, unix.EINVAL
	}
	if h.name != 0 && h.namelen > 0 {
		raw, err := copyInSockaddr(t, h.name, uintptr(min(h.namelen, sockaddrStorage)))
		if err != nil {
			return 0, err
		}
		if o.To, err = destination(s, raw); err != nil {
			return 0, err
		}
	}
	iovs, err := msgIovecs(t, &h)
	if err != nil {
		return 0, err
	}
	if h.controllen > 0 {
		if h.controllen > optmemMax {
			return 0, unix.ENOBUFS
		}
		ctl := make([]byte, h.controllen)
		if _, err := t.CopyIn(h.control, ctl); err != nil {
			return 0, unix.EFAULT
		}
		err := parseControl(t, ctl, &o)
		defer releaseAll(o.FDs)
		if err != nil {
			return 0, err
		}
	}
	return sendMessage(t, s, iovs, o)
}

// sendmsg implements sendmsg(2).
func (sc *socketCalls) sendmsg(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return doSendmsg(t, s, a[1], int(int32(a[2])))
}

// sendmmsg implements sendmmsg(2): messages are sent in order until one
// fails; the count sent is returned if any was.
func (sc *socketCalls) sendmmsg(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	vlen := min(uint32(a[2]), uioMaxIov)
	flags := int(int32(a[3]))
	var i uint32
	for ; i < vlen; i++ {
		entry := a[1] + uintptr(i)*mmsghdrSize
		n, err := doSendmsg(t, s, entry, flags)
		if err != nil {
			if i > 0 {
				break
			}
			return 0, err
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		if _, err := t.CopyOut(entry+msghdrSize, b[:]); err != nil {
			if i > 0 {
				break
			}
			return 0, unix.EFAULT
		}
	}
	return uintptr(i), nil
}

// recvfrom implements recvfrom(2) and recv(2).
func (sc *socketCalls) recvfrom(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	flags := int(int32(a[3]))
	bufs, unpin, err := ioBlocks(t, singleIov(a[1], a[2]), true)
	defer unpin()
	if err != nil {
		return 0, err
	}
	res, err := s.Recv(bufs, flags)
	releaseAll(res.FDs)
	if err != nil {
		return 0, err
	}
	if a[4] != 0 {
		var sa []byte
		if len(res.From) > 0 {
			sa = res.From.Sockaddr()
		}
		if err := copyOutSockaddr(t, sa, a[4], a[5]); err != nil {
			return 0, err
		}
	}
	return uintptr(res.N), nil
}

// ctlWriter fills a recvmsg control buffer as put_cmsg and
// scm_detach_fds do: what does not fit sets MSG_CTRUNC.
type ctlWriter struct {
	buf   []byte
	used  int
	flags int
}

func (w *ctlWriter) put(level, typ int32, data []byte) {
	room := len(w.buf) - w.used
	if room < cmsghdrSize {
		w.flags |= unix.MSG_CTRUNC
		return
	}
	cmlen := cmsghdrSize + len(data)
	if room < cmlen {
		w.flags |= unix.MSG_CTRUNC
		cmlen = room
	}
	b := w.buf[w.used:]
	binary.LittleEndian.PutUint64(b, uint64(cmlen))
	binary.LittleEndian.PutUint32(b[8:], uint32(level))
	binary.LittleEndian.PutUint32(b[12:], uint32(typ))
	copy(b[cmsghdrSize:cmlen], data)
	w.used += min((cmsghdrSize+len(data)+7)&^7, room)
}

// putFDs installs received descriptions in t's table as far as the
// buffer (and RLIMIT_NOFILE) allows; the rest are closed.
func (w *ctlWriter) putFDs(t *kernel.Task, fds []*vfs.FileDescription, cloexec bool) {
	room := len(w.buf) - w.used
	fdmax := 0
	if room > cmsghdrSize {
		fdmax = (room - cmsghdrSize) / 4
	}
	fdmax = min(fdmax, len(fds))
	var nums []byte
	i := 0
	for ; i < fdmax; i++ {
		fd, err := t.ThreadGroup().FDTable.NewFD(0, fds[i], cloexec, nofile(t))
		if err != nil {
			break
		}
		nums = binary.LittleEndian.AppendUint32(nums, uint32(fd))
	}
	if i > 0 {
		w.put(unix.SOL_SOCKET, unix.SCM_RIGHTS, nums)
	}
	if i < len(fds) {
		w.flags |= unix.MSG_CTRUNC
	}
	releaseAll(fds)
}

// doRecvmsg serves one msghdr at addr and returns the byte count.
func doRecvmsg(t *kernel.Task, s *unixsock.Socket, addr uintptr, flags int) (uintptr, error) {
	h, err := readMsgHeader(t, addr)
	if err != nil {
		return 0, err
	}
	if h.namelen < 0 {
		return 0, unix.EINVAL
	}
	iovs, err := msgIovecs(t, &h)
	if err != nil {
		return 0, err
	}
	bufs, unpin, err := ioBlocks(t, iovs, true)
	defer unpin()
	if err != nil {
		return 0, err
	}
	res, err := s.Recv(bufs, flags)
	if err != nil {
		releaseAll(res.FDs)
		return 0, err
	}
	msgFlags := res.MsgFlags | flags&unix.MSG_CMSG_CLOEXEC
	used := 0
	if h.control == 0 || h.controllen == 0 {
		if res.Creds != nil || len(res.FDs) > 0 {
			msgFlags |= unix.MSG_CTRUNC
		}
		releaseAll(res.FDs)
	} else {
		w := &ctlWriter{buf: make([]byte, min(h.controllen, optmemMax))}
		if res.Creds != nil {
			var cb [12]byte
			binary.LittleEndian.PutUint32(cb[0:], uint32(res.Creds.PID))
			binary.LittleEndian.PutUint32(cb[4:], res.Creds.UID)
			binary.LittleEndian.PutUint32(cb[8:], res.Creds.GID)
			w.put(unix.SOL_SOCKET, unix.SCM_CREDENTIALS, cb[:])
		}
		if len(res.FDs) > 0 {
			w.putFDs(t, res.FDs, flags&unix.MSG_CMSG_CLOEXEC != 0)
		}
		msgFlags |= w.flags
		used = w.used
		if used > 0 {
			if _, err := t.CopyOut(h.control, w.buf[:used]); err != nil {
				return 0, unix.EFAULT
			}
		}
	}
	if h.name != 0 {
		var sa []byte
		if len(res.From) > 0 {
			sa = res.From.Sockaddr()
		}
		if err := copyOutSockaddr(t, sa, h.name, addr+8); err != nil {
			return 0, err
		}
	}
	var fb [4]byte
	binary.LittleEndian.PutUint32(fb[:], uint32(msgFlags))
	if _, err := t.CopyOut(addr+48, fb[:]); err != nil {
		return 0, unix.EFAULT
	}
	var cb [8]byte
	binary.LittleEndian.PutUint64(cb[:], uint64(used))
	if _, err := t.CopyOut(addr+40, cb[:]); err != nil {
		return 0, unix.EFAULT
	}
	return uintptr(res.N), nil
}

// recvmsg implements recvmsg(2).
func (sc *socketCalls) recvmsg(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return doRecvmsg(t, s, a[1], int(int32(a[2])))
}

// recvmmsg implements recvmmsg(2): with MSG_WAITFORONE only the first
// message is waited for; the timeout is checked after each message, as
// Linux does (it does not bound the waits).
func (sc *socketCalls) recvmmsg(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	vlen := min(uint32(a[2]), uioMaxIov)
	flags := int(int32(a[3]))
	var deadline time.Time
	if a[4] != 0 {
		var ts unix.Timespec
		b := unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
		if _, err := t.CopyIn(a[4], b); err != nil {
			return 0, unix.EFAULT
		}
		if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
			return 0, unix.EINVAL
		}
		deadline = time.Now().Add(time.Duration(ts.Sec)*time.Second + time.Duration(ts.Nsec))
	}
	var i uint32
	for ; i < vlen; i++ {
		entry := a[1] + uintptr(i)*mmsghdrSize
		n, err := doRecvmsg(t, s, entry, flags)
		if err != nil {
			if i > 0 {
				break
			}
			return 0, err
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		if _, err := t.CopyOut(entry+msghdrSize, b[:]); err != nil {
			if i > 0 {
				break
			}
			return 0, unix.EFAULT
		}
		if flags&unix.MSG_WAITFORONE != 0 {
			flags |= unix.MSG_DONTWAIT
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			i++
			break
		}
	}
	if a[4] != 0 {
		left := max(time.Until(deadline), 0)
		ts := unix.NsecToTimespec(int64(left))
		b := unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
		t.CopyOut(a[4], b)
	}
	return uintptr(i), nil
}

// getsockopt implements getsockopt(2): SOL_SOCKET only (other levels are
// EOPNOTSUPP on a Unix socket).
func (sc *socketCalls) getsockopt(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if int32(a[1]) != unix.SOL_SOCKET {
		return 0, unix.EOPNOTSUPP
	}
	var lb [4]byte
	if _, err := t.CopyIn(a[4], lb[:]); err != nil {
		return 0, unix.EFAULT
	}
	l := int(int32(binary.LittleEndian.Uint32(lb[:])))
	if l < 0 {
		return 0, unix.EINVAL
	}
	v, err := s.GetSockOpt(int(int32(a[2])))
	if err != nil {
		return 0, err
	}
	l = min(l, len(v))
	if _, err := t.CopyOut(a[3], v[:l]); err != nil {
		return 0, unix.EFAULT
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(l))
	if _, err := t.CopyOut(a[4], lb[:]); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// setsockopt implements setsockopt(2).
func (sc *socketCalls) setsockopt(t *kernel.Task, a args) (uintptr, error) {
	s, f, err := getSocket(t, a[0])
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	l := int(int32(a[4]))
	if l < 0 {
		return 0, unix.EINVAL
	}
	if int32(a[1]) != unix.SOL_SOCKET {
		return 0, unix.EOPNOTSUPP
	}
	v := make([]byte, min(l, 64))
	if _, err := t.CopyIn(a[3], v); err != nil {
		return 0, unix.EFAULT
	}
	return 0, s.SetSockOpt(int(int32(a[2])), v, t.Creds.EUID == 0)
}
