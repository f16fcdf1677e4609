package gateway

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// outboxBackends opens each real backend: the embedded store and Redis.
func outboxBackends(t *testing.T) map[string]queue.Queue {
	t.Helper()
	ctx := context.Background()
	emb, err := backend.Open(ctx, "file:"+filepath.Join(t.TempDir(), "flare.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	rs := testredis.Start(t)
	red, err := backend.Open(ctx, rs.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { red.Close() })
	return map[string]queue.Queue{"embedded": emb, "redis": red}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newOutbox(t *testing.T, q queue.Queue, c *clock) (*Outbox, *age.X25519Identity) {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	o, err := NewOutbox(OutboxConfig{Queue: q, Identity: id, Lease: time.Minute, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return o, id
}

func putEntry(t *testing.T, q queue.Queue, e crypto.OutboxEntry, to ...age.Recipient) string {
	t.Helper()
	sealed, err := crypto.SealOutbox(&e, to...)
	if err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(context.Background(), queue.StreamOutbox, sealed)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func state(t *testing.T, q queue.Queue, replyID string) string {
	t.Helper()
	v, _, err := q.GetRecord(context.Background(), StateKey(replyID))
	if errors.Is(err, queue.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func TestOutboxDeliversOnceAcrossGateways(t *testing.T) {
	for name, q := range outboxBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			a, aid := newOutbox(t, q, c)
			b, bid := newOutbox(t, q, c)
			_, stranger := newOutbox(t, q, c)
			entry := crypto.OutboxEntry{ID: "r-" + name, Channel: "telegram", Address: "chat-1", Text: "Which building?", When: crypto.DeliverAtCheckIn, Expires: c.now().Add(7 * 24 * time.Hour)}
			putEntry(t, q, entry, aid.Recipient(), bid.Recipient())
			other := entry
			other.ID, other.Address = "other-"+name, "chat-2"
			putEntry(t, q, other, stranger.Recipient())

			pa, err := a.For(ctx, "telegram", "chat-1")
			if err != nil || len(pa) != 1 || pa[0].Entry.Text != "Which building?" {
				t.Fatalf("gateway A sees %+v, %v", pa, err)
			}
			pb, _ := b.For(ctx, "telegram", "chat-1")
			if len(pb) != 1 {
				t.Fatalf("gateway B sees %d entries", len(pb))
			}
			if all, _ := a.Scan(ctx); len(all) != 1 {
				t.Fatalf("gateway A opened %d entries, want only its own", len(all))
			}

			var sends atomic.Int32
			send := func(context.Context, crypto.OutboxEntry) error { sends.Add(1); return nil }
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, g := range []struct {
				o *Outbox
				p Pending
			}{{a, pa[0]}, {b, pb[0]}} {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = g.o.Deliver(ctx, g.p, send) }()
			}
			wg.Wait()
			if sends.Load() != 1 {
				t.Fatalf("sent %d times, want once (errors %v)", sends.Load(), errs)
			}
			if state(t, q, entry.ID) != string(Delivered) {
				t.Fatalf("state %q, want delivered", state(t, q, entry.ID))
			}
			if left, _ := a.For(ctx, "telegram", "chat-1"); len(left) != 0 {
				t.Fatal("a delivered entry is still in the outbox")
			}
			if err := b.Deliver(ctx, pb[0], send); !errors.Is(err, ErrClaimed) || sends.Load() != 1 {
				t.Fatalf("delivering again: %v, %d sends", err, sends.Load())
			}
		})
	}
}

// TestOutboxGatewayDiesMidDelivery: a gateway that claimed an entry and
// died before sending holds it only until its lease ends; then another
// delivers it, once.
func TestOutboxGatewayDiesMidDelivery(t *testing.T) {
	for name, q := range outboxBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			a, aid := newOutbox(t, q, c)
			b, bid := newOutbox(t, q, c)
			entry := crypto.OutboxEntry{ID: "r-" + name, Channel: "sms", Address: "+85512345678", Text: "We got your message.", When: crypto.DeliverNow, Expires: c.now().Add(time.Hour * 48)}
			putEntry(t, q, entry, aid.Recipient(), bid.Recipient())
			pa, _ := a.Scan(ctx)
			if err := a.claim(ctx, pa[0]); err != nil { // A dies here
				t.Fatal(err)
			}
			var sends atomic.Int32
			send := func(context.Context, crypto.OutboxEntry) error { sends.Add(1); return nil }
			pb, _ := b.Scan(ctx)
			if err := b.Deliver(ctx, pb[0], send); !errors.Is(err, ErrClaimed) {
				t.Fatalf("B delivered under A's lease: %v", err)
			}
			c.add(2 * time.Minute)
			if err := b.Deliver(ctx, pb[0], send); err != nil {
				t.Fatalf("B after A's lease ran out: %v", err)
			}
			if sends.Load() != 1 || state(t, q, entry.ID) != string(Delivered) {
				t.Fatalf("%d sends, state %q", sends.Load(), state(t, q, entry.ID))
			}
			if _, _, err := q.GetRecord(ctx, claimKey(pb[0].QueueID)); !errors.Is(err, queue.ErrNotFound) {
				t.Fatalf("the claim outlived the delivery: %v", err)
			}
		})
	}
}

func TestOutboxFailedSendIsRetriedAndExpiryDeletes(t *testing.T) {
	for name, q := range outboxBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			a, aid := newOutbox(t, q, c)
			entry := crypto.OutboxEntry{ID: "r-" + name, Channel: "telegram", Address: "chat-9", Text: "hello", When: crypto.DeliverAtCheckIn, Expires: c.now().Add(3 * time.Hour)}
			putEntry(t, q, entry, aid.Recipient())
			p, _ := a.Scan(ctx)
			boom := errors.New("telegram unreachable")
			if err := a.Deliver(ctx, p[0], func(context.Context, crypto.OutboxEntry) error { return boom }); !errors.Is(err, boom) {
				t.Fatalf("failed send: %v", err)
			}
			if state(t, q, entry.ID) != "" {
				t.Fatal("a failed send was recorded as an end state")
			}
			if again, _ := a.Scan(ctx); len(again) != 1 {
				t.Fatal("a failed send lost the entry")
			}
			c.add(4 * time.Hour)
			if left, _ := a.Scan(ctx); len(left) != 0 {
				t.Fatal("an expired entry is still offered")
			}
			if state(t, q, entry.ID) != string(Expired) {
				t.Fatalf("state %q, want expired", state(t, q, entry.ID))
			}
			if msgs, _ := q.List(ctx, queue.StreamOutbox, "", 10); len(msgs) != 0 {
				t.Fatalf("%d entries left in the outbox stream", len(msgs))
			}
		})
	}
}

