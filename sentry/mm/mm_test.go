package mm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/platform"
	"sbx/sentry/memfile"
)

// The fake platform reserves the top page of the x86-64 user address space
// (TASK_SIZE = 0x7ffffffff000) for itself, as the real platforms do.
const (
	pg      = uintptr(PageSize)
	maxUser = uintptr(0x7ffffffff000 - 4096)
)

var (
	none = platform.Access{}
	ro   = platform.Access{Read: true}
	wo   = platform.Access{Write: true}
	xo   = platform.Access{Execute: true}
	rw   = platform.Access{Read: true, Write: true}
	rx   = platform.Access{Read: true, Execute: true}
)

// ---------------------------------------------------------------------------
// Fake platform.

type mapCall struct {
	addr, length uintptr
	off          int64
	access       platform.Access
}

type fakeMapping struct {
	off    int64
	access platform.Access
}

// fakeAS records the calls made to it and keeps a model of what the host
// would have mapped, page by page.
type fakeAS struct {
	mu       sync.Mutex
	maps     []mapCall
	unmaps   [][2]uintptr
	mapped   map[uintptr]fakeMapping
	bad      []string // requests a host mmap/munmap would have refused
	released int
}

func (a *fakeAS) MapFile(addr, length uintptr, off int64, access platform.Access) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maps = append(a.maps, mapCall{addr, length, off, access})
	if addr%pg != 0 || length%pg != 0 || off%int64(pg) != 0 || length == 0 || addr < MinAddress ||
		addr > maxUser || length > maxUser-addr {
		a.bad = append(a.bad, fmt.Sprintf("MapFile(%#x, %#x, %#x)", addr, length, off))
		return unix.EINVAL
	}
	for i := uintptr(0); i < length; i += pg {
		a.mapped[addr+i] = fakeMapping{off + int64(i), access}
	}
	return nil
}

func (a *fakeAS) Unmap(addr, length uintptr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unmaps = append(a.unmaps, [2]uintptr{addr, length})
	if addr%pg != 0 || length%pg != 0 || addr > maxUser || length > maxUser-addr {
		a.bad = append(a.bad, fmt.Sprintf("Unmap(%#x, %#x)", addr, length))
		return unix.EINVAL
	}
	for p := range a.mapped {
		if p >= addr && p-addr < length {
			delete(a.mapped, p)
		}
	}
	return nil
}

func (a *fakeAS) Release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.released++
	a.mapped = map[uintptr]fakeMapping{}
}

// mappedAt returns the host's view of the page holding addr.
func (a *fakeAS) mappedAt(addr uintptr) (fakeMapping, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.mapped[pageDown(addr)]
	return m, ok
}

func (a *fakeAS) mapCalls() []mapCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]mapCall(nil), a.maps...)
}

type fakeContext struct{}

func (fakeContext) Switch(platform.AddressSpace, *platform.Registers) (platform.Event, error) {
	return platform.Event{Kind: platform.EventInterrupted}, nil
}
func (fakeContext) Interrupt()               {}
func (fakeContext) CPUTime() time.Duration   { return 0 }
func (fakeContext) FPState() ([]byte, error) { return nil, nil }
func (fakeContext) SetFPState([]byte) error  { return nil }
func (fakeContext) Release()                 {}

type fakePlatform struct{ spaces []*fakeAS }

func (p *fakePlatform) NewAddressSpace() (platform.AddressSpace, error) {
	as := &fakeAS{mapped: map[uintptr]fakeMapping{}}
	p.spaces = append(p.spaces, as)
	return as, nil
}
func (p *fakePlatform) NewContext() (platform.Context, error) { return fakeContext{}, nil }
func (p *fakePlatform) MaxUserAddress() uintptr               { return maxUser }

var (
	_ platform.Platform     = (*fakePlatform)(nil)
	_ platform.AddressSpace = (*fakeAS)(nil)
	_ platform.Context      = fakeContext{}
)

// ---------------------------------------------------------------------------
// Helpers.

type env struct {
	t  *testing.T
	m  *MemoryManager
	as *fakeAS
	mf *memfile.File
}

func newMM(t *testing.T) *env {
	t.Helper()
	mf, err := memfile.New(64 << 20)
	require.NoError(t, err)
	t.Cleanup(mf.Release)
	return newMMOn(t, mf)
}

func newMMOn(t *testing.T, mf *memfile.File) *env {
	t.Helper()
	p := &fakePlatform{}
	m, err := New(p, mf)
	require.NoError(t, err)
	require.Len(t, p.spaces, 1)
	e := &env{t: t, m: m, as: p.spaces[0], mf: mf}
	t.Cleanup(func() {
		e.as.mu.Lock()
		bad := e.as.bad
		e.as.mu.Unlock()
		require.Empty(t, bad, "requests the host would refuse")
		m.Release()
	})
	return e
}

type span struct {
	start, end uintptr
	perms      platform.Access
}

func (e *env) vmas() []span {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	var out []span
	e.m.vmas.Ascend(func(v *vma) bool {
		out = append(out, span{v.start, v.end, v.perms})
		return true
	})
	return out
}

// check verifies the invariants that must hold after every operation: VMAs
// sorted, aligned, disjoint and in bounds; every populated page inside a VMA;
// the platform maps exactly the pages marked mapped, at their offsets, with
// their VMA's permissions; the memory file holds exactly the populated pages.
func (e *env) check() {
	t := e.t
	t.Helper()
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	e.as.mu.Lock()
	defer e.as.mu.Unlock()
	var vs []*vma
	m.vmas.Ascend(func(v *vma) bool { vs = append(vs, v); return true })
	var prevEnd uintptr
	for _, v := range vs {
		require.Less(t, v.start, v.end, "empty VMA")
		require.Zero(t, v.start%pg, "unaligned VMA start %#x", v.start)
		require.Zero(t, v.end%pg, "unaligned VMA end %#x", v.end)
		require.GreaterOrEqual(t, v.start, uintptr(MinAddress), "VMA below mmap_min_addr")
		require.LessOrEqual(t, v.end, maxUser, "VMA above the user address space")
		require.GreaterOrEqual(t, v.start, prevEnd, "VMAs overlap at %#x", v.start)
		prevEnd = v.end
	}
	find := func(a uintptr) *vma {
		for _, v := range vs {
			if v.start <= a && a < v.end {
				return v
			}
		}
		return nil
	}
	offs := map[int64]uintptr{}
	for a, p := range m.pages {
		require.Zero(t, a%pg)
		v := find(a)
		require.NotNil(t, v, "populated page %#x is outside every VMA (leaked)", a)
		if o, dup := offs[p.off]; dup {
			t.Fatalf("pages %#x and %#x share file offset %#x", a, o, p.off)
		}
		offs[p.off] = a
		if p.mapped {
			hm, ok := e.as.mapped[a]
			require.True(t, ok, "page %#x marked mapped but not mapped in the platform", a)
			require.Equal(t, p.off, hm.off, "page %#x mapped at the wrong offset", a)
			require.Equal(t, v.perms, hm.access, "page %#x mapped with perms other than its VMA's", a)
		}
	}
	for a, hm := range e.as.mapped {
		p, ok := m.pages[a]
		require.True(t, ok, "platform still maps %#x, which has no page", a)
		require.True(t, p.mapped, "platform maps %#x, which is marked unmapped", a)
		require.Equal(t, p.off, hm.off)
	}
	require.Equal(t, int64(len(m.pages))*int64(pg), e.mf.Used(), "memory file usage differs from populated pages")
}

