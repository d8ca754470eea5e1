package server

import (
	"math"
	"strconv"

	"golang.org/x/sys/unix"

	"sbx/gofer/proto"
)

// handle serves one decoded request. It returns the reply and, for Open
// and Create, an FD to donate (else -1); or an error to send as an errno.
func (s *session) handle(op proto.Op, req proto.Message) (proto.Message, int, error) {
	switch r := req.(type) {
	case *proto.AttachReq:
		return s.attach(r)
	case *proto.WalkReq:
		return s.walk(r)
	case *proto.IDReq:
		switch op {
		case proto.OpStat:
			return s.stat(r)
		case proto.OpReadlink:
			return s.readlink(r)
		case proto.OpStatFS:
			return s.statfs(r)
		case proto.OpClose:
			return &proto.EmptyReply{}, -1, s.release(r.ID)
		}
	case *proto.ReaddirReq:
		return s.readdir(r)
	case *proto.OpenReq:
		return s.open(r)
	case *proto.CreateReq:
		return s.create(r)
	case *proto.MkReq:
		if op == proto.OpMkdir {
			return s.mkdir(r)
		}
		return s.mknod(r)
	case *proto.SymlinkReq:
		return s.symlink(r)
	case *proto.LinkReq:
		return s.link(r)
	case *proto.UnlinkReq:
		return s.unlink(r)
	case *proto.RenameReq:
		return s.rename(r)
	case *proto.SetAttrReq:
		return s.setattr(r)
	}
	return nil, -1, unix.ENOSYS
}

func (s *session) attach(r *proto.AttachReq) (proto.Message, int, error) {
	m, ok := s.srv.mounts[r.Mount]
	if !ok {
		return nil, -1, unix.ENOENT
	}
	fd, err := openat2(m.rootFD, ".", unix.O_PATH|unix.O_DIRECTORY, 0, resolveBeneath)
	if err != nil {
		return nil, -1, err
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	id := s.add(m, nil, "", fd, &st)
	return &proto.NodeReply{ID: id, Stat: proto.StatFromUnix(&st)}, -1, nil
}

// dirAndName returns the directory node of handle id, with name checked
// to be one component, and for mutating ops (write) EROFS on a read-only
// mount.
func (s *session) dirAndName(id uint64, name string, write bool) (*node, error) {
	dir, err := s.get(id)
	if err != nil {
		return nil, err
	}
	if err := proto.ValidName(name); err != nil {
		return nil, err
	}
	if write && dir.mnt.ReadOnly {
		return nil, unix.EROFS
	}
	return dir, nil
}

func (s *session) walk(r *proto.WalkReq) (proto.Message, int, error) {
	dir, err := s.dirAndName(r.Dir, r.Name, false)
	if err != nil {
		return nil, -1, err
	}
	pfd, err := s.dirFD(dir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(pfd)
	fd, st, err := openChild(pfd, r.Name, unix.O_PATH)
	if err != nil {
		return nil, -1, err
	}
	reply := &proto.WalkReply{Stat: proto.StatFromUnix(&st)}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		// The target too: a walk to a symlink is almost always
		// followed by reading it.
		reply.Target, _ = readTarget(fd)
	}
	reply.ID = s.add(dir.mnt, dir, r.Name, fd, &st)
	return reply, -1, nil
}

// openChild opens name in pfd as O_PATH with extra flags, and stats it.
func openChild(pfd int, name string, extra uint64) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := openat2(pfd, name, unix.O_PATH|extra, 0, resolveBeneath)
	if err != nil {
		return -1, st, err
	}
	if err := fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, err
	}
	return fd, st, nil
}

// addChild opens name in pfd (dir's fresh FD) as O_PATH with extra flags,
// makes a node of it and replies with its handle.
func (s *session) addChild(dir *node, pfd int, name string, extra uint64) (proto.Message, int, error) {
	fd, st, err := openChild(pfd, name, extra)
	if err != nil {
		return nil, -1, err
	}
	id := s.add(dir.mnt, dir, name, fd, &st)
	return &proto.NodeReply{ID: id, Stat: proto.StatFromUnix(&st)}, -1, nil
}

func (s *session) stat(r *proto.IDReq) (proto.Message, int, error) {
	n, err := s.get(r.ID)
	if err != nil {
		return nil, -1, err
	}
	fd, err := s.nodeFD(n)
	if err != nil {
		return nil, -1, err
	}
	var st unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		return nil, -1, err
	}
	return &proto.StatReply{Stat: proto.StatFromUnix(&st)}, -1, nil
}

