package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
)

// Name is the channel's name in tips and logs. A WhatsApp message that
// arrives through an SMS provider is a tip of channel "whatsapp".
const Name = "sms"

// Channel receives SMS and WhatsApp messages from provider webhooks.
type Channel struct {
	cfg      Config
	deps     channels.Deps
	log      *slog.Logger
	classify *classifier
	media    *mediaFetcher
	twilio   *twilioSigner
	now      func() time.Time
	// lease is how long one attempt at a message holds it (see begin),
	// besides the time its media may take.
	lease   time.Duration
	started time.Time

	// Replies (deliver.go): the outbox to deliver from, the providers
	// to send through, how often to look, and the loop's memory.
	outbox      Outbox
	senders     map[string]namedSender
	outboxEvery time.Duration
	ob          outboxState
	optin       *classifier
}

// New returns the SMS channel. It fails if a provider is half configured.
func New(cfg Config, deps channels.Deps) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Sink == nil || deps.Queue == nil || deps.Hasher == nil {
		return nil, errors.New("sms channel needs a sink, a queue and a hasher")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Catalog != nil {
		deps.Catalog.AddDefaults("en", defaultTexts)
	}
	c := &Channel{
		cfg:      cfg,
		deps:     deps,
		log:      deps.Log.With("channel", Name),
		classify: newClassifier(cfg.DistressKeywords),
		now:      time.Now,
		lease:    time.Minute,
		started:  time.Now(),

		senders:     newSenders(cfg, &http.Client{Timeout: cfg.Replies.SendTimeout}),
		outboxEvery: 10 * time.Second,
		ob:          outboxState{retryAt: map[string]time.Time{}, fails: map[string]int{}},
	}
	if w := strings.TrimSpace(cfg.Replies.OptInWord); w != "" {
		c.optin = newClassifier([]string{w})
	}
	if cfg.twilioOn() {
		s, err := newTwilioSigner(cfg.TwilioAuthToken, cfg.TwilioPublicURL)
		if err != nil {
			// url.Parse's error quotes the URL, which may carry the
			// basic-auth password Twilio is to call it with.
			return nil, fmt.Errorf("%w: FLARE_TWILIO_PUBLIC_URL is not a URL; the value is not shown", ErrConfig)
		}
		c.twilio = s
		c.media = newMediaFetcher(cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.TwilioMediaHosts, cfg.TwilioMediaTimeout, deps.Sink.Limits().MaxAttachmentBytes, nil)
	}
	return c, nil
}

// Name implements channels.Channel.
func (c *Channel) Name() string { return Name }

// Routes registers the endpoints of the configured providers only.
func (c *Channel) Routes(mux *http.ServeMux) {
	if c.cfg.twilioOn() {
		mux.HandleFunc("/webhooks/twilio", c.serveTwilio)
	}
	if c.cfg.vonageOn() {
		mux.HandleFunc("/webhooks/vonage", c.serveVonage)
	}
	if c.cfg.WebhookSecret != "" {
		mux.HandleFunc("/webhooks/sms", c.serveGeneric)
	}
}

// Health implements channels.HealthReporter: which endpoints are on.
func (c *Channel) Health() channels.Health {
	var on []string
	if c.cfg.twilioOn() {
		on = append(on, "twilio")
	}
	if c.cfg.vonageOn() {
		on = append(on, "vonage")
	}
	if c.cfg.WebhookSecret != "" {
		on = append(on, "webhook")
	}
	return channels.Health{OK: true, Status: "webhooks on: " + strings.Join(on, ", "), Since: c.started}
}

// Run implements channels.Channel. Webhooks need no background work;
// with an outbox (UseOutbox), Run delivers SMS and WhatsApp replies.
func (c *Channel) Run(ctx context.Context) error {
	if c.outbox == nil {
		return nil
	}
	return c.runOutbox(ctx)
}

// message is an inbound message as a provider described it, after its
// signature was checked.
type message struct {
	provider string // "twilio", "vonage", "webhook"
	id       string // the provider's message id
	// dedupe, when set, is what a provider's retry repeats exactly and
	// what marks the message as queued instead of id (Twilio: the signed
	// string, which re-splitting its parameters cannot change).
	dedupe   string
	from     string // sender's number, E.164 or as the provider gave it
	to       string // the deployment's own number
	text     string
	whatsapp bool
	media    []mediaRef
	part     *partRef
}

type mediaRef struct {
	url, mediaType string
}

// partRef places an SMS within a concatenated message.
type partRef struct {
	ref          string
	index, total int
}

// autoReply returns an automatic reply in the language the source wrote
// in (by its script), else the deployment's default. A reply longer than
// one SMS segment, which only a deployment's own text can be, is sent
// anyway but logged, since it costs the source's phone several parts.
func (c *Channel) autoReply(text, key string) string {
	cat := c.deps.Catalog
	reply := cat.Text(cat.Choose(language(text), "", ""), key)
	if sz := Measure(reply); sz.Segments > 1 {
		c.log.Warn("automatic reply needs several SMS segments", "key", key, "encoding", sz.Encoding, "segments", sz.Segments)
	}
	return reply
}

// defaultTexts are the English automatic replies; the translations are
// in channels/catalog/locales, and each fits one SMS segment.
var defaultTexts = map[string]string{
	"sms.received": "Message received.",
}

