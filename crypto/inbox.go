package crypto

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode"

	"filippo.io/age"
	"golang.org/x/crypto/argon2"
)

// A source on the web or onion form gets an inbox code with their receipt.
// The code is the only key to their replies: the gateway derives an age
// identity from it in memory (Argon2id, so that guessing codes is slow even
// for someone holding a copy of the store), shows what is sealed to it, and
// forgets it. The tip carries only the matching recipient, inside its seal.

// InboxCodeDigits is how many decimal digits an inbox code has: 20 digits
// are 66 bits, above the 64 a guesser would have to search.
const InboxCodeDigits = 20

// Argon2id cost of deriving an inbox identity: 8 MiB and one pass, about
// 10 ms on one core here (BenchmarkInboxIdentity). Every web tip pays it
// once, since its inbox recipient is sealed in, so it is kept low: the
// codes' 66 bits, not the cost, are what keep guessing out of reach, and
// Argon2id only makes each guess dearer for someone holding a copy of the
// store (2^65 guesses of 10 ms each). 19 MiB and two passes cost 36 ms a
// tip, a twentieth of the intake's throughput. The gateway bounds how many
// derivations run at once (memory) and how often a source may try a code
// (rate limits).
const (
	inboxArgonTime    = 1
	inboxArgonMemory  = 8 << 10 // KiB
	inboxArgonThreads = 1
)

// InboxArgonMemoryBytes is the memory one derivation takes, for callers that
// bound how many run at once.
const InboxArgonMemoryBytes = inboxArgonMemory << 10

var inboxSalt = []byte("flare inbox code v1")

// ErrMalformedInboxCode is returned (wrapped) for text that is not an inbox
// code: the wrong number of digits, or letters among them.
var ErrMalformedInboxCode = errors.New("not an inbox code")

// InboxCode is a source's inbox code, as its digits.
type InboxCode struct {
	digits string
}

// NewInboxCode returns a random inbox code.
func NewInboxCode() (InboxCode, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(InboxCodeDigits), nil)
	n, err := rand.Int(rand.Reader, max)
	if err != nil {
		return InboxCode{}, fmt.Errorf("inbox code: %w", err)
	}
	return InboxCode{digits: fmt.Sprintf("%0*s", InboxCodeDigits, n.String())}, nil
}

// ParseInboxCode reads an inbox code as a source types it: spaces, dashes,
// dots, brackets and a leading + are ignored, and digits of any script
// (Thai ๑๒๓, Khmer ១២៣, Burmese ၁၂၃, Arabic-Indic, …) count as the same
// digits, since a phone keyboard may give either.
func ParseInboxCode(s string) (InboxCode, error) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '+' || r == '\u00a0' || r == '\t':
			continue
		case unicode.Is(unicode.Nd, r):
			b.WriteByte('0' + digitValue(r))
		default:
			return InboxCode{}, fmt.Errorf("%w: only digits, please", ErrMalformedInboxCode)
		}
		if b.Len() > InboxCodeDigits {
			return InboxCode{}, fmt.Errorf("%w: more than %d digits", ErrMalformedInboxCode, InboxCodeDigits)
		}
	}
	if b.Len() != InboxCodeDigits {
		return InboxCode{}, fmt.Errorf("%w: want %d digits", ErrMalformedInboxCode, InboxCodeDigits)
	}
	return InboxCode{digits: b.String()}, nil
}

// digitValue returns the value of a decimal digit of any script. Unicode
// encodes every script's decimal digits as runs of ten consecutive code
// points from zero to nine (some runs touch), so the value is the distance
// from the run's start, modulo ten.
func digitValue(r rune) byte {
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return byte((r - start) % 10)
}

// String returns the code grouped for reading aloud and for hiding among
// phone numbers: "0812 3456 7890 1234 5678".
func (c InboxCode) String() string {
	var b strings.Builder
	for i := 0; i < len(c.digits); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.digits[i:min(i+4, len(c.digits))])
	}
	return b.String()
}

// IsZero reports whether c is the zero InboxCode.
func (c InboxCode) IsZero() bool { return c.digits == "" }

// Identity derives the inbox's age identity. It costs 8 MiB and about
// 10 ms: callers bound concurrency and rate.
func (c InboxCode) Identity() (*age.X25519Identity, error) {
	if c.IsZero() {
		return nil, fmt.Errorf("%w: empty", ErrMalformedInboxCode)
	}
	key := argon2.IDKey([]byte(c.digits), inboxSalt, inboxArgonTime, inboxArgonMemory, inboxArgonThreads, 32)
	id, err := age.ParseX25519Identity(bech32Encode("AGE-SECRET-KEY-", key))
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("derive inbox identity: %w", err)
	}
	return id, nil
}

// InboxID names an inbox in the store: a hash of its recipient. It reveals
// nothing about the code, and the code cannot be found from it faster than
// by deriving each guess's identity.
func InboxID(recipient string) string {
	h := sha256.Sum256([]byte("flare inbox id v1\x00" + recipient))
	return hex.EncodeToString(h[:16])
}
