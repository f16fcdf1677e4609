package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
	"github.com/flarehq/flare/internal/testkit"
)

func TestSignInTokenWorksOnce(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	submit(t, q, recipients(alice), submission{channel: "web", kind: crypto.KindTip, text: "hello"})
	r := startConsole(t, q, alice, recipients(alice))

	// Before sign-in, nothing is served.
	if code, _ := get(t, http.DefaultClient, r.base+"/"); code != http.StatusUnauthorized {
		t.Fatalf("inbox without session: %d, want 401", code)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(r.signIn)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %s", resp.Status)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/" {
		t.Fatalf("session cookie = %+v", cookies)
	}
	// The link is spent.
	if code, body := get(t, http.DefaultClient, r.signIn); code != http.StatusUnauthorized || !strings.Contains(body, "already used") {
		t.Fatalf("second sign-in: %d", code)
	}
	// A forged cookie does not pass.
	req, _ := http.NewRequest("GET", r.base+"/", nil)
	req.AddCookie(&http.Cookie{Name: r.srv.cookie, Value: "forged"})
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged cookie: %v %v", resp.Status, err)
	}
	// The real one does, and not under a foreign host name (DNS rebinding).
	req, _ = http.NewRequest("GET", r.base+"/", nil)
	req.AddCookie(cookies[0])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("real cookie: %v %v", resp.Status, err)
	}
	req.Host = "attacker.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host: %v %v", resp.Status, err)
	}
	// Every page carries the strict headers.
	req.Host = ""
	resp, _ = http.DefaultClient.Do(req)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
}

func TestFormWithoutCSRFRefused(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	rc := submit(t, q, recipients(alice), submission{channel: "web", kind: crypto.KindTip, text: "hello"})
	r := startConsole(t, q, alice, recipients(alice))
	c := r.client(t)
	_, page := get(t, c, r.base+"/tip/"+rc.QueueID)
	csrf := formValue(t, csrfPattern, page)
	tests := []struct {
		name string
		csrf string
		want int
	}{
		{"no token", "", http.StatusForbidden},
		{"wrong token", "x" + csrf, http.StatusForbidden},
		{"right token", csrf, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"version": {"0"}, "status": {"spam"}}
			if tt.csrf != "" {
				form.Set("csrf", tt.csrf)
			}
			code, _ := post(t, c, r.base+"/tip/"+rc.QueueID+"/triage", form)
			if code != tt.want {
				t.Fatalf("status %d, want %d", code, tt.want)
			}
		})
	}
	// Opening the tip marked it read (triage-seen/…); only the accepted
	// form may have written a triage record.
	keys, _ := q.ListRecords(t.Context(), "triage/")
	if len(keys) != 1 {
		t.Fatalf("records after one accepted form: %v", keys)
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	alice := newKeyholder(t, "alice")
	tests := []struct {
		name   string
		cfg    Config
		wantOK bool
	}{
		{"default", Config{}, true},
		{"loopback v6", Config{Listen: "[::1]:0"}, true},
		{"all interfaces", Config{Listen: "0.0.0.0:0"}, false},
		{"flag without TLS", Config{Listen: "0.0.0.0:0", AllowRemote: true}, false},
		{"TLS without flag", Config{Listen: "0.0.0.0:0", TLSCert: "c", TLSKey: "k"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Queue, cfg.Identities = memq.New(), []age.Identity{alice.id}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ln, err := s.Listen()
			if ln != nil {
				ln.Close()
			}
			if (err == nil) != tt.wantOK {
				if tt.name == "loopback v6" && err != nil && strings.Contains(err.Error(), "cannot assign") {
					t.Skip("no IPv6 loopback here")
				}
				t.Fatalf("Listen err = %v, want ok=%v", err, tt.wantOK)
			}
			if err != nil && !strings.Contains(err.Error(), "loopback") {
				t.Fatalf("error does not say why: %v", err)
			}
		})
	}
}

func TestUsedLinkPrintsANewOneOnTheTerminal(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	r := startConsole(t, q, alice, recipients(alice))
	first := r.client(t)
	code, body := get(t, http.DefaultClient, r.signIn)
	if code != http.StatusUnauthorized || !strings.Contains(body, "new link was printed in the terminal") {
		t.Fatalf("used link: %d %s", code, body)
	}
	links := urlPattern.FindAllString(string(r.out.Bytes()), -1)
	if len(links) != 2 || links[1] == links[0] {
		t.Fatalf("terminal shows %d links: %q", len(links), r.out.Bytes())
	}
	if strings.Contains(body, links[1]) {
		t.Fatal("the new link was shown in the browser")
	}
	r.signIn = links[1]
	second := r.client(t)
	if code, _ := get(t, second, r.base+"/"); code != http.StatusOK {
		t.Fatalf("new session: %d", code)
	}
	if code, _ := get(t, first, r.base+"/"); code != http.StatusUnauthorized {
		t.Fatalf("old session still works: %d", code)
	}
}

func TestRemoteListenWithTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	q := memq.New()
	alice := newKeyholder(t, "alice")
	out := &testkit.Buffer{}
	srv, err := New(Config{Queue: q, Identities: []age.Identity{alice.id}, Listen: "0.0.0.0:0",
		AllowRemote: true, TLSCert: certFile, TLSKey: keyFile, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	var link string
	for range 100 {
		if link = regexp.MustCompile(`https://127\.0\.0\.1:\d+/login\?token=\S+`).FindString(string(out.Bytes())); link != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if link == "" {
		t.Fatalf("no https link printed: %q", out.Bytes())
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", link, nil)
	req.Host = "console.ngo.example" // a remote browser's name for the machine
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Fatalf("sign-in over TLS: %s, cookies %+v", resp.Status, cookies)
	}
	// Plain HTTP to the TLS port gets nothing.
	if resp, err := http.Get("http://" + strings.TrimPrefix(strings.SplitN(link, "/login", 2)[0], "https://") + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served the console")
		}
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "flare console test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"console.ngo.example"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile, pool
}
