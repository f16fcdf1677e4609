package crypto

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"
)

// OutboxEntry is a reply on its way to a source over Telegram, SMS or
// WhatsApp, with the address to deliver it to. A console seals it to the
// outbound recipients of the gateways its key-holder chose; a gateway opens
// it in memory only to deliver it, then deletes it. Nothing in it is
// readable at rest by anyone else.
type OutboxEntry struct {
	// ID is the reply's id, the same in the console's reply book.
	ID string `json:"id"`
	// Channel is "telegram", "sms" or "whatsapp".
	Channel string `json:"channel"`
	// Address is the chat id or phone number to deliver to.
	Address string `json:"address"`
	// Text is the reply; for SMS and WhatsApp it is the text of Template
	// in Lang, one of the deployment's reviewed texts.
	Text     string `json:"text"`
	Template string `json:"template,omitempty"`
	Lang     string `json:"lang,omitempty"`
	// When says when the gateway may deliver: "checkin" (when the source
	// next checks in), or "now" (a source who said it is safe to be
	// messaged; SMS templates, once approved).
	When string `json:"when"`
	// Expires is when an undelivered entry is deleted, to the hour.
	Expires time.Time `json:"expires"`
	// Case is the console's key for the case, so that the source's answer
	// after a check-in joins it. It is the console's name, not a tip id.
	Case string `json:"case,omitempty"`
}

// Delivery times an OutboxEntry can have.
const (
	DeliverAtCheckIn = "checkin"
	DeliverNow       = "now"
)

// ErrInvalidOutboxEntry is returned (wrapped) for an entry that cannot be
// sealed or was not sealed by Flare.
var ErrInvalidOutboxEntry = errors.New("invalid outbox entry")

type outboxEnvelope struct {
	Version int `json:"flare_outbox"`
	OutboxEntry
}

// Validate checks what every outbox entry needs.
func (e *OutboxEntry) Validate() error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: no id", ErrInvalidOutboxEntry)
	case e.Channel != "telegram" && e.Channel != "sms" && e.Channel != "whatsapp":
		return fmt.Errorf("%w: unknown channel %q", ErrInvalidOutboxEntry, e.Channel)
	case strings.TrimSpace(e.Address) == "":
		return fmt.Errorf("%w: no address", ErrInvalidOutboxEntry)
	case strings.TrimSpace(e.Text) == "":
		return fmt.Errorf("%w: empty", ErrInvalidOutboxEntry)
	case len(e.Text) > MaxReplyBytes || !utf8.ValidString(e.Text):
		return fmt.Errorf("%w: text too long or not UTF-8", ErrInvalidOutboxEntry)
	case e.When != DeliverAtCheckIn && e.When != DeliverNow:
		return fmt.Errorf("%w: unknown delivery time %q", ErrInvalidOutboxEntry, e.When)
	case e.Expires.IsZero():
		return fmt.Errorf("%w: no expiry", ErrInvalidOutboxEntry)
	}
	return nil
}

// SealOutbox seals e, padded, to the gateways' outbound recipients.
func SealOutbox(e *OutboxEntry, gateways ...age.Recipient) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if len(gateways) == 0 {
		return nil, fmt.Errorf("seal outbox entry: no gateway recipient (--gateway-recipient)")
	}
	c := *e
	c.Expires = c.Expires.UTC().Truncate(time.Hour).Add(time.Hour)
	plain, err := json.Marshal(outboxEnvelope{Version: 1, OutboxEntry: c})
	if err != nil {
		return nil, fmt.Errorf("seal outbox entry: %w", err)
	}
	sealed, err := sealPadded(plain, gateways)
	if err != nil {
		return nil, fmt.Errorf("seal outbox entry: %w", err)
	}
	return sealed, nil
}

// OpenOutbox opens an entry with a gateway's outbound identity.
func OpenOutbox(sealed []byte, identity age.Identity) (*OutboxEntry, error) {
	plain, err := OpenBytes(sealed, identity)
	if err != nil {
		return nil, err
	}
	var env outboxEnvelope
	if err := json.Unmarshal(plain, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidOutboxEntry, err)
	}
	if env.Version != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrInvalidOutboxEntry, env.Version)
	}
	if err := env.Validate(); err != nil {
		return nil, err
	}
	return &env.OutboxEntry, nil
}

// LoadOrCreateOutboundIdentity reads a gateway's outbound age identity
// from path, or creates one there with mode 0600. Consoles seal Telegram
// and SMS replies to its recipient.
func LoadOrCreateOutboundIdentity(path string) (id *age.X25519Identity, created bool, err error) {
	data, err := readPrivateFile(path)
	if err == nil {
		id, err := age.ParseX25519Identity(strings.TrimSpace(lastLine(string(data))))
		if err != nil {
			return nil, false, fmt.Errorf("outbound identity %s: not an age X25519 identity", path)
		}
		return id, false, nil
	}
	if !errors.Is(err, errNoFile) {
		return nil, false, err
	}
	id, err = age.GenerateX25519Identity()
	if err != nil {
		return nil, false, fmt.Errorf("outbound identity: %w", err)
	}
	content := fmt.Sprintf("# Flare gateway outbound identity: opens replies on their way to sources.\n# public key: %s\n%s\n", id.Recipient(), id)
	if err := writePrivateFile(path, []byte(content)); err != nil {
		return nil, false, fmt.Errorf("outbound identity: %w", err)
	}
	return id, true, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
