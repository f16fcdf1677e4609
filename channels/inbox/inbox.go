// Package inbox keeps the replies that key-holders write to web and onion
// sources, and opens them for a source who types their inbox code.
//
// A source gets an inbox code with their receipt (crypto.NewInboxCode). The
// tip carries the code's recipient inside its seal; the console seals each
// reply to that recipient and to the key-holders and stores it with Post.
// When the source comes back and types the code, the gateway derives the
// identity in memory (Box.Open), shows what opens, and forgets it. "I have
// read this" deletes the reply for good (Box.Delete) and leaves a marker
// that tells the key-holders it was read. A wrong code looks exactly like a
// code with no replies, and tries are rate-limited.
//
// What is stored outside age ciphertext: under "reply/<inbox id>/<reply
// id>" the sealed reply, where the inbox id is a hash of the inbox
// recipient; and "reply-read/<reply id>" once it is read. Neither says
// anything about the source, the tip or when it was read.
package inbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"golang.org/x/time/rate"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// ErrTooManyTries is returned when a source (or everyone together) tried
// too many codes recently. It says nothing about whether the code was right.
var ErrTooManyTries = errors.New("too many tries; wait a while")

// ErrNoSuchReply is returned by Delete for a reply that is not in the
// inbox (already deleted, or a wrong code).
var ErrNoSuchReply = errors.New("no such reply")

// Config bounds a Box.
type Config struct {
	// PerClassEvery and PerClassBurst rate-limit the tries from one
	// address class (an IPv4 /24, an IPv6 /48, "onion" for everyone
	// through tor).
	PerClassEvery time.Duration
	PerClassBurst int
	// GlobalEvery and GlobalBurst rate-limit all tries together.
	GlobalEvery time.Duration
	GlobalBurst int
	// MaxDerivations bounds identity derivations at once: each takes
	// crypto.InboxArgonMemoryBytes of memory.
	MaxDerivations int
	// MaxClasses bounds how many address classes are remembered.
	MaxClasses int
}

// DefaultConfig allows a source a try every 20 seconds after five quick
// ones, everyone together ten a second, and four derivations at once.
var DefaultConfig = Config{
	PerClassEvery:  20 * time.Second,
	PerClassBurst:  5,
	GlobalEvery:    100 * time.Millisecond,
	GlobalBurst:    50,
	MaxDerivations: 4,
	MaxClasses:     10000,
}

// Box opens and deletes replies for sources. It is safe for concurrent use.
type Box struct {
	records queue.Records
	cfg     Config
	derive  chan struct{}
	global  *rate.Limiter

	mu      sync.Mutex
	classes map[[16]byte]*rate.Limiter
}

// New returns a Box on records.
func New(records queue.Records, cfg Config) *Box {
	if cfg.MaxDerivations <= 0 {
		cfg.MaxDerivations = 1
	}
	if cfg.MaxClasses <= 0 {
		cfg.MaxClasses = DefaultConfig.MaxClasses
	}
	return &Box{
		records: records,
		cfg:     cfg,
		derive:  make(chan struct{}, cfg.MaxDerivations),
		global:  rate.NewLimiter(rate.Every(cfg.GlobalEvery), cfg.GlobalBurst),
		classes: map[[16]byte]*rate.Limiter{},
	}
}

// NewCode makes an inbox code for a new tip and returns it with the
// recipient the tip must carry.
func (b *Box) NewCode(ctx context.Context) (crypto.InboxCode, string, error) {
	code, err := crypto.NewInboxCode()
	if err != nil {
		return crypto.InboxCode{}, "", err
	}
	id, err := b.identity(ctx, code)
	if err != nil {
		return crypto.InboxCode{}, "", err
	}
	return code, id.Recipient().String(), nil
}

// identity derives code's identity, waiting for a derivation slot.
func (b *Box) identity(ctx context.Context, code crypto.InboxCode) (*age.X25519Identity, error) {
	select {
	case b.derive <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("inbox: %w", ctx.Err())
	}
	defer func() { <-b.derive }()
	return code.Identity()
}

