package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
)

// outboundKeyPath is where a gateway keeps the age identity that opens the
// replies it delivers to Telegram and SMS sources.
func outboundKeyPath(core *gateway.Config) string {
	return filepath.Join(core.DataDir, "outbound.key")
}

// runGatewayOutboundRecipient is "flare gateway outbound-recipient": it
// prints the recipient that key-holders' consoles seal Telegram and SMS
// replies to (--gateway-recipient, FLARE_GATEWAY_RECIPIENTS). The identity
// is made, 0600, if the data directory has none yet.
func runGatewayOutboundRecipient(a *app, args []string) error {
	cfg := defaultGatewayConfig()
	if _, err := loadGatewayConfig(cfg, args, a.environ, a.stderr); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Core.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	id, created, err := crypto.LoadOrCreateOutboundIdentity(outboundKeyPath(&cfg.Core))
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(a.stderr, "created %s\n", outboundKeyPath(&cfg.Core))
	}
	fmt.Fprintln(a.stdout, id.Recipient().String())
	return nil
}
