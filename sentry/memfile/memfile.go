// Package memfile owns the memory file: one memfd that holds all application
// memory, mapped once into the sentry so copying to or from application memory
// is a plain memory copy. It hands out page runs and takes them back; freed
// pages are punched out of the file so they cost no memory and read as zero
// when reused.
//
// It knows nothing of address spaces or VMAs (sentry/mm owns those) and must
// not import anything above the platform layer.
package memfile

import (
	"fmt"
	"slices"
	"sync"

	"github.com/google/btree"
	"golang.org/x/sys/unix"
)

// PageSize is the page size of the memory file.
const PageSize = 4096

// DefaultSize is the memory file's capacity when none is given. The file is
// sparse: only pages in use take memory.
const DefaultSize = 64 << 30

// extent is a free run of pages [off, off+len).
type extent struct{ off, len int64 }

// File is the memory file.
type File struct {
	fd      int
	mapping []byte // the whole file, MAP_SHARED into the sentry
	size    int64

	mu sync.Mutex // guards next, free and used
	// next is the lowest offset never handed out.
	next int64
	// free holds freed runs, ordered by offset, coalesced.
	free *btree.BTreeG[extent]
	used int64
	// shared counts the extra references of pages shared between address
	// spaces (copy-on-write after fork): a page in the map has
	// shared[off]+1 owners; pages not in it have one.
	shared map[int64]int32
}

// New creates a memory file of the given capacity in bytes.
func New(size int64) (*File, error) {
	if size <= 0 {
		size = DefaultSize
	}
	size = (size + PageSize - 1) &^ (PageSize - 1)
	fd, err := unix.MemfdCreate("sbx-memory", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ftruncate memory file: %w", err)
	}
	m, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mmap memory file: %w", err)
	}
	return &File{
		fd:      fd,
		mapping: m,
		size:    size,
		free:    btree.NewG(8, func(a, b extent) bool { return a.off < b.off }),
		shared:  make(map[int64]int32),
	}, nil
}

// FD returns the host FD of the memory file.
func (f *File) FD() int { return f.fd }

// Allocate returns the offset of npages fresh, zeroed, contiguous pages.
func (f *File) Allocate(npages int) (int64, error) {
	n := int64(npages) * PageSize
	f.mu.Lock()
	defer f.mu.Unlock()
	var found extent
	ok := false
	f.free.Ascend(func(e extent) bool {
		if e.len >= n {
			found, ok = e, true
			return false
		}
		return true
	})
	if ok {
		f.free.Delete(found)
		if found.len > n {
			f.free.ReplaceOrInsert(extent{found.off + n, found.len - n})
		}
		f.used += n
		return found.off, nil
	}
	if f.next+n > f.size {
		return 0, unix.ENOMEM
	}
	off := f.next
	f.next += n
	f.used += n
	return off, nil
}

// IncRef adds an owner to the page at off.
func (f *File) IncRef(off int64) {
	f.mu.Lock()
	f.shared[off]++
	f.mu.Unlock()
}

// Owners returns how many owners the page at off has.
func (f *File) Owners(off int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int(f.shared[off]) + 1
}

// DecRef drops one owner of the page at off, freeing it with the last.
func (f *File) DecRef(off int64) {
	f.mu.Lock()
	if n, ok := f.shared[off]; ok {
		if n <= 1 {
			delete(f.shared, off)
		} else {
			f.shared[off] = n - 1
		}
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	f.Free(off, 1)
}

// DecRefAll is DecRef of every page in offs, freeing the pages whose last
// owner this was in runs of contiguous pages: one hole punched per run,
// not per page (a munmap of a few MiB made hundreds of fallocate calls).
// It sorts offs.
func (f *File) DecRefAll(offs []int64) {
	free := offs[:0]
	f.mu.Lock()
	for _, off := range offs {
		if n, ok := f.shared[off]; ok {
			if n <= 1 {
				delete(f.shared, off)
			} else {
				f.shared[off] = n - 1
			}
			continue
		}
		free = append(free, off)
	}
	f.mu.Unlock()
	slices.Sort(free)
	for i := 0; i < len(free); {
		j := i + 1
		for j < len(free) && free[j] == free[j-1]+PageSize {
			j++
		}
		f.Free(free[i], j-i)
		i = j
	}
}

// Free returns npages at off to the file. Their contents are discarded.
func (f *File) Free(off int64, npages int) {
	n := int64(npages) * PageSize
	// Punching the hole releases the memory and zeroes the range for reuse.
	unix.Fallocate(f.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used -= n
	e := extent{off, n}
	// Coalesce with the neighbours.
	f.free.DescendLessOrEqual(extent{off: off}, func(p extent) bool {
		if p.off+p.len == off {
			f.free.Delete(p)
			e = extent{p.off, p.len + e.len}
		}
		return false
	})
	if nx, ok := f.free.Get(extent{off: off + n}); ok {
		f.free.Delete(nx)
		e.len += nx.len
	}
	if e.off+e.len == f.next {
		f.next = e.off
		return
	}
	f.free.ReplaceOrInsert(e)
}

// Used returns the number of bytes handed out and not freed.
func (f *File) Used() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.used
}

// Slice returns the sentry's view of [off, off+n).
func (f *File) Slice(off int64, n int) []byte {
	return f.mapping[off : off+int64(n) : off+int64(n)]
}

// Release unmaps and closes the memory file.
func (f *File) Release() {
	unix.Munmap(f.mapping)
	unix.Close(f.fd)
}
