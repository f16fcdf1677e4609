package telegram

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/flarehq/flare/ops/config"
)

// DefaultAPIURL is Telegram's own Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// TelegramFileLimit is the largest file Telegram's own Bot API server lets a
// bot download. A self-hosted Bot API server lifts it.
const TelegramFileLimit = 20 << 20

// Update modes.
const (
	ModePolling = "polling"
	ModeWebhook = "webhook"
)

// WebhookPath is where the gateway receives updates in webhook mode.
const WebhookPath = "/webhooks/telegram"

// Config configures the Telegram channel.
type Config struct {
	// Token is the bot token from @BotFather. It comes from the config
	// file or FLARE_TELEGRAM_TOKEN only, never from a flag. The channel
	// is on when it is set.
	Token string
	// APIURL is the Bot API server, without a trailing slash.
	APIURL string
	// Mode is ModePolling (the default; needs no public address) or
	// ModeWebhook.
	Mode string
	// WebhookSecret is the secret_token Telegram sends back in
	// X-Telegram-Bot-Api-Secret-Token. Required in webhook mode.
	WebhookSecret string
	// WebhookURL is the public https URL of WebhookPath. When set, the
	// channel registers it with setWebhook at start; when empty, the
	// webhook is expected to be registered already.
	WebhookURL string
	// Wipe deletes every message of a conversation, both directions, once
	// its tip is sealed or discarded.
	Wipe bool
	// ReceiptTTL deletes the receipt message this long after it is sent;
	// 0 keeps it.
	ReceiptTTL time.Duration
	// CodeWord, when set, turns on the disguise: only a chat that sends
	// it (or opens t.me/<bot>?start=<code word>) sees the intake; everyone
	// else gets the cover bot.
	CodeWord string
	// DraftIdle is how long a draft waits for more after the source's last
	// message. A draft with something in it is then sealed as it is.
	DraftIdle time.Duration
	// DraftMaxAge bounds how long any draft stays in memory.
	DraftMaxAge time.Duration
	// DraftMemory bounds the bytes all drafts together keep in memory
	// (texts, contacts, forwarded-from entries). Past it, sources are
	// asked to send what they have or to try again later.
	DraftMemory int64
	// MaxFileBytes is the largest file the Bot API server lets the bot
	// download (20 MB on Telegram's own server).
	MaxFileBytes int64
	// RateBurst and RatePerMinute bound the updates one chat may send.
	RateBurst     int
	RatePerMinute int
	// PollTimeout is the long-polling timeout of getUpdates.
	PollTimeout time.Duration
	// CheckinWord, when set, is the word a source sends (or starts the
	// bot with) to collect replies waiting for them, in every language;
	// when empty, each language's catalogue text telegram.checkin_word is.
	CheckinWord string
	// ReplyTTL is how long a delivered reply, the check-in that collected
	// it and the source's answers stay in the chat before the bot deletes
	// them.
	ReplyTTL time.Duration
	// OutboxEvery is how often the channel scans the outbox for replies
	// to send at once (a key-holder's "send now") and for expired ones.
	OutboxEvery time.Duration
}

// DefaultConfig returns the defaults: long polling against Telegram's
// server, wipe on, no disguise.
func DefaultConfig() Config {
	return Config{
		APIURL:        DefaultAPIURL,
		Mode:          ModePolling,
		Wipe:          true,
		DraftIdle:     20 * time.Minute,
		DraftMaxAge:   2 * time.Hour,
		DraftMemory:   64 << 20,
		MaxFileBytes:  TelegramFileLimit,
		RateBurst:     20,
		RatePerMinute: 30,
		PollTimeout:   25 * time.Second,
		ReplyTTL:      5 * time.Minute,
		OutboxEvery:   time.Minute,
	}
}

