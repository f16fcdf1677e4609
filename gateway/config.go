package gateway

import (
	"fmt"
	"github.com/flarehq/flare/channels/inbox"
	"net"
	"path/filepath"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/ops/config"
)

// Config is the gateway core's configuration; each channel has its own.
type Config struct {
	Listen         string
	AdminListen    string
	Recipients     []string
	RecipientsFile string
	Queue          string
	DataDir        string
	LogLevel       string
	LogFormat      string
	// HashKey is the deployment's keyed-hash secret, hex; empty means a
	// key generated once in DataDir. Gateways sharing one Redis must
	// share it.
	HashKey string
	Limits  channels.Limits
	// OrphanAge is how old the chunks of an upload that never became a
	// tip must be before the gateway deletes them (see SweepOrphans).
	OrphanAge time.Duration
	// InboxTryEvery and InboxTryBurst rate-limit how often one address
	// class (an IPv4 /24, an IPv6 /48, everyone through tor) may try an
	// inbox code.
	InboxTryEvery time.Duration
	InboxTryBurst int
	// Gate bounds what the web and onion listeners take in; DiskFloor
	// and RedisMemoryFloor are the headroom below which attachments, then
	// text, are refused. See intake_config.go.
	Gate             channels.GateConfig
	DiskFloor        int64
	RedisMemoryFloor int64
	// TLSCert and TLSKey, when set, make the intake listener serve HTTPS
	// with this PEM pair, reloaded when the files change.
	TLSCert, TLSKey string
	// ConsoleListen, when set, serves the store to remote consoles
	// (queue/remote) on this loopback address, for a tor onion service
	// with client authorization to publish.
	ConsoleListen string
	// Texts overrides any text a source sees: language → key → text.
	Texts map[string]map[string]string
	// DefaultLanguage is the language a source sees when neither their
	// choice, their browser nor their messenger names one Flare has.
	DefaultLanguage string
}

// DefaultConfig returns the defaults: listen on loopback, keep data in
// ./flare-data, queue in the embedded store there.
func DefaultConfig() Config {
	return Config{
		Listen:      "127.0.0.1:8080",
		AdminListen: "127.0.0.1:9090",
		DataDir:     "flare-data",
		LogLevel:    "info",
		LogFormat:   "text",
		Limits:      channels.DefaultLimits,
		OrphanAge:   DefaultOrphanAge,

		InboxTryEvery: 20 * time.Second,
		InboxTryBurst: 5,

		Gate:             channels.DefaultGateConfig(),
		DiskFloor:        DefaultDiskFloor,
		RedisMemoryFloor: DefaultRedisMemoryFloor,
	}
}

