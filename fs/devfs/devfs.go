// Package devfs builds the sandbox's /dev: a tmpfs holding the memory-like
// character devices (null, zero, full, random, urandom), the conventional
// symlinks (fd, stdin, stdout, stderr), the terminal nodes tty and ptmx,
// and empty shm/ and pts/ directories (mount points). Terminals themselves
// are fs/tty's; devfs only routes the opens of tty and ptmx to the openers
// it is given, and says ENXIO without one, as Linux does for a device
// without a driver.
//
// It must not import the sentry, syscalls or runsc layers.
package devfs

import (
	"crypto/rand"

	"golang.org/x/sys/unix"

	"sbx/fs/tmpfs"
	"sbx/fs/vfs"
)

// Options name the openers of the terminal devices.
type Options struct {
	// PTMX opens /dev/ptmx: a new terminal's master.
	PTMX func(flags int) (vfs.FileDescriptionImpl, error)
	// TTY opens /dev/tty: the caller's controlling terminal (ENXIO when
	// it has none).
	TTY func(flags int) (vfs.FileDescriptionImpl, error)
}

// New returns the root of a new /dev.
func New(mf vfs.MemoryFile, o Options) (*vfs.Dentry, error) {
	fs, root := tmpfs.New(mf, 0o755, vfs.Owner{})
	devs := []struct {
		name         string
		major, minor uint32
		open         func(int) (vfs.FileDescriptionImpl, error)
	}{
		{"null", 1, 3, func(int) (vfs.FileDescriptionImpl, error) { return nullDev{}, nil }},
		{"zero", 1, 5, func(int) (vfs.FileDescriptionImpl, error) { return zeroDev{}, nil }},
		{"full", 1, 7, func(int) (vfs.FileDescriptionImpl, error) { return fullDev{}, nil }},
		{"random", 1, 8, func(int) (vfs.FileDescriptionImpl, error) { return randomDev{}, nil }},
		{"urandom", 1, 9, func(int) (vfs.FileDescriptionImpl, error) { return randomDev{}, nil }},
		{"tty", 5, 0, o.TTY},
		{"ptmx", 5, 2, o.PTMX},
	}
	for _, d := range devs {
		if err := fs.AddDevice(root, d.name, unix.S_IFCHR|0o666, unix.Mkdev(d.major, d.minor), d.open); err != nil {
			return nil, err
		}
	}
	ri := root.Inode()
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	} {
		if _, err := ri.Symlink(name, target, vfs.Owner{}); err != nil {
			return nil, err
		}
	}
	if _, err := ri.Mkdir("shm", unix.S_IFDIR|0o1777, vfs.Owner{}); err != nil {
		return nil, err
	}
	if _, err := ri.Mkdir("pts", unix.S_IFDIR|0o755, vfs.Owner{}); err != nil {
		return nil, err
	}
	return root, nil
}

// device answers the calls every character device shares.
type device struct{ vfs.NoIO }

func (device) Preadv(b [][]byte, off int64) (int, error)  { return 0, unix.ESPIPE }
func (device) Pwritev(b [][]byte, off int64) (int, error) { return 0, unix.ESPIPE }
func (device) Stat() (unix.Stat_t, error)                 { return unix.Stat_t{Mode: unix.S_IFCHR | 0o666}, nil }
func (device) Ioctl(vfs.UserMemory, uint, uintptr) (uintptr, error) {
	return 0, unix.ENOTTY
}

func total(b [][]byte) int {
	n := 0
	for _, x := range b {
		n += len(x)
	}
	return n
}

// nullDev is /dev/null: reads see end of file, writes vanish.
type nullDev struct{ device }

func (nullDev) Readv([][]byte) (int, error)    { return 0, nil }
func (nullDev) Writev(b [][]byte) (int, error) { return total(b), nil }

// zeroDev is /dev/zero.
type zeroDev struct{ device }

func (zeroDev) Readv(b [][]byte) (int, error) {
	for _, x := range b {
		clear(x)
	}
	return total(b), nil
}
func (zeroDev) Writev(b [][]byte) (int, error) { return total(b), nil }

// fullDev is /dev/full: reads like /dev/zero, writes fail with ENOSPC.
type fullDev struct{ zeroDev }

func (fullDev) Writev(b [][]byte) (int, error) { return 0, unix.ENOSPC }

// randomDev is /dev/random and /dev/urandom.
type randomDev struct{ device }

func (randomDev) Readv(b [][]byte) (int, error) {
	for _, x := range b {
		rand.Read(x)
	}
	return total(b), nil
}
func (randomDev) Writev(b [][]byte) (int, error) { return total(b), nil }
