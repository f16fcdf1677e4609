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
	return "unknown", nil
}

// StopContact turns the case's kill switch on: every reply not yet read is
// withdrawn, and no new one can be sent. It cannot be turned off.
func (r *Replies) StopContact(ctx context.Context, caseKey, by string) (Book, error) {
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
		if s.Cancelled || s.Channel != "web" {
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
			if b.Replies[i].Channel == "web" {
				st, err := inbox.StateOf(ctx, r.records, b.Replies[i].Inbox, b.Replies[i].ID)
				if err == nil && st == inbox.Gone {
					b.Replies[i].Cancelled = true
				}
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
