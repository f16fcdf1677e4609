package crypto

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
)

func newX25519(t testing.TB) (*age.X25519Identity, age.Recipient) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id, id.Recipient()
}

func sampleTip() *Tip {
	lat, lon := 11.0843, 102.7121
	return &Tip{
		ID:       "tip1",
		Receipt:  "K7QF-2M9D",
		Received: CoarsenTime(time.Date(2026, 11, 23, 3, 4, 55, 0, time.UTC)),
		Channel:  "web",
		Kind:     KindDistress,
		Language: "km",
		Text:     "they took my passport, building C",
		Fields:   map[string]string{"people": "4"},
		Location: &Location{Latitude: &lat, Longitude: &lon, Place: "Bavet"},
		Sender:   &Sender{Phone: "+85512345678"},
	}
}

func TestSealOpenTip(t *testing.T) {
	x1, r1 := newX25519(t)
	x2, r2 := newX25519(t)
	_, r3 := newX25519(t)
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	pq2, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		recipients []age.Recipient
		identity   age.Identity
	}{
		{"x25519 first of three", []age.Recipient{r1, r2, r3}, x1},
		{"x25519 second of three", []age.Recipient{r1, r2, r3}, x2},
		{"post-quantum", []age.Recipient{pq.Recipient(), pq2.Recipient()}, pq2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSealer(tt.recipients...)
			if err != nil {
				t.Fatal(err)
			}
			want := sampleTip()
			sealed, err := s.SealTip(want)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(sealed, []byte("passport")) || bytes.Contains(sealed, []byte("+855")) {
				t.Fatal("plaintext visible in sealed tip")
			}
			got, err := OpenTip(sealed, tt.identity)
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != want.Text || got.Kind != want.Kind || got.Sender.Phone != want.Sender.Phone ||
				*got.Location.Latitude != *want.Location.Latitude || !got.Received.Equal(want.Received) || got.Fields["people"] != "4" {
				t.Fatalf("opened tip differs: %+v", got)
			}
		})
	}
}

func TestOpenTipWrongIdentity(t *testing.T) {
	_, r1 := newX25519(t)
	other, _ := newX25519(t)
	s, _ := NewSealer(r1)
	sealed, err := s.SealTip(sampleTip())
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenTip(sealed, other)
	if !IsNotRecipient(err) {
		t.Fatalf("want a not-a-recipient error, got %v", err)
	}
}

func TestNewSealerRefuses(t *testing.T) {
	_, x := newX25519(t)
	pq, _ := age.GenerateHybridIdentity()
	if _, err := NewSealer(); !errors.Is(err, ErrNoRecipients) {
		t.Fatalf("no recipients: got %v", err)
	}
	if _, err := NewSealer(x, pq.Recipient()); err == nil || !strings.Contains(err.Error(), "post-quantum") {
		t.Fatalf("mixed recipients: got %v", err)
	}
}

func TestParseRecipient(t *testing.T) {
	_, x := newX25519(t)
	pq, _ := age.GenerateHybridIdentity()
	good := []string{x.(*age.X25519Recipient).String(), pq.Recipient().String(), "  " + x.(*age.X25519Recipient).String() + "\n"}
	for _, s := range good {
		if _, err := ParseRecipient(s); err != nil {
			t.Errorf("ParseRecipient(%.20q…): %v", s, err)
		}
	}
	bad := []string{"", "age1", "age1qqqq", "AGE-SECRET-KEY-1XYZ", "ssh-ed25519 AAAA", "age1pq1broken"}
	for _, s := range bad {
		_, err := ParseRecipient(s)
		if err == nil {
			t.Errorf("ParseRecipient(%q) accepted", s)
			continue
		}
		if !strings.Contains(err.Error(), "recipient") {
			t.Errorf("ParseRecipient(%q) error does not say what was wrong: %v", s, err)
		}
	}
}

func TestParseRecipientsFileNamesLine(t *testing.T) {
	_, x := newX25519(t)
	file := fmt.Sprintf("# key-holders\n%s\n\nage1notakey\n", x.(*age.X25519Recipient).String())
	_, err := ParseRecipientsFile(strings.NewReader(file))
	if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "age1notakey") {
		t.Fatalf("want an error naming line 4 and the recipient, got %v", err)
	}
	rs, err := ParseRecipientsFile(strings.NewReader("# only a comment\n" + x.(*age.X25519Recipient).String()))
	if err != nil || len(rs) != 1 {
		t.Fatalf("got %d recipients, %v", len(rs), err)
	}
}

