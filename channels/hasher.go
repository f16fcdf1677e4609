package channels

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Hasher computes keyed hashes of identifiers (chat ids, phone numbers,
// provider message ids) so that a channel can recognise the same sender or
// the same retried message without keeping the identifier. The key is the
// deployment's secret: every gateway instance of a deployment shares it, so
// that a retry that lands on another instance is still recognised.
type Hasher struct {
	key []byte
}

// NewHasher returns a Hasher with key, which must be at least 32 bytes.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < 32 {
		return nil, errors.New("hash key must be at least 32 bytes")
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// Sum returns the keyed hash of parts under purpose, as URL-safe base64.
// Different purposes give unrelated hashes for the same parts, so a rate
// limiter's keys cannot be joined with an idempotency marker's.
func (h *Hasher) Sum(purpose string, parts ...string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(purpose))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
