package crypto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func TestInboxCodeFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		c, err := NewInboxCode()
		if err != nil {
			t.Fatal(err)
		}
		s := c.String()
		if len(s) != InboxCodeDigits+4 || strings.Count(s, " ") != 4 {
			t.Fatalf("code %q: want 5 groups of 4 digits", s)
		}
		if seen[s] {
			t.Fatalf("code %q drawn twice", s)
		}
		seen[s] = true
		back, err := ParseInboxCode(s)
		if err != nil || back != c {
			t.Fatalf("ParseInboxCode(%q) = %v, %v", s, back, err)
		}
	}
}

func TestParseInboxCode(t *testing.T) {
	const want = "01234567890123456789"
	tests := []struct {
		in string
		ok bool
	}{
		{"0123 4567 8901 2345 6789", true},
		{"+01-2345-6789 (0123) 456.789", true},
		{"๐๑๒๓ ๔๕๖๗ ๘๙๐๑ ๒๓๔๕ ๖๗๘๙", true},   // Thai digits
		{"០១២៣ ៤៥៦៧ ៨៩០១ ២៣៤៥ ៦៧៨៩", true},   // Khmer digits
		{"၀၁၂၃ ၄၅၆၇ ၈၉၀၁ ၂၃၄၅ ၆၇၈၉", true},   // Burmese digits
		{"٠١٢٣ ٤٥٦٧ ٨٩٠١ ٢٣٤٥ ٦٧٨٩", true},   // Arabic-Indic digits
		{"0123 4567 8901 2345 678", false},   // one short
		{"0123 4567 8901 2345 67890", false}, // one long
		{"0123 4567 8901 2345 678O", false},  // a letter O
		{"", false},
	}
	for _, tt := range tests {
		c, err := ParseInboxCode(tt.in)
		if !tt.ok {
			if !errors.Is(err, ErrMalformedInboxCode) {
				t.Errorf("ParseInboxCode(%q): err = %v, want ErrMalformedInboxCode", tt.in, err)
			}
			continue
		}
		if err != nil || c.digits != want {
			t.Errorf("ParseInboxCode(%q) = %q, %v; want %s", tt.in, c.digits, err, want)
		}
	}
}

func TestInboxIdentityIsStableAndAge(t *testing.T) {
	c, _ := ParseInboxCode("0123 4567 8901 2345 6789")
	other, _ := ParseInboxCode("0123 4567 8901 2345 6788")
	id1, err := c.Identity()
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := c.Identity()
	id3, _ := other.Identity()
	if id1.String() != id2.String() {
		t.Fatal("the same code derived two identities")
	}
	if id1.String() == id3.String() {
		t.Fatal("two codes derived the same identity")
	}
	// The derived identity is an ordinary age identity: age parses its
	// text form, and it opens what is sealed to its recipient.
	parsed, err := age.ParseX25519Identity(id1.String())
	if err != nil {
		t.Fatalf("age refuses the derived identity: %v", err)
	}
	var buf bytes.Buffer
	w, _ := age.Encrypt(&buf, id1.Recipient())
	io.WriteString(w, "hello")
	w.Close()
	r, err := age.Decrypt(&buf, parsed)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "hello" {
		t.Fatalf("decrypted %q", got)
	}
	if InboxID(id1.Recipient().String()) == InboxID(id3.Recipient().String()) || len(InboxID(id1.Recipient().String())) != 32 {
		t.Fatal("inbox ids collide or have the wrong length")
	}
	if _, err := (InboxCode{}).Identity(); err == nil {
		t.Fatal("the zero code derived an identity")
	}
}

// TestBech32MatchesAge checks the encoder against age's own: a random
// identity's recipient, encoded here, is the string age prints.
func TestBech32MatchesAge(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	parsed, err := age.ParseX25519Identity(id.String())
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Recipient().String() != id.Recipient().String() {
		t.Fatal("age round trip failed")
	}
	if got := bech32Encode("age", []byte{0, 1, 2}); got != strings.ToLower(got) {
		t.Fatalf("lower-case hrp gave %q", got)
	}
	if got := bech32Encode("AGE-SECRET-KEY-", make([]byte, 32)); got != strings.ToUpper(got) || !strings.HasPrefix(got, "AGE-SECRET-KEY-1") {
		t.Fatalf("upper-case hrp gave %q", got)
	}
}

func TestSealOpenReply(t *testing.T) {
	inbox, _ := age.GenerateX25519Identity()
	keyholder, _ := age.GenerateX25519Identity()
	stranger, _ := age.GenerateX25519Identity()
	r := &Reply{ID: "r1", Text: "Which building? ស្រុក", Lang: "km", Written: time.Date(2026, 12, 2, 15, 47, 12, 0, time.UTC)}
	sealed, err := SealReply(r, inbox.Recipient(), keyholder.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []age.Identity{inbox, keyholder} {
		got, err := OpenReply(sealed, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != r.Text || got.Lang != "km" || !got.Written.Equal(time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)) {
			t.Fatalf("opened %+v", got)
		}
	}
	if _, err := OpenReply(sealed, stranger); !IsNotRecipient(err) {
		t.Fatalf("a stranger: err = %v", err)
	}
	for name, bad := range map[string]*Reply{
		"no id":    {Text: "x"},
		"empty":    {ID: "r"},
		"too long": {ID: "r", Text: strings.Repeat("x", MaxReplyBytes+1)},
		"bad utf8": {ID: "r", Text: "\xff"},
	} {
		if _, err := SealReply(bad, inbox.Recipient()); !errors.Is(err, ErrInvalidReply) {
			t.Errorf("%s: err = %v, want ErrInvalidReply", name, err)
		}
	}
}

func BenchmarkInboxIdentity(b *testing.B) {
	c, _ := NewInboxCode()
	for b.Loop() {
		if _, err := c.Identity(); err != nil {
			b.Fatal(err)
		}
	}
}