func (e *env) mapAt(addr, npages uintptr, perms platform.Access) {
	e.t.Helper()
	a, err := e.m.MMap(MMapOpts{Addr: addr, Length: npages * pg, Perms: perms, Private: true, Fixed: true})
	require.NoError(e.t, err)
	require.Equal(e.t, addr, a)
}

// fill writes tag+i into every byte of page i of [addr, addr+npages*pg).
func (e *env) fill(addr, npages uintptr, tag byte) {
	e.t.Helper()
	for i := uintptr(0); i < npages; i++ {
		_, err := e.m.WriteForce(addr+i*pg, bytes.Repeat([]byte{tag + byte(i)}, int(pg)))
		require.NoError(e.t, err)
	}
}

// wantPage checks that the page at addr is readable and holds only b.
func (e *env) wantPage(addr uintptr, b byte) {
	e.t.Helper()
	buf := make([]byte, pg)
	n, err := e.m.CopyIn(addr, buf)
	require.NoError(e.t, err, "reading page %#x", addr)
	require.Equal(e.t, int(pg), n)
	require.Equal(e.t, bytes.Repeat([]byte{b}, int(pg)), buf, "contents of page %#x", addr)
}

// wantUnmapped checks that nothing is mapped at addr.
func (e *env) wantUnmapped(addr uintptr) {
	e.t.Helper()
	_, err := e.m.CopyIn(addr, make([]byte, 1))
	require.ErrorIs(e.t, err, unix.EFAULT, "%#x should be unmapped", addr)
	code, err := handleFault(e.m, addr)
	require.NoError(e.t, err)
	require.Equal(e.t, SegvMaperr, code, "fault at unmapped %#x", addr)
}

// faultAll faults every page of [addr, addr+npages*pg) in, as the app would.
func (e *env) faultAll(addr, npages uintptr) {
	e.t.Helper()
	for i := uintptr(0); i < npages; i++ {
		if _, ok := e.as.mappedAt(addr + i*pg); ok {
			continue
		}
		code, err := handleFault(e.m, addr+i*pg)
		require.NoError(e.t, err)
		require.Zero(e.t, code)
	}
}

const X = uintptr(0x100000000) // an arbitrary free, aligned address

// ---------------------------------------------------------------------------
// mmap(2)

func TestMMapTopDownBelowBase(t *testing.T) {
	e := newMM(t)
	// Without a hint, Linux's top-down allocator returns the highest free
	// range below mmap_base.
	a1, err := e.m.MMap(MMapOpts{Length: 3 * pg, Perms: rw, Private: true})
	require.NoError(t, err)
	require.Equal(t, maxUser-3*pg, a1)
	a2, err := e.m.MMap(MMapOpts{Length: pg + 1, Perms: rw, Private: true}) // rounded up to 2 pages
	require.NoError(t, err)
	require.Equal(t, a1-2*pg, a2)
	require.Equal(t, []span{{a2, a2 + 2*pg, rw}, {a1, maxUser, rw}}, e.vmas())

	base := uintptr(0x7e0000000123)
	e.m.SetMmapBase(base) // rounded down to a page
	b := uintptr(0x7e0000000000)
	a3, err := e.m.MMap(MMapOpts{Length: 10 * pg, Perms: rw, Private: true})
	require.NoError(t, err)
	require.Equal(t, b-10*pg, a3)
	// A hole made high up is the first one to be reused when it fits.
	require.NoError(t, e.m.Munmap(b-6*pg, 2*pg))
	a4, err := e.m.MMap(MMapOpts{Length: 2 * pg, Perms: rw, Private: true})
	require.NoError(t, err)
	require.Equal(t, b-6*pg, a4)
	require.NoError(t, e.m.Munmap(b-3*pg, 1*pg))
	a5, err := e.m.MMap(MMapOpts{Length: 3 * pg, Perms: rw, Private: true}) // does not fit the 1-page hole
	require.NoError(t, err)
	require.Equal(t, b-13*pg, a5)
	a6, err := e.m.MMap(MMapOpts{Length: pg, Perms: rw, Private: true}) // fits the hole
	require.NoError(t, err)
	require.Equal(t, b-3*pg, a6)

	// A mapping straddling the base pushes the next one below it.
	c := uintptr(0x600000000000)
	e.m.SetMmapBase(c)
	e.mapAt(c-pg, 2, rw)
	a7, err := e.m.MMap(MMapOpts{Length: pg, Perms: rw, Private: true})
	require.NoError(t, err)
	require.Equal(t, c-2*pg, a7)
	e.check()
}

func TestMMapHint(t *testing.T) {
	const existing = uintptr(0x200000000) // 4 pages mapped here
	tests := []struct {
		name   string
		hint   uintptr
		length uintptr
		want   uintptr // 0: anywhere valid, but not the hint
	}{
		{"free aligned hint is used", 0x300000000, 2 * pg, 0x300000000},
		{"unaligned hint is rounded down", 0x300000123, 2 * pg, 0x300000000},
		{"hint just after a mapping", existing + 4*pg, pg, existing + 4*pg},
		{"hint overlapping a mapping", existing + pg, 2 * pg, 0},
		{"hint whose range ends past the address space", maxUser - pg, 2 * pg, 0},
		{"hint below mmap_min_addr", 0x1000, pg, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMM(t)
			e.mapAt(existing, 4, rw)
			e.fill(existing, 4, 1)
			a, err := e.m.MMap(MMapOpts{Addr: tc.hint, Length: tc.length, Perms: rw, Private: true})
			require.NoError(t, err)
			if tc.want != 0 {
				require.Equal(t, tc.want, a)
			} else {
				require.NotEqual(t, pageDown(tc.hint), a)
			}
			require.Zero(t, a%pg)
			require.GreaterOrEqual(t, a, uintptr(MinAddress))
			require.LessOrEqual(t, a+tc.length, maxUser)
			// A hint never disturbs the existing mapping.
			for i := uintptr(0); i < 4; i++ {
				e.wantPage(existing+i*pg, 1+byte(i))
			}
			e.check()
		})
	}
}

func TestMMapNeverBelowMinAddress(t *testing.T) {
	e := newMM(t)
	e.m.SetMmapBase(MinAddress + 4*pg)
	a, err := e.m.MMap(MMapOpts{Length: 4 * pg, Perms: rw, Private: true})
	require.NoError(t, err)
	require.Equal(t, uintptr(MinAddress), a)
	// The area below the base is full: whatever happens, nothing may land
	// below mmap_min_addr or on top of the first mapping.
	for _, l := range []uintptr{pg, 8 * pg, MinAddress} {
		b, err := e.m.MMap(MMapOpts{Length: l, Perms: rw, Private: true})
		if err == nil {
			require.GreaterOrEqual(t, b, uintptr(MinAddress))
			require.True(t, b >= MinAddress+4*pg || b+l <= MinAddress, "mapping %#x overlaps the first one", b)
		} else {
			require.ErrorIs(t, err, unix.ENOMEM)
		}
		e.check()
	}
}