func TestSealedSizeHidesLength(t *testing.T) {
	_, r := newX25519(t)
	s, _ := NewSealer(r)
	sizes := map[int]bool{}
	for _, text := range []string{"help", "I am in building C, third floor, they took our passports, 12 of us", strings.Repeat("x", 600)} {
		tip := sampleTip()
		tip.Text = text
		sealed, err := s.SealTip(tip)
		if err != nil {
			t.Fatal(err)
		}
		sizes[len(sealed)] = true
	}
	if len(sizes) != 1 {
		t.Fatalf("short tips sealed to %d different sizes; padding leaks length", len(sizes))
	}
}

func TestEnvelopeRefusesUnknownVersion(t *testing.T) {
	for _, plain := range []string{`{"flare_envelope":2,"id":"x"}`, `{"flare_envelope":2,"tip":"x"}`, `{"id":"x"}`, `not json`} {
		if _, _, err := decodeEnvelope([]byte(plain)); err == nil {
			t.Errorf("decodeEnvelope(%q) accepted", plain)
		}
	}
	if _, _, err := decodeEnvelope([]byte(`{"flare_envelope":3}`)); !errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("version 3: want ErrUnsupportedVersion, got %v", err)
	}
}

func TestSealTipValidates(t *testing.T) {
	_, r := newX25519(t)
	s, _ := NewSealer(r)
	for name, mutate := range map[string]func(*Tip){
		"no id":        func(t *Tip) { t.ID = "" },
		"bad kind":     func(t *Tip) { t.Kind = "urgent" },
		"invalid utf8": func(t *Tip) { t.Text = "\xff\xfe" },
		"empty": func(t *Tip) {
			t.Text, t.Fields, t.Location = "", nil, nil
		},
	} {
		tip := sampleTip()
		mutate(tip)
		if _, err := s.SealTip(tip); !errors.Is(err, ErrInvalidTip) {
			t.Errorf("%s: want ErrInvalidTip, got %v", name, err)
		}
	}
}

// memChunks is a ChunkStore in memory, to test the streaming code apart
// from any backend (the backends have their own conformance suite).
type memChunks struct {
	mu     sync.Mutex
	chunks map[string][]byte
	maxLen int
}

func (m *memChunks) PutChunk(ctx context.Context, blob string, i int, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chunks == nil {
		m.chunks = map[string][]byte{}
	}
	m.chunks[fmt.Sprint(blob, "/", i)] = append([]byte(nil), data...)
	m.maxLen = max(m.maxLen, len(data))
	return nil
}

func (m *memChunks) GetChunk(ctx context.Context, blob string, i int) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.chunks[fmt.Sprint(blob, "/", i)]
	if !ok {
		return nil, errors.New("no chunk")
	}
	return d, nil
}

func TestAttachmentRoundTrip(t *testing.T) {
	id, r := newX25519(t)
	s, _ := NewSealer(r)
	for _, size := range []int{0, 1, 1000, ChunkSize - 1, ChunkSize, 3*ChunkSize + 12345} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			store := &memChunks{}
			ref, err := s.SealAttachment(context.Background(), store, AttachmentInfo{ID: "a", Name: "photo.jpg", MediaType: "image/jpeg"}, bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(data)
			if ref.Size != int64(size) || ref.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("ref %+v", ref)
			}
			if store.maxLen > ChunkSize {
				t.Fatalf("a chunk of %d bytes", store.maxLen)
			}
			if ref.SealedSize < PaddedSize(int64(size)) {
				t.Fatalf("sealed size %d smaller than padded size", ref.SealedSize)
			}
			rd, err := OpenAttachment(context.Background(), store, ref, id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rd)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("attachment differs after round trip")
			}
		})
	}
}

func TestAttachmentTooLarge(t *testing.T) {
	_, r := newX25519(t)
	s, _ := NewSealer(r)
	_, err := s.SealAttachment(context.Background(), &memChunks{}, AttachmentInfo{ID: "a", MaxSize: 100}, bytes.NewReader(make([]byte, 101)))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
	if _, err := s.SealAttachment(context.Background(), &memChunks{}, AttachmentInfo{ID: "b", MaxSize: 100}, bytes.NewReader(make([]byte, 100))); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
}

