package web

import (
	"context"
	"fmt"
	"github.com/flarehq/flare/internal/testbrowser"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/crypto"
)

// These tests drive the form in headless Chromium (Debian's chromium, with
// the Noto, Khmer OS and Padauk fonts .ci/run installs) on a 360×740
// phone screen. Screenshots of the form in every language are kept in
// out/screenshots/form/ at the top of the repository, to look at.

// phone starts a headless Chromium with a 360×740 screen and returns a
// tab in a fresh browser context.
func phone(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium); the browser tests need it")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(360, 740))
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return root
}

// newTab opens a 360×740 tab in a fresh browser context (no shared
// history or cache), bounded in time.
func newTab(t *testing.T, root context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	ctx, cancelT := context.WithTimeout(tab, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancel() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(1))); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// historyStep goes back (-1) or forward (+1) in the tab's history without
// waiting for a load event: a page the browser restores from its
// back/forward cache fires none, and that is what this test must see.
func historyStep(delta int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, cdppage.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return err
		}
		i := res.CurrentIndex + delta
		if i < 0 || i >= int64(len(res.Entries)) {
			return fmt.Errorf("no history entry %d", i)
		}
		_, err = cdp.Call(ctx, tg, cdppage.NavigateToHistoryEntry, cdppage.NavigateToHistoryEntryParams{EntryID: res.Entries[i].ID})
		if err != nil {
			return err
		}
		time.Sleep(700 * time.Millisecond)
		return nil
	})
}

// waitJS polls a script expression until it is true.
func waitJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", expr)
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	img, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repoRoot(t), "out", "screenshots", "form")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
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

// harmless stands in for the deployment's quick-exit site, on loopback.
type harmless struct {
	srv      *httptest.Server
	mu       sync.Mutex
	referers []string
}

