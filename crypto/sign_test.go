package crypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

func newSigningKey(t *testing.T) *SigningKey {
	t.Helper()
	k, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// reseal opens sealed with id, lets edit change the plaintext, and seals it
// again to r with the stock age API: what someone who can write to the queue
// and knows the public recipients can do.
func reseal(t *testing.T, sealed []byte, id age.Identity, r age.Recipient, edit func(map[string]any)) []byte {
	t.Helper()
	rd, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(bytes.TrimRight(plain, " \n"), &env); err != nil {
		t.Fatal(err)
	}
	edit(env)
	body, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	w.Close()
	return out.Bytes()
}

func sealAge(t *testing.T, plain string, r age.Recipient) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := age.Encrypt(&out, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, plain)
	w.Close()
	return out.Bytes()
}

func TestSignedTipAuthenticity(t *testing.T) {
	id, r := newX25519(t)
	gw := newSigningKey(t)
	other := newSigningKey(t)
	plain, _ := NewSealer(r)
	signed := plain.SignedBy(gw)
	forgedBy := plain.SignedBy(other)

	sealedSigned, err := signed.SealTip(sampleTip())
	if err != nil {
		t.Fatal(err)
	}
	sealedUnsigned, err := plain.SealTip(sampleTip())
	if err != nil {
		t.Fatal(err)
	}
	sealedOther, err := forgedBy.SealTip(sampleTip())
	if err != nil {
		t.Fatal(err)
	}
	tampered := reseal(t, sealedSigned, id, r, func(env map[string]any) {
		env["tip"].(map[string]any)["text"] = "send help to another place"
	})
	stolenSigner := reseal(t, sealedOther, id, r, func(env map[string]any) {
		env["signer"] = gw.Public().String()
	})
	version1 := sealAge(t, `{"flare_envelope":1,"id":"x","channel":"sms","kind":"distress","text":"help"}`, r)

	trusted := NewTrust(gw.Public())
	tests := []struct {
		name   string
		sealed []byte
		trust  Trust
		want   Authenticity
	}{
		{"signed by the trusted gateway", sealedSigned, trusted, Authentic},
		{"signed, no gateway key configured", sealedSigned, Trust{}, Unverified},
		{"unsigned", sealedUnsigned, trusted, Forged},
		{"signed by an unknown key", sealedOther, trusted, Forged},
		{"text changed after signing", tampered, trusted, Forged},
		{"another key's signature under the trusted key's name", stolenSigner, trusted, Forged},
		{"version 1 envelope, which has no signature", version1, trusted, Forged},
		{"version 1 envelope, no gateway key configured", version1, Trust{}, Unverified},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tip, sig, err := OpenSignedTip(tc.sealed, id)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if tip.Text == "" {
				t.Error("the tip's text was not decoded")
			}
			if got := tc.trust.Check(sig); got != tc.want {
				t.Errorf("authenticity = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSignedEnvelopeOpensWithStockAgeAndJSON(t *testing.T) {
	id, r := newX25519(t)
	gw := newSigningKey(t)
	s, _ := NewSealer(r)
	sealed, err := s.SignedBy(gw).SealTip(sampleTip())
	if err != nil {
		t.Fatal(err)
	}
	rd, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(rd)
	var env struct {
		Version int    `json:"flare_envelope"`
		Signer  string `json:"signer"`
		Sig     string `json:"sig"`
		Tip     Tip    `json:"tip"`
	}
	if err := json.Unmarshal(plain, &env); err != nil {
		t.Fatalf("plaintext with its padding is not one JSON value: %v", err)
	}
	if env.Version != 2 || env.Signer != gw.Public().String() || env.Sig == "" || env.Tip.Text != sampleTip().Text {
		t.Errorf("envelope = version %d signer %q sig %q text %q", env.Version, env.Signer, env.Sig, env.Tip.Text)
	}
}

func TestGatewayKeyText(t *testing.T) {
	k := newSigningKey(t).Public()
	got, err := ParseGatewayKey("  " + k.String() + "\n")
	if err != nil || !got.Equal(k) {
		t.Fatalf("round trip: %v, equal %v", err, got.Equal(k))
	}
	for _, bad := range []string{
		"",
		"age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
		"flaregw-ed25519:",
		"flaregw-ed25519:AAAA",
		"flaregw-ed25519:" + strings.Repeat("A", 43) + "!",
	} {
		if _, err := ParseGatewayKey(bad); !errors.Is(err, ErrMalformedGatewayKey) {
			t.Errorf("ParseGatewayKey(%q) = %v, want ErrMalformedGatewayKey", bad, err)
		}
	}
	secretish := "AGE-SECRET-KEY-1QQQQ"
	_, err = ParseGatewayKeys([]string{k.String(), secretish})
	if err == nil || strings.Contains(err.Error(), secretish) || !strings.Contains(err.Error(), "gateway key 2") {
		t.Errorf("error should name the position, not the value: %v", err)
	}
}

func TestLoadOrCreateSigningKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing.key")
	k1, created, err := LoadOrCreateSigningKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode().Perm(), err)
	}
	k2, created, err := LoadOrCreateSigningKey(path)
	if err != nil || created || !k2.Public().Equal(k1.Public()) {
		t.Fatalf("load again: %v created=%v same=%v", err, created, k2.Public().Equal(k1.Public()))
	}

	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateSigningKey(path); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("group-readable key: %v", err)
	}

	garbage := filepath.Join(dir, "garbage.key")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	if _, _, err := LoadOrCreateSigningKey(garbage); err == nil {
		t.Error("garbage key file accepted")
	}
	if _, _, err := LoadOrCreateSigningKey(filepath.Join(dir, "missing", "k")); err == nil {
		t.Error("key in a missing directory: no error")
	}
}
