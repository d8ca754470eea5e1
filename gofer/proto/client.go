package proto

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Client is the sentry's end of a gofer connection. Its methods are
// synchronous and safe for concurrent use (one round trip at a time). Every
// error it returns is a unix.Errno.
//
// FDs returned by Open and Create belong to the caller, are close-on-exec
// and are independent of the handle they came from: closing the handle does
// not close them, and they keep working after the file is renamed or
// unlinked.
type Client struct {
	mu   sync.Mutex
	conn *Conn
	buf  []byte // request, then reply
	err  error  // first transport or protocol failure; sticky
}

// NewClient takes ownership of fd, a connected SOCK_SEQPACKET unix socket
// to a gofer.
func NewClient(fd int) (*Client, error) {
	conn, err := NewConn(fd)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, buf: make([]byte, MaxMessage)}, nil
}

// Err returns the transport or protocol failure that broke the client, or
// nil if it is healthy.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Disconnect ends the connection; the server releases every handle of
// this connection. A call blocked waiting for a reply returns EIO. Later
// calls return EIO.
func (c *Client) Disconnect() error {
	c.conn.Shutdown() // wakes a Recv blocked in a round trip
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = unix.ESHUTDOWN
	}
	return c.conn.Close()
}

// call makes one round trip: request op with payload req, reply into a
// fresh Message. It returns the reply and the FDs it carried (exactly
// ReplyFDs(op) of them).
func (c *Client) call(op Op, req Message) (Message, []int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, nil, unix.EIO
	}
	msg, err := Marshal(c.buf[:0], op, 0, req)
	if err != nil {
		// Over-cap argument (a unix.Errno): the caller's error, not the
		// connection's.
		return nil, nil, err
	}
	if err := c.conn.Send(msg, nil); err != nil {
		return nil, nil, c.broken(err)
	}
	b, fds, err := c.conn.Recv(c.buf[:MaxMessage])
	if err != nil {
		return nil, nil, c.broken(err)
	}
	m, err := DecodeReply(b, op, len(fds))
	if err == unix.EIO {
		closeFDs(fds)
		return nil, nil, c.broken(err)
	}
	if err != nil {
		return nil, nil, err // the server's errno
	}
	return m, fds, nil
}

// broken records cause as the client's failure and returns EIO.
func (c *Client) broken(cause error) error {
	if c.err == nil {
		c.err = cause
	}
	return unix.EIO
}

// Attach returns the root handle of the server's mount named mount
// (ENOENT if there is none).
func (c *Client) Attach(mount string) (uint64, Stat, error) {
	return c.node(OpAttach, &AttachReq{Mount: mount})
}

// Walk returns a handle for the single component name in directory dir.
// A symlink is not followed: its handle and Stat are the link's own.
func (c *Client) Walk(dir uint64, name string) (uint64, Stat, error) {
	id, st, _, err := c.WalkLink(dir, name)
	return id, st, err
}

// WalkLink is Walk that also returns a symlink's target ("" for other
// nodes, or when the server could not read it).
func (c *Client) WalkLink(dir uint64, name string) (uint64, Stat, string, error) {
	m, _, err := c.call(OpWalk, &WalkReq{Dir: dir, Name: name})
	if err != nil {
		return 0, Stat{}, "", err
	}
	r := m.(*WalkReply)
	return r.ID, r.Stat, r.Target, nil
}

func (c *Client) node(op Op, req Message) (uint64, Stat, error) {
	m, _, err := c.call(op, req)
	if err != nil {
		return 0, Stat{}, err
	}
	r := m.(*NodeReply)
	return r.ID, r.Stat, nil
}

// Stat returns the attributes of handle id.
func (c *Client) Stat(id uint64) (Stat, error) {
	m, _, err := c.call(OpStat, &IDReq{ID: id})
	if err != nil {
		return Stat{}, err
	}
	return m.(*StatReply).Stat, nil
}

// Readlink returns the target of symlink handle id (EINVAL if it is not
// a symlink).
func (c *Client) Readlink(id uint64) (string, error) {
	m, _, err := c.call(OpReadlink, &IDReq{ID: id})
	if err != nil {
		return "", err
	}
	return m.(*ReadlinkReply).Target, nil
}

// ReaddirPage returns one page of directory id's entries starting at
// cursor (0 for the start, else a previous page's next or an entry's Off).
func (c *Client) ReaddirPage(id, cursor uint64) (ents []Dirent, next uint64, eof bool, err error) {
	m, _, err := c.call(OpReaddir, &ReaddirReq{ID: id, Cursor: cursor})
	if err != nil {
		return nil, 0, false, err
	}
	r := m.(*ReaddirReply)
	return r.Entries, r.Next, r.EOF, nil
}

