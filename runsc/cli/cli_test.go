package cli

import "testing"

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"":        0,
		"256M":    256 << 20,
		"1G":      1 << 30,
		"1g":      1 << 30,
		"2GiB":    2 << 30,
		"512KB":   0, // below the minimum: an error, checked below
		"4096K":   4 << 20,
		"1T":      1 << 40,
		"1048576": 1 << 20,
	}
	for in, want := range good {
		got, err := parseSize(in)
		if want == 0 && in != "" {
			if err == nil {
				t.Errorf("parseSize(%q) = %d, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"abc", "-1M", "0", "1.5G", "M", "99999999999T"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
