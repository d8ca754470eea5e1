// Package seccomp is the seccomp-trap platform: each application address
// space is a stub process (a tiny image of our own, exec'd from a memfd, that
// keeps only our code page and a shared region; see fork.go), and application threads run in it
// under a seccomp filter that lets through only syscalls made from our code
// page. Every other syscall traps with SIGSYS into our handler, which runs
// on the thread's signal stack inside the shared region: it posts the event
// there, wakes the sentry with a futex and waits; the sentry reads and edits
// the signal frame (registers, FP state) in place, and the handler returns
// through rt_sigreturn into the registers the sentry left. Faults and the
// interrupt signal travel the same way. No ptrace stop is on any path.
//
// Layout of a stub's region (one memfd per stub, mapped in the sentry and at
// a fixed address in the stub, right below the code page): slots of slotSize
// bytes, one per stub thread, each a control page followed by the thread's
// signal stack. Slot 0 is the stub's main thread, which never runs
// application code: it executes the host syscalls the sentry asks for
// (mmap, munmap, clone of new threads). See stub.asm for the protocol.
//
// A read-only mapping of a host file can be mapped straight from the host
// FD (MapHostFile): the FD travels over a socket the stub holds at
// memFD+2, and the stub maps and closes it.
//
// The region is writable by application code (it is in its address space):
// nothing read from it is trusted; a thread that scribbles on its own slot
// can only confuse its own process.
//
// This package must not import the sentry, fs or syscalls layers.
package seccomp

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"sbx/platform"
)

const (
	pageSize = 4096
	// slotSize is one thread's slot: control page and signal stack. It
	// must match SLOT in stub.asm.
	slotSize = 0x10000
	// maxSlots bounds the threads of one address space (slot 0 is the
	// main thread's).
	maxSlots = 512
	// regionSize is the shared region of a stub.
	regionSize = maxSlots * slotSize
	// userTop is the x86-64 TASK_SIZE with 4-level page tables.
	userTop = 0x7ffffffff000
	// codeBase is where the code page sits in every stub, with the region
	// right below it. It is 64 GiB under the top: a stub image's stack,
	// which the kernel places before it maps the image, is randomized
	// within 16 GiB of the top, and the vdso, placed after, avoids the
	// page.
	codeBase = 0x7ff000000000
	// regionBase is where a stub's region starts (slot-aligned); the
	// application has everything below it.
	regionBase = codeBase - regionSize
	// Offsets in the code page (stub.asm).
	topOffset    = 0x800
	regionOffset = 0x808
)

// Control page offsets (stub.asm).
const (
	cbState         = 0x00
	cbSigno         = 0x08
	cbInfo          = 0x10
	cbUcontext      = 0x18
	cbFSBase        = 0x20
	cbSetFS         = 0x28
	cbChildTID      = 0x30
	cbSentryWaiting = 0x38
	cbStubWaiting   = 0x3c
	cbAltStack      = 0x40
	cbSleepNow      = 0x58
	cbBusy          = 0x5c
	cbRequest       = 0x80
	cbNr            = 0x88
	cbArgs          = 0x90
	cbResult        = 0xc0
	cbChildSlot     = 0xc8
)

// Thread states (cbState).
const (
	stateRunning = 0
	stateEvent   = 1
	stateResume  = 2
	stateExit    = 3
	stateRequest = 4
)

// interruptSignal makes a running stub thread come back to the sentry. The
// stub has no children, so it never gets a SIGCHLD of its own.
const interruptSignal = unix.SIGCHLD

// spinTime is how long the sentry polls for an event before it sleeps on
// the futex, yielding its CPU between looks: on a 2-core machine the stub
// thread often shares the sentry's CPU, and a plain spin would only delay
// it. A futex sleep and wake-up (a host context switch, dear on a VM) is
// paid only by calls that take longer. SBX_SECCOMP_SPIN_SENTRY and
// SBX_SECCOMP_SPIN_STUB override the defaults, for measuring.
var spinTime = envDuration("SBX_SECCOMP_SPIN_SENTRY", 10*time.Microsecond)

// stubSpin is how many times a parked stub thread looks at its state word
// (with a sched_yield between looks) before it sleeps on the futex.
var stubSpin = envInt("SBX_SECCOMP_SPIN_STUB", 50)

// busyTime and stubBusy are how long each side first polls without any
// syscall (the stub executes pause between looks; about 20 ns each on this
// machine's CPUs) before the sched_yield phase, used only while one task
// is awake (Platform.awake). Measured here before that condition, 4 us
// and 200 took a getpid round trip from 6.7 to 5.6-6.3 us, but doubled a
// futex ping-pong between two threads (median 64 -> 130 us over 10 runs
// each) and cost fork-heavy runs 3%: with more runnable threads than the
// 2 CPUs, a spinning stub thread holds the CPU the other side needs.
// With the condition, the sentry's 8 us against 4 took getpid from
// 6.0-6.3 to 5.4-5.7 us (fork+exit+wait within 2%); the stub's 400 rounds
// against 200 cost fork+exit+wait 4-6% (the stub polls through the
// fork), so it stays at 200. Of a getpid round trip the sentry's own work,
// from reading the registers to posting them back, is about 350 ns; the
// rest is the host's signal delivery and return (3.4 us for a bare
// SIGSYS handler here, against 1 us for getpid natively) and the two
// hand-offs. SBX_SECCOMP_BUSY_SENTRY and SBX_SECCOMP_BUSY_STUB set them.
var (
	busyTime = envDuration("SBX_SECCOMP_BUSY_SENTRY", 8*time.Microsecond)
	stubBusy = envInt("SBX_SECCOMP_BUSY_STUB", 200)
)

