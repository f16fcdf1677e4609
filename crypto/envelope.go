package crypto

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// EnvelopeVersion is the version of the sealed-tip plaintext format that
// this package writes. See docs/envelope.md. Version 1 (the tip's fields at
// the top level, unsigned) is still read.
const EnvelopeVersion = 2

// MaxEnvelopeSize bounds the plaintext of a sealed tip. Attachments are
// sealed separately, so this only has to hold text and fields.
const MaxEnvelopeSize = 4 << 20

// ErrUnsupportedVersion is returned (wrapped) when a sealed tip uses an
// envelope version this build does not know.
var ErrUnsupportedVersion = errors.New("unsupported envelope version")

// envelopeV1 is the JSON object inside a version 1 sealed tip.
type envelopeV1 struct {
	Version int `json:"flare_envelope"`
	Tip
}

// envelopeV2 is the JSON object inside a version 2 sealed tip: the tip as
// its own JSON value, and the gateway's signature over exactly those bytes.
type envelopeV2 struct {
	Version int             `json:"flare_envelope"`
	Signer  string          `json:"signer,omitempty"`
	Sig     string          `json:"sig,omitempty"`
	Tip     json.RawMessage `json:"tip"`
}

// encodeEnvelope returns the padded plaintext of a sealed tip: one JSON
// object followed by spaces up to PaddedSize. JSON allows trailing
// whitespace, so `age -d tip.age | jq .` still works on it. With a signing
// key, the envelope carries its signature over the tip's JSON.
func encodeEnvelope(t *Tip, key *SigningKey) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	tipJSON, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	env := envelopeV2{Version: EnvelopeVersion, Tip: tipJSON}
	if key != nil {
		env.Signer = key.Public().String()
		env.Sig = base64.RawURLEncoding.EncodeToString(key.sign(tipJSON))
	}
	body, err := json.Marshal(env)
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

// decodeEnvelope parses the plaintext of a sealed tip and checks its
// signature, if it has one, against the key it names.
func decodeEnvelope(plain []byte) (*Tip, Signature, error) {
	plain = bytes.TrimRight(plain, " \n")
	var probe struct {
		Version *int `json:"flare_envelope"`
	}
	if err := json.Unmarshal(plain, &probe); err != nil {
		return nil, Signature{}, fmt.Errorf("decode envelope: %w", err)
	}
	if probe.Version == nil {
		return nil, Signature{}, fmt.Errorf("decode envelope: not a Flare envelope")
	}
	switch *probe.Version {
	case 1:
		// Unknown fields are allowed: a newer gateway may add optional
		// ones, and an older console must still show the rest.
		var env envelopeV1
		if err := json.Unmarshal(plain, &env); err != nil {
			return nil, Signature{}, fmt.Errorf("decode envelope: %w", err)
		}
		if err := checkAttachmentRefs(env.Attachments); err != nil {
			return nil, Signature{}, fmt.Errorf("decode envelope: %w", err)
		}
		return &env.Tip, Signature{}, nil
	case 2:
		var env envelopeV2
		if err := json.Unmarshal(plain, &env); err != nil {
			return nil, Signature{}, fmt.Errorf("decode envelope: %w", err)
		}
		if len(env.Tip) == 0 {
			return nil, Signature{}, fmt.Errorf("decode envelope: no tip")
		}
		var t Tip
		if err := json.Unmarshal(env.Tip, &t); err != nil {
			return nil, Signature{}, fmt.Errorf("decode envelope: tip: %w", err)
		}
		if err := checkAttachmentRefs(t.Attachments); err != nil {
			return nil, Signature{}, fmt.Errorf("decode envelope: %w", err)
		}
		return &t, verifyEnvelope(env), nil
	default:
		return nil, Signature{}, fmt.Errorf("decode envelope: %w %d", ErrUnsupportedVersion, *probe.Version)
	}
}

// verifyEnvelope checks env's signature against the key env names. A
// missing or malformed signer or signature is simply not Valid: the tip is
// still shown, flagged, so that nothing a source sent is hidden.
func verifyEnvelope(env envelopeV2) Signature {
	if env.Signer == "" {
		return Signature{}
	}
	signer, err := ParseGatewayKey(env.Signer)
	if err != nil {
		return Signature{}
	}
	sig, err := base64.RawURLEncoding.DecodeString(env.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Signature{Signer: signer}
	}
	return Signature{Signer: signer, Valid: ed25519.Verify(signer.key, signedMessage(env.Tip), sig)}
}
