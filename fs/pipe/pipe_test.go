package pipe

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"sbx/fs/vfs"
)

// ends opens a pipe as two file descriptions, each with its own flags.
func ends(t *testing.T, rflags, wflags int) (*Pipe, *vfs.FileDescription, *vfs.FileDescription) {
	t.Helper()
	p := New()
	re := p.Open(true, false)
	we := p.Open(false, true)
	r := vfs.NewFileDescription(re, unix.O_RDONLY|rflags)
	w := vfs.NewFileDescription(we, unix.O_WRONLY|wflags)
	re.SetDescription(r)
	we.SetDescription(w)
	return p, r, w
}

func read(t *testing.T, fd *vfs.FileDescription, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	got, err := fd.Read([][]byte{b})
	require.NoError(t, err)
	return b[:got]
}

func write(t *testing.T, fd *vfs.FileDescription, b []byte) {
	t.Helper()
	n, err := fd.Write([][]byte{b})
	require.NoError(t, err)
	require.Equal(t, len(b), n)
}

// buffered returns how many bytes wait in the pipe.
func buffered(p *Pipe) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.buf)
}

func TestReadWrite(t *testing.T) {
	_, r, w := ends(t, 0, 0)
	defer r.DecRef()
	defer w.DecRef()
	n, err := w.Write([][]byte{[]byte("hello, "), []byte("world")})
	require.NoError(t, err)
	require.Equal(t, 12, n)
	require.Equal(t, "hello", string(read(t, r, 5)))
	// A read takes what is there, without waiting for more.
	require.Equal(t, ", world", string(read(t, r, 100)))
	// Scatter read.
	write(t, w, []byte("abcdef"))
	a, b := make([]byte, 2), make([]byte, 10)
	n, err = r.Read([][]byte{a, b})
	require.NoError(t, err)
	require.Equal(t, 6, n)
	require.Equal(t, "ab", string(a))
	require.Equal(t, "cdef", string(b[:4]))
	// Zero-length I/O returns at once.
	n, err = r.Read([][]byte{{}})
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = w.Write([][]byte{{}})
	require.NoError(t, err)
	require.Zero(t, n)

	// No offsets on a pipe.
	_, err = r.Seek(0, unix.SEEK_SET)
	require.ErrorIs(t, err, unix.ESPIPE)
	_, err = r.Pread([][]byte{a}, 0)
	require.ErrorIs(t, err, unix.ESPIPE)
	_, err = w.Pwrite([][]byte{a}, 0)
	require.ErrorIs(t, err, unix.ESPIPE)
	// Each end does only its direction.
	_, err = r.Write([][]byte{a})
	require.ErrorIs(t, err, unix.EBADF)
	_, err = w.Read([][]byte{a})
	require.ErrorIs(t, err, unix.EBADF)

	st, err := r.Impl.Stat()
	require.NoError(t, err)
	require.EqualValues(t, unix.S_IFIFO, st.Mode&unix.S_IFMT)
	st2, err := w.Impl.Stat()
	require.NoError(t, err)
	require.Equal(t, st.Ino, st2.Ino, "both ends are one pipe")
}

func TestReadBlocksUntilData(t *testing.T) {
	_, r, w := ends(t, 0, 0)
	defer r.DecRef()
	defer w.DecRef()
	got := make(chan string)
	go func() {
		b := make([]byte, 10)
		n, _ := r.Read([][]byte{b})
		got <- string(b[:n])
	}()
	select {
	case s := <-got:
		t.Fatalf("read returned %q from an empty pipe", s)
	case <-time.After(50 * time.Millisecond):
	}
	write(t, w, []byte("wake"))
	select {
	case s := <-got:
		require.Equal(t, "wake", s)
	case <-time.After(5 * time.Second):
		t.Fatal("read did not wake up")
	}
}

