package mm

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/platform"
	"sbx/sentry/memfile"
)

// hostAS is a fakeAS that can also map host files; such pages are recorded
// with offset -1.
type hostAS struct {
	*fakeAS
	hostMaps []mapCall
}

func (a *hostAS) MapHostFile(addr, length uintptr, fd int, off int64, access platform.Access, shared bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hostMaps = append(a.hostMaps, mapCall{addr, length, off, access})
	for i := uintptr(0); i < length; i += pg {
		a.mapped[addr+i] = fakeMapping{-1, access}
	}
	return nil
}

type hostPlatform struct{ spaces []*hostAS }

func (p *hostPlatform) NewAddressSpace() (platform.AddressSpace, error) {
	as := &hostAS{fakeAS: &fakeAS{mapped: map[uintptr]fakeMapping{}}}
	p.spaces = append(p.spaces, as)
	return as, nil
}
func (p *hostPlatform) NewContext() (platform.Context, error) { return fakeContext{}, nil }
func (p *hostPlatform) MaxUserAddress() uintptr               { return maxUser }

// hostFile is a file with a host FD: pages from a memory file, size bytes
// long.
type hostFile struct {
	mf   *memfile.File
	size int64
}

func (f *hostFile) MapPage(index int64, write bool) (int64, error) {
	if index*int64(pg) >= f.size {
		return 0, unix.EFAULT
	}
	return f.mf.Allocate(1)
}
func (f *hostFile) HostFD() (int, error) { return 100, nil }

// newHostMM returns a memory manager on a platform that maps host files.
func newHostMM(t *testing.T) (*MemoryManager, *hostPlatform, *memfile.File) {
	t.Helper()
	mf, err := memfile.New(64 << 20)
	require.NoError(t, err)
	t.Cleanup(mf.Release)
	p := &hostPlatform{}
	m, err := New(p, mf)
	require.NoError(t, err)
	t.Cleanup(m.Release)
	return m, p, mf
}

// TestDirectHostMapping: a read-only file mapping is mapped from the host
// file on its first fault, whole; a later fault there is the access's own
// (SIGSEGV, or SIGBUS past the end of the file); a mapping that is or was
// writable never is; mprotect and fork's child start over.
func TestDirectHostMapping(t *testing.T) {
	m, p, mf := newHostMM(t)
	as := p.spaces[0]
	file := &hostFile{mf: mf, size: 3 * int64(pg)}
	ro := platform.Access{Read: true, Execute: true}

	addr, err := m.MMap(MMapOpts{Length: 4 * pg, Perms: ro, Private: true, Mappable: file})
	require.NoError(t, err)
	f, err := m.HandleFault(addr+pg, m.Epoch())
	require.NoError(t, err)
	require.Zero(t, f.Signo)
	require.Len(t, as.hostMaps, 1)
	require.Equal(t, mapCall{addr, 4 * pg, 0, ro}, as.hostMaps[0])
	require.Empty(t, as.mapCalls(), "no memory-file pages for a host-mapped range")

	// Faulting again there, with nothing changed since: the access's own.
	f, err = m.HandleFault(addr+pg, m.Epoch())
	require.NoError(t, err)
	require.Equal(t, Fault{Signo: int(unix.SIGSEGV), Code: SegvAccerr}, f)
	f, err = m.HandleFault(addr+3*pg, m.Epoch())
	require.NoError(t, err)
	require.Equal(t, Fault{Signo: int(unix.SIGBUS), Code: BusAdrerr}, f, "past the end of the file")
	// A fault from before the mapping was made is retried.
	f, err = m.HandleFault(addr+pg, m.Epoch()-1)
	require.NoError(t, err)
	require.Zero(t, f.Signo)

	// Made writable, the range comes from the memory file, and stays so
	// once read-only again (it may hold private copies).
	require.NoError(t, m.Mprotect(addr, 4*pg, platform.Access{Read: true, Write: true}))
	_, ok := as.mappedAt(addr + pg)
	require.False(t, ok, "mprotect unmapped the host file")
	_, err = m.HandleFault(addr+pg, m.Epoch())
	require.NoError(t, err)
	require.Len(t, as.hostMaps, 1)
	require.NotEmpty(t, as.mapCalls())
	require.NoError(t, m.Mprotect(addr, 4*pg, platform.Access{Read: true}))
	_, err = m.HandleFault(addr+pg, m.Epoch())
	require.NoError(t, err)
	require.Len(t, as.hostMaps, 1, "a once-writable range was mapped from the host file")

	// A writable private mapping never is.
	w, err := m.MMap(MMapOpts{Length: 2 * pg, Perms: platform.Access{Read: true, Write: true}, Private: true, Mappable: file})
	require.NoError(t, err)
	_, err = m.HandleFault(w, m.Epoch())
	require.NoError(t, err)
	require.Len(t, as.hostMaps, 1)

	// A fork's child maps it again on its own first fault.
	r, err := m.MMap(MMapOpts{Length: 2 * pg, Perms: ro, Private: true, Mappable: file})
	require.NoError(t, err)
	_, err = m.HandleFault(r, m.Epoch())
	require.NoError(t, err)
	require.Len(t, as.hostMaps, 2)
	c, err := NewFromSnapshot(p, mf, m.ForkSnapshot())
	require.NoError(t, err)
	t.Cleanup(c.Release)
	f, err = c.HandleFault(r, c.Epoch())
	require.NoError(t, err)
	require.Zero(t, f.Signo)
	require.Len(t, p.spaces[1].hostMaps, 1)
}

// TestDirectHostMappingGrows: a host-mapped range grown in place by mremap
// is mapped again, whole, at the next fault in its new tail (the tail was
// not mapped: a fault there is not the access's own).
func TestDirectHostMappingGrows(t *testing.T) {
	m, p, mf := newHostMM(t)
	as := p.spaces[0]
	file := &hostFile{mf: mf, size: 8 * int64(pg)}
	ro := platform.Access{Read: true}
	addr, err := m.MMap(MMapOpts{Addr: 0x10000000, Fixed: true, Length: 2 * pg, Perms: ro, Private: true, Mappable: file})
	require.NoError(t, err)
	_, err = m.HandleFault(addr, m.Epoch())
	require.NoError(t, err)
	require.Len(t, as.hostMaps, 1)
	got, err := m.Mremap(addr, 2*pg, 4*pg, 0, 0) // grows in place: nothing follows it
	require.NoError(t, err)
	require.Equal(t, addr, got)
	f, err := m.HandleFault(addr+3*pg, m.Epoch())
	require.NoError(t, err)
	require.Zero(t, f.Signo, "a fault in the grown tail was taken for a bad access")
	require.Len(t, as.hostMaps, 2)
	require.Equal(t, mapCall{addr, 4 * pg, 0, ro}, as.hostMaps[1])
}