// requestError is an answer to a request that is refused; msg is safe to
// show (it never holds what the request carried).
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func refuse(status int, format string, args ...any) error {
	return &requestError{status: status, msg: fmt.Sprintf(format, args...)}
}

// fail answers a refused or failed request and logs what kind of failure
// it was.
func (c *Channel) fail(w http.ResponseWriter, provider string, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var re *requestError
	switch {
	case errors.As(err, &re):
		status, msg = re.status, re.msg
	case errors.Is(err, errInFlight):
		status, msg = http.StatusServiceUnavailable, "this message is being processed; try again later"
		w.Header().Set("Retry-After", "60")
	case errors.Is(err, channels.ErrUnavailable):
		status, msg = http.StatusServiceUnavailable, "temporarily unavailable, try again"
	case errors.Is(err, errMedia):
		status, msg = http.StatusBadGateway, "could not fetch the message's media"
	case errors.Is(err, channels.ErrTextTooLong), errors.Is(err, channels.ErrTooManyAttachments),
		errors.Is(err, channels.ErrAttachmentTooLarge):
		status, msg = http.StatusRequestEntityTooLarge, "message or its media too large"
	case errors.Is(err, channels.ErrEmptyTip), errors.Is(err, channels.ErrInvalidTip):
		status, msg = http.StatusBadRequest, "malformed message: empty or invalid"
	}
	if status >= 500 {
		c.log.Error("webhook failed", "provider", provider, "status", status, "err", err)
	} else {
		c.log.Warn("webhook refused", "provider", provider, "status", status, "reason", msg)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// readBody reads a request body of at most the configured size.
func (c *Channel) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > c.cfg.MaxBody {
		return nil, refuse(http.StatusRequestEntityTooLarge, "request body too large (at most %d bytes)", c.cfg.MaxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, refuse(http.StatusRequestEntityTooLarge, "request body too large (at most %d bytes)", c.cfg.MaxBody)
		}
		return nil, refuse(http.StatusBadRequest, "could not read request body")
	}
	return body, nil
}

// mediaType returns the request's media type, lower-cased, without
// parameters.
func mediaType(r *http.Request) string {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// accept seals m into a tip and queues it, once per provider message id.
// It returns errDuplicate for a retry of a message already queued.
func (c *Channel) accept(ctx context.Context, m *message) (channels.Receipt, error) {
	// The tip carries fields of its own, so the sink would not see an
	// empty message as empty.
	if strings.TrimSpace(m.text) == "" && len(m.media) == 0 {
		return channels.Receipt{}, refuse(http.StatusBadRequest, "malformed message: no text and no media")
	}
	key := m.id
	if m.dedupe != "" {
		key = m.dedupe
	}
	a, err := c.begin(ctx, m.provider, key, c.leaseFor(m))
	if err != nil {
		if errors.Is(err, errDuplicate) {
			c.log.Info("retried message ignored", "provider", m.provider)
		}
		return channels.Receipt{}, err
	}
	rcpt, err := c.submit(ctx, m, a.key)
	if err != nil {
		c.abort(context.WithoutCancel(ctx), a)
		return channels.Receipt{}, err
	}
	c.finish(context.WithoutCancel(ctx), a)
	return rcpt, nil
}

func (c *Channel) submit(ctx context.Context, m *message, key string) (channels.Receipt, error) {
	channel := Name
	if m.whatsapp {
		channel = "whatsapp"
	}
	d := c.deps.Sink.NewDraft(channel)
	t := d.Tip()
	t.Text = m.text
	t.Kind = c.classify.Kind(m.text)
	t.Language = language(m.text)
	t.Sender = &crypto.Sender{Phone: m.from}
	addr := m.from
	if m.whatsapp {
		addr = "whatsapp:" + m.from
	}
	t.Reply = &crypto.ReplyAddress{Channel: channel + "/" + m.provider, Address: addr}
	t.Fields = map[string]string{"sms.provider": m.provider, "sms.message": key}
	if m.to != "" {
		t.Fields["sms.to"] = m.to
	}
	// The opt-in word says the source may be answered by SMS; only the
	// sealed tip records it, for the console to check. (optin is a
	// classifier of that one word: "distress" means the word is there.)
	if c.optin != nil && c.optin.Kind(m.text) == crypto.KindDistress {
		t.Fields["reply_ok"] = "yes"
	}
	if m.part != nil {
		t.Part = &crypto.Part{
			Group: c.deps.Hasher.Sum("sms-concat", m.provider, m.from, m.to, m.part.ref),
			Index: m.part.index,
			Total: m.part.total,
		}
	}
	for i, mr := range m.media {
		if err := c.media.fetch(ctx, d, i, mr); err != nil {
			if derr := d.Discard(context.WithoutCancel(ctx)); derr != nil {
				c.log.Error("discarding a failed draft", "err", derr)
			}
			return channels.Receipt{}, err
		}
	}
	rcpt, err := d.Submit(ctx)
	if err != nil {
		if derr := d.Discard(context.WithoutCancel(ctx)); derr != nil {
			c.log.Error("discarding a failed draft", "err", derr)
		}
		return channels.Receipt{}, err
	}
	return rcpt, nil
}
