package procfs

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// pidSpec describes /proc/[pid] (thread false) or /proc/[pid]/task/[tid]
// (thread true, which has no task/ of its own).
func pidSpec(thread bool) *dirSpec {
	file := func(name string, perm uint32, read func(t *target) ([]byte, error)) entry {
		return entry{name: name, mode: unix.S_IFREG | perm, read: read, writeErr: unix.EINVAL}
	}
	raw := func(get func(p Process) []byte) func(t *target) ([]byte, error) {
		return func(t *target) ([]byte, error) { return bytes.Clone(get(t.p)), nil }
	}
	link := func(name string, get func(p Process) string) entry {
		return entry{name: name, mode: unix.S_IFLNK | 0o777, link: func(t *target) (string, error) { return get(t.p), nil }}
	}
	es := []entry{
		file("auxv", 0o400, raw(Process.Auxv)),
		file("cmdline", 0o444, raw(Process.Cmdline)),
		file("comm", 0o444, func(t *target) ([]byte, error) { return []byte(t.p.Comm() + "\n"), nil }),
		link("cwd", Process.Cwd),
		file("environ", 0o400, raw(Process.Environ)),
		link("exe", Process.Exe),
		{name: "fd", mode: unix.S_IFDIR | 0o500, dir: &dirSpec{gen: fdGen{}}},
		{name: "fdinfo", mode: unix.S_IFDIR | 0o555, dir: &dirSpec{gen: fdGen{info: true}}},
		file("maps", 0o444, renderMaps),
		file("mountinfo", 0o444, renderMountInfo),
		file("mounts", 0o444, renderMounts),
		link("root", Process.Root),
		file("stat", 0o444, renderPidStat),
		file("statm", 0o444, renderStatm),
		file("status", 0o444, renderStatus),
	}
	if !thread {
		es = append(es, entry{name: "task", mode: unix.S_IFDIR | 0o555, dir: &dirSpec{
			gen:   taskGen{},
			nlink: func(t *target) uint32 { return 2 + uint32(t.p.NumThreads()) },
		}})
	}
	return &dirSpec{entries: es}
}

// taskGen makes /proc/[pid]/task's thread directories.
type taskGen struct{}

func (taskGen) list(d *dirNode, t *target) ([]vfs.Dirent, error) {
	tids := t.p.Threads()
	out := make([]vfs.Dirent, 0, len(tids))
	for _, tid := range tids {
		name := strconv.Itoa(tid)
		out = append(out, vfs.Dirent{Name: name, Ino: inoOf(d.path + "/" + name), Type: unix.DT_DIR})
	}
	return out, nil
}

func (taskGen) lookup(d *dirNode, t *target, name string) (vfs.Inode, error) {
	tid, ok := parseID(name)
	if !ok || !slices.Contains(t.p.Threads(), tid) {
		return nil, unix.ENOENT
	}
	return &dirNode{node: d.newNode(name, unix.S_IFDIR|0o555, scope{pid: t.pid, tid: tid}), spec: t.fs.threadSpec}, nil
}

// fdGen makes the entries of fd/ (symlinks) or fdinfo/ (files).
type fdGen struct{ info bool }

func findFD(p Process, fd int) (FDInfo, bool) {
	for _, f := range p.FDs() {
		if f.FD == fd {
			return f, true
		}
	}
	return FDInfo{}, false
}

// fdLinkMode is the mode Linux gives fd/N: owner r-x if the file is
// readable, -wx if writable.
func fdLinkMode(flags int) uint32 {
	m := uint32(unix.S_IFLNK)
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		m |= 0o500
	case unix.O_WRONLY:
		m |= 0o300
	case unix.O_RDWR:
		m |= 0o700
	}
	return m
}

func (g fdGen) list(d *dirNode, t *target) ([]vfs.Dirent, error) {
	fds := t.p.FDs()
	slices.SortFunc(fds, func(a, b FDInfo) int { return a.FD - b.FD })
	typ := uint8(unix.DT_LNK)
	if g.info {
		typ = unix.DT_REG
	}
	out := make([]vfs.Dirent, 0, len(fds))
	for _, f := range fds {
		name := strconv.Itoa(f.FD)
		out = append(out, vfs.Dirent{Name: name, Ino: inoOf(d.path + "/" + name), Type: typ})
	}
	return out, nil
}

