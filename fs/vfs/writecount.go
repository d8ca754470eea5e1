package vfs

import (
	"sync"

	"golang.org/x/sys/unix"
)

// writeCounts implements Linux's i_writecount for ETXTBSY: positive counts
// are open writers, negative counts are running executables.
var writeCounts = struct {
	mu sync.Mutex // guards m
	m  map[Inode]int
}{m: make(map[Inode]int)}

// GetWriteAccess records a writer of i, or fails with ETXTBSY while i is
// being executed.
func GetWriteAccess(i Inode) error {
	writeCounts.mu.Lock()
	defer writeCounts.mu.Unlock()
	if writeCounts.m[i] < 0 {
		return unix.ETXTBSY
	}
	writeCounts.m[i]++
	return nil
}

// PutWriteAccess drops a writer of i.
func PutWriteAccess(i Inode) { adjust(i, -1) }

// DenyWriteAccess records an executable mapping of i, or fails with
// ETXTBSY while i is open for writing.
func DenyWriteAccess(i Inode) error {
	writeCounts.mu.Lock()
	defer writeCounts.mu.Unlock()
	if writeCounts.m[i] > 0 {
		return unix.ETXTBSY
	}
	writeCounts.m[i]--
	return nil
}

// AllowWriteAccess drops an executable mapping of i.
func AllowWriteAccess(i Inode) { adjust(i, 1) }

func adjust(i Inode, d int) {
	writeCounts.mu.Lock()
	defer writeCounts.mu.Unlock()
	writeCounts.m[i] += d
	if writeCounts.m[i] == 0 {
		delete(writeCounts.m, i)
	}
}
