package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
)

// signingKeyPath is where a gateway keeps the Ed25519 key it signs every
// sealed tip with.
func signingKeyPath(core *gateway.Config) string {
	return filepath.Join(core.DataDir, "signing.key")
}

// runGatewaySigningKey is "flare gateway signing-key": it prints the public
// half of the gateway's signing key, for the key-holders' consoles
// (--gateway-key, FLARE_GATEWAY_KEYS). The key is made, 0600, if the data
// directory has none yet, so that consoles can be set up before the
// gateway's first start.
func runGatewaySigningKey(a *app, args []string) error {
	cfg := defaultGatewayConfig()
	if _, err := loadGatewayConfig(cfg, args, a.environ, a.stderr); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Core.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	key, created, err := crypto.LoadOrCreateSigningKey(signingKeyPath(&cfg.Core))
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(a.stderr, "created %s\n", signingKeyPath(&cfg.Core))
	}
	fmt.Fprintln(a.stdout, key.Public().String())
	return nil
}
