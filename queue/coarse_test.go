package queue

import (
	"testing"
	"time"
)

func TestHourMillis(t *testing.T) {
	at := time.Date(2026, 12, 2, 15, 59, 59, 999e6, time.UTC)
	if got, want := HourMillis(at), time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC).UnixMilli(); got != want {
		t.Fatalf("HourMillis(%v) = %d, want %d", at, got, want)
	}
}

func TestRememberExpiry(t *testing.T) {
	now := time.Date(2026, 12, 2, 15, 7, 31, 250e6, time.UTC)
	tests := []struct {
		ttl  time.Duration
		want time.Time
	}{
		{48 * time.Hour, time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)},
		{24 * time.Hour, time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC)},
		{time.Hour, time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)},
		{90 * time.Minute, time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)},
		// Shorter ttls: a multiple of themselves, at most twice as long.
		{time.Minute, time.Date(2026, 12, 2, 15, 9, 0, 0, time.UTC)},
		{200 * time.Millisecond, time.Date(2026, 12, 2, 15, 7, 31, 600e6, time.UTC)},
		{time.Millisecond, time.Date(2026, 12, 2, 15, 7, 31, 251e6, time.UTC)},
		{time.Microsecond, time.Date(2026, 12, 2, 15, 7, 31, 251e6, time.UTC)},
	}
	for _, tt := range tests {
		got := RememberExpiry(now, tt.ttl)
		if !got.Equal(tt.want) {
			t.Errorf("RememberExpiry(%v) = %v, want %v", tt.ttl, got, tt.want)
		}
		if got.Sub(now) < tt.ttl {
			t.Errorf("RememberExpiry(%v) = %v, earlier than the ttl", tt.ttl, got)
		}
		if tt.ttl >= time.Hour && got.UnixMilli()%time.Hour.Milliseconds() != 0 {
			t.Errorf("RememberExpiry(%v) = %v, not a whole hour", tt.ttl, got)
		}
	}
}

func TestSweepCutoff(t *testing.T) {
	created := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC).UnixMilli() // any time in 15:00–16:00
	for _, c := range []struct {
		before time.Time
		swept  bool
	}{
		{time.Date(2026, 12, 2, 15, 59, 0, 0, time.UTC), false},
		{time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC), true},
	} {
		if got := created <= SweepCutoff(c.before); got != c.swept {
			t.Errorf("blob created in the hour of 15:00, before %v: swept %v, want %v", c.before, got, c.swept)
		}
	}
}
