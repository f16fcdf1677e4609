package console

import (
	"errors"
	"strings"
	"time"

	"github.com/flarehq/flare/crypto"
)

// SMS and WhatsApp replies are templates only, to a source who opted in,
// and (WhatsApp) only inside the provider's 24-hour window. These checks
// are the console's; the gateway checks the template again and refuses
// every reply while FLARE_SMS_REPLIES is off.
var (
	ErrTemplateOnly  = errors.New("SMS and WhatsApp replies can only be one of the deployment's templates")
	ErrNoOptIn       = errors.New("the source did not opt in to being messaged: no SMS or WhatsApp reply can be sent")
	ErrWindowClosed  = errors.New("the WhatsApp window is closed: WhatsApp takes replies only within 24 hours of the source's last message")
	ErrNotSMSChannel = errors.New("not an SMS or WhatsApp reply")
)

// WhatsAppWindow is how long after a source's last message WhatsApp lets a
// business reply.
const WhatsAppWindow = 24 * time.Hour

// OptedIn reports whether a tip of the case said its source may be
// messaged: the SMS opt-in word (Fields["reply_ok"] = "yes"), or an answer
// to "How can we reach you, if it is safe?" (Fields["contact"]).
func OptedIn(item *Item) bool {
	for _, t := range caseTips(item) {
		if t.Fields["reply_ok"] == "yes" || strings.TrimSpace(t.Fields["contact"]) != "" {
			return true
		}
	}
	return false
}

// LastMessage is when the case's latest message was received, from the
// sealed tips (to the minute).
func LastMessage(item *Item) time.Time {
	var last time.Time
	for _, t := range caseTips(item) {
		if t.Received.After(last) {
			last = t.Received
		}
	}
	return last
}

// WhatsAppWindowCloses is when the case's WhatsApp window closes.
func WhatsAppWindowCloses(item *Item) time.Time {
	return LastMessage(item).Add(WhatsAppWindow)
}

// smsExpiry is when an approved reply that could not be sent is dropped:
// a day after approval, and for WhatsApp no later than the window. The
// outbox rounds expiries up to the hour, so the window's end is taken
// down to the hour before it.
func smsExpiry(item *Item, channel string, now time.Time) time.Time {
	exp := now.Add(24 * time.Hour)
	if channel == "whatsapp" {
		if w := WhatsAppWindowCloses(item).UTC().Truncate(time.Hour).Add(-time.Hour); w.Before(exp) {
			exp = w
		}
	}
	return exp
}

// checkSMS is what every SMS or WhatsApp reply needs, at proposal and at
// approval.
func (r *Replies) checkSMS(item *Item, channel, template string) error {
	switch {
	case channel != "sms" && channel != "whatsapp":
		return ErrNotSMSChannel
	case strings.TrimSpace(template) == "":
		return ErrTemplateOnly
	case !OptedIn(item):
		return ErrNoOptIn
	case channel == "whatsapp" && !r.now().Before(WhatsAppWindowCloses(item).Truncate(time.Hour)):
		// Outbox expiries are whole hours: in the window's last
		// partial hour an entry could not be sealed to expire in time.
		return ErrWindowClosed
	}
	return nil
}

func caseTips(item *Item) []*crypto.Tip {
	var out []*crypto.Tip
	if item.Tip != nil {
		out = append(out, item.Tip)
	}
	for _, e := range item.Entries {
		if e.Tip != nil {
			out = append(out, e.Tip)
		}
	}
	return out
}
