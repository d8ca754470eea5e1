package kernel

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"sbx/sentry/mm"
)

// futexKey names a futex word: by address space and address, or for a word
// in shared memory by its place in the memory file (mm nil).
type futexKey struct {
	mm   *mm.MemoryManager
	addr uintptr
}

// FutexKey returns the key of the word at addr: shared futexes in shared
// mappings are keyed by memory-file offset so every process finds them.
func (t *Task) FutexKey(addr uintptr, private bool) (futexKey, error) {
	if !private {
		off, shared, err := t.mm.SharedOffset(addr)
		if err != nil {
			return futexKey{}, err
		}
		if shared {
			return futexKey{addr: uintptr(off)}, nil
		}
	}
	return futexKey{mm: t.mm, addr: addr}, nil
}

type futexWaiter struct {
	bitset uint32
	woken  chan struct{}
}

// FutexTable holds the tasks waiting on futex words.
//
// Lock order: FutexTable.mu before the memory manager's lock (the word is
// read under mu so a wake cannot slip between the check and the sleep).
type FutexTable struct {
	mu sync.Mutex // guards waiters
	// waiters are the queued waiters per word, oldest first.
	waiters map[futexKey][]*futexWaiter
}

// NewFutexTable returns an empty table.
func NewFutexTable() *FutexTable {
	return &FutexTable{waiters: make(map[futexKey][]*futexWaiter)}
}

// Wait implements FUTEX_WAIT(_BITSET): if the word at addr holds val, sleep
// until woken or until deadline (zero: none). It returns EAGAIN if the word
// differs, ETIMEDOUT on timeout.
func (f *FutexTable) Wait(t *Task, key futexKey, addr uintptr, val uint32, bitset uint32, deadline time.Time) error {
	m := t.mm
	w := &futexWaiter{bitset: bitset, woken: make(chan struct{})}
	f.mu.Lock()
	var b [4]byte
	if _, err := m.CopyIn(addr, b[:]); err != nil {
		f.mu.Unlock()
		return err
	}
	if binary.LittleEndian.Uint32(b[:]) != val {
		f.mu.Unlock()
		return unix.EAGAIN
	}
	f.waiters[key] = append(f.waiters[key], w)
	f.mu.Unlock()

	werr := t.Block(w.woken, deadline)
	if werr == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.waiters[key]
	for i, x := range q {
		if x == w {
			f.waiters[key] = append(q[:i:i], q[i+1:]...)
			if len(f.waiters[key]) == 0 {
				delete(f.waiters, key)
			}
			return werr
		}
	}
	return nil // woken just as the timer fired or the signal came
}

// Wake implements FUTEX_WAKE(_BITSET): wake up to n waiters whose bitset
// intersects bitset, and return how many were woken.
func (f *FutexTable) Wake(key futexKey, n int, bitset uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.waiters[key]
	woken := 0
	kept := q[:0]
	for _, w := range q {
		if woken < n && w.bitset&bitset != 0 {
			close(w.woken)
			woken++
			continue
		}
		kept = append(kept, w)
	}
	if len(kept) == 0 {
		delete(f.waiters, key)
	} else {
		f.waiters[key] = kept
	}
	return woken
}

// Requeue wakes up to n waiters on from and moves up to n2 others to to
// (FUTEX_REQUEUE / FUTEX_CMP_REQUEUE after the value check).
func (f *FutexTable) Requeue(from, to futexKey, n, n2 int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.waiters[from]
	woken, moved := 0, 0
	var kept []*futexWaiter
	for _, w := range q {
		switch {
		case woken < n:
			close(w.woken)
			woken++
		case moved < n2:
			f.waiters[to] = append(f.waiters[to], w)
			moved++
		default:
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		delete(f.waiters, from)
	} else {
		f.waiters[from] = kept
	}
	return woken + moved
}
