package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// Outbox hands replies for Telegram, SMS and WhatsApp sources to the
// channels that deliver them, each at most once across crashes and several
// gateways, and deletes each once delivered or expired.
//
// Entries sit in queue.StreamOutbox sealed to the outbound recipients of
// the gateways the key-holder chose; a gateway opens them in memory only.
// To deliver one, a gateway first claims it with a compare-and-set record
// that holds only a lease (which gateway, until when: seconds, while the
// delivery runs), then sends, then records the reply as delivered and
// deletes the entry and the claim. A gateway that dies holding a claim
// loses it when the lease runs out, and another gateway delivers. A crash
// after sending but before recording can, rarely, send twice; nothing can
// make a provider's send and the store's write one step.
type Outbox struct {
	queue    queue.Queue
	identity *age.X25519Identity
	name     string
	lease    time.Duration
	log      *slog.Logger
	now      func() time.Time
}

// OutboxConfig configures an Outbox.
type OutboxConfig struct {
	Queue queue.Queue
	// Identity is this gateway's outbound identity.
	Identity *age.X25519Identity
	// Name tells this gateway's claims from others'; any unique string.
	Name string
	// Lease is how long a claim holds; 0 means two minutes.
	Lease time.Duration
	Log   *slog.Logger
	Now   func() time.Time
}

