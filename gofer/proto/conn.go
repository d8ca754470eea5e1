package proto

import (
	"io"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvFDSlots is how many FDs Recv has room for: more than MaxFDs, so that
// a peer sending too many is seen (and the extra FDs closed) rather than
// silently truncated.
const recvFDSlots = 8

// Conn is one end of a SOCK_SEQPACKET unix socket carrying messages.
// The FD is used in blocking mode with raw sendmsg/recvmsg (no netpoller:
// a synchronous round trip then costs two syscalls and no goroutine
// handoff). Send and Recv may be called from different goroutines, but
// each by one goroutine at a time.
type Conn struct {
	fd  int
	oob []byte // Recv's control buffer
	// hold is how long Recv waits for a message while keeping the
	// calling goroutine's Go processor (see SetHold); 0: never.
	hold time.Duration

	mu     sync.Mutex // guards closed against Shutdown/Close races
	closed bool
}

// NewConn takes ownership of fd, a connected SOCK_SEQPACKET unix socket,
// and puts it in blocking mode.
func NewConn(fd int) (*Conn, error) {
	if fd < 0 {
		return nil, unix.EBADF
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		return nil, err
	}
	return &Conn{fd: fd, oob: make([]byte, unix.CmsgSpace(4*recvFDSlots))}, nil
}

// SetHold has Recv wait up to d for each message with raw system calls,
// which keep the calling goroutine's Go processor, before it falls back to
// an ordinary blocking receive. Call it before the first Recv, from the
// goroutine that receives.
//
// It is for a process whose receiving goroutine is its only work (the
// gofer's): a Go syscall wait has the runtime's monitor take the
// processor back while the goroutine sleeps, and the wake-up then costs a
// processor hand-off and a monitor restart. Measured on a 2-CPU VM with
// the gofer holding for 10 ms, alternating with a build without it: a
// stat of 5,000 files through the gofer, median of 5 runs each, 387
// against 459 ms; python3 -c pass, median of 40, 90.0 against 93.0 ms. An
// unbounded raw receive did better (345 ms, 88.5 ms) but would hold the
// processor of an idle gofer for good: the runtime's monitor would signal
// the thread every 10 ms, and a stop-the-world would wait for the next
// message. A signal ends the held wait early (ppoll is never restarted),
// and the receive falls back to the ordinary one.
func (c *Conn) SetHold(d time.Duration) { c.hold = d }

// waitHeld waits, keeping the processor, until a message (or the peer's
// close) can be received or c.hold has passed; false on timeout or a
// signal.
func (c *Conn) waitHeld() bool {
	fds := [1]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
	ts := unix.NsecToTimespec(c.hold.Nanoseconds())
	n, _, e := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return e == 0 && n == 1
}

// rawRecvmsg is recvmsg(2) without telling the Go scheduler; waitHeld has
// made sure it does not block.
func rawRecvmsg(fd int, buf, oob []byte, flags int) (n, oobn, recvflags int, err error) {
	var iov unix.Iovec
	if len(buf) > 0 {
		iov.Base = &buf[0]
		iov.SetLen(len(buf))
	}
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	r, _, e := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	if e != 0 {
		return 0, 0, 0, e
	}
	return int(r), int(msg.Controllen), int(msg.Flags), nil
}

// FD returns the socket FD.
func (c *Conn) FD() int { return c.fd }

// Send sends msg as one message with fds attached. It does not close fds.
func (c *Conn) Send(msg []byte, fds []int) error {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for {
		n, err := unix.SendmsgN(c.fd, msg, oob, nil, unix.MSG_NOSIGNAL)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n != len(msg) {
			return unix.EMSGSIZE // cannot happen on SOCK_SEQPACKET
		}
		return nil
	}
}

// Recv receives one message into buf (which should be MaxMessage bytes)
// and returns it with the FDs that came with it (close-on-exec). It
// returns io.EOF when the peer has closed. A message larger than buf gives
// EMSGSIZE and one with more FDs than Recv has room for gives ETOOMANYREFS;
// in both cases any FDs received are closed and the stream stays in step
// (the message is consumed).
func (c *Conn) Recv(buf []byte) ([]byte, []int, error) {
	oob := c.oob
	for {
		var n, oobn, rflags int
		var err error
		if c.hold > 0 && c.waitHeld() {
			n, oobn, rflags, err = rawRecvmsg(c.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		} else {
			n, oobn, rflags, _, err = unix.Recvmsg(c.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		fds, perr := parseRights(oob[:oobn])
		switch {
		case perr != nil:
			closeFDs(fds)
			return nil, nil, perr
		case rflags&unix.MSG_CTRUNC != 0:
			closeFDs(fds)
			return nil, nil, unix.ETOOMANYREFS
		case rflags&unix.MSG_TRUNC != 0:
			closeFDs(fds)
			return nil, nil, unix.EMSGSIZE
		case n == 0 && len(fds) == 0:
			return nil, nil, io.EOF
		}
		return buf[:n], fds, nil
	}
}

// parseRights returns every FD in SCM_RIGHTS control messages of oob.
func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, unix.EINVAL
	}
	var fds []int
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(m)
		fds = append(fds, got...)
		if err != nil {
			return fds, unix.EINVAL
		}
	}
	return fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// Shutdown shuts the socket down in both directions: a Recv blocked in
// another goroutine returns io.EOF, and the peer sees the end of the
// connection. The FD stays open until Close.
// Shutdown after Close does nothing.
func (c *Conn) Shutdown() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	return unix.Shutdown(c.fd, unix.SHUT_RDWR)
}

// Close closes the socket; later calls do nothing. Call it only when no
// Send or Recv is running (use Shutdown first to make them return).
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return unix.Close(c.fd)
}
