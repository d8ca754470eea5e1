package kernel

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"sbx/fs/tmpfs"
	"sbx/fs/vfs"
)

// memfdFS is the hidden tmpfs that holds memfd_create(2) files.
type memfdFS struct {
	once sync.Once
	ns   *vfs.MountNamespace
	mu   sync.Mutex // guards n
	n    int
}

// NewMemfd creates an anonymous memory-backed file (memfd_create(2)) and
// returns it open for reading and writing. Its name in /proc/[pid]/fd is
// "/memfd:NAME (deleted)", as in Linux.
func (k *Kernel) NewMemfd(name string, mode uint32) (*vfs.FileDescription, error) {
	m := &k.memfd
	m.once.Do(func() {
		_, root := tmpfs.New(k.MemFile, 0o700, vfs.Owner{})
		m.ns = vfs.NewMountNamespace(root, "tmpfs", "memfd", false)
	})
	m.mu.Lock()
	m.n++
	file := fmt.Sprintf("memfd:%s", name)
	if len(file) > vfs.MaxName {
		file = file[:vfs.MaxName]
	}
	tmp := fmt.Sprintf(".%d", m.n)
	m.mu.Unlock()
	root := m.ns.Root()
	ctx := &vfs.Context{Creds: &vfs.Creds{}, Root: root, Cwd: root}
	v := &vfs.VFS{NS: m.ns}
	dir := tmp
	if err := v.MkdirAt(ctx, root, dir, 0o700); err != nil {
		return nil, err
	}
	path := dir + "/" + file
	f, err := v.OpenAt(ctx, root, path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, mode, vfs.Resolve{})
	if err != nil {
		return nil, err
	}
	v.UnlinkAt(ctx, root, path)
	return f, nil
}
