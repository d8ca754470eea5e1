package proto

import (
	"bytes"
	"testing"
)

// checkDecode decodes b as a request and as a reply to every op: it must
// never panic, and whatever decodes must re-encode to exactly b (the
// encoding is canonical).
func checkDecode(t testing.TB, b []byte, nfds int) {
	if op, m, err := DecodeRequest(b, nfds); err == nil {
		again, err := Marshal(nil, op, 0, m)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("request %v %x re-encodes to %x (%v)", op, b, again, err)
		}
	}
	for op := OpAttach; op <= OpClose; op++ {
		m, err := DecodeReply(b, op, nfds)
		if err != nil || m == nil {
			continue
		}
		again, err := Marshal(nil, op|ReplyBit, nfds, m)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("reply to %v %x re-encodes to %x (%v)", op, b, again, err)
		}
	}
}

// FuzzDecode: go test -fuzz=FuzzDecode ./gofer/proto
func FuzzDecode(f *testing.F) {
	for _, s := range requestSamples() {
		b, _ := Marshal(nil, s.op, 0, s.msg)
		f.Add(b, uint8(0))
	}
	for _, s := range replySamples() {
		n := ReplyFDs(s.op)
		b, _ := Marshal(nil, s.op|ReplyBit, n, s.msg)
		f.Add(b, uint8(n))
	}
	e, _ := Marshal(nil, OpError, 0, &ErrorReply{Errno: 2})
	f.Add(e, uint8(0))
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{1, 0, 0, 0, 255, 255, 255, 255}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, nfds uint8) {
		checkDecode(t, b, int(nfds%3))
	})
}