func (s *session) readlink(r *proto.IDReq) (proto.Message, int, error) {
	n, err := s.get(r.ID)
	if err != nil {
		return nil, -1, err
	}
	if n.mode != unix.S_IFLNK {
		return nil, -1, unix.EINVAL
	}
	fd, err := s.nodeFD(n)
	if err != nil {
		return nil, -1, err
	}
	t, err := readTarget(fd)
	if err != nil {
		return nil, -1, err
	}
	return &proto.ReadlinkReply{Target: t}, -1, nil
}

// readTarget reads the target of the symlink fd (an O_PATH FD of it).
func readTarget(fd int) (string, error) {
	buf := make([]byte, proto.MaxPath+1)
	for {
		k, err := unix.Readlinkat(fd, "", buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", err
		}
		if k > proto.MaxPath {
			return "", unix.ENAMETOOLONG
		}
		return string(buf[:k]), nil
	}
}

func (s *session) statfs(r *proto.IDReq) (proto.Message, int, error) {
	n, err := s.get(r.ID)
	if err != nil {
		return nil, -1, err
	}
	fd, err := s.nodeFD(n)
	if err != nil {
		return nil, -1, err
	}
	var sf unix.Statfs_t
	for {
		err = unix.Fstatfs(fd, &sf)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, -1, err
	}
	out := proto.StatFSFromUnix(&sf)
	if n.mnt.ReadOnly {
		out.Flags |= unix.ST_RDONLY
	}
	return &proto.StatFSReply{StatFS: out}, -1, nil
}