func TestAttachmentTamperedRefDetected(t *testing.T) {
	id, r := newX25519(t)
	s, _ := NewSealer(r)
	store := &memChunks{}
	ref, err := s.SealAttachment(context.Background(), store, AttachmentInfo{ID: "a"}, strings.NewReader("evidence"))
	if err != nil {
		t.Fatal(err)
	}
	ref.SHA256 = strings.Repeat("0", 64)
	rd, err := OpenAttachment(context.Background(), store, ref, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rd); !errors.Is(err, ErrAttachmentCorrupt) {
		t.Fatalf("want ErrAttachmentCorrupt, got %v", err)
	}
}

func TestSealBytesRoundTrip(t *testing.T) {
	id, r := newX25519(t)
	s, _ := NewSealer(r)
	sealed, err := s.SealBytes([]byte(`{"status":"resolved"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenBytes(sealed, id)
	if err != nil || string(got) != `{"status":"resolved"}` {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestIdentityFiles(t *testing.T) {
	for _, pq := range []bool{false, true} {
		file, recipient, err := NewIdentity(pq, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(file), "# public key: "+recipient) || !strings.HasPrefix(string(file), "# created: ") {
			t.Fatalf("not in age-keygen format:\n%s", file)
		}
		ids, err := ParseIdentities(file, nil)
		if err != nil || len(ids) != 1 {
			t.Fatalf("parse own identity file: %v", err)
		}
		rcpt, err := ParseRecipient(recipient)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := NewSealer(rcpt)
		sealed, _ := s.SealTip(sampleTip())
		if _, err := OpenTip(sealed, ids...); err != nil {
			t.Fatalf("pq=%v: %v", pq, err)
		}
	}
}

func TestPassphraseProtectedIdentity(t *testing.T) {
	file, recipient, _ := NewIdentity(false, time.Now())
	sr, _ := age.NewScryptRecipient("correct horse")
	sr.SetWorkFactor(10)
	var buf bytes.Buffer
	w, _ := age.Encrypt(&buf, sr)
	w.Write(file)
	w.Close()
	if _, err := ParseIdentities(buf.Bytes(), nil); !errors.Is(err, ErrPassphraseNeeded) {
		t.Fatalf("no passphrase source: got %v", err)
	}
	if _, err := ParseIdentities(buf.Bytes(), func() (string, error) { return "wrong", nil }); err == nil {
		t.Fatal("wrong passphrase accepted")
	}
	ids, err := ParseIdentities(buf.Bytes(), func() (string, error) { return "correct horse", nil })
	if err != nil {
		t.Fatal(err)
	}
	rcpt, _ := ParseRecipient(recipient)
	s, _ := NewSealer(rcpt)
	sealed, _ := s.SealTip(sampleTip())
	if _, err := OpenTip(sealed, ids...); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSealTip(b *testing.B) {
	var rs []age.Recipient
	for range 3 {
		_, r := newX25519(b)
		rs = append(rs, r)
	}
	s, _ := NewSealer(rs...)
	tip := sampleTip()
	tip.Text = strings.Repeat("a", 1024)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.SealTip(tip); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestParseRecipientRefusesSecrets: a secret key or plugin identity given
// as a recipient is refused as such, and the error never repeats it.
func TestParseRecipientRefusesSecrets(t *testing.T) {
	id, _ := newX25519(t)
	key := id.String()
	data := strings.TrimPrefix(key, "AGE-SECRET-KEY-1")
	for _, s := range []string{key, strings.ToLower(key), "  " + key + "\n", "AGE-PLUGIN-YUBIKEY-1" + data, id.Recipient().String() + " " + key} {
		_, err := ParseRecipient(s)
		if !errors.Is(err, ErrSecretNotRecipient) {
			t.Errorf("ParseRecipient(secret) = %v, want ErrSecretNotRecipient", err)
		}
		if err != nil && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(data[:12])) {
			t.Errorf("error shows the key: %v", err)
		}
	}
	_, err := ParseRecipientsFile(strings.NewReader("# public key: " + id.Recipient().String() + "\n" + key + "\n"))
	if !errors.Is(err, ErrSecretNotRecipient) || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), data[:12]) {
		t.Errorf("identity file as recipients file: %v", err)
	}
	for _, s := range []string{"hunter2-not-a-key", "age1" + "HUNTER2"} {
		if _, err := ParseRecipient(s); err == nil || strings.Contains(err.Error(), "unter2") {
			t.Errorf("ParseRecipient(%q) = %v: want an error that does not quote it", s, err)
		}
	}
}
