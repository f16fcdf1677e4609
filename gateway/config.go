package gateway

import (
	"fmt"
	"path/filepath"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/ops/config"
)

// Config is the gateway core's configuration; each channel has its own.
type Config struct {
	Listen         string
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
		Listen:    "127.0.0.1:8080",
		DataDir:   "flare-data",
		LogLevel:  "info",
		LogFormat: "text",
		Limits:    channels.DefaultLimits,
	}
}

// Settings lists the core settings.
func (c *Config) Settings() []config.Setting {
	return []config.Setting{
		{Key: "listen", Env: "FLARE_LISTEN", Flag: "listen", Help: "address for the web intake and webhooks (host:port)", Value: config.String(&c.Listen)},
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
		{Key: "default_language", Env: "FLARE_DEFAULT_LANGUAGE", Flag: "default-language", Help: "language shown when a source's browser or messenger names none Flare has (en, km, my, th, zh-Hant, …)", Value: config.String(&c.DefaultLanguage)},
		{Key: "texts", Env: "", Help: "config file only: [texts.LANG] tables overriding any text a source sees", Value: config.Texts(&c.Texts)},
	}
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
	if c.DataDir == "" {
		return fmt.Errorf("data directory is empty")
	}
	l := c.Limits
	if l.MaxTextBytes <= 0 || l.MaxAttachments < 0 || l.MaxAttachmentBytes <= 0 || l.MaxRequestBytes <= 0 {
		return fmt.Errorf("limits must be positive")
	}
	return nil
}
