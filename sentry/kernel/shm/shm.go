// Package shm owns System V shared memory for one sandbox (the shm part of
// its IPC namespace): the segments, their keys and ids, permissions,
// attach counts and timestamps, and the memory-file pages that back them.
// It follows shmget(2), shmop(2) and shmctl(2).
//
// A segment is a vfs.Mappable: sentry/mm maps its pages shared, and tells it
// of every mapping made or dropped (vfs.MappingHolder), which is how
// shm_nattch is counted, as Linux counts it: one per VMA, so attachments
// inherited by fork count, and exit and execve detach. A segment marked for
// removal (IPC_RMID) is destroyed, and its pages freed, when the last
// mapping goes.
//
// Departures from Linux: shm_lpid is updated by shmat and shmdt only (not
// by the implicit attaches of fork or detaches of exit); SHM_LOCK and
// SHM_UNLOCK only record the flag (nothing is swapped here); there is no
// /proc/sysvipc and the limits are Linux's defaults, fixed.
//
// It must not import the kernel, syscalls or runsc packages: the kernel
// holds a Registry and passes in what it knows of the caller.
package shm

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
	"sbx/platform"
	"sbx/sentry/mm"
)

// Flags and commands of shmget(2), shmat(2) and shmctl(2) (linux/ipc.h,
// linux/shm.h).
const (
	IPCPrivate = 0
	IPCCreat   = 0o1000
	IPCExcl    = 0o2000

	IPCRmid = 0
	IPCSet  = 1
	IPCStat = 2
	IPCInfo = 3

	ShmLock    = 11
	ShmUnlock  = 12
	ShmStat    = 13
	ShmInfo    = 14
	ShmStatAny = 15

	ShmRdonly = 0o10000
	ShmRnd    = 0o20000
	ShmRemap  = 0o40000
	ShmExec   = 0o100000

	// ShmDest and ShmLocked are mode bits IPC_STAT shows.
	ShmDest   = 0o1000
	ShmLocked = 0o2000
)

// Limits, Linux's defaults (include/uapi/linux/shm.h).
const (
	ShmMin = 1
	ShmMax = ^uint64(0) - 1<<24
	ShmAll = ^uint64(0) - 1<<24
	ShmMni = 4096
	ShmSeg = ShmMni
	// ShmLBA is the attach address alignment (SHMLBA, the page size on
	// x86-64).
	ShmLBA = mm.PageSize

	// seqMultiplier turns a slot and a sequence number into an id
	// (IPCMNI).
	seqMultiplier = 32768
)

// Creds are the caller's credentials as IPC permission checks see them.
type Creds struct {
	UID, GID uint32
	Groups   []uint32
	// Privileged holds CAP_IPC_OWNER and CAP_SYS_ADMIN (root in the
	// sandbox).
	Privileged bool
}

func (c Creds) inGroup(g uint32) bool {
	if c.GID == g {
		return true
	}
	for _, x := range c.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// MemoryFile is the memory file as segments use it.
type MemoryFile interface {
	Allocate(npages int) (int64, error)
	Free(off int64, npages int)
}

// Registry is the set of segments of one IPC namespace.
type Registry struct {
	mf MemoryFile

	// mu guards the registry and every segment's state. Lock order:
	// mm.MemoryManager.mu before mu (mm calls MapPage and HoldMapping with
	// its lock held); never call into mm with mu held.
	mu sync.Mutex
	// segs are the live segments by slot.
	segs map[int]*Segment
	// seq is the sequence number of the next segment created.
	seq int
	// totalPages is the size of every segment, in pages (shm_tot).
	totalPages uint64
}

// NewRegistry returns an empty registry whose segments live in mf.
func NewRegistry(mf MemoryFile) *Registry {
	return &Registry{mf: mf, segs: make(map[int]*Segment)}
}

// Segment is one shared memory segment.
type Segment struct {
	r *Registry
	// The fields below are guarded by r.mu.
	id, slot   int
	key        int32
	uid, gid   uint32
	cuid, cgid uint32
	mode       uint32 // permission bits, ShmDest and ShmLocked
	size       uint64
	// pages maps a page index to its offset in the memory file; pages
	// are allocated on first touch.
	pages               map[int64]int64
	atime, dtime, ctime time.Time
	cpid, lpid          int
	// nattch counts the mappings of the segment, plus attaches in
	// progress.
	nattch int
	// deleted is set once the segment is destroyed.
	deleted bool
}

// ID returns the segment's id.
func (s *Segment) ID() int { return s.id }

// permitted applies ipcperms: want is a set of rwx bits in the low three
// bits of each class (as in a mode).
func (s *Segment) permitted(c Creds, want uint32) bool {
	req := (want >> 6) | (want >> 3) | want
	granted := s.mode
	switch {
	case c.UID == s.cuid || c.UID == s.uid:
		granted >>= 6
	case c.inGroup(s.cgid) || c.inGroup(s.gid):
		granted >>= 3
	}
	return req&^granted&7 == 0 || c.Privileged
}

// owner says whether c may change or remove the segment: its creator, its
// owner, or a privileged caller.
func (s *Segment) owner(c Creds) bool {
	return c.Privileged || c.UID == s.uid || c.UID == s.cuid
}

// Get implements shmget(2).
func (r *Registry) Get(key int32, size uint64, flags int, c Creds, pid int) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if key != IPCPrivate {
		if s := r.byKeyLocked(key); s != nil {
			if flags&IPCCreat != 0 && flags&IPCExcl != 0 {
				return 0, unix.EEXIST
			}
			if s.size < size {
				return 0, unix.EINVAL
			}
			if !s.permitted(c, uint32(flags)&0o777) {
				return 0, unix.EACCES
			}
			return s.id, nil
		}
		if flags&IPCCreat == 0 {
			return 0, unix.ENOENT
		}
	}
	if size < ShmMin || size > ShmMax {
		return 0, unix.EINVAL
	}
	npages := (size + mm.PageSize - 1) / mm.PageSize
	if npages > ShmAll || r.totalPages+npages < r.totalPages || r.totalPages+npages > ShmAll {
		return 0, unix.ENOSPC
	}
	slot := -1
	for i := 0; i < ShmMni; i++ {
		if _, used := r.segs[i]; !used {
			slot = i
			break
		}
	}
	if slot < 0 {
		return 0, unix.ENOSPC
	}
	s := &Segment{
		r: r, slot: slot, id: r.seq*seqMultiplier + slot, key: key,
		uid: c.UID, gid: c.GID, cuid: c.UID, cgid: c.GID, mode: uint32(flags) & 0o777,
		size: size, pages: make(map[int64]int64), ctime: time.Now(), cpid: pid,
	}
	r.seq = (r.seq + 1) % (1 << 16)
	r.segs[slot] = s
	r.totalPages += npages
	return s.id, nil
}

