package sms

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/flarehq/flare/ops/config"
)

// Config configures the SMS channel. Each provider's endpoint is on only
// when its secret is set.
type Config struct {
	// Twilio: the account's auth token signs every webhook; PublicURL is
	// the exact URL Twilio is told to call (behind a proxy or tunnel the
	// request's own Host is not what Twilio signed).
	TwilioAuthToken  string
	TwilioPublicURL  string
	TwilioAccountSID string
	// TwilioMediaHosts are the only hosts media is fetched from, and the
	// only hosts a media redirect may lead to. "*.example.com" matches
	// every subdomain of example.com; "host:port" matches that port only.
	TwilioMediaHosts []string
	// TwilioReply turns on the neutral reply (catalog key "sms.received")
	// in the TwiML answer. Off by default: no reply reaches the source.
	TwilioReply        bool
	TwilioMediaTimeout time.Duration

	// Vonage: the signature secret and method ("md5hash", "md5", "sha1",
	// "sha256", "sha512") set in the Vonage dashboard.
	VonageSignatureSecret string
	VonageSignatureMethod string

	// WebhookSecret is the key of the generic signed webhook
	// (docs/sms-webhook.md).
	WebhookSecret string

	// MaxAge is how far a signed timestamp (Vonage, generic) may be from
	// now before the request is refused as a replay.
	MaxAge time.Duration
	// DedupeTTL is how long a provider's message id is recognised as
	// already queued. Vonage retries for 24 hours.
	DedupeTTL time.Duration
	// MaxBody bounds one webhook request body.
	MaxBody int64
	// DistressKeywords mark a message as a distress call. Latin-script
	// keywords match whole words, case-insensitively; keywords in scripts
	// written without spaces (Khmer, Thai, Lao, Burmese, Chinese) match
	// anywhere in the text.
	DistressKeywords []string

	// Replies configures replies to SMS and WhatsApp sources (replies.go).
	Replies ReplyConfig
}

// DefaultConfig returns a Config with every endpoint off.
func DefaultConfig() Config {
	return Config{
		TwilioMediaHosts:   []string{"api.twilio.com", "*.twiliocdn.com"},
		TwilioMediaTimeout: 60 * time.Second,
		MaxAge:             5 * time.Minute,
		DedupeTTL:          48 * time.Hour,
		MaxBody:            64 << 10,
		DistressKeywords:   DefaultDistressKeywords(),
		Replies:            DefaultReplyConfig(),
	}
}

// Settings lists the channel's settings for ops/config.
func (c *Config) Settings() []config.Setting {
	return append([]config.Setting{
		{Key: "sms.twilio.auth_token", Env: "FLARE_TWILIO_AUTH_TOKEN", Secret: true,
			Help: "Twilio auth token; turns on POST /webhooks/twilio (with sms.twilio.public_url)", Value: config.String(&c.TwilioAuthToken)},
		{Key: "sms.twilio.public_url", Env: "FLARE_TWILIO_PUBLIC_URL", Flag: "twilio-public-url",
			Help: "the exact URL Twilio calls for incoming messages (what Twilio signs)", Value: config.String(&c.TwilioPublicURL)},
		{Key: "sms.twilio.account_sid", Env: "FLARE_TWILIO_ACCOUNT_SID", Flag: "twilio-account-sid",
			Help: "Twilio account SID, to fetch MMS/WhatsApp media with the auth token", Value: config.String(&c.TwilioAccountSID)},
		{Key: "sms.twilio.media_hosts", Env: "FLARE_TWILIO_MEDIA_HOSTS", Flag: "twilio-media-host",
			Help: "hosts media may be fetched from (and redirected to); *.domain for subdomains", Value: config.Strings(&c.TwilioMediaHosts)},
		{Key: "sms.twilio.reply", Env: "FLARE_TWILIO_REPLY", Flag: "twilio-reply",
			Help: "answer each message with the neutral catalog text sms.received", Value: config.Bool(&c.TwilioReply)},
		{Key: "sms.twilio.media_timeout", Env: "FLARE_TWILIO_MEDIA_TIMEOUT", Flag: "twilio-media-timeout",
			Help: "time limit for fetching one message's media", Value: config.Duration(&c.TwilioMediaTimeout)},
		{Key: "sms.vonage.signature_secret", Env: "FLARE_VONAGE_SIGNATURE_SECRET", Secret: true,
			Help: "Vonage signature secret; turns on /webhooks/vonage (with sms.vonage.signature_method)", Value: config.String(&c.VonageSignatureSecret)},
		{Key: "sms.vonage.signature_method", Env: "FLARE_VONAGE_SIGNATURE_METHOD", Flag: "vonage-signature-method",
			Help: "Vonage signature method: md5hash, md5, sha1, sha256 or sha512", Value: config.String(&c.VonageSignatureMethod)},
		{Key: "sms.webhook_secret", Env: "FLARE_SMS_WEBHOOK_SECRET", Secret: true,
			Help: "key of the generic signed SMS webhook; turns on POST /webhooks/sms", Value: config.String(&c.WebhookSecret)},
		{Key: "sms.max_age", Env: "FLARE_SMS_MAX_AGE", Flag: "sms-max-age",
			Help: "signed timestamps further than this from now are refused as replays", Value: config.Duration(&c.MaxAge)},
		{Key: "sms.dedupe_ttl", Env: "FLARE_SMS_DEDUPE_TTL", Flag: "sms-dedupe-ttl",
			Help: "how long a provider message id is remembered (as a keyed hash) to drop retries", Value: config.Duration(&c.DedupeTTL)},
		{Key: "sms.max_body", Env: "FLARE_SMS_MAX_BODY", Flag: "sms-max-body",
			Help: "largest webhook request body", Value: config.Bytes(&c.MaxBody)},
		{Key: "sms.distress_keywords", Env: "FLARE_SMS_DISTRESS_KEYWORDS", Flag: "sms-distress-keyword",
			Help: "words that mark a message as a distress call", Value: config.Strings(&c.DistressKeywords)},
	}, c.Replies.settings()...)
}

