package web

import (
	"bytes"
	"context"
	"github.com/flarehq/flare/internal/testbrowser"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/sentinel"
	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// These tests drive the real console in headless Chromium (Debian's
// chromium package) against the real embedded queue, with tips submitted
// through the real gateway.Intake. Screenshots of what a key-holder sees
// are kept in out/screenshots/console/ at the top of the repository.

// browser is one headless Chromium process; each tab gets its own browser
// context (its own cookies), like a key-holder on their own machine.
type browser struct {
	root context.Context
	mu   sync.Mutex
	reqs []string // every URL any tab requested
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium); the browser tests need it")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768), // a small laptop screen
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browser{root: root}
}

// tab opens a tab in a fresh browser context, recording its requests.
func (b *browser) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancel() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			b.mu.Lock()
			b.reqs = append(b.reqs, e.Request.URL)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func (b *browser) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.reqs...)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// screenshot keeps a full-page screenshot under out/screenshots/console/.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	ext := ".jpg"
	if bytes.HasPrefix(img, []byte("\x89PNG")) {
		ext = ".png"
	}
	dir := filepath.Join(repoRoot(t), "out", "screenshots", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+ext)
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}

// store is a real queue backend and a way to scan everything it wrote.
type store struct {
	name string
	q    queue.Queue
	scan func(t *testing.T, needles ...string) []sentinel.Finding
}

func embeddedStore(t *testing.T) store {
	t.Helper()
	dir := t.TempDir()
	q, err := backend.Open(context.Background(), "file:"+filepath.Join(dir, "flare.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return store{name: "embedded", q: q, scan: func(t *testing.T, needles ...string) []sentinel.Finding {
		found, err := sentinel.Dir(dir, needles...)
		if err != nil {
			t.Fatal(err)
		}
		return found
	}}
}

