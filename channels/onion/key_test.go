package onion

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyCreatedOnceAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "onion")
	k1, created, err := loadOrCreateKey(dir, "")
	if err != nil || !created {
		t.Fatalf("first load: created=%v err=%v", created, err)
	}
	if len(k1.id) != 56 || !strings.HasSuffix(k1.Address(), ".onion") {
		t.Fatalf("address %q is not a v3 onion address", k1.Address())
	}
	for _, f := range []string{keyFile, hostnameFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("key directory has mode %v, want 0700", fi.Mode().Perm())
	}
	host, _ := os.ReadFile(filepath.Join(dir, hostnameFile))
	if string(host) != k1.Address()+"\n" {
		t.Errorf("hostname file = %q, want %q", host, k1.Address()+"\n")
	}
	k2, created, err := loadOrCreateKey(dir, "")
	if err != nil || created {
		t.Fatalf("second load: created=%v err=%v", created, err)
	}
	if k2.id != k1.id {
		t.Fatalf("address changed across loads: %s then %s", k1.id, k2.id)
	}
}

func TestKeyImport(t *testing.T) {
	src, err := newServiceKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"tor file", marshalTorKey(src)},
		{"ADD_ONION blob", []byte(src.addOnionBlob())},
		{"ADD_ONION blob with newline", []byte("  " + src.addOnionBlob() + "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "import")
			if err := os.WriteFile(in, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "onion")
			k, created, err := loadOrCreateKey(dir, in)
			if err != nil || !created {
				t.Fatalf("import: created=%v err=%v", created, err)
			}
			if k.id != src.id {
				t.Fatalf("imported address %s, want %s", k.id, src.id)
			}
			stored, _ := os.ReadFile(filepath.Join(dir, keyFile))
			if !bytes.Equal(stored, marshalTorKey(src)) {
				t.Fatal("stored key is not the imported key in tor's format")
			}
			// Importing the same key again is fine; another is refused.
			if _, _, err := loadOrCreateKey(dir, in); err != nil {
				t.Fatalf("re-import of the same key: %v", err)
			}
			other, _ := newServiceKey()
			otherPath := filepath.Join(t.TempDir(), "other")
			os.WriteFile(otherPath, marshalTorKey(other), 0o600)
			if _, _, err := loadOrCreateKey(dir, otherPath); err == nil || !strings.Contains(err.Error(), "differs") {
				t.Fatalf("import of a different key over a kept one: err = %v, want a refusal", err)
			}
			if k, _, _ := loadOrCreateKey(dir, ""); k.id != src.id {
				t.Fatal("kept key changed after a refused import")
			}
		})
	}
}

func TestKeyRefusesReadableByOthers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "onion")
	if _, _, err := loadOrCreateKey(dir, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, keyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateKey(dir, ""); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("err = %v, want a refusal of a world-readable key", err)
	}
}

func TestParseKeyRejects(t *testing.T) {
	good, _ := newServiceKey()
	unclamped := bytes.Clone(good.secret)
	unclamped[0] |= 1
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("hello")},
		{"truncated tor file", marshalTorKey(good)[:80]},
		{"tor file with trailing bytes", append(marshalTorKey(good), '\n')},
		{"bad base64", []byte("ED25519-V3:!!!")},
		{"short blob", []byte("ED25519-V3:" + base64.StdEncoding.EncodeToString(good.secret[:32]))},
		{"unclamped scalar", []byte("ED25519-V3:" + base64.StdEncoding.EncodeToString(unclamped))},
		{"v2 key", []byte("RSA1024:MIICXAIBAAKBgQC")},
		{"public key file", []byte("== ed25519v1-public: type0 ==\x00\x00\x00" + strings.Repeat("x", 32))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseKey(tt.data); !errors.Is(err, ErrBadKey) {
				t.Fatalf("parseKey: err = %v, want ErrBadKey", err)
			}
		})
	}
}

func FuzzParseKey(f *testing.F) {
	good, _ := newServiceKey()
	f.Add(marshalTorKey(good))
	f.Add([]byte(good.addOnionBlob()))
	f.Add([]byte("ED25519-V3:"))
	f.Add([]byte("== ed25519v1-secret: type0 =="))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseKey(data)
		if err != nil {
			if !errors.Is(err, ErrBadKey) {
				t.Fatalf("error not ErrBadKey: %v", err)
			}
			return
		}
		// A key that parses round-trips through both forms.
		k2, err := parseKey(marshalTorKey(k))
		if err != nil || k2.id != k.id {
			t.Fatalf("tor-format round trip: %v", err)
		}
		k3, err := parseKey([]byte(k.addOnionBlob()))
		if err != nil || k3.id != k.id {
			t.Fatalf("ADD_ONION round trip: %v", err)
		}
	})
}
