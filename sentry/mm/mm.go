// Package mm owns an application address space as the sentry sees it: the
// VMAs (kept in a B-tree ordered by start address), which pages of the memory
// file back them, and the platform address space that mirrors them. It serves
// mmap, munmap, mprotect, mremap, brk and madvise with Linux's rules, resolves
// application page faults by populating pages on demand, and copies data in and
// out of application memory through the sentry's own mapping of the memory
// file, so a bad user pointer is an EFAULT, never a sentry crash.
//
// Invariant: a populated page marked mapped is mapped in the platform address
// space with exactly its VMA's permissions. Any change of permissions or
// backing unmaps the page there first; the next fault maps it again.
//
// Departures from Linux, for now: MAP_SHARED anonymous memory behaves as
// private memory (there is no fork yet to share it with); the stack VMA is
// created at its full rlimit size instead of growing on fault; adjacent VMAs
// are not merged.
//
// It must not import the fs, syscalls or runsc layers.
package mm

import (
	"sync"
	"unsafe"

	"github.com/google/btree"
	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/platform"
	"sbx/sentry/memfile"
)

// PageSize is the application page size.
const PageSize = memfile.PageSize

// faultChunk is how much memory a fault populates at once (aligned, clipped to
// the VMA): fewer round trips to the platform for sequential access.
const faultChunk = 16 * PageSize

// fileFaultChunk is the same for file mappings, whose pages come from a
// page cache: program text and read-only data are read in larger pieces,
// as a round trip to the sentry costs far more than copying the pages.
const fileFaultChunk = 64 * PageSize

// MinAddress is the lowest address a mapping may use (vm.mmap_min_addr).
const MinAddress = 0x10000

func pageDown(a uintptr) uintptr { return a &^ (PageSize - 1) }

// pageUp rounds up; ok is false on overflow.
func pageUp(a uintptr) (uintptr, bool) {
	r := (a + PageSize - 1) &^ (PageSize - 1)
	return r, r >= a
}

// vma is one virtual memory area [start, end).
type vma struct {
	start, end uintptr
	perms      platform.Access
	private    bool
	growsDown  bool
	// name is shown in /proc/[pid]/maps: "[heap]", "[stack]", a file's
	// path, or "".
	name string
	// mappable backs a file mapping (nil for anonymous memory); fileOff is
	// the file offset of start.
	mappable vfs.Mappable
	fileOff  int64
	// noWrite forbids mprotect from adding PROT_WRITE (a shared mapping of
	// a file not open for writing).
	noWrite bool
	// dontFork and wipeOnFork are madvise's MADV_DONTFORK and
	// MADV_WIPEONFORK.
	dontFork, wipeOnFork bool
	// direct says the platform maps this range straight from the host
	// file (platform.HostFileMapper), so a fault in it is the access's
	// own fault. Cleared whenever the platform range is unmapped.
	direct bool
	// noDirect says the range must come from the memory file: it was
	// writable at some point (it may hold private copies of file pages),
	// or mapping the host file failed.
	noDirect bool
}

func (v *vma) copyWith(start, end uintptr) *vma {
	n := *v
	n.start, n.end = start, end
	if v.mappable != nil {
		n.fileOff = v.fileOff + int64(start-v.start)
	}
	return &n
}

// page is one populated page of application memory.
type page struct {
	off    int64 // offset in the memory file
	mapped bool  // mapped in the platform address space
	// file marks a page that belongs to a file (its Mappable), not to this
	// address space: it is never freed here, and in a private mapping it
	// is mapped read-only until a write copies it.
	file bool
	// cow marks a private page shared with another address space since a
	// fork: mapped read-only until a write copies it (or finds it is the
	// last owner).
	cow bool
}

// mapAccess is how a page is mapped in the platform: its VMA's permissions,
// less write for a page to be copied on write.
func mapAccess(v *vma, p page) platform.Access {
	a := v.perms
	if (p.file && v.private) || p.cow {
		a.Write = false
	}
	return a
}

// MemoryManager is one application address space.
type MemoryManager struct {
	mf      *memfile.File
	as      platform.AddressSpace
	maxAddr uintptr

	mu sync.Mutex // guards every field below, and calls into as
	// vmas holds the VMAs, non-overlapping, ordered by start.
	vmas *btree.BTreeG[*vma]
	// pages maps a page address to its backing page.
	pages map[uintptr]page
	// brkStart is where the heap begins; brk is the current program break.
	brkStart, brk uintptr
	// mmapBase is the top of the area searched for new mappings.
	mmapBase uintptr
	// users counts the threads sharing the address space.
	users int
	// epoch counts changes of the platform address space.
	epoch uint64
	// maxPages is the high-water mark of len(pages), for ru_maxrss.
	maxPages int
	// pins are the ranges of in-flight writes into pages through the
	// sentry's mapping (a host read into a buffer), one entry per
	// PinnedBlocks call: fork gives the child a copy of a pinned page
	// instead of sharing it, so the write lands in the parent's page.
	// (A list of ranges, not a count per page: a 1 MiB read pinned and
	// unpinned 256 map entries.)
	pins []pinRange
}

// pinRange is a pinned range of pages, [start, end).
type pinRange struct{ start, end uintptr }

// pinKey is the range PinnedBlocks and Unpin record for (addr, n).
func pinKey(addr uintptr, n int) pinRange {
	end := addr + uintptr(n)
	if end < addr {
		end = ^uintptr(0)
	}
	return pinRange{pageDown(addr), end}
}

// isPinned says whether the page at a is in a pinned range.
func (mm *MemoryManager) isPinned(a uintptr) bool {
	for _, r := range mm.pins {
		if a+PageSize > r.start && a < r.end {
			return true
		}
	}
	return false
}

// New returns an empty memory manager backed by mf, mirrored in a new address
// space of p. mmapBase is the top of the area used for mappings without a fixed
// address.
func New(p platform.Platform, mf *memfile.File) (*MemoryManager, error) {
	as, err := p.NewAddressSpace()
	if err != nil {
		return nil, err
	}
	return &MemoryManager{
		mf:       mf,
		as:       as,
		maxAddr:  p.MaxUserAddress(),
		vmas:     btree.NewG(8, func(a, b *vma) bool { return a.start < b.start }),
		pages:    make(map[uintptr]page),
		mmapBase: p.MaxUserAddress(),
		users:    1,
	}, nil
}

