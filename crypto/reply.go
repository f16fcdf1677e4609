package crypto

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"filippo.io/age"
)

// Reply is a key-holder's message to a source. A web or onion reply is
// sealed to the source's inbox recipient and to the key-holders, never to a
// gateway: a gateway can show it only while a source who typed the inbox
// code is waiting for it.
type Reply struct {
	// ID is random; the console and the source's inbox name the reply by it.
	ID string `json:"id"`
	// Text is what the key-holder wrote.
	Text string `json:"text"`
	// Lang is the language the reply is written in, if the key-holder said.
	Lang string `json:"lang,omitempty"`
	// Written is when the key-holder sealed it, to the hour.
	Written time.Time `json:"written"`
	// By names the key-holder in the console's history.
	By string `json:"by,omitempty"`
}

// MaxReplyBytes bounds a reply's text.
const MaxReplyBytes = 16 << 10

// ErrInvalidReply is returned (wrapped) for a reply that cannot be sealed.
var ErrInvalidReply = errors.New("invalid reply")

// replyEnvelope is the JSON inside a sealed reply.
type replyEnvelope struct {
	Version int `json:"flare_reply"`
	Reply
}

// SealReply seals r, padded, to recipients: the source's inbox recipient
// and every key-holder.
func SealReply(r *Reply, recipients ...age.Recipient) ([]byte, error) {
	switch {
	case r.ID == "":
		return nil, fmt.Errorf("%w: no id", ErrInvalidReply)
	case r.Text == "":
		return nil, fmt.Errorf("%w: empty", ErrInvalidReply)
	case len(r.Text) > MaxReplyBytes:
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidReply, MaxReplyBytes)
	case !utf8.ValidString(r.Text):
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalidReply)
	case len(recipients) == 0:
		return nil, fmt.Errorf("%w: %w", ErrInvalidReply, ErrNoRecipients)
	}
	c := *r
	c.Written = CoarsenHour(c.Written)
	plain, err := json.Marshal(replyEnvelope{Version: 1, Reply: c})
	if err != nil {
		return nil, fmt.Errorf("seal reply: %w", err)
	}
	sealed, err := sealPadded(plain, recipients)
	if err != nil {
		return nil, fmt.Errorf("seal reply: %w", err)
	}
	return sealed, nil
}

// OpenReply opens what SealReply sealed.
func OpenReply(sealed []byte, identities ...age.Identity) (*Reply, error) {
	plain, err := OpenBytes(sealed, identities...)
	if err != nil {
		return nil, err
	}
	var env replyEnvelope
	if err := json.Unmarshal(plain, &env); err != nil {
		return nil, fmt.Errorf("open reply: %w", err)
	}
	if env.Version != 1 {
		return nil, fmt.Errorf("open reply: %w %d", ErrUnsupportedVersion, env.Version)
	}
	return &env.Reply, nil
}

// CoarsenHour rounds t down to the hour, in UTC: the finest time Flare keeps
// outside a tip's own seal.
func CoarsenHour(t time.Time) time.Time {
	return t.UTC().Truncate(time.Hour)
}
