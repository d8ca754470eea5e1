package seccomp

import (
	"encoding/binary"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Making a stub process. A stub is a fresh process running the stub image:
// a static ELF file (in a memfd) whose only segment is the code page, at its
// fixed address, and whose entry point, stub_boot, maps the region, installs
// the signal actions, the mask and the seccomp filter written into the page,
// and then serves the sentry. It is started with vfork and execveat
// (vforkExec), so nothing of the sentry is copied: cloning the sentry itself
// would copy its page tables and make every page it writes afterwards take a
// copy-on-write fault, which costs milliseconds per address space.
//
// The clone is made by one locked OS thread that never exits (the forker),
// because the stub's parent-death signal follows the thread that made it.

//go:linkname beforeFork syscall.runtime_BeforeFork
func beforeFork()

//go:linkname afterFork syscall.runtime_AfterFork
func afterFork()

func vforkExec(a *execArgs) (pid uintptr, errno uintptr)

// execArgs is what the vfork child reads; jump_amd64.s knows the offsets.
type execArgs struct {
	memFD, regionFD, imageFD uintptr
	path, argv, envp         uintptr
	sockFD                   uintptr
}

// The image's path ("" with AT_EMPTY_PATH), argument and environment
// vectors: package variables, so they outlive every child that reads them.
var (
	stubPath = []byte{0}
	stubArg0 = []byte("sbx-stub\x00")
	stubArgv = []uintptr{uintptr(unsafe.Pointer(&stubArg0[0])), 0}
	stubEnvp = []uintptr{0}
)

// kernelSigaction is the kernel's struct sigaction for rt_sigaction(2).
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// sa_flags bits (asm-generic/signal.h).
const (
	saSiginfo  = 0x4
	saOnstack  = 0x08000000
	saRestorer = 0x04000000
)

// Offsets in the code page of what stub_boot reads (stub.asm).
const (
	bootMemFD     = 0x818
	bootHandled   = 0x820
	bootIgnored   = 0x840
	bootSignals   = 0x860
	bootMask      = 0x868
	bootFprog     = 0x870
	bootFilter    = 0x880
	maxFilterSize = (pageSize - bootFilter) / 8
)

// codePage returns the stub's code page for memFD and filter.
func codePage(memFD int, filter []unix.SockFilter) []byte {
	page := make([]byte, pageSize)
	for i := range page {
		page[i] = 0xcc
	}
	copy(page, stubCode)
	le := binary.LittleEndian
	le.PutUint64(page[topOffset:], userTop)
	le.PutUint64(page[regionOffset:], regionBase)
	le.PutUint32(page[off_spin_count:], uint32(stubSpin))
	le.PutUint32(page[bootMemFD:], uint32(memFD))
	putAction := func(off int, a kernelSigaction) {
		le.PutUint64(page[off:], uint64(a.handler))
		le.PutUint64(page[off+8:], a.flags)
		le.PutUint64(page[off+16:], uint64(a.restorer))
		le.PutUint64(page[off+24:], a.mask)
	}
	putAction(bootHandled, kernelSigaction{
		handler:  codeBase + off_handler,
		flags:    saSiginfo | saOnstack | saRestorer,
		restorer: codeBase + off_restorer,
		mask:     ^uint64(0),
	})
	putAction(bootIgnored, kernelSigaction{handler: 1 /* SIG_IGN */})
	var handled uint64
	for _, sig := range handledSignals {
		handled |= 1 << (uint(sig) - 1)
	}
	le.PutUint64(page[bootSignals:], handled)
	le.PutUint64(page[bootMask:], ^stubSignalMask())
	le.PutUint16(page[bootFprog:], uint16(len(filter)))
	le.PutUint64(page[bootFprog+8:], codeBase+bootFilter)
	for i, ins := range filter {
		o := bootFilter + 8*i
		le.PutUint16(page[o:], ins.Code)
		page[o+2] = ins.Jt
		page[o+3] = ins.Jf
		le.PutUint32(page[o+4:], ins.K)
	}
	return page
}

// stubImage returns a static ELF executable whose one segment maps page at
// codeBase (read and execute) and whose entry point is stub_boot.
func stubImage(page []byte) []byte {
	img := make([]byte, 2*pageSize)
	le := binary.LittleEndian
	copy(img, []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */})
	le.PutUint16(img[16:], 2)  // ET_EXEC
	le.PutUint16(img[18:], 62) // EM_X86_64
	le.PutUint32(img[20:], 1)  // EV_CURRENT
	le.PutUint64(img[24:], codeBase+off_stub_boot)
	le.PutUint64(img[32:], 64) // program headers right after this header
	le.PutUint16(img[52:], 64) // header size
	le.PutUint16(img[54:], 56) // program header size
	le.PutUint16(img[56:], 1)  // one program header
	le.PutUint16(img[58:], 64) // section header size (there are none)
	ph := img[64:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // PF_R|PF_X
	le.PutUint64(ph[8:], pageSize)
	le.PutUint64(ph[16:], codeBase)
	le.PutUint64(ph[24:], codeBase)
	le.PutUint64(ph[32:], pageSize)
	le.PutUint64(ph[40:], pageSize)
	le.PutUint64(ph[48:], pageSize)
	copy(img[pageSize:], page)
	return img
}

// imageFile writes img into a sealed memfd, whose number is at least
// above+3 (the vfork child moves the region's FD and the stub's socket to
// above+1 and above+2).
func imageFile(img []byte, above int) (int, error) {
	fd, err := unix.MemfdCreate("sbx-stub", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, err
	}
	for done := 0; done < len(img); {
		n, err := unix.Write(fd, img[done:])
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		done += n
	}
	unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE)
	return fdAbove(fd, above+3)
}

// fdAbove returns fd, or, when it is below min, a duplicate at min or
// above (close-on-exec) with fd closed.
func fdAbove(fd, min int) (int, error) {
	if fd >= min {
		return fd, nil
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, min)
	unix.Close(fd)
	return nfd, err
}

type forkRequest struct {
	args *execArgs
	res  chan forkResult
}

type forkResult struct {
	pid   int
	errno unix.Errno
}

// forker runs the forks; started once.
func forker(reqs chan forkRequest) {
	runtime.LockOSThread() // never unlocked: the stubs' parent-death signal follows this thread
	for r := range reqs {
		pid, errno := forkStub(r.args)
		r.res <- forkResult{pid, errno}
	}
}

// forkStub starts a stub process from the calling thread. Signals stay
// blocked in the thread (and so in the child) from beforeFork to
// afterFork.
func forkStub(a *execArgs) (int, unix.Errno) {
	syscall.ForkLock.Lock()
	beforeFork()
	pid, errno := vforkExec(a)
	afterFork()
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(a)
	return int(pid), unix.Errno(errno)
}
