package config

import "testing"

func TestBytesParsesSizes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"256MiB", 256 << 20, true},
		{"256 MiB", 256 << 20, true},
		{" 1GiB ", 1 << 30, true},
		{"1.5KiB", 1536, true},
		{"64KB", 64000, true},
		{"4096", 4096, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"lots", 0, false},
		{"99999999999EiB", 0, false},
	}
	for _, tt := range tests {
		var n int64
		err := Bytes(&n).Set(tt.in)
		if (err == nil) != tt.ok || (tt.ok && n != tt.want) {
			t.Errorf("Set(%q) = %d, %v; want %d, ok %v", tt.in, n, err, tt.want, tt.ok)
		}
	}
}

func TestBytesStringReadsBack(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1 << 10, 1536, 256 << 20, 3 << 30, 300<<20 + 1} {
		v := Bytes(&n)
		var back int64
		if err := Bytes(&back).Set(v.String()); err != nil || back != n {
			t.Errorf("%d prints as %q, which reads back as %d (%v)", n, v.String(), back, err)
		}
	}
}