// asMap and asUnmap change the platform address space, counting changes
// in epoch. Called with mu held.
func (mm *MemoryManager) asMap(addr, length uintptr, off int64, acc platform.Access) error {
	mm.epoch++
	return mm.as.MapFile(addr, length, off, acc)
}

func (mm *MemoryManager) asUnmap(addr, length uintptr) error {
	mm.epoch++
	for _, v := range mm.vmasIn(addr, addr+length) {
		v.direct = false
	}
	return mm.as.Unmap(addr, length)
}

// directOK says whether v may be mapped straight from its host file: a
// read-only (never writable) mapping of a file with a host FD, on a
// platform that can.
func (mm *MemoryManager) directOK(v *vma) bool {
	if v.noDirect || v.perms.Write || !(v.perms.Read || v.perms.Execute) || v.mappable == nil {
		return false
	}
	if _, ok := v.mappable.(vfs.HostFileMappable); !ok {
		return false
	}
	_, ok := mm.as.(platform.HostFileMapper)
	return ok
}

// mapDirect maps all of v straight from its host file (directOK(v)). On
// failure v is marked to come from the memory file from then on.
func (mm *MemoryManager) mapDirect(v *vma) error {
	fd, err := v.mappable.(vfs.HostFileMappable).HostFD()
	if err == nil {
		mm.epoch++
		err = mm.as.(platform.HostFileMapper).MapHostFile(v.start, v.end-v.start, fd, v.fileOff, v.perms, !v.private)
	}
	if err != nil {
		v.noDirect = true
		return err
	}
	v.direct = true
	// Memory-file pages mapped there before are replaced.
	mm.forEachPage(v.start, v.end, func(a uintptr, p page) {
		p.mapped = false
		mm.pages[a] = p
	})
	return nil
}

// Epoch returns a counter of changes to the platform address space: a
// thread records it before running application code, so HandleFault can
// tell a fault that another thread's change has already resolved.
func (mm *MemoryManager) Epoch() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return mm.epoch
}

// AddressSpace returns the platform address space.
func (mm *MemoryManager) AddressSpace() platform.AddressSpace { return mm.as }

// MaxAddress returns the first address above user memory.
func (mm *MemoryManager) MaxAddress() uintptr { return mm.maxAddr }

// SetMmapBase sets the top of the area searched for new mappings.
func (mm *MemoryManager) SetMmapBase(a uintptr) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.mmapBase = pageDown(a)
}

// SetBrk sets the start of the heap (and the break) after an ELF is loaded.
func (mm *MemoryManager) SetBrk(a uintptr) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.brkStart, mm.brk = a, a
}

// IncUsers adds a user (a thread sharing the address space).
func (mm *MemoryManager) IncUsers() {
	mm.mu.Lock()
	mm.users++
	mm.mu.Unlock()
}

// Release drops a user; the last one frees all memory and destroys the
// address space.
func (mm *MemoryManager) Release() {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.users > 1 {
		mm.users--
		return
	}
	mm.users = 0
	// The address space goes first (its process dies meanwhile); the
	// pages then go back to the memory file in runs, one hole punched
	// per run (one per page took milliseconds at every exit).
	mm.as.Release()
	offs := make([]int64, 0, len(mm.pages))
	for a, p := range mm.pages {
		if !p.file {
			offs = append(offs, p.off)
		}
		delete(mm.pages, a)
	}
	if len(offs) > 0 {
		mm.mf.DecRefAll(offs)
	}
	mm.vmas.Ascend(func(v *vma) bool {
		track(v, -1)
		return true
	})
	mm.vmas.Clear(false)
}

// findVMA returns the VMA containing addr, or nil.
func (mm *MemoryManager) findVMA(addr uintptr) *vma {
	var found *vma
	mm.vmas.DescendLessOrEqual(&vma{start: addr}, func(v *vma) bool {
		if addr < v.end {
			found = v
		}
		return false
	})
	return found
}

// overlaps reports whether any VMA intersects [start, end).
func (mm *MemoryManager) overlaps(start, end uintptr) bool {
	if v := mm.findVMA(start); v != nil {
		return true
	}
	hit := false
	mm.vmas.AscendRange(&vma{start: start}, &vma{start: end}, func(*vma) bool {
		hit = true
		return false
	})
	return hit
}

// vmasIn returns the VMAs intersecting [start, end), in order.
func (mm *MemoryManager) vmasIn(start, end uintptr) []*vma {
	var out []*vma
	if v := mm.findVMA(start); v != nil {
		out = append(out, v)
	}
	mm.vmas.AscendRange(&vma{start: start}, &vma{start: end}, func(v *vma) bool {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
		return true
	})
	return out
}

// split makes sure no VMA straddles addr.
func (mm *MemoryManager) split(addr uintptr) {
	v := mm.findVMA(addr)
	if v == nil || v.start == addr {
		return
	}
	mm.vmas.Delete(v)
	mm.vmas.ReplaceOrInsert(v.copyWith(v.start, addr))
	mm.vmas.ReplaceOrInsert(v.copyWith(addr, v.end))
	track(v, 1)
}

// track tells a file how many shared mappings of it exist (memfd seals
// need to know).
func track(v *vma, delta int) {
	if v.mappable == nil {
		return
	}
	if h, ok := v.mappable.(vfs.MappingHolder); ok {
		h.HoldMapping(delta)
	}
	if v.private {
		return
	}
	if c, ok := v.mappable.(vfs.MappingCounter); ok {
		c.SharedMappings(delta)
	}
}

// forEachPage calls fn for each populated page in [start, end), choosing the
// cheaper of walking the range and walking the populated pages.
func (mm *MemoryManager) forEachPage(start, end uintptr, fn func(addr uintptr, p page)) {
	if (end-start)/PageSize <= uintptr(len(mm.pages)) {
		for a := start; a < end; a += PageSize {
			if p, ok := mm.pages[a]; ok {
				fn(a, p)
			}
		}
		return
	}
	for a, p := range mm.pages {
		if a >= start && a < end {
			fn(a, p)
		}
	}
}

// unmapPlatform removes [start, end) from the platform address space and marks
// the pages there unmapped.
func (mm *MemoryManager) unmapPlatform(start, end uintptr) {
	mm.asUnmap(start, end-start)
	mm.forEachPage(start, end, func(a uintptr, p page) {
		p.mapped = false
		mm.pages[a] = p
	})
}

// dropPages frees the pages in [start, end) and unmaps them from the platform.
func (mm *MemoryManager) dropPages(start, end uintptr) {
	mm.asUnmap(start, end-start)
	var offs []int64
	mm.forEachPage(start, end, func(a uintptr, p page) {
		if !p.file {
			offs = append(offs, p.off)
		}
		delete(mm.pages, a)
	})
	if len(offs) > 0 {
		mm.mf.DecRefAll(offs)
	}
}

