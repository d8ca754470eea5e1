package syscalls

// futex(2) on private words (keyed by address space and address) and shared
// ones (keyed by their page in the memory file, so processes sharing the
// memory meet).

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
	futexRequeue      = 3
	futexCmpRequeue   = 4
	futexWakeOp       = 5
	futexWaitBitset   = 9
	futexWakeBitset   = 10
	futexPrivate      = 128
	futexClockRealtim = 256
	futexCmdMask      = ^(futexPrivate | futexClockRealtim)
	futexBitsetAny    = 0xffffffff
)

// sysFutex implements futex(2): WAIT, WAKE, WAIT_BITSET, WAKE_BITSET,
// REQUEUE, CMP_REQUEUE and WAKE_OP. PI futexes are not implemented (ENOSYS).
func sysFutex(t *kernel.Task, a args) (uintptr, error) {
	addr, op, val := a[0], int(int32(a[1])), uint32(a[2])
	cmd := op & futexCmdMask
	private := op&futexPrivate != 0
	if op&futexClockRealtim != 0 && cmd != futexWaitBitset && cmd != futexWait {
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
		key, err := t.FutexKey(addr, private)
		if err != nil {
			return 0, err
		}
		err = ft.Wait(t, key, addr, val, bitset, deadline)
		if err == kernel.ErrInterrupted {
			return 0, kernel.ERestartSys
		}
		return 0, err
	case futexWake, futexWakeBitset:
		bitset := uint32(futexBitsetAny)
		if cmd == futexWakeBitset {
			bitset = uint32(a[5])
			if bitset == 0 {
				return 0, unix.EINVAL
			}
		}
		key, err := t.FutexKey(addr, private)
		if err != nil {
			return 0, err
		}
		return uintptr(ft.Wake(key, wakeCount(val), bitset)), nil
	case futexRequeue, futexCmpRequeue:
		if cmd == futexCmpRequeue {
			var b [4]byte
			if _, err := t.CopyIn(addr, b[:]); err != nil {
				return 0, err
			}
			if binary.LittleEndian.Uint32(b[:]) != uint32(a[5]) {
				return 0, unix.EAGAIN
			}
		}
		if a[4]&3 != 0 {
			return 0, unix.EINVAL
		}
		from, err := t.FutexKey(addr, private)
		if err != nil {
			return 0, err
		}
		to, err := t.FutexKey(a[4], private)
		if err != nil {
			return 0, err
		}
		return uintptr(ft.Requeue(from, to, wakeCount(val), wakeCount(uint32(a[3])))), nil
	case futexWakeOp:
		return futexWakeOpDo(t, addr, a[4], wakeCount(val), wakeCount(uint32(a[3])), uint32(a[5]), private)
	}
	t.Kernel().Log.Info("futex operation not implemented", "op", cmd)
	return 0, unix.ENOSYS
}

func wakeCount(v uint32) int {
	if int32(v) < 0 {
		return 1 << 30
	}
	return int(v)
}

// futexWakeOpDo implements FUTEX_WAKE_OP: *uaddr2 = op(*uaddr2, oparg);
// wake n on uaddr; if cmp(old, cmparg) wake n2 on uaddr2.
func futexWakeOpDo(t *kernel.Task, addr, addr2 uintptr, n, n2 int, encoded uint32, private bool) (uintptr, error) {
	if addr2&3 != 0 {
		return 0, unix.EINVAL
	}
	op := (encoded >> 28) & 0xf
	cmp := (encoded >> 24) & 0xf
	oparg := (encoded >> 12) & 0xfff
	cmparg := encoded & 0xfff
	if op&8 != 0 { // FUTEX_OP_OPARG_SHIFT
		oparg = 1 << (oparg & 31)
		op &^= 8
	}
	var b [4]byte
	if _, err := t.CopyIn(addr2, b[:]); err != nil {
		return 0, err
	}
	old := binary.LittleEndian.Uint32(b[:])
	var nv uint32
	switch op {
	case 0:
		nv = oparg
	case 1:
		nv = old + oparg
	case 2:
		nv = old | oparg
	case 3:
		nv = old &^ oparg
	case 4:
		nv = old ^ oparg
	default:
		return 0, unix.ENOSYS
	}
	binary.LittleEndian.PutUint32(b[:], nv)
	if _, err := t.CopyOut(addr2, b[:]); err != nil {
		return 0, err
	}
	ft := t.Kernel().Futexes
	k1, err := t.FutexKey(addr, private)
	if err != nil {
		return 0, err
	}
	k2, err := t.FutexKey(addr2, private)
	if err != nil {
		return 0, err
	}
	woken := ft.Wake(k1, n, futexBitsetAny)
	var ok bool
	switch cmp {
	case 0:
		ok = old == cmparg
	case 1:
		ok = old != cmparg
	case 2:
		ok = old < cmparg
	case 3:
		ok = old <= cmparg
	case 4:
		ok = old > cmparg
	case 5:
		ok = old >= cmparg
	default:
		return 0, unix.ENOSYS
	}
	if ok {
		woken += ft.Wake(k2, n2, futexBitsetAny)
	}
	return uintptr(woken), nil
}
