package crypto

import "testing"

func TestPaddedSize(t *testing.T) {
	tests := []struct {
		n, want int64
	}{
		{0, 1024},
		{1, 1024},
		{1024, 1024},
		{1025, 1088}, // E=10, S=4: the low 6 bits are rounded up
		{4000, 4096},
		{1 << 20, 1 << 20},
		{1<<20 + 1, 1<<20 + 1<<15},
		{200 << 20, 200 << 20},
	}
	for _, tt := range tests {
		if got := PaddedSize(tt.n); got != tt.want {
			t.Errorf("PaddedSize(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

func TestPaddedSizeBounds(t *testing.T) {
	for n := int64(0); n < 1<<22; n += 977 {
		p := PaddedSize(n)
		if p < n {
			t.Fatalf("PaddedSize(%d) = %d, smaller than input", n, p)
		}
		if n > minPaddedSize && float64(p-n)/float64(n) > 0.12 {
			t.Fatalf("PaddedSize(%d) = %d, overhead above 12%%", n, p)
		}
	}
}

func TestPaddedSizeFewBuckets(t *testing.T) {
	// Every length from 1 KiB to 64 KiB lands in a small set of sizes.
	seen := map[int64]bool{}
	for n := int64(1024); n <= 64<<10; n++ {
		seen[PaddedSize(n)] = true
	}
	if len(seen) > 120 {
		t.Fatalf("%d distinct padded sizes between 1 KiB and 64 KiB; padding leaks too much", len(seen))
	}
}
