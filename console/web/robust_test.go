package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
	"github.com/flarehq/flare/queue"
)

// TestBadRecordsAreSkippedAndFlagged is finding 7: one bad record of any
// kind — a tip, a triage state, a history entry — made the inbox and
// every tip page answer 502. Each is now skipped and flagged.
func TestBadRecordsAreSkippedAndFlagged(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		plant   func(t *testing.T, q queue.Queue, victim string)
		inbox   string // what the inbox says about it
		tipPage string // what the victim's page says about it
	}{
		{
			name: "tip",
			plant: func(t *testing.T, q queue.Queue, victim string) {
				if _, err := q.Enqueue(ctx, queue.StreamTips, []byte{'x'}); err != nil {
					t.Fatal(err)
				}
			},
			inbox: "1 tip could not be opened",
		},
		{
			name: "triage state",
			plant: func(t *testing.T, q queue.Queue, victim string) {
				if _, err := q.PutRecord(ctx, "triage/"+victim, []byte{'x'}, 0); err != nil {
					t.Fatal(err)
				}
			},
			inbox:   "triage record of 1 tip is damaged",
			tipPage: "The triage record of this tip is damaged",
		},
		{
			name: "history entry",
			plant: func(t *testing.T, q queue.Queue, victim string) {
				if err := q.AppendLog(ctx, "triage-log/"+victim, []byte{'x'}); err != nil {
					t.Fatal(err)
				}
			},
			tipPage: "damaged history entry",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := memq.New()
			alice := newKeyholder(t, "alice")
			rs := recipients(alice)
			victim := submit(t, q, rs, submission{channel: "web", kind: crypto.KindTip, text: "VICTIM-TIP"}).QueueID
			other := submit(t, q, rs, submission{channel: "web", kind: crypto.KindTip, text: "OTHER-TIP"}).QueueID
			r := startConsole(t, q, alice, rs)
			c := r.client(t)
			// Some genuine history first, so that a bad entry among good
			// ones is shown in its place.
			_, page := get(t, c, r.base+"/tip/"+other)
			if code, _ := post(t, c, r.base+"/tip/"+other+"/triage", url.Values{"csrf": {formValue(t, csrfPattern, page)}, "version": {"0"}, "note": {"GOOD-NOTE"}}); code != http.StatusOK {
				t.Fatalf("triage save: %d", code)
			}
			tt.plant(t, q, victim)
			code, page := get(t, c, r.base+"/")
			if code != http.StatusOK {
				t.Fatalf("inbox: %d", code)
			}
			contains(t, page, "VICTIM-TIP", "OTHER-TIP", tt.inbox)
			for _, key := range []string{victim, other} {
				code, page := get(t, c, r.base+"/tip/"+key)
				if code != http.StatusOK {
					t.Fatalf("tip page %s: %d", key, code)
				}
				if key == victim {
					contains(t, page, "VICTIM-TIP", tt.tipPage)
				} else {
					contains(t, page, "OTHER-TIP", "GOOD-NOTE")
					if tt.tipPage != "" && strings.Contains(page, tt.tipPage) {
						t.Errorf("the other tip's page is flagged too")
					}
				}
			}
		})
	}
}

// TestAttachmentRequestsDoNotLink is finding 2: linking ran on every
// console request, each image on a tip page included. Tips are now
// linked once, by page loads; image and download requests never link.
func TestAttachmentRequestsDoNotLink(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	rs := recipients(alice)
	phone := &crypto.Sender{Phone: "+855 12 345 678"}
	first := submit(t, q, rs, submission{channel: "sms", kind: crypto.KindDistress, text: "FIRST", sender: phone,
		attachments: []testFile{{name: "p.png", mediaType: "image/png", data: pngWithText(t, "x")}}}).QueueID
	r := startConsole(t, q, alice, rs)
	c := r.client(t)
	get(t, c, r.base+"/tip/"+first)
	before := r.srv.inbox.index.Stats()
	if before.Tips != 1 {
		t.Fatalf("index after the first page: %+v", before)
	}
	second := submit(t, q, rs, submission{channel: "web", kind: crypto.KindTip, text: "SECOND call 012 345 678"}).QueueID
	for range 3 {
		for _, u := range []string{"/tip/" + first + "/att/0/image", "/tip/" + first + "/att/0/file"} {
			if code, _ := get(t, c, r.base+u); code != http.StatusOK {
				t.Fatalf("%s: %d", u, code)
			}
		}
	}
	if after := r.srv.inbox.index.Stats(); after != before {
		t.Fatalf("attachment requests linked tips: index %+v, was %+v", after, before)
	}
	_, page := get(t, c, r.base+"/tip/"+first)
	contains(t, page, `href="/tip/`+second+`"`, "phone number")
	if st := r.srv.inbox.index.Stats(); st.Tips != 2 || st.Computes != 2 {
		t.Fatalf("index after the second tip: %+v", st)
	}
	// Loading pages again links nothing again.
	get(t, c, r.base+"/")
	get(t, c, r.base+"/tip/"+second)
	if st := r.srv.inbox.index.Stats(); st.Tips != 2 || st.Computes != 2 {
		t.Fatalf("index after more pages: %+v", st)
	}
}

