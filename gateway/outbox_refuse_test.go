package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// TestOutboxRefuse: a refused entry ends with the given state and is
// deleted; one another gateway holds is left to it; a refused entry is
// never delivered afterwards.
func TestOutboxRefuse(t *testing.T) {
	for name, q := range outboxBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			a, aid := newOutbox(t, q, c)
			b, bid := newOutbox(t, q, c)
			entry := crypto.OutboxEntry{ID: "sms-" + name, Channel: "sms", Address: "twilio:+85512345678", Text: "Message received.", Template: "received", Lang: "en", When: crypto.DeliverNow, Expires: c.now().Add(24 * time.Hour)}
			qid := putEntry(t, q, entry, aid.Recipient(), bid.Recipient())
			pa, _ := a.Scan(ctx)
			pb, _ := b.Scan(ctx)
			if len(pa) != 1 || len(pb) != 1 {
				t.Fatalf("scans: %d %d", len(pa), len(pb))
			}
			// B holds the entry mid-delivery: A cannot refuse it.
			hold := make(chan struct{})
			done := make(chan error)
			go func() {
				done <- b.Deliver(ctx, pb[0], func(context.Context, crypto.OutboxEntry) error { <-hold; return errors.New("provider down") })
			}()
			for {
				if _, _, err := q.GetRecord(ctx, claimKey(qid)); err == nil {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if err := a.Refuse(ctx, pa[0], "refused: replies off"); !errors.Is(err, ErrClaimed) {
				t.Fatalf("refusing a held entry: %v", err)
			}
			close(hold)
			<-done
			if err := a.Refuse(ctx, pa[0], "refused: replies off"); err != nil {
				t.Fatal(err)
			}
			if st := state(t, q, entry.ID); st != "refused: replies off" {
				t.Fatalf("state %q", st)
			}
			if _, err := q.Get(ctx, queue.StreamOutbox, qid); !errors.Is(err, queue.ErrNotFound) {
				t.Fatalf("a refused entry is still in the outbox: %v", err)
			}
			sent := false
			if err := b.Deliver(ctx, pb[0], func(context.Context, crypto.OutboxEntry) error { sent = true; return nil }); !errors.Is(err, ErrClaimed) || sent {
				t.Fatalf("a refused entry was delivered: %v %v", err, sent)
			}
		})
	}
}
