package memfile

import "testing"

func TestAllocateFreeReuse(t *testing.T) {
	f, err := New(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	a, _ := f.Allocate(2)
	b, _ := f.Allocate(3)
	if a != 0 || b != 2*PageSize {
		t.Fatalf("offsets %d %d, want 0 and %d", a, b, 2*PageSize)
	}
	copy(f.Slice(a, PageSize), "dirty")
	f.Free(a, 2)
	c, _ := f.Allocate(1)
	if c != a {
		t.Fatalf("reused offset %d, want %d", c, a)
	}
	if s := f.Slice(c, 5); string(s) != "\x00\x00\x00\x00\x00" {
		t.Fatalf("reused page not zeroed: %q", s)
	}
	f.Free(c, 1)
	f.Free(b, 3)
	if f.Used() != 0 {
		t.Fatalf("used %d after freeing all", f.Used())
	}
	// Everything coalesced back: one big allocation fits at offset 0.
	d, err := f.Allocate(256)
	if err != nil || d != 0 {
		t.Fatalf("Allocate(256) = %d, %v; want 0", d, err)
	}
	if _, err := f.Allocate(1); err == nil {
		t.Fatal("allocation beyond capacity succeeded")
	}
}

// TestDecRefAll frees the pages whose last owner drops them, in any order,
// zeroed for reuse, and keeps the pages another owner still holds.
func TestDecRefAll(t *testing.T) {
	f, err := New(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	base, _ := f.Allocate(8)
	for i := int64(0); i < 8; i++ {
		copy(f.Slice(base+i*PageSize, PageSize), "data")
	}
	shared := base + 3*PageSize
	f.IncRef(shared)
	var offs []int64
	for i := int64(7); i >= 0; i-- { // out of order
		offs = append(offs, base+i*PageSize)
	}
	f.DecRefAll(offs)
	if got, want := f.Used(), int64(PageSize); got != want {
		t.Fatalf("used %d after DecRefAll, want %d (the shared page)", got, want)
	}
	if f.Owners(shared) != 1 || string(f.Slice(shared, 4)) != "data" {
		t.Fatalf("the shared page lost its owner or its contents")
	}
	// The freed runs come back zeroed.
	for _, n := range []int{3, 4} {
		off, err := f.Allocate(n)
		if err != nil {
			t.Fatal(err)
		}
		if string(f.Slice(off, 4)) != "\x00\x00\x00\x00" {
			t.Fatalf("a reused page at %d kept its data", off)
		}
	}
}
