package prefault

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestHeapPopulated checks, with mincore(2), that the upper half of what
// init populated is resident: nothing has allocated that far yet when the
// test runs, so without the advice those pages would not be. The range
// ends at the end of the heap's 4 MiB chunk if that comes first (the
// runtime may not have mapped the next one).
func TestHeapPopulated(t *testing.T) {
	const chunk = 4 << 20
	page := uintptr(syscall.Getpagesize())
	from := uintptr(unsafe.Pointer(probe)) &^ (page - 1)
	end := min(from+populateBytes, (from+chunk)&^(chunk-1))
	start := (from + (end-from)/2) &^ (page - 1)
	n := (end - start) / page
	vec := make([]byte, n)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, start, n*page, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	missing := 0
	for _, v := range vec {
		if v&1 == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of the %d pages at %#x are not resident", missing, n, start)
	}
}