func redisStore(t *testing.T) store {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	srv := testredis.Start(t)
	q, err := backend.Open(context.Background(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return store{name: "redis", q: q, scan: func(t *testing.T, needles ...string) []sentinel.Finding {
		found, err := sentinel.Redis(context.Background(), srv.Addr(), needles...)
		if err != nil {
			t.Fatal(err)
		}
		more, err := sentinel.Dir(srv.Dir(), needles...) // the append-only file
		if err != nil {
			t.Fatal(err)
		}
		return append(found, more...)
	}}
}

// TestBrowserConsole runs the whole key-holder journey on each backend;
// screenshots come from the embedded run.
func TestBrowserConsole(t *testing.T) {
	b := newBrowser(t)
	t.Run("embedded", func(t *testing.T) { browserJourney(t, b, embeddedStore(t), true) })
	t.Run("redis", func(t *testing.T) { browserJourney(t, b, redisStore(t), false) })
}

func browserJourney(t *testing.T, b *browser, st store, shots bool) {
	q := st.q
	screenshot := func(t *testing.T, ctx context.Context, name string) {
		t.Helper()
		if shots {
			screenshot(t, ctx, name)
		}
	}
	alice, bob, mallory := newKeyholder(t, "alice"), newKeyholder(t, "bob"), newKeyholder(t, "mallory")
	rs := recipients(alice, bob)
	lat, lon := 11.0903, 106.3101
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=3"><script>window.__xss=4</script></svg>`)

	// Least urgent first, so that the inbox order can only come from sorting.
	submit(t, q, rs, submission{channel: "web", kind: crypto.KindOther, text: "A question about volunteering."})
	xss := submit(t, q, rs, submission{channel: "web", kind: crypto.KindTip,
		text: `<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> a tip about a recruiter`})
	evidence := submit(t, q, rs, submission{channel: "onion", kind: crypto.KindEvidence, lang: "en",
		text: "Photos of the compound ledger.",
		attachments: []testFile{
			{name: "compound.jpg", mediaType: "image/jpeg", data: jpegWithGPS(t)},
			{name: "drawing.svg", mediaType: "image/svg+xml", data: svg},
			{name: "ledger.csv", mediaType: "text/csv", data: []byte("name,amount\nA,100\n")},
		}})
	missing := submit(t, q, rs, submission{channel: "web", kind: crypto.KindMissing, lang: "km",
		text:     "My son Dara Sok (17) has not come home since he took a job offer in Sihanoukville.",
		fields:   map[string]string{"missing.name": "Dara Sok", "missing.age": "17"},
		location: &crypto.Location{Place: "Sihanoukville"}})
	submit(t, q, rs, submission{channel: "sms", kind: crypto.KindDistress, text: "Bavet, building C, room 4. Please come.",
		sender: &crypto.Sender{Phone: "+85512345678"}, part: &crypto.Part{Group: "sms-1", Index: 2, Total: 2}})
	submit(t, q, rs, submission{channel: "sms", kind: crypto.KindDistress, text: "Help, they took my passport. ",
		sender: &crypto.Sender{Phone: "+85512345678"}, part: &crypto.Part{Group: "sms-1", Index: 1, Total: 2}})
	distress := submit(t, q, rs, submission{channel: "telegram", kind: crypto.KindDistress,
		text:     "We are 12 people locked in. Call my cousin on 012 345 678.",
		location: &crypto.Location{Latitude: &lat, Longitude: &lon, Place: "Bavet"}})

	ra, rb := startConsole(t, q, alice, rs), startConsole(t, q, bob, rs)
	tabA := b.tab(t)

	t.Run("inbox in urgency order", func(t *testing.T) {
		testbrowser.Do(t, tabA, chromedp.Navigate(ra.signIn), chromedp.WaitVisible(chromedp.CSS("#inbox")))
		kinds := testbrowser.Eval[[]string](t, tabA, `Array.from(document.querySelectorAll("#inbox tbody tr .badge")).map(e => e.textContent)`)
		if len(kinds) != 6 || kinds[0] != "distress" || kinds[1] != "distress" || kinds[2] != "missing" {
			t.Fatalf("inbox kinds = %v, want distress, distress, missing, then the rest", kinds)
		}
		for _, k := range kinds[3:] {
			if k == "distress" || k == "missing" {
				t.Fatalf("inbox kinds = %v", kinds)
			}
		}
		page := text(t, tabA, "#inbox")
		if !strings.Contains(page, "Help, they took my passport. Bavet, building C") {
			t.Errorf("SMS parts not joined: %s", page)
		}
		screenshot(t, tabA, "inbox")
	})

	t.Run("tip page shows text, fields, location, attachments", func(t *testing.T) {
		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/tip/"+missing.QueueID), chromedp.WaitVisible(chromedp.CSS("#tip-text")))
		if got := text(t, tabA, "#tip-text"); !strings.Contains(got, "My son Dara Sok (17)") {
			t.Errorf("text = %q", got)
		}
		fields := text(t, tabA, "#fields")
		if !strings.Contains(fields, "missing.name") || !strings.Contains(fields, "Dara Sok") {
			t.Errorf("fields = %q", fields)
		}
		if got := text(t, tabA, "#location"); !strings.Contains(got, "Sihanoukville") {
			t.Errorf("location = %q", got)
		}

		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/tip/"+evidence.QueueID), chromedp.WaitVisible(chromedp.CSS("#attachments img.preview")))
		atts := text(t, tabA, "#attachments")
		for _, want := range []string{"compound.jpg", "drawing.svg", "ledger.csv", "GPS coordinates", "SVG drawings can carry scripts", "not shown in the console"} {
			if !strings.Contains(atts, want) {
				t.Errorf("attachments lack %q: %s", want, atts)
			}
		}
		// The photo is shown, re-encoded; the SVG is never an image or inline.
		n, err := chromedp.Run(tabA, chromedp.Evaluate[int](`(async () => { const i = document.querySelector("img.preview"); await i.decode(); return i.naturalWidth })()`, chromedp.EvalAwaitPromise))
		if err != nil || n != 16 {
			t.Errorf("re-encoded photo width = %d (%v), want 16", n, err)
		}
		if n := testbrowser.Eval[int](t, tabA, `document.querySelectorAll("img.preview").length + document.querySelectorAll("svg, object, embed, iframe").length`); n != 1 {
			t.Errorf("%d images/embeds on the page, want only the photo", n)
		}
		screenshot(t, tabA, "tip-evidence")

		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/tip/"+distress.QueueID), chromedp.WaitVisible(chromedp.CSS("#related")))
		if rel := text(t, tabA, "#related"); !strings.Contains(rel, "phone number") || !strings.Contains(rel, "Help, they took my passport") {
			t.Errorf("related = %q", rel)
		}
		screenshot(t, tabA, "tip-distress")
	})

	t.Run("script in a tip is inert", func(t *testing.T) {
		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/tip/"+xss.QueueID), chromedp.WaitVisible(chromedp.CSS("#tip-text")), chromedp.Sleep(300*time.Millisecond))
		if got := text(t, tabA, "#tip-text"); !strings.Contains(got, "<script>window.__xss=1</script>") {
			t.Errorf("tip text not shown literally: %q", got)
		}
		if v := testbrowser.Eval[string](t, tabA, `String(window.__xss)`); v != "undefined" {
			t.Fatalf("tip content ran as script: window.__xss = %s", v)
		}
		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/tip/"+evidence.QueueID), chromedp.WaitVisible(chromedp.CSS("#attachments")), chromedp.Sleep(300*time.Millisecond))
		if v := testbrowser.Eval[string](t, tabA, `String(window.__xss)`); v != "undefined" {
			t.Fatalf("SVG ran as script: window.__xss = %s", v)
		}
	})

	t.Run("keyboard shortcuts", func(t *testing.T) {
		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/"), chromedp.WaitVisible(chromedp.CSS("#inbox tr.sel")),
			chromedp.KeyEvent("j"), chromedp.KeyEvent("o"), chromedp.WaitVisible(chromedp.CSS("#tip-text")))
		loc, _ := chromedp.Run(tabA, chromedp.Location())
		second := testbrowser.Eval[string](t, tabA, `document.querySelector("#prev") ? "ok" : "none"`)
		if !strings.Contains(loc, "/tip/") || second != "ok" {
			t.Fatalf("j, o did not open the second tip: %s (%s)", loc, second)
		}
		testbrowser.Do(t, tabA, chromedp.KeyEvent("a"), chromedp.WaitVisible(chromedp.CSS("#saved")))
		if got := text(t, tabA, "#cur-assignee"); got != "alice" {
			t.Fatalf("after 'a', assignee = %q", got)
		}
	})

	const note, tag = "NOTE-SENTINEL-7731 called the hotline", "tagsentinel7731"
	tabB := b.tab(t)
	tip := rb.base + "/tip/" + missing.QueueID

	t.Run("two key-holders share triage; simultaneous change conflicts", func(t *testing.T) {
		testbrowser.Do(t, tabB, chromedp.Navigate(rb.signIn), chromedp.WaitVisible(chromedp.CSS("#inbox")))
		if n := testbrowser.Eval[int](t, tabB, `document.querySelectorAll("#inbox tbody tr").length`); n != 6 {
			t.Fatalf("bob sees %d tips, want 6", n)
		}
		// Both open the same tip.
		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/tip/"+missing.QueueID), chromedp.WaitVisible(chromedp.CSS("#triage-form")))
		testbrowser.Do(t, tabB, chromedp.Navigate(tip), chromedp.WaitVisible(chromedp.CSS("#triage-form")))
		// Alice saves a status, a tag and a note.
		testbrowser.Do(t, tabA,
			chromedp.SetValue(chromedp.CSS("#status"), "referred"),
			chromedp.SetValue(chromedp.CSS("#tags"), tag),
			chromedp.SetValue(chromedp.CSS("#note"), note),
			chromedp.Click(chromedp.CSS("#save")),
			chromedp.WaitVisible(chromedp.CSS("#saved")))
		// Bob, on the page he loaded before, saves too: conflict, nothing lost.
		testbrowser.Do(t, tabB,
			chromedp.SetValue(chromedp.CSS("#status"), "spam"),
			chromedp.SetValue(chromedp.CSS("#note"), "bob's note"),
			chromedp.Click(chromedp.CSS("#save")),
			chromedp.WaitVisible(chromedp.CSS("#conflict")))
		if c := text(t, tabB, "#conflict"); !strings.Contains(c, "alice changed this tip since you opened it") || !strings.Contains(c, "referred") {
			t.Errorf("conflict message = %q", c)
		}
		form := testbrowser.Eval[[]string](t, tabB, `["#note", "#status", "#tags"].map(s => document.querySelector(s).value)`)
		if form[0] != "bob's note" || form[1] != "spam" || form[2] != tag {
			t.Errorf("form after the conflict = %q, want bob's note and status over alice's tag", form)
		}
		screenshot(t, tabB, "tip-conflict")
		// After a reload, bob sees alice's change.
		testbrowser.Do(t, tabB, chromedp.Navigate(tip), chromedp.WaitVisible(chromedp.CSS("#notes")))
		if got := text(t, tabB, "#cur-status"); got != "referred" {
			t.Errorf("bob sees status %q", got)
		}
		if got := text(t, tabB, "#notes"); !strings.Contains(got, note) || !strings.Contains(got, "alice") {
			t.Errorf("bob sees notes %q", got)
		}
		screenshot(t, tabB, "tip-triaged")
	})

	t.Run("not a recipient: no content, and why", func(t *testing.T) {
		rm := startConsole(t, q, mallory, recipients(mallory))
		tabM := b.tab(t)
		testbrowser.Do(t, tabM, chromedp.Navigate(rm.signIn), chromedp.WaitVisible(chromedp.CSS("#not-recipient")))
		why := text(t, tabM, "#not-recipient")
		if !strings.Contains(why, "cannot be opened with your identity") || !strings.Contains(why, mallory.id.Recipient().String()) {
			t.Errorf("explanation = %q", why)
		}
		body := text(t, tabM, "body")
		for _, s := range []string{"passport", "Dara", "ledger", "compound"} {
			if strings.Contains(body, s) {
				t.Errorf("non-recipient's page shows %q", s)
			}
		}
		screenshot(t, tabM, "inbox-not-recipient")
	})

	t.Run("no session or no CSRF token: refused", func(t *testing.T) {
		tabX := b.tab(t)
		testbrowser.Do(t, tabX, chromedp.Navigate(ra.base+"/tip/"+missing.QueueID), chromedp.WaitVisible(chromedp.CSS("h1")))
		if h := text(t, tabX, "h1"); h != "Not signed in" {
			t.Errorf("without a session: %q", h)
		}
		if body := text(t, tabX, "body"); strings.Contains(body, "Dara") {
			t.Error("tip content served without a session")
		}
		resp, err := http.Get(ra.base + "/tip/" + missing.QueueID + "/att/0/file")
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("attachment without session: %v %v", resp.Status, err)
		}
		resp.Body.Close()
		// A real, signed-in page whose form lost its CSRF token.
		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/tip/"+missing.QueueID), chromedp.WaitVisible(chromedp.CSS("#triage-form")))
		testbrowser.Eval[bool](t, tabA, `document.querySelector("#triage-form input[name=csrf]").remove(), true`)
		testbrowser.Do(t, tabA, chromedp.SetValue(chromedp.CSS("#note"), "should not be saved"), chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("section.message h1")))
		if h := text(t, tabA, "h1"); h != "Form refused" {
			t.Errorf("form without CSRF: %q", h)
		}
		testbrowser.Do(t, tabA, chromedp.Navigate(ra.base+"/tip/"+missing.QueueID), chromedp.WaitVisible(chromedp.CSS("#notes")))
		if strings.Contains(text(t, tabA, "#notes"), "should not be saved") {
			t.Error("a form without CSRF token changed the tip")
		}
	})

	t.Run("works with JavaScript off", func(t *testing.T) {
		rc := startConsole(t, q, bob, rs) // a fresh sign-in link
		tabN := b.tab(t)
		noJS := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return chromedp.Void{}, err
		}
		testbrowser.Do(t, tabN, noJS, chromedp.Navigate(rc.signIn), chromedp.WaitVisible(chromedp.CSS("#inbox")))
		if n := testbrowser.Eval[int](t, tabN, `document.querySelectorAll("#inbox tr.sel").length`); n != 0 {
			t.Fatal("the shortcut script ran; scripts are not off")
		}
		testbrowser.Do(t, tabN,
			chromedp.Navigate(rc.base+"/?kind=evidence"), chromedp.WaitVisible(chromedp.CSS("#inbox a.open")),
			chromedp.Click(chromedp.CSS("#inbox a.open")), chromedp.WaitVisible(chromedp.CSS("#triage-form")),
			chromedp.SetValue(chromedp.CSS("#status"), "waiting"),
			chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#saved")))
		if got := text(t, tabN, "#cur-status"); got != "waiting" {
			t.Errorf("status after a save with scripts off = %q", got)
		}
	})

	t.Run("nothing loaded from outside the console", func(t *testing.T) {
		reqs := b.requests()
		if len(reqs) < 10 {
			t.Fatalf("only %d requests recorded; is request recording working?", len(reqs))
		}
		for _, u := range reqs {
			if !strings.HasPrefix(u, ra.base+"/") && !strings.HasPrefix(u, rb.base+"/") && !strings.HasPrefix(u, "http://127.0.0.1:") {
				t.Errorf("request outside the console: %s", u)
			}
		}
	})

	t.Run("sentinel scan: no triage plaintext in store or logs", func(t *testing.T) {
		needles := []string{"NOTE-SENTINEL-7731", tag, "referred", "bob's note"}
		found := st.scan(t, needles...)
		found = append(found, sentinel.Bytes(ra.logs.Bytes(), "alice's console log", needles...)...)
		found = append(found, sentinel.Bytes(rb.logs.Bytes(), "bob's console log", needles...)...)
		for _, f := range found {
			t.Error(f)
		}
		// Positive control: record keys are stored in the clear, so a scan
		// that cannot find them is not reading the store at all.
		if len(st.scan(t, "triage-log/"+missing.QueueID)) == 0 {
			t.Error("the scan did not find a triage record key; it proves nothing")
		}
		if len(ra.logs.Bytes()) == 0 {
			t.Error("alice's console logged nothing; the scan would prove nothing")
		}
	})
}
