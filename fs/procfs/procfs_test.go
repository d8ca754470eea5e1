package procfs

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// fakeProc is a process or thread snapshot.
type fakeProc struct {
	pid, ppid, pgid, sid   int
	comm                   string
	state                  byte
	cmdline, environ, auxv []byte
	exe, cwd, root         string
	uids, gids             [4]uint32
	groups                 []uint32
	umask                  uint32
	threads                []int
	maps                   []MapEntry
	vmsize, rss            uint64
	fds                    []FDInfo
	start, utime, stime    time.Duration
	sig                    [4]uint64
}

func (p *fakeProc) PID() int                      { return p.pid }
func (p *fakeProc) PPID() int                     { return p.ppid }
func (p *fakeProc) PGID() int                     { return p.pgid }
func (p *fakeProc) SID() int                      { return p.sid }
func (p *fakeProc) Comm() string                  { return p.comm }
func (p *fakeProc) State() byte                   { return p.state }
func (p *fakeProc) Cmdline() []byte               { return p.cmdline }
func (p *fakeProc) Environ() []byte               { return p.environ }
func (p *fakeProc) Auxv() []byte                  { return p.auxv }
func (p *fakeProc) Exe() string                   { return p.exe }
func (p *fakeProc) Cwd() string                   { return p.cwd }
func (p *fakeProc) Root() string                  { return p.root }
func (p *fakeProc) UIDs() [4]uint32               { return p.uids }
func (p *fakeProc) GIDs() [4]uint32               { return p.gids }
func (p *fakeProc) Groups() []uint32              { return p.groups }
func (p *fakeProc) Umask() uint32                 { return p.umask }
func (p *fakeProc) Threads() []int                { return p.threads }
func (p *fakeProc) NumThreads() int               { return len(p.threads) }
func (p *fakeProc) Maps() []MapEntry              { return p.maps }
func (p *fakeProc) VMSize() uint64                { return p.vmsize }
func (p *fakeProc) RSS() uint64                   { return p.rss }
func (p *fakeProc) FDs() []FDInfo                 { return slices.Clone(p.fds) }
func (p *fakeProc) StartTime() time.Duration      { return p.start }
func (p *fakeProc) UTime() time.Duration          { return p.utime }
func (p *fakeProc) STime() time.Duration          { return p.stime }
func (p *fakeProc) SigMasks() (a, b, c, d uint64) { return p.sig[0], p.sig[1], p.sig[2], p.sig[3] }

type fakeSource struct {
	mu      sync.Mutex
	procs   map[int]*fakeProc
	threads map[int]*fakeProc // tid -> thread view
	self    [2]int
}

func (s *fakeSource) PIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for pid := range s.procs {
		out = append(out, pid)
	}
	slices.Sort(out)
	return out
}

func (s *fakeSource) Process(pid int) (Process, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[pid]
	return p, ok
}

func (s *fakeSource) Thread(tid int) (Process, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.threads[tid]
	return p, ok
}

func (s *fakeSource) Self() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.self[0], s.self[1]
}

func (s *fakeSource) exit(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tid := range s.procs[pid].threads {
		delete(s.threads, tid)
	}
	delete(s.procs, pid)
}

func (s *fakeSource) Uptime() time.Duration              { return 1234560 * time.Millisecond }
func (s *fakeSource) Memory() (uint64, uint64)           { return 2 << 30, 1 << 30 }
func (s *fakeSource) NumCPU() int                        { return 2 }
func (s *fakeSource) Hostname() string                   { return "sandbox" }
func (s *fakeSource) Release() string                    { return "6.1.0" }
func (s *fakeSource) Version() string                    { return "#1 SMP" }
func (s *fakeSource) Filesystems() []string              { return []string{"tmpfs", "proc", "ext4"} }
func (s *fakeSource) LoadAvg() [3]float64                { return [3]float64{0.5, 0.25, 0} }
func (s *fakeSource) CPUTimes() (uint64, uint64, uint64) { return 301, 100, 2001 }
func (s *fakeSource) ProcessCount() (int, int)           { return 1, 3 }
func (s *fakeSource) Mounts() []MountInfo {
	return []MountInfo{
		{Source: "overlay", Target: "/", FSType: "overlay", Options: "rw,relatime,lowerdir=/a"},
		{Source: "proc", Target: "/proc", FSType: "proc", Options: "rw,nosuid,nodev,noexec"},
		{Source: "tmpfs", Target: "/tmp/my dir", FSType: "tmpfs", Options: "", Dev: unix.Mkdev(0, 33)},
	}
}

