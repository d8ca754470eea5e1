package procfs

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// rootSpec describes /proc: fixed entries, then a directory per process.
func rootSpec() *dirSpec {
	sysFile := func(name string, read func(t *target) ([]byte, error)) entry {
		return entry{name: name, mode: unix.S_IFREG | 0o444, read: read, writeErr: unix.EACCES}
	}
	sysConst := func(name, s string) entry {
		return sysFile(name, func(*target) ([]byte, error) { return []byte(s + "\n"), nil })
	}
	sys := &dirSpec{entries: []entry{
		{name: "kernel", mode: unix.S_IFDIR | 0o555, dir: &dirSpec{entries: []entry{
			sysFile("hostname", func(t *target) ([]byte, error) { return []byte(t.fs.src.Hostname() + "\n"), nil }),
			sysFile("osrelease", func(t *target) ([]byte, error) { return []byte(t.fs.src.Release() + "\n"), nil }),
			sysConst("ostype", "Linux"),
			sysConst("pid_max", "4194304"),
		}}},
		{name: "vm", mode: unix.S_IFDIR | 0o555, dir: &dirSpec{entries: []entry{
			sysConst("overcommit_memory", "0"),
		}}},
	}}
	file := func(name string, read func(t *target) ([]byte, error)) entry {
		return entry{name: name, mode: unix.S_IFREG | 0o444, read: read, writeErr: unix.EIO}
	}
	return &dirSpec{
		entries: []entry{
			{name: "self", mode: unix.S_IFLNK | 0o777, link: func(t *target) (string, error) {
				pid, _ := t.fs.src.Self()
				if pid <= 0 {
					return "", unix.ENOENT
				}
				return strconv.Itoa(pid), nil
			}},
			{name: "thread-self", mode: unix.S_IFLNK | 0o777, link: func(t *target) (string, error) {
				pid, tid := t.fs.src.Self()
				if pid <= 0 || tid <= 0 {
					return "", unix.ENOENT
				}
				return fmt.Sprintf("%d/task/%d", pid, tid), nil
			}},
			{name: "mounts", mode: unix.S_IFLNK | 0o777, linkSize: int64(len("self/mounts")),
				link: func(*target) (string, error) { return "self/mounts", nil }},
			file("cpuinfo", renderCPUInfo),
			file("filesystems", renderFilesystems),
			file("loadavg", renderLoadAvg),
			file("meminfo", renderMeminfo),
			file("stat", renderStat),
			file("uptime", renderUptime),
			file("version", func(t *target) ([]byte, error) {
				return fmt.Appendf(nil, "Linux version %s (sbx) %s\n", t.fs.src.Release(), t.fs.src.Version()), nil
			}),
			{name: "sys", mode: unix.S_IFDIR | 0o555, dir: sys},
		},
		gen: pidGen{},
	}
}