func (r *Registry) byKeyLocked(key int32) *Segment {
	for _, s := range r.segs {
		if s.key == key {
			return s
		}
	}
	return nil
}

// lookupLocked finds the segment with id, or EINVAL.
func (r *Registry) lookupLocked(id int) (*Segment, error) {
	if id < 0 {
		return nil, unix.EINVAL
	}
	s, ok := r.segs[id%seqMultiplier]
	if !ok || s.id != id {
		return nil, unix.EINVAL
	}
	return s, nil
}

// destroyLocked frees a segment's pages and forgets it.
func (r *Registry) destroyLocked(s *Segment) {
	for _, off := range s.pages {
		r.mf.Free(off, 1)
	}
	s.pages = nil
	s.deleted = true
	r.totalPages -= (s.size + mm.PageSize - 1) / mm.PageSize
	if r.segs[s.slot] == s {
		delete(r.segs, s.slot)
	}
}

// MapPage implements vfs.Mappable.
func (s *Segment) MapPage(index int64, write bool) (int64, error) {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.deleted || index < 0 || uint64(index)*mm.PageSize >= s.size {
		return 0, unix.EFAULT
	}
	if off, ok := s.pages[index]; ok {
		return off, nil
	}
	off, err := r.mf.Allocate(1)
	if err != nil {
		return 0, unix.ENOMEM
	}
	s.pages[index] = off
	return off, nil
}

// HoldMapping implements vfs.MappingHolder: it counts the segment's
// mappings, and destroys a segment marked for removal with the last one.
func (s *Segment) HoldMapping(delta int) {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	s.nattch += delta
	now := time.Now()
	if delta > 0 {
		s.atime = now
	} else {
		s.dtime = now
	}
	s.maybeDestroyLocked()
}

func (s *Segment) maybeDestroyLocked() {
	if s.nattch == 0 && s.mode&ShmDest != 0 && !s.deleted {
		s.r.destroyLocked(s)
	}
}

// AddressSpace is what attaching needs of an address space.
type AddressSpace interface {
	MMap(mm.MMapOpts) (uintptr, error)
	Detach(addr uintptr, match func(vfs.Mappable) (uint64, bool)) (vfs.Mappable, error)
}

// Attach implements shmat(2): it maps segment id into as and returns the
// address.
func (r *Registry) Attach(as AddressSpace, id int, addr uintptr, flags int, c Creds, pid int) (uintptr, error) {
	if addr != 0 {
		if addr&(ShmLBA-1) != 0 {
			if flags&ShmRnd == 0 {
				return 0, unix.EINVAL
			}
			addr &^= ShmLBA - 1
			if addr == 0 && flags&ShmRemap != 0 {
				return 0, unix.EINVAL
			}
		}
	} else if flags&ShmRemap != 0 {
		return 0, unix.EINVAL
	}
	perms := platform.Access{Read: true, Write: flags&ShmRdonly == 0, Execute: flags&ShmExec != 0}
	want := uint32(0o444)
	if perms.Write {
		want |= 0o222
	}
	if perms.Execute {
		want |= 0o111
	}
	r.mu.Lock()
	s, err := r.lookupLocked(id)
	if err != nil {
		r.mu.Unlock()
		return 0, err
	}
	if !s.permitted(c, want) {
		r.mu.Unlock()
		return 0, unix.EACCES
	}
	// Held across the mapping so a concurrent IPC_RMID cannot destroy the
	// segment under it, as Linux does.
	s.nattch++
	size := s.size
	name := fmt.Sprintf("/SYSV%08x (deleted)", uint32(s.key))
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		s.nattch--
		s.maybeDestroyLocked()
		r.mu.Unlock()
	}()

	o := mm.MMapOpts{
		Addr: addr, Length: uintptr(size), Perms: perms, Name: name,
		Mappable: s, NoWrite: !perms.Write,
	}
	if addr != 0 {
		o.Fixed = true
		if flags&ShmRemap == 0 {
			// Without SHM_REMAP an attachment may not replace
			// anything (EINVAL, where mmap would say EEXIST).
			o.NoReplace = true
		}
	}
	got, err := as.MMap(o)
	if err == unix.EEXIST {
		return 0, unix.EINVAL
	}
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	s.lpid = pid
	s.atime = time.Now()
	r.mu.Unlock()
	return got, nil
}

