package main

import (
	"crypto/tls"
	"log/slog"
	"net"

	"github.com/flarehq/flare/gateway"
)

// listenTLS wraps ln in TLS when the core configuration names a
// certificate and key; otherwise it returns ln as it is (plain HTTP, for
// loopback behind tor or a reverse proxy).
func listenTLS(ln net.Listener, core *gateway.Config, log *slog.Logger) (net.Listener, error) {
	if core.TLSCert == "" {
		return ln, nil
	}
	r, err := gateway.NewCertReloader(core.TLSCert, core.TLSKey, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	log.Info("serving https", "not_after", r.Certificate().NotAfter.UTC().Format("2006-01-02"))
	return tls.NewListener(ln, r.TLSConfig()), nil
}
