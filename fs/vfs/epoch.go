package vfs

import "sync/atomic"

// Epoch counts the system calls the sentry has begun: the syscall table
// adds one as each starts. A filesystem that has to ask for attributes (a
// writable gofer mount, shared with the host) may reuse what it was told
// while the count is unchanged, that is within one system call but never
// across two: a path walk asks for each directory's attributes more than
// once.
// It starts at 1: 0 marks attributes not to be reused.
var Epoch atomic.Uint64

func init() { Epoch.Store(1) }
