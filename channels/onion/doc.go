// Package onion publishes the gateway's web intake as a Tor v3 onion
// service, so that a source with Tor Browser can send a tip without their
// network, or the NGO's hosting provider, learning that they did.
//
// Reach for New with a Config whose Handler is the web intake
// (web.New("onion", deps).Handler()) and DataDir is the gateway's data
// directory, then run the Channel like any other. It either starts a tor of
// its own through github.com/cretz/bine (Config.Enable; tor from PATH or
// TorPath, state in DataDir/onion/tor, the operator's torrc lines from
// Torrc), or attaches to a running tor's control port (ControlAddr, with
// cookie or password authentication), as on a server where tor is a system
// service. Either way the service is added with ADD_ONION over the control
// port, pointing at a listener of the channel's own on 127.0.0.1.
//
// The address is stable: the service key is made once (or imported from
// ImportKey: tor's hs_ed25519_secret_key file, or "ED25519-V3:<base64>")
// and kept, mode 0600, in tor's own file format as
// DataDir/onion/hs_ed25519_secret_key, beside a hostname file as a
// HiddenServiceDir would have. An operator can move the key between Flare
// and a plain tor HiddenServiceDir either way.
//
// The service is published with tor's proof-of-work defence on
// (PoWDefensesEnabled, tor 0.4.9) and a per-circuit stream limit; every
// response carries Cache-Control: no-store, Referrer-Policy: no-referrer and
// a Content-Security-Policy that allows no script and nothing from another
// host, and never sets a cookie, whatever the wrapped handler does.
//
// When tor dies or the control connection drops, Health says so (and with
// it the gateway's /healthz), and Run starts or reattaches tor again with
// backoff and republishes the same address; the other channels do not
// notice.
//
// What it deliberately does not do: open a SOCKS port or make outgoing
// connections through Tor; keep anything about who connects (tor connects
// from 127.0.0.1, and the listener's error log is reduced to "an error
// happened"); or control a tor on another machine: the control address must
// be loopback or a unix socket, since the service forwards to a loopback
// listener.
package onion
