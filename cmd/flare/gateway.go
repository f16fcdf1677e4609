package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/inbox"
	"github.com/flarehq/flare/channels/onion"
	"github.com/flarehq/flare/channels/sms"
	"github.com/flarehq/flare/channels/telegram"
	"github.com/flarehq/flare/channels/web"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/gateway/alert"
	"github.com/flarehq/flare/ops/config"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// gatewayConfig is every setting of "flare gateway": the core's and each
// channel's. A new channel adds its Config here and its settings below.
type gatewayConfig struct {
	Core     gateway.Config
	Onion    onion.Config
	Telegram telegram.Config
	SMS      sms.Config
	Alert    alert.Config
	Web      web.Config
}

func defaultGatewayConfig() *gatewayConfig {
	return &gatewayConfig{
		Core:     gateway.DefaultConfig(),
		Onion:    onion.DefaultConfig(),
		Telegram: telegram.DefaultConfig(),
		SMS:      sms.DefaultConfig(),
		Alert:    alert.DefaultConfig(),
		Web:      web.DefaultConfig(),
	}
}

func (c *gatewayConfig) settings() []config.Setting {
	var s []config.Setting
	s = append(s, c.Core.Settings()...)
	s = append(s, c.Onion.Settings()...)
	s = append(s, c.Telegram.Settings()...)
	s = append(s, c.SMS.Settings()...)
	s = append(s, c.Alert.Settings()...)
	s = append(s, c.Web.Settings()...)
	return s
}

// loadGatewayConfig fills cfg from args, environ and the config file, and
// returns the settings it knows. --help writes to help (standard output).
func loadGatewayConfig(cfg *gatewayConfig, args, environ []string, help ...io.Writer) ([]config.Setting, error) {
	settings := cfg.settings()
	var w io.Writer = io.Discard
	if len(help) > 0 {
		w = help[0]
	}
	rest, err := config.Load("gateway", settings, args, environ, w)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usageError("unexpected argument %q", rest[0])
	}
	return settings, nil
}

func runGateway(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 && args[0] == "signing-key" {
		return runGatewaySigningKey(a, args[1:])
	}
	if len(args) > 0 && args[0] == "outbound-recipient" {
		return runGatewayOutboundRecipient(a, args[1:])
	}
	cfg := defaultGatewayConfig()
	cfg.Core.DataDir = defaultDataDir(a.environ, cfg.Core.DataDir)
	settings, err := loadGatewayConfig(cfg, args, a.environ, a.stdout)
	if err != nil {
		return err
	}
	log, err := newLogger(a.stderr, cfg.Core.LogLevel, cfg.Core.LogFormat)
	if err != nil {
		return err
	}
	routeLibraryLogs(log)
	for _, k := range config.UnknownEnv(settings, a.environ) {
		log.Warn("unknown FLARE_ variable ignored", "variable", k)
	}
	g, err := openGateway(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer g.Close()
	ln, err := net.Listen("tcp", cfg.Core.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if ln, err = listenTLS(ln, &cfg.Core, log); err != nil {
		return err
	}
	if err := serveStore(ctx, cfg.Core.ConsoleListen, g.queue, log); err != nil {
		ln.Close()
		return err
	}
	adminLn, err := net.Listen("tcp", cfg.Core.AdminListen)
	if err != nil {
		ln.Close()
		return fmt.Errorf("admin listen: %w", err)
	}
	log.Info("gateway listening", "addr", ln.Addr().String(), "admin", adminLn.Addr().String(), "recipients", g.recipients, "queue", describeQueue(cfg.Core.QueueURL()), "alert_targets", len(g.alertTargets))
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go gateway.SweepOrphans(sweepCtx, g.queue, cfg.Core.OrphanAge, gateway.SweepEvery, nil, log)
	return g.run(ctx, ln, adminLn)
}

// run serves the intake on ln and the operator's endpoints on adminLn, and
// runs the alerts and metrics, until ctx is done.
func (g *runningGateway) run(ctx context.Context, ln, adminLn net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); g.notifier.Run(ctx) }()
	go func() { defer wg.Done(); g.metrics.Run(ctx, gateway.MetricsPeriod) }()
	adminErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		adminErr <- gateway.ServeAdmin(ctx, adminLn, g.server.AdminHandler(g.metrics))
	}()
	err := g.server.Run(ctx, ln)
	cancel()
	wg.Wait()
	return errors.Join(err, <-adminErr)
}

