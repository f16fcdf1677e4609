package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/queue/embedded"
)

// gated is a web channel (or two, sharing one gate) on a real loopback
// listener, for the tests of what a hostile client can hold.
type gated struct {
	*fixture
	gate  *channels.Gate
	chans map[string]*Channel
	srvs  map[string]*httptest.Server
}

func newGated(t *testing.T, limits channels.Limits, cfg channels.GateConfig, now func() time.Time, names ...string) *gated {
	t.Helper()
	ctx := context.Background()
	store, err := embedded.Open(ctx, filepath.Join(t.TempDir(), "flare.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	q := &blobTracker{Queue: store, live: map[string]bool{}}
	id, _ := age.GenerateX25519Identity()
	sealer, err := crypto.NewSealer(id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	intake, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Limits: limits, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	g := &gated{gate: channels.NewGate(cfg, now), chans: map[string]*Channel{}, srvs: map[string]*httptest.Server{}}
	if len(names) == 0 {
		names = []string{"web"}
	}
	for _, name := range names {
		c := New(name, channels.Deps{Sink: intake, Queue: q, Catalog: catalog.New(nil), Log: log, Gate: g.gate})
		srv := httptest.NewServer(c.Handler())
		t.Cleanup(srv.Close)
		g.chans[name], g.srvs[name] = c, srv
	}
	g.fixture = &fixture{srv: g.srvs[names[0]], q: q, identity: id}
	return g
}

// countingReader is an endless body that counts what the handler read.
type countingReader struct {
	prefix string
	n      atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	start := c.n.Load()
	for i := range p {
		if j := start + int64(i); j < int64(len(c.prefix)) {
			p[i] = c.prefix[j]
		} else {
			p[i] = 'a'
		}
	}
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// TestURLEncodedBodyBounded is finding 1: a url-encoded body far larger
// than any form is refused with 413 having read at most the form's bound
// (plus the one byte that shows it is over), instead of being parsed whole.
func TestURLEncodedBodyBounded(t *testing.T) {
	limits := channels.Limits{MaxTextBytes: 1 << 10, MaxAttachments: 2, MaxAttachmentBytes: 32 << 20, MaxRequestBytes: 64 << 20}
	g := newGated(t, limits, channels.GateConfig{}, nil)
	c := g.chans["web"]
	bound := maxFormBytes(limits)
	for _, path := range []string{"/", "/submit"} {
		for _, declared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s declared=%v", path, declared), func(t *testing.T) {
				body := &countingReader{prefix: "kind=tip&message="}
				req := httptest.NewRequest("POST", path, io.NopCloser(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.ContentLength = -1
				if declared {
					req.ContentLength = 299 << 20
				}
				rec := httptest.NewRecorder()
				c.Handler().ServeHTTP(rec, req)
				if rec.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("status %d, want 413", rec.Code)
				}
				if !strings.Contains(rec.Body.String(), "too long") {
					t.Errorf("page does not say the message is too long:\n%s", rec.Body)
				}
				if n := body.n.Load(); n > bound+1 {
					t.Fatalf("handler read %d bytes of the body; the bound is %d", n, bound)
				}
			})
		}
	}
	if n := len(g.tips(t)); n != 0 {
		t.Fatalf("%d tips queued", n)
	}
}

// TestURLEncodedFullFormAccepted checks the bound leaves room for a form a
// source can really send: a message of MaxTextBytes in a script whose every
// byte is percent-encoded, and a place.
func TestURLEncodedFullFormAccepted(t *testing.T) {
	limits := channels.Limits{MaxTextBytes: 1 << 10, MaxAttachments: 2, MaxAttachmentBytes: 1 << 20, MaxRequestBytes: 4 << 20}
	g := newGated(t, limits, channels.GateConfig{}, nil)
	msg := strings.Repeat("ល", limits.MaxTextBytes/3) // 3 bytes each, 9 encoded
	form := url.Values{"kind": {"distress"}, "message": {msg}, "place": {strings.Repeat("ភ", limits.MaxTextBytes/3)}, "lang": {"en"}, "token": {formToken(t, g.srv.URL)}}
	resp, err := http.Post(g.srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d for a full form", resp.StatusCode)
	}
	if tips := g.tips(t); len(tips) != 1 || tips[0].Text != msg {
		t.Fatalf("%d tips", len(tips))
	}
}

// TestCrossSitePostRefused is finding 14c: a post that a browser marks as
// cross-site, or whose Origin names another host, is refused; a post with
// neither header (Tor Browser, scripts) goes through.
func TestCrossSitePostRefused(t *testing.T) {
	g := newGated(t, channels.DefaultLimits, channels.GateConfig{}, nil)
	host := strings.TrimPrefix(g.srv.URL, "http://")
	tests := []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"no origin, no fetch metadata", nil, 200},
		{"origin null", map[string]string{"Origin": "null"}, 200},
		{"own origin", map[string]string{"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"}, 200},
		{"fetch metadata none", map[string]string{"Sec-Fetch-Site": "none"}, 200},
		{"sec-fetch-site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-site with own origin", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://" + host}, 403},
		{"other origin", map[string]string{"Origin": "https://evil.example"}, 403},
		{"other port", map[string]string{"Origin": "http://127.0.0.1:1"}, 403},
		{"garbage origin", map[string]string{"Origin": "::not a url"}, 403},
	}
	accepted := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/", "/submit"} {
				req, _ := http.NewRequest("POST", g.srv.URL+path, strings.NewReader("kind=tip&message=hello&token="+formToken(t, g.srv.URL)))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				for k, v := range tt.headers {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("%s: status %d, want %d", path, resp.StatusCode, tt.status)
				}
				if tt.status == 403 && !strings.Contains(string(page), "only be sent from its own page") {
					t.Errorf("refusal does not say why:\n%s", page)
				}
				if tt.status == 200 {
					accepted++
				}
			}
		})
	}
	if n := len(g.tips(t)); n != accepted {
		t.Fatalf("%d tips queued, want %d (refused posts must queue nothing)", n, accepted)
	}
}

