package sms

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
)

// Outbox is what the SMS channel needs of the gateway's outbox
// (gateway.Outbox): the entries this gateway can open, and delivering or
// refusing one exactly once across gateways.
type Outbox interface {
	Scan(ctx context.Context) ([]gateway.Pending, error)
	Deliver(ctx context.Context, p gateway.Pending, send func(context.Context, crypto.OutboxEntry) error) error
	Refuse(ctx context.Context, p gateway.Pending, state gateway.ReplyState) error
}

// States an SMS or WhatsApp reply ends in when this gateway will not send
// it. They are what key-holders see in "flare console replies".
const (
	refusedOff      gateway.ReplyState = "refused: replies off"
	refusedTemplate gateway.ReplyState = "refused: not one of this deployment's templates"
	refusedProvider gateway.ReplyState = "refused: this gateway cannot send through the source's provider"
	refusedAddress  gateway.ReplyState = "refused: not an SMS or WhatsApp address"
	failedProvider  gateway.ReplyState = "failed: the provider refused the message"
)

// Reply addresses. The console copies the tip's reply address into the
// outbox entry as "PROVIDER:NUMBER", PROVIDER being the provider that
// received the source's message (the tip's Reply.Channel is "sms/twilio",
// "whatsapp/twilio" or "sms/vonage") and NUMBER the tip's Reply.Address
// ("+855…", or "whatsapp:+855…"): a reply goes back the way the message
// came, from the number the source wrote to.
const (
	providerTwilio = "twilio"
	providerVonage = "vonage"
)

// ReplyAddress returns the outbox address of a reply to a tip whose reply
// address is r, or ok=false if no SMS provider can send to it.
func ReplyAddress(r *crypto.ReplyAddress) (addr string, ok bool) {
	if r == nil {
		return "", false
	}
	ch, provider, _ := strings.Cut(r.Channel, "/")
	switch {
	case r.Address == "":
		return "", false
	case ch == Name && (provider == providerTwilio || provider == providerVonage) && !strings.HasPrefix(r.Address, "whatsapp:"):
	case ch == "whatsapp" && provider == providerTwilio && strings.HasPrefix(r.Address, "whatsapp:"):
	default:
		return "", false
	}
	return provider + ":" + r.Address, true
}

// UseOutbox makes Run deliver the SMS and WhatsApp replies in o.
func (c *Channel) UseOutbox(o Outbox) { c.outbox = o }

// outboxState is the delivery loop's memory; it lives only in Run's
// goroutine and holds no number or text.
type outboxState struct {
	// retryAt holds back a reply whose send failed for a while.
	retryAt map[string]time.Time
	fails   map[string]int
	// forget is the provider message ids still to delete.
	forget []forgetting
}

type forgetting struct {
	provider string
	id       string
	next     time.Time
	until    time.Time
}

// forgetFor is how long a provider record deletion is retried (Twilio
// refuses until it has finished with the message, usually minutes).
const forgetFor = 2 * time.Hour

