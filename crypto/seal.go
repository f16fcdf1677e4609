package crypto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

// Sealer encrypts tips and attachments to a fixed set of key-holder
// recipients. It holds public keys only and is safe for concurrent use.
type Sealer struct {
	recipients []age.Recipient
	// signer signs every tip sealed; nil seals unsigned tips, which
	// consoles that trust any gateway key flag as forged.
	signer *SigningKey
}

// ErrNoRecipients is returned when a Sealer would have no one to seal to.
var ErrNoRecipients = errors.New("no key-holder recipients configured")

// NewSealer returns a Sealer for recipients. It refuses an empty list, and a
// list that age cannot encrypt to at once (post-quantum and classic
// recipients mixed), so that a misconfigured gateway fails at start rather
// than on the first tip.
func NewSealer(recipients ...age.Recipient) (*Sealer, error) {
	if len(recipients) == 0 {
		return nil, ErrNoRecipients
	}
	if _, err := age.Encrypt(io.Discard, recipients...); err != nil {
		return nil, fmt.Errorf("key-holder recipients: %w", err)
	}
	return &Sealer{recipients: recipients}, nil
}

// Recipients returns the recipients s seals to.
func (s *Sealer) Recipients() []age.Recipient { return slices.Clone(s.recipients) }

// SignedBy returns a Sealer like s that signs every tip with key, inside the
// ciphertext.
func (s *Sealer) SignedBy(key *SigningKey) *Sealer {
	c := *s
	c.signer = key
	return &c
}

// ParseRecipient parses one age recipient string: age1… (X25519) or
// age1pq1… (post-quantum hybrid). Plugin recipients (age1yubikey1…, any
// age1NAME1…) are accepted too; sealing to one runs the plugin binary,
// age-plugin-NAME, which must be on PATH.
//
// Its errors never repeat a secret: a secret key or plugin identity given
// where a recipient belongs is refused as ErrSecretNotRecipient, and
// other input is quoted only when it has a recipient's form (age1 and
// bech32 letters), which is public.
func ParseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	if looksSecret(s) {
		return nil, ErrSecretNotRecipient
	}
	if !strings.HasPrefix(s, "age1") {
		return nil, errors.New("malformed recipient: not an age recipient (age1…); the value is not shown")
	}
	if !recipientForm(s) {
		return nil, errors.New("malformed recipient: age1… followed by characters a recipient cannot have; the value is not shown")
	}
	rs, err := age.ParseRecipients(strings.NewReader(s))
	if err == nil && len(rs) == 1 {
		return rs[0], nil
	}
	if name, _, perr := plugin.ParseRecipient(s); perr == nil && name != "" && name != "pq" {
		r, err := plugin.NewRecipient(s, pluginUI)
		if err != nil {
			return nil, fmt.Errorf("plugin recipient %q: %w", s, err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("malformed recipient %q: %v", s, err)
}

// ErrSecretNotRecipient is returned for a secret key (AGE-SECRET-KEY-…)
// or a plugin identity (AGE-PLUGIN-…) given where a public recipient
// belongs. Its text names the mistake and never the key.
var ErrSecretNotRecipient = errors.New("this is a secret key, not a recipient: give its public key (age1…) instead, as `age-keygen -y KEYFILE` prints it; the key is not shown here, and whoever saw it should be treated as holding it")

// looksSecret reports whether s holds an age secret key or plugin
// identity anywhere (Bech32 is case-insensitive, so any case counts).
func looksSecret(s string) bool {
	u := strings.ToUpper(s)
	return strings.Contains(u, "AGE-SECRET-KEY-") || strings.Contains(u, "AGE-PLUGIN-")
}

// recipientForm reports whether s has the form of an age recipient:
// age1, then Bech32's lower-case letters and digits, of a sensible length
// (post-quantum recipients are about 2,000 characters).
func recipientForm(s string) bool {
	if len(s) > 4096 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ParseRecipientsFile reads recipients one per line, ignoring blank lines
// and lines starting with "#", like age's -R option. Errors name the line.
func ParseRecipientsFile(r io.Reader) ([]age.Recipient, error) {
	var out []age.Recipient
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20) // post-quantum recipients are about 2 KB
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rcpt, err := ParseRecipient(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, rcpt)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read recipients: %w", err)
	}
	return out, nil
}

// SealTip returns t as one age message to every recipient, its plaintext
// padded (see PaddedSize).
func (s *Sealer) SealTip(t *Tip) ([]byte, error) {
	plain, err := encodeEnvelope(t, s.signer)
	if err != nil {
		return nil, fmt.Errorf("seal tip: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(len(plain) + 256*len(s.recipients))
	w, err := age.Encrypt(&buf, s.recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal tip: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("seal tip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal tip: %w", err)
	}
	return buf.Bytes(), nil
}

// SealBytes seals an arbitrary small plaintext to the Sealer's recipients,
// padded like a tip. The console uses it for triage state.
func (s *Sealer) SealBytes(plain []byte) ([]byte, error) {
	return sealPadded(plain, s.recipients)
}

func sealPadded(plain []byte, recipients []age.Recipient) ([]byte, error) {
	padded := make([]byte, PaddedSize(int64(len(plain)+1)))
	copy(padded, plain)
	padded[len(plain)] = '\n'
	for i := len(plain) + 1; i < len(padded); i++ {
		padded[i] = ' '
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if _, err := w.Write(padded); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return buf.Bytes(), nil
}

// OpenBytes opens what SealBytes sealed and strips its padding.
func OpenBytes(sealed []byte, identities ...age.Identity) ([]byte, error) {
	plain, err := open(sealed, identities)
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(plain, " \n"), nil
}

// OpenTip decrypts a sealed tip with a key-holder's identities. It returns
// an error wrapping age.ErrIncorrectIdentity (check with IsNotRecipient)
// when none of the identities is a recipient of the tip.
func OpenTip(sealed []byte, identities ...age.Identity) (*Tip, error) {
	t, _, err := OpenSignedTip(sealed, identities...)
	return t, err
}

// OpenSignedTip is OpenTip that also returns what the envelope says about
// its signature; Trust.Check turns that into an Authenticity.
func OpenSignedTip(sealed []byte, identities ...age.Identity) (*Tip, Signature, error) {
	plain, err := open(sealed, identities)
	if err != nil {
		return nil, Signature{}, err
	}
	t, sig, err := decodeEnvelope(plain)
	if err != nil {
		return nil, Signature{}, fmt.Errorf("open tip: %w", err)
	}
	return t, sig, nil
}

func open(sealed []byte, identities []age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(sealed), identities...)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxEnvelopeSize*2))
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return plain, nil
}

// IsNotRecipient reports whether err means the identity used is not one of
// the recipients the message was sealed to.
func IsNotRecipient(err error) bool {
	var nm *age.NoIdentityMatchError
	return errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity)
}