func (g fdGen) lookup(d *dirNode, t *target, name string) (vfs.Inode, error) {
	fd, ok := parseID(name)
	if !ok {
		return nil, unix.ENOENT
	}
	f, ok := findFD(t.p, fd)
	if !ok {
		return nil, unix.ENOENT
	}
	if g.info {
		n := d.newNode(name, unix.S_IFREG|0o444, d.sc)
		n.live = func(t *target) (uint32, error) {
			if _, ok := findFD(t.p, fd); !ok {
				return 0, unix.ENOENT
			}
			return unix.S_IFREG | 0o444, nil
		}
		return &fileNode{node: n, writeErr: unix.EINVAL, read: func(t *target) ([]byte, error) {
			f, ok := findFD(t.p, fd)
			if !ok {
				return nil, unix.ENOENT
			}
			return fmt.Appendf(nil, "pos:\t%d\nflags:\t0%o\nmnt_id:\t0\nino:\t0\n", f.Pos, f.Flags), nil
		}}, nil
	}
	n := d.newNode(name, fdLinkMode(f.Flags), d.sc)
	n.live = func(t *target) (uint32, error) {
		f, ok := findFD(t.p, fd)
		if !ok {
			return 0, unix.ENOENT
		}
		return fdLinkMode(f.Flags), nil
	}
	return &linkNode{node: n, size: 64, target: func(t *target) (string, error) {
		f, ok := findFD(t.p, fd)
		if !ok {
			return "", unix.ENOENT
		}
		return f.Path, nil
	}}, nil
}

// ticks converts a duration to clock ticks.
func ticks[D ~int64](d D) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d) / (1e9 / ClockTicks)
}

const pageSize = 4096

