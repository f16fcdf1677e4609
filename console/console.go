package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// Console reads and opens tips for one key-holder.
type Console struct {
	queue      queue.Queue
	identities []age.Identity
	trust      crypto.Trust
}

// New returns a Console reading q with identities.
func New(q queue.Queue, identities ...age.Identity) *Console {
	return &Console{queue: q, identities: identities}
}

// TrustGateways makes the console check every tip's signature against keys,
// the public keys of the gateways the key-holder runs (from `flare gateway
// signing-key`), and returns it. Never pass a key read from the queue:
// whoever can write to the queue could replace it. Without keys every tip
// is Unverified.
func (c *Console) TrustGateways(keys ...crypto.GatewayKey) *Console {
	c.trust = crypto.NewTrust(keys...)
	return c
}

// Trust returns the gateway keys the console checks signatures against.
func (c *Console) Trust() crypto.Trust { return c.trust }

// Queue returns the queue the console reads.
func (c *Console) Queue() queue.Queue { return c.queue }

// Identities returns the key-holder's identities.
func (c *Console) Identities() []age.Identity { return c.identities }

// Entry is one sealed tip from the queue, opened if the identities could.
type Entry struct {
	QueueID  string
	Enqueued time.Time
	// Sealed is the age message as stored.
	Sealed []byte
	// Tip is the opened tip, or nil when Err is set.
	Tip *crypto.Tip
	// Err says why the tip could not be opened; errors.Is(Err,
	// ErrNotRecipient) when the identities are not among its recipients.
	Err error
	// Authenticity says whether a trusted gateway signed the tip. A
	// Forged entry must never be linked to others or offered replies.
	Authenticity crypto.Authenticity
}

// Forged reports whether the entry's tip failed the gateway signature check.
func (e Entry) Forged() bool { return e.Authenticity == crypto.Forged }

// ErrNotRecipient means a tip was not sealed to any of the console's
// identities.
var ErrNotRecipient = errors.New("this identity is not one of the tip's recipients")

// ErrNoSuchTip is returned by Find for an id that matches no tip.
var ErrNoSuchTip = errors.New("no such tip")

// listPage is how many messages List fetches from the queue at a time.
const listPage = 500

// List returns every tip in the queue, oldest first, each opened if
// possible.
func (c *Console) List(ctx context.Context) ([]Entry, error) {
	return c.ListAfter(ctx, "")
}

// ListAfter is List for the tips enqueued after the queue id after ("" for
// all), so that a long-running console opens each tip only once.
func (c *Console) ListAfter(ctx context.Context, after string) ([]Entry, error) {
	var out []Entry
	for {
		msgs, err := c.queue.List(ctx, queue.StreamTips, after, listPage)
		if err != nil {
			return nil, fmt.Errorf("list tips: %w", err)
		}
		for _, m := range msgs {
			out = append(out, c.open(m))
		}
		if len(msgs) < listPage {
			return out, nil
		}
		after = msgs[len(msgs)-1].ID
	}
}

func (c *Console) open(m queue.Message) Entry {
	e := Entry{QueueID: m.ID, Enqueued: m.Enqueued, Sealed: m.Body}
	t, sig, err := crypto.OpenSignedTip(m.Body, c.identities...)
	switch {
	case err == nil:
		e.Tip = t
		e.Authenticity = c.trust.Check(sig)
	case crypto.IsNotRecipient(err):
		e.Err = fmt.Errorf("%w: %v", ErrNotRecipient, err)
	default:
		e.Err = err
	}
	return e
}

// Find returns the tip whose queue id, tip id or receipt code is id. Tip ids
// may be shortened to a unique prefix of at least 6 characters.
func (c *Console) Find(ctx context.Context, id string) (Entry, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return Entry{}, fmt.Errorf("%w: empty id", ErrNoSuchTip)
	}
	if m, err := c.queue.Get(ctx, queue.StreamTips, id); err == nil {
		return c.open(m), nil
	} else if !errors.Is(err, queue.ErrNotFound) && !errors.Is(err, queue.ErrInvalidID) {
		return Entry{}, fmt.Errorf("find tip: %w", err)
	}
	entries, err := c.List(ctx)
	if err != nil {
		return Entry{}, err
	}
	var matches []Entry
	for _, e := range entries {
		if e.Tip == nil {
			continue
		}
		if e.Tip.ID == id || strings.EqualFold(e.Tip.Receipt, id) || (len(id) >= 6 && strings.HasPrefix(e.Tip.ID, id)) {
			matches = append(matches, e)
		}
	}
	switch len(matches) {
	case 0:
		return Entry{}, fmt.Errorf("%w: %s", ErrNoSuchTip, id)
	case 1:
		return matches[0], nil
	default:
		return Entry{}, fmt.Errorf("%w: %s is ambiguous (%d tips)", ErrNoSuchTip, id, len(matches))
	}
}

// Attachment returns the decrypted contents of a tip's attachment, read
// chunk by chunk from the queue and checked against its SHA-256 at the end.
func (c *Console) Attachment(ctx context.Context, ref crypto.AttachmentRef) (io.Reader, error) {
	r, err := crypto.OpenAttachment(ctx, c.queue, ref, c.identities...)
	if err != nil {
		return nil, fmt.Errorf("attachment %s: %w", ref.ID, err)
	}
	return r, nil
}

// SealedAttachment returns an attachment's sealed age stream as stored.
func (c *Console) SealedAttachment(ctx context.Context, ref crypto.AttachmentRef) io.Reader {
	return crypto.SealedAttachmentReader(ctx, c.queue, ref)
}
