package shm

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/platform"
	"sbx/sentry/memfile"
	"sbx/sentry/mm"
)

// A platform whose address spaces accept every request: the tests look at
// the memory managers and the registry, not at the host.
type nopAS struct{}

func (nopAS) MapFile(uintptr, uintptr, int64, platform.Access) error { return nil }
func (nopAS) Unmap(uintptr, uintptr) error                           { return nil }
func (nopAS) Release()                                               {}

type nopPlatform struct{}

func (nopPlatform) NewAddressSpace() (platform.AddressSpace, error) { return nopAS{}, nil }
func (nopPlatform) NewContext() (platform.Context, error)           { return nil, unix.ENOSYS }
func (nopPlatform) MaxUserAddress() uintptr                         { return 0x7ffffffff000 - 4096 }

const pg = mm.PageSize

var (
	root  = Creds{UID: 0, GID: 0, Privileged: true}
	alice = Creds{UID: 1000, GID: 1000}
	bob   = Creds{UID: 2000, GID: 2000}
	carol = Creds{UID: 3000, GID: 3000, Groups: []uint32{1000}}
)

func newRegistry(t *testing.T) (*Registry, *memfile.File) {
	t.Helper()
	mf, err := memfile.New(16 << 20)
	require.NoError(t, err)
	t.Cleanup(mf.Release)
	return NewRegistry(mf), mf
}

func newMM(t *testing.T, mf *memfile.File) *mm.MemoryManager {
	t.Helper()
	m, err := mm.New(nopPlatform{}, mf)
	require.NoError(t, err)
	return m
}

func nattch(t *testing.T, r *Registry, id int) uint64 {
	t.Helper()
	_, ds, err := r.Stat(id, false, false, root)
	require.NoError(t, err)
	return ds.Nattch
}

func TestGetKeys(t *testing.T) {
	r, _ := newRegistry(t)
	a, err := r.Get(IPCPrivate, 100, IPCCreat|0o600, alice, 10)
	require.NoError(t, err)
	b, err := r.Get(IPCPrivate, 100, 0o600, alice, 10)
	require.NoError(t, err, "IPC_PRIVATE always creates")
	require.NotEqual(t, a, b)

	k, err := r.Get(42, 8192, IPCCreat|IPCExcl|0o640, alice, 10)
	require.NoError(t, err)
	_, err = r.Get(42, 8192, IPCCreat|IPCExcl|0o600, alice, 10)
	require.ErrorIs(t, err, unix.EEXIST)
	got, err := r.Get(42, 0, 0, alice, 10)
	require.NoError(t, err)
	require.Equal(t, k, got)
	got, err = r.Get(42, 4096, IPCCreat|0o600, alice, 10)
	require.NoError(t, err, "IPC_CREAT alone finds the existing segment")
	require.Equal(t, k, got)
	_, err = r.Get(42, 8193, 0, alice, 10)
	require.ErrorIs(t, err, unix.EINVAL, "larger than the segment")
	_, err = r.Get(43, 4096, 0o600, alice, 10)
	require.ErrorIs(t, err, unix.ENOENT)
	_, err = r.Get(IPCPrivate, 0, IPCCreat, alice, 10)
	require.ErrorIs(t, err, unix.EINVAL)

	id, ds, err := r.Stat(k, false, false, alice)
	require.NoError(t, err)
	require.Equal(t, k, id)
	require.Equal(t, DS{Key: 42, UID: 1000, GID: 1000, CUID: 1000, CGID: 1000, Mode: 0o640, Size: 8192,
		CTime: ds.CTime, CPID: 10, Seq: ds.Seq}, ds)
	require.NotZero(t, ds.CTime)

	// Removal frees the key; the next segment of that key has a new id.
	require.NoError(t, r.Remove(k, alice))
	_, _, err = r.Stat(k, false, false, alice)
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = r.Get(42, 4096, 0, alice, 10)
	require.ErrorIs(t, err, unix.ENOENT)
	k2, err := r.Get(42, 4096, IPCCreat|0o600, alice, 10)
	require.NoError(t, err)
	require.NotEqual(t, k, k2)
	_, _, err = r.Stat(-1, false, false, root)
	require.ErrorIs(t, err, unix.EINVAL)
}

