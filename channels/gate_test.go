package channels

import (
	"errors"
	"testing"
	"time"
)

func TestGateUploadSlots(t *testing.T) {
	g := NewGate(GateConfig{MaxUploads: 3, MaxUploadsPerListener: 2}, nil)
	web, onion := g.Listener("web"), g.Listener("onion")
	if g.Listener("web") != web {
		t.Fatal("two gates for one listener")
	}
	r1, err1 := web.AcquireUpload()
	r2, err2 := web.AcquireUpload()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := web.AcquireUpload(); !errors.Is(err, ErrBusy) {
		t.Fatalf("third upload on a listener capped at 2: %v", err)
	}
	r3, err := onion.AcquireUpload()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onion.AcquireUpload(); !errors.Is(err, ErrBusy) {
		t.Fatalf("fourth upload under a global cap of 3: %v", err)
	}
	if onion.Uploads() != 1 {
		t.Fatalf("a refused upload kept its listener slot: %d", onion.Uploads())
	}
	r1()
	r1() // releasing twice gives back one slot only
	if _, err := onion.AcquireUpload(); err != nil {
		t.Fatalf("slot not given back: %v", err)
	}
	if _, err := onion.AcquireUpload(); !errors.Is(err, ErrBusy) {
		t.Fatal("a double release freed two slots")
	}
	r2()
	r3()
}

func TestGateBudget(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := NewGate(GateConfig{BytesPerMinute: 8000, BytesPerMinutePerListener: 6000}, func() time.Time { return now })
	web, onion := g.Listener("web"), g.Listener("onion")
	tests := []struct {
		name   string
		l      *ListenerGate
		n      int64
		upload bool
		want   error
	}{
		{"upload within its share", web, 5000, true, nil},
		{"upload into the text reserve", web, 500, true, ErrOverBudget}, // 1000 left of 6000, reserve 750
		{"text may use the reserve", web, 900, false, nil},
		{"listener spent", web, 200, false, ErrOverBudget},
		{"other listener, within the global", onion, 2000, false, nil},
		{"global spent", onion, 200, false, ErrOverBudget},
	}
	for _, tt := range tests {
		if err := tt.l.Admit(tt.n, tt.upload); !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
			t.Fatalf("%s: admit: %v, want %v", tt.name, err, tt.want)
		}
		if err := tt.l.take(tt.n, tt.upload); !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
			t.Fatalf("%s: take: %v, want %v", tt.name, err, tt.want)
		}
	}
	now = now.Add(time.Minute)
	if err := onion.take(2000, true); err != nil {
		t.Fatalf("budget not refilled after a minute: %v", err)
	}
	if err := web.Admit(-1, true); err != nil {
		t.Fatalf("an unknown length is admitted and counted as read: %v", err)
	}
}
