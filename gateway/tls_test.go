package gateway

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/testkit"
)

// served dials ln with a client trusting pool and returns the certificate
// the server presented.
func served(t *testing.T, addr string, c *testkit.TLSCert) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: c.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestCertReloader: a renewed pair is served on the next handshake, with
// no restart; a broken rewrite keeps the previous certificate in service
// and is logged once.
func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	first := testkit.WriteTLSCert(t, dir, "first", 90*24*time.Hour, base)
	var logs bytes.Buffer
	r, err := NewCertReloader(first.CertFile, first.KeyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", r.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	addr := ln.Addr().String()
	if cn := served(t, addr, first); cn != "first" {
		t.Fatalf("served %q", cn)
	}

	second := testkit.WriteTLSCert(t, dir, "second", 90*24*time.Hour, base.Add(time.Minute))
	if cn := served(t, addr, second); cn != "second" {
		t.Fatalf("after renewal served %q, want the new certificate", cn)
	}
	if r.Certificate().Subject.CommonName != "second" {
		t.Error("Certificate() does not report the reloaded certificate")
	}

	// A half-written renewal: garbage where the certificate was.
	os.WriteFile(second.CertFile, []byte("-----BEGIN CERTIFICATE-----\nnot yet\n"), 0o644)
	for i := 0; i < 3; i++ {
		if cn := served(t, addr, second); cn != "second" {
			t.Fatalf("broken rewrite: served %q, want the previous certificate kept", cn)
		}
	}
	if n := strings.Count(logs.String(), "not reloaded"); n != 1 {
		t.Errorf("reload failure logged %d times, want once:\n%s", n, logs.String())
	}
	// Fixed again: served.
	third := testkit.WriteTLSCert(t, dir, "third", 90*24*time.Hour, base.Add(2*time.Minute))
	if cn := served(t, addr, third); cn != "third" {
		t.Fatalf("served %q after the fix", cn)
	}
}

func TestCertReloaderRefusesBadPairs(t *testing.T) {
	a := testkit.WriteTLSCert(t, t.TempDir(), "a", time.Hour, time.Time{})
	b := testkit.WriteTLSCert(t, t.TempDir(), "b", time.Hour, time.Time{})
	tests := []struct {
		name, cert, key, want string
	}{
		{"missing cert", a.CertFile + ".nope", a.KeyFile, "tls certificate"},
		{"missing key", a.CertFile, a.KeyFile + ".nope", "tls key"},
		{"key of another cert", a.CertFile, b.KeyFile, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCertReloader(tt.cert, tt.key, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestConfigTLSBothOrNeither(t *testing.T) {
	c := DefaultConfig()
	c.TLSCert = "cert.pem"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "tls_key") {
		t.Errorf("cert without key: %v", err)
	}
	c.TLSKey = "key.pem"
	if err := c.Validate(); err != nil {
		t.Errorf("cert and key: %v", err)
	}
}