// removeRange deletes every mapping in [start, end).
func (mm *MemoryManager) removeRange(start, end uintptr) {
	if start >= end {
		return
	}
	mm.split(start)
	mm.split(end)
	gone := mm.vmasIn(start, end)
	for _, v := range gone {
		mm.vmas.Delete(v)
	}
	// Pages go before the mappables hear of it: the last mapping of a
	// segment may free its pages, which must not stay mapped here.
	mm.dropPages(start, end)
	for _, v := range gone {
		track(v, -1)
	}
}

// findGap returns the highest page-aligned address a below mm.mmapBase such
// that [a, a+length) is free, or 0.
func (mm *MemoryManager) findGap(length uintptr) uintptr {
	top := mm.mmapBase
	var result uintptr
	check := func(gapStart, gapEnd uintptr) bool {
		if gapEnd > top {
			gapEnd = top
		}
		if gapStart < MinAddress {
			gapStart = MinAddress
		}
		if gapEnd > gapStart && gapEnd-gapStart >= length {
			result = gapEnd - length
			return true
		}
		return false
	}
	prevStart := top
	done := false
	mm.vmas.DescendLessOrEqual(&vma{start: top}, func(v *vma) bool {
		if v.end <= prevStart && check(v.end, prevStart) {
			done = true
			return false
		}
		if v.start < prevStart {
			prevStart = v.start
		}
		return true
	})
	if !done {
		check(0, prevStart)
	}
	return result
}

// MMapOpts describes an anonymous mapping request.
type MMapOpts struct {
	Addr, Length uintptr
	Perms        platform.Access
	Private      bool
	Fixed        bool // MAP_FIXED: replace what is there
	NoReplace    bool // MAP_FIXED_NOREPLACE: fail with EEXIST if anything is there
	GrowsDown    bool
	Populate     bool
	Name         string
	// Mappable and Offset make a file mapping.
	Mappable vfs.Mappable
	Offset   int64
	// NoWrite forbids adding PROT_WRITE later.
	NoWrite bool
}

