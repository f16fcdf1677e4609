package remote

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/proxy"
)

// DefaultSocks is tor's SOCKS port on a key-holder's machine (Debian's tor
// service).
const DefaultSocks = "127.0.0.1:9050"

var onionHost = regexp.MustCompile(`^[a-z2-7]{56}\.onion$`)

// OpenURL returns a Client for "onion://ADDRESS.onion[:PORT][?socks=HOST:PORT]",
// connecting through tor's SOCKS port (DefaultSocks unless ?socks= says
// otherwise). The console's tor must hold the service's client
// authorization key (ClientOnionAuthDir, or ONION_CLIENT_AUTH_ADD);
// without it tor cannot even find the service.
func OpenURL(raw string) (*Client, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "onion" {
		return nil, fmt.Errorf("remote store url %q: want onion://ADDRESS.onion", raw)
	}
	host := strings.ToLower(u.Hostname())
	if !onionHost.MatchString(host) {
		return nil, fmt.Errorf("remote store url: %q is not a v3 onion address", u.Hostname())
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	socks := u.Query().Get("socks")
	if socks == "" {
		socks = DefaultSocks
	}
	if h, _, err := net.SplitHostPort(socks); err != nil || !(h == "localhost" || net.ParseIP(h) != nil && net.ParseIP(h).IsLoopback()) {
		return nil, fmt.Errorf("remote store url: socks %q must be tor on this machine (a loopback host:port)", socks)
	}
	d, err := proxy.SOCKS5("tcp", socks, nil, proxy.Direct)
	if err != nil {
		return nil, fmt.Errorf("remote store: %w", err)
	}
	cd, ok := d.(proxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("remote store: socks dialer without context")
	}
	return NewClient("http://"+net.JoinHostPort(host, port), cd.DialContext), nil
}
