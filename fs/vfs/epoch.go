package vfs

import "sync/atomic"

// The system-call epoch. A filesystem that has to ask for attributes (a
// writable gofer mount, shared with the host) may reuse what it was told
// within one system call, never across two: a path walk asks for each
// directory's attributes more than once. The syscall table calls
// BeginSyscall as each call starts; a filesystem takes CurrentEpoch before
// it asks and reuses the answer while CurrentEpoch is unchanged.
//
// The counter only moves when an epoch has been taken since it last moved,
// so that system calls that never reach such a filesystem cost one load of
// a flag, not an atomic add on a line every CPU shares.
var (
	// epoch starts at 1: 0 marks attributes not to be reused.
	epoch      atomic.Uint64
	epochTaken atomic.Bool
)

func init() { epoch.Store(1) }

// BeginSyscall starts a new epoch if the current one was taken.
func BeginSyscall() {
	if epochTaken.Load() {
		epochTaken.Store(false)
		epoch.Add(1)
	}
}

// CurrentEpoch returns the current epoch (never 0), marking it taken.
func CurrentEpoch() uint64 {
	if !epochTaken.Load() {
		epochTaken.Store(true)
	}
	return epoch.Load()
}
