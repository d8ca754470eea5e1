package syscalls

// Credentials: getuid(2) family (in sys_process.go), getresuid(2),
// getresgid(2), setuid(2), setgid(2), setreuid(2), setregid(2),
// setresuid(2), setresgid(2), setfsuid(2), setfsgid(2), getgroups(2),
// setgroups(2). The rules are credentials(7)'s: an unprivileged task may
// only move between its real, effective and saved ids; root (CAP_SETUID,
// CAP_SETGID inside the sandbox) may set any. Capabilities are not modelled
// beyond "effective uid 0 holds them all".

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"sbx/sentry/kernel"
)

func registerCred(t *Table) {
	t.add(unix.SYS_GETRESUID, sysGetresuid, "ppp", 'd')
	t.add(unix.SYS_GETRESGID, sysGetresgid, "ppp", 'd')
	t.add(unix.SYS_SETUID, sysSetuid, "d", 'd')
	t.add(unix.SYS_SETGID, sysSetgid, "d", 'd')
	t.add(unix.SYS_SETREUID, sysSetreuid, "dd", 'd')
	t.add(unix.SYS_SETREGID, sysSetregid, "dd", 'd')
	t.add(unix.SYS_SETRESUID, sysSetresuid, "ddd", 'd')
	t.add(unix.SYS_SETRESGID, sysSetresgid, "ddd", 'd')
	t.add(unix.SYS_SETFSUID, sysSetfsuid, "d", 'd')
	t.add(unix.SYS_SETFSGID, sysSetfsgid, "d", 'd')
	t.add(unix.SYS_GETGROUPS, sysGetgroups, "dp", 'd')
	t.add(unix.SYS_SETGROUPS, sysSetgroups, "dp", 'd')
}

const noChange = ^uint32(0) // -1: leave the id as it is

func put3(t *kernel.Task, a args, v [3]uint32) error {
	for i := 0; i < 3; i++ {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], v[i])
		if _, err := t.CopyOut(a[i], b[:]); err != nil {
			return err
		}
	}
	return nil
}

func sysGetresuid(t *kernel.Task, a args) (uintptr, error) {
	c := t.Creds
	return 0, put3(t, a, [3]uint32{c.RUID, c.EUID, c.SUID})
}

func sysGetresgid(t *kernel.Task, a args) (uintptr, error) {
	c := t.Creds
	return 0, put3(t, a, [3]uint32{c.RGID, c.EGID, c.SGID})
}

// setres applies setresuid/setresgid rules to (r, e, s).
func setres(cur *[3]uint32, want [3]uint32, privileged bool) error {
	if !privileged {
		for _, w := range want {
			if w != noChange && w != cur[0] && w != cur[1] && w != cur[2] {
				return unix.EPERM
			}
		}
	}
	for i, w := range want {
		if w != noChange {
			cur[i] = w
		}
	}
	return nil
}

func uids(t *kernel.Task) [3]uint32 { c := t.Creds; return [3]uint32{c.RUID, c.EUID, c.SUID} }
func gids(t *kernel.Task) [3]uint32 { c := t.Creds; return [3]uint32{c.RGID, c.EGID, c.SGID} }

func setUIDs(t *kernel.Task, v [3]uint32) {
	t.Creds.RUID, t.Creds.EUID, t.Creds.SUID = v[0], v[1], v[2]
}

func setGIDs(t *kernel.Task, v [3]uint32) {
	t.Creds.RGID, t.Creds.EGID, t.Creds.SGID = v[0], v[1], v[2]
}

func sysSetresuid(t *kernel.Task, a args) (uintptr, error) {
	cur := uids(t)
	if err := setres(&cur, [3]uint32{uint32(a[0]), uint32(a[1]), uint32(a[2])}, privileged(t)); err != nil {
		return 0, err
	}
	setUIDs(t, cur)
	return 0, nil
}

func sysSetresgid(t *kernel.Task, a args) (uintptr, error) {
	cur := gids(t)
	if err := setres(&cur, [3]uint32{uint32(a[0]), uint32(a[1]), uint32(a[2])}, privileged(t)); err != nil {
		return 0, err
	}
	setGIDs(t, cur)
	return 0, nil
}

