package crypto

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
)

func TestSealOpenOutbox(t *testing.T) {
	gw, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	e := OutboxEntry{ID: "r1", Channel: "telegram", Address: "123456", Text: "Which building?", When: DeliverAtCheckIn, Expires: time.Date(2026, 12, 9, 15, 47, 0, 0, time.UTC)}
	sealed, err := SealOutbox(&e, gw.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenOutbox(sealed, gw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Address != "123456" || got.Text != e.Text || !got.Expires.Equal(time.Date(2026, 12, 9, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("opened %+v (expiry must round up to the hour)", got)
	}
	if _, err := OpenOutbox(sealed, other); !IsNotRecipient(err) {
		t.Fatalf("another gateway opened it: %v", err)
	}
	for name, mutate := range map[string]func(*OutboxEntry){
		"no id":      func(e *OutboxEntry) { e.ID = "" },
		"channel":    func(e *OutboxEntry) { e.Channel = "email" },
		"no address": func(e *OutboxEntry) { e.Address = " " },
		"empty":      func(e *OutboxEntry) { e.Text = "" },
		"when":       func(e *OutboxEntry) { e.When = "later" },
		"no expiry":  func(e *OutboxEntry) { e.Expires = time.Time{} },
	} {
		bad := e
		mutate(&bad)
		if _, err := SealOutbox(&bad, gw.Recipient()); !errors.Is(err, ErrInvalidOutboxEntry) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := SealOutbox(&e); err == nil {
		t.Error("sealed to no gateway")
	}
	// A sealed reply is not an outbox entry.
	reply, _ := SealReply(&Reply{ID: "x", Text: "y"}, gw.Recipient())
	if _, err := OpenOutbox(reply, gw); !errors.Is(err, ErrInvalidOutboxEntry) {
		t.Errorf("a reply opened as an outbox entry: %v", err)
	}
}

func TestOutboundIdentityFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbound.key")
	id1, created, err := LoadOrCreateOutboundIdentity(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	id2, created, err := LoadOrCreateOutboundIdentity(path)
	if err != nil || created || id2.String() != id1.String() {
		t.Fatalf("load: %v %v", created, err)
	}
	os.Chmod(path, 0o644)
	if _, _, err := LoadOrCreateOutboundIdentity(path); err == nil {
		t.Fatal("world-readable identity accepted")
	}
}
