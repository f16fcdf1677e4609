package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels/inbox"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// Replies are what key-holders write back to sources, and each case's
// reply-safety policy. The console keeps, per case, a book of the replies
// sent and whether the source may be contacted at all, sealed to every
// key-holder like triage state; the replies themselves travel sealed to the
// source (web and onion inboxes) or to the gateways that deliver them.
type Replies struct {
	records    queue.Records
	sealer     *crypto.Sealer
	identities []age.Identity
	now        func() time.Time
}

// NewReplies returns Replies on records, sealing the book with sealer (to
// every key-holder) and opening it with identities.
func NewReplies(records queue.Records, sealer *crypto.Sealer, identities []age.Identity) *Replies {
	return &Replies{records: records, sealer: sealer, identities: identities, now: time.Now}
}

// SentReply is one reply in a case's book.
type SentReply struct {
	ID      string `json:"id"`
	Channel string `json:"channel"` // "web" for web and onion inboxes
	Text    string `json:"text"`
	Lang    string `json:"lang,omitempty"`
	By      string `json:"by"`
	// Written is when it was written, to the hour.
	Written time.Time `json:"written"`
	// Inbox is the source's inbox recipient, for web replies.
	Inbox string `json:"inbox,omitempty"`
	// Cancelled is set when a key-holder took the reply back, or the
	// case's kill switch did, before the source read it.
	Cancelled bool `json:"cancelled,omitempty"`
	// QueueID is the outbox entry of a Telegram, SMS or WhatsApp reply.
	QueueID string `json:"queue_id,omitempty"`
	// When is the outbox entry's delivery time: "checkin" or "now".
	When string `json:"when,omitempty"`
	// Template names the deployment's reviewed text an SMS reply uses.
	Template string `json:"template,omitempty"`
	// ApprovedBy is the second key-holder who approved an SMS reply;
	// until then it waits in the book only, never in the outbox.
	ApprovedBy string `json:"approved_by,omitempty"`
}

// Book is a case's replies and its reply-safety policy.
type Book struct {
	Replies []SentReply `json:"replies,omitempty"`
	// NoContact is the case's kill switch: "never contact this source
	// again". It cancelled every pending reply and blocks new ones.
	NoContact   bool   `json:"no_contact,omitempty"`
	NoContactBy string `json:"no_contact_by,omitempty"`
}

// Errors a reply can be refused with.
var (
	ErrNoContact     = errors.New("this case's kill switch is on: the source must not be contacted")
	ErrNoInbox       = errors.New("this source has no inbox to reply to")
	ErrForgedNoReply = errors.New("this tip is forged: replies are never offered to it")
	ErrReplyChannel  = errors.New("replies on this channel are not available")
)

func bookKey(caseKey string) string { return "replies/" + caseKey }

// Book returns the case's book and its version (0 if there is none yet).
func (r *Replies) Book(ctx context.Context, caseKey string) (Book, int64, error) {
	val, ver, err := r.records.GetRecord(ctx, bookKey(caseKey))
	if errors.Is(err, queue.ErrNotFound) {
		return Book{}, 0, nil
	}
	if err != nil {
		return Book{}, 0, fmt.Errorf("reply book: %w", err)
	}
	plain, err := crypto.OpenBytes(val, r.identities...)
	if err != nil {
		return Book{}, 0, fmt.Errorf("reply book: %w", err)
	}
	var b Book
	if err := json.Unmarshal(plain, &b); err != nil {
		return Book{}, 0, fmt.Errorf("reply book: %w", err)
	}
	return b, ver, nil
}

// update applies change to the case's book, retrying on a concurrent edit.
func (r *Replies) update(ctx context.Context, caseKey string, change func(*Book) error) (Book, error) {
	for range 5 {
		b, ver, err := r.Book(ctx, caseKey)
		if err != nil {
			return Book{}, err
		}
		if err := change(&b); err != nil {
			return Book{}, err
		}
		plain, err := json.Marshal(b)
		if err != nil {
			return Book{}, fmt.Errorf("reply book: %w", err)
		}
		sealed, err := r.sealer.SealBytes(plain)
		if err != nil {
			return Book{}, fmt.Errorf("reply book: %w", err)
		}
		_, err = r.records.PutRecord(ctx, bookKey(caseKey), sealed, ver)
		if errors.Is(err, queue.ErrConflict) {
			continue
		}
		if err != nil {
			return Book{}, fmt.Errorf("reply book: %w", err)
		}
		return b, nil
	}
	return Book{}, fmt.Errorf("reply book: %w", queue.ErrConflict)
}

