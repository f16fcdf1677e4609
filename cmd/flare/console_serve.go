package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/flarehq/flare/console/web"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/ops/config"
	"github.com/flarehq/flare/queue/backend"
)

// consoleServeConfig is the settings of "flare console serve".
type consoleServeConfig struct {
	keyholderConfig
	GatewayRecipients []string
	Recipients        []string
	RecipientsFile    string
	Name              string
	Listen            string
	AllowRemote       bool
	TLSCert           string
	TLSKey            string
}

func (c *consoleServeConfig) settings() []config.Setting {
	return append(c.keyholderConfig.settings(), []config.Setting{
		{Key: "gateway_recipients", Env: "FLARE_GATEWAY_RECIPIENTS", Flag: "gateway-recipient", Help: "the outbound recipient of each gateway that may deliver Telegram and SMS replies (flare gateway outbound-recipient); repeatable", Value: config.Strings(&c.GatewayRecipients)},
		{Key: "recipients", Env: "FLARE_RECIPIENTS", Flag: "recipient", Help: "every key-holder's age recipient, yours included: triage notes are sealed to them; repeatable", Value: config.Strings(&c.Recipients)},
		{Key: "recipients_file", Env: "FLARE_RECIPIENTS_FILE", Flag: "recipients-file", Help: "file of every key-holder's recipient, one a line (the gateway's recipients file)", Value: config.String(&c.RecipientsFile)},
		{Key: "console.name", Env: "FLARE_CONSOLE_NAME", Flag: "name", Help: "your name in triage notes and history (default: your public key)", Value: config.String(&c.Name)},
		{Key: "console.listen", Env: "FLARE_CONSOLE_LISTEN", Flag: "listen", Help: "address to serve on (default 127.0.0.1 on a free port)", Value: config.String(&c.Listen)},
		{Key: "console.allow_remote", Env: "FLARE_CONSOLE_ALLOW_REMOTE", Flag: "allow-remote", Help: "allow a non-loopback --listen address (needs --tls-cert and --tls-key)", Value: config.Bool(&c.AllowRemote)},
		{Key: "console.tls_cert", Env: "FLARE_CONSOLE_TLS_CERT", Flag: "tls-cert", Help: "TLS certificate file, for --allow-remote", Value: config.String(&c.TLSCert)},
		{Key: "console.tls_key", Env: "FLARE_CONSOLE_TLS_KEY", Flag: "tls-key", Help: "TLS key file, for --allow-remote", Value: config.String(&c.TLSKey)},
	}...)
}

// runConsoleServe runs the triage console's web UI until interrupted.
func runConsoleServe(ctx context.Context, a *app, args []string) error {
	var cfg consoleServeConfig
	cfg.Queue = "file:" + filepath.Join(defaultDataDir(a.environ, "flare-data"), "flare.db")
	pos, err := config.Load("console serve", cfg.settings(), args, a.environ, a.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("serve takes no arguments")
	}
	if cfg.Identity == "" {
		return usageError("give the key-holder identity with --identity FILE")
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return usageError("give both --tls-cert and --tls-key")
	}
	keys, err := cfg.gatewayKeys(a.stderr)
	if err != nil {
		return err
	}
	gatewayRecipients, err := parseGatewayRecipients(cfg.GatewayRecipients)
	if err != nil {
		return err
	}
	ids, err := crypto.LoadIdentities(cfg.Identity, a.passphrase)
	if err != nil {
		return err
	}
	recipients, err := loadRecipients(&gateway.Config{Recipients: cfg.Recipients, RecipientsFile: cfg.RecipientsFile})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if len(recipients) == 0 {
		fmt.Fprintln(a.stderr, "warning: no --recipients-file: triage notes will be sealed to your identity only, and other key-holders will not see them")
	}
	q, err := backend.Open(ctx, cfg.Queue)
	if err != nil {
		return fmt.Errorf("open queue: %w", err)
	}
	defer q.Close()
	return web.Serve(ctx, web.Config{
		Queue:             q,
		Identities:        ids,
		GatewayKeys:       keys,
		GatewayRecipients: gatewayRecipients,
		Recipients:        recipients,
		Name:              cfg.Name,
		Listen:            cfg.Listen,
		AllowRemote:       cfg.AllowRemote,
		TLSCert:           cfg.TLSCert,
		TLSKey:            cfg.TLSKey,
		Out:               a.stdout,
		Log:               log,
	})
}