// TestMMapPlacementNeverOverlaps runs a pseudo-random sequence of mmap and
// munmap calls in a small window and checks every placement against a model.
func TestMMapPlacementNeverOverlaps(t *testing.T) {
	e := newMM(t)
	const window = 256
	base := uintptr(MinAddress) + window*pg
	e.m.SetMmapBase(base)
	rng := rand.New(rand.NewPCG(1, 2))
	used := map[uintptr]bool{} // page -> mapped
	type region struct{ a, l uintptr }
	var live []region
	for i := 0; i < 2000; i++ {
		if len(live) > 0 && rng.IntN(3) == 0 {
			k := rng.IntN(len(live))
			r := live[k]
			live = append(live[:k], live[k+1:]...)
			require.NoError(t, e.m.Munmap(r.a, r.l))
			for p := r.a; p < r.a+r.l; p += pg {
				delete(used, p)
			}
			continue
		}
		l := uintptr(1+rng.IntN(16)) * pg
		var hint uintptr
		if rng.IntN(4) == 0 {
			hint = uintptr(MinAddress) + uintptr(rng.IntN(window))*pg
		}
		a, err := e.m.MMap(MMapOpts{Addr: hint, Length: l, Perms: rw, Private: true})
		if err != nil {
			require.ErrorIs(t, err, unix.ENOMEM)
			// ENOMEM is only right if no free run of l bytes is left.
			run := uintptr(0)
			for p := uintptr(MinAddress); p < base; p += pg {
				if used[p] {
					run = 0
					continue
				}
				run += pg
				require.Less(t, run, l, "ENOMEM for %d pages with a free run at %#x", l/pg, p+pg-run)
			}
			continue
		}
		require.Zero(t, a%pg)
		require.GreaterOrEqual(t, a, uintptr(MinAddress))
		require.LessOrEqual(t, a+l, maxUser)
		if hint == 0 {
			require.LessOrEqual(t, a+l, base, "mapping without hint above mmap base")
		}
		for p := a; p < a+l; p += pg {
			require.False(t, used[p], "new mapping at %#x overlaps page %#x", a, p)
			used[p] = true
		}
		live = append(live, region{a, l})
		if i%100 == 0 {
			e.check()
		}
	}
	e.check()
}

func TestMMapFixedReplacesPart(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 8, rw)
	e.fill(X, 8, 1)
	e.faultAll(X, 8)
	e.check()

	e.mapAt(X+2*pg, 3, ro)
	require.Equal(t, []span{{X, X + 2*pg, rw}, {X + 2*pg, X + 5*pg, ro}, {X + 5*pg, X + 8*pg, rw}}, e.vmas())
	// The replaced pages were freed; the others kept.
	require.Equal(t, int64(5*pg), e.mf.Used())
	e.check()
	for _, i := range []uintptr{0, 1, 5, 6, 7} {
		e.wantPage(X+i*pg, 1+byte(i))
	}
	for _, i := range []uintptr{2, 3, 4} {
		e.wantPage(X+i*pg, 0) // fresh anonymous memory reads as zero
	}
	_, err := e.m.CopyOut(X+3*pg, []byte{1})
	require.ErrorIs(t, err, unix.EFAULT, "replacement is read-only")

	// MAP_FIXED over several VMAs and a hole at once.
	e.mapAt(X+7*pg, 2, rw) // [X+7p, X+9p): ends past the old mapping
	e.mapAt(X+pg, 7, rx)
	require.Equal(t, []span{{X, X + pg, rw}, {X + pg, X + 8*pg, rx}, {X + 8*pg, X + 9*pg, rw}}, e.vmas())
	e.wantPage(X, 1)
	e.check()
}

func TestMMapFixedNoReplace(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 4, rw)
	e.fill(X, 4, 1)
	noReplace := func(addr, n uintptr) (uintptr, error) {
		return e.m.MMap(MMapOpts{Addr: addr, Length: n * pg, Perms: ro, Private: true, NoReplace: true})
	}
	for _, r := range []struct{ addr, n uintptr }{
		{X, 1}, {X + 3*pg, 2}, {X - pg, 2}, {X - pg, 6}, {X + pg, 1},
	} {
		_, err := noReplace(r.addr, r.n)
		require.ErrorIs(t, err, unix.EEXIST, "MAP_FIXED_NOREPLACE at %#x, %d pages", r.addr, r.n)
	}
	require.Equal(t, []span{{X, X + 4*pg, rw}}, e.vmas())
	for i := uintptr(0); i < 4; i++ {
		e.wantPage(X+i*pg, 1+byte(i))
	}
	a, err := noReplace(X+4*pg, 1)
	require.NoError(t, err)
	require.Equal(t, X+4*pg, a)
	a, err = noReplace(X-2*pg, 2)
	require.NoError(t, err)
	require.Equal(t, X-2*pg, a)
	_, err = noReplace(X+10*pg+1, 1)
	require.ErrorIs(t, err, unix.EINVAL)
	e.check()
}

func TestMMapErrors(t *testing.T) {
	tests := []struct {
		name string
		o    MMapOpts
		want error
	}{
		{"zero length", MMapOpts{Length: 0}, unix.EINVAL},
		{"zero length fixed", MMapOpts{Addr: X, Fixed: true}, unix.EINVAL},
		{"length overflows when rounded", MMapOpts{Length: ^uintptr(0)}, unix.ENOMEM},
		{"length larger than the address space", MMapOpts{Length: maxUser + pg}, unix.ENOMEM},
		{"fixed unaligned", MMapOpts{Addr: X + 1, Length: pg, Fixed: true}, unix.EINVAL},
		{"fixed end past the address space", MMapOpts{Addr: maxUser - pg, Length: 2 * pg, Fixed: true}, unix.ENOMEM},
		{"fixed range wraps", MMapOpts{Addr: ^uintptr(0) &^ (pg - 1), Length: 2 * pg, Fixed: true}, unix.ENOMEM},
		{"fixed below mmap_min_addr", MMapOpts{Addr: 0x1000, Length: pg, Fixed: true}, unix.EPERM},
		{"noreplace unaligned", MMapOpts{Addr: X + 8, Length: pg, NoReplace: true}, unix.EINVAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMM(t)
			tc.o.Perms = rw
			tc.o.Private = true
			_, err := e.m.MMap(tc.o)
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, e.vmas())
			e.check()
		})
	}
}

// ---------------------------------------------------------------------------
// munmap(2)

func TestMunmapMiddle(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 8, rw)
	e.fill(X, 8, 1)
	e.faultAll(X, 8)
	require.NoError(t, e.m.Munmap(X+3*pg, 2*pg))
	require.Equal(t, []span{{X, X + 3*pg, rw}, {X + 5*pg, X + 8*pg, rw}}, e.vmas())
	require.Equal(t, int64(6*pg), e.mf.Used())
	e.check()
	for _, i := range []uintptr{0, 1, 2, 5, 6, 7} {
		e.wantPage(X+i*pg, 1+byte(i))
	}
	e.wantUnmapped(X + 3*pg)
	e.wantUnmapped(X + 5*pg - 1)

	// The length need not be page-aligned: every page touched goes.
	require.NoError(t, e.m.Munmap(X, 1))
	require.Equal(t, []span{{X + pg, X + 3*pg, rw}, {X + 5*pg, X + 8*pg, rw}}, e.vmas())
	e.wantUnmapped(X)
	// A range spanning the end of one mapping, a hole and the start of another.
	require.NoError(t, e.m.Munmap(X+2*pg, 4*pg))
	require.Equal(t, []span{{X + pg, X + 2*pg, rw}, {X + 6*pg, X + 8*pg, rw}}, e.vmas())
	e.wantPage(X+pg, 2)
	e.wantPage(X+6*pg, 7)
	// Unmapping a range with nothing in it is not an error.
	require.NoError(t, e.m.Munmap(X+100*pg, 10*pg))
	e.check()
}

