package vfs

import (
	"sync"

	"golang.org/x/sys/unix"
)

type fdEntry struct {
	file    *FileDescription
	cloexec bool
}

// FDTable maps file descriptors to file descriptions. Processes created
// with CLONE_FILES share one table: Share and Release count them, and the
// descriptors are closed when the last one releases it.
type FDTable struct {
	mu sync.Mutex // guards fds and sharers
	// fds is indexed by descriptor; a nil file is a free slot.
	fds []fdEntry
	// sharers counts the users beyond the first (the zero table has one).
	sharers int
}

// Share records one more process using the table (clone(CLONE_FILES)) and
// returns it.
func (t *FDTable) Share() *FDTable {
	t.mu.Lock()
	t.sharers++
	t.mu.Unlock()
	return t
}

// Unshare returns a table private to the caller: t itself when nobody else
// uses it, else a copy (t loses the caller as a user). execve(2) unshares
// the table before closing close-on-exec descriptors.
func (t *FDTable) Unshare() *FDTable {
	t.mu.Lock()
	if t.sharers == 0 {
		t.mu.Unlock()
		return t
	}
	t.sharers--
	t.mu.Unlock()
	return t.Fork()
}

// Release drops a user of the table (its process exits); the last user
// closes every descriptor.
func (t *FDTable) Release() {
	t.mu.Lock()
	if t.sharers > 0 {
		t.sharers--
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.RemoveAll()
}

// Get returns the file at fd with a new reference, or EBADF.
func (t *FDTable) Get(fd int) (*FileDescription, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		return nil, unix.EBADF
	}
	f := t.fds[fd].file
	f.IncRef()
	return f, nil
}

// CloseOnExec reports fd's FD_CLOEXEC flag, or EBADF.
func (t *FDTable) CloseOnExec(fd int) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		return false, unix.EBADF
	}
	return t.fds[fd].cloexec, nil
}

// SetCloseOnExec sets fd's FD_CLOEXEC flag.
func (t *FDTable) SetCloseOnExec(fd int, cloexec bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		return unix.EBADF
	}
	t.fds[fd].cloexec = cloexec
	return nil
}

// NewFD installs file at the lowest free descriptor >= minFD and below limit,
// taking a reference. It returns EMFILE when there is none (or EINVAL when
// minFD itself is out of range, as F_DUPFD reports).
func (t *FDTable) NewFD(minFD int, file *FileDescription, cloexec bool, limit int) (int, error) {
	if minFD < 0 || minFD >= limit {
		return -1, unix.EINVAL
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fd := minFD
	for fd < len(t.fds) && t.fds[fd].file != nil {
		fd++
	}
	if fd >= limit {
		return -1, unix.EMFILE
	}
	for fd >= len(t.fds) {
		t.fds = append(t.fds, fdEntry{})
	}
	file.IncRef()
	t.fds[fd] = fdEntry{file: file, cloexec: cloexec}
	return fd, nil
}

// SetFD installs file at fd (closing what was there), taking a reference. It
// returns EBADF when fd is out of range for limit.
func (t *FDTable) SetFD(fd int, file *FileDescription, cloexec bool, limit int) error {
	if fd < 0 || fd >= limit {
		return unix.EBADF
	}
	t.mu.Lock()
	for fd >= len(t.fds) {
		t.fds = append(t.fds, fdEntry{})
	}
	old := t.fds[fd].file
	file.IncRef()
	t.fds[fd] = fdEntry{file: file, cloexec: cloexec}
	t.mu.Unlock()
	if old != nil {
		old.DecRef()
	}
	return nil
}

// Remove closes fd, or returns EBADF.
func (t *FDTable) Remove(fd int) error {
	t.mu.Lock()
	if fd < 0 || fd >= len(t.fds) || t.fds[fd].file == nil {
		t.mu.Unlock()
		return unix.EBADF
	}
	f := t.fds[fd].file
	t.fds[fd] = fdEntry{}
	t.mu.Unlock()
	f.DecRef()
	return nil
}

// RemoveAll closes every descriptor.
func (t *FDTable) RemoveAll() {
	t.mu.Lock()
	fds := t.fds
	t.fds = nil
	t.mu.Unlock()
	for _, e := range fds {
		if e.file != nil {
			e.file.DecRef()
		}
	}
}

// CloseRange closes the descriptors in [first, last], or with cloexec only
// marks them close-on-exec.
func (t *FDTable) CloseRange(first, last int, cloexec bool) {
	t.mu.Lock()
	var closed []*FileDescription
	for fd := first; fd <= last && fd < len(t.fds); fd++ {
		if t.fds[fd].file == nil {
			continue
		}
		if cloexec {
			t.fds[fd].cloexec = true
			continue
		}
		closed = append(closed, t.fds[fd].file)
		t.fds[fd] = fdEntry{}
	}
	t.mu.Unlock()
	for _, f := range closed {
		f.DecRef()
	}
}

// CloseOnExecAll closes every descriptor marked close-on-exec (execve).
func (t *FDTable) CloseOnExecAll() {
	t.mu.Lock()
	var closed []*FileDescription
	for fd := range t.fds {
		if t.fds[fd].file != nil && t.fds[fd].cloexec {
			closed = append(closed, t.fds[fd].file)
			t.fds[fd] = fdEntry{}
		}
	}
	t.mu.Unlock()
	for _, f := range closed {
		f.DecRef()
	}
}

// Each calls fn for every open descriptor, in order.
func (t *FDTable) Each(fn func(fd int, f *FileDescription, cloexec bool)) {
	t.mu.Lock()
	type ent struct {
		fd int
		e  fdEntry
	}
	var ents []ent
	for fd, e := range t.fds {
		if e.file != nil {
			e.file.IncRef()
			ents = append(ents, ent{fd, e})
		}
	}
	t.mu.Unlock()
	for _, x := range ents {
		fn(x.fd, x.e.file, x.e.cloexec)
		x.e.file.DecRef()
	}
}

// Fork returns a copy of the table whose descriptors refer to the same
// file descriptions (fork(2)).
func (t *FDTable) Fork() *FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &FDTable{fds: make([]fdEntry, len(t.fds))}
	for i, e := range t.fds {
		if e.file != nil {
			e.file.IncRef()
			n.fds[i] = e
		}
	}
	return n
}