// stall opens a raw connection, sends the head of a POST declaring a body
// of declared bytes and then sent bytes of it, and leaves it there.
func stall(t *testing.T, srvURL string, declared, sent int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srvURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	head := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\r\n"
	fmt.Fprintf(conn, "POST /submit HTTP/1.1\r\nHost: flare\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n", declared)
	body := head + strings.Repeat("z", max(0, sent-len(head)))
	if _, err := io.WriteString(conn, body[:sent]); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestStalledUploadCutOff is finding 3: a client that sends 100 bytes of a
// declared 100 MB body and then nothing is cut off once the grace runs
// out; its connection is closed by the gateway, not held. The bound waited
// for is generous; nothing here measures how soon.
func TestStalledUploadCutOff(t *testing.T) {
	cfg := channels.GateConfig{UploadGrace: 300 * time.Millisecond, MinUploadRate: 1 << 10}
	g := newGated(t, channels.DefaultLimits, cfg, nil)
	conn := stall(t, g.srv.URL, 100<<20, 100)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled upload: %v", err)
	}
	page, _ := io.ReadAll(resp.Body) // to the end: the gateway closes the connection
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(page), "too slow") {
		t.Fatalf("status %d, want 408 saying it was too slow:\n%s", resp.StatusCode, page)
	}
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection still open after the refusal: %v", err)
	}
	if n := len(g.tips(t)); n != 0 {
		t.Fatalf("%d tips queued", n)
	}
}