// SendWeb stores a reply for the source of item's web or onion tip, readable
// with their inbox code, and records it in the case's book.
func (r *Replies) SendWeb(ctx context.Context, item *Item, text, lang, by string) (SentReply, error) {
	if item.Tip == nil {
		return SentReply{}, fmt.Errorf("reply: %w", ErrNoInbox)
	}
	if item.Forged() {
		return SentReply{}, fmt.Errorf("reply: %w", ErrForgedNoReply)
	}
	if item.Tip.Inbox == "" {
		return SentReply{}, fmt.Errorf("reply: %w", ErrNoInbox)
	}
	text = strings.TrimSpace(text)
	sent := SentReply{ID: inbox.NewReplyID(), Channel: "web", Text: text, Lang: lang, By: by, Written: crypto.CoarsenHour(r.now()), Inbox: item.Tip.Inbox}
	// The kill switch is checked, and the reply entered in the book,
	// before the reply is stored for the source: a reply is never
	// readable without the book knowing of it.
	if _, err := r.update(ctx, item.Key, func(b *Book) error {
		if b.NoContact {
			return ErrNoContact
		}
		b.Replies = append(b.Replies, sent)
		return nil
	}); err != nil {
		return SentReply{}, fmt.Errorf("reply: %w", err)
	}
	reply := crypto.Reply{ID: sent.ID, Text: text, Lang: lang, Written: sent.Written}
	if _, err := inbox.Post(ctx, r.records, item.Tip.Inbox, r.sealer.Recipients(), reply); err != nil {
		r.update(context.WithoutCancel(ctx), item.Key, func(b *Book) error {
			for i := range b.Replies {
				if b.Replies[i].ID == sent.ID {
					b.Replies[i].Cancelled = true
				}
			}
			return nil
		})
		return SentReply{}, fmt.Errorf("reply: %w", err)
	}
	return sent, nil
}

// ReplyState is where a reply stands: "waiting", "read", "cancelled" or
// "gone".
func (r *Replies) ReplyState(ctx context.Context, s SentReply) (string, error) {
	if s.Cancelled {
		return "cancelled", nil
	}
	switch s.Channel {
	case "web":
		st, err := inbox.StateOf(ctx, r.records, s.Inbox, s.ID)
		if err != nil {
			return "", err
		}
		return string(st), nil
	}
	if s.QueueID == "" {
		return "awaiting approval", nil
	}
	val, _, err := r.records.GetRecord(ctx, outboxStateKey(s.ID))
	if err == nil {
		return string(val), nil
	}
	if !errors.Is(err, queue.ErrNotFound) {
		return "", fmt.Errorf("reply state: %w", err)
	}
	if s.When == crypto.DeliverAtCheckIn {
		return "waiting for check-in", nil
	}
	return "waiting", nil
}

// outboxStateKey is where gateways record how an outbox reply ended; it
// matches gateway.StateKey.
func outboxStateKey(replyID string) string { return "outbox-state/" + replyID }

// Outbox is a queue that takes outbox entries: Telegram, SMS and WhatsApp
// replies, sealed to the gateways that deliver them.
type Outbox interface {
	Enqueue(ctx context.Context, stream string, body []byte) (string, error)
	Delete(ctx context.Context, stream string, ids ...string) error
}

