package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/embedded"
)

// blobTracker wraps the real store to see which attachment blobs a
// request left behind.
type blobTracker struct {
	queue.Queue
	mu   sync.Mutex
	live map[string]bool
}

func (b *blobTracker) PutChunk(ctx context.Context, id string, i int, data []byte) error {
	b.mu.Lock()
	b.live[id] = true
	b.mu.Unlock()
	return b.Queue.PutChunk(ctx, id, i, data)
}

func (b *blobTracker) DeleteBlob(ctx context.Context, id string) error {
	b.mu.Lock()
	delete(b.live, id)
	b.mu.Unlock()
	return b.Queue.DeleteBlob(ctx, id)
}

type fixture struct {
	ch       *Channel
	srv      *httptest.Server
	q        *blobTracker
	identity *age.X25519Identity
}

func newFixture(t *testing.T, limits channels.Limits) *fixture {
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
	c := New("web", channels.Deps{Sink: intake, Queue: q, Catalog: catalog.New(nil), Log: log})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return &fixture{ch: c, srv: srv, q: q, identity: id}
}

func (f *fixture) tips(t *testing.T) []*crypto.Tip {
	t.Helper()
	msgs, err := f.q.List(context.Background(), queue.StreamTips, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []*crypto.Tip
	for _, m := range msgs {
		tip, err := crypto.OpenTip(m.Body, f.identity)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tip)
	}
	return out
}

type part struct {
	field, filename, content string
}

func multipartBody(parts ...part) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		if p.filename != "" {
			w, _ := mw.CreateFormFile(p.field, p.filename)
			io.WriteString(w, p.content)
		} else {
			mw.WriteField(p.field, p.content)
		}
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func TestSubmitFormAndScript(t *testing.T) {
	f := newFixture(t, channels.DefaultLimits)
	body, ct := multipartBody(part{"token", "", formToken(t, f.srv.URL)}, part{"kind", "", "distress"}, part{"message", "", "help, building C"},
		part{"file", "photo.jpg", "\xff\xd8jpegdata"}, part{"place", "", "Bavet"}, part{"lang", "", "en"})
	resp, err := http.Post(f.srv.URL+"/", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, page)
	}
	code := regexp.MustCompile(`<code>([A-Z0-9]{4}-[A-Z0-9]{4})</code>`).FindSubmatch(page)
	if code == nil {
		t.Fatalf("no receipt code on the page:\n%s", page)
	}
	tips := f.tips(t)
	if len(tips) != 1 {
		t.Fatalf("%d tips queued", len(tips))
	}
	tip := tips[0]
	if tip.Text != "help, building C" || tip.Kind != crypto.KindDistress || tip.Receipt != string(code[1]) ||
		tip.Location == nil || tip.Location.Place != "Bavet" || tip.Channel != "web" || len(tip.Attachments) != 1 {
		t.Fatalf("tip %+v", tip)
	}
	if a := tip.Attachments[0]; a.Name != "photo.jpg" || a.Size != 10 {
		t.Fatalf("attachment %+v", a)
	}

	// The scriptable endpoint answers JSON.
	body, ct = multipartBody(part{"message", "", "second"})
	req, _ := http.NewRequest("POST", f.srv.URL+"/submit", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || out["status"] != "received" || len(out["receipt"]) != 9 {
		t.Fatalf("status %d, %v", resp.StatusCode, out)
	}
	if n := len(f.tips(t)); n != 2 {
		t.Fatalf("%d tips", n)
	}
}

