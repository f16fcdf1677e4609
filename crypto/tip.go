package crypto

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Kind says what a tip is about. The console sorts by it: distress calls
// first, then missing-person reports, then the rest.
type Kind string

// The report kinds a source can choose. Channels map their own vocabulary
// (buttons, keywords, form choices) onto these.
const (
	KindDistress Kind = "distress" // "I need help now"
	KindMissing  Kind = "missing"  // "someone is missing"
	KindEvidence Kind = "evidence" // "I have evidence"
	KindTip      Kind = "tip"      // anything else a source reports
	KindOther    Kind = "other"
)

// Kinds lists every valid Kind, most urgent first.
var Kinds = []Kind{KindDistress, KindMissing, KindEvidence, KindTip, KindOther}

// ParseKind returns the Kind named s; the empty string means KindTip.
func ParseKind(s string) (Kind, error) {
	if s == "" {
		return KindTip, nil
	}
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown report kind %q", s)
}

// Tip is what a source sent, normalised by a channel. It is the plaintext of
// a sealed tip: every field, including the ones that identify the source,
// exists only inside age ciphertext once the gateway has sealed it.
type Tip struct {
	// ID is a random identifier the gateway assigns. It is not the queue's
	// message id, which a backend chooses.
	ID string `json:"id"`
	// Receipt is the short code the source was shown, so that a source
	// who writes again can refer to this tip.
	Receipt string `json:"receipt"`
	// Received is when the gateway received the tip, coarsened to the
	// minute so that it cannot be matched exactly with network logs.
	Received time.Time `json:"received"`
	Channel  string    `json:"channel"`
	Kind     Kind      `json:"kind"`
	Language string    `json:"lang,omitempty"`
	Text     string    `json:"text"`
	// TextOriginal is the text exactly as it arrived, kept when the
	// gateway converted it for reading (Burmese typed in Zawgyi is stored
	// converted to Unicode in Text); TextEncoding names what it was in,
	// e.g. "zawgyi". Both are empty when Text is as received.
	TextOriginal string `json:"text_original,omitempty"`
	TextEncoding string `json:"text_encoding,omitempty"`
	// Fields holds structured answers a channel collected, such as
	// "missing.name" or "place", keyed by a channel-independent name.
	Fields   map[string]string `json:"fields,omitempty"`
	Location *Location         `json:"location,omitempty"`
	People   []string          `json:"people,omitempty"`
	// Sender identifies the source as the channel saw it (phone number,
	// chat id, user name). Sealed only.
	Sender *Sender `json:"sender,omitempty"`
	// Reply is where a reply to the source goes, if the source wants
	// replies. The gateway also seals it to its own outbound key.
	Reply *ReplyAddress `json:"reply,omitempty"`
	// Inbox is the age recipient of the source's inbox code (web and
	// onion): key-holders seal replies to it, and every tip the source
	// sends from that inbox carries the same recipient, so that it joins
	// the same case.
	Inbox       string          `json:"inbox,omitempty"`
	Attachments []AttachmentRef `json:"attachments,omitempty"`
	// Part is set when a channel had to seal a message in pieces as they
	// arrived (an SMS sent as several parts): the console joins the tips
	// sharing Part.Group.
	Part *Part `json:"part,omitempty"`
}

// Location is where a source says they are, as they gave it. Flare never
// looks a place up anywhere.
type Location struct {
	Latitude  *float64 `json:"lat,omitempty"`
	Longitude *float64 `json:"lon,omitempty"`
	// AccuracyMeters is the horizontal accuracy the device reported.
	AccuracyMeters float64 `json:"accuracy_m,omitempty"`
	// Live is true for a location the source keeps sharing.
	Live  bool   `json:"live,omitempty"`
	Place string `json:"place,omitempty"`
}

// Sender is what a channel knows about who sent a tip.
type Sender struct {
	Phone    string `json:"phone,omitempty"`
	ChatID   string `json:"chat_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	Username string `json:"username,omitempty"`
	Name     string `json:"name,omitempty"`
}

// ReplyAddress is where a reply to the source can be delivered.
type ReplyAddress struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// Part places a tip within a message that arrived in pieces.
type Part struct {
	// Group is the same for every piece of one message; a channel derives
	// it with a keyed hash so that it reveals nothing by itself.
	Group string `json:"group"`
	Index int    `json:"index"` // 1-based
	Total int    `json:"total"`
}

// AttachmentRef points from a tip to an attachment sealed as its own age
// stream. Name, MediaType, Size and SHA256 describe the plaintext.
type AttachmentRef struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	// Chunks is how many chunks the sealed stream was cut into; their
	// concatenation is one age file.
	Chunks     int   `json:"chunks"`
	SealedSize int64 `json:"sealed_size"`
}

// ErrInvalidTip is returned (wrapped) for a tip that cannot be sealed as it is.
var ErrInvalidTip = errors.New("invalid tip")

// Validate checks what the envelope format requires of a tip.
func (t *Tip) Validate() error {
	if t.ID == "" {
		return fmt.Errorf("%w: no id", ErrInvalidTip)
	}
	if t.Channel == "" {
		return fmt.Errorf("%w: no channel", ErrInvalidTip)
	}
	if _, err := ParseKind(string(t.Kind)); err != nil || t.Kind == "" {
		return fmt.Errorf("%w: unknown report kind %q", ErrInvalidTip, t.Kind)
	}
	if !utf8.ValidString(t.Text) || !utf8.ValidString(t.TextOriginal) {
		return fmt.Errorf("%w: text is not valid UTF-8", ErrInvalidTip)
	}
	for k, v := range t.Fields {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("%w: a field is not valid UTF-8", ErrInvalidTip)
		}
	}
	if t.Text == "" && len(t.Attachments) == 0 && t.Location == nil && len(t.Fields) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidTip)
	}
	return nil
}

// CoarsenTime rounds t down to the minute, in UTC.
func CoarsenTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Minute)
}