func newFake() *fakeSource {
	initp := &fakeProc{
		pid: 1, ppid: 0, pgid: 1, sid: 1, comm: "init", state: 'S',
		cmdline: []byte("/sbin/init\x00"), exe: "/sbin/init", cwd: "/", root: "/",
		umask: 0o022, threads: []int{1}, vmsize: 8 << 20, rss: 1 << 20,
		fds: []FDInfo{{FD: 0, Path: "/dev/null", Flags: unix.O_RDONLY}},
	}
	worker := &fakeProc{
		pid: 42, ppid: 1, pgid: 40, sid: 1, comm: "worker", state: 'R',
		cmdline: []byte("worker\x00-v\x00"), environ: []byte("HOME=/home/u\x00"), auxv: []byte{6, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0},
		exe: "/usr/bin/worker", cwd: "/home/u", root: "/",
		uids: [4]uint32{1000, 1001, 1002, 1003}, gids: [4]uint32{100, 101, 102, 103}, groups: []uint32{4, 24},
		umask: 0o027, threads: []int{42, 43},
		maps: []MapEntry{
			{Start: 0x400000, End: 0x452000, Perms: "r-xp", Offset: 0, Dev: "08:02", Inode: 173521, Path: "/usr/bin/dbus-daemon"},
			{Start: 0x7f0000000000, End: 0x7f0000021000, Perms: "rw-p"},
			{Start: 0x7ffd5a3d2000, End: 0x7ffd5a3f3000, Perms: "rw-p", Offset: 0, Path: "[stack]"},
		},
		vmsize: 64 << 20, rss: 12 << 20,
		fds: []FDInfo{
			{FD: 2, Path: "/dev/tty", Flags: unix.O_RDWR},
			{FD: 0, Path: "/etc/passwd", Flags: unix.O_RDONLY | unix.O_CLOEXEC, Pos: 17},
			{FD: 1, Path: "pipe:[7]", Flags: unix.O_WRONLY},
		},
		start: 1500 * time.Millisecond, utime: 2 * time.Second, stime: 250 * time.Millisecond,
		sig: [4]uint64{1 << 9, 1 << 1, 1 << 12, 1 << 16},
	}
	t43 := *worker
	t43.comm, t43.state, t43.utime, t43.sig = "worker-io", 'S', 70*time.Millisecond, [4]uint64{1 << 14, 1 << 2, 1 << 12, 1 << 16}
	t42 := *worker
	t42.sig = [4]uint64{1 << 10, 1 << 1, 1 << 12, 1 << 16}
	return &fakeSource{
		procs:   map[int]*fakeProc{1: initp, 42: worker},
		threads: map[int]*fakeProc{1: initp, 42: &t42, 43: &t43},
		self:    [2]int{42, 43},
	}
}

type env struct {
	src  *fakeSource
	root *vfs.Dentry
	v    *vfs.VFS
	ctx  *vfs.Context
}

func newEnv(t *testing.T, uid uint32) *env {
	t.Helper()
	src := newFake()
	root := New(src)
	ns := vfs.NewMountNamespace(root, "proc", "proc", false)
	return &env{src: src, root: root, v: &vfs.VFS{NS: ns},
		ctx: &vfs.Context{Creds: &vfs.Creds{UID: uid, GID: uid}, Root: ns.Root(), Cwd: ns.Root()}}
}

