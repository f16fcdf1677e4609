package console

import (
	"context"
	"errors"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// TestSMSReplyRules checks what the console refuses before an SMS or
// WhatsApp reply reaches the outbox: free text, a source who did not opt
// in, and a WhatsApp reply once 24 hours have passed since the source's
// last message; and that a WhatsApp reply expires with the window.
func TestSMSReplyRules(t *testing.T) {
	ctx := context.Background()
	store := openReplyStore(t)
	alice, _ := age.GenerateX25519Identity()
	gw, _ := age.GenerateX25519Identity()
	sealer, _ := crypto.NewSealer(alice.Recipient())
	now := time.Date(2026, 12, 2, 17, 30, 0, 0, time.UTC)
	r := NewReplies(store, sealer, []age.Identity{alice})
	r.now = func() time.Time { return now }
	gateways := []age.Recipient{gw.Recipient()}

	item := func(key, channel string, fields map[string]string, received time.Time) *Item {
		return &Item{Key: key, Entries: []Entry{{QueueID: key}}, Tip: &crypto.Tip{Channel: channel, Fields: fields, Received: received}}
	}
	optIn := map[string]string{"reply_ok": "yes"}
	tests := []struct {
		name     string
		item     *Item
		channel  string
		template string
		want     error
	}{
		{"free text", item("1-1", "sms", optIn, now), "sms", "", ErrTemplateOnly},
		{"no opt-in", item("2-1", "sms", nil, now), "sms", "received", ErrNoOptIn},
		{"opt-in by the contact answer", item("3-1", "sms", map[string]string{"contact": "SMS after 9pm"}, now), "sms", "received", nil},
		{"opt-in word", item("4-1", "sms", optIn, now.Add(-72*time.Hour)), "sms", "received", nil},
		{"whatsapp inside the window", item("5-1", "whatsapp", optIn, now.Add(-20*time.Hour)), "whatsapp", "received", nil},
		{"whatsapp window closed", item("6-1", "whatsapp", optIn, now.Add(-25*time.Hour)), "whatsapp", "received", ErrWindowClosed},
		{"whatsapp window's last partial hour", item("7-1", "whatsapp", optIn, now.Add(-24*time.Hour+10*time.Minute)), "whatsapp", "received", ErrWindowClosed},
		{"not an sms channel", item("8-1", "telegram", optIn, now), "telegram", "received", ErrNotSMSChannel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.ProposeSMS(ctx, tc.item, tc.channel, tc.template, "en", "Message received.", "alice")
			if !errors.Is(err, tc.want) {
				t.Fatalf("propose: %v, want %v", err, tc.want)
			}
			if b, _, _ := r.Book(ctx, tc.item.Key); tc.want != nil && len(b.Replies) != 0 {
				t.Fatal("a refused reply was entered in the book")
			}
		})
	}

	// The window closes between proposal and approval: refused, nothing
	// reaches the outbox.
	wa := item("5-1", "whatsapp", optIn, now.Add(-20*time.Hour))
	b, _, _ := r.Book(ctx, "5-1")
	prop := b.Replies[0]
	r.now = func() time.Time { return now.Add(5 * time.Hour) }
	if _, err := r.ApproveSMS(ctx, store, wa, gateways, prop.ID, "twilio:whatsapp:+85512345678", time.Time{}, "bob"); !errors.Is(err, ErrWindowClosed) {
		t.Fatalf("approval after the window: %v", err)
	}
	if msgs, _ := store.List(ctx, queue.StreamOutbox, "", 10); len(msgs) != 0 {
		t.Fatal("an approval after the window reached the outbox")
	}

	// Inside the window the entry expires when the window closes, not a
	// day later.
	r.now = func() time.Time { return now }
	approved, err := r.ApproveSMS(ctx, store, wa, gateways, prop.ID, "twilio:whatsapp:+85512345678", now.Add(7*24*time.Hour), "bob")
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.Get(ctx, queue.StreamOutbox, approved.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	e, err := crypto.OpenOutbox(m.Body, gw)
	if err != nil {
		t.Fatal(err)
	}
	if closes := WhatsAppWindowCloses(wa); e.Expires.After(closes) || !e.Expires.After(now) {
		t.Fatalf("entry expires %v; the window closes %v", e.Expires, closes)
	}
}