// Readdir returns every entry of directory id but "." and "..". A
// directory of more than MaxReaddirEntries entries gives ENOMEM.
func (c *Client) Readdir(id uint64) ([]Dirent, error) {
	var all []Dirent
	var cursor uint64
	for {
		ents, next, eof, err := c.ReaddirPage(id, cursor)
		if err != nil {
			return nil, err
		}
		if len(all)+len(ents) > MaxReaddirEntries {
			return nil, unix.ENOMEM
		}
		all = append(all, ents...)
		if eof {
			return all, nil
		}
		if len(ents) == 0 && next == cursor {
			// No progress and no end: a broken server.
			return nil, unix.EIO
		}
		cursor = next
	}
}

// StatFS returns statistics of the filesystem holding handle id.
func (c *Client) StatFS(id uint64) (StatFS, error) {
	m, _, err := c.call(OpStatFS, &IDReq{ID: id})
	if err != nil {
		return StatFS{}, err
	}
	return m.(*StatFSReply).StatFS, nil
}

// Open returns a new host FD open on handle id. flags: O_RDONLY, O_WRONLY
// or O_RDWR, optionally O_TRUNC, O_APPEND, O_DIRECTORY.
func (c *Client) Open(id uint64, flags uint32) (int, error) {
	_, fds, err := c.call(OpOpen, &OpenReq{ID: id, Flags: flags})
	if err != nil {
		return -1, err
	}
	return fds[0], nil
}

// Create creates regular file name in directory dir with permissions mode
// and owner uid/gid, and returns its handle, Stat and an FD open with
// flags (access mode, optionally O_EXCL, O_TRUNC, O_APPEND). Without
// O_EXCL an existing regular file is opened instead.
func (c *Client) Create(dir uint64, name string, flags, mode, uid, gid uint32) (uint64, Stat, int, error) {
	m, fds, err := c.call(OpCreate, &CreateReq{Dir: dir, Name: name, Flags: flags, Mode: mode, UID: uid, GID: gid})
	if err != nil {
		return 0, Stat{}, -1, err
	}
	r := m.(*NodeReply)
	return r.ID, r.Stat, fds[0], nil
}

// Mkdir creates directory name in dir.
func (c *Client) Mkdir(dir uint64, name string, mode, uid, gid uint32) (uint64, Stat, error) {
	return c.node(OpMkdir, &MkReq{Dir: dir, Name: name, Mode: mode, UID: uid, GID: gid})
}

// Mknod creates a FIFO, regular file or socket node name in dir; mode
// holds the type (S_IFIFO, S_IFREG or 0, S_IFSOCK) and permissions.
func (c *Client) Mknod(dir uint64, name string, mode, uid, gid uint32) (uint64, Stat, error) {
	return c.node(OpMknod, &MkReq{Dir: dir, Name: name, Mode: mode, UID: uid, GID: gid})
}

// Symlink creates symlink name in dir with the given target.
func (c *Client) Symlink(dir uint64, name, target string, uid, gid uint32) (uint64, Stat, error) {
	return c.node(OpSymlink, &SymlinkReq{Dir: dir, Name: name, Target: target, UID: uid, GID: gid})
}

// Link makes name in dir a new hard link to handle target and returns the
// target's updated Stat.
func (c *Client) Link(dir uint64, name string, target uint64) (Stat, error) {
	m, _, err := c.call(OpLink, &LinkReq{Dir: dir, Name: name, Target: target})
	if err != nil {
		return Stat{}, err
	}
	return m.(*StatReply).Stat, nil
}

// Unlink removes name from dir; isDir selects rmdir semantics.
func (c *Client) Unlink(dir uint64, name string, isDir bool) error {
	_, _, err := c.call(OpUnlink, &UnlinkReq{Dir: dir, Name: name, IsDir: isDir})
	return err
}

// Rename renames oldDir/oldName to newDir/newName; flags may be 0,
// RenameNoReplace or RenameExchange.
func (c *Client) Rename(oldDir uint64, oldName string, newDir uint64, newName string, flags uint32) error {
	_, _, err := c.call(OpRename, &RenameReq{OldDir: oldDir, OldName: oldName, NewDir: newDir, NewName: newName, Flags: flags})
	return err
}

// SetAttr changes the attributes of handle id selected by attr.Mask and
// returns the new Stat.
func (c *Client) SetAttr(id uint64, attr SetAttr) (Stat, error) {
	m, _, err := c.call(OpSetAttr, &SetAttrReq{ID: id, Attr: attr})
	if err != nil {
		return Stat{}, err
	}
	return m.(*StatReply).Stat, nil
}

// Close releases handle id. FDs opened from it stay open.
func (c *Client) Close(id uint64) error {
	_, _, err := c.call(OpClose, &IDReq{ID: id})
	return err
}