// sysSetuid implements setuid(2): root sets all three ids; others only the
// effective one, to the real or saved id.
func sysSetuid(t *kernel.Task, a args) (uintptr, error) {
	id := uint32(a[0])
	if id == noChange {
		return 0, unix.EINVAL
	}
	cur := uids(t)
	if privileged(t) {
		setUIDs(t, [3]uint32{id, id, id})
		return 0, nil
	}
	if id != cur[0] && id != cur[2] {
		return 0, unix.EPERM
	}
	t.Creds.EUID = id
	return 0, nil
}

// sysSetgid implements setgid(2).
func sysSetgid(t *kernel.Task, a args) (uintptr, error) {
	id := uint32(a[0])
	if id == noChange {
		return 0, unix.EINVAL
	}
	cur := gids(t)
	if privileged(t) {
		setGIDs(t, [3]uint32{id, id, id})
		return 0, nil
	}
	if id != cur[0] && id != cur[2] {
		return 0, unix.EPERM
	}
	t.Creds.EGID = id
	return 0, nil
}

// setre implements setreuid/setregid: the saved id follows the effective
// one when the real id is set or the effective id differs from the old
// real id.
func setre(cur [3]uint32, r, e uint32, priv bool) ([3]uint32, error) {
	n := cur
	if r != noChange {
		if !priv && r != cur[0] && r != cur[1] {
			return cur, unix.EPERM
		}
		n[0] = r
	}
	if e != noChange {
		if !priv && e != cur[0] && e != cur[1] && e != cur[2] {
			return cur, unix.EPERM
		}
		n[1] = e
	}
	if r != noChange || (e != noChange && e != cur[0]) {
		n[2] = n[1]
	}
	return n, nil
}

func sysSetreuid(t *kernel.Task, a args) (uintptr, error) {
	n, err := setre(uids(t), uint32(a[0]), uint32(a[1]), privileged(t))
	if err != nil {
		return 0, err
	}
	setUIDs(t, n)
	return 0, nil
}

func sysSetregid(t *kernel.Task, a args) (uintptr, error) {
	n, err := setre(gids(t), uint32(a[0]), uint32(a[1]), privileged(t))
	if err != nil {
		return 0, err
	}
	setGIDs(t, n)
	return 0, nil
}

// sysSetfsuid implements setfsuid(2): the filesystem id follows the
// effective id here, so this reports the current one and changes nothing
// unless the new id is the effective id (a departure; see credentials(7)).
func sysSetfsuid(t *kernel.Task, a args) (uintptr, error) { return uintptr(t.Creds.EUID), nil }

// sysSetfsgid implements setfsgid(2), with setfsuid's departure.
func sysSetfsgid(t *kernel.Task, a args) (uintptr, error) { return uintptr(t.Creds.EGID), nil }

// ngroupsMax is NGROUPS_MAX.
const ngroupsMax = 65536

// sysGetgroups implements getgroups(2).
func sysGetgroups(t *kernel.Task, a args) (uintptr, error) {
	size := int(int32(a[0]))
	g := t.Creds.Groups
	if size < 0 {
		return 0, unix.EINVAL
	}
	if size == 0 {
		return uintptr(len(g)), nil
	}
	if size < len(g) {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*len(g))
	for i, x := range g {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	_, err := t.CopyOut(a[1], b)
	return uintptr(len(g)), err
}

// sysSetgroups implements setgroups(2).
func sysSetgroups(t *kernel.Task, a args) (uintptr, error) {
	size := int(int32(a[0]))
	if size < 0 || size > ngroupsMax {
		return 0, unix.EINVAL
	}
	if !privileged(t) {
		return 0, unix.EPERM
	}
	b := make([]byte, 4*size)
	if _, err := t.CopyIn(a[1], b); err != nil {
		return 0, err
	}
	g := make([]uint32, size)
	for i := range g {
		g[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	t.Creds.Groups = g
	return 0, nil
}
