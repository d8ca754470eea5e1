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
	mu   sync.Mutex // serializes memfd creation
}

// NewMemfd creates an anonymous memory-backed file (memfd_create(2)) and
// returns it open for reading and writing. Its name in /proc/[pid]/fd is
// "/memfd:NAME (deleted)", as in Linux.
func (k *Kernel) NewMemfd(name string, mode uint32, allowSealing bool) (*vfs.FileDescription, error) {
	m := &k.memfd
	m.once.Do(func() {
		_, root := tmpfs.New(k.MemFile, 0o700, vfs.Owner{})
		m.ns = vfs.NewMountNamespace(root, "tmpfs", "memfd", false)
	})
	file := fmt.Sprintf("memfd:%s", name)
	if len(file) > vfs.MaxName {
		file = file[:vfs.MaxName]
	}
	root := m.ns.Root()
	ctx := &vfs.Context{Creds: &vfs.Creds{}, Root: root, Cwd: root}
	v := &vfs.VFS{NS: m.ns}
	// Create and unlink under the lock, so the name is free again for the
	// next memfd of the same name, and /proc shows "/memfd:NAME (deleted)".
	m.mu.Lock()
	f, err := v.OpenAt(ctx, root, file, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, mode, vfs.Resolve{})
	if err == nil {
		v.UnlinkAt(ctx, root, file)
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if allowSealing {
		if s, ok := f.Impl.(interface{ ClearSeals() }); ok {
			s.ClearSeals()
		}
	}
	return f, nil
}
