package onion

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/flarehq/flare/ops/config"
)

// Config configures the onion channel.
type Config struct {
	// Enable starts a tor of the gateway's own (bine drives it).
	Enable bool
	// TorPath is the tor binary; "" finds tor on PATH. Own-tor mode only.
	TorPath string
	// Torrc is a file of the operator's torrc lines for the gateway's own
	// tor: bridges, pluggable transports, a private test network. The
	// options the gateway passes on tor's command line (DataDirectory,
	// ControlPort, CookieAuthentication, SocksPort) override it.
	Torrc string

	// ControlAddr attaches to a running tor's control port instead of
	// starting one: "127.0.0.1:9051" or "unix:/run/tor/control".
	ControlAddr string
	// ControlPassword authenticates to ControlAddr (HashedControlPassword).
	ControlPassword string
	// ControlCookie is the control cookie file; "" means the path tor
	// gives in PROTOCOLINFO.
	ControlCookie string

	// ImportKey is a v3 key to publish under, on first start only: tor's
	// hs_ed25519_secret_key file or a file holding "ED25519-V3:<base64>".
	ImportKey string

	// PoW turns on tor's proof-of-work defence for the service
	// (PoWDefensesEnabled; needs tor 0.4.9 for ADD_ONION).
	PoW bool
	// PoWQueueRate and PoWQueueBurst tune how fast tor takes introduction
	// requests off its priority queue; 0 keeps tor's default (250, 2500).
	PoWQueueRate  int
	PoWQueueBurst int
	// MaxStreams caps the streams one rendezvous circuit may open; a
	// client that asks for more has its circuit closed. 0 means no limit.
	MaxStreams int

	// DataDir is the gateway's data directory, given by the core; the
	// channel keeps its key and tor's state under DataDir/onion.
	DataDir string
	// Handler is the web intake (GET / form, POST / and POST /submit)
	// to publish; the channel wraps it with the onion's header policy.
	Handler http.Handler

	// MinBackoff and MaxBackoff bound the wait before restarting a tor
	// that died (doubling in between); 0 means 1 s and 1 min.
	MinBackoff, MaxBackoff time.Duration
}

// DefaultConfig returns the defaults: the channel off, the defences on.
func DefaultConfig() Config {
	return Config{
		PoW:        true,
		MaxStreams: 32,
	}
}

// Settings lists the channel's settings for ops/config.
func (c *Config) Settings() []config.Setting {
	return []config.Setting{
		{Key: "onion.enabled", Env: "FLARE_ONION", Flag: "onion",
			Help:  "publish the web intake as a Tor onion service, with a tor of the gateway's own",
			Value: config.Bool(&c.Enable)},
		{Key: "onion.tor_path", Env: "FLARE_ONION_TOR_PATH", Flag: "tor-path",
			Help:  "tor binary for the gateway's own tor (default: tor on PATH)",
			Value: config.String(&c.TorPath)},
		{Key: "onion.torrc", Env: "FLARE_ONION_TORRC", Flag: "torrc",
			Help:  "file of extra torrc lines for the gateway's own tor (bridges, pluggable transports)",
			Value: config.String(&c.Torrc)},
		{Key: "onion.control_addr", Env: "FLARE_ONION_CONTROL_ADDR", Flag: "onion-control-addr",
			Help:  "attach to a running tor's control port (host:port or unix:/path) instead of starting one",
			Value: config.String(&c.ControlAddr)},
		{Key: "onion.control_password", Env: "FLARE_ONION_CONTROL_PASSWORD",
			Help: "password for the attached tor's control port", Secret: true,
			Value: config.String(&c.ControlPassword)},
		{Key: "onion.control_cookie", Env: "FLARE_ONION_CONTROL_COOKIE", Flag: "onion-control-cookie",
			Help:  "control cookie file of the attached tor (default: the path tor reports)",
			Value: config.String(&c.ControlCookie)},
		{Key: "onion.import_key", Env: "FLARE_ONION_IMPORT_KEY", Flag: "onion-import-key",
			Help:  "v3 onion key to publish under on first start (tor's hs_ed25519_secret_key, or ED25519-V3:<base64>)",
			Value: config.String(&c.ImportKey)},
		{Key: "onion.pow", Env: "FLARE_ONION_POW", Flag: "onion-pow",
			Help:  "turn on tor's proof-of-work defence for the onion service",
			Value: config.Bool(&c.PoW)},
		{Key: "onion.pow_queue_rate", Env: "FLARE_ONION_POW_QUEUE_RATE", Flag: "onion-pow-queue-rate",
			Help:  "introduction requests per second tor takes from its proof-of-work queue (0: tor's default)",
			Value: config.Int(&c.PoWQueueRate)},
		{Key: "onion.pow_queue_burst", Env: "FLARE_ONION_POW_QUEUE_BURST", Flag: "onion-pow-queue-burst",
			Help:  "burst of introduction requests tor takes from its proof-of-work queue (0: tor's default)",
			Value: config.Int(&c.PoWQueueBurst)},
		{Key: "onion.max_streams", Env: "FLARE_ONION_MAX_STREAMS", Flag: "onion-max-streams",
			Help:  "streams one rendezvous circuit may open before tor closes it (0: no limit)",
			Value: config.Int(&c.MaxStreams)},
	}
}

// Enabled reports whether the channel should run: with a tor of its own,
// or attached to a running tor's control port.
func (c Config) Enabled() bool { return c.Enable || c.ControlAddr != "" }

// attach reports whether the channel attaches to a running tor.
func (c Config) attach() bool { return c.ControlAddr != "" }

func (c Config) validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("no data directory"))
	}
	if c.Handler == nil {
		errs = append(errs, errors.New("no web intake handler to publish"))
	}
	if c.attach() {
		if c.TorPath != "" || c.Torrc != "" {
			errs = append(errs, errors.New("onion.tor_path and onion.torrc are for the gateway's own tor; with onion.control_addr, configure the running tor itself"))
		}
		if _, _, err := controlNetwork(c.ControlAddr); err != nil {
			errs = append(errs, err)
		}
	} else if c.ControlPassword != "" || c.ControlCookie != "" {
		errs = append(errs, errors.New("onion.control_password and onion.control_cookie need onion.control_addr"))
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"onion.pow_queue_rate", c.PoWQueueRate}, {"onion.pow_queue_burst", c.PoWQueueBurst}, {"onion.max_streams", c.MaxStreams}} {
		if v.n < 0 || v.n > 65535 {
			errs = append(errs, fmt.Errorf("%s must be between 0 and 65535", v.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("onion: %w", err)
	}
	return nil
}

// controlNetwork splits a control address into a network and address for
// net.Dial: "unix:/path" or host:port on a loopback host.
func controlNetwork(addr string) (network, address string, err error) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		if p == "" {
			return "", "", errors.New("onion.control_addr: empty unix socket path")
		}
		return "unix", p, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", "", fmt.Errorf("onion.control_addr %q: want host:port or unix:/path", addr)
	}
	// The onion service forwards to the gateway's loopback listener, so
	// tor must run on this machine; and a control port is not a thing to
	// speak to over a network.
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", "", fmt.Errorf("onion.control_addr %q: tor must run on this machine (a loopback address or unix:/path)", addr)
	}
	return "tcp", net.JoinHostPort(host, port), nil
}