// Settings declares every setting of the channel.
func (c *Config) Settings() []config.Setting {
	return []config.Setting{
		{Key: "telegram.token", Env: "FLARE_TELEGRAM_TOKEN", Secret: true,
			Help: "bot token from @BotFather; turns the Telegram channel on", Value: config.String(&c.Token)},
		{Key: "telegram.api_url", Env: "FLARE_TELEGRAM_API_URL", Flag: "telegram-api-url",
			Help: "Bot API server (a self-hosted one lifts the 20 MB file limit)", Value: config.String(&c.APIURL)},
		{Key: "telegram.mode", Env: "FLARE_TELEGRAM_MODE", Flag: "telegram-mode",
			Help: "how updates arrive: polling (no public address needed) or webhook", Value: config.String(&c.Mode)},
		{Key: "telegram.webhook_secret", Env: "FLARE_TELEGRAM_WEBHOOK_SECRET", Secret: true,
			Help: "secret_token for webhook mode (1-256 of A-Z a-z 0-9 _ -)", Value: config.String(&c.WebhookSecret)},
		{Key: "telegram.webhook_url", Env: "FLARE_TELEGRAM_WEBHOOK_URL", Flag: "telegram-webhook-url",
			Help: "public https URL of " + WebhookPath + " to register with setWebhook (empty: registered elsewhere)", Value: config.String(&c.WebhookURL)},
		{Key: "telegram.wipe", Env: "FLARE_TELEGRAM_WIPE", Flag: "telegram-wipe",
			Help: "delete the whole conversation once a tip is sealed", Value: config.Bool(&c.Wipe)},
		{Key: "telegram.receipt_ttl", Env: "FLARE_TELEGRAM_RECEIPT_TTL", Flag: "telegram-receipt-ttl",
			Help: "delete the receipt message after this long (0: keep it)", Value: config.Duration(&c.ReceiptTTL)},
		{Key: "telegram.code_word", Env: "FLARE_TELEGRAM_CODE_WORD", Secret: true,
			Help: "disguise: only chats that send this word (or start the bot with it) see the intake", Value: config.String(&c.CodeWord)},
		{Key: "telegram.draft_idle", Env: "FLARE_TELEGRAM_DRAFT_IDLE", Flag: "telegram-draft-idle",
			Help: "seal a draft as it is after the source is quiet this long", Value: config.Duration(&c.DraftIdle)},
		{Key: "telegram.draft_max_age", Env: "FLARE_TELEGRAM_DRAFT_MAX_AGE", Flag: "telegram-draft-max-age",
			Help: "longest a draft stays in memory", Value: config.Duration(&c.DraftMaxAge)},
		{Key: "telegram.draft_memory", Env: "FLARE_TELEGRAM_DRAFT_MEMORY", Flag: "telegram-draft-memory",
			Help: "memory all drafts together may hold (texts, contacts, forwarded-from entries); past it sources are asked to send or wait", Value: config.Bytes(&c.DraftMemory)},
		{Key: "telegram.max_file_bytes", Env: "FLARE_TELEGRAM_MAX_FILE_BYTES", Flag: "telegram-max-file-bytes",
			Help: "largest file the Bot API server lets the bot download", Value: config.Bytes(&c.MaxFileBytes)},
		{Key: "telegram.rate_burst", Env: "FLARE_TELEGRAM_RATE_BURST", Flag: "telegram-rate-burst",
			Help: "updates one chat may send at once", Value: config.Int(&c.RateBurst)},
		{Key: "telegram.rate_per_minute", Env: "FLARE_TELEGRAM_RATE_PER_MINUTE", Flag: "telegram-rate-per-minute",
			Help: "sustained updates per minute one chat may send", Value: config.Int(&c.RatePerMinute)},
		{Key: "telegram.poll_timeout", Env: "FLARE_TELEGRAM_POLL_TIMEOUT", Flag: "telegram-poll-timeout",
			Help: "long-polling timeout of getUpdates", Value: config.Duration(&c.PollTimeout)},
		{Key: "telegram.checkin_word", Env: "FLARE_TELEGRAM_CHECKIN_WORD", Secret: true,
			Help: "word a source sends (or starts the bot with) to collect replies (empty: each language's telegram.checkin_word text)", Value: config.String(&c.CheckinWord)},
		{Key: "telegram.reply_ttl", Env: "FLARE_TELEGRAM_REPLY_TTL", Flag: "telegram-reply-ttl",
			Help: "delete a delivered reply, the check-in and the source's answers after this long", Value: config.Duration(&c.ReplyTTL)},
	}
}

