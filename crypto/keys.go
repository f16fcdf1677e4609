package crypto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
)

// pluginUI is how plugins (hardware keys) talk to the person at the
// keyboard: on the terminal, never in the logs.
var pluginUI = plugin.NewTerminalUI(
	func(format string, v ...any) { fmt.Fprintf(os.Stderr, format+"\n", v...) },
	func(format string, v ...any) { fmt.Fprintf(os.Stderr, "warning: "+format+"\n", v...) },
)

// NewIdentity makes a fresh key-holder identity: X25519 by default, the
// post-quantum hybrid (age1pq…) if postQuantum. It returns the identity
// file's contents, in age-keygen's format, and the public recipient.
func NewIdentity(postQuantum bool, now time.Time) (file []byte, recipient string, err error) {
	var secret string
	if postQuantum {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, "", fmt.Errorf("generate identity: %w", err)
		}
		secret, recipient = id.String(), id.Recipient().String()
	} else {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, "", fmt.Errorf("generate identity: %w", err)
		}
		secret, recipient = id.String(), id.Recipient().String()
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# created: %s\n", now.Format(time.RFC3339))
	fmt.Fprintf(&b, "# public key: %s\n", recipient)
	fmt.Fprintf(&b, "%s\n", secret)
	return b.Bytes(), recipient, nil
}

// ErrPassphraseNeeded is returned by LoadIdentities for a passphrase-
// protected identity file when no passphrase source was given.
var ErrPassphraseNeeded = errors.New("identity file is passphrase-protected")

// LoadIdentities reads a key-holder's identity file: plain (age-keygen
// format, X25519 or post-quantum), passphrase-protected (an age file,
// binary or armored, encrypted with a passphrase, holding such a file), or
// holding plugin identities (AGE-PLUGIN-NAME-1…, e.g. from
// age-plugin-yubikey). passphrase is called only for a protected file.
func LoadIdentities(path string, passphrase func() (string, error)) ([]age.Identity, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	return ParseIdentities(data, passphrase)
}

// ParseIdentities is LoadIdentities on the file's contents.
func ParseIdentities(data []byte, passphrase func() (string, error)) ([]age.Identity, error) {
	if isAgeFile(data) {
		if passphrase == nil {
			return nil, ErrPassphraseNeeded
		}
		pass, err := passphrase()
		if err != nil {
			return nil, fmt.Errorf("read passphrase: %w", err)
		}
		sid, err := age.NewScryptIdentity(pass)
		if err != nil {
			return nil, fmt.Errorf("passphrase identity: %w", err)
		}
		var src io.Reader = bytes.NewReader(data)
		if bytes.HasPrefix(data, []byte(armor.Header)) {
			src = armor.NewReader(bytes.NewReader(data))
		}
		r, err := age.Decrypt(src, sid)
		if err != nil {
			return nil, fmt.Errorf("unlock identity file (wrong passphrase?): %w", err)
		}
		inner, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("unlock identity file: %w", err)
		}
		return ParseIdentities(inner, nil)
	}
	var ids []age.Identity
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "AGE-PLUGIN-") {
			id, err := plugin.NewIdentity(line, pluginUI)
			if err != nil {
				return nil, fmt.Errorf("identity line %d: plugin: %w", n, err)
			}
			ids = append(ids, id)
			continue
		}
		parsed, err := age.ParseIdentities(strings.NewReader(line))
		if err != nil {
			// age's error never includes the key material.
			return nil, fmt.Errorf("identity line %d: %w", n, err)
		}
		ids = append(ids, parsed...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	if len(ids) == 0 {
		return nil, errors.New("no identities found in identity file")
	}
	return ids, nil
}

func isAgeFile(data []byte) bool {
	return bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")) || bytes.HasPrefix(data, []byte(armor.Header))
}
