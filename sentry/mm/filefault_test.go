package mm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/platform"
	"sbx/sentry/memfile"
)

type platformAccess = platform.Access

// diskFile is a mappable backed by a real host file: MapPage reads the
// page into the memory file, HostFD is the file's FD.
type diskFile struct {
	mf    *memfile.File
	fd    int
	reads int // MapPage calls
}

func (f *diskFile) MapPage(index int64, write bool) (int64, error) {
	f.reads++
	var st unix.Stat_t
	if err := unix.Fstat(f.fd, &st); err != nil {
		return 0, err
	}
	if index*int64(pg) >= st.Size {
		return 0, unix.EFAULT
	}
	off, err := f.mf.Allocate(1)
	if err != nil {
		return 0, err
	}
	if _, err := unix.Pread(f.fd, f.mf.Slice(off, int(pg)), index*int64(pg)); err != nil {
		return 0, err
	}
	return off, nil
}

func (f *diskFile) HostFD() (int, error) { return f.fd, nil }

// newDiskFile makes a file of size bytes whose page i is filled with byte
// i+1.
func newDiskFile(t *testing.T, mf *memfile.File, size int) *diskFile {
	t.Helper()
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i/int(pg) + 1)
	}
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	fd, err := unix.Open(path, unix.O_RDONLY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return &diskFile{mf: mf, fd: fd}
}

// TestFileFaultAround: a fault in a file mapping populates and maps the
// aligned window around the faulting page, pages before it included (a
// program walking its data segment downwards takes one fault per window,
// not per page), with one MapFile call; a writable private mapping gets
// copies holding the file's data (read from the host file), the page
// holding the end of the file is zero past it, and a page wholly past the
// end is SIGBUS.
func TestFileFaultAround(t *testing.T) {
	for _, perms := range []struct {
		name string
		acc  platformAccess
	}{{"private writable", rw}, {"private read-only", ro}} {
		t.Run(perms.name, func(t *testing.T) {
			e := newMM(t)
			f := newDiskFile(t, e.mf, int(fileFaultChunk)+100)
			n := fileFaultChunk/pg + 2 // the file's pages and one past its end
			addr, err := e.m.MMap(MMapOpts{Addr: X, Fixed: true, Length: n * pg, Perms: perms.acc, Private: true, Mappable: f})
			require.NoError(t, err)
			calls := len(e.as.mapCalls())

			top := addr + fileFaultChunk - pg
			code, err := handleFault(e.m, top+8)
			require.NoError(t, err)
			require.Zero(t, code)
			require.Len(t, e.as.mapCalls(), calls+1, "one MapFile call for the window")
			for a := addr; a <= top; a += pg {
				_, ok := e.as.mappedAt(a)
				require.True(t, ok, "page %#x below the fault not mapped", a)
			}
			got := make([]byte, 1)
			for i := uintptr(0); i < fileFaultChunk/pg; i += 7 {
				_, err := e.m.CopyIn(addr+i*pg+5, got)
				require.NoError(t, err)
				require.Equal(t, byte(i+1), got[0], "page %d", i)
			}

			// The last page of the file: 100 bytes of data, then zeroes.
			last := addr + fileFaultChunk
			code, err = handleFault(e.m, last+200)
			require.NoError(t, err)
			require.Zero(t, code)
			tail := make([]byte, 200)
			_, err = e.m.CopyIn(last+50, tail)
			require.NoError(t, err)
			for i, c := range tail {
				want := byte(0)
				if 50+i < 100 {
					want = byte(fileFaultChunk/pg + 1)
				}
				require.Equal(t, want, c, "byte %d of the last page", 50+i)
			}

			code, err = handleFault(e.m, last+pg)
			require.NoError(t, err)
			require.Equal(t, -int(unix.SIGBUS), code, "a page past the end of the file")
		})
	}
}