// runningGateway is an assembled gateway: its queue, intake and server.
type runningGateway struct {
	queue        queue.Queue
	intake       *gateway.Intake
	server       *gateway.Server
	metrics      *gateway.Metrics
	notifier     *alert.Notifier
	alertTargets []alert.Target
	recipients   int
}

func (g *runningGateway) Close() error { return g.queue.Close() }

// openGateway assembles a gateway from its configuration: recipients,
// data directory, queue, intake and every enabled channel.
func openGateway(ctx context.Context, cfg *gatewayConfig, log *slog.Logger) (*runningGateway, error) {
	core := &cfg.Core
	if err := core.Validate(); err != nil {
		return nil, usageError("%v", err)
	}
	if cfg.Telegram.Enabled() && core.OrphanAge <= cfg.Telegram.DraftMaxAge {
		// A Telegram draft's attachments are stored as they arrive and
		// committed when the draft is sent: the sweep must not take them
		// first.
		return nil, usageError("orphan chunk age %v must be longer than telegram draft max age %v", core.OrphanAge, cfg.Telegram.DraftMaxAge)
	}
	if err := cfg.Web.Validate(); err != nil {
		return nil, usageError("%v", err)
	}
	texts := catalog.New(core.Texts)
	if core.DefaultLanguage != "" {
		if err := texts.SetDefault(core.DefaultLanguage); err != nil {
			return nil, usageError("FLARE_DEFAULT_LANGUAGE: %v", err)
		}
	}
	recipients, err := loadRecipients(core)
	if err != nil {
		return nil, err
	}
	sealer, err := crypto.NewSealer(recipients...)
	if err != nil {
		return nil, fmt.Errorf("%w (give --recipient or --recipients-file)", err)
	}
	if err := gateway.PrepareDataDir(core.DataDir, log); err != nil {
		return nil, err
	}
	signingKey, created, err := crypto.LoadOrCreateSigningKey(signingKeyPath(core))
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("gateway signing key created; give its public half to the key-holders' consoles (--gateway-key)", "gateway_key", signingKey.Public().String())
	}
	sealer = sealer.SignedBy(signingKey)
	outbound, created, err := crypto.LoadOrCreateOutboundIdentity(outboundKeyPath(core))
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("gateway outbound identity created; key-holders seal Telegram and SMS replies to its recipient (--gateway-recipient)", "outbound_recipient", outbound.Recipient().String())
	}
	hasher, err := loadHasher(core)
	if err != nil {
		return nil, err
	}
	targets, err := cfg.Alert.Targets()
	if err != nil {
		return nil, usageError("%v", err)
	}
	if cfg.Alert.TelegramToken != "" && cfg.Alert.TelegramToken == cfg.Telegram.Token {
		// Sources write to the intake bot; the staff chat must not be
		// one getUpdates away from them.
		return nil, usageError("FLARE_ALERT_TELEGRAM_TOKEN must be a bot of its own, not the intake bot (FLARE_TELEGRAM_TOKEN)")
	}
	q, err := backend.Open(ctx, core.QueueURL())
	if err != nil {
		return nil, fmt.Errorf("open queue: %w", err)
	}
	metrics := gateway.NewMetrics(q, core.DataDir, flareVersion())
	notifier := alert.New(q, targets, alert.Options{Text: cfg.Alert.Text, Interval: cfg.Alert.Interval, Log: log, Recorder: metrics})
	intake, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Limits: core.Limits, Log: log, Floors: core.Floors(q),
		Observer: gateway.Observers{metrics, notifier}})
	if err != nil {
		q.Close()
		return nil, err
	}
	// The outbox opens replies sealed to this gateway's outbound identity,
	// only to deliver them.
	outbox, err := gateway.NewOutbox(gateway.OutboxConfig{Queue: q, Identity: outbound, Log: log})
	if err != nil {
		q.Close()
		return nil, err
	}
	deps := channels.Deps{
		Inbox:   inbox.New(q, core.InboxConfig()),
		Sink:    intake,
		Queue:   q,
		Hasher:  hasher,
		Catalog: texts,
		Log:     log,
		Gate:    channels.NewGate(core.Gate, nil),
		Outbox:  outbox,
	}
	chans, err := cfg.channels(deps, outbox)
	if err != nil {
		q.Close()
		return nil, err
	}
	metrics.WatchChannels(chans)
	server := gateway.NewServer(q, log, chans...)
	server.Use(metrics.CountAuthFailures)
	return &runningGateway{
		queue:        q,
		intake:       intake,
		server:       server,
		metrics:      metrics,
		notifier:     notifier,
		alertTargets: targets,
		recipients:   len(recipients),
	}, nil
}

