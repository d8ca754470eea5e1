// Package server is the gofer: the only process of a sandbox that names
// host paths. It serves the gofer/proto protocol to the sentry over unix
// sockets, confined to a fixed set of named mounts (name -> host directory,
// read-only or not), and donates open host FDs so the sentry reads and
// writes without a round trip.
//
// It owns: the per-connection handle tables, resolution of names inside
// each mount's root, the host filesystem calls, and Main (the gofer
// process's entry point). It must not interpret paths of more than one
// component, follow symlinks (the sentry resolves them itself via
// Readlink), check the sandbox's permissions (the sentry does; the gofer
// enforces only the mount boundary and read-only mounts), or know about
// the sentry's VFS.
//
// # Handles and confinement
//
// A handle (a node) holds an O_PATH|O_NOFOLLOW FD of the file it names,
// its parent node and its name there, and the file's (dev, ino). Handles
// are per connection; closing the connection releases them all. A node
// keeps its parent alive while it lives.
//
// Every operation that reaches the filesystem by name or produces an FD
// (Walk, Open, Create, Mkdir, Mknod, Symlink, Link, Unlink, Rename,
// Readdir, SetAttr) first re-resolves the node it starts from: the path of
// names from the mount root down to the node is opened with
// openat2(rootFD, path, O_NOFOLLOW, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
// RESOLVE_NO_MAGICLINKS), and the result must have the node's (dev, ino),
// else ESTALE. The operation then works on that fresh FD with one validated
// component (never "", ".", "..", nothing with '/' or NUL). So a directory
// moved out of the root (by the host) after it was walked can no longer be
// walked into, opened or modified, and a file swapped for another between
// Walk and Open is refused (ESTALE; a symlink swapped in gives ELOOP).
// Only Stat, Readlink and StatFS use the node's own O_PATH FD directly:
// they read attributes of the inode the sandbox was already given.
// RESOLVE_NO_XDEV is not used: a host root legitimately has submounts.
//
// The server's own Rename and Unlink keep the table in step: nodes of a
// renamed name follow it (so handles stay valid across the sandbox's own
// renames), nodes of a removed or replaced name become detached (by-name
// operations on them and their descendants give ENOENT; Stat still works).
// Changes made behind the server's back (the host, or another connection)
// show up as ESTALE or ENOENT; the sentry should then walk again. An inode
// number reused by the filesystem at the same path is not detected.
//
// # Files the gofer will not open
//
// Open and Create hand out FDs only for regular files and directories:
// symlinks give ELOOP, FIFOs and sockets ENXIO (the sentry implements them
// itself), devices EPERM. Opens use O_NONBLOCK until the identity check
// passed, so a FIFO swapped in cannot block the gofer; O_TRUNC is applied
// (ftruncate) only after the check. Mounting the host directories nodev
// (the CLI's job) removes any side effect of a device swapped in at the
// moment of an open.
//
// # Modes and owners
//
// Modes of new files are exactly the given permission bits (the process
// umask is corrected for), except that set-user-ID, and set-group-ID on
// non-directories, are always stripped, on creation and on SetAttr: a file
// written by a sandbox on a bind mount must never become a setuid program
// for the host. The given uid/gid are applied with fchownat; EPERM and
// EINVAL (not root, or an unmapped id) are ignored. Passing 0xFFFFFFFF
// leaves an id unchanged.
//
// # The gofer process
//
// Main is the entry point of the gofer process. The CLI (runsc/) starts it
// by re-executing its own binary, /proc/self/exe, with argv[1] == "gofer"
// and hands the remaining arguments to Main:
//
//	sbx gofer --socket-fd=N --mount NAME=HOSTDIR[:ro] [--mount ...]
//
// FD N is one end of a SOCK_SEQPACKET socketpair; the sentry gets the
// other. Main puts itself in a new mount namespace with every mount
// private, opens its mounts, serves the socket until the peer closes it,
// then returns 0. Still to come (later work, not here): dropping
// capabilities and the seccomp filter.
package server

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"sbx/gofer/proto"
)

// Mount is one named mount the server exposes.
type Mount struct {
	Name     string // what Attach asks for
	HostDir  string // host directory that is the mount's root
	ReadOnly bool   // every mutating op gives EROFS
}

type mount struct {
	Mount
	rootFD int // O_PATH|O_DIRECTORY FD of HostDir
}

// Server serves the gofer protocol on any number of connections, each in
// its own goroutine (Serve). Its configuration is fixed at New.
type Server struct {
	mounts map[string]*mount
	logf   func(format string, args ...any)
	// maxNodeFDs bounds the O_PATH FDs each connection keeps for its
	// nodes (see session.nodeFD).
	maxNodeFDs int
	// serving counts the sessions Serve is running.
	serving atomic.Int32
}

// Option configures a Server.
type Option func(*Server)

// WithLogf sends the server's diagnostics to logf (default: discarded).
func WithLogf(logf func(format string, args ...any)) Option {
	return func(s *Server) { s.logf = logf }
}