func TestPermissions(t *testing.T) {
	r, _ := newRegistry(t)
	id, err := r.Get(7, pg, IPCCreat|0o640, alice, 1)
	require.NoError(t, err)

	_, err = r.Get(7, 0, 0o400, bob, 2)
	require.ErrorIs(t, err, unix.EACCES, "other has no bits")
	_, err = r.Get(7, 0, 0, bob, 2)
	require.NoError(t, err, "asking for nothing is allowed")
	_, err = r.Get(7, 0, 0o400, carol, 2)
	require.NoError(t, err, "a supplementary group matches the group bits")
	_, err = r.Get(7, 0, 0o600, carol, 2)
	require.ErrorIs(t, err, unix.EACCES, "the group may not write")
	_, err = r.Get(7, 0, 0o600, root, 2)
	require.NoError(t, err)

	_, _, err = r.Stat(id, false, false, bob)
	require.ErrorIs(t, err, unix.EACCES)
	_, _, err = r.Stat(id, true, true, bob) // SHM_STAT_ANY by slot
	require.NoError(t, err)

	require.ErrorIs(t, r.Set(id, 2000, 2000, 0o666, bob), unix.EPERM)
	require.ErrorIs(t, r.Remove(id, carol), unix.EPERM)
	require.ErrorIs(t, r.SetLocked(id, true, bob), unix.EPERM)

	// The owner hands the segment to bob: bob is now owner, alice stays
	// creator, and both may change it.
	require.NoError(t, r.Set(id, 2000, 2000, 0o1600, alice))
	_, ds, err := r.Stat(id, false, false, root)
	require.NoError(t, err)
	require.Equal(t, uint32(0o600), ds.Mode, "only permission bits are set")
	require.Equal(t, uint32(2000), ds.UID)
	require.Equal(t, uint32(1000), ds.CUID)
	_, _, err = r.Stat(id, false, false, bob)
	require.NoError(t, err)
	require.NoError(t, r.SetLocked(id, true, bob))
	_, ds, _ = r.Stat(id, false, false, root)
	require.Equal(t, uint32(0o600|ShmLocked), ds.Mode)
	require.NoError(t, r.Remove(id, alice))
}

func TestAttachShareForkDetach(t *testing.T) {
	r, mf := newRegistry(t)
	base := mf.Used()
	id, err := r.Get(IPCPrivate, 3*pg, IPCCreat|0o600, alice, 1)
	require.NoError(t, err)

	m1, m2 := newMM(t, mf), newMM(t, mf)
	a1, err := r.Attach(m1, id, 0, 0, alice, 1)
	require.NoError(t, err)
	a2, err := r.Attach(m2, id, 0, ShmRdonly, alice, 2)
	require.NoError(t, err)
	require.Equal(t, uint64(2), nattch(t, r, id))

	_, err = m1.CopyOut(a1+2*pg+5, []byte("hello"))
	require.NoError(t, err)
	buf := make([]byte, 5)
	_, err = m2.CopyIn(a2+2*pg+5, buf)
	require.NoError(t, err)
	require.Equal(t, "hello", string(buf))
	_, err = m2.CopyOut(a2, []byte("x"))
	require.ErrorIs(t, err, unix.EFAULT, "SHM_RDONLY")
	_, _, err = r.Stat(id, false, false, root)
	require.NoError(t, err)

	// A fork's copy counts; its release detaches.
	child, err := mm.NewFromSnapshot(nopPlatform{}, mf, m1.ForkSnapshot())
	require.NoError(t, err)
	require.Equal(t, uint64(3), nattch(t, r, id))
	_, err = child.CopyIn(a1+2*pg+5, buf)
	require.NoError(t, err)
	require.Equal(t, "hello", string(buf))
	child.Release()
	require.Equal(t, uint64(2), nattch(t, r, id))

	// Marked for removal: it lives on until the last detach.
	require.NoError(t, r.Remove(id, alice))
	_, ds, err := r.Stat(id, false, false, root)
	require.NoError(t, err)
	require.Equal(t, uint32(0o600|ShmDest), ds.Mode)
	require.Equal(t, int32(2), ds.LPID)
	require.NoError(t, r.Detach(m1, a1, 1))
	_, err = m1.CopyIn(a1, buf)
	require.ErrorIs(t, err, unix.EFAULT, "detached")
	require.Greater(t, mf.Used(), base, "m2 still has it")
	m2.Release()
	_, _, err = r.Stat(id, false, false, root)
	require.ErrorIs(t, err, unix.EINVAL, "destroyed with the last detach")
	require.Equal(t, base, mf.Used(), "its pages are freed")
	m1.Release()
}

