package kernel

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/sentry/loader"
	"sbx/sentry/mm"
)

// maxInterpDepth bounds "#!" interpreters that are scripts themselves
// (Linux allows 4 levels beyond the first).
const maxInterpDepth = 5

// binprmBufSize is how much of a file execve looks at to decide its format
// (BINPRM_BUF_SIZE): the "#!" line is cut there.
const binprmBufSize = 256

// fileReader reads an open file at offsets, for the loader.
type fileReader struct{ impl vfs.FileDescriptionImpl }

func (r fileReader) ReadAt(b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := r.impl.Preadv([][]byte{b[done:]}, off+int64(done))
		done += n
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.EOF
		}
	}
	return done, nil
}

type mappableImpl interface {
	Mappable() vfs.Mappable
}

// openExec opens the file at vd for execution, after execve(2)'s checks.
func openExec(ctx *vfs.Context, vd vfs.VirtualDentry) (vfs.FileDescriptionImpl, vfs.Mappable, error) {
	st, err := vd.Dentry.Inode().Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.IsRegular() {
		return nil, nil, unix.EACCES
	}
	if err := vfs.CheckPermission(ctx.Creds, &st, vfs.MayExec); err != nil {
		return nil, nil, err
	}
	impl, err := vd.Dentry.Inode().Open(unix.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	var mp vfs.Mappable
	if m, ok := impl.(mappableImpl); ok {
		mp = m.Mappable()
	}
	return impl, mp, nil
}

// parseShebang splits a "#!" line into the interpreter and its optional
// single argument, as binfmt_script does.
func parseShebang(head []byte) (interp, arg string, ok bool) {
	if !bytes.HasPrefix(head, []byte("#!")) {
		return "", "", false
	}
	line := head[2:]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	s := strings.Trim(string(line), " \t")
	if s == "" {
		return "", "", true
	}
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], strings.Trim(s[i:], " \t"), true
	}
	return s, "", true
}

// ExecError wraps an execve failure with the errno the caller sees.
func execErrno(err error) error {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, loader.ErrNoExec) {
		return unix.ENOEXEC
	}
	return unix.EIO
}

// program is a loaded executable, ready to run.
type program struct {
	// exe is the executable's inode, denied to writers while it runs.
	exe     vfs.Inode
	mm      *mm.MemoryManager
	img     *loader.Image
	exePath string
	name    string
}