func (e *env) open(path string, flags int) (*vfs.FileDescription, error) {
	return e.v.OpenAt(e.ctx, e.ctx.Root, path, flags, 0, vfs.Resolve{})
}

func readAll(t *testing.T, fd *vfs.FileDescription) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 7) // small, to exercise offsets
	for {
		n, err := fd.Read([][]byte{buf})
		require.NoError(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func (e *env) read(t *testing.T, path string) string {
	t.Helper()
	fd, err := e.open(path, unix.O_RDONLY)
	require.NoError(t, err, path)
	defer fd.DecRef()
	return readAll(t, fd)
}

func (e *env) stat(t *testing.T, path string, follow bool) vfs.Stat {
	t.Helper()
	st, err := e.v.StatAt(e.ctx, e.ctx.Root, path, vfs.Resolve{NoFollow: !follow})
	require.NoError(t, err, path)
	return st
}

func (e *env) readdir(t *testing.T, path string) []string {
	t.Helper()
	fd, err := e.open(path, unix.O_RDONLY|unix.O_DIRECTORY)
	require.NoError(t, err, path)
	defer fd.DecRef()
	var names []string
	require.NoError(t, fd.ReadDir(func(d vfs.Dirent, _ int64) bool {
		names = append(names, d.Name)
		return true
	}))
	return names
}

var rootFixed = []string{"self", "thread-self", "mounts", "cpuinfo", "filesystems", "loadavg", "meminfo", "stat", "uptime", "version", "sys"}

var pidFixed = []string{"auxv", "cmdline", "comm", "cwd", "environ", "exe", "fd", "fdinfo", "maps", "mountinfo", "mounts", "root", "stat", "statm", "status", "task"}

func TestRootReaddir(t *testing.T) {
	e := newEnv(t, 0)
	names := e.readdir(t, "/")
	assert.Equal(t, []string{".", ".."}, names[:2])
	for _, n := range append(slices.Clone(rootFixed), "1", "42") {
		assert.Contains(t, names, n)
	}
	assert.Len(t, names, 2+len(rootFixed)+2)

	// Dirent inode numbers and types agree with Stat.
	ents, err := e.root.Inode().Readdir()
	require.NoError(t, err)
	for _, d := range ents {
		c, err := e.root.Inode().Lookup(d.Name)
		require.NoError(t, err, d.Name)
		st, err := c.Stat()
		require.NoError(t, err, d.Name)
		assert.Equal(t, st.Ino, d.Ino, d.Name)
		assert.Equal(t, vfs.DTypeOf(st.Mode), d.Type, d.Name)
	}
}

func TestLookupAndModes(t *testing.T) {
	e := newEnv(t, 0)
	root := e.stat(t, "/", true)
	assert.Equal(t, uint32(unix.S_IFDIR|0o555), root.Mode)
	assert.Equal(t, uint64(1), root.Ino)
	assert.Equal(t, uint64(Dev), root.Dev)

	for _, n := range []string{"cpuinfo", "filesystems", "loadavg", "meminfo", "stat", "uptime", "version"} {
		st := e.stat(t, "/"+n, false)
		assert.Equal(t, uint32(unix.S_IFREG|0o444), st.Mode, n)
		assert.Equal(t, uint32(0), st.UID, n)
		assert.Equal(t, uint32(1), st.Nlink, n)
	}
	for _, n := range []string{"self", "thread-self", "mounts"} {
		assert.Equal(t, uint32(unix.S_IFLNK|0o777), e.stat(t, "/"+n, false).Mode, n)
	}

	names := e.readdir(t, "/42")
	assert.Equal(t, append([]string{".", ".."}, pidFixed...), names)
	want := map[string]uint32{
		"auxv": unix.S_IFREG | 0o400, "environ": unix.S_IFREG | 0o400,
		"cmdline": unix.S_IFREG | 0o444, "comm": unix.S_IFREG | 0o444, "maps": unix.S_IFREG | 0o444,
		"mountinfo": unix.S_IFREG | 0o444, "mounts": unix.S_IFREG | 0o444, "stat": unix.S_IFREG | 0o444,
		"statm": unix.S_IFREG | 0o444, "status": unix.S_IFREG | 0o444,
		"cwd": unix.S_IFLNK | 0o777, "exe": unix.S_IFLNK | 0o777, "root": unix.S_IFLNK | 0o777,
		"fd": unix.S_IFDIR | 0o500, "fdinfo": unix.S_IFDIR | 0o555, "task": unix.S_IFDIR | 0o555,
	}
	inos := map[uint64]string{}
	for _, n := range pidFixed {
		st := e.stat(t, "/42/"+n, false)
		assert.Equal(t, want[n], st.Mode, n)
		assert.Equal(t, uint32(1001), st.UID, n) // effective ids
		assert.Equal(t, uint32(101), st.GID, n)
		assert.Equal(t, uint64(Dev), st.Dev, n)
		assert.NotContains(t, inos, st.Ino, n)
		inos[st.Ino] = n
		// Stable per path, distinct across processes.
		assert.Equal(t, st.Ino, e.stat(t, "/42/"+n, false).Ino, n)
		assert.NotEqual(t, st.Ino, e.stat(t, "/1/"+n, false).Ino, n)
	}
	pd := e.stat(t, "/42", true)
	assert.Equal(t, uint32(unix.S_IFDIR|0o555), pd.Mode)
	assert.Equal(t, uint32(5), pd.Nlink) // . and fd, fdinfo, task
	assert.Equal(t, uint32(4), e.stat(t, "/42/task", true).Nlink)

	// Every file opens and renders.
	for _, n := range pidFixed {
		st := e.stat(t, "/42/"+n, false)
		if st.IsRegular() {
			e.read(t, "/42/"+n)
			e.read(t, "/42/task/43/"+n)
		}
	}

	fs, err := e.root.Inode().StatFS()
	require.NoError(t, err)
	assert.Equal(t, int64(0x9fa0), fs.Type)
}

func TestPidStat(t *testing.T) {
	e := newEnv(t, 0)
	s := e.read(t, "/42/stat")
	require.True(t, strings.HasSuffix(s, "\n"))
	f := strings.Fields(s)
	require.Len(t, f, 52)
	assert.Equal(t, []string{"42", "(worker)", "R", "1", "40", "1"}, f[:6])
	assert.Equal(t, "-1", f[7])        // tpgid
	assert.Equal(t, "200", f[13])      // utime: 2s
	assert.Equal(t, "25", f[14])       // stime: 250ms
	assert.Equal(t, "2", f[19])        // num_threads
	assert.Equal(t, "150", f[21])      // starttime: 1.5s
	assert.Equal(t, "67108864", f[22]) // vsize
	assert.Equal(t, "3072", f[23])     // rss pages
	assert.Equal(t, fmt.Sprint(1<<9), f[30])
	assert.Equal(t, "17", f[37]) // exit_signal

	// The thread's own view.
	f = strings.Fields(e.read(t, "/42/task/43/stat"))
	require.Len(t, f, 52)
	assert.Equal(t, []string{"43", "(worker-io)", "S", "1"}, f[:4])
	assert.Equal(t, "7", f[13])
	assert.Equal(t, "-1", f[37])

	assert.Equal(t, "16384 3072 0 0 0 0 0\n", e.read(t, "/42/statm"))
}

func TestStatus(t *testing.T) {
	e := newEnv(t, 0)
	s := e.read(t, "/42/status")
	for _, l := range []string{
		"Name:\tworker\n", "Umask:\t0027\n", "State:\tR (running)\n", "Tgid:\t42\n", "Ngid:\t0\n",
		"Pid:\t42\n", "PPid:\t1\n", "TracerPid:\t0\n",
		"Uid:\t1000\t1001\t1002\t1003\n", "Gid:\t100\t101\t102\t103\n",
		"FDSize:\t64\n", "Groups:\t4 24 \n",
		"VmPeak:\t   65536 kB\n", "VmSize:\t   65536 kB\n", "VmRSS:\t   12288 kB\n",
		"Threads:\t2\n", "SigQ:\t",
		"SigPnd:\t0000000000000400\n", "ShdPnd:\t0000000000000200\n", "SigBlk:\t0000000000000002\n",
		"SigIgn:\t0000000000001000\n", "SigCgt:\t0000000000010000\n",
		"CapInh:\t0000000000000000\n", "CapPrm:\t0000000000000000\n", "CapEff:\t0000000000000000\n",
		"CapBnd:\t000001ffffffffff\n", "CapAmb:\t0000000000000000\n",
		"NoNewPrivs:\t0\n", "Seccomp:\t0\n", "Cpus_allowed:\t3\n", "Cpus_allowed_list:\t0-1\n",
		"voluntary_ctxt_switches:\t0\n", "nonvoluntary_ctxt_switches:\t0\n",
	} {
		assert.Contains(t, s, l)
	}
	assert.True(t, strings.HasPrefix(s, "Name:\tworker\nUmask:"))

	s = e.read(t, "/42/task/43/status")
	for _, l := range []string{"Name:\tworker-io\n", "State:\tS (sleeping)\n", "Tgid:\t42\n", "Pid:\t43\n",
		"SigPnd:\t0000000000004000\n", "ShdPnd:\t0000000000000200\n", "SigBlk:\t0000000000000004\n"} {
		assert.Contains(t, s, l)
	}
	// Root has every capability.
	assert.Contains(t, e.read(t, "/1/status"), "CapEff:\t000001ffffffffff\n")
	assert.Contains(t, e.read(t, "/1/status"), "Groups:\t \n")
}

func TestMaps(t *testing.T) {
	e := newEnv(t, 0)
	// proc(5): address, perms, offset, dev, inode; the pathname, if any,
	// starts in column 73 (the prefix is padded with spaces).
	want := "00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/dbus-daemon\n" +
		"7f0000000000-7f0000021000 rw-p 00000000 00:00 0 \n" +
		"7ffd5a3d2000-7ffd5a3f3000 rw-p 00000000 00:00 0                          [stack]\n"
	got := e.read(t, "/42/maps")
	assert.Equal(t, want, got)
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if i := strings.IndexAny(l, "/["); i >= 0 {
			assert.Equal(t, 73, i, l)
		}
	}
}

func TestSelfLinks(t *testing.T) {
	e := newEnv(t, 0)
	l, err := e.v.ReadlinkAt(e.ctx, e.ctx.Root, "/self")
	require.NoError(t, err)
	assert.Equal(t, "42", l)
	l, err = e.v.ReadlinkAt(e.ctx, e.ctx.Root, "/thread-self")
	require.NoError(t, err)
	assert.Equal(t, "42/task/43", l)
	assert.Equal(t, "worker\n", e.read(t, "/self/comm"))
	assert.Equal(t, "worker-io\n", e.read(t, "/thread-self/comm"))
	assert.Equal(t, "worker\x00-v\x00", e.read(t, "/self/cmdline"))
	assert.Equal(t, "HOME=/home/u\x00", e.read(t, "/self/environ"))
	assert.Len(t, e.read(t, "/self/auxv"), 16)

	for link, target := range map[string]string{"/42/exe": "/usr/bin/worker", "/42/cwd": "/home/u", "/42/root": "/", "/mounts": "self/mounts"} {
		l, err := e.v.ReadlinkAt(e.ctx, e.ctx.Root, link)
		require.NoError(t, err, link)
		assert.Equal(t, target, l, link)
	}

	// Another caller sees itself.
	e.src.mu.Lock()
	e.src.self = [2]int{1, 1}
	e.src.mu.Unlock()
	assert.Equal(t, "init\n", e.read(t, "/self/comm"))
	// A caller that is not a task has no self.
	e.src.mu.Lock()
	e.src.self = [2]int{0, 0}
	e.src.mu.Unlock()
	_, err = e.open("/self/comm", unix.O_RDONLY)
	assert.ErrorIs(t, err, unix.ENOENT)
}

func TestFDs(t *testing.T) {
	e := newEnv(t, 0)
	assert.Equal(t, []string{".", "..", "0", "1", "2"}, e.readdir(t, "/42/fd"))
	assert.Equal(t, []string{".", "..", "0", "1", "2"}, e.readdir(t, "/42/fdinfo"))
	for fd, target := range map[string]string{"0": "/etc/passwd", "1": "pipe:[7]", "2": "/dev/tty"} {
		l, err := e.v.ReadlinkAt(e.ctx, e.ctx.Root, "/42/fd/"+fd)
		require.NoError(t, err)
		assert.Equal(t, target, l)
	}
	assert.Equal(t, uint32(unix.S_IFLNK|0o500), e.stat(t, "/42/fd/0", false).Mode)
	assert.Equal(t, uint32(unix.S_IFLNK|0o300), e.stat(t, "/42/fd/1", false).Mode)
	assert.Equal(t, uint32(unix.S_IFLNK|0o700), e.stat(t, "/42/fd/2", false).Mode)
	assert.Equal(t, "pos:\t17\nflags:\t02000000\nmnt_id:\t0\nino:\t0\n", e.read(t, "/42/fdinfo/0"))
	assert.Equal(t, "pos:\t0\nflags:\t01\nmnt_id:\t0\nino:\t0\n", e.read(t, "/self/fdinfo/1"))

	for _, p := range []string{"/42/fd/3", "/42/fd/00", "/42/fd/x", "/42/fdinfo/9"} {
		_, err := e.v.StatAt(e.ctx, e.ctx.Root, p, vfs.Resolve{NoFollow: true})
		assert.ErrorIs(t, err, unix.ENOENT, p)
	}
	// A descriptor closed after its entry was looked up is gone.
	e.stat(t, "/42/fd/2", false)
	e.src.mu.Lock()
	e.src.procs[42].fds = e.src.procs[42].fds[1:] // drop fd 2
	e.src.mu.Unlock()
	_, err := e.v.StatAt(e.ctx, e.ctx.Root, "/42/fd/2", vfs.Resolve{NoFollow: true})
	assert.ErrorIs(t, err, unix.ENOENT)
}

func TestTask(t *testing.T) {
	e := newEnv(t, 0)
	assert.Equal(t, []string{".", "..", "42", "43"}, e.readdir(t, "/42/task"))
	names := e.readdir(t, "/42/task/43")
	assert.Equal(t, append([]string{".", ".."}, pidFixed[:len(pidFixed)-1]...), names)
	_, err := e.open("/42/task/44/stat", unix.O_RDONLY)
	assert.ErrorIs(t, err, unix.ENOENT)
	_, err = e.open("/1/task/43/stat", unix.O_RDONLY) // another process's thread
	assert.ErrorIs(t, err, unix.ENOENT)
}

func TestSystemFiles(t *testing.T) {
	e := newEnv(t, 0)
	for path, want := range map[string]string{
		"/sys/kernel/hostname":      "sandbox\n",
		"/sys/kernel/osrelease":     "6.1.0\n",
		"/sys/kernel/ostype":        "Linux\n",
		"/sys/kernel/pid_max":       "4194304\n",
		"/sys/vm/overcommit_memory": "0\n",
		"/version":                  "Linux version 6.1.0 (sbx) #1 SMP\n",
		"/uptime":                   "1234.56 20.01\n",
		"/loadavg":                  "0.50 0.25 0.00 1/3 42\n",
		"/filesystems":              "nodev\ttmpfs\nnodev\tproc\n\text4\n",
		"/mounts": "overlay / overlay rw,relatime,lowerdir=/a 0 0\n" +
			"proc /proc proc rw,nosuid,nodev,noexec 0 0\n" +
			"tmpfs /tmp/my\\040dir tmpfs rw 0 0\n",
		"/42/mountinfo": "2 1 0:1000 / / rw,relatime - overlay overlay rw,lowerdir=/a\n" +
			"3 2 0:1001 / /proc rw,nosuid,nodev,noexec - proc proc rw\n" +
			"4 2 0:33 / /tmp/my\\040dir rw - tmpfs tmpfs rw\n",
	} {
		assert.Equal(t, want, e.read(t, path), path)
	}
	assert.Equal(t, e.read(t, "/mounts"), e.read(t, "/self/mounts"))

	mi := e.read(t, "/meminfo")
	assert.True(t, strings.HasPrefix(mi, "MemTotal:        2097152 kB\nMemFree:         1048576 kB\nMemAvailable:    1048576 kB\n"), mi)
	assert.Contains(t, mi, "HugePages_Total:       0\n")
	assert.Contains(t, mi, "Hugepagesize:       2048 kB\n")

	ci := e.read(t, "/cpuinfo")
	assert.Equal(t, 2, strings.Count(ci, "processor\t: "))
	assert.Contains(t, ci, "processor\t: 1\n")
	assert.Contains(t, ci, "model name\t: sbx virtual CPU\n")
	assert.Contains(t, ci, " sse sse2 ")
	assert.True(t, strings.HasSuffix(ci, "power management:\n\n"))

	st := e.read(t, "/stat")
	lines := strings.Split(st, "\n")
	assert.Equal(t, "cpu  301 0 100 2001 0 0 0 0 0 0", lines[0])
	assert.Equal(t, "cpu0 151 0 50 1001 0 0 0 0 0 0", lines[1])
	assert.Equal(t, "cpu1 150 0 50 1000 0 0 0 0 0 0", lines[2])
	for _, l := range []string{"\nintr 0\n", "\nctxt 0\n", "\nbtime ", "\nprocesses 42\n", "\nprocs_running 1\n", "\nprocs_blocked 0\n"} {
		assert.Contains(t, st, l)
	}
	// btime is stable.
	assert.Equal(t, st, e.read(t, "/stat"))
}

func TestWritesRefused(t *testing.T) {
	root := newEnv(t, 0)
	user := newEnv(t, 1001)
	// /proc/sys: EACCES for anyone.
	for _, e := range []*env{root, user} {
		_, err := e.open("/sys/kernel/hostname", unix.O_WRONLY)
		assert.ErrorIs(t, err, unix.EACCES)
		_, err = e.open("/sys/vm/overcommit_memory", unix.O_RDWR)
		assert.ErrorIs(t, err, unix.EACCES)
	}
	// Others: no write permission for users; root may open, writes fail.
	_, err := user.open("/meminfo", unix.O_WRONLY)
	assert.ErrorIs(t, err, unix.EACCES)
	_, err = user.open("/42/comm", unix.O_WRONLY)
	assert.ErrorIs(t, err, unix.EACCES)
	fd, err := root.open("/meminfo", unix.O_WRONLY)
	require.NoError(t, err)
	_, err = fd.Write([][]byte{[]byte("x")})
	assert.ErrorIs(t, err, unix.EIO)
	fd.DecRef()
	fd, err = root.open("/42/stat", unix.O_RDWR)
	require.NoError(t, err)
	_, err = fd.Pwrite([][]byte{[]byte("x")}, 0)
	assert.ErrorIs(t, err, unix.EINVAL)
	fd.DecRef()

	// The namespace is fixed.
	assert.ErrorIs(t, root.v.MkdirAt(root.ctx, root.ctx.Root, "/foo", 0o755), unix.EPERM)
	assert.ErrorIs(t, root.v.UnlinkAt(root.ctx, root.ctx.Root, "/meminfo"), unix.EPERM)
	_, err = root.open("/newfile", unix.O_CREAT|unix.O_WRONLY)
	assert.ErrorIs(t, err, unix.EACCES)

	// environ is the owner's only.
	_, err = newEnv(t, 2000).open("/42/environ", unix.O_RDONLY)
	assert.ErrorIs(t, err, unix.EACCES)
	user.read(t, "/42/environ")
}

func TestPread(t *testing.T) {
	e := newEnv(t, 0)
	fd, err := e.open("/42/status", unix.O_RDONLY)
	require.NoError(t, err)
	defer fd.DecRef()
	all := e.read(t, "/42/status")
	buf := make([]byte, 10)
	n, err := fd.Pread([][]byte{buf}, 5)
	require.NoError(t, err)
	assert.Equal(t, all[5:15], string(buf[:n]))
	n, err = fd.Pread([][]byte{buf}, int64(len(all)))
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	// Split across buffers.
	a, b := make([]byte, 3), make([]byte, 4)
	n, err = fd.Pread([][]byte{a, b}, 1)
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	assert.Equal(t, all[1:8], string(a)+string(b))
}

func TestMissingAndExited(t *testing.T) {
	e := newEnv(t, 0)
	for _, p := range []string{"/999", "/999/stat", "/042", "/foo", "/42/nope", "/sys/kernel/nope", "/-1", "/4294967338"} {
		_, err := e.v.StatAt(e.ctx, e.ctx.Root, p, vfs.Resolve{})
		assert.ErrorIs(t, err, unix.ENOENT, p)
	}
	_, err := e.root.Inode().Lookup("999")
	assert.ErrorIs(t, err, unix.ENOENT)

	// Open, then the process exits: the open file keeps its snapshot,
	// the cached entries are gone.
	fd, err := e.open("/42/status", unix.O_RDONLY)
	require.NoError(t, err)
	defer fd.DecRef()
	e.stat(t, "/42/task/43/comm", false)
	e.src.exit(42)

	assert.Contains(t, readAll(t, fd), "Name:\tworker\n")
	_, err = fd.Impl.Stat()
	assert.NoError(t, err)
	for _, p := range []string{"/42", "/42/status", "/42/task/43/comm", "/42/fd/0", "/self", "/self/status"} {
		_, err := e.v.StatAt(e.ctx, e.ctx.Root, p, vfs.Resolve{})
		assert.ErrorIs(t, err, unix.ENOENT, p)
	}
	_, err = e.open("/42/status", unix.O_RDONLY)
	assert.ErrorIs(t, err, unix.ENOENT)
	assert.NotContains(t, e.readdir(t, "/"), "42")
}

func TestCPUMask(t *testing.T) {
	for n, want := range map[int]string{1: "1", 2: "3", 4: "f", 5: "1f", 32: "ffffffff", 36: "f,ffffffff", 64: "ffffffff,ffffffff"} {
		assert.Equal(t, want, cpuMask(n), n)
	}
	assert.Equal(t, "0", cpuList(1))
	assert.Equal(t, "0-3", cpuList(4))
}

func TestConcurrent(t *testing.T) {
	e := newEnv(t, 0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				for _, p := range []string{"/self/status", "/42/maps", "/meminfo", "/stat", "/1/stat"} {
					fd, err := e.open(p, unix.O_RDONLY)
					if !assert.NoError(t, err) {
						return
					}
					buf := make([]byte, 4096)
					_, _ = fd.Read([][]byte{buf})
					fd.DecRef()
				}
				if i == 0 {
					e.readdir(t, "/")
				}
			}
		}()
	}
	wg.Wait()
}
