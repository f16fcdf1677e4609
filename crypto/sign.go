package crypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// A gateway signs every tip it seals with its own Ed25519 key, inside the
// ciphertext. The key-holders' recipients are public, so anyone who can
// write to the queue can seal a tip to them; only a gateway can sign one.
// A console checks the signature against the gateway keys its key-holder
// configured, never against a key read from the queue.

// gatewayKeyPrefix starts the text form of a gateway's public signing key.
const gatewayKeyPrefix = "flaregw-ed25519:"

// signatureContext separates Flare's tip signatures from any other use of
// the same key.
const signatureContext = "flare tip signature v2\x00"

// GatewayKey is the public half of a gateway's signing key.
type GatewayKey struct {
	key ed25519.PublicKey
}

// String returns the key as "flaregw-ed25519:" and its base64url form, the
// text `flare gateway signing-key` prints and --gateway-key takes.
func (k GatewayKey) String() string {
	return gatewayKeyPrefix + base64.RawURLEncoding.EncodeToString(k.key)
}

// Equal reports whether k and o are the same key.
func (k GatewayKey) Equal(o GatewayKey) bool { return k.key.Equal(o.key) }

// ErrMalformedGatewayKey is returned (wrapped) for text that is not a
// gateway key.
var ErrMalformedGatewayKey = errors.New("malformed gateway key")

// ParseGatewayKey parses the text form of a gateway key.
func ParseGatewayKey(s string) (GatewayKey, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, gatewayKeyPrefix) {
		return GatewayKey{}, fmt.Errorf("%w: want %s… (from `flare gateway signing-key`)", ErrMalformedGatewayKey, gatewayKeyPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s[len(gatewayKeyPrefix):])
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return GatewayKey{}, fmt.Errorf("%w: not a %d-byte key in base64url", ErrMalformedGatewayKey, ed25519.PublicKeySize)
	}
	return GatewayKey{key: ed25519.PublicKey(raw)}, nil
}

// ParseGatewayKeys parses each of ss; an error names the one that failed by
// position, never by content.
func ParseGatewayKeys(ss []string) ([]GatewayKey, error) {
	var out []GatewayKey
	for i, s := range ss {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := ParseGatewayKey(s)
		if err != nil {
			return nil, fmt.Errorf("gateway key %d: %w", i+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// SigningKey is a gateway's private signing key. It never leaves the
// gateway's data directory.
type SigningKey struct {
	key ed25519.PrivateKey
}

// GenerateSigningKey returns a fresh signing key.
func GenerateSigningKey() (*SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return &SigningKey{key: priv}, nil
}

// Public returns the key that consoles check signatures against.
func (k *SigningKey) Public() GatewayKey {
	return GatewayKey{key: k.key.Public().(ed25519.PublicKey)}
}

func (k *SigningKey) sign(tipJSON []byte) []byte {
	return ed25519.Sign(k.key, signedMessage(tipJSON))
}

func signedMessage(tipJSON []byte) []byte {
	msg := make([]byte, 0, len(signatureContext)+len(tipJSON))
	msg = append(msg, signatureContext...)
	return append(msg, tipJSON...)
}

// LoadOrCreateSigningKey reads the signing key at path (PKCS #8 PEM), or,
// if there is no file, creates one with mode 0600. A file readable by
// others is refused: whoever reads it can sign tips as this gateway.
func LoadOrCreateSigningKey(path string) (k *SigningKey, created bool, err error) {
	data, err := readPrivateFile(path)
	if errors.Is(err, errNoFile) {
		k, err := GenerateSigningKey()
		if err != nil {
			return nil, false, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k.key)
		if err != nil {
			return nil, false, fmt.Errorf("encode signing key: %w", err)
		}
		if err := writePrivateFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, false, fmt.Errorf("signing key: %w", err)
		}
		return k, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, false, fmt.Errorf("signing key %s: not a PEM private key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, false, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, false, fmt.Errorf("signing key %s: not an Ed25519 key", path)
	}
	return &SigningKey{key: priv}, false, nil
}

// Trust is the set of gateway keys a key-holder configured. The zero Trust
// knows no gateway: every tip it checks is Unverified.
type Trust struct {
	keys []GatewayKey
}

// NewTrust returns a Trust for keys.
func NewTrust(keys ...GatewayKey) Trust { return Trust{keys: keys} }

// Empty reports whether no gateway key was configured.
func (t Trust) Empty() bool { return len(t.keys) == 0 }

// Check says whether the envelope's signature was made by a trusted key.
func (t Trust) Check(s Signature) Authenticity {
	if t.Empty() {
		return Unverified
	}
	if !s.Valid {
		return Forged
	}
	for _, k := range t.keys {
		if k.Equal(s.Signer) {
			return Authentic
		}
	}
	return Forged
}

// Signature is what an opened envelope says about who signed it.
type Signature struct {
	// Signer is the key named in the envelope; zero if unsigned.
	Signer GatewayKey
	// Valid is true when the envelope was signed and the signature
	// verifies under Signer. It says nothing about whether Signer is
	// trusted: see Trust.Check.
	Valid bool
}