// Platform is the seccomp platform. memFD is the memory file's host FD;
// imageFD the stub image (see fork.go) that every stub runs.
type Platform struct {
	memFD   int
	imageFD int
	forks   chan forkRequest
	// awake counts the contexts whose tasks are not blocked: made and
	// not yet released, and attached (see context.detached).
	awake atomic.Int32
	// made counts the contexts made; sentryProcs is the GOMAXPROCS to
	// set when the second one is (0: leave it), see ShareCPUs.
	made        atomic.Int32
	sentryProcs int
}

// ShareCPUs has the sentry's goroutines use n processors (GOMAXPROCS) once
// the sandbox runs a second task, and Go's default until then. Call it
// before the first context is made.
//
// On this platform the application's threads are host threads of their
// own (the stubs'): the sentry needs processors only to serve their calls.
// With one, a task woken by another runs on the waker's thread as soon as
// the waker blocks; with an idle second one, Go wakes a thread for the
// woken goroutine, which spins, sleeps trying to steal it from the waker
// and parks again. Measured by make bench on this 2-CPU VM with one
// processor against two: a pipe round trip between two processes 175 ->
// 114 us, bash running /bin/true 100 times 2101 -> 1748 ms. A single task
// starts about 1.5 ms slower on one (sbx run /bin/true, alternating 100
// runs each), hence the wait for the second.
func (p *Platform) ShareCPUs(n int) { p.sentryProcs = n }

var (
	forkerOnce sync.Once
	forks      chan forkRequest
)

// New returns the seccomp platform whose address spaces map from memFD.
func New(memFD int) (*Platform, error) {
	if err := platform.QuietChildSignals(); err != nil {
		return nil, err
	}
	prog, err := buildFilter(codeBase, memFD)
	if err != nil {
		return nil, err
	}
	if len(prog) > maxFilterSize {
		return nil, errors.New("seccomp platform: stub filter too long for the code page")
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	imageFD, err := imageFile(stubImage(codePage(memFD, filter)), memFD)
	if err != nil {
		return nil, fmt.Errorf("seccomp platform: stub image: %w", err)
	}
	forkerOnce.Do(func() {
		forks = make(chan forkRequest)
		go forker(forks)
	})
	return &Platform{memFD: memFD, imageFD: imageFD, forks: forks}, nil
}

// stubCall is a host syscall the code page makes, with, where it narrows
// things, the only values its arguments may take: an application that jumps
// into the code page must not get a host mmap of its own choosing or a host
// process (clone without CLONE_THREAD) out of it.
type stubCall struct {
	nr   uint32
	args []argIs
}

type argIs struct {
	index int
	value uint32
}

// stubThreadFlags are the clone flags of a new stub thread.
const stubThreadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_CHILD_CLEARTID

// stubCalls lists them; memFD is the memory file's FD (the only file a stub
// maps).
func stubCalls(memFD int) []stubCall {
	return []stubCall{
		{nr: unix.SYS_RT_SIGRETURN},
		{nr: unix.SYS_FUTEX},
		{nr: unix.SYS_SCHED_YIELD},
		{nr: unix.SYS_SIGALTSTACK},
		{nr: unix.SYS_EXIT},
		{nr: unix.SYS_MUNMAP},
		{nr: unix.SYS_ARCH_PRCTL, args: []argIs{{0, 0x1002 /* ARCH_SET_FS */}}},
		{nr: unix.SYS_CLONE, args: []argIs{{0, stubThreadFlags}}},
		{nr: unix.SYS_MMAP, args: []argIs{{3, unix.MAP_SHARED | unix.MAP_FIXED | unix.MAP_POPULATE}, {4, uint32(memFD)}}},
		// A host file handed over by MapHostFile: received on the stub's
		// socket, mapped read-only, closed.
		{nr: unix.SYS_RECVMSG, args: []argIs{{0, uint32(memFD + 2)}}},
		{nr: unix.SYS_CLOSE},
		{nr: unix.SYS_MMAP, args: []argIs{{2, unix.PROT_READ}, {3, unix.MAP_PRIVATE | unix.MAP_FIXED}}},
		{nr: unix.SYS_MMAP, args: []argIs{{2, unix.PROT_READ | unix.PROT_EXEC}, {3, unix.MAP_PRIVATE | unix.MAP_FIXED}}},
		{nr: unix.SYS_MMAP, args: []argIs{{2, unix.PROT_EXEC}, {3, unix.MAP_PRIVATE | unix.MAP_FIXED}}},
		{nr: unix.SYS_MMAP, args: []argIs{{2, unix.PROT_READ}, {3, unix.MAP_SHARED | unix.MAP_FIXED}}},
		{nr: unix.SYS_MMAP, args: []argIs{{2, unix.PROT_READ | unix.PROT_EXEC}, {3, unix.MAP_SHARED | unix.MAP_FIXED}}},
		{nr: unix.SYS_MMAP, args: []argIs{{2, unix.PROT_EXEC}, {3, unix.MAP_SHARED | unix.MAP_FIXED}}},
	}
}

const (
	auditArchX8664 = 0xc000003e
	retKillProcess = 0x80000000
	retTrap        = 0x00030000
	retAllow       = 0x7fff0000
)

// buildFilter makes the stub's seccomp program: calls of stubCalls made
// from the code page with their arguments as listed are allowed, every
// other x86-64 syscall traps (SIGSYS), and another architecture's syscall
// (int 0x80) kills the stub.
func buildFilter(code uintptr, memFD int) ([]bpf.RawInstruction, error) {
	// The body has a block per listed call: the number, then each
	// argument, is compared, and a mismatch skips to the next block (a
	// call may be listed more than once, with other arguments); a block
	// that matches ends in "allow". Falling off the end is "trap".
	var body []bpf.Instruction
	for _, c := range stubCalls(memFD) {
		block := []bpf.Instruction{
			bpf.LoadAbsolute{Off: 0, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: c.nr}, // SkipFalse patched below
		}
		for _, a := range c.args {
			block = append(block,
				bpf.LoadAbsolute{Off: uint32(16 + 8*a.index), Size: 4},
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: a.value})
		}
		block = append(block, bpf.RetConstant{Val: retAllow})
		n := len(block)
		for i := range block {
			if j, ok := block[i].(bpf.JumpIf); ok {
				j.SkipFalse = uint8(n - i - 1) // to the next block
				block[i] = j
			}
		}
		body = append(body, block...)
	}
	body = append(body, bpf.RetConstant{Val: retTrap})
	trapAt := len(body) - 1 // index in body of the final trap
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: auditArchX8664, SkipTrue: 1},
		bpf.RetConstant{Val: retKillProcess},
		bpf.LoadAbsolute{Off: 12, Size: 4}, // instruction pointer, high half
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(uint64(code) >> 32), SkipFalse: uint8(3 + trapAt)},
		bpf.LoadAbsolute{Off: 8, Size: 4}, // low half
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(code), SkipFalse: uint8(1 + trapAt)},
		bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: uint32(code) + pageSize, SkipTrue: uint8(trapAt)},
	}
	if len(body) > 250 {
		return nil, errors.New("seccomp platform: stub filter too long for its jumps")
	}
	return bpf.Assemble(append(prog, body...))
}

