package seccomp

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"sbx/platform"
)

// TestSwitch runs a few instructions in a stub: a syscall must come back as an
// EventSyscall with its number and arguments, and a write to an unmapped page
// as an EventFault at that address.
func TestSwitch(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	fd, err := unix.MemfdCreate("test", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, pageSize); err != nil {
		t.Fatal(err)
	}
	code := []byte{
		0xb8, 0x27, 0x00, 0x00, 0x00, // mov eax, 39 (getpid)
		0xbf, 0x07, 0x00, 0x00, 0x00, // mov edi, 7
		0x0f, 0x05, // syscall
		0x48, 0xc7, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // mov qword [0x1000], 1
	}
	if _, err := unix.Pwrite(fd, code, 0); err != nil {
		t.Fatal(err)
	}
	p, err := New(fd)
	if err != nil {
		t.Fatal(err)
	}
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	defer as.Release()
	const codeAddr = 0x400000
	if err := as.MapFile(codeAddr, pageSize, 0, platform.Access{Read: true, Execute: true}); err != nil {
		t.Fatal(err)
	}
	ctx, _ := p.NewContext()
	regs := platform.Registers{Rip: codeAddr, Rsp: 0}
	ev, err := ctx.Switch(as, &regs)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != platform.EventSyscall || regs.Orig_rax != 39 || regs.Rdi != 7 {
		t.Fatalf("got %+v orig_rax=%d rdi=%d, want syscall 39(7)", ev, regs.Orig_rax, regs.Rdi)
	}
	regs.Rax = 1234
	ev, err = ctx.Switch(as, &regs)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != platform.EventFault || ev.Addr != 0x1000 || ev.Signo != int(unix.SIGSEGV) {
		t.Fatalf("got %+v, want a SIGSEGV fault at 0x1000", ev)
	}
	if regs.Rax != 1234 {
		t.Fatalf("rax = %d after syscall return, want 1234", regs.Rax)
	}
	// After an interrupt the next Switch returns at once.
	ctx.Interrupt()
	if ev, err := ctx.Switch(as, &regs); err != nil || ev.Kind != platform.EventInterrupted {
		t.Fatalf("got %+v, %v; want interrupted", ev, err)
	}
}

// BenchmarkSyscallRoundTrip measures one trapped syscall served by the
// sentry: trap, hand-off, resume.
func BenchmarkSyscallRoundTrip(b *testing.B) {
	fd, err := unix.MemfdCreate("test", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	unix.Ftruncate(fd, pageSize)
	code := []byte{0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7} // mov eax,39; syscall; jmp -9
	unix.Pwrite(fd, code, 0)
	p, err := New(fd)
	if err != nil {
		b.Fatal(err)
	}
	as, err := p.NewAddressSpace()
	if err != nil {
		b.Fatal(err)
	}
	defer as.Release()
	as.MapFile(0x400000, pageSize, 0, platform.Access{Read: true, Execute: true})
	ctx, _ := p.NewContext()
	regs := platform.Registers{Rip: 0x400000}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ev, err := ctx.Switch(as, &regs); err != nil || ev.Kind != platform.EventSyscall {
			b.Fatalf("%v %v", ev, err)
		}
	}
}

// TestAwakeCountsUnblockedContexts checks the count the busy and holding
// waits depend on: a context counts from its making to its release, except
// between Detach and Attach (its task blocks).
func TestAwakeCountsUnblockedContexts(t *testing.T) {
	p := &Platform{}
	a, _ := p.NewContext()
	b, _ := p.NewContext()
	want := func(n int32, when string) {
		t.Helper()
		if got := p.awake.Load(); got != n {
			t.Fatalf("%s: awake = %d, want %d", when, got, n)
		}
	}
	want(2, "two made")
	a.(*context).Detach()
	want(1, "one detached")
	a.(*context).Detach()
	want(1, "detached twice")
	a.(*context).Release()
	want(1, "detached one released")
	b.(*context).Attach()
	want(1, "attached while attached")
	b.(*context).Release()
	b.(*context).Release()
	want(0, "both released")
	b.(*context).Attach()
	want(0, "attached after release")
}

// TestShareCPUsAtSecondContext checks that the processors are set when the
// second context is made, not before.
func TestShareCPUsAtSecondContext(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	runtime.GOMAXPROCS(3)
	p := &Platform{}
	p.ShareCPUs(1)
	p.NewContext()
	if n := runtime.GOMAXPROCS(0); n != 3 {
		t.Fatalf("after the first context GOMAXPROCS = %d, want 3", n)
	}
	p.NewContext()
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("after the second context GOMAXPROCS = %d, want 1", n)
	}
}