func TestMunmapErrors(t *testing.T) {
	tests := []struct {
		name         string
		addr, length uintptr
	}{
		{"unaligned address", X + 1, pg},
		{"zero length", X, 0},
		{"length overflows when rounded", X, ^uintptr(0)},
		{"range wraps", ^uintptr(0) &^ (pg - 1), 2 * pg},
		{"address past the address space", 0x800000000000, pg},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMM(t)
			e.mapAt(X, 2, rw)
			require.ErrorIs(t, e.m.Munmap(tc.addr, tc.length), unix.EINVAL)
			require.Equal(t, []span{{X, X + 2*pg, rw}}, e.vmas())
			e.check()
		})
	}
}

// ---------------------------------------------------------------------------
// mprotect(2)

func TestMprotectRanges(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 6, rw)
	e.fill(X, 6, 1)
	e.faultAll(X, 6)

	require.NoError(t, e.m.Mprotect(X+pg, 2*pg, ro))
	require.Equal(t, []span{{X, X + pg, rw}, {X + pg, X + 3*pg, ro}, {X + 3*pg, X + 6*pg, rw}}, e.vmas())
	e.check() // the platform must no longer map those pages writable
	_, err := e.m.CopyOut(X+pg, []byte{0})
	require.ErrorIs(t, err, unix.EFAULT)
	_, err = e.m.CopyOut(X+3*pg-1, []byte{0})
	require.ErrorIs(t, err, unix.EFAULT)
	_, err = e.m.CopyOut(X+3*pg, []byte{0xee})
	require.NoError(t, err)
	for i := uintptr(0); i < 3; i++ {
		e.wantPage(X+i*pg, 1+byte(i)) // data survives a change of protection
	}

	// Spanning several VMAs; a length that is not a page multiple covers
	// every page it touches.
	require.NoError(t, e.m.Mprotect(X, 3*pg+1, rx))
	require.Equal(t, []span{{X, X + pg, rx}, {X + pg, X + 3*pg, rx}, {X + 3*pg, X + 4*pg, rx}, {X + 4*pg, X + 6*pg, rw}}, e.vmas())
	e.check()

	// The whole range back to read-write.
	require.NoError(t, e.m.Mprotect(X, 6*pg, rw))
	for _, v := range e.vmas() {
		require.Equal(t, rw, v.perms)
	}
	_, err = e.m.CopyOut(X, bytes.Repeat([]byte{9}, int(6*pg)))
	require.NoError(t, err)
	e.check()

	// Length 0 succeeds and changes nothing, even where nothing is mapped.
	require.NoError(t, e.m.Mprotect(X, 0, none))
	require.NoError(t, e.m.Mprotect(X+100*pg, 0, none))
	_, err = e.m.CopyOut(X, []byte{1})
	require.NoError(t, err)
}

func TestMprotectErrors(t *testing.T) {
	// Mapped: [X, X+2p) and [X+3p, X+5p).
	tests := []struct {
		name         string
		addr, length uintptr
		want         error
	}{
		{"unaligned address", X + 1, pg, unix.EINVAL},
		{"hole in the middle", X, 5 * pg, unix.ENOMEM},
		{"starts in a hole", X + 2*pg, 2 * pg, unix.ENOMEM},
		{"runs past the last mapping", X + 3*pg, 3 * pg, unix.ENOMEM},
		{"nothing mapped", X + 100*pg, pg, unix.ENOMEM},
		{"past the address space", 0x800000000000, pg, unix.ENOMEM},
		{"range wraps", X, ^uintptr(0) - X, unix.ENOMEM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMM(t)
			e.mapAt(X, 2, rw)
			e.mapAt(X+3*pg, 2, rw)
			require.ErrorIs(t, e.m.Mprotect(tc.addr, tc.length, ro), tc.want)
			e.check()
		})
	}
}

func TestMprotectAccess(t *testing.T) {
	tests := []struct {
		name            string
		perms           platform.Access
		canRead, canWrt bool
	}{
		{"PROT_NONE", none, false, false},
		{"PROT_READ", ro, true, false},
		{"PROT_WRITE implies read", wo, true, true},
		{"PROT_READ|PROT_WRITE", rw, true, true},
		{"PROT_EXEC implies read on x86", xo, true, false},
		{"PROT_READ|PROT_EXEC", rx, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMM(t)
			e.mapAt(X, 2, rw)
			_, err := e.m.CopyOut(X, []byte("data"))
			require.NoError(t, err)
			require.NoError(t, e.m.Mprotect(X, 2*pg, tc.perms))

			buf := make([]byte, 4)
			_, err = e.m.CopyIn(X, buf)
			_, berr := e.m.Blocks(X, 4, false, nil)
			if tc.canRead {
				require.NoError(t, err)
				require.Equal(t, "data", string(buf))
				require.NoError(t, berr)
			} else {
				require.ErrorIs(t, err, unix.EFAULT)
				require.ErrorIs(t, berr, unix.EFAULT)
			}
			_, err = e.m.CopyOut(X+pg, []byte("x"))
			_, berr = e.m.Blocks(X+pg, 1, true, nil)
			if tc.canWrt {
				require.NoError(t, err)
				require.NoError(t, berr)
			} else {
				require.ErrorIs(t, err, unix.EFAULT)
				require.ErrorIs(t, berr, unix.EFAULT)
			}
			// The fault path agrees: PROT_NONE is an access error, anything
			// else maps the page with exactly the new permissions.
			code, err := handleFault(e.m, X+10)
			require.NoError(t, err)
			if tc.perms == none {
				require.Equal(t, SegvAccerr, code)
			} else {
				require.Zero(t, code)
				hm, ok := e.as.mappedAt(X)
				require.True(t, ok)
				require.Equal(t, tc.perms, hm.access)
			}
			e.check()
		})
	}
}

// ---------------------------------------------------------------------------
// mremap(2)

func TestMremapShrink(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 4, rw)
	e.fill(X, 4, 1)
	e.faultAll(X, 4)
	a, err := e.m.Mremap(X, 4*pg, 2*pg, 0, 0)
	require.NoError(t, err)
	require.Equal(t, X, a)
	require.Equal(t, []span{{X, X + 2*pg, rw}}, e.vmas())
	e.check()
	require.Equal(t, int64(2*pg), e.mf.Used())
	e.wantPage(X, 1)
	e.wantPage(X+pg, 2)
	e.wantUnmapped(X + 2*pg)
	e.wantUnmapped(X + 3*pg)
	// new_size is rounded up to a page.
	a, err = e.m.Mremap(X, 2*pg, 1, MremapMaymove, 0)
	require.NoError(t, err)
	require.Equal(t, X, a)
	require.Equal(t, []span{{X, X + pg, rw}}, e.vmas())
	e.check()
}