// TestControlsNeverRendered is finding 4 in the web console: terminal
// escapes, C1 controls and bidi overrides from a tip (as someone who can
// write to the queue can seal one, past the gateway's own checks) are
// not in any page.
func TestControlsNeverRendered(t *testing.T) {
	const payload = "en-\x1b]0;pwned\x07\x1b[31mred\u009b2J\u202eexe.pdf"
	q := memq.New()
	alice := newKeyholder(t, "alice")
	sealer, err := crypto.NewSealer(alice.id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := sealer.SealAttachment(context.Background(), q, crypto.AttachmentInfo{ID: "att-x", Name: "f" + payload, MediaType: payload}, strings.NewReader("data"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealer.SealTip(&crypto.Tip{ID: "t1", Receipt: "ABCD-EFGH", Channel: "web", Kind: crypto.KindTip, Language: payload,
		Text: "TEXT " + payload + "\nsecond line", Fields: map[string]string{"place" + payload: payload}, People: []string{payload},
		Attachments: []crypto.AttachmentRef{ref}})
	if err != nil {
		t.Fatal(err)
	}
	key, err := q.Enqueue(context.Background(), queue.StreamTips, sealed)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsole(t, q, alice, recipients(alice))
	c := r.client(t)
	for _, u := range []string{"/", "/?q=" + url.QueryEscape(payload), "/tip/" + key} {
		code, page := get(t, c, r.base+u)
		if code != http.StatusOK || !strings.Contains(page, "TEXT en-]0;pwned") {
			t.Fatalf("%s: %d, tip not shown", u, code)
		}
		if i := strings.IndexFunc(page, func(r rune) bool {
			return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || 0x80 <= r && r <= 0x9f || r == 0x202e
		}); i >= 0 {
			t.Errorf("%s renders control %U at %d: %q", u, []rune(page[i:])[0], i, page[max(0, i-40):min(len(page), i+40)])
		}
	}
}

// BenchmarkFloodTipPage measures a tip page (with an image on it) once the
// console has read the review's flood: 1,000 tips of 64 KiB text with
// unique places. Before the index, each such request linked all tips
// again: 137 s at 1,000.
func BenchmarkFloodTipPage(b *testing.B) {
	q := memq.New()
	alice := newKeyholder(b, "alice")
	rs := recipients(alice)
	text := strings.Repeat("flood words here ", (64<<10)/17-1)
	var first string
	for i := range 1000 {
		s := submission{channel: "web", kind: crypto.KindTip, text: fmt.Sprintf("%d %s", i, text),
			location: &crypto.Location{Place: fmt.Sprintf("place %d", i)}}
		if i == 0 {
			s.attachments = []testFile{{name: "p.png", mediaType: "image/png", data: pngWithText(b, "x")}}
		}
		rc := submit(b, q, rs, s)
		if i == 0 {
			first = rc.QueueID
		}
	}
	r := startConsole(b, q, alice, rs)
	c := r.client(b)
	get(b, c, r.base+"/") // reads, opens and indexes the flood once
	b.ResetTimer()
	for b.Loop() {
		for _, u := range []string{"/tip/" + first, "/tip/" + first + "/att/0/image"} {
			if code, _ := get(b, c, r.base+u); code != http.StatusOK {
				b.Fatal(code)
			}
		}
	}
}