// parseID parses a directory name that is a pid, tid or fd: decimal
// digits without a leading zero, as Linux accepts them.
func parseID(name string) (int, bool) {
	if name == "" || len(name) > 10 || (name[0] == '0' && len(name) > 1) {
		return 0, false
	}
	for _, c := range name {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(name)
	return n, err == nil && n <= 1<<31-1
}

// pidGen makes /proc's process directories.
type pidGen struct{}

func (pidGen) list(d *dirNode, t *target) ([]vfs.Dirent, error) {
	pids := t.fs.src.PIDs()
	out := make([]vfs.Dirent, 0, len(pids))
	for _, pid := range pids {
		name := strconv.Itoa(pid)
		out = append(out, vfs.Dirent{Name: name, Ino: inoOf("/" + name), Type: unix.DT_DIR})
	}
	return out, nil
}

func (pidGen) lookup(d *dirNode, t *target, name string) (vfs.Inode, error) {
	pid, ok := parseID(name)
	if !ok || pid == 0 {
		return nil, unix.ENOENT
	}
	if _, ok := t.fs.src.Process(pid); !ok {
		return nil, unix.ENOENT
	}
	return &dirNode{node: d.newNode(name, unix.S_IFDIR|0o555, scope{pid: pid}), spec: t.fs.procSpec}, nil
}

// kb renders a /proc/meminfo line: the name padded to 16 columns, the
// value in kB right-aligned in 8.
func kb(b *bytes.Buffer, name string, n uint64) {
	fmt.Fprintf(b, "%-16s%8d kB\n", name+":", n/1024)
}

func renderMeminfo(t *target) ([]byte, error) {
	total, free := t.fs.src.Memory()
	if free > total {
		free = total
	}
	used := total - free
	var b bytes.Buffer
	// Memory in use is all anonymous, active and committed: the sandbox
	// has no page cache, buffers or swap of its own.
	for _, l := range []struct {
		name string
		v    uint64
	}{
		{"MemTotal", total}, {"MemFree", free}, {"MemAvailable", free},
		{"Buffers", 0}, {"Cached", 0}, {"SwapCached", 0},
		{"Active", used}, {"Inactive", 0},
		{"Active(anon)", used}, {"Inactive(anon)", 0}, {"Active(file)", 0}, {"Inactive(file)", 0},
		{"Unevictable", 0}, {"Mlocked", 0},
		{"SwapTotal", 0}, {"SwapFree", 0},
		{"Dirty", 0}, {"Writeback", 0},
		{"AnonPages", used}, {"Mapped", 0}, {"Shmem", 0},
		{"KReclaimable", 0}, {"Slab", 0}, {"SReclaimable", 0}, {"SUnreclaim", 0},
		{"KernelStack", 0}, {"PageTables", 0},
		{"CommitLimit", total / 2}, {"Committed_AS", used},
		{"VmallocTotal", 34359738367 * 1024}, {"VmallocUsed", 0}, {"VmallocChunk", 0},
	} {
		kb(&b, l.name, l.v)
	}
	for _, n := range []string{"HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp"} {
		fmt.Fprintf(&b, "%-16s%8d\n", n+":", 0)
	}
	kb(&b, "Hugepagesize", 2<<20)
	return b.Bytes(), nil
}

// cpuFlags is a conservative x86-64 feature list (the baseline every
// x86-64 CPU has); the real CPUID is not visible here.
const cpuFlags = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 " +
	"clflush mmx fxsr sse sse2 syscall nx lm rep_good nopl cpuid pni cx16 hypervisor"

func renderCPUInfo(t *target) ([]byte, error) {
	n := max(t.fs.src.NumCPU(), 1)
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "processor\t: %d\n", i)
		b.WriteString("vendor_id\t: GenuineIntel\n")
		b.WriteString("cpu family\t: 6\n")
		b.WriteString("model\t\t: 0\n")
		b.WriteString("model name\t: sbx virtual CPU\n")
		b.WriteString("stepping\t: 0\n")
		b.WriteString("microcode\t: 0x1\n")
		b.WriteString("cpu MHz\t\t: 2000.000\n")
		b.WriteString("cache size\t: 8192 KB\n")
		b.WriteString("physical id\t: 0\n")
		fmt.Fprintf(&b, "siblings\t: %d\n", n)
		fmt.Fprintf(&b, "core id\t\t: %d\n", i)
		fmt.Fprintf(&b, "cpu cores\t: %d\n", n)
		fmt.Fprintf(&b, "apicid\t\t: %d\n", i)
		fmt.Fprintf(&b, "initial apicid\t: %d\n", i)
		b.WriteString("fpu\t\t: yes\n")
		b.WriteString("fpu_exception\t: yes\n")
		b.WriteString("cpuid level\t: 13\n")
		b.WriteString("wp\t\t: yes\n")
		b.WriteString("flags\t\t: " + cpuFlags + "\n")
		b.WriteString("bugs\t\t:\n")
		b.WriteString("bogomips\t: 4000.00\n")
		b.WriteString("clflush size\t: 64\n")
		b.WriteString("cache_alignment\t: 64\n")
		b.WriteString("address sizes\t: 46 bits physical, 48 bits virtual\n")
		b.WriteString("power management:\n\n")
	}
	return b.Bytes(), nil
}

// share returns CPU i's part of v when v is split as evenly as possible
// over n CPUs.
func share(v uint64, i, n int) uint64 {
	s := v / uint64(n)
	if uint64(i) < v%uint64(n) {
		s++
	}
	return s
}

// lastPID is the highest live pid, standing for the last pid allocated.
func lastPID(src Source) int {
	pids := src.PIDs()
	if len(pids) == 0 {
		return 0
	}
	return pids[len(pids)-1]
}

func renderStat(t *target) ([]byte, error) {
	src := t.fs.src
	n := max(src.NumCPU(), 1)
	user, system, idle := src.CPUTimes()
	var b bytes.Buffer
	// user nice system idle iowait irq softirq steal guest guest_nice
	fmt.Fprintf(&b, "cpu  %d 0 %d %d 0 0 0 0 0 0\n", user, system, idle)
	for i := range n {
		fmt.Fprintf(&b, "cpu%d %d 0 %d %d 0 0 0 0 0 0\n", i, share(user, i, n), share(system, i, n), share(idle, i, n))
	}
	running, _ := src.ProcessCount()
	b.WriteString("intr 0\nctxt 0\n")
	fmt.Fprintf(&b, "btime %d\n", t.fs.bootTime().Unix())
	fmt.Fprintf(&b, "processes %d\n", lastPID(src))
	fmt.Fprintf(&b, "procs_running %d\nprocs_blocked 0\n", running)
	b.WriteString("softirq 0 0 0 0 0 0 0 0 0 0 0\n")
	return b.Bytes(), nil
}