// TestSlowButSteadyUploadAccepted checks that the minimum rate is an
// average: an upload that keeps sending, however slowly the pieces come,
// is not cut off while it stays above the rate.
func TestSlowButSteadyUploadAccepted(t *testing.T) {
	cfg := channels.GateConfig{UploadGrace: 2 * time.Second, MinUploadRate: 1}
	limits := channels.Limits{MaxTextBytes: 64, MaxAttachments: 1, MaxAttachmentBytes: 1 << 20, MaxRequestBytes: 2 << 20}
	g := newGated(t, limits, cfg, nil)
	body, ct := multipartBody(part{"message", "", "slow"}, part{"file", "a.bin", strings.Repeat("q", 8000)})
	pr, pw := io.Pipe()
	go func() {
		data := body.Bytes()
		for len(data) > 0 {
			k := min(len(data), 2000)
			pw.Write(data[:k])
			data = data[k:]
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", g.srv.URL+"/submit", pr)
	req.Header.Set("Content-Type", ct)
	req.ContentLength = int64(body.Len())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d for a steady upload", resp.StatusCode)
	}
}

// waitUploads waits until the listener holds n uploads.
func waitUploads(t *testing.T, l *channels.ListenerGate, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for l.Uploads() != n {
		if time.Now().After(deadline) {
			t.Fatalf("listener holds %d uploads, want %d", l.Uploads(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConcurrentUploadsCapped is finding 3's other half: past the cap on
// concurrent uploads, per listener and over all listeners, the next upload
// is answered 503 with "try again" at once, without its body being read;
// a short text-only post still goes through.
func TestConcurrentUploadsCapped(t *testing.T) {
	tests := []struct {
		name              string
		global, perListen int
		stalls            map[string]int // listener → uploads held
		extraOn           string
	}{
		{"per listener", 0, 2, map[string]int{"web": 2}, "web"},
		{"global", 3, 2, map[string]int{"web": 2, "onion": 1}, "onion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := channels.GateConfig{MaxUploads: tt.global, MaxUploadsPerListener: tt.perListen, UploadGrace: time.Minute}
			// Small limits, so the extra upload's body fits in the
			// socket's buffers and its refusal cannot race its writing.
			limits := channels.Limits{MaxTextBytes: 1 << 10, MaxAttachments: 2, MaxAttachmentBytes: 1 << 20, MaxRequestBytes: 2 << 20}
			g := newGated(t, limits, cfg, nil, "web", "onion")
			for name, n := range tt.stalls {
				for i := 0; i < n; i++ {
					stall(t, g.srvs[name].URL, 1<<20, 100)
				}
				waitUploads(t, g.gate.Listener(name), n)
			}
			body, ct := multipartBody(part{"message", "", "extra"}, part{"file", "a.bin", strings.Repeat("x", 16<<10)})
			req, _ := http.NewRequest("POST", g.srvs[tt.extraOn].URL+"/submit", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(page), "try again") {
				t.Fatalf("status %d, want 503 asking to try again: %s", resp.StatusCode, page)
			}
			// A text-only post is not an upload and is not held back.
			resp, err = http.PostForm(g.srvs[tt.extraOn].URL+"/", url.Values{"message": {"short"}, "kind": {"tip"}, "token": {formToken(t, g.srvs[tt.extraOn].URL)}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("text post refused with %d while uploads are full", resp.StatusCode)
			}
		})
	}
}

// clock is a settable time for budget tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// postText posts a url-encoded text of n bytes to base and returns the
// status and page.
func postText(t *testing.T, base string, n int) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/", url.Values{"message": {strings.Repeat("m", n)}, "kind": {"tip"}, "token": {formToken(t, base)}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(page)
}

// TestIngestBudget is finding 9's intake part: past the bytes-per-minute
// budget, per listener and overall, posts are refused with 503 and "try
// again"; the budget comes back with time; uploads cannot spend the share
// kept for text.
func TestIngestBudget(t *testing.T) {
	limits := channels.Limits{MaxTextBytes: 16 << 10, MaxAttachments: 2, MaxAttachmentBytes: 1 << 20, MaxRequestBytes: 2 << 20}
	t.Run("per listener", func(t *testing.T) {
		clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		g := newGated(t, limits, channels.GateConfig{BytesPerMinutePerListener: 64 << 10}, clk.now, "web", "onion")
		accepted := 0
		for i := 0; i < 10; i++ {
			status, page := postText(t, g.srvs["web"].URL, 10<<10)
			if status == http.StatusOK {
				accepted++
				continue
			}
			if status != http.StatusServiceUnavailable || !strings.Contains(page, "try again") {
				t.Fatalf("status %d, want 503 asking to try again:\n%s", status, page)
			}
		}
		if accepted != 6 {
			t.Fatalf("%d posts of 10 KiB fit a 64 KiB budget, want 6", accepted)
		}
		if status, _ := postText(t, g.srvs["onion"].URL, 10<<10); status != http.StatusOK {
			t.Fatalf("the other listener's budget was spent too: status %d", status)
		}
		clk.add(time.Minute)
		if status, _ := postText(t, g.srvs["web"].URL, 10<<10); status != http.StatusOK {
			t.Fatalf("budget did not come back after a minute: status %d", status)
		}
		if n := len(g.tips(t)); n != 8 {
			t.Fatalf("%d tips queued, want 8", n)
		}
	})
	t.Run("overall", func(t *testing.T) {
		clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		g := newGated(t, limits, channels.GateConfig{BytesPerMinute: 64 << 10, BytesPerMinutePerListener: 48 << 10}, clk.now, "web", "onion")
		for i := 0; i < 4; i++ {
			if status, _ := postText(t, g.srvs["web"].URL, 10<<10); status != http.StatusOK {
				t.Fatalf("post %d refused: %d", i, status)
			}
		}
		if status, _ := postText(t, g.srvs["web"].URL, 10<<10); status != http.StatusServiceUnavailable {
			t.Fatalf("listener budget not enforced: %d", status)
		}
		for i := 0; i < 2; i++ {
			if status, _ := postText(t, g.srvs["onion"].URL, 10<<10); status != http.StatusOK {
				t.Fatalf("onion refused inside the overall budget: %d", status)
			}
		}
		if status, _ := postText(t, g.srvs["onion"].URL, 10<<10); status != http.StatusServiceUnavailable {
			t.Fatalf("overall budget not enforced: %d", status)
		}
	})
	t.Run("uploads leave text its share", func(t *testing.T) {
		clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		g := newGated(t, limits, channels.GateConfig{BytesPerMinute: 1 << 20}, clk.now)
		// 7/8 of the budget is 896 KiB: two uploads of 400 KiB fit, a third does not.
		upload := func() int {
			body, ct := multipartBody(part{"message", "", "file"}, part{"file", "a.bin", strings.Repeat("u", 400<<10)})
			resp, err := http.Post(g.srv.URL+"/submit", ct, body)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for i, want := range []int{200, 200, 503} {
			if got := upload(); got != want {
				t.Fatalf("upload %d: status %d, want %d", i, got, want)
			}
		}
		if status, _ := postText(t, g.srv.URL, 10<<10); status != http.StatusOK {
			t.Fatalf("text refused although uploads may not spend its share: %d", status)
		}
	})
}

// TestRefusedPostNotHeld checks that a post refused before its body is
// read is answered and its connection closed at once, even when the client
// declared a body it never sends: the refusal must not wait on the body.
func TestRefusedPostNotHeld(t *testing.T) {
	g := newGated(t, channels.DefaultLimits, channels.GateConfig{}, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: flare\r\nOrigin: https://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nmessage=hi")
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body is pending: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("connection held open: %v", err)
	}
}
