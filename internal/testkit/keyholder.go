package testkit

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
)

// KeyHolder is a throwaway key-holder for a test: an identity made the way
// flare keygen makes one, written to a 0600 file as a key-holder keeps it.
type KeyHolder struct {
	Recipient       age.Recipient
	RecipientString string
	Identities      []age.Identity
	// File is the identity file's path, for "flare console --identity".
	File string
}

// NewKeyHolder makes a KeyHolder with its identity file in t.TempDir().
func NewKeyHolder(t testing.TB) KeyHolder {
	t.Helper()
	file, recipient, err := crypto.NewIdentity(false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "identity.txt")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	ids, err := crypto.ParseIdentities(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypto.ParseRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	return KeyHolder{Recipient: r, RecipientString: recipient, Identities: ids, File: path}
}