// Enabled reports whether a bot token is set.
func (c Config) Enabled() bool { return c.Token != "" }

// payloadRE is what Telegram allows in a secret_token and a deep-link
// start payload.
var payloadRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// tokenRE is the form of a bot token as BotFather gives it. Only such a
// token goes into request URLs: one that does not parse as part of a URL
// would come back, URL and all, in net/url's error.
var tokenRE = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{1,200}$`)

// ErrConfig is returned (wrapped) for an unusable configuration.
var ErrConfig = errors.New("telegram configuration")

// Validate checks the configuration. Its errors never contain a secret.
func (c Config) Validate() error {
	if c.Token == "" {
		return fmt.Errorf("%w: no bot token (telegram.token or FLARE_TELEGRAM_TOKEN)", ErrConfig)
	}
	if !tokenRE.MatchString(c.Token) {
		return fmt.Errorf("%w: the bot token is not of the form BOT-ID:SECRET (digits, a colon, then A-Z a-z 0-9 _ -); the value is not shown", ErrConfig)
	}
	u, err := url.Parse(c.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Contains(c.APIURL, "%") {
		return fmt.Errorf("%w: FLARE_TELEGRAM_API_URL must be an http(s) URL", ErrConfig)
	}
	switch c.Mode {
	case ModePolling:
	case ModeWebhook:
		if len(c.WebhookSecret) < 16 || len(c.WebhookSecret) > 256 || !payloadRE.MatchString(c.WebhookSecret) {
			return fmt.Errorf("%w: webhook mode needs FLARE_TELEGRAM_WEBHOOK_SECRET of 16-256 characters A-Z a-z 0-9 _ -", ErrConfig)
		}
		if c.WebhookURL != "" {
			if w, err := url.Parse(c.WebhookURL); err != nil || w.Scheme != "https" || w.Host == "" {
				return fmt.Errorf("%w: FLARE_TELEGRAM_WEBHOOK_URL must be an https URL", ErrConfig)
			}
		}
	default:
		return fmt.Errorf("%w: FLARE_TELEGRAM_MODE must be %q or %q", ErrConfig, ModePolling, ModeWebhook)
	}
	if c.CodeWord != "" && (len(c.CodeWord) > 64 || !payloadRE.MatchString(c.CodeWord)) {
		return fmt.Errorf("%w: the code word must be 1-64 characters A-Z a-z 0-9 _ - (it is also a deep-link payload)", ErrConfig)
	}
	if c.DraftIdle <= 0 || c.DraftMaxAge <= 0 || c.DraftMemory <= 0 {
		return fmt.Errorf("%w: draft_idle, draft_max_age and draft_memory must be positive", ErrConfig)
	}
	if c.RateBurst < 1 || c.RatePerMinute < 1 {
		return fmt.Errorf("%w: rate_burst and rate_per_minute must be at least 1", ErrConfig)
	}
	if c.CheckinWord != "" && (len(c.CheckinWord) > 64 || !payloadRE.MatchString(c.CheckinWord)) {
		return fmt.Errorf("%w: the check-in word must be 1-64 characters A-Z a-z 0-9 _ - (it is also a deep-link payload)", ErrConfig)
	}
	if c.CheckinWord != "" && strings.EqualFold(c.CheckinWord, c.CodeWord) {
		return fmt.Errorf("%w: the check-in word must differ from the code word", ErrConfig)
	}
	if c.ReplyTTL <= 0 || c.ReplyTTL > 47*time.Hour {
		return fmt.Errorf("%w: reply_ttl must be positive and under 47h (Telegram lets a bot delete its messages for 48 hours)", ErrConfig)
	}
	if c.MaxFileBytes <= 0 || c.ReceiptTTL < 0 || c.PollTimeout < 0 {
		return fmt.Errorf("%w: max_file_bytes must be positive, receipt_ttl and poll_timeout not negative", ErrConfig)
	}
	return nil
}
