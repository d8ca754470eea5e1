package syscalls

// futex(2): FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET and FUTEX_WAKE_BITSET on
// private and shared words (both keyed by address space for now, which is
// exact while no memory is shared between processes). Requeue, wake-op and
// PI operations return ENOSYS until threads arrive.

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

func registerFutex(t *Table) {
	t.add(unix.SYS_FUTEX, sysFutex, "pxupxx", 'd')
}

const (
	futexWait         = 0
	futexWake         = 1
	futexWaitBitset   = 9
	futexWakeBitset   = 10
	futexPrivate      = 128
	futexClockRealtim = 256
	futexCmdMask      = ^(futexPrivate | futexClockRealtim)
	futexBitsetAny    = 0xffffffff
)

// sysFutex implements futex(2).
func sysFutex(t *kernel.Task, a args) (uintptr, error) {
	addr, op, val := a[0], int(int32(a[1])), uint32(a[2])
	cmd := op & futexCmdMask
	if op&futexClockRealtim != 0 && cmd != futexWaitBitset {
		return 0, unix.ENOSYS
	}
	if addr&3 != 0 {
		return 0, unix.EINVAL
	}
	ft := t.Kernel().Futexes
	switch cmd {
	case futexWait, futexWaitBitset:
		bitset := uint32(futexBitsetAny)
		if cmd == futexWaitBitset {
			bitset = uint32(a[5])
			if bitset == 0 {
				return 0, unix.EINVAL
			}
		}
		var deadline time.Time
		if a[3] != 0 {
			var b [16]byte
			if _, err := t.CopyIn(a[3], b[:]); err != nil {
				return 0, err
			}
			sec, nsec := int64(binary.LittleEndian.Uint64(b[:])), int64(binary.LittleEndian.Uint64(b[8:]))
			if sec < 0 || nsec < 0 || nsec >= 1e9 {
				return 0, unix.EINVAL
			}
			d := time.Duration(sec)*time.Second + time.Duration(nsec)
			if cmd == futexWait {
				// FUTEX_WAIT's timeout is relative.
				deadline = time.Now().Add(d)
			} else {
				// FUTEX_WAIT_BITSET's is absolute, on CLOCK_MONOTONIC
				// or, with FUTEX_CLOCK_REALTIME, CLOCK_REALTIME.
				clock := int32(unix.CLOCK_MONOTONIC)
				if op&futexClockRealtim != 0 {
					clock = unix.CLOCK_REALTIME
				}
				now, _ := readHost(clock)
				deadline = time.Now().Add(time.Duration(sec*1e9 + nsec - now.Nano()))
			}
		}
		return 0, ft.Wait(t, addr, val, bitset, deadline)
	case futexWake, futexWakeBitset:
		bitset := uint32(futexBitsetAny)
		if cmd == futexWakeBitset {
			bitset = uint32(a[5])
			if bitset == 0 {
				return 0, unix.EINVAL
			}
		}
		n := int(int32(val))
		if n < 0 {
			n = 1 << 30
		}
		return uintptr(ft.Wake(t.MemoryManager(), addr, n, bitset)), nil
	}
	t.Kernel().Log.Info("futex operation not implemented", "op", cmd)
	return 0, unix.ENOSYS
}