func TestSubmitRefusals(t *testing.T) {
	limits := channels.Limits{MaxTextBytes: 100, MaxAttachments: 2, MaxAttachmentBytes: 2000, MaxRequestBytes: 5000}
	manyFields := func() (*bytes.Buffer, string) {
		var ps []part
		// More parts than the form has, in fewer bytes than the request
		// limit: a body declared over the limit is refused before any part.
		for i := 0; i < 40; i++ {
			ps = append(ps, part{fmt.Sprint("f", i), "", "x"})
		}
		return multipartBody(ps...)
	}
	truncated := func() (*bytes.Buffer, string) {
		b, ct := multipartBody(part{"message", "", "hello"}, part{"file", "a.bin", strings.Repeat("z", 1500)})
		return bytes.NewBuffer(b.Bytes()[:b.Len()-200]), ct
	}
	tests := []struct {
		name   string
		body   func() (*bytes.Buffer, string)
		status int
		says   string
	}{
		{"empty form", func() (*bytes.Buffer, string) { return multipartBody() }, 400, "empty"},
		{"blank message", func() (*bytes.Buffer, string) { return multipartBody(part{"message", "", "   \n "}) }, 400, "empty"},
		{"missing boundary", func() (*bytes.Buffer, string) {
			return bytes.NewBufferString("--x\r\n"), "multipart/form-data"
		}, 400, "could not be read"},
		{"garbage multipart", func() (*bytes.Buffer, string) {
			return bytes.NewBufferString("this is not multipart at all"), "multipart/form-data; boundary=zzz"
		}, 400, "could not be read"},
		{"truncated upload", truncated, 400, "could not be read"},
		{"invalid utf-8", func() (*bytes.Buffer, string) { return multipartBody(part{"message", "", "ok \xff\xfe bad"}) }, 400, "could not be read"},
		{"invalid utf-8 file name", func() (*bytes.Buffer, string) {
			return multipartBody(part{"message", "", "hi"}, part{"file", "bad\xff.jpg", "x"})
		}, 400, "could not be read"},
		{"unknown kind", func() (*bytes.Buffer, string) {
			return multipartBody(part{"kind", "", "urgent"}, part{"message", "", "hi"})
		}, 400, "choose"},
		{"text too long", func() (*bytes.Buffer, string) { return multipartBody(part{"message", "", strings.Repeat("a", 101)}) }, 413, "too long"},
		{"file too large", func() (*bytes.Buffer, string) {
			return multipartBody(part{"message", "", "hi"}, part{"file", "a.bin", strings.Repeat("z", 2001)})
		}, 413, "too large"},
		{"too many files", func() (*bytes.Buffer, string) {
			return multipartBody(part{"file", "1", "a"}, part{"file", "2", "b"}, part{"file", "3", "c"})
		}, 413, "Too many files"},
		{"body too large", func() (*bytes.Buffer, string) {
			// Every part is within its own limit; together they are not.
			ps := []part{{"file", "1", strings.Repeat("a", 2000)}, {"file", "2", strings.Repeat("b", 2000)}}
			for i := range 14 {
				ps = append(ps, part{fmt.Sprint("extra", i), "", strings.Repeat("c", 99)})
			}
			return multipartBody(ps...)
		}, 413, "too large"},
		{"thousands of parts", manyFields, 400, "too many parts"},
		{"wrong content type", func() (*bytes.Buffer, string) { return bytes.NewBufferString("hello"), "text/plain" }, 415, "not accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, limits)
			body, ct := tt.body()
			// The scripts' endpoint needs no form token, and refuses
			// exactly as the form does.
			resp, err := http.Post(f.srv.URL+"/submit", ct, body)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, page)
			}
			if !strings.Contains(string(page), tt.says) {
				t.Fatalf("page does not say %q:\n%s", tt.says, page)
			}
			if n := len(f.tips(t)); n != 0 {
				t.Fatalf("%d tips queued", n)
			}
			if len(f.q.live) != 0 {
				t.Fatalf("%d attachment blobs left behind", len(f.q.live))
			}
		})
	}
}

func TestPagesAreSafe(t *testing.T) {
	f := newFixture(t, channels.DefaultLimits)
	body, ct := multipartBody(part{"token", "", formToken(t, f.srv.URL)}, part{"kind", "", "tip"}, part{"message", "", "hello"})
	for _, r := range []struct {
		method, path string
		status       int
	}{{"GET", "/", 200}, {"GET", "/static/flare.css", 200}, {"POST", "/", 200}, {"GET", "/nothing", 404}, {"PUT", "/", 405}} {
		var req *http.Request
		if r.method == "POST" {
			req, _ = http.NewRequest("POST", f.srv.URL+r.path, bytes.NewReader(body.Bytes()))
			req.Header.Set("Content-Type", ct)
		} else {
			req, _ = http.NewRequest(r.method, f.srv.URL+r.path, nil)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Errorf("%s %s: status %d, want %d", r.method, r.path, resp.StatusCode, r.status)
		}
		h := resp.Header
		if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || !onlyEvictCookie(resp.Cookies()) {
			t.Errorf("%s %s: headers %v", r.method, r.path, h)
		}
		// The one address elsewhere is the quick-exit link, which loads
		// nothing.
		low := strings.ToLower(strings.ReplaceAll(string(page), `<a class="exit" href="`+DefaultQuickExitURL+`" rel="noreferrer">`, ""))
		if strings.Contains(low, "<script") || strings.Contains(low, "http://") || strings.Contains(low, "https://") || strings.Contains(low, "//cdn") {
			t.Errorf("%s %s: page loads or links something external or uses script", r.method, r.path)
		}
		if r.path == "/" && r.method == "GET" && !strings.Contains(low, `action="/"`) {
			t.Errorf("the form must post back to /")
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	cat := catalog.New(map[string]map[string]string{"km": {"web.title": "ផ្ញើសារ"}})
	cat.SetLanguageName("km", "ខ្មែរ")
	q, _ := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), embedded.Options{})
	defer q.Close()
	id, _ := age.GenerateX25519Identity()
	sealer, _ := crypto.NewSealer(id.Recipient())
	intake, _ := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q})
	c := New("web", channels.Deps{Sink: intake, Queue: q, Catalog: cat, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	for _, tt := range []struct {
		url, accept, want string
	}{
		{"/", "km-KH,km;q=0.9,en;q=0.5", "ផ្ញើសារ"},
		{"/", "fr", "Send a message"},
		{"/?lang=km", "", "ផ្ញើសារ"},
		{"/?lang=en", "km", "Send a message"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tt.url, nil)
		req.Header.Set("Accept-Language", tt.accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), tt.want) {
			t.Errorf("%s with %q: page lacks %q", tt.url, tt.accept, tt.want)
		}
	}
}

// formToken loads the form and returns its single-use token.
func formToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="token" value="([A-Za-z0-9_-]{22})"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no form token on the page:\n%s", page)
	}
	return string(m[1])
}

// onlyEvictCookie reports whether cookies are none, or only the receipt's
// one-second cookie that evicts the form from the back/forward cache.
func onlyEvictCookie(cookies []*http.Cookie) bool {
	for _, c := range cookies {
		if c.Name != evictCookie || c.Value != "1" || c.MaxAge != 1 || !c.HttpOnly {
			return false
		}
	}
	return true
}
