package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flarehq/flare/crypto"
)

// TestGatewayKeyCommands: the two public keys a gateway gives key-holders
// are printed by subcommands, made once, kept 0600, and stable.
func TestGatewayKeyCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		cmd, file string
		parse     func(string) error
	}{
		{"signing-key", "signing.key", func(s string) error { _, err := crypto.ParseGatewayKey(s); return err }},
		{"outbound-recipient", "outbound.key", func(s string) error { _, err := crypto.ParseRecipient(s); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			first := strings.TrimSpace(runFlare(t, "gateway", tt.cmd, "--data-dir", dir))
			if err := tt.parse(first); err != nil {
				t.Fatalf("printed %q: %v", first, err)
			}
			if strings.Contains(first, "SECRET") || strings.Contains(first, "PRIVATE") {
				t.Fatalf("printed a secret: %q", first)
			}
			fi, err := os.Stat(filepath.Join(dir, tt.file))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v, mode %v", tt.file, err, fi.Mode().Perm())
			}
			if again := strings.TrimSpace(runFlare(t, "gateway", tt.cmd, "--data-dir", dir)); again != first {
				t.Fatalf("second run printed %q, first %q", again, first)
			}
		})
	}
}