func TestMremapGrowInPlace(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 2, rw)
	e.fill(X, 2, 1)
	e.faultAll(X, 2)
	a, err := e.m.Mremap(X, 2*pg, 5*pg, 0, 0)
	require.NoError(t, err)
	require.Equal(t, X, a)
	require.Equal(t, []span{{X, X + 5*pg, rw}}, e.vmas())
	e.wantPage(X, 1)
	e.wantPage(X+pg, 2)
	for i := uintptr(2); i < 5; i++ {
		e.wantPage(X+i*pg, 0)
	}
	_, err = e.m.CopyOut(X+5*pg-1, []byte{1})
	require.NoError(t, err)
	e.check()

	// With MAYMOVE, in place is still preferred when there is room.
	a, err = e.m.Mremap(X, 5*pg, 6*pg, MremapMaymove, 0)
	require.NoError(t, err)
	require.Equal(t, X, a)

	// The tail of a mapping can grow in place too.
	a, err = e.m.Mremap(X+4*pg, 2*pg, 4*pg, 0, 0)
	require.NoError(t, err)
	require.Equal(t, X+4*pg, a)
	_, err = e.m.CopyOut(X+8*pg-1, []byte{1})
	require.NoError(t, err)
	e.wantPage(X, 1)
	e.check()
}

func TestMremapGrowBlocked(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 2, rw)
	e.mapAt(X+2*pg, 1, ro)
	e.fill(X, 3, 1)
	// man mremap: ENOMEM if MREMAP_MAYMOVE is not given and the area cannot
	// be expanded at its current address.
	_, err := e.m.Mremap(X, 2*pg, 4*pg, 0, 0)
	require.ErrorIs(t, err, unix.ENOMEM)
	// A prefix of a mapping cannot grow in place either: its own pages follow.
	e.mapAt(X+10*pg, 4, rw)
	_, err = e.m.Mremap(X+10*pg, 2*pg, 3*pg, 0, 0)
	require.ErrorIs(t, err, unix.ENOMEM)
	require.Equal(t, []span{{X, X + 2*pg, rw}, {X + 2*pg, X + 3*pg, ro}, {X + 10*pg, X + 14*pg, rw}}, e.vmas())
	for i := uintptr(0); i < 3; i++ {
		e.wantPage(X+i*pg, 1+byte(i))
	}
	e.check()
}

func TestMremapMayMove(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 2, rw)
	e.mapAt(X+2*pg, 1, ro) // blocks growth in place
	e.fill(X, 3, 1)
	e.faultAll(X, 3)
	a, err := e.m.Mremap(X, 2*pg, 4*pg, MremapMaymove, 0)
	require.NoError(t, err)
	require.NotEqual(t, X, a)
	require.Zero(t, a%pg)
	require.GreaterOrEqual(t, a, uintptr(MinAddress))
	require.True(t, a+4*pg <= X || a >= X+3*pg, "moved mapping %#x overlaps", a)
	require.Equal(t, int64(3*pg), e.mf.Used(), "moving must not copy or leak pages")
	e.check()
	// The data moved with the mapping; the new tail is zero and writable.
	e.wantPage(a, 1)
	e.wantPage(a+pg, 2)
	e.wantPage(a+2*pg, 0)
	e.wantPage(a+3*pg, 0)
	_, err = e.m.CopyOut(a+3*pg, []byte{1})
	require.NoError(t, err)
	// The old range is gone, the blocker is untouched.
	e.wantUnmapped(X)
	e.wantUnmapped(X + pg)
	e.wantPage(X+2*pg, 3)
	// Faults on the new range map the moved pages.
	e.faultAll(a, 4)
	hm, ok := e.as.mappedAt(a)
	require.True(t, ok)
	require.Equal(t, rw, hm.access)
	e.check()

	// Moving a prefix of a mapping leaves the rest where it was.
	e.mapAt(X+20*pg, 4, rw)
	e.fill(X+20*pg, 4, 10)
	e.mapAt(X+24*pg, 1, rw)
	b, err := e.m.Mremap(X+20*pg, 2*pg, 3*pg, MremapMaymove, 0)
	require.NoError(t, err)
	require.NotEqual(t, X+20*pg, b)
	e.wantPage(b, 10)
	e.wantPage(b+pg, 11)
	e.wantPage(b+2*pg, 0)
	e.wantUnmapped(X + 20*pg)
	e.wantUnmapped(X + 21*pg)
	e.wantPage(X+22*pg, 12)
	e.wantPage(X+23*pg, 13)
	e.check()
}

func TestMremapFixed(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 2, rw)
	e.fill(X, 2, 1)
	Y := X + 16*pg
	e.mapAt(Y, 4, ro)
	e.fill(Y, 4, 7)
	e.faultAll(X, 2)
	e.faultAll(Y, 4)

	a, err := e.m.Mremap(X, 2*pg, 3*pg, MremapMaymove|MremapFixed, Y)
	require.NoError(t, err)
	require.Equal(t, Y, a)
	// Whatever was at [Y, Y+3p) was unmapped; the rest of it stays.
	require.Equal(t, []span{{Y, Y + 3*pg, rw}, {Y + 3*pg, Y + 4*pg, ro}}, e.vmas())
	e.wantPage(Y, 1)
	e.wantPage(Y+pg, 2)
	e.wantPage(Y+2*pg, 0)
	e.wantPage(Y+3*pg, 10)
	e.wantUnmapped(X)
	e.wantUnmapped(X + pg)
	e.check()

	// Shrinking while moving: only new_size bytes move, the rest is unmapped.
	Z := X + 64*pg
	a, err = e.m.Mremap(Y, 3*pg, pg, MremapMaymove|MremapFixed, Z)
	require.NoError(t, err)
	require.Equal(t, Z, a)
	require.Equal(t, []span{{Y + 3*pg, Y + 4*pg, ro}, {Z, Z + pg, rw}}, e.vmas())
	e.wantPage(Z, 1)
	e.wantUnmapped(Y)
	e.wantUnmapped(Y + pg)
	e.wantUnmapped(Y + 2*pg)
	e.check()
}

// TestMremapSameSize: mremap with old_size == new_size leaves the mapping as
// it is and returns old_address (nothing to shrink, nothing to grow).
func TestMremapSameSize(t *testing.T) {
	t.Run("prefix of a mapping", func(t *testing.T) {
		e := newMM(t)
		e.mapAt(X, 4, rw)
		e.fill(X, 4, 1)
		a, err := e.m.Mremap(X, 2*pg, 2*pg, 0, 0)
		require.NoError(t, err)
		require.Equal(t, X, a)
		for i := uintptr(0); i < 4; i++ {
			e.wantPage(X+i*pg, 1+byte(i))
		}
		e.check()
	})
	t.Run("mapping followed by another", func(t *testing.T) {
		e := newMM(t)
		e.mapAt(X, 2, rw)
		e.mapAt(X+2*pg, 2, ro)
		e.fill(X, 4, 1)
		a, err := e.m.Mremap(X, 2*pg, 2*pg, MremapMaymove, 0)
		require.NoError(t, err)
		require.Equal(t, X, a)
		require.Equal(t, []span{{X, X + 2*pg, rw}, {X + 2*pg, X + 4*pg, ro}}, e.vmas())
		e.wantPage(X+2*pg, 3)
		e.check()
	})
}