func TestAttachAddressesAndDetachErrors(t *testing.T) {
	r, mf := newRegistry(t)
	id, err := r.Get(IPCPrivate, 2*pg, IPCCreat|0o600, alice, 1)
	require.NoError(t, err)
	m := newMM(t, mf)
	defer m.Release()
	const at = uintptr(0x200000000)

	_, err = r.Attach(m, id, at+1, 0, alice, 1)
	require.ErrorIs(t, err, unix.EINVAL, "unaligned without SHM_RND")
	got, err := r.Attach(m, id, at+1, ShmRnd, alice, 1)
	require.NoError(t, err)
	require.Equal(t, at, got)
	_, err = r.Attach(m, id, at+pg, 0, alice, 1)
	require.ErrorIs(t, err, unix.EINVAL, "over an attachment without SHM_REMAP")
	_, err = r.Attach(m, id, 0, ShmRemap, alice, 1)
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = r.Attach(m, id+1, 0, 0, alice, 1)
	require.ErrorIs(t, err, unix.EINVAL)
	_, err = r.Attach(m, id, 0, 0, bob, 2)
	require.ErrorIs(t, err, unix.EACCES)

	require.ErrorIs(t, r.Detach(m, at+pg, 1), unix.EINVAL, "not the attach address")
	require.ErrorIs(t, r.Detach(m, at+3, 1), unix.EINVAL)
	// An mprotect split makes two mappings: both count, shmdt takes both.
	require.NoError(t, m.Mprotect(at, pg, platform.Access{Read: true}))
	require.Equal(t, uint64(2), nattch(t, r, id))
	require.NoError(t, r.Detach(m, at, 1))
	require.Equal(t, uint64(0), nattch(t, r, id))
	require.ErrorIs(t, r.Detach(m, at, 1), unix.EINVAL)

	// Another registry's segment is not an attachment of this one.
	r2 := NewRegistry(mf)
	id2, err := r2.Get(IPCPrivate, pg, IPCCreat|0o600, alice, 1)
	require.NoError(t, err)
	a, err := r2.Attach(m, id2, 0, 0, alice, 1)
	require.NoError(t, err)
	require.ErrorIs(t, r.Detach(m, a, 1), unix.EINVAL)
	require.NoError(t, r2.Detach(m, a, 1))
}

func TestInfo(t *testing.T) {
	r, mf := newRegistry(t)
	u, maxIdx := r.Info()
	require.Equal(t, Usage{}, u)
	require.Zero(t, maxIdx)
	_, err := r.Get(IPCPrivate, pg, IPCCreat|0o600, alice, 1)
	require.NoError(t, err)
	id, err := r.Get(IPCPrivate, 3*pg+1, IPCCreat|0o600, alice, 1)
	require.NoError(t, err)
	m := newMM(t, mf)
	defer m.Release()
	a, err := r.Attach(m, id, 0, 0, alice, 1)
	require.NoError(t, err)
	_, err = m.CopyOut(a+pg, []byte{1})
	require.NoError(t, err)
	u, maxIdx = r.Info()
	require.Equal(t, Usage{UsedIDs: 2, TotalPages: 1 + 4, RSSPages: 1}, u)
	require.Equal(t, 1, maxIdx)
	got, _, err := r.Stat(1, true, false, alice)
	require.NoError(t, err)
	require.Equal(t, id, got)
}

// TestConcurrent attaches, detaches, forks and removes from many
// goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	r, mf := newRegistry(t)
	base := mf.Used()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			m := newMM(t, mf)
			defer m.Release()
			for i := 0; i < 50; i++ {
				id, err := r.Get(int32(1+i%3), 2*pg, IPCCreat|0o600, alice, g)
				if err != nil {
					continue // removed and being re-created by another
				}
				a, err := r.Attach(m, id, 0, 0, alice, g)
				if err != nil {
					continue
				}
				if _, err := m.CopyOut(a+pg, []byte{byte(g)}); err != nil {
					t.Errorf("write to attachment: %v", err)
				}
				if i%4 == 0 {
					c, err := mm.NewFromSnapshot(nopPlatform{}, mf, m.ForkSnapshot())
					if err == nil {
						c.Release()
					}
				}
				if i%5 == 0 {
					r.Remove(id, alice)
				}
				if err := r.Detach(m, a, g); err != nil {
					t.Errorf("detach: %v", err)
				}
			}
		}(g)
	}
	wg.Wait()
	for k := int32(1); k <= 3; k++ {
		if id, err := r.Get(k, 0, 0, alice, 0); err == nil {
			require.Equal(t, uint64(0), nattch(t, r, id))
			require.NoError(t, r.Remove(id, alice))
		}
	}
	u, _ := r.Info()
	require.Zero(t, u.UsedIDs)
	require.Equal(t, base, mf.Used(), "every page freed")
}

// A fork's snapshot holds the segment: removing and detaching it in the
// parent before the child's address space exists must not free its pages.
func TestForkSnapshotHoldsSegment(t *testing.T) {
	r, mf := newRegistry(t)
	base := mf.Used()
	id, err := r.Get(IPCPrivate, pg, IPCCreat|0o600, alice, 1)
	require.NoError(t, err)
	m := newMM(t, mf)
	a, err := r.Attach(m, id, 0, 0, alice, 1)
	require.NoError(t, err)
	_, err = m.CopyOut(a, []byte("forked"))
	require.NoError(t, err)
	snap := m.ForkSnapshot()
	require.Equal(t, uint64(2), nattch(t, r, id))
	require.NoError(t, r.Remove(id, alice))
	require.NoError(t, r.Detach(m, a, 1))
	m.Release()
	child, err := mm.NewFromSnapshot(nopPlatform{}, mf, snap)
	require.NoError(t, err)
	buf := make([]byte, 6)
	_, err = child.CopyIn(a, buf)
	require.NoError(t, err)
	require.Equal(t, "forked", string(buf))
	require.Equal(t, uint64(1), nattch(t, r, id))
	child.Release()
	require.Equal(t, base, mf.Used())
}