func newHarmless(t *testing.T) *harmless {
	h := &harmless{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.referers = append(h.referers, r.Header.Get("Referer"))
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>Weather</title><h1 id=weather>Sunny</h1>"))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func TestFormInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	f := newFixture(t, channels.DefaultLimits)
	exit := newHarmless(t)
	f.ch.cfg.QuickExitURL = exit.srv.URL + "/"
	root := phone(t)
	cat := catalog.New(nil)

	t.Run("Send on the first screen, every language", func(t *testing.T) {
		ctx := newTab(t, root)
		start := time.Now()
		defer func() { t.Logf("22 languages in %s", time.Since(start)) }()
		for _, lang := range catalog.Supported {
			testbrowser.Do(t, ctx, chromedp.Navigate(f.srv.URL+"/?lang="+lang), chromedp.WaitVisible(chromedp.CSS("#send")))
			bottom := testbrowser.Eval[float64](t, ctx, `document.querySelector("#send").getBoundingClientRect().bottom`)
			if bottom > 740 {
				t.Errorf("%s: the Send button ends at %.0fpx, below a 740px screen", lang, bottom)
			}
			if w := testbrowser.Eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
				t.Errorf("%s: the page is %.0fpx wide on a 360px screen", lang, w)
			}
			if got := testbrowser.Eval[string](t, ctx, `document.querySelector("#send").textContent`); got != cat.Text(lang, "web.send") {
				t.Errorf("%s: Send button says %q", lang, got)
			}
			shot(t, ctx, lang)
		}
		testbrowser.Do(t, ctx, chromedp.Navigate(f.srv.URL+"/?lang=km"), chromedp.WaitVisible(chromedp.CSS("#send")))
		shot(t, ctx, "km-full")
	})

	t.Run("Back after sending shows an empty form", func(t *testing.T) {
		ctx := newTab(t, root)
		testbrowser.Do(t, ctx,
			chromedp.Navigate(f.srv.URL+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS("#message")),
			chromedp.Click(chromedp.CSS(`input[value="distress"]`)),
			chromedp.SendKeys(chromedp.CSS("#message"), "they moved us to building C"),
			chromedp.SendKeys(chromedp.CSS("#place"), "Bavet"),
			chromedp.SendKeys(chromedp.CSS("#people"), "Sok Dara"),
			chromedp.Click(chromedp.CSS("#send")),
			chromedp.WaitVisible(chromedp.CSS(".receipt code")))
		shot(t, ctx, "en-receipt")
		time.Sleep(time.Second) // a person reads the receipt before pressing Back
		before := len(f.tips(t))
		empty := func(when string) {
			t.Helper()
			state := testbrowser.Eval[string](t, ctx, `[document.querySelector("#message").value, document.querySelector("#place").value,
				document.querySelector("#people").value, document.querySelectorAll("input[name=kind]:checked").length,
				document.querySelector("#file").files.length].join("|")`)
			if state != "|||0|0" {
				t.Errorf("%s: the form came back filled: %q", when, state)
			}
		}
		testbrowser.Do(t, ctx, historyStep(-1))
		waitJS(t, ctx, `document.readyState == "complete" && document.querySelector("#message") !== null`)
		shot(t, ctx, "en-after-back")
		empty("after Back")
		// Forward to the sent page: Chromium will not show it again
		// without sending it again, and says so instead.
		testbrowser.Do(t, ctx, historyStep(+1))
		shot(t, ctx, "en-after-forward")
		if strings.Contains(testbrowser.Eval[string](t, ctx, `document.body.innerText`), "building C") {
			t.Error("Forward brought the message back")
		}
		// After an error page chromedp's DOM queries lose the frame, so
		// the rest of this tab is driven by script evaluation only.
		testbrowser.Do(t, ctx, historyStep(-1))
		waitJS(t, ctx, `document.readyState == "complete" && document.querySelector("#message") !== null`)
		empty("after Back, Forward, Back")
		// Sending what Back shows must not file the old message again.
		testbrowser.Eval[bool](t, ctx, `document.querySelector("#send").click(), true`)
		time.Sleep(500 * time.Millisecond)
		waitJS(t, ctx, `document.readyState == "complete" && document.querySelector("#send") !== null`)
		if got := len(f.tips(t)); got != before {
			t.Errorf("%d tips after resending a page from history, want %d", got, before)
		}
		// A tab opened on the address again (as a reopened tab is) is empty.
		tab := newTab(t, root)
		testbrowser.Do(t, tab, chromedp.Navigate(f.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#message")))
		if v := testbrowser.Eval[string](t, tab, `document.querySelector("#message").value + document.querySelector("#place").value`); v != "" {
			t.Errorf("a new tab shows %q", v)
		}
		tips := f.tips(t)
		if tips[len(tips)-1].Kind != crypto.KindDistress || tips[len(tips)-1].Text != "they moved us to building C" {
			t.Errorf("the sent tip: %+v", tips[len(tips)-1])
		}
	})

	t.Run("quick exit works with JavaScript off", func(t *testing.T) {
		tab := newTab(t, root)
		noJS := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return chromedp.Void{}, err
		}
		testbrowser.Do(t, tab, noJS, chromedp.EmulateViewport(360, 740), chromedp.Navigate(f.srv.URL+"/?lang=th"), chromedp.WaitVisible(chromedp.CSS("a.exit")),
			chromedp.SendKeys(chromedp.CSS("#message"), "ช่วยด้วย"),
			chromedp.Click(chromedp.CSS("a.exit")), chromedp.WaitVisible(chromedp.CSS("#weather")))
		loc, _ := chromedp.Run(tab, chromedp.Location())
		if loc != exit.srv.URL+"/" {
			t.Errorf("quick exit went to %q", loc)
		}
		exit.mu.Lock()
		defer exit.mu.Unlock()
		for _, ref := range exit.referers {
			if ref != "" && !strings.HasPrefix(ref, exit.srv.URL) { // its own favicon
				t.Errorf("the harmless site was told where the source came from: %q", ref)
			}
		}
	})
}