func TestMremapErrors(t *testing.T) {
	// Mapped: [X, X+4p).
	tests := []struct {
		name                string
		old, oldLen, newLen uintptr
		flags               int
		newAddr             uintptr
		want                error
	}{
		{"unknown flag", X, pg, pg, 8, 0, unix.EINVAL},
		{"FIXED without MAYMOVE", X, pg, pg, MremapFixed, X + 10*pg, unix.EINVAL},
		{"unaligned old address", X + 1, pg, 2 * pg, MremapMaymove, 0, unix.EINVAL},
		{"zero new size", X, pg, 0, MremapMaymove, 0, unix.EINVAL},
		{"old range not mapped", X + 100*pg, pg, 2 * pg, MremapMaymove, 0, unix.EFAULT},
		{"old range runs past the mapping", X + 2*pg, 3 * pg, 4 * pg, MremapMaymove, 0, unix.EFAULT},
		{"fixed new range overlaps old", X, 2 * pg, 2 * pg, MremapMaymove | MremapFixed, X + pg, unix.EINVAL},
		{"fixed new range overlaps old from below", X + 2*pg, 2 * pg, 4 * pg, MremapMaymove | MremapFixed, X - pg, unix.EINVAL},
		{"fixed new address unaligned", X, pg, pg, MremapMaymove | MremapFixed, X + 10*pg + 1, unix.EINVAL},
		{"fixed new range past the address space", X, pg, 2 * pg, MremapMaymove | MremapFixed, maxUser - pg, unix.EINVAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMM(t)
			e.mapAt(X, 4, rw)
			e.fill(X, 4, 1)
			_, err := e.m.Mremap(tc.old, tc.oldLen, tc.newLen, tc.flags, tc.newAddr)
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, []span{{X, X + 4*pg, rw}}, e.vmas())
			for i := uintptr(0); i < 4; i++ {
				e.wantPage(X+i*pg, 1+byte(i))
			}
			e.check()
		})
	}
}

// ---------------------------------------------------------------------------
// brk(2)

func TestBrk(t *testing.T) {
	e := newMM(t)
	B := uintptr(0x10000000)
	e.m.SetBrk(B)
	require.Equal(t, B, e.m.Brk(0), "brk(0) reports the current break")

	want := B + 3*pg + 100
	require.Equal(t, want, e.m.Brk(want))
	buf := bytes.Repeat([]byte{0xab}, int(3*pg+100))
	_, err := e.m.CopyOut(B, buf)
	require.NoError(t, err)
	// The page holding the break is usable to its end; the next one is not.
	_, err = e.m.CopyOut(B+4*pg-1, []byte{1})
	require.NoError(t, err)
	e.wantUnmapped(B + 4*pg)
	e.check()

	// Shrink: memory above the new break goes away.
	require.Equal(t, B+pg, e.m.Brk(B+pg))
	e.wantUnmapped(B + pg)
	e.wantPage(B, 0xab)
	require.Equal(t, int64(pg), e.mf.Used())
	e.check()

	// Grow again: the memory comes back zeroed.
	require.Equal(t, B+3*pg, e.m.Brk(B+3*pg))
	e.wantPage(B+pg, 0)
	e.wantPage(B+2*pg, 0)

	// Below the start, or past the address space: unchanged.
	require.Equal(t, B+3*pg, e.m.Brk(B-pg))
	require.Equal(t, B+3*pg, e.m.Brk(maxUser+pg))
	e.wantPage(B, 0xab)

	// Back to the start: no heap at all.
	require.Equal(t, B, e.m.Brk(B))
	e.wantUnmapped(B)
	e.check()
}

func TestBrkBlockedByMapping(t *testing.T) {
	e := newMM(t)
	B := uintptr(0x10000000)
	e.m.SetBrk(B)
	e.mapAt(B+4*pg, 1, ro)
	e.fill(B+4*pg, 1, 5)
	// man brk: on failure the kernel's brk returns the current break.
	require.Equal(t, B, e.m.Brk(B+8*pg))
	e.wantUnmapped(B)
	require.Equal(t, B, e.m.Brk(B+4*pg+1))
	// Up to the mapping is fine.
	require.Equal(t, B+4*pg, e.m.Brk(B+4*pg))
	_, err := e.m.CopyOut(B+4*pg-1, []byte{1})
	require.NoError(t, err)
	require.Equal(t, B+4*pg, e.m.Brk(B+5*pg))
	e.wantPage(B+4*pg, 5)
	require.Equal(t, []span{{B, B + 4*pg, rw}, {B + 4*pg, B + 5*pg, ro}}, e.vmas())
	e.check()
}

// ---------------------------------------------------------------------------
// madvise(2)

func TestMadviseDontneed(t *testing.T) {
	for _, private := range []bool{true, false} {
		t.Run(fmt.Sprintf("private=%v", private), func(t *testing.T) {
			e := newMM(t)
			_, err := e.m.MMap(MMapOpts{Addr: X, Length: 4 * pg, Perms: rw, Private: private, Fixed: true})
			require.NoError(t, err)
			e.fill(X, 4, 1)
			e.faultAll(X, 4)

			require.NoError(t, e.m.Madvise(X+pg, 2*pg, MadvDontneed))
			e.check() // dropped pages must be gone from the platform too
			e.wantPage(X, 1)
			e.wantPage(X+3*pg, 4)
			if private {
				// Private anonymous pages read back as zero.
				require.Equal(t, int64(2*pg), e.mf.Used())
				e.wantPage(X+pg, 0)
				e.wantPage(X+2*pg, 0)
			} else {
				// Shared anonymous memory keeps its contents.
				e.wantPage(X+pg, 2)
				e.wantPage(X+2*pg, 3)
			}
			require.Equal(t, []span{{X, X + 4*pg, rw}}, e.vmas(), "madvise must not unmap")
			e.check()
		})
	}
}

func TestMadviseErrors(t *testing.T) {
	// Mapped: [X, X+2p) and [X+3p, X+5p).
	tests := []struct {
		name         string
		addr, length uintptr
		advice       int
		want         error // nil: success
	}{
		{"unaligned address", X + 1, pg, MadvDontneed, unix.EINVAL},
		{"unknown advice", X, pg, 999, unix.EINVAL},
		{"length overflows when rounded", X, ^uintptr(0), MadvDontneed, unix.EINVAL},
		{"hole in the range", X, 5 * pg, MadvDontneed, unix.ENOMEM},
		{"nothing mapped", X + 100*pg, pg, MadvNormal, unix.ENOMEM},
		{"outside the address space", 0x800000000000, pg, MadvDontneed, unix.ENOMEM},
		{"zero length", X + 100*pg, 0, MadvDontneed, nil},
		{"hint advice on a mapping", X, 2 * pg, MadvSequential, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newMM(t)
			e.mapAt(X, 2, rw)
			e.mapAt(X+3*pg, 2, rw)
			e.fill(X, 2, 1)
			err := e.m.Madvise(tc.addr, tc.length, tc.advice)
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
			e.wantPage(X, 1)
			e.check()
		})
	}
}

// ---------------------------------------------------------------------------
// Faults

