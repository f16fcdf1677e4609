package onion

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cretz/bine/torutil"
	"github.com/cretz/bine/torutil/ed25519"
)

// The onion service's key lives in <data-dir>/onion/ in tor's own format,
// so that an operator can move it into a HiddenServiceDir (or back) as is.
const (
	keyFile      = "hs_ed25519_secret_key"
	hostnameFile = "hostname"
)

// torSecretKeyHeader starts tor's hs_ed25519_secret_key file: a 29-byte tag
// padded with NULs to 32 bytes, then the 64-byte expanded secret key.
var torSecretKeyHeader = []byte("== ed25519v1-secret: type0 ==\x00\x00\x00")

// addOnionKeyPrefix starts a key in ADD_ONION's form.
const addOnionKeyPrefix = "ED25519-V3:"

// ErrBadKey is returned (wrapped) for a key file that is neither tor's
// hs_ed25519_secret_key format nor an ADD_ONION "ED25519-V3:" key.
var ErrBadKey = errors.New("not a v3 onion service key")

// serviceKey is a v3 onion service key: the 64-byte expanded ed25519
// secret key tor uses, and the service id derived from it.
type serviceKey struct {
	secret ed25519.PrivateKey
	id     string // 56 base32 characters, without ".onion"
}

// Address is the service's .onion host name.
func (k serviceKey) Address() string { return k.id + ".onion" }

// addOnionBlob is the key as ADD_ONION takes it.
func (k serviceKey) addOnionBlob() string {
	return addOnionKeyPrefix + base64.StdEncoding.EncodeToString(k.secret)
}

// newServiceKey makes a fresh key.
func newServiceKey() (serviceKey, error) {
	kp, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return serviceKey{}, fmt.Errorf("generate onion key: %w", err)
	}
	return keyFromExpanded(kp.PrivateKey())
}

func keyFromExpanded(secret []byte) (serviceKey, error) {
	if len(secret) != 64 {
		return serviceKey{}, fmt.Errorf("%w: secret key is %d bytes, want 64", ErrBadKey, len(secret))
	}
	// An expanded ed25519 scalar is clamped: low 3 bits clear, bit 254
	// set, bit 255 clear. Anything else was not made by tor or by us.
	if secret[0]&7 != 0 || secret[31]&0xc0 != 0x40 {
		return serviceKey{}, fmt.Errorf("%w: secret scalar is not clamped", ErrBadKey)
	}
	sk := ed25519.PrivateKey(bytes.Clone(secret))
	return serviceKey{secret: sk, id: torutil.OnionServiceIDFromV3PublicKey(sk.PublicKey())}, nil
}

// parseKey reads a v3 key in either of the forms operators have: tor's
// hs_ed25519_secret_key file, or ADD_ONION's "ED25519-V3:<base64>" (as
// printed by ADD_ONION and kept by other controllers), with surrounding
// white space allowed.
func parseKey(data []byte) (serviceKey, error) {
	if bytes.HasPrefix(data, torSecretKeyHeader[:29]) {
		if len(data) != len(torSecretKeyHeader)+64 || !bytes.Equal(data[:32], torSecretKeyHeader) {
			return serviceKey{}, fmt.Errorf("%w: tor key file is %d bytes, want 96", ErrBadKey, len(data))
		}
		return keyFromExpanded(data[32:])
	}
	s := strings.TrimSpace(string(data))
	if blob, ok := strings.CutPrefix(s, addOnionKeyPrefix); ok {
		raw, err := base64.StdEncoding.DecodeString(blob)
		if err != nil {
			return serviceKey{}, fmt.Errorf("%w: bad base64 after %s", ErrBadKey, addOnionKeyPrefix)
		}
		return keyFromExpanded(raw)
	}
	if strings.HasPrefix(s, "RSA1024:") || strings.HasPrefix(s, "== ed25519v1-public") {
		return serviceKey{}, fmt.Errorf("%w: a v2 (RSA) key or a public key; give the v3 secret key", ErrBadKey)
	}
	return serviceKey{}, fmt.Errorf("%w: expected tor's hs_ed25519_secret_key file or %q", ErrBadKey, addOnionKeyPrefix+"…")
}

// marshalTorKey returns k in tor's hs_ed25519_secret_key format.
func marshalTorKey(k serviceKey) []byte {
	return append(bytes.Clone(torSecretKeyHeader), k.secret...)
}

// loadOrCreateKey returns the service key kept in dir, creating it on first
// use: from importPath if given, else fresh. A kept key always wins; an
// import that disagrees with it is refused rather than silently changing
// the address sources know. It also (re)writes dir/hostname.
func loadOrCreateKey(dir, importPath string) (k serviceKey, created bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return serviceKey{}, false, fmt.Errorf("onion key directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return serviceKey{}, false, fmt.Errorf("onion key directory: %w", err)
	}
	path := filepath.Join(dir, keyFile)
	var imported *serviceKey
	if importPath != "" {
		data, err := os.ReadFile(importPath)
		if err != nil {
			return serviceKey{}, false, fmt.Errorf("import onion key: %w", err)
		}
		ik, err := parseKey(data)
		if err != nil {
			return serviceKey{}, false, fmt.Errorf("import onion key %s: %w", importPath, err)
		}
		imported = &ik
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if k, err = parseKey(data); err != nil {
			return serviceKey{}, false, fmt.Errorf("onion key %s: %w", path, err)
		}
		if imported != nil && imported.id != k.id {
			return serviceKey{}, false, fmt.Errorf("onion key %s (address %s) differs from the key to import (address %s): move the kept key away first to change the address", path, k.Address(), imported.Address())
		}
		if err := checkPrivate(path); err != nil {
			return serviceKey{}, false, err
		}
	case errors.Is(err, fs.ErrNotExist):
		if imported != nil {
			k = *imported
		} else if k, err = newServiceKey(); err != nil {
			return serviceKey{}, false, err
		}
		if err := writeFileAtomic(path, marshalTorKey(k), 0o600); err != nil {
			return serviceKey{}, false, fmt.Errorf("store onion key: %w", err)
		}
		created = true
	default:
		return serviceKey{}, false, fmt.Errorf("onion key: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, hostnameFile), []byte(k.Address()+"\n"), 0o600); err != nil {
		return serviceKey{}, false, fmt.Errorf("write onion hostname: %w", err)
	}
	return k, created, nil
}

// checkPrivate refuses a key file that others can read: whoever holds the
// key can impersonate the service.
func checkPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("onion key %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so a crash never leaves half a key.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
