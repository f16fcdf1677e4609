package crypto

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestDecodeRefusesNegativeAttachmentNumbers: a tip forged by someone who
// can write to the queue once carried "size": -1 on to a console that
// sized a buffer by it (make panicked). Decoding refuses such a tip with
// a clear error.
func TestDecodeRefusesNegativeAttachmentNumbers(t *testing.T) {
	const head = `{"flare_envelope":1,"id":"t","channel":"web","kind":"tip","text":"x","attachments":[`
	cases := []struct {
		name, ref, want string
	}{
		{"negative size", `{"id":"att-a","size":-1,"sha256":"00","chunks":1,"sealed_size":10}`, "attachment 1 has a negative size (-1)"},
		{"negative chunks", `{"id":"att-a","size":5,"sha256":"00","chunks":-3,"sealed_size":10}`, "attachment 1 has a negative chunk count (-3)"},
		{"negative sealed size", `{"id":"att-a","size":5,"sha256":"00","chunks":1,"sealed_size":-10}`, "attachment 1 has a negative sealed size (-10)"},
		{"second attachment", `{"id":"att-a","size":5,"sha256":"00","chunks":1,"sealed_size":10},{"id":"att-b","size":-9223372036854775808,"chunks":1}`, "attachment 2 has a negative size"},
	}
	const head2 = `{"flare_envelope":2,"tip":{"id":"t","channel":"web","kind":"tip","text":"x","attachments":[`
	for _, c := range cases {
		for version, plain := range map[int]string{1: head + c.ref + "]}", 2: head2 + c.ref + "]}}"} {
			t.Run(fmt.Sprintf("%s/v%d", c.name, version), func(t *testing.T) {
				tip, _, err := decodeEnvelope([]byte(plain))
				if err == nil {
					t.Fatalf("decoded a tip with %s: %+v", c.name, tip.Attachments)
				}
				if !errors.Is(err, ErrInvalidTip) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want ErrInvalidTip saying %q", err, c.want)
				}
			})
		}
	}
	ok := head + `{"id":"att-a","size":0,"sha256":"00","chunks":1,"sealed_size":10}]}`
	if _, _, err := decodeEnvelope([]byte(ok)); err != nil {
		t.Fatalf("an empty attachment (size 0) is refused: %v", err)
	}
}

// FuzzDecodeEnvelope checks that decoding any plaintext never panics and
// never returns an attachment reference a buffer cannot be sized by.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"flare_envelope":1,"id":"t","channel":"web","kind":"tip","text":"hello"}`))
	f.Add([]byte(`{"flare_envelope":1,"id":"t","channel":"web","kind":"tip","attachments":[{"id":"att-a","size":-1,"chunks":1}]}`))
	f.Add([]byte(`{"flare_envelope":1,"id":"t","channel":"web","kind":"tip","attachments":[{"id":"att-a","size":3,"chunks":-1}]}`))
	f.Add([]byte(`{"flare_envelope":2}`))
	f.Add([]byte(`{"flare_envelope":2,"tip":{"id":"t","channel":"web","kind":"tip","attachments":[{"id":"att-a","size":-1,"chunks":1}]}}`))
	f.Add([]byte(`{"flare_envelope":2,"signer":"flaregw-ed25519:AAAA","sig":"AA","tip":{"id":"t","channel":"web","kind":"tip","text":"x"}}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		tip, _, err := decodeEnvelope(plain)
		if err != nil {
			return
		}
		for _, a := range tip.Attachments {
			if a.Size < 0 || a.Chunks < 0 || a.SealedSize < 0 {
				t.Fatalf("decoded a negative attachment reference: %+v", a)
			}
			_ = make([]byte, min(64, a.Size))
		}
	})
}

// TestOpenTipRefusesForgedNegativeSize seals a forged envelope as anyone
// with the key-holders' public recipient can, and opens it as a console
// does.
func TestOpenTipRefusesForgedNegativeSize(t *testing.T) {
	id, rcpt := newX25519(t)
	plain := []byte(`{"flare_envelope":1,"id":"forged","channel":"sms","kind":"distress","text":"x","attachments":[{"id":"att-x","size":-4096,"sha256":"00","chunks":1}]}`)
	sealed, err := sealPadded(plain, []age.Recipient{rcpt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenTip(sealed, id); !errors.Is(err, ErrInvalidTip) || !strings.Contains(err.Error(), "negative size") {
		t.Fatalf("OpenTip of a forged tip with a negative size: err = %v, want ErrInvalidTip", err)
	}
}