func TestHandleFault(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 20, rw)
	e.mapAt(X+40*pg, 2, none)
	e.mapAt(X+50*pg, 1, ro)

	for _, a := range []uintptr{0, 0x5000, X - 1, X + 20*pg, X + 39*pg, maxUser, ^uintptr(0)} {
		code, err := handleFault(e.m, a)
		require.NoError(t, err)
		require.Equal(t, SegvMaperr, code, "fault at %#x", a)
	}
	nMaps := len(e.as.mapCalls())
	code, err := handleFault(e.m, X+40*pg+8)
	require.NoError(t, err)
	require.Equal(t, SegvAccerr, code)
	require.Len(t, e.as.mapCalls(), nMaps, "PROT_NONE must not be mapped")

	// Data written by the sentry before the first fault is what the
	// application sees once the page is mapped.
	addr := X + 5*pg + 123
	_, err = e.m.CopyOut(addr, []byte("hello"))
	require.NoError(t, err)
	code, err = handleFault(e.m, addr)
	require.NoError(t, err)
	require.Zero(t, code)
	hm, ok := e.as.mappedAt(addr)
	require.True(t, ok, "fault did not map the page")
	require.Equal(t, rw, hm.access)
	require.Equal(t, "hello", string(e.mf.Slice(hm.off+123, 5)))
	covered := false
	for _, c := range e.as.mapCalls()[nMaps:] {
		require.GreaterOrEqual(t, c.addr, X, "fault mapped outside the VMA")
		require.LessOrEqual(t, c.addr+c.length, X+20*pg, "fault mapped outside the VMA")
		require.Equal(t, rw, c.access)
		if c.addr <= addr && addr < c.addr+c.length {
			covered = true
		}
	}
	require.True(t, covered, "no MapFile call covers the fault address")
	e.check()

	// The page is mapped with the VMA's permissions: faulting again means the
	// access itself is not allowed.
	code, err = handleFault(e.m, addr)
	require.NoError(t, err)
	require.Equal(t, SegvAccerr, code)

	// Read-only VMA: the first fault maps read-only, a repeat is an access error.
	code, err = handleFault(e.m, X+50*pg)
	require.NoError(t, err)
	require.Zero(t, code)
	hm, ok = e.as.mappedAt(X + 50*pg)
	require.True(t, ok)
	require.Equal(t, ro, hm.access)
	code, err = handleFault(e.m, X+50*pg+1)
	require.NoError(t, err)
	require.Equal(t, SegvAccerr, code)

	// After mprotect the page is remapped with the new permissions on demand.
	require.NoError(t, e.m.Mprotect(X, 20*pg, rx))
	e.check()
	code, err = handleFault(e.m, addr)
	require.NoError(t, err)
	require.Zero(t, code)
	hm, ok = e.as.mappedAt(addr)
	require.True(t, ok)
	require.Equal(t, rx, hm.access)
	require.Equal(t, "hello", string(e.mf.Slice(hm.off+123, 5)))
	e.check()
}

func TestPopulate(t *testing.T) {
	e := newMM(t)
	a, err := e.m.MMap(MMapOpts{Length: 5 * pg, Perms: rx, Private: true, Populate: true})
	require.NoError(t, err)
	require.Equal(t, int64(5*pg), e.mf.Used())
	for i := uintptr(0); i < 5; i++ {
		hm, ok := e.as.mappedAt(a + i*pg)
		require.True(t, ok, "page %d not mapped by MAP_POPULATE", i)
		require.Equal(t, rx, hm.access)
	}
	e.check()
}

// ---------------------------------------------------------------------------
// Copying

func TestCopyAcrossPages(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 3, rw)
	src := make([]byte, pg+20)
	for i := range src {
		src[i] = byte(i*7 + 3)
	}
	n, err := e.m.CopyOut(X+pg-10, src)
	require.NoError(t, err)
	require.Equal(t, len(src), n)
	dst := make([]byte, len(src))
	n, err = e.m.CopyIn(X+pg-10, dst)
	require.NoError(t, err)
	require.Equal(t, len(src), n)
	require.Equal(t, src, dst)
	// Byte-level placement: the first 10 bytes end page 0.
	last := make([]byte, 10)
	_, err = e.m.CopyIn(X+pg-10, last)
	require.NoError(t, err)
	require.Equal(t, src[:10], last)
	one := make([]byte, 1)
	_, err = e.m.CopyIn(X+2*pg+9, one)
	require.NoError(t, err)
	require.Equal(t, src[pg+19], one[0])
	e.check()
}

func TestCopyRunsIntoHole(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 2, rw)
	n, err := e.m.CopyOut(X+2*pg-10, bytes.Repeat([]byte{0x5a}, 20))
	require.ErrorIs(t, err, unix.EFAULT)
	require.Equal(t, 10, n, "bytes copied before the hole")
	buf := make([]byte, 20)
	n, err = e.m.CopyIn(X+2*pg-10, buf)
	require.ErrorIs(t, err, unix.EFAULT)
	require.Equal(t, 10, n)
	require.Equal(t, bytes.Repeat([]byte{0x5a}, 10), buf[:10])

	// Readable then read-only: writes stop at the read-only page.
	e.mapAt(X+2*pg, 1, ro)
	n, err = e.m.CopyOut(X+2*pg-4, []byte("abcdefgh"))
	require.ErrorIs(t, err, unix.EFAULT)
	require.Equal(t, 4, n)
	e.check()
}

func TestCopyBadAddresses(t *testing.T) {
	e := newMM(t)
	e.mapAt(maxUser-pg, 1, rw)
	tests := []struct {
		name string
		addr uintptr
		n    int
	}{
		{"NULL", 0, 1},
		{"below mmap_min_addr", 0x1000, 8},
		{"unmapped", X, 8},
		{"platform's reserved page", maxUser, 1},
		{"runs past the address space", maxUser - 4, 8},
		{"past the address space", 0x800000000000, 1},
		{"wraps around", ^uintptr(0) - 3, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.m.CopyIn(tc.addr, make([]byte, tc.n))
			require.ErrorIs(t, err, unix.EFAULT)
			_, err = e.m.CopyOut(tc.addr, make([]byte, tc.n))
			require.ErrorIs(t, err, unix.EFAULT)
			_, err = e.m.Blocks(tc.addr, tc.n, false, nil)
			if tc.addr < maxUser-pg || tc.addr >= maxUser {
				require.ErrorIs(t, err, unix.EFAULT)
			}
		})
	}
	// The last user page itself is fine.
	_, err := e.m.CopyOut(maxUser-8, make([]byte, 8))
	require.NoError(t, err)
	e.check()
}

func TestBlocks(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 3, rw)
	pat := make([]byte, 3*pg)
	for i := range pat {
		pat[i] = byte(i % 251)
	}
	_, err := e.m.CopyOut(X, pat)
	require.NoError(t, err)

	concat := func(bs [][]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}

	// At most three blocks (pages adjacent in the memory file merge), with
	// the right contents.
	bs, err := e.m.Blocks(X+100, int(2*pg), false, nil)
	require.NoError(t, err)
	require.LessOrEqual(t, len(bs), 3)
	require.Equal(t, pat[100:100+2*pg], concat(bs))

	// Blocks alias application memory.
	bs, err = e.m.Blocks(X+pg, 4, true, nil)
	require.NoError(t, err)
	copy(bs[0], "WXYZ")
	got := make([]byte, 4)
	_, err = e.m.CopyIn(X+pg, got)
	require.NoError(t, err)
	require.Equal(t, "WXYZ", string(got))

	// Blocks are appended to out.
	prev := [][]byte{[]byte("keep")}
	bs, err = e.m.Blocks(X, 10, false, prev)
	require.NoError(t, err)
	require.Len(t, bs, 2)
	require.Equal(t, "keep", string(bs[0]))

	// Running into a hole: a prefix up to the hole, no error.
	bs, err = e.m.Blocks(X+2*pg+10, int(3*pg), false, nil)
	require.NoError(t, err)
	require.Len(t, concat(bs), int(pg)-10)
	require.Equal(t, pat[2*pg+10:], concat(bs))

	// A first page that is bad is EFAULT.
	_, err = e.m.Blocks(X+3*pg, 10, false, nil)
	require.ErrorIs(t, err, unix.EFAULT)
	_, err = e.m.Blocks(X-10, 100, false, nil)
	require.ErrorIs(t, err, unix.EFAULT)

	// Writable prefix then read-only: a write stops at the read-only page,
	// a read goes through.
	e.mapAt(X+3*pg, 1, ro)
	bs, err = e.m.Blocks(X+3*pg-8, 16, true, nil)
	require.NoError(t, err)
	require.Len(t, concat(bs), 8)
	bs, err = e.m.Blocks(X+3*pg-8, 16, false, nil)
	require.NoError(t, err)
	require.Len(t, concat(bs), 16)
	_, err = e.m.Blocks(X+3*pg, 1, true, nil)
	require.ErrorIs(t, err, unix.EFAULT)

	// Nothing asked, nothing returned.
	bs, err = e.m.Blocks(0, 0, false, nil)
	require.NoError(t, err)
	require.Empty(t, bs)

	// A range running past the end of the address space stops there.
	e.mapAt(maxUser-pg, 1, rw)
	bs, err = e.m.Blocks(maxUser-pg, int(3*pg), false, nil)
	require.NoError(t, err)
	require.Len(t, concat(bs), int(pg))
	e.check()
}

