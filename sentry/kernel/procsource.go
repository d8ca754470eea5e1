package kernel

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/procfs"
	"sbx/fs/signalfd"
	"sbx/fs/timerfd"
	"sbx/fs/vfs"
)

// Release and Version are what uname(2) and /proc report: the sandbox's own
// kernel, not the host's.
const (
	Release = "6.8.0-sbx"
	Version = "#1 SMP PREEMPT_DYNAMIC sbx"
)

// ProcSource returns the kernel as procfs sees it.
func (k *Kernel) ProcSource() procfs.Source { return procSource{k} }

// procSource implements procfs.Source.
type procSource struct{ k *Kernel }

func (s procSource) PIDs() []int {
	var pids []int
	for _, t := range s.k.Tasks() {
		if t.tg.leader == t {
			pids = append(pids, t.tg.pid)
		}
	}
	sort.Ints(pids)
	return pids
}

func (s procSource) Process(pid int) (procfs.Process, bool) {
	t, ok := s.k.Task(pid)
	if !ok || t.tg.leader != t {
		return nil, false
	}
	return procProcess{t}, true
}

func (s procSource) Thread(tid int) (procfs.Process, bool) {
	t, ok := s.k.Task(tid)
	if !ok {
		return nil, false
	}
	return procProcess{t}, true
}

func (s procSource) Self() (int, int) {
	t := s.k.Current()
	if t == nil {
		return 0, 0
	}
	return t.tg.pid, t.tid
}

func (s procSource) Uptime() time.Duration { return time.Since(s.k.StartTime) }

func (s procSource) Memory() (total, free uint64) {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		total = si.Totalram * uint64(si.Unit)
	}
	used := uint64(s.k.MemFile.Used())
	if used > total {
		return total, 0
	}
	return total, total - used
}

func (s procSource) NumCPU() int      { return runtime.NumCPU() }
func (s procSource) Hostname() string { return s.k.Hostname }
func (s procSource) Release() string  { return Release }
func (s procSource) Version() string  { return Version }

func (s procSource) Mounts() []procfs.MountInfo {
	v := s.k.VFS
	if v == nil {
		return nil
	}
	root := v.NS.Root()
	var out []procfs.MountInfo
	for _, m := range v.NS.Mounts() {
		target := "/"
		if m.Parent() != nil {
			target, _ = v.PathOf(root, m.MountPoint())
		}
		opts := "rw"
		if m.ReadOnly {
			opts = "ro"
		}
		if m.Options != "" {
			opts += "," + m.Options
		}
		out = append(out, procfs.MountInfo{Source: m.Source, Target: target, FSType: m.FSType, Options: opts})
	}
	return out
}

func (s procSource) Filesystems() []string {
	return []string{"sysfs", "tmpfs", "proc", "devtmpfs", "overlay", "9p"}
}

func (s procSource) LoadAvg() [3]float64 { return [3]float64{} }

func (s procSource) CPUTimes() (user, system, idle uint64) {
	for _, t := range s.k.Tasks() {
		user += uint64(t.CPUTime() / (time.Second / procfs.ClockTicks))
	}
	up := uint64(time.Since(s.k.StartTime)/(time.Second/procfs.ClockTicks)) * uint64(runtime.NumCPU())
	if up > user {
		idle = up - user
	}
	return user, 0, idle
}

func (s procSource) ProcessCount() (running, total int) {
	n := len(s.k.Tasks())
	return 1, n
}

// procProcess implements procfs.Process for one task.
type procProcess struct{ t *Task }

func (p procProcess) PID() int  { return p.t.tg.pid }
func (p procProcess) PPID() int { return 0 }
func (p procProcess) PGID() int { return p.t.tg.pid }
func (p procProcess) SID() int  { return p.t.tg.pid }

func (p procProcess) Comm() string { return p.t.name }

func (p procProcess) State() byte {
	if p.t.tg.Stopped() {
		return 'T'
	}
	if p.t.k.Current() == p.t {
		return 'R'
	}
	return 'S'
}

func (p procProcess) readRange(start, end uintptr) []byte {
	if end <= start || end-start > 1<<20 {
		return nil
	}
	b := make([]byte, end-start)
	n, _ := p.t.mm.CopyIn(start, b)
	return b[:n]
}

