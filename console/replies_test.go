package console

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels/inbox"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/embedded"
)

func TestWebRepliesAndKillSwitch(t *testing.T) {
	ctx := context.Background()
	store := openReplyStore(t)
	alice, _ := age.GenerateX25519Identity()
	bob, _ := age.GenerateX25519Identity()
	sealer, err := crypto.NewSealer(alice.Recipient(), bob.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	box := inbox.New(store, inbox.DefaultConfig)
	code, rcpt, err := box.NewCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	item := &Item{Key: "1-1", Entries: []Entry{{QueueID: "1-1"}}, Tip: &crypto.Tip{ID: "t", Channel: "web", Kind: crypto.KindDistress, Text: "help", Inbox: rcpt}}
	ra := NewReplies(store, sealer, []age.Identity{alice})
	rb := NewReplies(store, sealer, []age.Identity{bob})

	first, err := ra.SendWeb(ctx, item, "Which building?", "en", "alice")
	if err != nil {
		t.Fatal(err)
	}
	second, err := ra.SendWeb(ctx, item, "What are the names?", "en", "alice")
	if err != nil {
		t.Fatal(err)
	}
	opened, err := box.Open(ctx, "onion", code)
	if err != nil || len(opened.Replies) != 2 {
		t.Fatalf("source sees %+v, %v", opened, err)
	}
	// Another key-holder sees the same book.
	book, _, err := rb.Book(ctx, item.Key)
	if err != nil || len(book.Replies) != 2 || book.Replies[0].Text != "Which building?" {
		t.Fatalf("bob's view of the book: %+v, %v", book, err)
	}
	if st, _ := rb.ReplyState(ctx, book.Replies[0]); st != "waiting" {
		t.Fatalf("state = %s, want waiting", st)
	}
	if err := box.Delete(ctx, "onion", code, first.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := rb.ReplyState(ctx, book.Replies[0]); st != "read" {
		t.Fatalf("state after the source deleted it = %s, want read", st)
	}

	// The kill switch withdraws what is still waiting and blocks new replies.
	book, err = rb.StopContact(ctx, item.Key, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !book.NoContact || book.NoContactBy != "bob" {
		t.Fatalf("book after stop: %+v", book)
	}
	for _, s := range book.Replies {
		want := map[string]string{first.ID: "read", second.ID: "cancelled"}[s.ID]
		if st, _ := ra.ReplyState(ctx, s); st != want {
			t.Errorf("reply %s: state %s, want %s", s.ID, st, want)
		}
	}
	if opened, _ := box.Open(ctx, "onion", code); len(opened.Replies) != 0 {
		t.Fatalf("the source still sees %d replies after the kill switch", len(opened.Replies))
	}
	if _, err := ra.SendWeb(ctx, item, "one more", "en", "alice"); !errors.Is(err, ErrNoContact) {
		t.Fatalf("reply after the kill switch: %v", err)
	}

	// Forged tips and tips without an inbox get no reply.
	forged := &Item{Key: "2-1", Entries: []Entry{{QueueID: "2-1", Authenticity: crypto.Forged}}, Tip: &crypto.Tip{Inbox: rcpt}}
	if _, err := ra.SendWeb(ctx, forged, "x", "", "alice"); !errors.Is(err, ErrForgedNoReply) {
		t.Fatalf("reply to a forged tip: %v", err)
	}
	noInbox := &Item{Key: "3-1", Entries: []Entry{{QueueID: "3-1"}}, Tip: &crypto.Tip{Channel: "sms"}}
	if _, err := ra.SendWeb(ctx, noInbox, "x", "", "alice"); !errors.Is(err, ErrNoInbox) {
		t.Fatalf("reply without an inbox: %v", err)
	}
	if b, _, _ := ra.Book(ctx, "3-1"); len(b.Replies) != 0 {
		t.Fatal("a refused reply was entered in the book")
	}
}

func TestOutboxRepliesApprovalAndKillSwitch(t *testing.T) {
	ctx := context.Background()
	store := openReplyStore(t)
	alice, _ := age.GenerateX25519Identity()
	gw, _ := age.GenerateX25519Identity()
	sealer, _ := crypto.NewSealer(alice.Recipient())
	r := NewReplies(store, sealer, []age.Identity{alice})
	gateways := []age.Recipient{gw.Recipient()}
	tg := &Item{Key: "1-1", Entries: []Entry{{QueueID: "1-1"}}, Tip: &crypto.Tip{Channel: "telegram", Sender: &crypto.Sender{ChatID: "555"}}}
	expires := time.Now().Add(7 * 24 * time.Hour)

	sent, err := r.SendOutbox(ctx, store, tg, gateways, crypto.OutboxEntry{Channel: "telegram", Address: "555", Text: "Which building?", When: crypto.DeliverAtCheckIn, Expires: expires}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.Get(ctx, queue.StreamOutbox, sent.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	e, err := crypto.OpenOutbox(m.Body, gw)
	if err != nil || e.Address != "555" || e.Case != "1-1" || e.ID != sent.ID {
		t.Fatalf("the gateway opens %+v, %v", e, err)
	}
	if _, err := crypto.OpenOutbox(m.Body, alice); err == nil {
		t.Fatal("an outbox entry opens with a key-holder's identity: only gateways should")
	}
	if st, _ := r.ReplyState(ctx, sent); st != "waiting for check-in" {
		t.Fatalf("state %q", st)
	}
	// A gateway records the delivery.
	store.PutRecord(ctx, outboxStateKey(sent.ID), []byte("delivered"), 0)
	if st, _ := r.ReplyState(ctx, sent); st != "delivered" {
		t.Fatalf("state after delivery %q", st)
	}

	// SMS: proposed by one key-holder, approved by another.
	sms := &Item{Key: "2-1", Entries: []Entry{{QueueID: "2-1"}}, Tip: &crypto.Tip{Channel: "sms", Sender: &crypto.Sender{Phone: "+85512345678"}, Fields: map[string]string{"reply_ok": "yes"}}}
	prop, err := r.ProposeSMS(ctx, sms, "sms", "received", "km", "យើងបានទទួល", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := r.ReplyState(ctx, prop); st != "awaiting approval" {
		t.Fatalf("proposed state %q", st)
	}
	if msgs, _ := store.List(ctx, queue.StreamOutbox, sent.QueueID, 10); len(msgs) != 0 {
		t.Fatal("a proposal reached the outbox before approval")
	}
	if _, err := r.ApproveSMS(ctx, store, sms, gateways, prop.ID, "+85512345678", expires, "alice"); !errors.Is(err, ErrSameApprover) {
		t.Fatalf("self-approval: %v", err)
	}
	approved, err := r.ApproveSMS(ctx, store, sms, gateways, prop.ID, "+85512345678", expires, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if approved.QueueID == "" || approved.ApprovedBy != "bob" {
		t.Fatalf("approved %+v", approved)
	}
	if _, err := r.ApproveSMS(ctx, store, sms, gateways, prop.ID, "+85512345678", expires, "carol"); err == nil {
		t.Fatal("approved twice")
	}

	// The kill switch deletes the pending SMS from the outbox.
	book, err := r.StopContactOutbox(ctx, store, "2-1", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, queue.StreamOutbox, approved.QueueID); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("the cancelled reply is still in the outbox: %v", err)
	}
	if !book.Replies[0].Cancelled {
		t.Fatalf("book after the kill switch: %+v", book)
	}
	if st, _ := r.ReplyState(ctx, book.Replies[0]); st != "cancelled" {
		t.Fatalf("state %q", st)
	}
	if _, err := r.ProposeSMS(ctx, sms, "sms", "received", "km", "x", "alice"); !errors.Is(err, ErrNoContact) {
		t.Fatalf("proposal after the kill switch: %v", err)
	}
}

// openReplyStore opens a fresh embedded store for a reply test, closed
// when the test ends.
func openReplyStore(t *testing.T) *embedded.Store {
	t.Helper()
	store, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "flare.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}