// TestOutboxCancelledIsNeverDelivered: a key-holder's kill switch records
// the reply as cancelled (a console may not delete outbox entries); no
// gateway claims it, and the next scan deletes it.
func TestOutboxCancelledIsNeverDelivered(t *testing.T) {
	for name, q := range outboxBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			a, aid := newOutbox(t, q, c)
			entry := crypto.OutboxEntry{ID: "c-" + name, Channel: "telegram", Address: "chat-7", Text: "hello", When: crypto.DeliverAtCheckIn, Expires: c.now().Add(24 * time.Hour)}
			qid := putEntry(t, q, entry, aid.Recipient())
			p, _ := a.Scan(ctx)
			if _, err := q.PutRecord(ctx, StateKey(entry.ID), []byte("cancelled"), 0); err != nil {
				t.Fatal(err)
			}
			sent := false
			if err := a.Deliver(ctx, p[0], func(context.Context, crypto.OutboxEntry) error { sent = true; return nil }); !errors.Is(err, ErrClaimed) || sent {
				t.Fatalf("a cancelled reply was delivered: %v, sent %v", err, sent)
			}
			if left, _ := a.Scan(ctx); len(left) != 0 {
				t.Fatal("a cancelled reply is still offered")
			}
			if _, err := q.Get(ctx, queue.StreamOutbox, qid); !errors.Is(err, queue.ErrNotFound) {
				t.Fatalf("the cancelled entry is still stored: %v", err)
			}
			if state(t, q, entry.ID) != "cancelled" {
				t.Fatalf("state %q", state(t, q, entry.ID))
			}
		})
	}
}