// MMap creates an anonymous mapping and returns its address. Argument rules
// that concern flag combinations are checked by the caller; MMap checks the
// address range.
func (mm *MemoryManager) MMap(o MMapOpts) (uintptr, error) {
	if o.Length == 0 {
		return 0, unix.EINVAL
	}
	length, ok := pageUp(o.Length)
	if !ok || length > mm.maxAddr {
		return 0, unix.ENOMEM
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var addr uintptr
	switch {
	case o.Fixed || o.NoReplace:
		if o.Addr&(PageSize-1) != 0 {
			return 0, unix.EINVAL
		}
		if o.Addr > mm.maxAddr-length {
			return 0, unix.ENOMEM
		}
		if o.Addr < MinAddress {
			return 0, unix.EPERM
		}
		addr = o.Addr
		if o.NoReplace && mm.overlaps(addr, addr+length) {
			return 0, unix.EEXIST
		}
		mm.removeRange(addr, addr+length)
	default:
		hint := pageDown(o.Addr)
		if hint != 0 && hint >= MinAddress && hint <= mm.maxAddr-length && !mm.overlaps(hint, hint+length) {
			addr = hint
		} else if addr = mm.findGap(length); addr == 0 {
			return 0, unix.ENOMEM
		}
	}
	v := &vma{start: addr, end: addr + length, perms: o.Perms, private: o.Private, growsDown: o.GrowsDown, name: o.Name,
		mappable: o.Mappable, fileOff: o.Offset, noWrite: o.NoWrite, noDirect: o.Perms.Write}
	mm.vmas.ReplaceOrInsert(v)
	track(v, 1)
	if o.Populate {
		// MAP_POPULATE is best effort: pages it cannot fill now fault in
		// later (or fail then).
		_ = mm.populateLocked(v, addr, addr+length, true)
	}
	return addr, nil
}

// Munmap implements munmap(2).
func (mm *MemoryManager) Munmap(addr, length uintptr) error {
	if addr&(PageSize-1) != 0 || length == 0 {
		return unix.EINVAL
	}
	l, ok := pageUp(length)
	if !ok || addr > mm.maxAddr || l > mm.maxAddr-addr {
		return unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.removeRange(addr, addr+l)
	return nil
}

// covered reports whether VMAs cover [start, end) with no hole.
func (mm *MemoryManager) covered(start, end uintptr) bool {
	next := start
	for _, v := range mm.vmasIn(start, end) {
		if v.start > next {
			return false
		}
		next = v.end
	}
	return next >= end
}

// Mprotect implements mprotect(2).
func (mm *MemoryManager) Mprotect(addr, length uintptr, perms platform.Access) error {
	if addr&(PageSize-1) != 0 {
		return unix.EINVAL
	}
	if length == 0 {
		return nil
	}
	l, ok := pageUp(length)
	if !ok || addr > mm.maxAddr || l > mm.maxAddr-addr {
		return unix.ENOMEM
	}
	end := addr + l
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if !mm.covered(addr, end) {
		return unix.ENOMEM
	}
	if perms.Write {
		for _, v := range mm.vmasIn(addr, end) {
			if v.noWrite {
				return unix.EACCES
			}
		}
	}
	mm.split(addr)
	mm.split(end)
	for _, v := range mm.vmasIn(addr, end) {
		v.perms = perms
		if perms.Write {
			v.noDirect = true
		}
	}
	mm.unmapPlatform(addr, end)
	return nil
}

// Mremap flags, from mman.h.
const (
	MremapMaymove   = 1
	MremapFixed     = 2
	MremapDontunmap = 4
)

// Mremap implements mremap(2) for anonymous memory.
func (mm *MemoryManager) Mremap(old, oldLen, newLen uintptr, flags int, newAddr uintptr) (uintptr, error) {
	if flags&^(MremapMaymove|MremapFixed|MremapDontunmap) != 0 || old&(PageSize-1) != 0 {
		return 0, unix.EINVAL
	}
	if flags&MremapFixed != 0 && flags&MremapMaymove == 0 {
		return 0, unix.EINVAL
	}
	if flags&MremapDontunmap != 0 {
		// DONTUNMAP leaves the old range mapped and empty; not yet supported.
		return 0, unix.EINVAL
	}
	oldLen, ok1 := pageUp(oldLen)
	newLen, ok2 := pageUp(newLen)
	if !ok1 || !ok2 || newLen == 0 {
		return 0, unix.EINVAL
	}
	if oldLen == 0 {
		// Duplicating a shared mapping: there are no shared mappings yet.
		return 0, unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	v := mm.findVMA(old)
	if v == nil || oldLen > v.end-old {
		return 0, unix.EFAULT
	}
	if flags&MremapFixed != 0 {
		if newAddr&(PageSize-1) != 0 || newAddr > mm.maxAddr-newLen || newAddr < MinAddress {
			return 0, unix.EINVAL
		}
		if newAddr < old+oldLen && old < newAddr+newLen {
			return 0, unix.EINVAL
		}
		mm.removeRange(newAddr, newAddr+newLen)
		if newLen < oldLen {
			mm.removeRange(old+newLen, old+oldLen)
			oldLen = newLen
		}
		mm.move(old, oldLen, newAddr, newLen)
		return newAddr, nil
	}
	if newLen <= oldLen {
		mm.removeRange(old+newLen, old+oldLen)
		return old, nil
	}
	// Grow in place when the range ends where the VMA does and the space
	// after it is free.
	if old+oldLen == v.end && newLen-oldLen <= mm.maxAddr-v.end && !mm.overlaps(v.end, old+newLen) {
		mm.vmas.Delete(v)
		v.end = old + newLen
		// The new tail is not mapped in the platform: a host-file
		// mapping is made again, whole, at the next fault.
		v.direct = false
		mm.vmas.ReplaceOrInsert(v)
		return old, nil
	}
	if flags&MremapMaymove == 0 {
		return 0, unix.ENOMEM
	}
	dst := mm.findGap(newLen)
	if dst == 0 {
		return 0, unix.ENOMEM
	}
	mm.move(old, oldLen, dst, newLen)
	return dst, nil
}

// move re-homes the mapping [old, old+oldLen) (inside one VMA) to the free
// range [dst, dst+newLen), newLen >= oldLen, keeping its pages.
func (mm *MemoryManager) move(old, oldLen, dst, newLen uintptr) {
	mm.split(old)
	mm.split(old + oldLen)
	src := mm.findVMA(old)
	mm.vmas.Delete(src)
	moved := src.copyWith(dst, dst+newLen)
	moved.direct = false // nothing is mapped at dst yet
	mm.vmas.ReplaceOrInsert(moved)
	mm.asUnmap(old, oldLen)
	var movedPages []uintptr
	mm.forEachPage(old, old+oldLen, func(a uintptr, p page) { movedPages = append(movedPages, a) })
	for _, a := range movedPages {
		p := mm.pages[a]
		delete(mm.pages, a)
		p.mapped = false
		mm.pages[dst+(a-old)] = p
	}
}

// Brk implements brk(2): it returns the new break, or the old one when the
// request cannot be met.
func (mm *MemoryManager) Brk(addr uintptr) uintptr {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if addr < mm.brkStart || addr > mm.maxAddr {
		return mm.brk
	}
	oldEnd, _ := pageUp(mm.brk)
	newEnd, _ := pageUp(addr)
	switch {
	case newEnd > oldEnd:
		if mm.overlaps(oldEnd, newEnd) {
			return mm.brk
		}
		mm.vmas.ReplaceOrInsert(&vma{start: oldEnd, end: newEnd, perms: platform.Access{Read: true, Write: true}, private: true, name: "[heap]"})
	case newEnd < oldEnd:
		mm.removeRange(newEnd, oldEnd)
	}
	mm.brk = addr
	return addr
}

// Madvise advice values, from mman-common.h.
const (
	MadvNormal      = 0
	MadvRandom      = 1
	MadvSequential  = 2
	MadvWillneed    = 3
	MadvDontneed    = 4
	MadvFree        = 8
	MadvRemove      = 9
	MadvDontfork    = 10
	MadvDofork      = 11
	MadvMergeable   = 12
	MadvUnmergeable = 13
	MadvHugepage    = 14
	MadvNohugepage  = 15
	MadvDontdump    = 16
	MadvDodump      = 17
	MadvWipeonfork  = 18
	MadvKeeponfork  = 19
	MadvCold        = 20
	MadvPageout     = 21
)

// Madvise implements madvise(2). Advice that only tunes the kernel's paging is
// accepted and has no effect here, as the kernel is free to ignore it.
func (mm *MemoryManager) Madvise(addr, length uintptr, advice int) error {
	if addr&(PageSize-1) != 0 {
		return unix.EINVAL
	}
	switch advice {
	case MadvNormal, MadvRandom, MadvSequential, MadvWillneed, MadvDontneed, MadvFree,
		MadvDontfork, MadvDofork, MadvMergeable, MadvUnmergeable, MadvHugepage,
		MadvNohugepage, MadvDontdump, MadvDodump, MadvWipeonfork, MadvKeeponfork,
		MadvCold, MadvPageout:
	default:
		return unix.EINVAL
	}
	l, ok := pageUp(length)
	if !ok || addr+l < addr {
		return unix.EINVAL
	}
	if l == 0 {
		return nil
	}
	if addr > mm.maxAddr || l > mm.maxAddr-addr {
		return unix.ENOMEM // outside the address space
	}
	end := addr + l
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if !mm.covered(addr, end) {
		return unix.ENOMEM
	}
	if advice == MadvDontfork || advice == MadvDofork || advice == MadvWipeonfork || advice == MadvKeeponfork {
		mm.split(addr)
		mm.split(end)
		for _, v := range mm.vmasIn(addr, end) {
			switch advice {
			case MadvDontfork:
				v.dontFork = true
			case MadvDofork:
				v.dontFork = false
			case MadvWipeonfork:
				if !v.private || v.mappable != nil {
					return unix.EINVAL
				}
				v.wipeOnFork = true
			case MadvKeeponfork:
				v.wipeOnFork = false
			}
		}
		return nil
	}
	if advice == MadvDontneed || advice == MadvFree {
		// Private anonymous pages are discarded: later reads see zeroes.
		// Shared anonymous memory keeps its contents (it is shmem in Linux).
		for _, v := range mm.vmasIn(addr, end) {
			if !v.private {
				continue
			}
			s, e := max(v.start, addr), min(v.end, end)
			mm.dropPages(s, e)
		}
	}
	return nil
}

// populateLocked makes sure every page in [start, end) (inside v) has a backing
// page, and maps them in the platform address space if mapIt. Anonymous
// memory gets runs of fresh pages allocated contiguously; file mappings get
// the file's pages. It returns EFAULT for a file page beyond the end of the
// file (the caller turns it into SIGBUS or EFAULT).
func (mm *MemoryManager) populateLocked(v *vma, start, end uintptr, mapIt bool) error {
	for a := start; a < end; {
		if _, ok := mm.pages[a]; ok {
			a += PageSize
			continue
		}
		if v.mappable != nil && v.private && v.perms.Write {
			// A writable private mapping of a file (a data segment)
			// gets its private copies now, a run of them in one
			// allocation: mapping the file pages read-only cost a
			// second fault per page at its first write (python3 -c
			// pass took 300 such faults), each a round trip to the
			// sentry.
			n, err := mm.copyFileRunLocked(v, a, end)
			if err != nil {
				if a == start {
					return err
				}
				end = a // map what exists before the end of the file
				break
			}
			a += uintptr(n) * PageSize
			continue
		}
		if v.mappable != nil {
			idx := (v.fileOff + int64(a-v.start)) / PageSize
			off, err := v.mappable.MapPage(idx, !v.private && v.perms.Write)
			if err != nil {
				if a == start {
					return err
				}
				end = a // map what exists before the end of the file
				break
			}
			mm.pages[a] = page{off: off, file: true}
			a += PageSize
			continue
		}
		runEnd := a + PageSize
		for runEnd < end {
			if _, ok := mm.pages[runEnd]; ok {
				break
			}
			runEnd += PageSize
		}
		n := int((runEnd - a) / PageSize)
		off, err := mm.mf.Allocate(n)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			mm.pages[a+uintptr(i)*PageSize] = page{off: off + int64(i)*PageSize}
		}
		a = runEnd
	}
	mm.maxPages = max(mm.maxPages, len(mm.pages))
	if !mapIt {
		return nil
	}
	return mm.mapPopulatedLocked(v, start, end)
}

// mapPopulatedLocked maps the populated, unmapped pages of v in [start,
// end) into the address space, in runs contiguous in address, memory-file
// offset and access.
func (mm *MemoryManager) mapPopulatedLocked(v *vma, start, end uintptr) error {
	for a := start; a < end; {
		p, ok := mm.pages[a]
		if !ok || p.mapped {
			a += PageSize
			continue
		}
		acc := mapAccess(v, p)
		runEnd := a + PageSize
		for runEnd < end {
			q, ok := mm.pages[runEnd]
			if !ok || q.mapped || q.off != p.off+int64(runEnd-a) || mapAccess(v, q) != acc {
				break
			}
			runEnd += PageSize
		}
		if err := mm.asMap(a, runEnd-a, p.off, acc); err != nil {
			return err
		}
		for b := a; b < runEnd; b += PageSize {
			q := mm.pages[b]
			q.mapped = true
			mm.pages[b] = q
		}
		a = runEnd
	}
	return nil
}

// copyFileRunLocked gives the writable private file mapping v private
// copies of the file's pages for the unpopulated run starting at a (up to
// end): one allocation, each page copied from the file's page cache. It
// returns how many pages it populated, fewer than the run when the file
// ends inside it; an error only when not even the first page exists.
func (mm *MemoryManager) copyFileRunLocked(v *vma, a, end uintptr) (int, error) {
	n := 1
	for a+uintptr(n)*PageSize < end {
		if _, ok := mm.pages[a+uintptr(n)*PageSize]; ok {
			break
		}
		n++
	}
	noff, err := mm.mf.Allocate(n)
	if err != nil {
		return 0, err
	}
	// One call to make the fresh pages present in the sentry's view,
	// rather than a host fault per page in the copies below (dear on a
	// VM); kernels before 5.14 say EINVAL and the copies fault them in.
	unix.Madvise(mm.mf.Slice(noff, n*PageSize), unix.MADV_POPULATE_WRITE)
	idx := (v.fileOff + int64(a-v.start)) / PageSize
	done := 0
	if hm, ok := v.mappable.(vfs.HostFileMappable); ok {
		// Read the run straight from the host file into the copies: one
		// read, no detour through the page cache (which a private copy
		// would only duplicate). On failure, fall back to the cache.
		if fd, err := hm.HostFD(); err == nil {
			done = preadPages(fd, mm.mf.Slice(noff, n*PageSize), idx*PageSize)
		}
	}
	for i := 0; i < done; i++ {
		mm.pages[a+uintptr(i)*PageSize] = page{off: noff + int64(i)*PageSize}
	}
	for ; done < n; done++ {
		off, err := v.mappable.MapPage(idx+int64(done), false)
		if err != nil {
			if done == 0 {
				mm.mf.Free(noff, n)
				return 0, err
			}
			break
		}
		dst := noff + int64(done)*PageSize
		copy(mm.mf.Slice(dst, PageSize), mm.mf.Slice(off, PageSize))
		mm.pages[a+uintptr(done)*PageSize] = page{off: dst}
	}
	if done < n {
		mm.mf.Free(noff+int64(done)*PageSize, n-done)
	}
	return done, nil
}

// populated says whether the page at a has memory behind it.
func (mm *MemoryManager) populated(a uintptr) bool {
	_, ok := mm.pages[a]
	return ok
}

// preadPages reads buf from the host file fd at off and returns how many
// pages of it hold file data (the last one may end with zeroes, past the
// end of the file); 0 on an error.
func preadPages(fd int, buf []byte, off int64) int {
	got := 0
	for got < len(buf) {
		r, err := unix.Pread(fd, buf[got:], off+int64(got))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0
		}
		if r == 0 {
			break
		}
		got += r
	}
	return (got + PageSize - 1) / PageSize
}

// cowLocked gives a private mapping its own copy of the page at a (a file
// page, or an anonymous page shared since a fork). The last owner of a
// forked page keeps it without copying.
func (mm *MemoryManager) cowLocked(a uintptr, p page) (page, error) {
	if p.mapped {
		mm.asUnmap(a, PageSize)
	}
	if p.cow && mm.mf.Owners(p.off) == 1 {
		np := page{off: p.off}
		mm.pages[a] = np
		return np, nil
	}
	off, err := mm.mf.Allocate(1)
	if err != nil {
		return p, err
	}
	copy(mm.mf.Slice(off, PageSize), mm.mf.Slice(p.off, PageSize))
	if p.cow {
		mm.mf.DecRef(p.off)
	}
	np := page{off: off}
	mm.pages[a] = np
	return np, nil
}

// Fault si_codes for SIGSEGV and SIGBUS.
const (
	SegvMaperr = 1
	SegvAccerr = 2
	BusAdrerr  = 2
)

// Fault is the signal an unresolvable fault raises.
type Fault struct {
	Signo int // unix.SIGSEGV or unix.SIGBUS
	Code  int
}

// HandleFault resolves an application fault at addr, raised by a thread
// that entered application code at epoch (see Epoch). It returns a zero
// Fault when the access may be retried, or the signal to deliver.
func (mm *MemoryManager) HandleFault(addr uintptr, epoch uint64) (Fault, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	a := pageDown(addr)
	v := mm.findVMA(a)
	segv := func(code int) (Fault, error) { return Fault{Signo: int(unix.SIGSEGV), Code: code}, nil }
	if v == nil {
		return segv(SegvMaperr)
	}
	if !v.perms.Read && !v.perms.Write && !v.perms.Execute {
		return segv(SegvAccerr)
	}
	if v.direct {
		if mm.epoch != epoch {
			return Fault{}, nil // mapped since the thread ran: retry
		}
		// The host file is mapped there: an access it does not allow,
		// or a page beyond the end of the file (SIGBUS, as in Linux).
		idx := (v.fileOff + int64(a-v.start)) / PageSize
		if _, err := v.mappable.MapPage(idx, false); err == unix.EFAULT {
			return Fault{Signo: int(unix.SIGBUS), Code: BusAdrerr}, nil
		}
		return segv(SegvAccerr)
	}
	if mm.directOK(v) && mm.mapDirect(v) == nil {
		return Fault{}, nil
	}
	if p, ok := mm.pages[a]; ok && p.mapped {
		if ((p.file && v.private) || p.cow) && v.perms.Write {
			// A write to a page shared copy-on-write: copy it.
			// The new mapping replaces the old one (MAP_FIXED): no
			// unmap first.
			p.mapped = false
			np, err := mm.cowLocked(a, p)
			if err != nil {
				return Fault{}, err
			}
			if err := mm.asMap(a, PageSize, np.off, v.perms); err != nil {
				return Fault{}, err
			}
			np.mapped = true
			mm.pages[a] = np
			return Fault{}, nil
		}
		if mm.epoch != epoch {
			// The mapping changed since the thread ran (another thread
			// resolved this fault): retry.
			return Fault{}, nil
		}
		// Mapped with the VMA's permissions and still faulting: the access
		// is one the permissions do not allow.
		return segv(SegvAccerr)
	}
	if v.mappable != nil {
		return mm.fileFaultLocked(v, a)
	}
	start := max(v.start, a&^(faultChunk-1))
	end := min(v.end, (a&^(faultChunk-1))+faultChunk)
	if err := mm.populateLocked(v, start, end, true); err != nil {
		return Fault{}, err
	}
	return Fault{}, nil
}

// fileFaultLocked populates and maps the file pages of v around a, the
// aligned fileFaultChunk window holding it, like Linux's fault-around,
// pages before a included: programs touch their data downwards as often
// as upwards (python3 initialises its static objects from the top of its
// data segment, which cost a fault per page when only the pages from a on
// were populated). The window is populated from its start, so its pages
// are contiguous in the memory file and map with one call. A page beyond
// the end of the file is SIGBUS.
func (mm *MemoryManager) fileFaultLocked(v *vma, a uintptr) (Fault, error) {
	start := max(v.start, a&^(fileFaultChunk-1))
	end := min(v.end, start+fileFaultChunk)
	// Its error is the window's first page's; a's own is what matters.
	_ = mm.populateLocked(v, start, end, false)
	var err error
	if !mm.populated(a) {
		// The window stops short of a (the end of the file) or failed
		// from its start: populating a alone says why, if it fails.
		err = mm.populateLocked(v, a, a+PageSize, false)
	}
	if err != nil {
		if err == unix.EFAULT {
			return Fault{Signo: int(unix.SIGBUS), Code: BusAdrerr}, nil
		}
		return Fault{}, err
	}
	return Fault{}, mm.mapPopulatedLocked(v, start, end)
}

// effective returns what an access check sees: on x86, write and execute
// permissions imply read.
func effective(a platform.Access) platform.Access {
	if a.Write || a.Execute {
		a.Read = true
	}
	return a
}

// translate returns the sentry's view of the page holding addr, populating
// it if needed, or EFAULT if the access is not allowed. Called with mu held.
func (mm *MemoryManager) translate(addr uintptr, write, force bool) ([]byte, error) {
	var last *vma
	return mm.translateCached(addr, write, force, &last)
}

// translateCached is translate with the VMA of the previous call remembered
// in *last, so walking a range looks each VMA up once.
func (mm *MemoryManager) translateCached(addr uintptr, write, force bool, last **vma) ([]byte, error) {
	a := pageDown(addr)
	p, ok := mm.pages[a]
	if !ok || !force {
		v := *last
		if v == nil || a < v.start || a >= v.end {
			v = mm.findVMA(a)
			*last = v
		}
		if v == nil {
			return nil, unix.EFAULT
		}
		perms := effective(v.perms)
		if !force && ((write && !perms.Write) || (!write && !perms.Read)) {
			return nil, unix.EFAULT
		}
		if !ok {
			// Populate the surrounding chunk, like a fault would, so
			// neighbouring pages are contiguous in the memory file.
			start, end := a, a+PageSize
			if v.mappable == nil {
				start = max(v.start, a&^(faultChunk-1))
				end = min(v.end, (a&^(faultChunk-1))+faultChunk)
			}
			if err := mm.populateLocked(v, start, end, false); err != nil {
				return nil, unix.EFAULT
			}
			p = mm.pages[a]
		}
		if write && ((p.file && v.private) || p.cow) {
			// A private copy (a forced write into a read-only
			// mapping): the host file may no longer be mapped here.
			v.noDirect = true
			if v.direct {
				mm.unmapPlatform(v.start, v.end)
			}
			var err error
			if p, err = mm.cowLocked(a, p); err != nil {
				return nil, unix.EFAULT
			}
		}
	}
	return mm.mf.Slice(p.off, PageSize), nil
}

func (mm *MemoryManager) copy(addr uintptr, b []byte, write, force bool) (int, error) {
	if uintptr(len(b)) > mm.maxAddr || addr > mm.maxAddr-uintptr(len(b)) {
		return 0, unix.EFAULT
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	done := 0
	var last *vma
	for done < len(b) {
		pg, err := mm.translateCached(addr, write, force, &last)
		if err != nil {
			return done, err
		}
		in := int(addr & (PageSize - 1))
		var n int
		if write {
			n = copy(pg[in:], b[done:])
		} else {
			n = copy(b[done:], pg[in:])
		}
		done += n
		addr += uintptr(n)
	}
	return done, nil
}

// CopyIn copies application memory at addr into dst.
func (mm *MemoryManager) CopyIn(addr uintptr, dst []byte) (int, error) {
	return mm.copy(addr, dst, false, false)
}

// CopyOut copies src to application memory at addr.
func (mm *MemoryManager) CopyOut(addr uintptr, src []byte) (int, error) {
	return mm.copy(addr, src, true, false)
}

// WriteForce copies src to application memory at addr regardless of the
// mapping's permissions (the loader filling read-only segments).
func (mm *MemoryManager) WriteForce(addr uintptr, src []byte) (int, error) {
	return mm.copy(addr, src, true, true)
}

// CopyInString reads a NUL-terminated string of at most max bytes (without
// the NUL). It returns ENAMETOOLONG if no NUL is found within max bytes.
func (mm *MemoryManager) CopyInString(addr uintptr, max int) (string, error) {
	var out []byte
	var buf [256]byte
	for len(out) < max {
		// Never read across a page we have not checked: read to page end.
		n := min(len(buf), int(PageSize-addr&(PageSize-1)), max-len(out))
		if _, err := mm.CopyIn(addr, buf[:n]); err != nil {
			return "", err
		}
		for i := 0; i < n; i++ {
			if buf[i] == 0 {
				return string(append(out, buf[:i]...)), nil
			}
		}
		out = append(out, buf[:n]...)
		addr += uintptr(n)
	}
	return "", unix.ENAMETOOLONG
}

// Blocks returns the sentry's views of [addr, addr+n) for I/O directly into
// or out of application memory. It stops at the first page that cannot be
// accessed; if that is the first one it returns EFAULT.
func (mm *MemoryManager) Blocks(addr uintptr, n int, write bool, out [][]byte) ([][]byte, error) {
	return mm.blocks(addr, n, write, false, out)
}

// PinnedBlocks is Blocks for I/O that writes into application memory after
// the call returns (a host read): the pages stay pinned until Unpin with
// the same range.
func (mm *MemoryManager) PinnedBlocks(addr uintptr, n int, out [][]byte) ([][]byte, error) {
	return mm.blocks(addr, n, true, true, out)
}

// Unpin ends the pin PinnedBlocks took on [addr, addr+n).
func (mm *MemoryManager) Unpin(addr uintptr, n int) {
	if n <= 0 {
		return
	}
	k := pinKey(addr, n)
	mm.mu.Lock()
	defer mm.mu.Unlock()
	for i, r := range mm.pins {
		if r == k {
			mm.pins = append(mm.pins[:i], mm.pins[i+1:]...)
			return
		}
	}
}

func (mm *MemoryManager) blocks(addr uintptr, n int, write, pin bool, out [][]byte) ([][]byte, error) {
	if n == 0 {
		return out, nil
	}
	key := pinKey(addr, n) // as Unpin computes it
	if uintptr(n) > mm.maxAddr || addr > mm.maxAddr-uintptr(n) {
		n = int(mm.maxAddr - min(addr, mm.maxAddr))
		if n == 0 {
			return out, unix.EFAULT
		}
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	base := len(out)
	if pin {
		// Pinned unless nothing could be translated (the caller
		// unpins only what succeeded).
		defer func() {
			if len(out) > base {
				mm.pins = append(mm.pins, key)
			}
		}()
	}
	first := true
	var last *vma
	for n > 0 {
		pg, err := mm.translateCached(addr, write, false, &last)
		if err != nil {
			if first {
				return out, err
			}
			return out, nil
		}
		first = false
		in := int(addr & (PageSize - 1))
		b := pg[in:min(PageSize, in+n)]
		// Merge with the previous block when the memory-file pages are
		// adjacent: fewer, larger iovecs for the host.
		if k := len(out); k > base && in == 0 {
			prev := out[k-1]
			if end := unsafe.Add(unsafe.Pointer(unsafe.SliceData(prev)), len(prev)); end == unsafe.Pointer(unsafe.SliceData(b)) {
				out[k-1] = unsafe.Slice(unsafe.SliceData(prev), len(prev)+len(b))
				n -= len(b)
				addr += uintptr(len(b))
				continue
			}
		}
		out = append(out, b)
		n -= len(b)
		addr += uintptr(len(b))
	}
	return out, nil
}

// msync(2) flags.
const (
	MsAsync      = 1
	MsInvalidate = 2
	MsSync       = 4
)

// Msync implements msync(2). Mapped file pages are the file's own pages, so
// there is nothing to write back; the call checks its arguments and range.
func (mm *MemoryManager) Msync(addr, length uintptr, flags int) error {
	if addr&(PageSize-1) != 0 || flags&^(MsAsync|MsInvalidate|MsSync) != 0 || flags&(MsAsync|MsSync) == MsAsync|MsSync {
		return unix.EINVAL
	}
	l, ok := pageUp(length)
	if !ok || addr+l < addr {
		return unix.ENOMEM
	}
	if l == 0 {
		return nil
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if !mm.covered(addr, addr+l) {
		return unix.ENOMEM
	}
	return nil
}

// Mincore implements mincore(2): one byte per page, 1 where the page is
// populated.
func (mm *MemoryManager) Mincore(addr, length uintptr) ([]byte, error) {
	if addr&(PageSize-1) != 0 {
		return nil, unix.EINVAL
	}
	l, ok := pageUp(length)
	if !ok || addr+l < addr || addr+l > mm.maxAddr {
		return nil, unix.ENOMEM
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if l != 0 && !mm.covered(addr, addr+l) {
		return nil, unix.ENOMEM
	}
	vec := make([]byte, l/PageSize)
	for i := range vec {
		if _, ok := mm.pages[addr+uintptr(i)*PageSize]; ok {
			vec[i] = 1
		}
	}
	return vec, nil
}

// MapInfo describes one VMA for /proc/[pid]/maps.
type MapInfo struct {
	Start, End uintptr
	Perms      string // "rwxp"
	Offset     int64
	Name       string
}

// Maps lists the VMAs in address order.
func (mm *MemoryManager) Maps() []MapInfo {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	var out []MapInfo
	mm.vmas.Ascend(func(v *vma) bool {
		p := []byte("---p")
		if v.perms.Read || v.perms.Write || v.perms.Execute {
			if effective(v.perms).Read {
				p[0] = 'r'
			}
		}
		if v.perms.Write {
			p[1] = 'w'
		}
		if v.perms.Execute {
			p[2] = 'x'
		}
		if !v.private {
			p[3] = 's'
		}
		out = append(out, MapInfo{Start: v.start, End: v.end, Perms: string(p), Offset: v.fileOff, Name: v.name})
		return true
	})
	return out
}

// Usage returns the mapped size and the resident size in bytes.
func (mm *MemoryManager) Usage() (vsize, rss uint64) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	mm.vmas.Ascend(func(v *vma) bool {
		vsize += uint64(v.end - v.start)
		return true
	})
	return vsize, uint64(len(mm.pages)) * PageSize
}

// Snapshot is an address space as fork(2) copies it: VMAs and pages, each
// anonymous page holding a reference for the child.
type Snapshot struct {
	vmas          []*vma
	pages         map[uintptr]page
	brkStart, brk uintptr
	mmapBase      uintptr
}

// ForkSnapshot prepares a fork (called by the parent, on its platform
// thread): private pages become copy-on-write in the parent and the
// returned snapshot; shared mappings (file pages) are shared as they are.
func (mm *MemoryManager) ForkSnapshot() *Snapshot {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	s := &Snapshot{pages: make(map[uintptr]page), brkStart: mm.brkStart, brk: mm.brk, mmapBase: mm.mmapBase}
	mm.vmas.Ascend(func(v *vma) bool {
		if v.dontFork {
			return true
		}
		c := *v
		c.direct = false // the child's address space starts empty
		s.vmas = append(s.vmas, &c)
		// The snapshot holds its mappings from now on (handed to the
		// child's address space), so a mappable cannot go away before
		// the child exists.
		track(&c, 1)
		if v.wipeOnFork {
			return true
		}
		if v.perms.Write {
			// Make the parent's writable mappings fault before any page
			// is shared, so no thread writes a page the child sees.
			mm.unmapPlatform(v.start, v.end)
		}
		mm.forEachPage(v.start, v.end, func(a uintptr, p page) {
			cp := page{off: p.off, file: p.file}
			if !p.file && mm.isPinned(a) {
				// A write into this page is in flight: the child gets
				// its own copy now.
				if off, err := mm.mf.Allocate(1); err == nil {
					copy(mm.mf.Slice(off, PageSize), mm.mf.Slice(p.off, PageSize))
					s.pages[a] = page{off: off}
					return
				}
			}
			if !p.file {
				mm.mf.IncRef(p.off)
				cp.cow = true
				if !p.cow {
					p.cow = true
					mm.pages[a] = p
				}
			}
			s.pages[a] = cp
		})
		return true
	})
	return s
}

// NewFromSnapshot creates the child's address space (called on the child's
// platform thread).
func NewFromSnapshot(p platform.Platform, mf *memfile.File, s *Snapshot) (*MemoryManager, error) {
	m, err := New(p, mf)
	if err != nil {
		for _, pg := range s.pages {
			if !pg.file {
				mf.DecRef(pg.off)
			}
		}
		for _, v := range s.vmas {
			track(v, -1)
		}
		return nil, err
	}
	m.brkStart, m.brk, m.mmapBase = s.brkStart, s.brk, s.mmapBase
	for _, v := range s.vmas {
		m.vmas.ReplaceOrInsert(v) // tracked since ForkSnapshot
	}
	m.pages = s.pages
	m.maxPages = len(m.pages)
	return m, nil
}

// MaxRSS returns the peak resident size in bytes (the pages populated at
// once, file pages included), as ru_maxrss reports it.
func (mm *MemoryManager) MaxRSS() uint64 {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	return uint64(mm.maxPages) * PageSize
}

// Detach implements the address-space half of shmdt(2): it looks for a
// mapping at or above addr whose offset in its mappable equals its distance
// from addr (an attachment made at addr) and whose mappable match accepts,
// then removes every mapping of that mappable so placed within the
// attachment's size (match's answer, rounded up to pages). It returns the
// mappable, or EINVAL when no such mapping exists.
func (mm *MemoryManager) Detach(addr uintptr, match func(vfs.Mappable) (size uint64, ok bool)) (vfs.Mappable, error) {
	if addr&(PageSize-1) != 0 {
		return nil, unix.EINVAL
	}
	mm.mu.Lock()
	defer mm.mu.Unlock()
	attachedAt := func(v *vma) bool {
		return v.mappable != nil && v.start >= addr && int64(v.start-addr) == v.fileOff
	}
	var found vfs.Mappable
	var size uint64
	mm.vmas.AscendGreaterOrEqual(&vma{start: addr}, func(v *vma) bool {
		if !attachedAt(v) {
			return true
		}
		if sz, ok := match(v.mappable); ok {
			found, size = v.mappable, sz
			return false
		}
		return true
	})
	if found == nil {
		return nil, unix.EINVAL
	}
	size = (size + PageSize - 1) &^ (PageSize - 1)
	var ranges [][2]uintptr
	mm.vmas.AscendGreaterOrEqual(&vma{start: addr}, func(v *vma) bool {
		if uint64(v.end-addr) > size {
			return false
		}
		if attachedAt(v) && v.mappable == found {
			ranges = append(ranges, [2]uintptr{v.start, v.end})
		}
		return true
	})
	for _, r := range ranges {
		mm.removeRange(r[0], r[1])
	}
	return found, nil
}

// SharedOffset returns where the byte at addr lives in the memory file if
// it is in a shared mapping (a futex there is the same word for every
// process mapping it), or ok false for private memory.
func (mm *MemoryManager) SharedOffset(addr uintptr) (off int64, ok bool, err error) {
	mm.mu.Lock()
	v := mm.findVMA(pageDown(addr))
	mm.mu.Unlock()
	if v == nil {
		return 0, false, unix.EFAULT
	}
	if v.private {
		return 0, false, nil
	}
	off, err = mm.FileOffset(addr)
	return off, err == nil, err
}

// FileOffset returns where the byte at addr lives in the memory file. The
// page is populated if needed.
func (mm *MemoryManager) FileOffset(addr uintptr) (int64, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	a := pageDown(addr)
	p, ok := mm.pages[a]
	if !ok {
		v := mm.findVMA(a)
		if v == nil {
			return 0, unix.EFAULT
		}
		if err := mm.populateLocked(v, a, a+PageSize, false); err != nil {
			return 0, unix.EFAULT
		}
		p = mm.pages[a]
	}
	return p.off + int64(addr-a), nil
}