// allow takes a try from class's budget and the global one.
func (b *Box) allow(class string) bool {
	key := sha256.Sum256([]byte("flare inbox class\x00" + class))
	var k [16]byte
	copy(k[:], key[:])
	b.mu.Lock()
	l, ok := b.classes[k]
	if !ok {
		if len(b.classes) >= b.cfg.MaxClasses {
			// Forgetting every class at once lets no one in sooner
			// than the global limit does, and keeps memory bounded.
			clear(b.classes)
		}
		l = rate.NewLimiter(rate.Every(b.cfg.PerClassEvery), b.cfg.PerClassBurst)
		b.classes[k] = l
	}
	b.mu.Unlock()
	return l.Allow() && b.global.Allow()
}

// Recipient derives code's recipient for a tip the source writes from the
// inbox, so that it joins the same case. It counts as a try, like Open.
func (b *Box) Recipient(ctx context.Context, class string, code crypto.InboxCode) (string, error) {
	if !b.allow(class) {
		return "", ErrTooManyTries
	}
	id, err := b.identity(ctx, code)
	if err != nil {
		return "", err
	}
	return id.Recipient().String(), nil
}

// Opened is an inbox as its source sees it.
type Opened struct {
	// Recipient is the inbox's recipient: an answer the source writes
	// from the inbox carries it, so that it joins the same case.
	Recipient string
	// Replies are the replies waiting, oldest first.
	Replies []crypto.Reply
}

// Open derives code's identity and returns the replies that open with it.
// A wrong code gives an empty inbox, exactly as a right one with nothing
// waiting. class names where the try came from, for rate limits; it is
// kept in memory only, hashed.
func (b *Box) Open(ctx context.Context, class string, code crypto.InboxCode) (*Opened, error) {
	if !b.allow(class) {
		return nil, ErrTooManyTries
	}
	id, err := b.identity(ctx, code)
	if err != nil {
		return nil, err
	}
	rcpt := id.Recipient().String()
	prefix := replyPrefix(rcpt)
	keys, err := b.records.ListRecords(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("inbox: list replies: %w", err)
	}
	out := &Opened{Recipient: rcpt}
	for _, k := range keys {
		sealed, _, err := b.records.GetRecord(ctx, k)
		if errors.Is(err, queue.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("inbox: get reply: %w", err)
		}
		if string(sealed) == withdrawn {
			if err := b.records.DeleteRecord(ctx, k); err != nil {
				return nil, fmt.Errorf("inbox: delete withdrawn reply: %w", err)
			}
			continue
		}
		r, err := crypto.OpenReply(sealed, id)
		if err != nil || r.ID != strings.TrimPrefix(k, prefix) {
			// Not sealed to this inbox, or moved from another key:
			// someone who can write to the store put it there.
			continue
		}
		out.Replies = append(out.Replies, *r)
	}
	slices.SortStableFunc(out.Replies, func(x, y crypto.Reply) int { return x.Written.Compare(y.Written) })
	return out, nil
}

// Delete removes a reply the source has read, for good, and marks it read
// for the key-holders. It counts as a try, like Open.
func (b *Box) Delete(ctx context.Context, class string, code crypto.InboxCode, replyID string) error {
	if !validReplyID(replyID) {
		return ErrNoSuchReply
	}
	if !b.allow(class) {
		return ErrTooManyTries
	}
	id, err := b.identity(ctx, code)
	if err != nil {
		return err
	}
	key := replyPrefix(id.Recipient().String()) + replyID
	sealed, _, err := b.records.GetRecord(ctx, key)
	if errors.Is(err, queue.ErrNotFound) {
		return ErrNoSuchReply
	}
	if err != nil {
		return fmt.Errorf("inbox: get reply: %w", err)
	}
	if _, err := crypto.OpenReply(sealed, id); err != nil {
		return ErrNoSuchReply
	}
	if _, err := b.records.PutRecord(ctx, readKey(replyID), []byte("read"), 0); err != nil && !errors.Is(err, queue.ErrConflict) {
		return fmt.Errorf("inbox: mark read: %w", err)
	}
	if err := b.records.DeleteRecord(ctx, key); err != nil {
		return fmt.Errorf("inbox: delete reply: %w", err)
	}
	return nil
}