// SendOutbox seals e to the gateways' outbound recipients (the ones the
// key-holder configured, never keys read from the queue) and puts it in the
// outbox, after entering it in the case's book.
func (r *Replies) SendOutbox(ctx context.Context, q Outbox, item *Item, gateways []age.Recipient, e crypto.OutboxEntry, by string) (SentReply, error) {
	if err := replyable(item, gateways); err != nil {
		return SentReply{}, err
	}
	if e.ID == "" {
		e.ID = inbox.NewReplyID()
	}
	e.Case = item.Key
	if err := e.Validate(); err != nil {
		return SentReply{}, fmt.Errorf("reply: %w", err)
	}
	sent := SentReply{ID: e.ID, Channel: e.Channel, Text: e.Text, Lang: e.Lang, By: by, Written: crypto.CoarsenHour(r.now()), When: e.When, Template: e.Template}
	if _, err := r.update(ctx, item.Key, func(b *Book) error {
		if b.NoContact {
			return ErrNoContact
		}
		b.Replies = append(b.Replies, sent)
		return nil
	}); err != nil {
		return SentReply{}, fmt.Errorf("reply: %w", err)
	}
	return r.enqueue(ctx, q, item.Key, gateways, e, sent)
}

func replyable(item *Item, gateways []age.Recipient) error {
	switch {
	case item.Tip == nil:
		return fmt.Errorf("reply: %w", ErrReplyChannel)
	case item.Forged():
		return fmt.Errorf("reply: %w", ErrForgedNoReply)
	case len(gateways) == 0:
		return fmt.Errorf("reply: no gateway recipient: give the gateways' outbound recipients (--gateway-recipient)")
	}
	return nil
}

// enqueue seals e and puts it in the outbox, noting its queue id in the
// book, or marking the book's entry cancelled if it could not.
func (r *Replies) enqueue(ctx context.Context, q Outbox, caseKey string, gateways []age.Recipient, e crypto.OutboxEntry, sent SentReply) (SentReply, error) {
	sealed, err := crypto.SealOutbox(&e, gateways...)
	if err == nil {
		sent.QueueID, err = q.Enqueue(ctx, queue.StreamOutbox, sealed)
	}
	if err != nil {
		r.mark(context.WithoutCancel(ctx), caseKey, e.ID, func(s *SentReply) { s.Cancelled = true })
		return SentReply{}, fmt.Errorf("reply: %w", err)
	}
	if _, err := r.mark(ctx, caseKey, e.ID, func(s *SentReply) { s.QueueID = sent.QueueID }); err != nil {
		return SentReply{}, err
	}
	return sent, nil
}

// ErrSameApprover means the key-holder who proposed an SMS reply tried to
// approve it too: a second key-holder must.
var ErrSameApprover = errors.New("a second key-holder must approve this reply")

// ProposeSMS enters an SMS or WhatsApp reply in the case's book, waiting for
// a second key-holder's approval; nothing reaches the outbox yet. text is
// the template's text in lang, as the deployment reviewed it.
func (r *Replies) ProposeSMS(ctx context.Context, item *Item, channel, template, lang, text, by string) (SentReply, error) {
	if item.Tip == nil {
		return SentReply{}, fmt.Errorf("reply: %w", ErrReplyChannel)
	}
	if item.Forged() {
		return SentReply{}, fmt.Errorf("reply: %w", ErrForgedNoReply)
	}
	if err := r.checkSMS(item, channel, template); err != nil {
		return SentReply{}, fmt.Errorf("reply: %w", err)
	}
	sent := SentReply{ID: inbox.NewReplyID(), Channel: channel, Text: text, Lang: lang, Template: template, By: by, Written: crypto.CoarsenHour(r.now()), When: crypto.DeliverNow}
	if _, err := r.update(ctx, item.Key, func(b *Book) error {
		if b.NoContact {
			return ErrNoContact
		}
		b.Replies = append(b.Replies, sent)
		return nil
	}); err != nil {
		return SentReply{}, fmt.Errorf("reply: %w", err)
	}
	return sent, nil
}

