package sms

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/queue"
)

// Providers resend a message they got no 2xx for (Vonage for 24 hours), so
// each is queued once per provider message id. What the queue keeps for
// that is only keyed hashes with an expiry (Queue.Remember), never the id:
//
//   - done(key), set for DedupeTTL once the tip is durable: a retry that
//     finds it is answered as a success and queued nothing.
//   - lease(key, gen), set for a short time when an attempt starts: a
//     second delivery that arrives while the first is still at work is
//     told to retry later (503) rather than queued twice. If the gateway
//     dies mid-attempt the lease runs out, and the provider's retry is
//     processed: a message is never taken for a duplicate of one that
//     never became durable.
//   - gen, the generation, moves on when an attempt fails (a record under
//     the key's hash, written only then), so that the provider's
//     immediate retry is processed without waiting for the lease.
//
// Checking done(key) uses Remember with a one-millisecond expiry: when
// the key is absent, the probe's own key is gone a millisecond later. A
// probe that finds the key tries again after it would have expired, so
// that another request's probe is not taken for the mark; finish waits
// out probes before marking the message done.

// errDuplicate is returned by begin for a retry of a message already
// queued.
var errDuplicate = errors.New("message already queued")

// errInFlight is returned by begin while another attempt at the same
// message holds its lease.
var errInFlight = errors.New("message being processed")

const probeTTL = time.Millisecond

type attempt struct {
	provider string
	key      string // keyed hash of provider and message id
	gen      int64
}

// leaseFor is how long an attempt at m may take: the base lease plus the
// time its media may take to fetch.
func (c *Channel) leaseFor(m *message) time.Duration {
	return c.lease + time.Duration(len(m.media))*c.cfg.TwilioMediaTimeout
}

// begin starts an attempt at a provider's message.
func (c *Channel) begin(ctx context.Context, provider, id string, lease time.Duration) (*attempt, error) {
	a := &attempt{provider: provider, key: c.deps.Hasher.Sum("sms-message", provider, id)}
	q := c.deps.Queue
	v, _, err := q.GetRecord(ctx, retryRecord(a.key))
	switch {
	case err == nil:
		a.gen, _ = strconv.ParseInt(string(v), 10, 64)
	case !errors.Is(err, queue.ErrNotFound):
		return nil, fmt.Errorf("idempotency: %w: %v", channels.ErrUnavailable, err)
	}
	// A probe that finds the key may have found another request's
	// probe, not the done mark: only a key that outlives a few probes is
	// the mark.
	fresh := false
	for i := 0; i < 3 && !fresh; i++ {
		if i > 0 {
			time.Sleep(2 * probeTTL)
		}
		if fresh, err = q.Remember(ctx, c.doneKey(a), probeTTL); err != nil {
			return nil, fmt.Errorf("idempotency: %w: %v", channels.ErrUnavailable, err)
		}
	}
	if !fresh {
		return nil, errDuplicate
	}
	free, err := q.Remember(ctx, c.leaseKey(a), lease)
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w: %v", channels.ErrUnavailable, err)
	}
	if !free {
		return nil, errInFlight
	}
	return a, nil
}

// finish marks an attempt's message as queued.
func (c *Channel) finish(ctx context.Context, a *attempt) {
	for range 20 {
		first, err := c.deps.Queue.Remember(ctx, c.doneKey(a), c.cfg.DedupeTTL)
		if err != nil {
			c.log.Error("could not mark a queued message as done; a retry may queue it again", "provider", a.provider, "err", err)
			return
		}
		if first {
			return
		}
		// Our own probe (or a concurrent retry's) still holds the key
		// for at most probeTTL.
		time.Sleep(2 * probeTTL)
	}
	c.log.Warn("could not mark a queued message as done; a retry may queue it again", "provider", a.provider)
}

// abort moves a message whose attempt failed to its next generation, so
// that the provider's retry is processed at once.
func (c *Channel) abort(ctx context.Context, a *attempt) {
	q := c.deps.Queue
	for range 3 {
		_, ver, err := q.GetRecord(ctx, retryRecord(a.key))
		if errors.Is(err, queue.ErrNotFound) {
			ver, err = 0, nil
		}
		if err == nil {
			_, err = q.PutRecord(ctx, retryRecord(a.key), []byte(strconv.FormatInt(a.gen+1, 10)), ver)
		}
		if errors.Is(err, queue.ErrConflict) {
			continue
		}
		if err != nil {
			c.log.Error("could not release a failed message for its retry", "provider", a.provider, "err", err)
		}
		return
	}
}

func (c *Channel) doneKey(a *attempt) string { return c.deps.Hasher.Sum("sms-done", a.key) }

func (c *Channel) leaseKey(a *attempt) string {
	return c.deps.Hasher.Sum("sms-lease", a.key, strconv.FormatInt(a.gen, 10))
}

func retryRecord(key string) string { return "sms/retry/" + key }