// NewOutbox returns an Outbox.
func NewOutbox(cfg OutboxConfig) (*Outbox, error) {
	if cfg.Queue == nil || cfg.Identity == nil {
		return nil, errors.New("outbox needs a queue and an outbound identity")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Name == "" {
		cfg.Name = randomID()
	}
	return &Outbox{queue: cfg.Queue, identity: cfg.Identity, name: cfg.Name, lease: cfg.Lease, log: cfg.Log, now: cfg.Now}, nil
}

// Pending is an outbox entry this gateway can open. It is the channels'
// type, so that channels reach the outbox through channels.Outbox.
type Pending = channels.OutboxPending

// ReplyState is what the console sees of a Telegram or SMS reply once it
// has left the outbox.
type ReplyState string

// States a delivered or expired reply is recorded with.
const (
	Delivered ReplyState = "delivered"
	Expired   ReplyState = "expired"
)

// StateKey is the record under which a reply's end is recorded.
func StateKey(replyID string) string { return "outbox-state/" + replyID }

func claimKey(queueID string) string { return "outbox-claim/" + queueID }

// outboxPage is how many entries Scan reads at a time.
const outboxPage = 200

// Scan returns every entry sealed to this gateway, oldest first, and
// deletes those past their expiry (recording them as expired). Entries
// sealed to other gateways are left alone.
func (o *Outbox) Scan(ctx context.Context) ([]Pending, error) {
	var out []Pending
	after := ""
	for {
		msgs, err := o.queue.List(ctx, queue.StreamOutbox, after, outboxPage)
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		for _, m := range msgs {
			e, err := crypto.OpenOutbox(m.Body, o.identity)
			if err != nil {
				if !crypto.IsNotRecipient(err) {
					o.log.Warn("outbox entry that does not open skipped", "err", err)
				}
				continue
			}
			if !o.now().Before(e.Expires) {
				o.finish(ctx, m.ID, e.ID, Expired)
				continue
			}
			if _, _, err := o.queue.GetRecord(ctx, StateKey(e.ID)); err == nil {
				// Cancelled by a key-holder (the kill switch), or
				// finished by a gateway that died before deleting it.
				o.finish(ctx, m.ID, e.ID, "")
				continue
			}
			out = append(out, Pending{QueueID: m.ID, Entry: *e})
		}
		if len(msgs) < outboxPage {
			return out, nil
		}
		after = msgs[len(msgs)-1].ID
	}
}

// For returns the entries waiting for one source: a channel and address.
func (o *Outbox) For(ctx context.Context, channel, address string) ([]Pending, error) {
	all, err := o.Scan(ctx)
	if err != nil {
		return nil, err
	}
	var out []Pending
	for _, p := range all {
		if p.Entry.Channel == channel && p.Entry.Address == address {
			out = append(out, p)
		}
	}
	return out, nil
}

// ErrClaimed means another gateway is delivering the entry, or already has.
var ErrClaimed = channels.ErrOutboxClaimed

// Deliver claims p, calls send, and on success records the reply as
// delivered and deletes the entry. It returns ErrClaimed when another
// gateway holds or finished it. If send fails, the claim is released so
// that a later try (by any gateway) can deliver.
func (o *Outbox) Deliver(ctx context.Context, p Pending, send func(context.Context, crypto.OutboxEntry) error) error {
	if err := o.claim(ctx, p); err != nil {
		return err
	}
	if err := send(ctx, p.Entry); err != nil {
		o.release(context.WithoutCancel(ctx), p.QueueID)
		return fmt.Errorf("outbox: deliver: %w", err)
	}
	return o.finish(context.WithoutCancel(ctx), p.QueueID, p.Entry.ID, Delivered)
}

// claim takes p's lease with compare-and-set: a fresh claim at version 0,
// or one whose lease ran out at the version it was read.
func (o *Outbox) claim(ctx context.Context, p Pending) error {
	if _, _, err := o.queue.GetRecord(ctx, StateKey(p.Entry.ID)); err == nil {
		return ErrClaimed
	} else if !errors.Is(err, queue.ErrNotFound) {
		return fmt.Errorf("outbox: %w", err)
	}
	if _, err := o.queue.Get(ctx, queue.StreamOutbox, p.QueueID); errors.Is(err, queue.ErrNotFound) {
		return ErrClaimed
	}
	lease := []byte(o.name + " " + strconv.FormatInt(o.now().Add(o.lease).Unix(), 10))
	val, ver, err := o.queue.GetRecord(ctx, claimKey(p.QueueID))
	switch {
	case errors.Is(err, queue.ErrNotFound):
		ver = 0
	case err != nil:
		return fmt.Errorf("outbox: %w", err)
	default:
		if until, ok := leaseEnd(val); ok && o.now().Before(until) {
			return ErrClaimed
		}
	}
	if _, err := o.queue.PutRecord(ctx, claimKey(p.QueueID), lease, ver); errors.Is(err, queue.ErrConflict) {
		return ErrClaimed
	} else if err != nil {
		return fmt.Errorf("outbox: claim: %w", err)
	}
	return nil
}

func leaseEnd(val []byte) (time.Time, bool) {
	_, unix, ok := strings.Cut(string(val), " ")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

func (o *Outbox) release(ctx context.Context, queueID string) {
	if err := o.queue.DeleteRecord(ctx, claimKey(queueID)); err != nil {
		o.log.Error("outbox: release claim", "err", err)
	}
}

// finish records how the reply ended (unless state is empty: it is
// recorded already), deletes the entry for good, then the claim. The state
// is written first: an entry that is gone was finished.
func (o *Outbox) finish(ctx context.Context, queueID, replyID string, state ReplyState) error {
	if state != "" {
		if _, err := o.queue.PutRecord(ctx, StateKey(replyID), []byte(state), 0); err != nil && !errors.Is(err, queue.ErrConflict) {
			return fmt.Errorf("outbox: record %s: %w", state, err)
		}
	}
	if err := o.queue.Delete(ctx, queue.StreamOutbox, queueID); err != nil {
		return fmt.Errorf("outbox: delete entry: %w", err)
	}
	if err := o.queue.DeleteRecord(ctx, claimKey(queueID)); err != nil {
		return fmt.Errorf("outbox: delete claim: %w", err)
	}
	return nil
}

// Refuse claims p and ends it without delivering it, recording state (a
// short reason that begins "refused: ", shown to key-holders as the
// reply's state), and deletes the entry. A channel refuses an entry that
// its deployment does not allow, such as an SMS reply while SMS replies
// are off. It returns ErrClaimed like Deliver.
func (o *Outbox) Refuse(ctx context.Context, p Pending, state ReplyState) error {
	if err := o.claim(ctx, p); err != nil {
		return err
	}
	return o.finish(context.WithoutCancel(ctx), p.QueueID, p.Entry.ID, state)
}

var _ channels.Outbox = (*Outbox)(nil)
