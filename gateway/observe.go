package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// Observer hears what the intake did with each tip, for alerts and
// metrics. It is told only what the gateway itself decided (the channel's
// name, the kind, a refusal's reason), never anything a source wrote.
// Methods are called on the intake's path and must return at once: hand
// the event on, never wait for I/O.
type Observer interface {
	// TipAccepted is called after a tip is durable, with how long sealing
	// and enqueueing took.
	TipAccepted(channel string, kind crypto.Kind, seal, enqueue time.Duration)
	// TipRefused is called when the intake refuses a tip or an
	// attachment, with a fixed reason (see RefusalReason).
	TipRefused(channel, reason string)
}

// Observers calls each of its members in turn.
type Observers []Observer

// TipAccepted implements Observer.
func (obs Observers) TipAccepted(channel string, kind crypto.Kind, seal, enqueue time.Duration) {
	for _, o := range obs {
		o.TipAccepted(channel, kind, seal, enqueue)
	}
}

// TipRefused implements Observer.
func (obs Observers) TipRefused(channel, reason string) {
	for _, o := range obs {
		o.TipRefused(channel, reason)
	}
}

// Refusal reasons, as metrics label them.
const (
	ReasonUnavailable = "unavailable" // the queue could not make it durable
	ReasonTooLong     = "text_too_long"
	ReasonTooMany     = "too_many_attachments"
	ReasonTooLarge    = "attachment_too_large"
	ReasonEmpty       = "empty"
	ReasonInvalid     = "invalid"
	ReasonCanceled    = "canceled" // the source went away mid-way
	ReasonOther       = "other"
)

// RefusalReason names the reason for an error the intake returned.
func RefusalReason(err error) string {
	switch {
	case errors.Is(err, channels.ErrUnavailable):
		return ReasonUnavailable
	case errors.Is(err, channels.ErrTextTooLong):
		return ReasonTooLong
	case errors.Is(err, channels.ErrTooManyAttachments):
		return ReasonTooMany
	case errors.Is(err, channels.ErrAttachmentTooLarge):
		return ReasonTooLarge
	case errors.Is(err, channels.ErrEmptyTip):
		return ReasonEmpty
	case errors.Is(err, channels.ErrInvalidTip):
		return ReasonInvalid
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ReasonCanceled
	}
	return ReasonOther
}

// refused tells the observer of a refusal; err nil means none.
func (in *Intake) refused(channel string, err error) {
	if err != nil && in.obs != nil {
		in.obs.TipRefused(channel, RefusalReason(err))
	}
}

// notDurable reports a tip the queue could not keep at ERROR with the
// cause, at most once a minute: an outage refuses every tip, and one line
// says it (metrics count them all).
func (in *Intake) notDurable(channel string, cause error) {
	if errors.Is(cause, context.Canceled) {
		return // the source went away; nothing failed on our side
	}
	in.lost.Do(func() {
		in.log.Error("tip refused: the queue could not make it durable; sources are told to try again",
			"channel", channel, "cause", cause.Error(), "repeats", "logged at most once a minute")
	})
}

// watchedStore remembers the last error its queue returned while storing
// an attachment's chunks, so that a failed store can be told from a
// broken upload.
type watchedStore struct {
	queue.ChunkStore
	err error
}

func (w *watchedStore) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	err := w.ChunkStore.PutChunk(ctx, blobID, index, data)
	if err != nil && !errors.Is(err, context.Canceled) {
		w.err = err
	}
	return err
}
