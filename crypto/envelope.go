package crypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// EnvelopeVersion is the version of the sealed-tip plaintext format that
// this package writes. See docs/envelope.md.
const EnvelopeVersion = 1

// MaxEnvelopeSize bounds the plaintext of a sealed tip. Attachments are
// sealed separately, so this only has to hold text and fields.
const MaxEnvelopeSize = 4 << 20

// ErrUnsupportedVersion is returned (wrapped) when a sealed tip uses an
// envelope version this build does not know.
var ErrUnsupportedVersion = errors.New("unsupported envelope version")

// envelope is the JSON object inside a sealed tip.
type envelope struct {
	Version int `json:"flare_envelope"`
	Tip
}

// encodeEnvelope returns the padded plaintext of a sealed tip: one JSON
// object followed by spaces up to PaddedSize. JSON allows trailing
// whitespace, so `age -d tip.age | jq .` still works on it.
func encodeEnvelope(t *Tip) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(envelope{Version: EnvelopeVersion, Tip: *t})
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	body = append(body, '\n')
	if len(body) > MaxEnvelopeSize {
		return nil, fmt.Errorf("%w: envelope of %d bytes exceeds %d", ErrInvalidTip, len(body), MaxEnvelopeSize)
	}
	padded := make([]byte, PaddedSize(int64(len(body))))
	copy(padded, body)
	for i := len(body); i < len(padded); i++ {
		padded[i] = ' '
	}
	return padded, nil
}

// decodeEnvelope parses the plaintext of a sealed tip.
func decodeEnvelope(plain []byte) (*Tip, error) {
	plain = bytes.TrimRight(plain, " \n")
	var probe struct {
		Version *int `json:"flare_envelope"`
	}
	if err := json.Unmarshal(plain, &probe); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	if probe.Version == nil {
		return nil, fmt.Errorf("decode envelope: not a Flare envelope")
	}
	if *probe.Version != EnvelopeVersion {
		return nil, fmt.Errorf("decode envelope: %w %d", ErrUnsupportedVersion, *probe.Version)
	}
	// Unknown fields are allowed: a newer gateway may add optional ones
	// within version 1, and an older console must still show the rest.
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	if err := checkAttachmentRefs(env.Attachments); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	return &env.Tip, nil
}
