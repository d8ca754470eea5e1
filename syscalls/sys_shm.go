package syscalls

// System V shared memory: shmget(2), shmat(2), shmdt(2), shmctl(2), after
// shmget(2), shmop(2) and shmctl(2). The segments live in the kernel's
// sentry/kernel/shm registry; see its package comment for the departures
// from Linux. shmctl commands: IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO,
// SHM_INFO, SHM_STAT, SHM_STAT_ANY, SHM_LOCK, SHM_UNLOCK; the IPC_64 flag
// is not accepted (x86-64 has only the 64-bit layouts, and Linux answers
// EINVAL there too).

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
	"sbx/sentry/kernel/shm"
)

func registerShm(t *Table) {
	t.add(unix.SYS_SHMGET, sysShmget, "dux", 'd')
	t.add(unix.SYS_SHMAT, sysShmat, "dpx", 'x')
	t.add(unix.SYS_SHMDT, sysShmdt, "p", 'd')
	t.add(unix.SYS_SHMCTL, sysShmctl, "ddp", 'd')
}

// ipcCreds are the caller's credentials for IPC permission checks.
func ipcCreds(t *kernel.Task) shm.Creds {
	return shm.Creds{UID: t.Creds.EUID, GID: t.Creds.EGID, Groups: t.Creds.Groups, Privileged: t.Creds.EUID == 0}
}

// sysShmget implements shmget(2).
func sysShmget(t *kernel.Task, a args) (uintptr, error) {
	id, err := t.Kernel().Shm.Get(int32(a[0]), uint64(a[1]), int(int32(a[2])), ipcCreds(t), t.ThreadGroup().PID())
	return uintptr(id), err
}

// sysShmat implements shmat(2).
func sysShmat(t *kernel.Task, a args) (uintptr, error) {
	return t.Kernel().Shm.Attach(t.MemoryManager(), int(int32(a[0])), a[1], int(int32(a[2])), ipcCreds(t), t.ThreadGroup().PID())
}

// sysShmdt implements shmdt(2).
func sysShmdt(t *kernel.Task, a args) (uintptr, error) {
	return 0, t.Kernel().Shm.Detach(t.MemoryManager(), a[0], t.ThreadGroup().PID())
}

// Sizes of struct shmid64_ds, struct shminfo64 and struct shm_info.
const (
	shmidDSSize  = 112
	shminfoSize  = 72
	shmInfoSize  = 48
	ipcPermSize  = 48
	shmPermsMask = 0o777
)

// sysShmctl implements shmctl(2).
func sysShmctl(t *kernel.Task, a args) (uintptr, error) {
	id, cmd, buf := int(int32(a[0])), int(int32(a[1])), a[2]
	if id < 0 || cmd < 0 {
		return 0, unix.EINVAL
	}
	r := t.Kernel().Shm
	c := ipcCreds(t)
	le := binary.LittleEndian
	switch cmd {
	case shm.IPCStat, shm.ShmStat, shm.ShmStatAny:
		got, ds, err := r.Stat(id, cmd != shm.IPCStat, cmd == shm.ShmStatAny, c)
		if err != nil {
			return 0, err
		}
		var b [shmidDSSize]byte
		le.PutUint32(b[0:], uint32(ds.Key))
		le.PutUint32(b[4:], ds.UID)
		le.PutUint32(b[8:], ds.GID)
		le.PutUint32(b[12:], ds.CUID)
		le.PutUint32(b[16:], ds.CGID)
		le.PutUint32(b[20:], ds.Mode)
		le.PutUint16(b[24:], ds.Seq)
		le.PutUint64(b[48:], ds.Size)
		le.PutUint64(b[56:], uint64(ds.ATime))
		le.PutUint64(b[64:], uint64(ds.DTime))
		le.PutUint64(b[72:], uint64(ds.CTime))
		le.PutUint32(b[80:], uint32(ds.CPID))
		le.PutUint32(b[84:], uint32(ds.LPID))
		le.PutUint64(b[88:], ds.Nattch)
		if _, err := t.CopyOut(buf, b[:]); err != nil {
			return 0, err
		}
		if cmd == shm.IPCStat {
			return 0, nil
		}
		return uintptr(got), nil
	case shm.IPCSet:
		var b [ipcPermSize]byte
		if _, err := t.CopyIn(buf, b[:]); err != nil {
			return 0, err
		}
		return 0, r.Set(id, le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[20:])&shmPermsMask, c)
	case shm.IPCRmid:
		return 0, r.Remove(id, c)
	case shm.ShmLock, shm.ShmUnlock:
		return 0, r.SetLocked(id, cmd == shm.ShmLock, c)
	case shm.IPCInfo:
		_, maxIdx := r.Info()
		var b [shminfoSize]byte
		le.PutUint64(b[0:], shm.ShmMax)
		le.PutUint64(b[8:], shm.ShmMin)
		le.PutUint64(b[16:], shm.ShmMni)
		le.PutUint64(b[24:], shm.ShmSeg)
		le.PutUint64(b[32:], shm.ShmAll)
		if _, err := t.CopyOut(buf, b[:]); err != nil {
			return 0, err
		}
		return uintptr(maxIdx), nil
	case shm.ShmInfo:
		u, maxIdx := r.Info()
		var b [shmInfoSize]byte
		le.PutUint32(b[0:], uint32(u.UsedIDs))
		le.PutUint64(b[8:], u.TotalPages)
		le.PutUint64(b[16:], u.RSSPages)
		if _, err := t.CopyOut(buf, b[:]); err != nil {
			return 0, err
		}
		return uintptr(maxIdx), nil
	}
	return 0, unix.EINVAL
}