// MaxUserAddress implements platform.Platform: the region and the code page
// are ours.
func (p *Platform) MaxUserAddress() uintptr { return regionBase }

// NewContext implements platform.Platform.
func (p *Platform) NewContext() (platform.Context, error) {
	p.awake.Add(1)
	if p.made.Add(1) == 2 && p.sentryProcs > 0 {
		runtime.GOMAXPROCS(p.sentryProcs)
	}
	return &context{p: p}, nil
}

// stub is a stub process: one application address space.
type stub struct {
	p        *Platform
	pid      int
	pidfd    int
	regionFD int
	// sock is our end of the socket that hands the stub host FDs to map
	// (its end is memFD+2 there).
	sock int
	// region is the sentry's mapping of the shared region.
	region []byte
	// hostMu serializes MapHostFile (it uses one scratch area in slot 0)
	// and guards hostSeq, the sequence number of its last message.
	hostMu  sync.Mutex
	hostSeq byte

	// ctlMu serializes requests to the main thread.
	ctlMu sync.Mutex

	mu sync.Mutex // guards threads, byTID, slotUsed, released and refs
	// threads are the stub threads by the context they run for.
	threads map[*context]*thread
	// byTID are the same threads by the host thread id of the OS thread
	// switching into them now (a task goroutine is locked to it between
	// Attach and Detach).
	byTID    map[int]*thread
	slotUsed [maxSlots]bool
	released bool
	// refs counts the address space itself and every thread a context
	// still holds; the region is unmapped when it drops to zero.
	refs int
	// dead is set once the stub process is known to be gone.
	dead atomic.Bool
}

// thread is one stub thread.
type thread struct {
	s    *stub
	slot int
	tid  int
	// cb is the thread's control page in the sentry's mapping.
	cb []byte
	// fsBase is the FS base the thread has, as far as the sentry knows.
	fsBase   uint64
	fsBaseOK bool
}

var errStubDied = errors.New("stub process died")