func renderUptime(t *target) ([]byte, error) {
	_, _, idle := t.fs.src.CPUTimes()
	return fmt.Appendf(nil, "%.2f %.2f\n", t.fs.src.Uptime().Seconds(), float64(idle)/ClockTicks), nil
}

func renderLoadAvg(t *target) ([]byte, error) {
	src := t.fs.src
	l := src.LoadAvg()
	running, total := src.ProcessCount()
	return fmt.Appendf(nil, "%.2f %.2f %.2f %d/%d %d\n", l[0], l[1], l[2], running, total, lastPID(src)), nil
}

// blockFS are filesystem types that need a block device; /proc/filesystems
// marks every other type "nodev".
var blockFS = map[string]bool{
	"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true, "vfat": true,
	"msdos": true, "exfat": true, "iso9660": true, "udf": true, "f2fs": true, "jfs": true,
	"reiserfs": true, "ntfs": true, "ntfs3": true, "fuseblk": true, "squashfs": true,
	"erofs": true, "minix": true, "hfs": true, "hfsplus": true,
}

func renderFilesystems(t *target) ([]byte, error) {
	var b bytes.Buffer
	for _, fs := range t.fs.src.Filesystems() {
		if blockFS[fs] {
			fmt.Fprintf(&b, "\t%s\n", fs)
		} else {
			fmt.Fprintf(&b, "nodev\t%s\n", fs)
		}
	}
	return b.Bytes(), nil
}

// mangle escapes space, tab, newline and backslash as octal, as the mount
// tables of Linux do.
func mangle(s string) string {
	if !strings.ContainsAny(s, " \t\n\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func mountSource(m MountInfo) string {
	if m.Source == "" {
		return "none"
	}
	return mangle(m.Source)
}

func mountOptions(m MountInfo) string {
	if m.Options == "" {
		return "rw"
	}
	return m.Options
}

// renderMounts is /proc/[pid]/mounts (and /proc/mounts through self).
func renderMounts(t *target) ([]byte, error) {
	var b bytes.Buffer
	for _, m := range t.fs.src.Mounts() {
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", mountSource(m), mangle(m.Target), mangle(m.FSType), mountOptions(m))
	}
	return b.Bytes(), nil
}

// perMount are the options mountinfo shows as the mount's own; the others
// belong to the filesystem (the super options).
var perMount = map[string]bool{
	"nosuid": true, "nodev": true, "noexec": true, "relatime": true, "noatime": true,
	"nodiratime": true, "strictatime": true, "nosymfollow": true,
}

// splitOptions splits an option string into mountinfo's mount options and
// super options; both start with ro or rw.
func splitOptions(opts string) (mnt, super string) {
	access := "rw"
	var m, s []string
	for _, o := range strings.Split(opts, ",") {
		switch {
		case o == "":
		case o == "ro" || o == "rw":
			access = o
		case perMount[o]:
			m = append(m, o)
		default:
			s = append(s, o)
		}
	}
	return strings.Join(append([]string{access}, m...), ","), strings.Join(append([]string{access}, s...), ",")
}

// isUnder reports whether path p is dir or inside it.
func isUnder(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// renderMountInfo is /proc/[pid]/mountinfo (proc(5)): mount ids are
// 2, 3, ... in mount order; the root's parent is 1, which is not listed; a
// mount's parent is the latest earlier mount its target lies in.
func renderMountInfo(t *target) ([]byte, error) {
	ms := t.fs.src.Mounts()
	var b bytes.Buffer
	for i, m := range ms {
		parent := 1
		if i > 0 {
			parent = 2
			for j := i - 1; j >= 0; j-- {
				if isUnder(m.Target, ms[j].Target) {
					parent = j + 2
					break
				}
			}
		}
		major, minor := uint32(0), uint32(1000+i)
		if m.Dev != 0 {
			major, minor = unix.Major(m.Dev), unix.Minor(m.Dev)
		}
		mnt, super := splitOptions(mountOptions(m))
		fmt.Fprintf(&b, "%d %d %d:%d / %s %s - %s %s %s\n",
			i+2, parent, major, minor, mangle(m.Target), mnt, mangle(m.FSType), mountSource(m), super)
	}
	return b.Bytes(), nil
}