// ApproveSMS is a second key-holder's approval of a proposed SMS reply: it
// seals the reply with address to the gateways and puts it in the outbox.
func (r *Replies) ApproveSMS(ctx context.Context, q Outbox, item *Item, gateways []age.Recipient, replyID, address string, expires time.Time, by string) (SentReply, error) {
	if err := replyable(item, gateways); err != nil {
		return SentReply{}, err
	}
	var sent SentReply
	if _, err := r.update(ctx, item.Key, func(b *Book) error {
		if b.NoContact {
			return ErrNoContact
		}
		for i := range b.Replies {
			s := &b.Replies[i]
			if s.ID != replyID {
				continue
			}
			switch {
			case s.Cancelled:
				return errors.New("this reply was cancelled")
			case s.ApprovedBy != "":
				return errors.New("this reply was approved already")
			case s.By == by:
				return ErrSameApprover
			}
			if err := r.checkSMS(item, s.Channel, s.Template); err != nil {
				return err
			}
			s.ApprovedBy = by
			sent = *s
			return nil
		}
		return fmt.Errorf("no reply %s in this case", replyID)
	}); err != nil {
		return SentReply{}, fmt.Errorf("approve: %w", err)
	}
	if ex := smsExpiry(item, sent.Channel, r.now()); expires.IsZero() || ex.Before(expires) {
		expires = ex
	}
	e := crypto.OutboxEntry{ID: sent.ID, Channel: sent.Channel, Address: address, Text: sent.Text, Template: sent.Template, Lang: sent.Lang, When: crypto.DeliverNow, Expires: expires, Case: item.Key}
	return r.enqueue(ctx, q, item.Key, gateways, e, sent)
}

// mark changes the book's entry for reply id.
func (r *Replies) mark(ctx context.Context, caseKey, id string, change func(*SentReply)) (Book, error) {
	return r.update(ctx, caseKey, func(b *Book) error {
		for i := range b.Replies {
			if b.Replies[i].ID == id {
				change(&b.Replies[i])
			}
		}
		return nil
	})
}

// StopContact turns the case's kill switch on: every reply not yet read is
// withdrawn, and no new one can be sent. It cannot be turned off.
func (r *Replies) StopContact(ctx context.Context, caseKey, by string) (Book, error) {
	return r.StopContactOutbox(ctx, nil, caseKey, by)
}

// StopContactOutbox is StopContact that also deletes the case's pending
// Telegram, SMS and WhatsApp replies from the outbox q.
func (r *Replies) StopContactOutbox(ctx context.Context, q Outbox, caseKey, by string) (Book, error) {
	b, err := r.update(ctx, caseKey, func(b *Book) error {
		b.NoContact = true
		if b.NoContactBy == "" {
			b.NoContactBy = by
		}
		return nil
	})
	if err != nil {
		return Book{}, fmt.Errorf("stop contact: %w", err)
	}
	var errs []error
	for _, s := range b.Replies {
		if s.Cancelled {
			continue
		}
		if s.Channel != "web" {
			if err := r.cancelOutbox(ctx, q, s); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		st, err := inbox.StateOf(ctx, r.records, s.Inbox, s.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st == inbox.Waiting {
			if err := inbox.Withdraw(ctx, r.records, s.Inbox, s.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	b, err = r.update(ctx, caseKey, func(b *Book) error {
		for i := range b.Replies {
			s := &b.Replies[i]
			if s.Channel == "web" {
				st, err := inbox.StateOf(ctx, r.records, s.Inbox, s.ID)
				if err == nil && st == inbox.Gone {
					s.Cancelled = true
				}
				continue
			}
			if v, _, err := r.records.GetRecord(ctx, outboxStateKey(s.ID)); s.QueueID == "" || (err == nil && string(v) == "cancelled") {
				s.Cancelled = true
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return b, fmt.Errorf("stop contact: %w", err)
	}
	return b, nil
}

// cancelOutbox records an outbox reply that has not been delivered as
// cancelled: no gateway claims it from then on, and the next gateway to
// scan the outbox deletes it. A console may write records but not delete
// outbox entries (see the Redis ACLs in ops/redis.conf); when it can (q is
// not nil and allows it), it deletes the entry at once too.
func (r *Replies) cancelOutbox(ctx context.Context, q Outbox, s SentReply) error {
	if s.QueueID == "" {
		return nil // never left the book
	}
	if _, err := r.records.PutRecord(ctx, outboxStateKey(s.ID), []byte("cancelled"), 0); errors.Is(err, queue.ErrConflict) {
		return nil // delivered or expired already
	} else if err != nil {
		return fmt.Errorf("cancel reply: %w", err)
	}
	if q != nil {
		// Best effort: the cancelled record already stops delivery.
		q.Delete(ctx, queue.StreamOutbox, s.QueueID)
	}
	return nil
}