// renderPidStat is /proc/[pid]/stat: the 52 fields of proc(5), in order.
func renderPidStat(t *target) ([]byte, error) {
	p := t.p
	pending, blocked, ignored, caught := p.SigMasks()
	exitSignal := 17 // SIGCHLD
	if t.tid != 0 && t.tid != t.pid {
		exitSignal = -1 // threads other than the leader
	}
	f := []any{
		t.id(),                  // 1 pid
		"(" + p.Comm() + ")",    // 2 comm
		string(rune(p.State())), // 3 state
		p.PPID(),                // 4 ppid
		p.PGID(),                // 5 pgrp
		p.SID(),                 // 6 session
		0,                       // 7 tty_nr
		-1,                      // 8 tpgid: no controlling terminal
		0,                       // 9 flags
		0, 0, 0, 0,              // 10-13 minflt cminflt majflt cmajflt
		ticks(p.UTime()), // 14 utime
		ticks(p.STime()), // 15 stime
		0, 0,             // 16-17 cutime cstime
		20, 0, // 18-19 priority nice
		p.NumThreads(),       // 20 num_threads
		0,                    // 21 itrealvalue
		ticks(p.StartTime()), // 22 starttime
		p.VMSize(),           // 23 vsize
		p.RSS() / pageSize,   // 24 rss
		uint64(1<<64 - 1),    // 25 rsslim: RLIM_INFINITY
		0, 0, 0, 0, 0,        // 26-30 startcode endcode startstack kstkesp kstkeip
		pending, blocked, // 31-32 signal blocked
		ignored, caught, // 33-34 sigignore sigcatch
		0, 0, 0, // 35-37 wchan nswap cnswap
		exitSignal, // 38 exit_signal
		0, 0, 0,    // 39-41 processor rt_priority policy
		0, 0, 0, // 42-44 delayacct_blkio_ticks guest_time cguest_time
		0, 0, 0, 0, 0, 0, 0, 0, // 45-52 start_data end_data start_brk arg_start arg_end env_start env_end exit_code
	}
	var b bytes.Buffer
	for i, v := range f {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, v)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// renderStatm is /proc/[pid]/statm: size resident shared text lib data dt,
// in pages; what is not tracked is 0.
func renderStatm(t *target) ([]byte, error) {
	return fmt.Appendf(nil, "%d %d 0 0 0 0 0\n", t.p.VMSize()/pageSize, t.p.RSS()/pageSize), nil
}

// renderMaps is /proc/[pid]/maps. Each line is
// "start-end perms offset dev inode " (addresses at least 8 hex digits);
// a named mapping pads that to 72 columns and adds a space and the path,
// so paths line up in column 73.
func renderMaps(t *target) ([]byte, error) {
	var b bytes.Buffer
	for _, m := range t.p.Maps() {
		dev := m.Dev
		if dev == "" {
			dev = "00:00"
		}
		start := b.Len()
		fmt.Fprintf(&b, "%08x-%08x %s %08x %s %d ", m.Start, m.End, m.Perms, m.Offset, dev, m.Inode)
		if m.Path != "" {
			if n := b.Len() - start; n < 72 {
				b.WriteString(strings.Repeat(" ", 72-n))
			}
			b.WriteByte(' ')
			b.WriteString(m.Path)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

var stateNames = map[byte]string{
	'R': "running", 'S': "sleeping", 'D': "disk sleep", 'T': "stopped", 't': "tracing stop",
	'X': "dead", 'Z': "zombie", 'P': "parked", 'I': "idle",
}

func stateName(s byte) string {
	if n, ok := stateNames[s]; ok {
		return fmt.Sprintf("%c (%s)", s, n)
	}
	return fmt.Sprintf("%c (unknown)", s)
}

// escapeName escapes a command name for status: backslash and newline.
func escapeName(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// fdSize is the size of the FD table Linux would have grown to: a power of
// two holding the highest descriptor, at least 64.
func fdSize(fds []FDInfo) int {
	hi := 0
	for _, f := range fds {
		hi = max(hi, f.FD+1)
	}
	n := 64
	for n < hi {
		n *= 2
	}
	return n
}

// cpuMask renders a bitmap of n set bits as Linux does: hex in 32-bit
// groups separated by commas, the first group only as wide as needed.
func cpuMask(n int) string {
	n = max(n, 1)
	full := (n - 1) / 32 // 32-bit groups below the first
	top := n - 32*full
	return fmt.Sprintf("%0*x", (top+3)/4, uint64(1)<<top-1) + strings.Repeat(",ffffffff", full)
}

// cpuList renders CPUs 0..n-1 as a list: "0" or "0-3".
func cpuList(n int) string {
	if n <= 1 {
		return "0"
	}
	return fmt.Sprintf("0-%d", n-1)
}

// allCaps is every capability up to CAP_CHECKPOINT_RESTORE (40).
const allCaps = uint64(1)<<41 - 1

func renderStatus(t *target) ([]byte, error) {
	p := t.p
	var b bytes.Buffer
	fmt.Fprintf(&b, "Name:\t%s\n", escapeName(p.Comm()))
	fmt.Fprintf(&b, "Umask:\t%04o\n", p.Umask())
	fmt.Fprintf(&b, "State:\t%s\n", stateName(p.State()))
	fmt.Fprintf(&b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", p.PID(), t.id(), p.PPID())
	u, g := p.UIDs(), p.GIDs()
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\n", u[0], u[1], u[2], u[3])
	fmt.Fprintf(&b, "Gid:\t%d\t%d\t%d\t%d\n", g[0], g[1], g[2], g[3])
	fmt.Fprintf(&b, "FDSize:\t%d\n", fdSize(p.FDs()))
	b.WriteString("Groups:\t")
	for i, gid := range p.Groups() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, gid)
	}
	b.WriteString(" \n")
	fmt.Fprintf(&b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", p.PID(), t.id(), p.PGID(), p.SID())
	vm, rss := p.VMSize()/1024, p.RSS()/1024
	fmt.Fprintf(&b, "VmPeak:\t%8d kB\nVmSize:\t%8d kB\nVmRSS:\t%8d kB\n", vm, vm, rss)
	fmt.Fprintf(&b, "Threads:\t%d\n", p.NumThreads())
	b.WriteString("SigQ:\t0/0\n")
	own, _, _, _ := t.thread().SigMasks()
	shared, _, _, _ := t.group().SigMasks()
	_, blocked, ignored, caught := p.SigMasks()
	fmt.Fprintf(&b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		own, shared, blocked, ignored, caught)
	var caps uint64
	if u[1] == 0 {
		caps = allCaps
	}
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
		0, caps, caps, allCaps, 0)
	b.WriteString("NoNewPrivs:\t0\nSeccomp:\t0\n")
	n := t.fs.src.NumCPU()
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", cpuMask(n), cpuList(n))
	b.WriteString("voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n")
	return b.Bytes(), nil
}