// Enabled reports whether any provider endpoint is configured.
func (c Config) Enabled() bool {
	return c.twilioOn() || c.vonageOn() || c.WebhookSecret != ""
}

func (c Config) twilioOn() bool { return c.TwilioAuthToken != "" || c.TwilioPublicURL != "" }
func (c Config) vonageOn() bool {
	return c.VonageSignatureSecret != "" || c.VonageSignatureMethod != ""
}

// ErrConfig is returned (wrapped) by New for an incomplete or invalid
// configuration.
var ErrConfig = errors.New("sms configuration")

func (c Config) validate() error {
	if c.twilioOn() {
		if c.TwilioAuthToken == "" || c.TwilioPublicURL == "" {
			return fmt.Errorf("%w: Twilio needs both FLARE_TWILIO_AUTH_TOKEN and FLARE_TWILIO_PUBLIC_URL", ErrConfig)
		}
		u, err := url.Parse(c.TwilioPublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: FLARE_TWILIO_PUBLIC_URL must be an absolute http(s) URL", ErrConfig)
		}
		if c.TwilioAccountSID == "" {
			return fmt.Errorf("%w: Twilio needs FLARE_TWILIO_ACCOUNT_SID to fetch media with the account's credentials", ErrConfig)
		}
		for _, h := range c.TwilioMediaHosts {
			if strings.TrimSpace(h) == "" || strings.ContainsAny(h, "/@ ") {
				return fmt.Errorf("%w: media host %q is not a host name", ErrConfig, h)
			}
		}
		if c.TwilioMediaTimeout <= 0 {
			return fmt.Errorf("%w: sms.twilio.media_timeout must be positive", ErrConfig)
		}
	}
	if c.vonageOn() {
		if c.VonageSignatureSecret == "" {
			return fmt.Errorf("%w: Vonage needs FLARE_VONAGE_SIGNATURE_SECRET", ErrConfig)
		}
		if _, ok := vonageMethods[strings.ToLower(c.VonageSignatureMethod)]; !ok {
			return fmt.Errorf("%w: FLARE_VONAGE_SIGNATURE_METHOD must be md5hash, md5, sha1, sha256 or sha512", ErrConfig)
		}
	}
	if err := c.Replies.validate(c.TwilioAccountSID, c.TwilioAuthToken); err != nil {
		return err
	}
	if c.MaxAge <= 0 || c.DedupeTTL <= 0 || c.MaxBody <= 0 {
		return fmt.Errorf("%w: sms.max_age, sms.dedupe_ttl and sms.max_body must be positive", ErrConfig)
	}
	return nil
}