// Detach implements shmdt(2).
func (r *Registry) Detach(as AddressSpace, addr uintptr, pid int) error {
	m, err := as.Detach(addr, func(m vfs.Mappable) (uint64, bool) {
		s, ok := m.(*Segment)
		if !ok || s.r != r {
			return 0, false
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return s.size, true
	})
	if err != nil {
		return err
	}
	s := m.(*Segment)
	r.mu.Lock()
	s.lpid = pid
	r.mu.Unlock()
	return nil
}

// DS is a segment's struct shmid64_ds.
type DS struct {
	Key                 int32
	UID, GID, CUID      uint32
	CGID, Mode          uint32
	Seq                 uint16
	Size                uint64
	ATime, DTime, CTime int64
	CPID, LPID          int32
	Nattch              uint64
}

func unixTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (s *Segment) dsLocked() DS {
	return DS{
		Key: s.key, UID: s.uid, GID: s.gid, CUID: s.cuid, CGID: s.cgid, Mode: s.mode,
		Seq: uint16(s.id / seqMultiplier), Size: s.size,
		ATime: unixTime(s.atime), DTime: unixTime(s.dtime), CTime: unixTime(s.ctime),
		CPID: int32(s.cpid), LPID: int32(s.lpid), Nattch: uint64(s.nattch),
	}
}

// Stat implements IPC_STAT, and SHM_STAT and SHM_STAT_ANY (byIndex: id is
// a slot; anyPerm: no read permission needed). It returns the segment's
// id with its state.
func (r *Registry) Stat(id int, byIndex, anyPerm bool, c Creds) (int, DS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s *Segment
	if byIndex {
		if id < 0 {
			return 0, DS{}, unix.EINVAL
		}
		if s = r.segs[id]; s == nil {
			return 0, DS{}, unix.EINVAL
		}
	} else {
		var err error
		if s, err = r.lookupLocked(id); err != nil {
			return 0, DS{}, err
		}
	}
	if !anyPerm && !s.permitted(c, 0o444) {
		return 0, DS{}, unix.EACCES
	}
	return s.id, s.dsLocked(), nil
}

// Set implements IPC_SET: the owner ids and permission bits.
func (r *Registry) Set(id int, uid, gid, mode uint32, c Creds) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.lookupLocked(id)
	if err != nil {
		return err
	}
	if !s.owner(c) {
		return unix.EPERM
	}
	s.uid, s.gid = uid, gid
	s.mode = s.mode&^0o777 | mode&0o777
	s.ctime = time.Now()
	return nil
}

// Remove implements IPC_RMID: the segment goes now if nothing has it
// attached, else with its last detach; its key is free at once.
func (r *Registry) Remove(id int, c Creds) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.lookupLocked(id)
	if err != nil {
		return err
	}
	if !s.owner(c) {
		return unix.EPERM
	}
	s.mode |= ShmDest
	s.key = IPCPrivate
	s.maybeDestroyLocked()
	return nil
}

// SetLocked implements SHM_LOCK and SHM_UNLOCK: only the flag is kept.
func (r *Registry) SetLocked(id int, lock bool, c Creds) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.lookupLocked(id)
	if err != nil {
		return err
	}
	if !s.owner(c) {
		return unix.EPERM
	}
	if lock {
		s.mode |= ShmLocked
	} else {
		s.mode &^= ShmLocked
	}
	return nil
}

// Usage is SHM_INFO's struct shm_info.
type Usage struct {
	UsedIDs int32
	// TotalPages is shm_tot, RSSPages shm_rss.
	TotalPages, RSSPages uint64
}

// Info returns SHM_INFO's answer and the highest slot in use (the return
// value of IPC_INFO and SHM_INFO; 0 when none is).
func (r *Registry) Info() (Usage, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := Usage{UsedIDs: int32(len(r.segs)), TotalPages: r.totalPages}
	maxIdx := 0
	for slot, s := range r.segs {
		u.RSSPages += uint64(len(s.pages))
		maxIdx = max(maxIdx, slot)
	}
	return u, maxIdx
}