// loadProgram resolves start/path like execve(2) (following "#!"
// interpreters) and loads it into a new address space.
func (k *Kernel) loadProgram(ctx *vfs.Context, creds Credentials, stackSize uintptr, start vfs.VirtualDentry, path string, argv, envv []string, noFollow bool) (*program, error) {
	v := k.VFS
	if v == nil {
		return nil, unix.ENOSYS
	}
	execPath := path
	var (
		impl vfs.FileDescriptionImpl
		mp   vfs.Mappable
		vd   vfs.VirtualDentry
	)
	for depth := 0; ; depth++ {
		var err error
		vd, err = v.Resolve(ctx, start, path, vfs.Resolve{NoFollow: noFollow})
		if err != nil {
			return nil, err
		}
		if noFollow {
			if st, err := vd.Dentry.Inode().Stat(); err == nil && st.IsSymlink() {
				return nil, unix.ELOOP
			}
		}
		if impl, mp, err = openExec(ctx, vd); err != nil {
			return nil, err
		}
		head := make([]byte, binprmBufSize)
		n, _ := fileReader{impl}.ReadAt(head, 0)
		head = head[:n]
		interp, arg, isScript := parseShebang(head)
		if !isScript {
			break
		}
		impl.Release()
		if depth >= maxInterpDepth {
			return nil, unix.ELOOP
		}
		if interp == "" {
			return nil, unix.ENOEXEC
		}
		nargv := []string{interp}
		if arg != "" {
			nargv = append(nargv, arg)
		}
		nargv = append(nargv, path)
		if len(argv) > 1 {
			nargv = append(nargv, argv[1:]...)
		}
		argv, path, start, noFollow = nargv, interp, ctx.Cwd, false
	}
	defer impl.Release()
	exe := vd.Dentry.Inode()
	if err := vfs.DenyWriteAccess(exe); err != nil {
		return nil, err
	}

	m, err := mm.New(k.Platform, k.MemFile)
	if err != nil {
		vfs.AllowWriteAccess(exe)
		return nil, unix.ENOMEM
	}
	var opened []vfs.FileDescriptionImpl
	defer func() {
		for _, r := range opened {
			r.Release()
		}
	}()
	openInterp := func(p string) (io.ReaderAt, vfs.Mappable, error) {
		ivd, err := v.Resolve(ctx, ctx.Root, p, vfs.Resolve{})
		if err != nil {
			return nil, nil, err
		}
		iimpl, imp, err := openExec(ctx, ivd)
		if err != nil {
			return nil, nil, err
		}
		opened = append(opened, iimpl)
		return fileReader{iimpl}, imp, nil
	}
	img, err := loader.Load(m, loader.Options{
		File: fileReader{impl}, Mappable: mp, Path: execPath, Argv: argv, Envv: envv,
		OpenInterp: openInterp,
		Creds:      loader.Credentials{UID: creds.RUID, EUID: creds.EUID, GID: creds.RGID, EGID: creds.EGID},
		StackSize:  stackSize,
	})
	if err != nil {
		m.Release()
		vfs.AllowWriteAccess(exe)
		return nil, execErrno(err)
	}
	exePath, _ := v.PathOf(ctx.Root, vd)
	return &program{exe: exe, mm: m, img: img, exePath: exePath, name: baseName(execPath)}, nil
}

// Execve replaces the task's program (execve(2)). start and path name the
// file; noFollow refuses a final symlink (AT_SYMLINK_NOFOLLOW). On success
// the task's registers are those of the new program.
func (t *Task) Execve(start vfs.VirtualDentry, path string, argv, envv []string, noFollow bool) error {
	p, err := t.k.loadProgram(t.VFSContext(), t.Creds, uintptr(t.tg.Limit(RlimitStack).Cur), start, path, argv, envv, noFollow)
	if err != nil {
		return err
	}
	// The point of no return.
	t.killOtherThreads()
	t.becomeLeader()
	t.noteExec()
	old := t.mm
	t.mm = p.mm
	old.Release()
	if t.exe != nil {
		vfs.AllowWriteAccess(t.exe)
	}
	t.exe = p.exe
	t.regs = p.img.Registers
	t.Image = p.img
	t.ExePath = p.exePath
	t.SetName(p.name)
	t.tg.FDTable = t.tg.FDTable.Unshare()
	t.tg.FDTable.CloseOnExecAll()
	t.tg.resetHandlers()
	t.AltStack = SignalStack{}
	t.RobustList, t.RobustListLen, t.ClearChildTID = 0, 0, 0
	t.savedFP = nil
	t.tg.deleteAllTimers(false)
	t.execDone()
	return nil
}

// becomeLeader makes a thread that execs in place of its group's leader
// the leader, with the process's id as its thread id (execve(2): "all other
// threads except the calling thread are destroyed"; the caller takes over
// the thread group ID). The old leader is gone by now.
func (t *Task) becomeLeader() {
	k := t.k
	k.sigMu.Lock()
	defer k.sigMu.Unlock()
	tg := t.tg
	if tg.leader == t {
		return
	}
	k.mu.Lock()
	delete(k.tasks, t.tid)
	t.tid = tg.pid
	k.tasks[t.tid] = t
	k.mu.Unlock()
	tg.leader = t
}

// resetHandlers sets every caught signal back to its default action, as
// execve does; ignored signals stay ignored.
func (tg *ThreadGroup) resetHandlers() {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for i := range tg.actions {
		if tg.actions[i].Handler != SigIgn {
			tg.actions[i] = SigAction{}
		}
	}
}