func (p procProcess) Cmdline() []byte {
	img := p.t.Image
	return p.readRange(img.ArgvStart, img.ArgvEnd)
}

func (p procProcess) Environ() []byte {
	img := p.t.Image
	return p.readRange(img.EnvvStart, img.EnvvEnd)
}

func (p procProcess) Auxv() []byte {
	var b []byte
	for _, v := range p.t.Image.Auxv {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func (p procProcess) Exe() string { return p.t.ExePath }

func (p procProcess) path(vd vfs.VirtualDentry) string {
	v := p.t.k.VFS
	if v == nil || !vd.Ok() {
		return "/"
	}
	s, _ := v.PathOf(p.t.k.VFS.NS.Root(), vd)
	return s
}

func (p procProcess) Cwd() string  { return p.path(p.t.tg.FS.Cwd()) }
func (p procProcess) Root() string { return p.path(p.t.tg.FS.Root()) }

func (p procProcess) UIDs() [4]uint32 {
	c := p.t.Creds
	return [4]uint32{c.RUID, c.EUID, c.SUID, c.EUID}
}

func (p procProcess) GIDs() [4]uint32 {
	c := p.t.Creds
	return [4]uint32{c.RGID, c.EGID, c.SGID, c.EGID}
}

func (p procProcess) Groups() []uint32 { return p.t.Creds.Groups }
func (p procProcess) Umask() uint32    { return p.t.tg.FS.Umask() }
func (p procProcess) Threads() []int   { return []int{p.t.tid} }
func (p procProcess) NumThreads() int  { return 1 }

func (p procProcess) Maps() []procfs.MapEntry {
	var out []procfs.MapEntry
	for _, m := range p.t.mm.Maps() {
		e := procfs.MapEntry{Start: uint64(m.Start), End: uint64(m.End), Perms: m.Perms, Path: m.Name}
		if m.Offset != 0 || (m.Name != "" && m.Name[0] == '/') {
			e.Offset = uint64(m.Offset)
		}
		out = append(out, e)
	}
	return out
}

func (p procProcess) VMSize() uint64 { v, _ := p.t.mm.Usage(); return v }
func (p procProcess) RSS() uint64    { _, r := p.t.mm.Usage(); return r }

func (p procProcess) FDs() []procfs.FDInfo {
	var out []procfs.FDInfo
	p.t.tg.FDTable.Each(func(fd int, f *vfs.FileDescription, cloexec bool) {
		flags := f.Flags()
		if cloexec {
			flags |= unix.O_CLOEXEC
		}
		pos, _ := f.Seek(0, unix.SEEK_CUR)
		out = append(out, procfs.FDInfo{FD: fd, Path: p.fdPath(f), Flags: flags, Pos: pos})
	})
	return out
}

// fdPath is what /proc/[pid]/fd/N reads as.
func (p procProcess) fdPath(f *vfs.FileDescription) string {
	if vd := f.VirtualDentry(); vd.Ok() {
		return p.path(vd)
	}
	switch f.Impl.(type) {
	case *signalfd.File:
		return "anon_inode:[signalfd]"
	case *timerfd.File:
		return "anon_inode:[timerfd]"
	}
	st, err := f.Impl.Stat()
	if err != nil {
		return "anon_inode:[unknown]"
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return fmt.Sprintf("pipe:[%d]", st.Ino)
	case unix.S_IFSOCK:
		return fmt.Sprintf("socket:[%d]", st.Ino)
	case unix.S_IFCHR:
		return "/dev/tty"
	}
	return fmt.Sprintf("host:[%d]", st.Ino)
}

func (p procProcess) StartTime() time.Duration { return p.t.startTime }
func (p procProcess) UTime() time.Duration     { return p.t.tg.liveUsage(p.t).UTime }
func (p procProcess) STime() time.Duration     { return p.t.tg.liveUsage(p.t).STime }

func (p procProcess) SigMasks() (pending, blocked, ignored, caught uint64) {
	for sig := 1; sig <= NumSignals; sig++ {
		a := p.t.tg.SigAction(sig, nil)
		switch a.Handler {
		case SigDfl:
		case SigIgn:
			ignored |= 1 << (sig - 1)
		default:
			caught |= 1 << (sig - 1)
		}
	}
	return p.t.Pending(), p.t.SigMask, ignored, caught
}