func TestCopyInString(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 2, rw)
	put := func(addr uintptr, s string) {
		t.Helper()
		_, err := e.m.CopyOut(addr, []byte(s))
		require.NoError(t, err)
	}
	put(X, "hello\x00")
	s, err := e.m.CopyInString(X, 100)
	require.NoError(t, err)
	require.Equal(t, "hello", s)
	s, err = e.m.CopyInString(X, 6)
	require.NoError(t, err)
	require.Equal(t, "hello", s)
	// No NUL within max bytes.
	_, err = e.m.CopyInString(X, 5)
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
	_, err = e.m.CopyInString(X, 2)
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
	s, err = e.m.CopyInString(X+5, 10)
	require.NoError(t, err)
	require.Equal(t, "", s)

	// Longer than the internal buffer, across a page boundary.
	long := bytes.Repeat([]byte("abcdefg"), 150) // 1050 bytes
	start := X + pg - 500
	put(start, string(long)+"\x00")
	s, err = e.m.CopyInString(start, 4096)
	require.NoError(t, err)
	require.Equal(t, string(long), s)
	_, err = e.m.CopyInString(start, len(long))
	require.ErrorIs(t, err, unix.ENAMETOOLONG)
	s, err = e.m.CopyInString(start, len(long)+1)
	require.NoError(t, err)
	require.Equal(t, string(long), s)

	// A NUL in the last byte before a hole is found without touching the hole.
	put(X+2*pg-4, "xyz\x00")
	s, err = e.m.CopyInString(X+2*pg-4, 4096)
	require.NoError(t, err)
	require.Equal(t, "xyz", s)
	// No NUL before the hole: EFAULT, not ENAMETOOLONG.
	put(X+2*pg-4, "wxyz")
	_, err = e.m.CopyInString(X+2*pg-4, 4096)
	require.ErrorIs(t, err, unix.EFAULT)
	// Unreadable start.
	_, err = e.m.CopyInString(X+10*pg, 4096)
	require.ErrorIs(t, err, unix.EFAULT)
	_, err = e.m.CopyInString(0, 4096)
	require.ErrorIs(t, err, unix.EFAULT)
	require.NoError(t, e.m.Mprotect(X, pg, none))
	_, err = e.m.CopyInString(X, 4096)
	require.ErrorIs(t, err, unix.EFAULT)
	e.check()
}

// ---------------------------------------------------------------------------
// Memory accounting

func TestNoPageLeaks(t *testing.T) {
	mf, err := memfile.New(64 << 20)
	require.NoError(t, err)
	t.Cleanup(mf.Release)
	before := mf.Used()

	e := newMMOn(t, mf)
	e.mapAt(X, 64, rw)
	_, err = e.m.CopyOut(X, make([]byte, 64*pg))
	require.NoError(t, err)
	require.Equal(t, before+int64(64*pg), mf.Used(), "one page of the file per page touched")
	e.faultAll(X, 64)
	require.Equal(t, before+int64(64*pg), mf.Used(), "faulting populated pages allocates nothing")
	require.NoError(t, e.m.Munmap(X, 64*pg))
	require.Equal(t, before, mf.Used())

	// A mix of operations, then munmap everything.
	e.mapAt(X, 16, rw)
	e.fill(X, 16, 1)
	e.faultAll(X, 16)
	e.mapAt(X+4*pg, 2, ro) // MAP_FIXED over populated pages
	_, err = e.m.Mremap(X+8*pg, 8*pg, 4*pg, 0, 0)
	require.NoError(t, err)
	e.mapAt(X+12*pg, 1, rw)
	a, err := e.m.Mremap(X, 4*pg, 8*pg, MremapMaymove, 0)
	require.NoError(t, err)
	require.NoError(t, e.m.Madvise(a, 2*pg, MadvDontneed))
	e.m.SetBrk(0x10000000)
	e.m.Brk(0x10000000 + 10*pg)
	_, err = e.m.CopyOut(0x10000000, make([]byte, 10*pg))
	require.NoError(t, err)
	p, err := e.m.MMap(MMapOpts{Length: 8 * pg, Perms: rw, Private: true, Populate: true})
	require.NoError(t, err)
	e.check()
	for _, v := range e.vmas() {
		require.NoError(t, e.m.Munmap(v.start, v.end-v.start))
	}
	require.Empty(t, e.vmas())
	require.Equal(t, before, mf.Used())
	_ = p

	// Release frees everything, and only this address space's pages.
	other := newMMOn(t, mf)
	other.mapAt(X, 3, rw)
	other.fill(X, 3, 1)
	e.mapAt(X, 5, rw)
	e.fill(X, 5, 1)
	e.m.Release()
	require.Equal(t, before+int64(3*pg), mf.Used())
	require.Equal(t, 1, e.as.released)
	other.wantPage(X+2*pg, 3)
	other.m.Release()
	require.Equal(t, before, mf.Used())
}

// TestConcurrentUse exercises the locking under the race detector.
func TestConcurrentUse(t *testing.T) {
	e := newMM(t)
	e.mapAt(X, 64, rw)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 100)
			for i := 0; i < 200; i++ {
				a := X + uintptr((g*200+i)%64)*pg
				_, _ = e.m.CopyOut(a, buf)
				_, _ = e.m.CopyIn(a, buf)
				_, _ = handleFault(e.m, a)
				if b, err := e.m.MMap(MMapOpts{Length: pg, Perms: rw, Private: true}); err == nil {
					_ = e.m.Munmap(b, pg)
				}
			}
		}()
	}
	wg.Wait()
	e.check()
}

// handleFault returns the SIGSEGV si_code HandleFault decides (0: retry),
// failing on any other signal: anonymous memory never raises SIGBUS.
func handleFault(m *MemoryManager, addr uintptr) (int, error) {
	f, err := m.HandleFault(addr, m.Epoch())
	if f.Signo != 0 && f.Signo != int(unix.SIGSEGV) {
		return -f.Signo, err
	}
	return f.Code, err
}
