package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/textlang"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// Intake seals tips and enqueues them. It implements channels.Sink and is
// safe for concurrent use; each Draft belongs to one request.
type Intake struct {
	sealer *crypto.Sealer
	queue  queue.Queue
	limits channels.Limits
	log    *slog.Logger
	now    func() time.Time
	floors *floors
	obs    Observer
	// lost rate-limits the ERROR logged when a tip cannot be made
	// durable, so that a queue outage does not flood the log.
	lost rate.Sometimes
}

// IntakeConfig configures an Intake.
type IntakeConfig struct {
	Sealer *crypto.Sealer
	Queue  queue.Queue
	Limits channels.Limits
	Log    *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Floors are the stores' capacities (disk, Redis memory) and the
	// headroom below which attachments, then text, are refused.
	Floors []Floor
	// Observer hears of every accepted and refused tip (alerts, metrics);
	// nil means nobody listens.
	Observer Observer
}

// NewIntake returns an Intake.
func NewIntake(cfg IntakeConfig) (*Intake, error) {
	if cfg.Sealer == nil || cfg.Queue == nil {
		return nil, errors.New("intake needs a sealer and a queue")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limits == (channels.Limits{}) {
		cfg.Limits = channels.DefaultLimits
	}
	return &Intake{
		sealer: cfg.Sealer,
		queue:  cfg.Queue,
		limits: cfg.Limits,
		log:    cfg.Log,
		now:    cfg.Now,
		floors: &floors{list: cfg.Floors, now: cfg.Now, log: cfg.Log},
		obs:    cfg.Observer,
		lost:   rate.Sometimes{First: 1, Interval: time.Minute},
	}, nil
}

// Limits implements channels.Sink.
func (in *Intake) Limits() channels.Limits { return in.limits }

// NewDraft implements channels.Sink.
func (in *Intake) NewDraft(channel string) channels.Draft {
	return &draft{in: in, tip: crypto.Tip{Channel: channel, Kind: crypto.KindTip}}
}

type draft struct {
	in        *Intake
	tip       crypto.Tip
	blobs     []string
	submitted bool
}

func (d *draft) Tip() *crypto.Tip { return &d.tip }

func (d *draft) Attach(ctx context.Context, name, mediaType string, r io.Reader) (_ crypto.AttachmentRef, err error) {
	defer func() { d.in.refused(d.tip.Channel, err) }()
	if d.submitted {
		return crypto.AttachmentRef{}, errors.New("attach: draft already submitted")
	}
	if len(d.tip.Attachments) >= d.in.limits.MaxAttachments {
		return crypto.AttachmentRef{}, fmt.Errorf("attach: %w (at most %d)", channels.ErrTooManyAttachments, d.in.limits.MaxAttachments)
	}
	if !utf8.ValidString(name) || !utf8.ValidString(mediaType) {
		return crypto.AttachmentRef{}, fmt.Errorf("attach: %w: file name or type is not valid UTF-8", channels.ErrInvalidTip)
	}
	if fl, below := d.in.floors.below(ctx, true); below {
		d.in.log.Warn("attachment refused: store near full", "floor", fl.Name)
		return crypto.AttachmentRef{}, fmt.Errorf("attach: %s below its floor: %w", fl.Name, channels.ErrNoRoom)
	}
	id := "att-" + randomID()
	d.blobs = append(d.blobs, id)
	store := &watchedStore{ChunkStore: d.in.queue}
	ref, err := d.in.sealer.SealAttachment(ctx, roomyStore{ChunkStore: store, floors: d.in.floors}, crypto.AttachmentInfo{
		ID:        id,
		Name:      name,
		MediaType: normMediaType(mediaType),
		MaxSize:   d.in.limits.MaxAttachmentBytes,
	}, r)
	if err != nil {
		// Nothing of a failed attachment may outlive the attempt, even
		// if the channel goes on to submit the rest of the tip.
		if derr := d.in.queue.DeleteBlob(context.WithoutCancel(ctx), id); derr != nil {
			d.in.log.Error("delete failed attachment", "err", derr)
		}
		d.blobs = d.blobs[:len(d.blobs)-1]
		if errors.Is(err, channels.ErrNoRoom) {
			d.in.log.Warn("attachment refused: store near full")
			return crypto.AttachmentRef{}, fmt.Errorf("attach: %w", err)
		}
		if store.err != nil {
			d.in.notDurable(d.tip.Channel, store.err)
		}
		if errors.Is(err, crypto.ErrTooLarge) {
			return crypto.AttachmentRef{}, fmt.Errorf("attach: %w (at most %d bytes)", channels.ErrAttachmentTooLarge, d.in.limits.MaxAttachmentBytes)
		}
		return crypto.AttachmentRef{}, fmt.Errorf("attach: %w", err)
	}
	d.tip.Attachments = append(d.tip.Attachments, ref)
	return ref, nil
}

func (d *draft) Submit(ctx context.Context) (_ channels.Receipt, err error) {
	defer func() { d.in.refused(d.tip.Channel, err) }()
	if d.submitted {
		return channels.Receipt{}, errors.New("submit: draft already submitted")
	}
	t := &d.tip
	if !utf8.ValidString(t.Text) {
		return channels.Receipt{}, fmt.Errorf("submit: %w: text is not valid UTF-8", channels.ErrInvalidTip)
	}
	if len(t.Text) > d.in.limits.MaxTextBytes {
		return channels.Receipt{}, fmt.Errorf("submit: %w (at most %d bytes)", channels.ErrTextTooLong, d.in.limits.MaxTextBytes)
	}
	if strings.TrimSpace(t.Text) == "" && len(t.Attachments) == 0 && t.Location == nil && len(t.Fields) == 0 {
		return channels.Receipt{}, fmt.Errorf("submit: %w", channels.ErrEmptyTip)
	}
	if t.Kind == "" {
		t.Kind = crypto.KindTip
	}
	if fl, below := d.in.floors.below(ctx, false); below {
		d.in.log.Warn("tip refused: store near full", "floor", fl.Name)
		return channels.Receipt{}, fmt.Errorf("submit: %w: %s below a quarter of its floor", channels.ErrUnavailable, fl.Name)
	}
	normaliseText(t)
	t.Language = catalogueCode(t.Language)
	t.ID = randomID()
	t.Receipt = receiptCode()
	t.Received = crypto.CoarsenTime(d.in.now())
	sealStart := time.Now()
	sealed, err := d.in.sealer.SealTip(t)
	if err != nil {
		if errors.Is(err, crypto.ErrInvalidTip) {
			return channels.Receipt{}, fmt.Errorf("submit: %w: %v", channels.ErrInvalidTip, err)
		}
		return channels.Receipt{}, fmt.Errorf("submit: %w", err)
	}
	sealedAt := time.Now()
	// Commit the attachments before the tip that references them is
	// queued: a crash in between leaves blobs no sweep removes, never a
	// queued tip whose attachments were swept.
	if len(d.blobs) > 0 {
		if err := d.in.queue.CommitBlobs(ctx, d.blobs...); err != nil {
			d.in.notDurable(t.Channel, err)
			return channels.Receipt{}, fmt.Errorf("submit: %w: %v", channels.ErrUnavailable, err)
		}
	}
	qid, err := d.in.queue.Enqueue(ctx, queue.StreamTips, sealed)
	if err != nil {
		d.in.notDurable(t.Channel, err)
		return channels.Receipt{}, fmt.Errorf("submit: %w: %v", channels.ErrUnavailable, err)
	}
	d.submitted = true
	// Nothing about the tip is logged: a line per tip would date it to the
	// millisecond and give away its kind and size, which the seal hides.
	if d.in.obs != nil {
		d.in.obs.TipAccepted(t.Channel, t.Kind, sealedAt.Sub(sealStart), time.Since(sealedAt))
	}
	return channels.Receipt{Code: t.Receipt, TipID: t.ID, QueueID: qid}, nil
}

func (d *draft) Discard(ctx context.Context) error {
	if d.submitted {
		return nil
	}
	var errs []error
	for _, id := range d.blobs {
		if err := d.in.queue.DeleteBlob(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	d.blobs = nil
	d.tip.Attachments = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("discard draft: %w", err)
	}
	return nil
}

// randomID returns 128 random bits, base32 without padding, lower case.
func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// receiptAlphabet has no letters a frightened person could misread
// (0/O, 1/I/L, 5/S, 2/Z).
const receiptAlphabet = "ABCDEFGHJKMNPQRTUVWXY346789"

// receiptCode returns a code like "K7QF-2M9D": 8 characters, about 38 bits.
func receiptCode() string {
	out := make([]byte, 0, 9)
	var b [1]byte
	for len(out) < 9 {
		if len(out) == 4 {
			out = append(out, '-')
			continue
		}
		rand.Read(b[:])
		// Reject the top of the byte range so every letter is equally likely.
		if int(b[0]) >= 256-256%len(receiptAlphabet) {
			continue
		}
		out = append(out, receiptAlphabet[int(b[0])%len(receiptAlphabet)])
	}
	return string(out)
}

// normaliseText makes a tip readable in the console whatever the source's
// phone typed: Burmese in the Zawgyi font encoding is converted to
// Unicode, keeping the text as received beside it, and a language the
// text's script shows wins over a channel's tag that disagrees (a Khmer
// message sent from the English page is filed as Khmer).
func normaliseText(t *crypto.Tip) {
	if t.TextOriginal == "" && textlang.IsZawgyi(t.Text) {
		t.TextOriginal = t.Text
		t.TextEncoding = textlang.Zawgyi
		t.Text = textlang.ZawgyiToUnicode(t.Text)
	}
	if lang := textlang.Detect(t.Text); !textlang.Compatible(lang, t.Language) || t.Language == "" {
		t.Language = lang
	}
}