// NewAddressSpace implements platform.Platform: it starts a stub process
// with its region and socket. (Starting one ahead of need, in the
// background, made cold starts slower on 2 cores: it competed with the
// sandbox's own start-up.)
func (p *Platform) NewAddressSpace() (platform.AddressSpace, error) {
	fd, err := unix.MemfdCreate("sbx-stub", unix.MFD_CLOEXEC)
	if err == nil {
		// Above the numbers the vfork child moves FDs to.
		fd, err = fdAbove(fd, p.memFD+3)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd for the stub region: %w", err)
	}
	if err := unix.Ftruncate(fd, regionSize); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sizing the stub region: %w", err)
	}
	socks, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("stub socket: %w", err)
	}
	theirs, err := fdAbove(socks[1], p.memFD+3)
	if err != nil {
		unix.Close(fd)
		unix.Close(socks[0])
		return nil, fmt.Errorf("stub socket: %w", err)
	}
	closeAll := func() {
		unix.Close(fd)
		unix.Close(socks[0])
		unix.Close(theirs)
	}
	region, err := unix.Mmap(fd, 0, regionSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("mapping the stub region: %w", err)
	}
	args := &execArgs{
		memFD: uintptr(p.memFD), regionFD: uintptr(fd), imageFD: uintptr(p.imageFD),
		path: uintptr(unsafe.Pointer(&stubPath[0])), argv: uintptr(unsafe.Pointer(&stubArgv[0])),
		envp: uintptr(unsafe.Pointer(&stubEnvp[0])), sockFD: uintptr(theirs),
	}
	res := make(chan forkResult, 1)
	p.forks <- forkRequest{args: args, res: res}
	r := <-res
	unix.Close(theirs)
	if r.errno != 0 {
		unix.Munmap(region)
		unix.Close(fd)
		unix.Close(socks[0])
		return nil, fmt.Errorf("clone stub: %w", r.errno)
	}
	pidfd, err := unix.PidfdOpen(r.pid, 0)
	if err != nil {
		unix.Kill(r.pid, unix.SIGKILL)
		reap(r.pid)
		unix.Munmap(region)
		unix.Close(fd)
		unix.Close(socks[0])
		return nil, fmt.Errorf("pidfd_open: %w", err)
	}
	s := &stub{p: p, pid: r.pid, pidfd: pidfd, regionFD: fd, sock: socks[0], region: region, threads: make(map[*context]*thread), byTID: make(map[int]*thread), refs: 1}
	s.slotUsed[0] = true
	return s, nil
}

// handledSignals reach the handler; every other signal is ignored by the
// stub (and blocked).
var handledSignals = []unix.Signal{unix.SIGSYS, unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP, interruptSignal}

func stubSignalMask() uint64 {
	var m uint64
	for _, s := range handledSignals {
		m |= 1 << (uint(s) - 1)
	}
	return m
}

func reap(pid int) {
	var ws unix.WaitStatus
	for {
		if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != unix.EINTR {
			return
		}
	}
}

// word returns the uint32 at off of b, for atomic access.
func word(b []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }

func quad(b []byte, off int) *uint64 { return (*uint64)(unsafe.Pointer(&b[off])) }

func futexWake(w *uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), 1 /* FUTEX_WAKE */, 1, 0, 0, 0)
}

// holdTime bounds how long holdWait keeps the Go processor.
const holdTime = time.Millisecond

// holdWait sleeps while *w == val, at most holdTime, without telling the
// Go scheduler (a raw syscall keeps the calling goroutine's processor),
// then lets other goroutines run once. waitEvent uses it while no other
// task could need the processor (all others blocked): a plain syscall
// would have Go's monitor thread take the processor back after 20 us and
// wake another thread to look for work, about 2 host context switches
// per wait that outlasts the spin (python3 -c pass makes some 350 such
// waits). A goroutine that does need the processor meanwhile (a timer, a
// forwarded signal, the collector) waits at most holdTime.
func holdWait(w *uint32, val uint32) {
	ts := unix.NsecToTimespec(holdTime.Nanoseconds())
	unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), 0 /* FUTEX_WAIT */, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
	if atomic.LoadUint32(w) == val {
		runtime.Gosched()
	}
}