// deliverDue sends every SMS and WhatsApp reply due now, and deletes the
// provider records of sent ones.
func (c *Channel) deliverDue(ctx context.Context) {
	pending, err := c.outbox.Scan(ctx)
	if err != nil {
		c.log.Error("sms replies: outbox scan", "err", err)
		return
	}
	now := c.now()
	// Forget the back-off of entries that are gone (sent by another
	// gateway, cancelled, expired).
	live := map[string]bool{}
	for _, p := range pending {
		live[p.Entry.ID] = true
	}
	for id := range c.ob.retryAt {
		if !live[id] {
			delete(c.ob.retryAt, id)
			delete(c.ob.fails, id)
		}
	}
	for _, p := range pending {
		e := p.Entry
		if (e.Channel != Name && e.Channel != "whatsapp") || e.When != crypto.DeliverNow {
			continue
		}
		if t, ok := c.ob.retryAt[e.ID]; ok && now.Before(t) {
			continue
		}
		s, to, refusal := c.route(e)
		if refusal != "" {
			if err := c.outbox.Refuse(ctx, p, refusal); err != nil && !errors.Is(err, gateway.ErrClaimed) {
				c.log.Error("sms replies: refuse", "err", err)
			}
			c.log.Warn("sms reply refused", "state", string(refusal))
			continue
		}
		var sentID string
		err := c.outbox.Deliver(ctx, p, func(ctx context.Context, e crypto.OutboxEntry) error {
			sctx, cancel := context.WithTimeout(ctx, c.cfg.Replies.SendTimeout)
			defer cancel()
			id, err := s.sender.send(sctx, to, e.Text)
			sentID = id
			return err
		})
		switch {
		case errors.Is(err, gateway.ErrClaimed):
			continue
		case errors.Is(err, errPermanent):
			c.log.Error("sms reply refused by provider", "provider", s.name, "err", err)
			if err := c.outbox.Refuse(ctx, p, failedProvider); err != nil && !errors.Is(err, gateway.ErrClaimed) {
				c.log.Error("sms replies: refuse", "err", err)
			}
			continue
		case err != nil:
			c.ob.fails[e.ID]++
			wait := time.Duration(1<<min(c.ob.fails[e.ID], 6)) * c.outboxEvery
			c.ob.retryAt[e.ID] = now.Add(wait)
			c.log.Warn("sms reply not sent; will try again", "provider", s.name, "err", err)
			continue
		}
		delete(c.ob.retryAt, e.ID)
		delete(c.ob.fails, e.ID)
		c.log.Info("sms reply sent", "provider", s.name, "channel", e.Channel)
		if sentID != "" && s.name == providerTwilio {
			c.ob.forget = append(c.ob.forget, forgetting{provider: s.name, id: sentID, next: now, until: now.Add(forgetFor)})
		}
	}
	c.forgetSent(ctx)
}

// forgetSent asks providers to delete the records of sent replies, again
// later when they are not ready to.
func (c *Channel) forgetSent(ctx context.Context) {
	now := c.now()
	keep := c.ob.forget[:0]
	for _, f := range c.ob.forget {
		if now.Before(f.next) {
			keep = append(keep, f)
			continue
		}
		s := c.senders[f.provider]
		fctx, cancel := context.WithTimeout(ctx, c.cfg.Replies.SendTimeout)
		retry, err := s.sender.forget(fctx, f.id)
		cancel()
		if err != nil {
			c.log.Warn("sms reply: provider record not deleted yet", "provider", f.provider, "err", err)
		}
		if retry && now.Before(f.until) {
			f.next = now.Add(time.Minute)
			keep = append(keep, f)
		} else if retry {
			c.log.Error("sms reply: gave up deleting the provider's record", "provider", f.provider)
		}
	}
	c.ob.forget = keep
}

type namedSender struct {
	name   string
	sender sender
}

// route decides how e is sent, or why it is not.
func (c *Channel) route(e crypto.OutboxEntry) (namedSender, string, gateway.ReplyState) {
	if !c.cfg.Replies.On() {
		return namedSender{}, "", refusedOff
	}
	// The console only proposes the deployment's texts, but the gateway
	// checks again: an entry is whatever a console sealed.
	if text, ok := c.cfg.Replies.Templates[e.Template][e.Lang]; !ok || text != e.Text {
		return namedSender{}, "", refusedTemplate
	}
	provider, to, _ := strings.Cut(e.Address, ":")
	wa := strings.HasPrefix(to, "whatsapp:")
	if to == "" || wa != (e.Channel == "whatsapp") {
		return namedSender{}, "", refusedAddress
	}
	s, ok := c.senders[provider]
	if !ok || (wa && provider != providerTwilio) {
		return namedSender{}, "", refusedProvider
	}
	return s, to, ""
}

// newSenders returns the providers this configuration can send through.
func newSenders(cfg Config, client *http.Client) map[string]namedSender {
	out := map[string]namedSender{}
	r := cfg.Replies
	if !r.On() {
		return out
	}
	if r.TwilioFrom != "" {
		out[providerTwilio] = namedSender{providerTwilio, &twilioSender{client: client, base: r.TwilioAPIURL, sid: cfg.TwilioAccountSID, token: cfg.TwilioAuthToken, from: r.TwilioFrom}}
	}
	if r.VonageFrom != "" {
		out[providerVonage] = namedSender{providerVonage, &vonageSender{client: client, base: r.VonageAPIURL, key: r.VonageAPIKey, secret: r.VonageAPISecret, from: r.VonageFrom}}
	}
	return out
}

// runOutbox delivers SMS and WhatsApp replies until ctx ends.
func (c *Channel) runOutbox(ctx context.Context) error {
	t := time.NewTicker(c.outboxEvery)
	defer t.Stop()
	for {
		c.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
