// Package channels defines the boundary between the ways sources reach
// Flare (a web form, an onion service, a Telegram bot, SMS) and the gateway
// that seals what they send.
//
// A channel turns what arrives into a crypto.Tip and hands it to a Sink,
// which the gateway implements: NewDraft starts a tip, Attach streams each
// file into a sealed attachment as it arrives, and Submit seals the tip and
// returns only once it is durable. Only then may the channel tell the
// source "received".
//
// Each channel lives in its own package below this one and implements
// Channel. It knows nothing of Redis or of how the gateway is wired; adding
// a channel is a new folder and a line in cmd/flare.
//
// What a channel must never do: write anything a source sent, or anything
// that identifies a source (phone number, chat id, user name, IP address,
// file name), to a log, to disk or to the queue, except inside the sealed
// tip. Where a channel needs to recognise a sender or a message again (rate
// limits, retries), it uses a Hasher's keyed hash.
package channels

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/inbox"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// Channel is one way in for sources.
type Channel interface {
	// Name is the channel's name as it appears in tips: "web", "onion",
	// "telegram", "sms".
	Name() string
	// Routes registers the channel's HTTP endpoints, if any, on the
	// gateway's server.
	Routes(mux *http.ServeMux)
	// Run does the channel's background work (polling, running tor) until
	// ctx is done. A channel with none returns nil at once.
	Run(ctx context.Context) error
}

// HealthReporter is implemented by channels whose state the gateway's health
// endpoint should show.
type HealthReporter interface {
	Health() Health
}

// Health is a channel's state for the health endpoint. It never holds
// anything about sources.
type Health struct {
	OK     bool   `json:"ok"`
	Status string `json:"status"`
	// Since is when the channel entered this state.
	Since time.Time `json:"since"`
}

// Sink receives tips from channels. The gateway implements it.
type Sink interface {
	// NewDraft starts a tip arriving on channel.
	NewDraft(channel string) Draft
	// Limits are the limits Submit and Attach enforce, so that a channel
	// can tell a source before it tries.
	Limits() Limits
}

// Draft is a tip being received. It is used by one goroutine at a time.
type Draft interface {
	// Tip is the tip being built. The channel fills Text, Kind, Language,
	// Fields, Location, People, Sender, Reply and Part; the gateway sets
	// ID, Receipt, Received, Channel and Attachments.
	Tip() *crypto.Tip
	// Attach streams r, to its end, into a sealed attachment and adds it
	// to the tip. name is the source's file name (sealed only).
	Attach(ctx context.Context, name, mediaType string, r io.Reader) (crypto.AttachmentRef, error)
	// Submit seals the tip and enqueues it, returning once it is
	// durable. After an error, nothing of the tip is queued and the
	// draft may be discarded.
	Submit(ctx context.Context) (Receipt, error)
	// Discard deletes what Attach stored. It does nothing after a
	// successful Submit.
	Discard(ctx context.Context) error
}

// Receipt is what a source may be told once their tip is durable.
type Receipt struct {
	// Code is a short code the source can quote later. It is random, not
	// derived from anything stored in the clear.
	Code string
	// TipID is the sealed tip's id (inside the envelope).
	TipID string
	// QueueID is the queue's message id.
	QueueID string
}

// Limits bound what one tip may carry.
type Limits struct {
	MaxTextBytes       int   // message text, in bytes of UTF-8
	MaxAttachments     int   // files per tip
	MaxAttachmentBytes int64 // one file
	MaxRequestBytes    int64 // one HTTP request body, all parts together
}

// DefaultLimits are generous enough for evidence (a video, a spreadsheet)
// and small enough that one source cannot fill the store by accident.
var DefaultLimits = Limits{
	MaxTextBytes:       64 << 10,
	MaxAttachments:     10,
	MaxAttachmentBytes: 256 << 20,
	MaxRequestBytes:    300 << 20,
}

// Errors a Sink returns, wrapped; channels turn them into messages for the
// source with errors.Is.
var (
	ErrTextTooLong        = errors.New("message text too long")
	ErrTooManyAttachments = errors.New("too many attachments")
	ErrAttachmentTooLarge = errors.New("attachment too large")
	ErrEmptyTip           = errors.New("empty tip")
	ErrInvalidTip         = errors.New("invalid tip")
	// ErrUnavailable means the tip could not be made durable (the queue
	// is down). The source should try again; nothing was kept.
	ErrUnavailable = errors.New("intake unavailable")
)

// Deps is what the gateway gives every channel it starts.
type Deps struct {
	Sink Sink
	// Inbox lets web and onion sources read replies with their inbox
	// code; nil means no inbox codes are given.
	Inbox   *inbox.Box
	Queue   queue.Queue // for Remember (idempotency) only; tips go through Sink
	Hasher  *Hasher
	Catalog *catalog.Catalog
	Log     *slog.Logger
	// Gate bounds what HTTP listeners take in (concurrent uploads, upload
	// rate, bytes per minute); nil means a gate of its own with
	// DefaultGateConfig for each channel.
	Gate *Gate
	// Outbox holds replies from key-holders waiting for their source
	// (Telegram, SMS); nil means this gateway delivers none.
	Outbox Outbox
}

// Outbox is the gateway's outbox as a channel sees it: replies sealed to
// this gateway, opened in memory only to deliver them. gateway.Outbox
// implements it.
type Outbox interface {
	// Scan returns every entry this gateway can deliver and deletes those
	// past their expiry.
	Scan(ctx context.Context) ([]OutboxPending, error)
	// For returns the entries waiting for one channel and address (a chat
	// id, a phone number).
	For(ctx context.Context, channel, address string) ([]OutboxPending, error)
	// Deliver claims p, calls send, and on success records the reply as
	// delivered and deletes it, so that it is delivered at most once
	// across gateways. It returns ErrOutboxClaimed (wrapped or not) when
	// another gateway holds or finished it.
	Deliver(ctx context.Context, p OutboxPending, send func(context.Context, crypto.OutboxEntry) error) error
}

// OutboxPending is an outbox entry a gateway has opened.
type OutboxPending struct {
	QueueID string
	Entry   crypto.OutboxEntry
}

// ErrOutboxClaimed means another gateway is delivering an outbox entry, or
// already has.
var ErrOutboxClaimed = errors.New("outbox entry claimed by another gateway")