// futexWait sleeps while *w == val, at most d.
func futexWait(w *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), 0 /* FUTEX_WAIT */, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// alive reports whether the stub process still runs.
func (s *stub) alive() bool {
	if s.dead.Load() {
		return false
	}
	fds := []unix.PollFd{{Fd: int32(s.pidfd), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, 0); n > 0 {
		s.dead.Store(true)
		return false
	}
	return true
}

// waitControl waits until the control thread's request word is 2; that
// thread never spins, so this waits on the futex at once.
func (s *stub) waitControl(w *uint32) error {
	for {
		v := atomic.LoadUint32(w)
		if v == 2 {
			return nil
		}
		futexWait(w, v, 50*time.Millisecond)
		if atomic.LoadUint32(w) == 2 {
			return nil
		}
		if !s.alive() {
			return errStubDied
		}
	}
}

// waitEvent waits until the thread posts an event: polling for spinTime,
// then sleeping on the state word after saying so in the control page (the
// stub's store of the state and its look at that flag are ordered by a
// locked instruction, as the sentry's are by atomic stores, so a wake-up
// cannot be lost).
func (t *thread) waitEvent() error {
	st := word(t.cb, cbState)
	if atomic.LoadUint32(st) == stateEvent {
		return nil
	}
	start := time.Now()
	if busyTime > 0 && t.s.p.awake.Load() <= 1 {
		for i := 1; ; i++ {
			if atomic.LoadUint32(st) == stateEvent {
				return nil
			}
			if i%64 == 0 && time.Since(start) > busyTime {
				break
			}
		}
	}
	deadline := start.Add(spinTime)
	for i := 0; ; i++ {
		if atomic.LoadUint32(st) == stateEvent {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
	waiting := word(t.cb, cbSentryWaiting)
	for {
		atomic.StoreUint32(waiting, 1)
		v := atomic.LoadUint32(st)
		if v != stateEvent {
			if t.s.p.awake.Load() <= 1 {
				holdWait(st, v)
			} else {
				futexWait(st, v, 50*time.Millisecond)
			}
		}
		atomic.StoreUint32(waiting, 0)
		if atomic.LoadUint32(st) == stateEvent {
			return nil
		}
		if !t.s.alive() {
			return errStubDied
		}
	}
}

// post hands the parked thread a new state (resume, request, exit).
func (t *thread) post(state uint32) {
	st := word(t.cb, cbState)
	busy := uint32(0)
	if t.s.p.awake.Load() <= 1 {
		busy = uint32(stubBusy)
	}
	*word(t.cb, cbBusy) = busy
	atomic.StoreUint32(st, state)
	if atomic.LoadUint32(word(t.cb, cbStubWaiting)) != 0 {
		futexWake(st)
	}
}

// threadRequest makes a parked thread execute one host syscall.
func (t *thread) request(nr uintptr, args ...uintptr) (uintptr, error) {
	*quad(t.cb, cbNr) = uint64(nr)
	for i := 0; i < 6; i++ {
		var a uintptr
		if i < len(args) {
			a = args[i]
		}
		*quad(t.cb, cbArgs+8*i) = uint64(a)
	}
	t.post(stateRequest)
	if err := t.waitEvent(); err != nil {
		return 0, err
	}
	return result(*quad(t.cb, cbResult))
}

func result(r uint64) (uintptr, error) {
	if e := int64(r); e < 0 && e > -4096 {
		return 0, unix.Errno(-e)
	}
	return uintptr(r), nil
}

// syscall makes a host syscall in the stub: by the caller's own parked
// thread when the calling OS thread is a task's that is in the sentry for
// this address space, else by the main thread.
func (s *stub) syscall(nr uintptr, args ...uintptr) (uintptr, error) {
	s.mu.Lock()
	t := s.byTID[unix.Gettid()]
	s.mu.Unlock()
	if t != nil && atomic.LoadUint32(word(t.cb, cbState)) == stateEvent {
		return t.request(nr, args...)
	}
	return s.request(nr, 0, args...)
}

// request makes the main thread execute one host syscall.
func (s *stub) request(nr uintptr, childSlot uintptr, args ...uintptr) (uintptr, error) {
	s.ctlMu.Lock()
	defer s.ctlMu.Unlock()
	cb := s.region[:pageSize]
	*quad(cb, cbNr) = uint64(nr)
	for i := 0; i < 6; i++ {
		var a uintptr
		if i < len(args) {
			a = args[i]
		}
		*quad(cb, cbArgs+8*i) = uint64(a)
	}
	*quad(cb, cbChildSlot) = uint64(childSlot)
	req := word(cb, cbRequest)
	atomic.StoreUint32(req, 1)
	futexWake(req)
	if err := s.waitControl(req); err != nil {
		return 0, err
	}
	r := *quad(cb, cbResult)
	atomic.StoreUint32(req, 0)
	return result(r)
}

// MapFile implements platform.AddressSpace. The pages are populated with the
// mapping (MAP_POPULATE): the sentry maps what a fault populated, a chunk
// at a time, and one call is cheaper than a host fault per page (17.6 us
// per page of first touch became 10 us here, native's figure).
func (s *stub) MapFile(addr, length uintptr, off int64, access platform.Access) error {
	_, err := s.syscall(unix.SYS_MMAP, addr, length, uintptr(access.Prot()),
		unix.MAP_SHARED|unix.MAP_FIXED|unix.MAP_POPULATE, uintptr(s.p.memFD), uintptr(off))
	return err
}

// Scratch area for MapHostFile in slot 0's control page (stub.asm's
// layout ends before it): a msghdr, its iovec, a byte of data and the
// control message carrying the FD.
const (
	scratchMsghdr = 0x100
	scratchIovec  = 0x140
	scratchByte   = 0x150
	scratchCmsg   = 0x160
)

// MapHostFile implements platform.HostFileMapper: the host FD travels to
// the stub over its socket (SCM_RIGHTS), the stub maps it (private or
// shared, never writable: its filter allows nothing else) and closes it.
// Faults in the mapping are then the host's: the application reads the
// host's page cache with no copy and no round trip to the sentry.
func (s *stub) MapHostFile(addr, length uintptr, fd int, off int64, access platform.Access, shared bool) error {
	if access.Write {
		return unix.EACCES
	}
	s.hostMu.Lock()
	defer s.hostMu.Unlock()
	// The data byte is a sequence number: a message left queued by an
	// earlier call that failed is recognized, and its FD closed, rather
	// than mapped in place of this one.
	s.hostSeq++
	if err := unix.Sendmsg(s.sock, []byte{s.hostSeq}, unix.UnixRights(fd), nil, unix.MSG_DONTWAIT); err != nil {
		return err
	}
	cb := s.region[:pageSize]
	base := uint64(regionBase)
	// struct msghdr: name, namelen, iov, iovlen, control, controllen, flags.
	for i := scratchMsghdr; i < scratchCmsg+32; i++ {
		cb[i] = 0
	}
	*quad(cb, scratchMsghdr+16) = base + scratchIovec
	*quad(cb, scratchMsghdr+24) = 1
	*quad(cb, scratchMsghdr+32) = base + scratchCmsg
	*quad(cb, scratchMsghdr+40) = uint64(unix.CmsgSpace(4))
	*quad(cb, scratchIovec) = base + scratchByte
	*quad(cb, scratchIovec+8) = 1
	stubSock := uintptr(s.p.memFD + 2)
	var theirs uintptr
	for {
		*quad(cb, scratchMsghdr+40) = uint64(unix.CmsgSpace(4))
		if _, err := s.syscall(unix.SYS_RECVMSG, stubSock, uintptr(base+scratchMsghdr), unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT); err != nil {
			return err
		}
		// struct cmsghdr: len (8), level (4), type (4), then the FD.
		if *quad(cb, scratchCmsg) != uint64(unix.CmsgLen(4)) || *word(cb, scratchCmsg+8) != unix.SOL_SOCKET || *word(cb, scratchCmsg+12) != unix.SCM_RIGHTS {
			return fmt.Errorf("%w: no FD received", errStubDied)
		}
		theirs = uintptr(*word(cb, scratchCmsg+16))
		if cb[scratchByte] == s.hostSeq {
			break
		}
		s.syscall(unix.SYS_CLOSE, theirs) // a stale one
	}
	flags := uintptr(unix.MAP_PRIVATE | unix.MAP_FIXED)
	if shared {
		flags = unix.MAP_SHARED | unix.MAP_FIXED
	}
	_, err := s.syscall(unix.SYS_MMAP, addr, length, uintptr(access.Prot()), flags, theirs, uintptr(off))
	s.syscall(unix.SYS_CLOSE, theirs)
	return err
}

// Unmap implements platform.AddressSpace.
func (s *stub) Unmap(addr, length uintptr) error {
	_, err := s.syscall(unix.SYS_MUNMAP, addr, length)
	return err
}

// Release implements platform.AddressSpace: the stub process is killed and
// reaped; the region goes when no context holds a thread of it.
func (s *stub) Release() {
	s.mu.Lock()
	if s.released {
		s.mu.Unlock()
		return
	}
	s.released = true
	s.mu.Unlock()
	s.dead.Store(true)
	unix.Kill(s.pid, unix.SIGKILL)
	go func() {
		reap(s.pid)
		unix.Close(s.pidfd)
	}()
	s.decRef()
}

func (s *stub) decRef() {
	s.mu.Lock()
	s.refs--
	last := s.refs == 0
	s.mu.Unlock()
	if last {
		unix.Munmap(s.region)
		unix.Close(s.regionFD)
		unix.Close(s.sock)
	}
}

// newThread clones a stub thread into a free slot and waits for it to
// report.
func (s *stub) newThread() (*thread, error) {
	s.mu.Lock()
	slot := -1
	for i := 1; i < maxSlots; i++ {
		cb := s.region[i*slotSize : i*slotSize+pageSize]
		if !s.slotUsed[i] && atomic.LoadUint32(word(cb, cbChildTID)) == 0 {
			slot = i
			break
		}
	}
	if slot < 0 || s.released {
		s.mu.Unlock()
		if slot < 0 {
			return nil, fmt.Errorf("stub: all %d thread slots in use", maxSlots-1)
		}
		return nil, errStubDied
	}
	s.slotUsed[slot] = true
	s.refs++
	s.mu.Unlock()
	t := &thread{s: s, slot: slot, cb: s.region[slot*slotSize : slot*slotSize+pageSize]}
	stubSlot := regionBase + uintptr(slot*slotSize)
	// stack_t {ss_sp, ss_flags, ss_size} for the thread's sigaltstack.
	*quad(t.cb, cbAltStack) = uint64(stubSlot + pageSize)
	*quad(t.cb, cbAltStack+8) = 0
	*quad(t.cb, cbAltStack+16) = slotSize - pageSize
	atomic.StoreUint32(word(t.cb, cbState), stateRunning)
	*word(t.cb, cbSetFS) = 0
	atomic.StoreUint32(word(t.cb, cbChildTID), 1)
	const flags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
		unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_CHILD_CLEARTID
	tid, err := s.request(unix.SYS_CLONE, stubSlot, flags, 0, 0, stubSlot+cbChildTID, 0)
	if err != nil {
		atomic.StoreUint32(word(t.cb, cbChildTID), 0)
		s.putSlot(t)
		return nil, fmt.Errorf("cloning a stub thread: %w", err)
	}
	t.tid = int(tid)
	// The new thread traps at once (int3) and waits in the handler.
	if err := t.waitEvent(); err != nil {
		s.putSlot(t)
		return nil, err
	}
	return t, nil
}

func (s *stub) putSlot(t *thread) {
	s.mu.Lock()
	s.slotUsed[t.slot] = false
	s.mu.Unlock()
	s.decRef()
}

// ucontext returns the sentry's view of the frame the parked thread posted,
// checked to lie in the thread's signal stack; nil when it does not.
func (t *thread) frame() (info, uc []byte) {
	lo := regionBase + uintptr(t.slot*slotSize+pageSize)
	hi := regionBase + uintptr((t.slot+1)*slotSize)
	in := func(addr uint64, n uintptr) []byte {
		a := uintptr(addr)
		if a < lo || a+n > hi || a+n < a {
			return nil
		}
		off := a - regionBase
		return t.s.region[off : off+n]
	}
	return in(*quad(t.cb, cbInfo), 128), in(*quad(t.cb, cbUcontext), ucontextSize)
}

// fpstate returns the XSAVE area of the parked thread's frame.
func (t *thread) fpstate(uc []byte) []byte {
	addr := uintptr(*quad(uc, ucMcontext+mcFPState))
	lo := regionBase + uintptr(t.slot*slotSize+pageSize)
	hi := regionBase + uintptr((t.slot+1)*slotSize)
	if addr < lo || addr+fxsaveSize > hi {
		return nil
	}
	off := addr - regionBase
	size := uintptr(fxsaveSize)
	fp := t.s.region[off:]
	if *word(fp, swBytesOffset) == fpXstateMagic1 {
		if xs := uintptr(*word(fp, swBytesOffset+16)); xs >= fxsaveSize && addr+xs <= hi {
			size = xs
		}
	}
	return fp[:size]
}

// context is one execution context: the application thread of one task,
// running in the stub thread it has in each address space it enters.
type context struct {
	p *Platform
	// mu guards running, interrupted, last, owned, pendingFP, detached
	// and released. Detach and Attach hold it while they take each owned
	// thread's stub.mu: context.mu before stub.mu, never the other way.
	mu sync.Mutex
	// detached is set between Detach and Attach (the task blocks), and
	// released by Release: the context no longer counts in p.awake.
	detached, released bool
	// running is the thread being switched into, nil between Switches.
	running     *thread
	interrupted bool
	last        *thread
	// owned are the stub threads made for this context.
	owned []*thread
	// pendingFP is FP state to load at the next Switch (set before the
	// context first ran).
	pendingFP []byte
}

// threadIn returns the context's thread in s, making it on first use.
func (c *context) threadIn(s *stub) (*thread, error) {
	s.mu.Lock()
	t := s.threads[c]
	s.mu.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := s.newThread()
	if err != nil {
		return nil, err
	}
	// A context is switched into from one OS thread at a time (the task's
	// goroutine is locked to it between Attach and Detach): recorded
	// here and by Attach, not per switch.
	s.mu.Lock()
	s.threads[c] = t
	s.byTID[unix.Gettid()] = t
	s.mu.Unlock()
	c.mu.Lock()
	c.owned = append(c.owned, t)
	c.mu.Unlock()
	return t, nil
}

// Detach implements platform.MovableContext: the calling OS thread stops
// being the context's, so a host syscall made from it (stub.syscall) no
// longer goes to the context's parked stub threads. The sentry detaches
// when the task blocks, so the parked thread is told to stop spinning and
// sleep: on 2 CPUs, a stub thread that spins through a long wait only
// trades the CPU back and forth with others doing the same.
func (c *context) Detach() { c.rebind(false) }

// Attach implements platform.MovableContext: the calling OS thread becomes
// the context's.
func (c *context) Attach() { c.rebind(true) }

// rebind records (attach) or forgets the calling OS thread as the one that
// switches into c's stub threads, and tells the thread c last ran in
// whether to sleep through the wait (not attached: the task blocks).
func (c *context) rebind(attach bool) {
	tid := unix.Gettid()
	c.mu.Lock() // before stub.mu
	defer c.mu.Unlock()
	if !c.released && c.detached == attach {
		c.detached = !attach
		if attach {
			c.p.awake.Add(1)
		} else {
			c.p.awake.Add(-1)
		}
	}
	if c.last != nil {
		sleep := uint32(1)
		if attach {
			sleep = 0
		}
		atomic.StoreUint32(word(c.last.cb, cbSleepNow), sleep)
	}
	for _, t := range c.owned {
		t.s.mu.Lock()
		switch {
		case attach && t.s.threads[c] == t:
			t.s.byTID[tid] = t
		case !attach && t.s.byTID[tid] == t:
			delete(t.s.byTID, tid)
		}
		t.s.mu.Unlock()
	}
}

// Interrupt implements platform.Context.
func (c *context) Interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running != nil {
		unix.Tgkill(c.running.s.pid, c.running.tid, interruptSignal)
		return
	}
	c.interrupted = true
}

// Release implements platform.Context: the context's stub threads exit.
func (c *context) Release() {
	c.mu.Lock()
	owned := c.owned
	c.owned = nil
	c.last = nil
	if !c.released && !c.detached {
		c.p.awake.Add(-1)
	}
	c.released = true
	c.mu.Unlock()
	for _, t := range owned {
		s := t.s
		s.mu.Lock()
		if s.threads[c] == t {
			delete(s.threads, c)
		}
		for tid, x := range s.byTID {
			if x == t {
				delete(s.byTID, tid)
			}
		}
		s.slotUsed[t.slot] = false
		s.mu.Unlock()
		if !s.dead.Load() {
			t.post(stateExit)
			futexWake(word(t.cb, cbState))
		}
		s.decRef()
	}
}

// CPUTime implements platform.Context: the CPU clock of the stub process
// the context last ran in (a thread's clock can only be read by its own
// process; the stub's threads other than this one's use almost none).
func (c *context) CPUTime() time.Duration {
	c.mu.Lock()
	t := c.last
	c.mu.Unlock()
	if t == nil {
		return 0
	}
	return platform.ProcessCPUTime(t.s.pid)
}

// Switch implements platform.Context.
func (c *context) Switch(as platform.AddressSpace, regs *platform.Registers) (platform.Event, error) {
	s := as.(*stub)
	t, err := c.threadIn(s)
	if err != nil {
		return platform.Event{}, err
	}
	c.mu.Lock()
	if c.interrupted {
		c.interrupted = false
		c.mu.Unlock()
		return platform.Event{Kind: platform.EventInterrupted}, nil
	}
	c.running = t
	c.last = t
	fp := c.pendingFP
	c.pendingFP = nil
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = nil
		c.mu.Unlock()
	}()

	_, uc := t.frame()
	if uc == nil {
		return platform.Event{}, fmt.Errorf("%w: stub thread %d posted a frame outside its stack", errStubDied, t.tid)
	}
	if fp != nil {
		copyFP(t.fpstate(uc), fp)
	}
	storeRegs(uc, regs)
	if !t.fsBaseOK || t.fsBase != regs.Fs_base {
		*quad(t.cb, cbFSBase) = regs.Fs_base
		*word(t.cb, cbSetFS) = 1
		t.fsBase, t.fsBaseOK = regs.Fs_base, true
	}
	t.post(stateResume)
	if err := t.waitEvent(); err != nil {
		return platform.Event{}, err
	}
	info, uc := t.frame()
	if uc == nil || info == nil {
		return platform.Event{}, fmt.Errorf("%w: stub thread %d posted a frame outside its stack", errStubDied, t.tid)
	}
	loadRegs(uc, regs)
	signo := int(*word(t.cb, cbSigno))
	code := int(int32(*word(info, 8)))
	addr := uintptr(*quad(info, 16))
	regs.Orig_rax = ^uint64(0)
	switch {
	case signo == int(unix.SIGSYS) && code == sysSeccomp:
		nr := uint64(int32(*word(info, 24)))
		if *word(info, 28) != auditArchX8664 {
			nr = ^uint64(0) // not an x86-64 syscall: ENOSYS
		}
		regs.Orig_rax = nr
		regs.Rax = ^uint64(unix.ENOSYS) + 1
		return platform.Event{Kind: platform.EventSyscall}, nil
	case signo == int(interruptSignal):
		return platform.Event{Kind: platform.EventInterrupted}, nil
	case (signo == int(unix.SIGSEGV) || signo == int(unix.SIGBUS)) && code > 0 && code != 0x80:
		return platform.Event{Kind: platform.EventFault, Signo: signo, Code: code, Addr: addr}, nil
	}
	return platform.Event{Kind: platform.EventSignal, Signo: signo, Code: code, Addr: addr}, nil
}

// sysSeccomp is SIGSYS's si_code for a seccomp trap.
const sysSeccomp = 1

// FPState implements platform.Context: the XSAVE area of the frame the
// thread is parked on.
func (c *context) FPState() ([]byte, error) {
	c.mu.Lock()
	t := c.last
	pending := c.pendingFP
	c.mu.Unlock()
	if t == nil {
		if pending != nil {
			return append([]byte(nil), pending...), nil
		}
		return initialFPState(), nil
	}
	_, uc := t.frame()
	if uc == nil {
		return nil, errStubDied
	}
	fp := t.fpstate(uc)
	if fp == nil {
		return nil, errStubDied
	}
	return append([]byte(nil), fp...), nil
}

// SetFPState implements platform.Context.
func (c *context) SetFPState(state []byte) error {
	if len(state) == 0 {
		return nil
	}
	c.mu.Lock()
	t := c.last
	if t == nil {
		c.pendingFP = append([]byte(nil), state...)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	_, uc := t.frame()
	if uc == nil {
		return errStubDied
	}
	copyFP(t.fpstate(uc), state)
	return nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}