func (s *session) readdir(r *proto.ReaddirReq) (proto.Message, int, error) {
	n, err := s.get(r.ID)
	if err != nil {
		return nil, -1, err
	}
	if !n.isDir() {
		return nil, -1, unix.ENOTDIR
	}
	if r.Cursor > math.MaxInt64 {
		return nil, -1, unix.EINVAL
	}
	fd, _, err := s.reopen(n, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(fd)
	if r.Cursor != 0 {
		if _, err := unix.Seek(fd, int64(r.Cursor), 0); err != nil {
			return nil, -1, err
		}
	}
	if s.dirbuf == nil {
		s.dirbuf = make([]byte, 32<<10)
	}
	out := &proto.ReaddirReply{Next: r.Cursor}
	budget := proto.MaxReaddirBytes
	for {
		k, err := unix.Getdents(fd, s.dirbuf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, -1, err
		}
		if k == 0 {
			out.EOF = true
			return out, -1, nil
		}
		for b := s.dirbuf[:k]; len(b) > 0; {
			ino, off, typ, name, reclen, ok := parseDirent(b)
			if !ok {
				return nil, -1, unix.EIO
			}
			b = b[reclen:]
			if name == "." || name == ".." {
				out.Next = off
				continue
			}
			size := proto.DirentSize(name)
			if size > budget || len(out.Entries) == proto.MaxDirentsPerReply {
				return out, -1, nil // Next resumes at this entry
			}
			budget -= size
			out.Entries = append(out.Entries, proto.Dirent{Ino: ino, Off: off, Type: typ, Name: name})
			out.Next = off
		}
	}
}

// parseDirent parses the linux_dirent64 at the start of b.
func parseDirent(b []byte) (ino, off uint64, typ uint8, name string, reclen int, ok bool) {
	const fixed = 19 // d_ino(8) d_off(8) d_reclen(2) d_type(1)
	if len(b) < fixed {
		return
	}
	reclen = int(b[16]) | int(b[17])<<8
	if reclen < fixed || reclen > len(b) {
		return
	}
	ino = le64(b[0:])
	off = le64(b[8:])
	typ = b[18]
	nb := b[fixed:reclen]
	for i, c := range nb {
		if c == 0 {
			nb = nb[:i]
			break
		}
	}
	if len(nb) == 0 || len(nb) > proto.MaxName {
		return
	}
	return ino, off, typ, string(nb), reclen, true
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// openFlags are the flags Open accepts. Create accepts them but
// O_DIRECTORY, plus O_EXCL and O_CREAT (implied anyway).
const openFlags = unix.O_ACCMODE | unix.O_TRUNC | unix.O_APPEND | unix.O_DIRECTORY

// checkOpenFlags validates an access mode and flags and says whether they
// would modify the file.
func checkOpenFlags(flags, allowed uint32) (write bool, err error) {
	if flags&^allowed != 0 || flags&unix.O_ACCMODE == unix.O_ACCMODE {
		return false, unix.EINVAL
	}
	acc := flags & unix.O_ACCMODE
	if flags&unix.O_TRUNC != 0 && acc == unix.O_RDONLY {
		return false, unix.EINVAL
	}
	return acc != unix.O_RDONLY, nil
}

// refuseType says why a file of type mode (S_IFMT bits) cannot be opened,
// or nil if it can (regular files and directories).
func refuseType(mode uint32) error {
	switch mode {
	case unix.S_IFREG, unix.S_IFDIR:
		return nil
	case unix.S_IFLNK:
		return unix.ELOOP
	case unix.S_IFIFO, unix.S_IFSOCK:
		return unix.ENXIO
	}
	return unix.EPERM
}

func (s *session) open(r *proto.OpenReq) (proto.Message, int, error) {
	n, err := s.get(r.ID)
	if err != nil {
		return nil, -1, err
	}
	write, err := checkOpenFlags(r.Flags, openFlags)
	if err != nil {
		return nil, -1, err
	}
	if err := refuseType(n.mode); err != nil {
		return nil, -1, err
	}
	if n.isDir() && write {
		return nil, -1, unix.EISDIR
	}
	if !n.isDir() && r.Flags&unix.O_DIRECTORY != 0 {
		return nil, -1, unix.ENOTDIR
	}
	if write && n.mnt.ReadOnly {
		return nil, -1, unix.EROFS
	}
	fl := uint64(r.Flags&^unix.O_TRUNC) | unix.O_NONBLOCK
	fd, _, err := s.reopen(n, fl)
	if err != nil {
		return nil, -1, err
	}
	if err := finishOpen(fd, r.Flags); err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	return &proto.EmptyReply{}, fd, nil
}

// finishOpen applies O_TRUNC and drops the O_NONBLOCK an open was made
// with, once the FD is known to be the right file.
func finishOpen(fd int, flags uint32) error {
	if flags&unix.O_TRUNC != 0 {
		if err := ftruncate(fd, 0); err != nil {
			return err
		}
	}
	return unix.SetNonblock(fd, false)
}

func ftruncate(fd int, size int64) error {
	for {
		err := unix.Ftruncate(fd, size)
		if err != unix.EINTR {
			return err
		}
	}
}

// permBits returns the permission bits a new or chmod-ed file gets: mode's
// 07777 bits without set-user-ID, and without set-group-ID unless it is a
// directory.
func permBits(mode uint32, dir bool) uint32 {
	p := mode & 07777 &^ unix.S_ISUID
	if !dir {
		p &^= unix.S_ISGID
	}
	return p
}

// idArg converts a wire uid/gid to a chown argument (0xFFFFFFFF: keep).
func idArg(v uint32) int {
	if v == math.MaxUint32 {
		return -1
	}
	return int(v)
}

// settle gives a newly created file (fd: O_PATH or open FD of it, st: its
// stat) the owner uid/gid and permission bits perm, and refreshes st.
func settle(fd int, opath bool, st *unix.Stat_t, uid, gid uint32, perm uint32) error {
	changed := false
	if (idArg(uid) >= 0 && st.Uid != uid) || (idArg(gid) >= 0 && st.Gid != gid) {
		err := unix.Fchownat(fd, "", idArg(uid), idArg(gid), unix.AT_EMPTY_PATH)
		if err != nil && err != unix.EPERM && err != unix.EINVAL {
			return err
		}
		changed = err == nil
	}
	if changed {
		if err := fstat(fd, st); err != nil {
			return err
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK && st.Mode&07777 != perm {
		if err := chmodFD(fd, opath, perm); err != nil {
			return err
		}
		changed = true
	}
	if changed {
		return fstat(fd, st)
	}
	return nil
}

// chmodFD sets the permission bits of the file fd refers to. fd is an
// O_PATH FD if opath, else an open FD.
func chmodFD(fd int, opath bool, perm uint32) error {
	if !opath {
		return unix.Fchmod(fd, perm)
	}
	err := unix.Fchmodat(fd, "", perm, unix.AT_EMPTY_PATH)
	if err == unix.EOPNOTSUPP || err == unix.ENOSYS {
		// Kernel without fchmodat2 (before 6.6): go through the FD's
		// magic link, which names exactly this inode.
		err = unix.Fchmodat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), perm, 0)
	}
	return err
}

func (s *session) create(r *proto.CreateReq) (proto.Message, int, error) {
	dir, err := s.dirAndName(r.Dir, r.Name, true)
	if err != nil {
		return nil, -1, err
	}
	if _, err := checkOpenFlags(r.Flags, openFlags&^unix.O_DIRECTORY|unix.O_EXCL|unix.O_CREAT); err != nil {
		return nil, -1, err
	}
	pfd, err := s.dirFD(dir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(pfd)

	perm := permBits(r.Mode, false)
	base := uint64(r.Flags&(unix.O_ACCMODE|unix.O_APPEND)) | unix.O_NONBLOCK
	var st unix.Stat_t
	fd, err := openat2(pfd, r.Name, base|unix.O_CREAT|unix.O_EXCL, perm, resolveBeneath)
	var pathFD int
	switch {
	case err == nil:
		// Created: give it its owner and mode, then take its O_PATH FD.
		if err := fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, -1, err
		}
		if err := settle(fd, false, &st, r.UID, r.GID, perm); err != nil {
			unix.Close(fd)
			return nil, -1, err
		}
		pathFD, err = openSame(pfd, r.Name, &st)
		if err != nil {
			unix.Close(fd)
			return nil, -1, err
		}
	case err == unix.EEXIST && r.Flags&unix.O_EXCL == 0:
		// Exists: open it like Open would, never following a symlink.
		pathFD, err = openat2(pfd, r.Name, unix.O_PATH, 0, resolveBeneath)
		if err != nil {
			return nil, -1, err
		}
		if err := fstat(pathFD, &st); err != nil {
			unix.Close(pathFD)
			return nil, -1, err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			unix.Close(pathFD)
			return nil, -1, unix.EISDIR
		}
		if err := refuseType(st.Mode & unix.S_IFMT); err != nil {
			unix.Close(pathFD)
			return nil, -1, err
		}
		fd, err = openSame(pfd, r.Name, &st, base)
		if err != nil {
			unix.Close(pathFD)
			return nil, -1, err
		}
		if r.Flags&unix.O_TRUNC != 0 {
			if err := ftruncate(fd, 0); err == nil {
				err = fstat(fd, &st)
			}
			if err != nil {
				unix.Close(fd)
				unix.Close(pathFD)
				return nil, -1, err
			}
		}
	default:
		return nil, -1, err
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		unix.Close(pathFD)
		return nil, -1, err
	}
	id := s.add(dir.mnt, dir, r.Name, pathFD, &st)
	return &proto.NodeReply{ID: id, Stat: proto.StatFromUnix(&st)}, fd, nil
}

// openSame opens name in pfd (O_PATH unless flags are given) and checks it
// is the inode st describes (ESTALE if not: it was swapped).
func openSame(pfd int, name string, st *unix.Stat_t, flags ...uint64) (int, error) {
	fl := uint64(unix.O_PATH)
	if len(flags) > 0 {
		fl = flags[0]
	}
	fd, err := openat2(pfd, name, fl, 0, resolveBeneath)
	if err != nil {
		return -1, err
	}
	var got unix.Stat_t
	if err := fstat(fd, &got); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if got.Dev != st.Dev || got.Ino != st.Ino {
		unix.Close(fd)
		return -1, unix.ESTALE
	}
	return fd, nil
}

func (s *session) mkdir(r *proto.MkReq) (proto.Message, int, error) {
	dir, err := s.dirAndName(r.Dir, r.Name, true)
	if err != nil {
		return nil, -1, err
	}
	pfd, err := s.dirFD(dir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(pfd)
	perm := permBits(r.Mode, true)
	if err := unix.Mkdirat(pfd, r.Name, perm); err != nil {
		return nil, -1, err
	}
	return s.settleNew(dir, pfd, r.Name, unix.O_DIRECTORY, r.UID, r.GID, perm)
}

// settleNew takes the O_PATH FD of the just-created name in pfd, gives the
// file its owner and mode, and replies with a new handle for it.
func (s *session) settleNew(dir *node, pfd int, name string, extra uint64, uid, gid, perm uint32) (proto.Message, int, error) {
	fd, err := openat2(pfd, name, unix.O_PATH|extra, 0, resolveBeneath)
	if err != nil {
		return nil, -1, err
	}
	var st unix.Stat_t
	err = fstat(fd, &st)
	if err == nil {
		err = settle(fd, true, &st, uid, gid, perm)
	}
	if err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	id := s.add(dir.mnt, dir, name, fd, &st)
	return &proto.NodeReply{ID: id, Stat: proto.StatFromUnix(&st)}, -1, nil
}

func (s *session) mknod(r *proto.MkReq) (proto.Message, int, error) {
	dir, err := s.dirAndName(r.Dir, r.Name, true)
	if err != nil {
		return nil, -1, err
	}
	typ := r.Mode & unix.S_IFMT
	switch typ {
	case 0:
		typ = unix.S_IFREG
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFSOCK:
	case unix.S_IFCHR, unix.S_IFBLK:
		return nil, -1, unix.EPERM
	default:
		return nil, -1, unix.EINVAL
	}
	pfd, err := s.dirFD(dir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(pfd)
	perm := permBits(r.Mode, false)
	if err := unix.Mknodat(pfd, r.Name, typ|perm, 0); err != nil {
		return nil, -1, err
	}
	return s.settleNew(dir, pfd, r.Name, 0, r.UID, r.GID, perm)
}

func (s *session) symlink(r *proto.SymlinkReq) (proto.Message, int, error) {
	dir, err := s.dirAndName(r.Dir, r.Name, true)
	if err != nil {
		return nil, -1, err
	}
	if r.Target == "" {
		return nil, -1, unix.ENOENT
	}
	for i := 0; i < len(r.Target); i++ {
		if r.Target[i] == 0 {
			return nil, -1, unix.EINVAL
		}
	}
	pfd, err := s.dirFD(dir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(pfd)
	if err := unix.Symlinkat(r.Target, pfd, r.Name); err != nil {
		return nil, -1, err
	}
	return s.settleNew(dir, pfd, r.Name, 0, r.UID, r.GID, 0777)
}

func (s *session) link(r *proto.LinkReq) (proto.Message, int, error) {
	dir, err := s.dirAndName(r.Dir, r.Name, true)
	if err != nil {
		return nil, -1, err
	}
	target, err := s.get(r.Target)
	if err != nil {
		return nil, -1, err
	}
	if target.mnt != dir.mnt {
		return nil, -1, unix.EXDEV
	}
	if target.isDir() {
		return nil, -1, unix.EPERM
	}
	if target.detached || target.parent == nil {
		return nil, -1, unix.ENOENT
	}
	tpfd, err := s.dirFD(target.parent)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(tpfd)
	want := unix.Stat_t{Dev: target.dev, Ino: target.ino}
	var st unix.Stat_t
	if err := fstatat(tpfd, target.name, &st); err != nil {
		return nil, -1, err
	}
	if uint64(st.Dev) != target.dev || uint64(st.Ino) != target.ino {
		return nil, -1, unix.ESTALE
	}
	pfd, err := s.dirFD(dir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(pfd)
	if err := unix.Linkat(tpfd, target.name, pfd, r.Name, 0); err != nil {
		return nil, -1, err
	}
	// The name may have been swapped between the check and linkat: make
	// sure the new link is the target, or take it back.
	if err := fstatat(pfd, r.Name, &st); err != nil {
		return nil, -1, err
	}
	if st.Dev != want.Dev || st.Ino != want.Ino {
		unix.Unlinkat(pfd, r.Name, 0)
		return nil, -1, unix.ESTALE
	}
	return &proto.StatReply{Stat: proto.StatFromUnix(&st)}, -1, nil
}

func (s *session) unlink(r *proto.UnlinkReq) (proto.Message, int, error) {
	dir, err := s.dirAndName(r.Dir, r.Name, true)
	if err != nil {
		return nil, -1, err
	}
	pfd, err := s.dirFD(dir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(pfd)
	flags := 0
	if r.IsDir {
		flags = unix.AT_REMOVEDIR
	}
	pinned := s.pinName(dir, r.Name)
	if err := unix.Unlinkat(pfd, r.Name, flags); err != nil {
		s.unpin(pinned)
		return nil, -1, err
	}
	s.detachName(dir, r.Name)
	return &proto.EmptyReply{}, -1, nil
}

func (s *session) rename(r *proto.RenameReq) (proto.Message, int, error) {
	oldDir, err := s.dirAndName(r.OldDir, r.OldName, true)
	if err != nil {
		return nil, -1, err
	}
	newDir, err := s.dirAndName(r.NewDir, r.NewName, true)
	if err != nil {
		return nil, -1, err
	}
	if r.Flags&^(proto.RenameNoReplace|proto.RenameExchange) != 0 ||
		r.Flags == proto.RenameNoReplace|proto.RenameExchange {
		return nil, -1, unix.EINVAL
	}
	if oldDir.mnt != newDir.mnt {
		return nil, -1, unix.EXDEV
	}
	opfd, err := s.dirFD(oldDir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(opfd)
	npfd, err := s.dirFD(newDir)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(npfd)

	// Renaming a name onto another link of the same inode does nothing
	// (rename(2)); the handle table must not change then either.
	same := false
	if r.Flags == 0 {
		var a, b unix.Stat_t
		if fstatat(opfd, r.OldName, &a) == nil && fstatat(npfd, r.NewName, &b) == nil {
			same = a.Dev == b.Dev && a.Ino == b.Ino
		}
	}
	pinned := s.pinName(newDir, r.NewName) // a replaced target is detached
	defer s.unpin(pinned)
	for {
		err = unix.Renameat2(opfd, r.OldName, npfd, r.NewName, uint(r.Flags))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, -1, err
	}
	switch {
	case r.Flags&proto.RenameExchange != 0:
		s.exchangeNames(oldDir, r.OldName, newDir, r.NewName)
	case same:
	default:
		if oldDir.dev != newDir.dev || oldDir.ino != newDir.ino || r.OldName != r.NewName {
			s.detachName(newDir, r.NewName)
			s.moveName(oldDir, r.OldName, newDir, r.NewName)
		}
	}
	return &proto.EmptyReply{}, -1, nil
}

func (s *session) setattr(r *proto.SetAttrReq) (proto.Message, int, error) {
	n, err := s.get(r.ID)
	if err != nil {
		return nil, -1, err
	}
	a := &r.Attr
	if a.Mask&^proto.SetAttrAll != 0 {
		return nil, -1, unix.EINVAL
	}
	if !validTime(a.Atime) || !validTime(a.Mtime) {
		return nil, -1, unix.EINVAL
	}
	if a.Mask != 0 && n.mnt.ReadOnly {
		return nil, -1, unix.EROFS
	}
	if a.Mask&proto.SetAttrMode != 0 && n.mode == unix.S_IFLNK {
		return nil, -1, unix.EOPNOTSUPP
	}
	if a.Mask&proto.SetAttrSize != 0 {
		switch {
		case n.isDir():
			return nil, -1, unix.EISDIR
		case n.mode != unix.S_IFREG:
			return nil, -1, unix.EINVAL
		case a.Size > math.MaxInt64:
			return nil, -1, unix.EFBIG
		}
	}
	// Verify the handle by path before touching anything.
	fd, st, err := s.reopen(n, unix.O_PATH)
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(fd)
	if a.Mask&proto.SetAttrSize != 0 {
		wfd, _, err := s.reopen(n, unix.O_WRONLY|unix.O_NONBLOCK)
		if err != nil {
			return nil, -1, err
		}
		err = ftruncate(wfd, int64(a.Size))
		unix.Close(wfd)
		if err != nil {
			return nil, -1, err
		}
	}
	if a.Mask&(proto.SetAttrUID|proto.SetAttrGID) != 0 {
		uid, gid := -1, -1
		if a.Mask&proto.SetAttrUID != 0 {
			uid = idArg(a.UID)
		}
		if a.Mask&proto.SetAttrGID != 0 {
			gid = idArg(a.GID)
		}
		if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
			return nil, -1, err
		}
	}
	if a.Mask&proto.SetAttrMode != 0 {
		if err := chmodFD(fd, true, permBits(a.Mode, n.isDir())); err != nil {
			return nil, -1, err
		}
	}
	if a.Mask&(proto.SetAttrAtime|proto.SetAttrMtime) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if a.Mask&proto.SetAttrAtime != 0 {
			ts[0] = unix.Timespec{Sec: a.Atime.Sec, Nsec: a.Atime.Nsec}
		}
		if a.Mask&proto.SetAttrMtime != 0 {
			ts[1] = unix.Timespec{Sec: a.Mtime.Sec, Nsec: a.Mtime.Nsec}
		}
		if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
			return nil, -1, err
		}
	}
	if err := fstat(fd, st); err != nil {
		return nil, -1, err
	}
	return &proto.StatReply{Stat: proto.StatFromUnix(st)}, -1, nil
}

func validTime(t proto.Timespec) bool {
	return (t.Nsec >= 0 && t.Nsec < 1e9) || t.Nsec == unix.UTIME_NOW || t.Nsec == unix.UTIME_OMIT
}
