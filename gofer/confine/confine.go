// Package confine locks a host process of sbx down: an empty read-only
// root in its own mount namespace, no new privileges, and only the
// capabilities it names. The sandbox process (runsc/boot) and the gofer
// (gofer/server) both use it once they hold every host FD they need.
//
// It knows nothing of the sandbox; it must not import the sentry, fs,
// syscalls or runsc layers.
package confine

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Options say what the confined process keeps.
type Options struct {
	// Proc mounts a fresh procfs at /proc in the empty root (the gofer
	// reaches FDs through /proc/self/fd on kernels without fchmodat2).
	Proc bool
	// Caps are the capabilities kept (effective, permitted, bounding);
	// every other one is dropped.
	Caps []uintptr
}

// Lock applies o to the calling process. It must be in a mount namespace
// of its own (CLONE_NEWNS), or it would change the host's.
func Lock(o Options) error {
	// Go reads the local time zone (/etc/localtime) the first time a time
	// is shown, and a log line may come at any moment: read it now, while
	// the host's files are still there.
	_ = time.Local.String()
	if err := pivotToEmptyRoot(o.Proc); err != nil {
		return fmt.Errorf("empty root: %w", err)
	}
	// no_new_privs, the bounding set and the capability sets belong to
	// each thread: every thread of the process must change them, or a
	// thread that did not (the one that forks the next stub, say) keeps
	// what the others dropped.
	// A process started by a thread PrepareChild readied has the flag
	// already, in every thread (clone and execve keep it; it cannot be
	// cleared).
	if on, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); err != nil || on != 1 {
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); e != 0 {
			return fmt.Errorf("no_new_privs: %w", e)
		}
	}
	keep := map[uintptr]bool{}
	for _, c := range o.Caps {
		keep[c] = true
	}
	for c := uintptr(0); c <= unix.CAP_LAST_CAP; c++ {
		// Only what the bounding set still holds: each drop stops every
		// thread, and a launcher that readied its thread (PrepareChild)
		// left nothing to drop.
		if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, c, 0, 0, 0); keep[c] || (err == nil && in == 0) {
			continue
		}
		if _, _, e := syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0); e != 0 && e != unix.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, e)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for _, c := range o.Caps {
		data[c/32].Effective |= 1 << (c % 32)
		data[c/32].Permitted |= 1 << (c % 32)
	}
	if _, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}

// pivotToEmptyRoot makes an empty tmpfs the root of the mount namespace,
// detaches everything else, and makes the root read-only.
func pivotToEmptyRoot(proc bool) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	// Any directory will do as the mount point: the tmpfs hides it and
	// the old root goes away below.
	const dir = "/tmp"
	if err := unix.Mount("sbx-root", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755,size=16k"); err != nil {
		return fmt.Errorf("mounting the new root: %w", err)
	}
	if proc {
		if err := unix.Mkdir(dir+"/proc", 0o555); err != nil {
			return err
		}
	}
	if err := unix.Chdir(dir); err != nil {
		return err
	}
	// pivot_root(".", "."): the old root is stacked on the new one, and
	// detaching "." then removes it.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if proc {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mounting /proc: %w", err)
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("making the root read-only: %w", err)
	}
	return nil
}

// PrepareChild readies the calling thread to start one process that will
// call Lock keeping keep: the process then starts with no_new_privs and a
// bounding set of keep alone, which Lock would otherwise set with one
// all-threads call per capability dropped (each stops every thread of the
// process; about half a millisecond apiece here). CAP_SYS_ADMIN and
// CAP_SETPCAP, which Lock itself needs (for the new root), come through the
// exec in the inheritable set rather than the bounding set; Lock clears
// them. The caller locks its goroutine to the thread and never unlocks it.
// Without CAP_SETPCAP the capability steps do nothing, and Lock does the
// whole work as before.
func PrepareChild(keep ...uintptr) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) == nil {
		for _, c := range []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SETPCAP} {
			if data[c/32].Permitted&(1<<(c%32)) != 0 {
				data[c/32].Inheritable |= 1 << (c % 32)
			}
		}
		unix.Capset(&hdr, &data[0])
	}
	dropBoundingExcept(keep)
	unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
}

// dropBoundingExcept drops every capability but keep from the calling
// thread's bounding set (ignoring failures: without CAP_SETPCAP nothing can
// be dropped).
func dropBoundingExcept(keep []uintptr) {
	k := map[uintptr]bool{}
	for _, c := range keep {
		k[c] = true
	}
	for c := uintptr(0); c <= unix.CAP_LAST_CAP; c++ {
		if !k[c] {
			unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0)
		}
	}
}
