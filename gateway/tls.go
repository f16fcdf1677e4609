package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertReloader serves the intake listener's TLS certificate from a
// certificate and key file pair, and picks up a renewed pair (certbot,
// acme.sh, an operator's copy) without a restart: on each handshake it
// compares the files' modification times and sizes with those it loaded,
// and reloads when they changed. A pair that does not load (a key written
// before its certificate, a typo) is reported and the certificate already
// loaded stays in use, so a half-finished renewal never takes the intake
// down.
//
// For webhooks (Telegram, Twilio, Vonage) the providers require HTTPS;
// this, or a reverse proxy in front (ops/Caddyfile.example), provides it.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu        sync.Mutex
	cert      *tls.Certificate
	certStamp fileStamp
	keyStamp  fileStamp
	lastErr   string
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}

// NewCertReloader loads the pair once; an error here (missing file, a key
// that does not match) stops the gateway from starting.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// load reads the pair; r.mu is held or r is not yet shared.
func (r *CertReloader) load() error {
	cs, err := stamp(r.certFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	ks, err := stamp(r.keyFile)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("tls certificate %s: %w", r.certFile, err)
		}
	}
	r.cert, r.certStamp, r.keyStamp = &cert, cs, ks
	return nil
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// reloaded first if its files changed.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs, cerr := stamp(r.certFile)
	ks, kerr := stamp(r.keyFile)
	if cerr == nil && kerr == nil && (cs != r.certStamp || ks != r.keyStamp) {
		if err := r.load(); err != nil {
			// Logged once per distinct failure, not per handshake.
			if msg := err.Error(); msg != r.lastErr {
				r.lastErr = msg
				r.log.Error("tls certificate not reloaded; serving the previous one", "err", err)
			}
		} else {
			r.lastErr = ""
			r.log.Info("tls certificate reloaded", "not_after", r.cert.Leaf.NotAfter.UTC().Format(time.DateOnly))
		}
	}
	if r.cert == nil {
		return nil, errors.New("no tls certificate")
	}
	return r.cert, nil
}

// Certificate returns the certificate now served (for flare doctor and
// tests).
func (r *CertReloader) Certificate() *x509.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert.Leaf
}

// TLSConfig returns the intake listener's TLS configuration: TLS 1.2 or
// newer, the certificate from r.
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
	}
}
