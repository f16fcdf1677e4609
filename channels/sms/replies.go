package sms

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/flarehq/flare/ops/config"
)

// Reply modes of FLARE_SMS_REPLIES.
const (
	RepliesOff       = "off"
	RepliesTemplates = "templates"
)

// ReplyConfig configures replies to SMS and WhatsApp sources. They are off
// by default. With "templates", a reply can only be one of the
// deployment's reviewed texts, sent only to a source whose message opted
// in, and only once a second key-holder approved it in the console.
type ReplyConfig struct {
	// Mode is RepliesOff or RepliesTemplates.
	Mode string
	// Templates are the reviewed texts: name → language → text, from
	// [sms.templates.NAME] tables. Each must fit one SMS segment.
	Templates map[string]map[string]string
	// OptInWord, when a message contains it, records in the sealed tip
	// that the source may be replied to (Fields["reply_ok"] = "yes").
	OptInWord string

	// Twilio sends with the account SID and auth token of Config, from
	// TwilioFrom, through TwilioAPIURL.
	TwilioFrom   string
	TwilioAPIURL string
	// Vonage sends through its SMS API with the API key and secret.
	VonageAPIKey    string
	VonageAPISecret string
	VonageFrom      string
	VonageAPIURL    string

	// SendTimeout bounds one call to a provider's API.
	SendTimeout time.Duration
}

// DefaultReplyConfig returns replies off, with the providers' own API URLs.
func DefaultReplyConfig() ReplyConfig {
	return ReplyConfig{
		Mode:         RepliesOff,
		TwilioAPIURL: "https://api.twilio.com",
		VonageAPIURL: "https://rest.nexmo.com",
		SendTimeout:  30 * time.Second,
	}
}

// TemplatesSetting is the config-file table of reply templates. It is
// declared here once; the console reads the same table from the same file
// with LoadTemplates.
const TemplatesSetting = "sms.templates"

func (c *ReplyConfig) settings() []config.Setting {
	return []config.Setting{
		{Key: "sms.replies", Env: "FLARE_SMS_REPLIES", Flag: "sms-replies",
			Help: "replies to SMS and WhatsApp sources: off, or templates (reviewed texts, opted-in senders, two key-holders)", Value: config.String(&c.Mode)},
		{Key: TemplatesSetting, Env: "", Help: "config file only: [sms.templates.NAME] tables of one reviewed reply text per language, each one SMS segment",
			Value: config.Texts(&c.Templates)},
		{Key: "sms.optin_word", Env: "FLARE_SMS_OPTIN_WORD", Flag: "sms-optin-word",
			Help: "a message containing this word opts its sender in to template replies", Value: config.String(&c.OptInWord)},
		{Key: "sms.twilio.from", Env: "FLARE_TWILIO_FROM", Flag: "twilio-from",
			Help: "the number (or whatsapp:number) Twilio replies are sent from", Value: config.String(&c.TwilioFrom)},
		{Key: "sms.twilio.api_url", Env: "FLARE_TWILIO_API_URL", Flag: "twilio-api-url",
			Help: "base URL of Twilio's REST API", Value: config.String(&c.TwilioAPIURL)},
		{Key: "sms.vonage.api_key", Env: "FLARE_VONAGE_API_KEY", Flag: "vonage-api-key",
			Help: "Vonage API key, to send replies through the SMS API", Value: config.String(&c.VonageAPIKey)},
		{Key: "sms.vonage.api_secret", Env: "FLARE_VONAGE_API_SECRET", Secret: true,
			Help: "Vonage API secret, to send replies through the SMS API", Value: config.String(&c.VonageAPISecret)},
		{Key: "sms.vonage.from", Env: "FLARE_VONAGE_FROM", Flag: "vonage-from",
			Help: "the number or sender id Vonage replies are sent from", Value: config.String(&c.VonageFrom)},
		{Key: "sms.vonage.api_url", Env: "FLARE_VONAGE_API_URL", Flag: "vonage-api-url",
			Help: "base URL of Vonage's SMS API", Value: config.String(&c.VonageAPIURL)},
		{Key: "sms.reply_timeout", Env: "FLARE_SMS_REPLY_TIMEOUT", Flag: "sms-reply-timeout",
			Help: "time limit for one call to a provider's send or delete API", Value: config.Duration(&c.SendTimeout)},
	}
}

