package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/flarehq/flare/console/internal/memq"
	"github.com/flarehq/flare/crypto"
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
	keys, _ := q.ListRecords(t.Context(), "")
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