// WithMaxNodeFDs bounds the host FDs a connection keeps open for the
// files it has handed out handles to (default: a quarter of the FD limit,
// between 64 and 4096); files beyond it are reopened by path when used.
func WithMaxNodeFDs(n int) Option {
	return func(s *Server) { s.maxNodeFDs = max(n, 1) }
}

// defaultMaxNodeFDs is a quarter of the FD limit, between 64 and 4096.
func defaultMaxNodeFDs() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 256
	}
	return int(min(max(rl.Cur/4, 64), 4096))
}

// New opens the root directory of each mount. Mount names must be
// non-empty, unique, at most proto.MaxName bytes and free of NUL.
func New(mounts []Mount, opts ...Option) (*Server, error) {
	s := &Server{mounts: make(map[string]*mount), logf: func(string, ...any) {}, maxNodeFDs: defaultMaxNodeFDs()}
	for _, o := range opts {
		o(s)
	}
	for _, m := range mounts {
		if err := checkMountName(m.Name); err != nil {
			s.Close()
			return nil, fmt.Errorf("gofer: %w", err)
		}
		if _, dup := s.mounts[m.Name]; dup {
			s.Close()
			return nil, fmt.Errorf("gofer: mount %q given twice", m.Name)
		}
		fd, err := unix.Open(m.HostDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("gofer: mount %q: open %s: %w", m.Name, m.HostDir, err)
		}
		s.mounts[m.Name] = &mount{Mount: m, rootFD: fd}
	}
	return s, nil
}

func checkMountName(name string) error {
	if name == "" || len(name) > proto.MaxName {
		return fmt.Errorf("bad mount name %q", name)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return fmt.Errorf("bad mount name %q", name)
		}
	}
	return nil
}

// Close closes the mounts' root FDs. Call it after every Serve returned.
func (s *Server) Close() error {
	for _, m := range s.mounts {
		if m.rootFD >= 0 {
			unix.Close(m.rootFD)
			m.rootFD = -1
		}
	}
	return nil
}

// Serve serves one connection on fd, a connected SOCK_SEQPACKET unix
// socket, which it takes ownership of. It returns nil when the peer closes
// the connection, after releasing every handle of the connection.
// Malformed requests get error replies; only a failing socket ends Serve
// with an error.
// holdTime bounds how long a session waits for a request keeping its
// processor.
const holdTime = 10 * time.Millisecond

func (s *Server) Serve(fd int) error {
	conn, err := proto.NewConn(fd)
	if err != nil {
		unix.Close(fd)
		return err
	}
	defer conn.Close()
	// The first session receives keeping its processor (a bounded wait,
	// see proto.Conn.SetHold); others, and a gofer with one processor,
	// leave it to the rest.
	if s.serving.Add(1) == 1 && runtime.GOMAXPROCS(0) > 1 {
		conn.SetHold(holdTime)
	}
	defer s.serving.Add(-1)
	ss := newSession(s)
	defer ss.releaseAll()

	in := make([]byte, proto.MaxMessage)
	var out []byte
	for {
		msg, fds, err := conn.Recv(in)
		if err == io.EOF {
			return nil
		}
		var op proto.Op
		var reply proto.Message
		donated := -1
		switch {
		case err == unix.EMSGSIZE || err == unix.ETOOMANYREFS:
			// The message was consumed; the stream is still in step.
			s.logf("gofer: malformed message: %v", err)
			reply = &proto.ErrorReply{Errno: uint32(unix.EINVAL)}
		case err != nil:
			return err
		default:
			var req proto.Message
			op, req, err = proto.DecodeRequest(msg, len(fds))
			closeAll(fds) // requests never carry FDs
			if err != nil {
				s.logf("gofer: malformed %v request: %v", op, err)
				reply = &proto.ErrorReply{Errno: uint32(errnoOf(err))}
			} else {
				reply, donated, err = ss.handle(op, req)
				if err != nil {
					reply = &proto.ErrorReply{Errno: uint32(errnoOf(err))}
				}
			}
		}
		rop, nfds := proto.OpError, 0
		if _, isErr := reply.(*proto.ErrorReply); !isErr {
			rop, nfds = op|proto.ReplyBit, proto.ReplyFDs(op)
		}
		out, err = proto.Marshal(out[:0], rop, nfds, reply)
		if err != nil {
			// Cannot happen: the server builds replies within the caps.
			s.logf("gofer: cannot encode %v reply: %v", op, err)
			if donated >= 0 {
				unix.Close(donated)
				donated = -1
			}
			out, _ = proto.Marshal(out[:0], proto.OpError, 0, &proto.ErrorReply{Errno: uint32(unix.EIO)})
		}
		var sendFDs []int
		if donated >= 0 {
			sendFDs = []int{donated}
		}
		err = conn.Send(out, sendFDs)
		if donated >= 0 {
			unix.Close(donated) // the peer has its own copy now
		}
		if err != nil {
			if err == unix.EPIPE || err == unix.ECONNRESET {
				return nil
			}
			return err
		}
	}
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// errnoOf maps err to the errno sent on the wire.
func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) && e != 0 {
		return e
	}
	return unix.EIO
}