// On reports whether template replies are on.
func (c ReplyConfig) On() bool { return c.Mode == RepliesTemplates }

// validate checks the mode, every template's size, and the URLs.
func (c ReplyConfig) validate(twilioSID, twilioToken string) error {
	switch c.Mode {
	case RepliesOff, "":
	case RepliesTemplates:
		if len(c.Templates) == 0 {
			return fmt.Errorf("%w: FLARE_SMS_REPLIES=templates needs [sms.templates.NAME] tables in the config file", ErrConfig)
		}
		if c.TwilioFrom == "" && c.VonageFrom == "" {
			return fmt.Errorf("%w: FLARE_SMS_REPLIES=templates needs FLARE_TWILIO_FROM or FLARE_VONAGE_FROM", ErrConfig)
		}
		if c.TwilioFrom != "" && (twilioSID == "" || twilioToken == "") {
			return fmt.Errorf("%w: Twilio replies need FLARE_TWILIO_ACCOUNT_SID and FLARE_TWILIO_AUTH_TOKEN", ErrConfig)
		}
		if c.VonageFrom != "" && (c.VonageAPIKey == "" || c.VonageAPISecret == "") {
			return fmt.Errorf("%w: Vonage replies need FLARE_VONAGE_API_KEY and FLARE_VONAGE_API_SECRET", ErrConfig)
		}
	default:
		return fmt.Errorf("%w: FLARE_SMS_REPLIES must be off or templates", ErrConfig)
	}
	if err := CheckTemplates(c.Templates); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	for _, u := range []struct{ name, v string }{{"FLARE_TWILIO_API_URL", c.TwilioAPIURL}, {"FLARE_VONAGE_API_URL", c.VonageAPIURL}} {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil {
			return fmt.Errorf("%w: %s must be an absolute http(s) URL without credentials", ErrConfig, u.name)
		}
	}
	if c.SendTimeout <= 0 {
		return fmt.Errorf("%w: sms.reply_timeout must be positive", ErrConfig)
	}
	return nil
}

// CheckTemplates checks that every template text is non-empty and fits
// one SMS segment (160 GSM-7 characters, or 70 UCS-2 units).
func CheckTemplates(templates map[string]map[string]string) error {
	names := make([]string, 0, len(templates))
	for n := range templates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if len(templates[name]) == 0 {
			return fmt.Errorf("sms.templates.%s has no text", name)
		}
		for lang, text := range templates[name] {
			if strings.TrimSpace(text) == "" {
				return fmt.Errorf("sms.templates.%s.%s is empty", name, lang)
			}
			if n, ucs2 := replySegments(text); n > 1 {
				limit := "160 GSM-7 characters"
				if ucs2 {
					limit = "70 characters (it needs UCS-2)"
				}
				return fmt.Errorf("sms.templates.%s.%s does not fit one SMS segment: at most %s, it takes %d segments", name, lang, limit, n)
			}
		}
	}
	return nil
}

// Templates is what a console needs of the deployment's SMS replies, read
// from the gateway's config file.
type Templates struct {
	// Mode is the file's sms.replies, or "" when the file does not say
	// (the gateway may set it with FLARE_SMS_REPLIES).
	Mode  string
	Texts map[string]map[string]string
}

// LoadTemplates reads sms.replies and the [sms.templates.NAME] tables from
// a TOML file, ignoring everything else in it, so that a key-holder can
// give the console the gateway's own config file. Each text is checked as
// the gateway checks it.
func LoadTemplates(path string) (Templates, error) {
	var file struct {
		SMS struct {
			Replies   string                       `toml:"replies"`
			Templates map[string]map[string]string `toml:"templates"`
		} `toml:"sms"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Templates{}, fmt.Errorf("sms templates: %w", err)
	}
	if _, err := toml.Decode(string(data), &file); err != nil {
		return Templates{}, fmt.Errorf("sms templates: %s: %v", path, err)
	}
	if err := CheckTemplates(file.SMS.Templates); err != nil {
		return Templates{}, fmt.Errorf("sms templates: %s: %w", path, err)
	}
	return Templates{Mode: file.SMS.Replies, Texts: file.SMS.Templates}, nil
}
