package boot

import (
	"strings"
	"testing"
)

// TestReadStatus: the status the sandbox process reports is taken only
// when it arrived whole; anything else sends sbx back to waiting for the
// process's exit.
func TestReadStatus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		ok   bool
	}{
		{"000\n", 0, true},
		{"137\n", 137, true},
		{"255\n", 255, true},
		{"", 0, false},      // exited without reporting
		{"13", 0, false},    // cut short
		{"256\n", 0, false}, // not a status
		{"-01\n", 0, false},
		{"1x3\n", 0, false},
		{"0123", 0, false},
	} {
		code, ok := readStatus(strings.NewReader(tc.in))
		if code != tc.code || ok != tc.ok {
			t.Errorf("readStatus(%q) = %d, %v; want %d, %v", tc.in, code, ok, tc.code, tc.ok)
		}
	}
}
