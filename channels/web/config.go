package web

import (
	"fmt"
	"net/url"

	"github.com/flarehq/flare/ops/config"
)

// Config is the web intake's configuration.
type Config struct {
	// QuickExitURL is where the "leave this page" link on every page
	// goes: a harmless site, chosen by the deployment to look ordinary
	// where its sources live.
	QuickExitURL string
}

// DefaultQuickExitURL is the quick-exit target when none is set.
const DefaultQuickExitURL = "https://www.wikipedia.org/"

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{QuickExitURL: DefaultQuickExitURL}
}

// Settings lists the web intake's settings.
func (c *Config) Settings() []config.Setting {
	return []config.Setting{
		{Key: "web.quick_exit_url", Env: "FLARE_WEB_QUICK_EXIT_URL", Flag: "web-quick-exit-url", Help: "harmless http(s) address the form's quick-exit link leaves for", Value: config.String(&c.QuickExitURL)},
	}
}

// Validate checks the quick-exit address is an absolute http(s) URL.
func (c *Config) Validate() error {
	if c.QuickExitURL == "" {
		return nil
	}
	u, err := url.Parse(c.QuickExitURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("FLARE_WEB_QUICK_EXIT_URL: %q is not an http(s) address", c.QuickExitURL)
	}
	return nil
}