func TestEOFAfterLastWriterCloses(t *testing.T) {
	p, r, w := ends(t, 0, 0)
	defer r.DecRef()
	w2e := p.Open(false, true)
	write(t, w, []byte("data"))
	w.DecRef()
	require.Equal(t, "data", string(read(t, r, 10)))

	// One writer is left: a read waits.
	got := make(chan int)
	go func() {
		n, _ := r.Read([][]byte{make([]byte, 10)})
		got <- n
	}()
	select {
	case <-got:
		t.Fatal("read returned while a writer is open")
	case <-time.After(50 * time.Millisecond):
	}
	w2e.Release()
	select {
	case n := <-got:
		require.Zero(t, n, "end of file")
	case <-time.After(5 * time.Second):
		t.Fatal("closing the last writer did not wake the reader")
	}
	require.Empty(t, read(t, r, 10))
	// Release is idempotent.
	w2e.Release()
	require.Empty(t, read(t, r, 10))
}

func TestEPIPEAfterLastReaderCloses(t *testing.T) {
	p, r, w := ends(t, 0, 0)
	defer w.DecRef()
	r2 := p.Open(true, false)
	r.DecRef()
	write(t, w, []byte("still a reader"))
	r2.Release()
	_, err := w.Write([][]byte{[]byte("x")})
	require.ErrorIs(t, err, unix.EPIPE)

	// A writer blocked on a full pipe gets EPIPE when the reader goes.
	p, r, w = ends(t, 0, 0)
	defer w.DecRef()
	write(t, w, make([]byte, Capacity))
	errc := make(chan error)
	go func() {
		_, err := w.Write([][]byte{[]byte("blocked")})
		errc <- err
	}()
	select {
	case err := <-errc:
		t.Fatalf("write to a full pipe returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	r.DecRef()
	select {
	case err := <-errc:
		require.ErrorIs(t, err, unix.EPIPE)
	case <-time.After(5 * time.Second):
		t.Fatal("closing the reader did not wake the writer")
	}
	require.Equal(t, Capacity, buffered(p))
}

func TestNonblocking(t *testing.T) {
	p, r, w := ends(t, unix.O_NONBLOCK, unix.O_NONBLOCK)
	defer r.DecRef()
	_, err := r.Read([][]byte{make([]byte, 10)})
	require.ErrorIs(t, err, unix.EAGAIN)

	write(t, w, make([]byte, Capacity-10))
	// A small write that does not fit entirely is not split.
	_, err = w.Write([][]byte{make([]byte, 11)})
	require.ErrorIs(t, err, unix.EAGAIN)
	require.Equal(t, Capacity-10, buffered(p))
	// One that fits goes in whole.
	write(t, w, make([]byte, 10))
	_, err = w.Write([][]byte{{1}})
	require.ErrorIs(t, err, unix.EAGAIN)

	// A write larger than PIPE_BUF may be partial.
	read(t, r, 100)
	n, err := w.Write([][]byte{make([]byte, 2*Buf)})
	require.NoError(t, err)
	require.Equal(t, 100, n)
	require.Equal(t, Capacity, buffered(p))

	// O_NONBLOCK follows the description's flags (F_SETFL).
	for buffered(p) > 0 {
		read(t, r, Capacity)
	}
	r.SetStatusFlags(0)
	got := make(chan int)
	go func() {
		n, _ := r.Read([][]byte{make([]byte, 10)})
		got <- n
	}()
	select {
	case <-got:
		t.Fatal("a blocking read returned on an empty pipe")
	case <-time.After(50 * time.Millisecond):
	}
	write(t, w, []byte("x"))
	require.Equal(t, 1, <-got)

	// No writers: EOF, not EAGAIN.
	r.SetStatusFlags(unix.O_NONBLOCK)
	w.DecRef()
	n, err = r.Read([][]byte{make([]byte, 10)})
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestPipeBufAtomicity(t *testing.T) {
	p, r, w := ends(t, 0, 0)
	defer r.DecRef()
	defer w.DecRef()
	write(t, w, bytes.Repeat([]byte{'a'}, Capacity-100))

	block := bytes.Repeat([]byte{'b'}, Buf)
	done := make(chan int)
	go func() {
		n, _ := w.Write([][]byte{block})
		done <- n
	}()
	// The 4096-byte write has only 100 bytes of room: it must wait rather
	// than put a part of itself in the pipe.
	select {
	case n := <-done:
		t.Fatalf("write of PIPE_BUF bytes returned %d with 100 bytes of room", n)
	case <-time.After(100 * time.Millisecond):
	}
	require.Equal(t, Capacity-100, buffered(p), "nothing of the blocked write went in")

	// Make room for it; it then goes in as one piece.
	got := read(t, r, 8192)
	require.Equal(t, bytes.Repeat([]byte{'a'}, 8192), got)
	select {
	case n := <-done:
		require.Equal(t, Buf, n)
	case <-time.After(5 * time.Second):
		t.Fatal("the write did not complete after room was made")
	}
	var all []byte
	for buffered(p) > 0 {
		all = append(all, read(t, r, Capacity)...)
	}
	require.Len(t, all, Capacity-100-8192+Buf)
	require.Equal(t, bytes.Repeat([]byte{'a'}, Capacity-100-8192), all[:Capacity-100-8192])
	require.Equal(t, block, all[Capacity-100-8192:])
}

func TestLargeWriteBlocksAndCompletes(t *testing.T) {
	_, r, w := ends(t, 0, 0)
	defer r.DecRef()
	defer w.DecRef()
	data := make([]byte, 3*Capacity+17)
	for i := range data {
		data[i] = byte(i * 13)
	}
	done := make(chan int)
	go func() {
		n, _ := w.Write([][]byte{data})
		done <- n
	}()
	var got []byte
	for len(got) < len(data) {
		got = append(got, read(t, r, 1000)...)
	}
	require.Equal(t, len(data), <-done)
	require.Equal(t, data, got)
}

func TestSetPipeSize(t *testing.T) {
	p, r, w := ends(t, 0, unix.O_NONBLOCK)
	defer r.DecRef()
	defer w.DecRef()
	e := w.Impl.(*End)
	require.Equal(t, Capacity, e.Size())
	for _, c := range []struct{ in, want int }{
		{0, 4096}, {1, 4096}, {4096, 4096}, {4097, 8192}, {12288, 16384}, {65537, 131072}, {1 << 20, 1 << 20},
	} {
		got, err := e.SetSize(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, "F_SETPIPE_SZ(%d)", c.in)
		require.Equal(t, c.want, r.Impl.(*End).Size(), "both ends see it")
	}
	_, err := e.SetSize(1<<20 + 1)
	require.ErrorIs(t, err, unix.EPERM, "above /proc/sys/fs/pipe-max-size")

	// The capacity bounds what a write may put in.
	_, err = e.SetSize(4096)
	require.NoError(t, err)
	n, err := w.Write([][]byte{make([]byte, 10000)})
	require.NoError(t, err)
	require.Equal(t, 4096, n)
	// Growing makes room (and wakes writers).
	_, err = e.SetSize(8192)
	require.NoError(t, err)
	write(t, w, make([]byte, 4096))
	// Shrinking below what is buffered fails.
	_, err = e.SetSize(4096)
	require.ErrorIs(t, err, unix.EBUSY)
	require.Equal(t, 8192, e.Size())
	require.Equal(t, 8192, buffered(p))
}

func TestFIFOOpenRules(t *testing.T) {
	p := New()
	_, err := p.OpenFIFO(unix.O_WRONLY | unix.O_NONBLOCK)
	require.ErrorIs(t, err, unix.ENXIO, "no reader")
	r, err := p.OpenFIFO(unix.O_RDONLY | unix.O_NONBLOCK)
	require.NoError(t, err, "a non-blocking reader opens without a writer")
	w, err := p.OpenFIFO(unix.O_WRONLY | unix.O_NONBLOCK)
	require.NoError(t, err, "now there is a reader")
	_, err = w.Writev([][]byte{[]byte("fifo")})
	require.NoError(t, err)
	b := make([]byte, 10)
	n, err := r.Readv([][]byte{b})
	require.NoError(t, err)
	require.Equal(t, "fifo", string(b[:n]))
	w.Release()
	r.Release()
	_, err = p.OpenFIFO(unix.O_ACCMODE)
	require.ErrorIs(t, err, unix.EINVAL)

	// O_RDWR never waits.
	rw, err := p.OpenFIFO(unix.O_RDWR)
	require.NoError(t, err)
	rw.Release()

	// A blocking reader waits for a writer, and a blocking writer for a
	// reader.
	opened := make(chan *End)
	go func() {
		e, _ := p.OpenFIFO(unix.O_RDONLY)
		opened <- e
	}()
	select {
	case <-opened:
		t.Fatal("O_RDONLY open of a FIFO returned without a writer")
	case <-time.After(50 * time.Millisecond):
	}
	w, err = p.OpenFIFO(unix.O_WRONLY)
	require.NoError(t, err, "a reader is waiting")
	select {
	case r = <-opened:
		require.NotNil(t, r)
	case <-time.After(5 * time.Second):
		t.Fatal("the reader's open did not complete")
	}
	r.Release()
	w.Release()

	go func() {
		e, _ := p.OpenFIFO(unix.O_WRONLY)
		opened <- e
	}()
	select {
	case <-opened:
		t.Fatal("O_WRONLY open of a FIFO returned without a reader")
	case <-time.After(50 * time.Millisecond):
	}
	r, err = p.OpenFIFO(unix.O_RDONLY | unix.O_NONBLOCK)
	require.NoError(t, err)
	select {
	case w = <-opened:
		require.NotNil(t, w)
	case <-time.After(5 * time.Second):
		t.Fatal("the writer's open did not complete")
	}
	w.Release()
	r.Release()
}

// fifo(7)/open(2): a blocking O_RDONLY open of a FIFO "blocks until another
// process opens the FIFO for writing". The writer's open is the event, even
// if that writer closes again at once: Linux waits on pipe->w_counter (a
// count of opens), not on the number of writers open now. OpenFIFO loops
// on "p.writers == 0", so a reader that wakes after the writer has already
// closed goes back to sleep for good.
func TestFIFOReaderWakesForShortLivedWriter(t *testing.T) {
	p := New()
	opened := make(chan *End, 1)
	go func() {
		e, _ := p.OpenFIFO(unix.O_RDONLY)
		opened <- e
	}()
	// Wait until the reader is registered (and, soon, asleep).
	for {
		p.mu.Lock()
		n := p.readers
		p.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	w, err := p.OpenFIFO(unix.O_WRONLY | unix.O_NONBLOCK)
	require.NoError(t, err)
	w.Release()
	select {
	case r := <-opened:
		r.Release()
	case <-time.After(2 * time.Second):
		// Unblock the goroutine before failing.
		w2 := p.Open(false, true)
		r := <-opened
		r.Release()
		w2.Release()
		t.Fatal("the reader's open stayed blocked after a writer opened and closed")
	}
}

// fakeMem is application memory for ioctl.
type fakeMem struct{ b []byte }

func (m *fakeMem) CopyIn(addr uintptr, dst []byte) (int, error) {
	return copy(dst, m.b[addr:]), nil
}

func (m *fakeMem) CopyOut(addr uintptr, src []byte) (int, error) {
	return copy(m.b[addr:], src), nil
}

func TestFIONREAD(t *testing.T) {
	_, r, w := ends(t, 0, 0)
	defer r.DecRef()
	defer w.DecRef()
	write(t, w, make([]byte, 4764))
	mem := &fakeMem{b: make([]byte, 16)}
	_, err := r.Impl.Ioctl(mem, unix.TIOCINQ, 4)
	require.NoError(t, err)
	require.EqualValues(t, 4764, binary.LittleEndian.Uint32(mem.b[4:]))
	_, err = r.Impl.Ioctl(mem, unix.TCGETS, 0)
	require.ErrorIs(t, err, unix.ENOTTY)
}

func TestManyWritersAtomicChunks(t *testing.T) {
	_, r, w := ends(t, 0, 0)
	defer r.DecRef()
	const writers, per = 4, 64
	for k := 0; k < writers; k++ {
		w.IncRef()
		go func(k int) {
			defer w.DecRef()
			chunk := bytes.Repeat([]byte{byte('A' + k)}, 1000)
			for i := 0; i < per; i++ {
				w.Write([][]byte{chunk})
			}
		}(k)
	}
	w.DecRef() // EOF once every writer is done
	var all []byte
	for {
		b := read(t, r, 4096)
		if len(b) == 0 {
			break
		}
		all = append(all, b...)
	}
	require.Len(t, all, writers*per*1000)
	// Every write of at most PIPE_BUF bytes is contiguous.
	for i := 0; i < len(all); i += 1000 {
		require.Equal(t, bytes.Repeat(all[i:i+1], 1000), all[i:i+1000], "chunk at %d interleaved", i)
	}
}