// Settings lists the core settings.
func (c *Config) Settings() []config.Setting {
	return append([]config.Setting{
		{Key: "listen", Env: "FLARE_LISTEN", Flag: "listen", Help: "address for the web intake and webhooks (host:port)", Value: config.String(&c.Listen)},
		{Key: "admin_listen", Env: "FLARE_ADMIN_LISTEN", Flag: "admin-listen", Help: "address for the operator's /healthz, /readyz and /metrics (host:port); keep it off the intake's address and off the internet", Value: config.String(&c.AdminListen)},
		{Key: "recipients", Env: "FLARE_RECIPIENTS", Flag: "recipient", Help: "a key-holder's age recipient (age1… or age1pq1…); repeatable, comma-separated in the environment", Value: config.Strings(&c.Recipients)},
		{Key: "recipients_file", Env: "FLARE_RECIPIENTS_FILE", Flag: "recipients-file", Help: "file of key-holder recipients, one a line, # comments (as age -R)", Value: config.String(&c.RecipientsFile)},
		{Key: "queue", Env: "FLARE_QUEUE", Flag: "queue", Help: "queue URL: file:PATH (embedded store) or redis://host:port/db; default file:DATA-DIR/flare.db", Value: config.String(&c.Queue)},
		{Key: "data_dir", Env: "FLARE_DATA_DIR", Flag: "data-dir", Help: "directory for the gateway's own state (keys, embedded store); created 0700", Value: config.String(&c.DataDir)},
		{Key: "log_level", Env: "FLARE_LOG_LEVEL", Flag: "log-level", Help: "debug, info, warn or error", Value: config.String(&c.LogLevel)},
		{Key: "log_format", Env: "FLARE_LOG_FORMAT", Flag: "log-format", Help: "text or json", Value: config.String(&c.LogFormat)},
		{Key: "hash_key", Env: "FLARE_HASH_KEY", Help: "secret for keyed hashes (64 hex digits), shared by every gateway of a deployment; default: generated once in the data directory", Secret: true, Value: config.String(&c.HashKey)},
		{Key: "limits.max_text_bytes", Env: "FLARE_MAX_TEXT_BYTES", Flag: "max-text-bytes", Help: "longest message text, in bytes", Value: config.Int(&c.Limits.MaxTextBytes)},
		{Key: "limits.max_attachments", Env: "FLARE_MAX_ATTACHMENTS", Flag: "max-attachments", Help: "most files in one tip", Value: config.Int(&c.Limits.MaxAttachments)},
		{Key: "limits.max_attachment_size", Env: "FLARE_MAX_ATTACHMENT_SIZE", Flag: "max-attachment-size", Help: "largest file (e.g. 256MiB)", Value: config.Bytes(&c.Limits.MaxAttachmentBytes)},
		{Key: "limits.max_request_size", Env: "FLARE_MAX_REQUEST_SIZE", Flag: "max-request-size", Help: "largest request body, all parts together (e.g. 300MiB)", Value: config.Bytes(&c.Limits.MaxRequestBytes)},
		{Key: "inbox.try_every", Env: "FLARE_INBOX_TRY_EVERY", Flag: "inbox-try-every", Help: "one try of an inbox code per this long from one address class (an IPv4 /24, an IPv6 /48, everyone through tor), after a burst", Value: config.Duration(&c.InboxTryEvery)},
		{Key: "inbox.try_burst", Env: "FLARE_INBOX_TRY_BURST", Flag: "inbox-try-burst", Help: "inbox code tries one address class may make at once before the pace applies", Value: config.Int(&c.InboxTryBurst)},
		{Key: "orphan_chunk_age", Env: "FLARE_ORPHAN_CHUNK_AGE", Flag: "orphan-chunk-age", Help: "delete the attachment chunks of uploads that never became a tip (a crash mid-upload) once this old; at least 1h", Value: config.Duration(&c.OrphanAge)},
		{Key: "tls_cert", Env: "FLARE_TLS_CERT", Flag: "tls-cert", Help: "PEM certificate (chain) for HTTPS on the listen address, reloaded when the file changes; webhooks need HTTPS, from this or a reverse proxy", Value: config.String(&c.TLSCert)},
		{Key: "tls_key", Env: "FLARE_TLS_KEY", Flag: "tls-key", Help: "PEM private key of tls_cert (readable by the gateway only)", Value: config.String(&c.TLSKey)},
		{Key: "console_listen", Env: "FLARE_CONSOLE_LISTEN", Flag: "console-listen", Help: "loopback host:port serving the store's sealed tips and triage records to key-holders' consoles, published only by an onion service with client authorization (docs/remote-console.md)", Value: config.String(&c.ConsoleListen)},
		{Key: "default_language", Env: "FLARE_DEFAULT_LANGUAGE", Flag: "default-language", Help: "language shown when a source's browser or messenger names none Flare has (en, km, my, th, zh-Hant, …)", Value: config.String(&c.DefaultLanguage)},
		{Key: "texts", Env: "", Help: "config file only: [texts.LANG] tables overriding any text a source sees", Value: config.Texts(&c.Texts)},
	}, c.intakeSettings()...)
}

// QueueURL returns the queue URL, defaulting to the embedded store in the
// data directory.
func (c *Config) QueueURL() string {
	if c.Queue != "" {
		return c.Queue
	}
	return "file:" + filepath.Join(c.DataDir, "flare.db")
}

// Validate checks the core settings that need no I/O.
func (c *Config) Validate() error {
	if c.Listen == "" {
		return fmt.Errorf("listen address is empty")
	}
	if c.AdminListen == "" {
		return fmt.Errorf("admin listen address is empty")
	}
	if c.AdminListen == c.Listen {
		return fmt.Errorf("admin listen address must differ from the intake's")
	}
	if c.DataDir == "" {
		return fmt.Errorf("data directory is empty")
	}
	if c.InboxTryEvery <= 0 || c.InboxTryBurst < 1 {
		return fmt.Errorf("inbox tries: the pace must be positive and the burst at least 1")
	}
	if c.OrphanAge < time.Hour {
		return fmt.Errorf("orphan chunk age %v is too short: uploads in progress would be deleted (at least 1h)", c.OrphanAge)
	}
	if c.ConsoleListen != "" {
		host, _, err := net.SplitHostPort(c.ConsoleListen)
		if ip := net.ParseIP(host); err != nil || host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("console_listen %q: must be a loopback host:port; the onion service publishes it", c.ConsoleListen)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("give both tls_cert and tls_key (--tls-cert, --tls-key), or neither")
	}
	l := c.Limits
	if l.MaxTextBytes <= 0 || l.MaxAttachments < 0 || l.MaxAttachmentBytes <= 0 || l.MaxRequestBytes <= 0 {
		return fmt.Errorf("limits must be positive")
	}
	if err := c.validateIntake(); err != nil {
		return err
	}
	return nil
}

// InboxConfig is the inbox's configuration from c: its rate limits, with
// the rest at inbox.DefaultConfig.
func (c *Config) InboxConfig() inbox.Config {
	cfg := inbox.DefaultConfig
	cfg.PerClassEvery, cfg.PerClassBurst = c.InboxTryEvery, c.InboxTryBurst
	return cfg
}