// Post stores a reply for the inbox whose recipient is inboxRecipient,
// sealed to it and to keyholders. It returns the reply's id.
func Post(ctx context.Context, records queue.Records, inboxRecipient string, keyholders []age.Recipient, r crypto.Reply) (string, error) {
	rcpt, err := crypto.ParseRecipient(inboxRecipient)
	if err != nil {
		return "", fmt.Errorf("post reply: inbox recipient: %w", err)
	}
	if r.ID == "" {
		r.ID = NewReplyID()
	}
	if !validReplyID(r.ID) {
		return "", fmt.Errorf("post reply: malformed reply id")
	}
	sealed, err := crypto.SealReply(&r, append([]age.Recipient{rcpt}, keyholders...)...)
	if err != nil {
		return "", fmt.Errorf("post reply: %w", err)
	}
	if _, err := records.PutRecord(ctx, replyPrefix(inboxRecipient)+r.ID, sealed, 0); err != nil {
		return "", fmt.Errorf("post reply: %w", err)
	}
	return r.ID, nil
}

// withdrawn is what a withdrawn reply's record holds until a gateway
// deletes it: consoles may overwrite records but not delete them (see the
// Redis ACLs in ops/redis.conf), so the ciphertext goes at once and the
// key at the next Open of that inbox.
const withdrawn = "withdrawn"

// Withdraw takes back a reply the source has not read yet (the kill
// switch, or a key-holder taking it back): its ciphertext is overwritten
// at once, and the gateway deletes the record when the inbox is next
// opened.
func Withdraw(ctx context.Context, records queue.Records, inboxRecipient, replyID string) error {
	key := replyPrefix(inboxRecipient) + replyID
	for range 5 {
		val, ver, err := records.GetRecord(ctx, key)
		if errors.Is(err, queue.ErrNotFound) || string(val) == withdrawn {
			return nil
		}
		if err != nil {
			return fmt.Errorf("withdraw reply: %w", err)
		}
		if _, err := records.PutRecord(ctx, key, []byte(withdrawn), ver); errors.Is(err, queue.ErrConflict) {
			continue
		} else if err != nil {
			return fmt.Errorf("withdraw reply: %w", err)
		}
		return nil
	}
	return fmt.Errorf("withdraw reply: %w", queue.ErrConflict)
}

// State is where a web reply stands, as key-holders see it.
type State string

// The states of a web reply.
const (
	Waiting State = "waiting" // stored, not read yet
	Read    State = "read"    // the source read it and deleted it
	Gone    State = "gone"    // withdrawn, or never stored
)

// StateOf says whether the source has read a reply.
func StateOf(ctx context.Context, records queue.Records, inboxRecipient, replyID string) (State, error) {
	if val, _, err := records.GetRecord(ctx, replyPrefix(inboxRecipient)+replyID); err == nil {
		if string(val) == withdrawn {
			return Gone, nil
		}
		return Waiting, nil
	} else if !errors.Is(err, queue.ErrNotFound) {
		return "", fmt.Errorf("reply state: %w", err)
	}
	if _, _, err := records.GetRecord(ctx, readKey(replyID)); err == nil {
		return Read, nil
	} else if !errors.Is(err, queue.ErrNotFound) {
		return "", fmt.Errorf("reply state: %w", err)
	}
	return Gone, nil
}

// NewReplyID returns a random reply id.
func NewReplyID() string {
	var b [10]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func validReplyID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

func replyPrefix(inboxRecipient string) string {
	return "reply/" + crypto.InboxID(inboxRecipient) + "/"
}

func readKey(replyID string) string { return "reply-read/" + replyID }