// channels builds every enabled channel. The web intake is always on.
// outbox is where SMS and WhatsApp replies are delivered from.
func (c *gatewayConfig) channels(deps channels.Deps, outbox *gateway.Outbox) ([]channels.Channel, error) {
	w := web.New("web", deps, c.Web)
	out := []channels.Channel{w}
	if c.Onion.Enabled() {
		oc := c.Onion
		oc.DataDir = c.Core.DataDir
		// The onion serves the same pages on its own loopback listener,
		// recording tips as arriving by "onion".
		oc.Handler = web.New("onion", deps, c.Web).Handler()
		ch, err := onion.New(oc, deps)
		if err != nil {
			return nil, fmt.Errorf("onion channel: %w", err)
		}
		out = append(out, ch)
	}
	if c.Telegram.Enabled() {
		ch, err := telegram.New(c.Telegram, deps)
		if err != nil {
			return nil, fmt.Errorf("telegram channel: %w", err)
		}
		out = append(out, ch)
	}
	if c.SMS.Enabled() {
		ch, err := sms.New(c.SMS, deps)
		if err != nil {
			return nil, fmt.Errorf("sms channel: %w", err)
		}
		ch.UseOutbox(outbox)
		out = append(out, ch)
	}
	return out, nil
}

func loadRecipients(core *gateway.Config) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, s := range core.Recipients {
		for _, one := range strings.Split(s, ",") {
			if one = strings.TrimSpace(one); one == "" {
				continue
			}
			r, err := crypto.ParseRecipient(one)
			if err != nil {
				return nil, usageError("%v", err)
			}
			out = append(out, r)
		}
	}
	if core.RecipientsFile != "" {
		f, err := os.Open(core.RecipientsFile)
		if err != nil {
			return nil, fmt.Errorf("recipients file: %w", err)
		}
		defer f.Close()
		rs, err := crypto.ParseRecipientsFile(f)
		if err != nil {
			return nil, usageError("recipients file %s: %v", core.RecipientsFile, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// loadHasher returns the keyed hasher: the configured key, else the one in
// the data directory, made on first start.
func loadHasher(core *gateway.Config) (*channels.Hasher, error) {
	if core.HashKey != "" {
		key, err := hex.DecodeString(core.HashKey)
		if err != nil || len(key) < 32 {
			return nil, usageError("hash key must be at least 64 hex digits")
		}
		return channels.NewHasher(key)
	}
	path := filepath.Join(core.DataDir, "hash.key")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		data = []byte(hex.EncodeToString(key) + "\n")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create hash key: %w", err)
		}
		_, werr := f.Write(data)
		serr := f.Sync()
		if cerr := f.Close(); werr != nil || serr != nil || cerr != nil {
			return nil, fmt.Errorf("write hash key: %w", errors.Join(werr, serr, cerr))
		}
	} else if err != nil {
		return nil, fmt.Errorf("read hash key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("hash key file %s is damaged: %w", path, err)
	}
	return channels.NewHasher(key)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, usageError("log format %q: want text or json", format)
	}
}

// describeQueue names a queue URL for the logs without its password.
func describeQueue(u string) string { return queue.RedactURL(u) }
