package web

import (
	"bufio"
	"context"
	"github.com/flarehq/flare/internal/testbrowser"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
)

// TestBrowserInboxShowsNewDistressUnread keeps an inbox open in Chromium
// while a distress call arrives through the real intake: it appears at the
// top, marked unread with its waiting time, without anyone reloading;
// opening it marks it read.
func TestBrowserInboxShowsNewDistressUnread(t *testing.T) {
	b := newBrowser(t)
	st := embeddedStore(t)
	alice := newKeyholder(t, "alice")
	rs := recipients(alice)
	submit(t, st.q, rs, submission{channel: "web", kind: crypto.KindMissing, text: "My brother stopped answering in Poipet."})
	old := submit(t, st.q, rs, submission{channel: "web", kind: crypto.KindDistress, text: "Older distress call, already read."})
	submit(t, st.q, rs, submission{channel: "onion", kind: crypto.KindEvidence, text: "Ledger photos."})
	ra := startConsole(t, st.q, alice, rs)
	tab := b.tab(t)

	testbrowser.Do(t, tab, chromedp.Navigate(ra.signIn), chromedp.WaitVisible(chromedp.CSS("#inbox")))
	testbrowser.Do(t, tab, chromedp.Navigate(ra.base+"/tip/"+old.QueueID), chromedp.WaitVisible(chromedp.CSS("#tip-text")))
	testbrowser.Do(t, tab, chromedp.Navigate(ra.base+"/"), chromedp.WaitVisible(chromedp.CSS("#inbox")))
	if n := testbrowser.Eval[int](t, tab, `document.querySelectorAll("#inbox tr.unread").length`); n != 2 {
		t.Fatalf("%d unread rows before the new tip, want 2 (the opened distress call is read)", n)
	}
	if z := text(t, tab, "#inbox tbody tr:first-child time"); !strings.Contains(z, time.Now().Format("MST")) {
		t.Errorf("received time %q lacks the local zone", z)
	}
	screenshot(t, tab, "inbox-live-before")

	fresh := submit(t, st.q, rs, submission{channel: "telegram", kind: crypto.KindDistress, text: "NEW: locked in building D, please come."})
	// Nobody reloads: the page must notice by itself.
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#inbox tbody tr[data-key="`+fresh.QueueID+`"]`))); err != nil {
		t.Fatalf("the new distress call did not appear without a reload: %v", err)
	}
	first := testbrowser.Eval[string](t, tab, `document.querySelector("#inbox tbody tr").getAttribute("data-key")`)
	if first != fresh.QueueID {
		t.Fatalf("first row is %s, want the new distress call %s", first, fresh.QueueID)
	}
	row := strings.ToLower(text(t, tab, "#inbox tbody tr:first-child"))
	for _, want := range []string{"distress", "unread", "new: locked in building d", "ago"} {
		if !strings.Contains(row, want) && !(want == "ago" && strings.Contains(row, "just now")) {
			t.Errorf("first row lacks %q: %s", want, row)
		}
	}
	if cls := testbrowser.Eval[string](t, tab, `document.querySelector("#inbox tbody tr").className`); !strings.Contains(cls, "unread") {
		t.Errorf("new distress row class %q, want unread", cls)
	}
	screenshot(t, tab, "inbox-live-new-distress")

	testbrowser.Do(t, tab, chromedp.Navigate(ra.base+"/tip/"+fresh.QueueID), chromedp.WaitVisible(chromedp.CSS("#tip-text")),
		chromedp.Navigate(ra.base+"/"), chromedp.WaitVisible(chromedp.CSS("#inbox")))
	if cls := testbrowser.Eval[string](t, tab, `document.querySelector('#inbox tbody tr[data-key="`+fresh.QueueID+`"]').className`); strings.Contains(cls, "unread") {
		t.Errorf("opened tip still unread: %q", cls)
	}
}

func TestInboxRefreshesWithoutJavaScript(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	rc := submit(t, q, recipients(alice), submission{channel: "web", kind: crypto.KindDistress, text: "help"})
	r := startConsole(t, q, alice, recipients(alice))
	c := r.client(t)
	_, inbox := get(t, c, r.base+"/")
	contains(t, inbox, `<noscript><meta http-equiv="refresh" content="30"></noscript>`, `/static/live.js`, "1 unread", "unread-mark")
	_, tip := get(t, c, r.base+"/tip/"+rc.QueueID)
	if strings.Contains(tip, `http-equiv="refresh"`) {
		t.Error("a tip page reloads itself; it must not (a key-holder writes notes there)")
	}
	_, inbox = get(t, c, r.base+"/")
	if strings.Contains(inbox, "unread-mark") {
		t.Error("the opened tip is still unread")
	}
}

func TestEventsSaysWhenATipArrives(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	first := submit(t, q, recipients(alice), submission{channel: "web", kind: crypto.KindTip, text: "first"})
	r := startConsole(t, q, alice, recipients(alice))
	c := r.client(t)

	if code, _ := get(t, c, r.base+"/events?after=not-an-id"); code != http.StatusBadRequest {
		t.Errorf("bad after: %d, want 400", code)
	}
	if resp, err := http.Get(r.base + "/events"); err != nil || resp.Request.URL.Path == "/events" && resp.StatusCode == http.StatusOK {
		t.Errorf("events without a session: %v %v", resp.Status, err)
	}

	resp, err := c.Get(r.base + "/events?after=" + first.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: ") {
				got <- sc.Text()
				return
			}
		}
		close(got)
	}()
	select {
	case ev := <-got:
		t.Fatalf("event %q before any new tip", ev)
	case <-time.After(2500 * time.Millisecond):
	}
	submit(t, q, recipients(alice), submission{channel: "web", kind: crypto.KindDistress, text: "second"})
	select {
	case ev := <-got:
		if ev != "event: tips" {
			t.Fatalf("event %q, want tips", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event after a new tip")
	}
}
