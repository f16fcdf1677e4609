package web

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
)

func TestSortItems(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	item := func(key string, k crypto.Kind, minute int) console.Item {
		return console.Item{Key: key, Tip: &crypto.Tip{Kind: k, Received: t0.Add(time.Duration(minute) * time.Minute)}, Entries: []console.Entry{{QueueID: key}}}
	}
	rec := func(s triage.Status) triage.Record { return triage.Record{State: triage.State{Status: s}, Version: 1} }
	items := []console.Item{
		item("tip-old", crypto.KindTip, 0),
		item("distress-resolved", crypto.KindDistress, 1),
		item("distress-inprogress-old", crypto.KindDistress, 2),
		item("distress-new-late", crypto.KindDistress, 9),
		item("distress-new-early", crypto.KindDistress, 5),
		item("missing-new", crypto.KindMissing, 3),
		item("evidence-spam", crypto.KindEvidence, 0),
		item("evidence-new", crypto.KindEvidence, 4),
	}
	records := map[string]triage.Record{
		"distress-resolved":       rec(triage.StatusResolved),
		"distress-inprogress-old": rec(triage.StatusInProgress),
		"evidence-spam":           rec(triage.StatusSpam),
	}
	seen := map[string]bool{}
	for _, it := range items {
		seen[it.Key] = true // all read: unread distress calls are TestSortUnreadDistressFirst's
	}
	sortItems(items, records, seen)
	want := []string{"distress-new-early", "distress-new-late", "distress-inprogress-old", "missing-new",
		"tip-old", "evidence-new", "distress-resolved", "evidence-spam"}
	for i, it := range items {
		if it.Key != want[i] {
			var got []string
			for _, it := range items {
				got = append(got, it.Key)
			}
			t.Fatalf("order = %v\nwant    %v", got, want)
		}
	}
}

func TestSortUnreadDistressFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	item := func(key string, k crypto.Kind, minute int) console.Item {
		return console.Item{Key: key, Tip: &crypto.Tip{Kind: k, Received: t0.Add(time.Duration(minute) * time.Minute)}, Entries: []console.Entry{{QueueID: key}}}
	}
	rec := func(s triage.Status) triage.Record { return triage.Record{State: triage.State{Status: s}, Version: 1} }
	items := []console.Item{
		item("missing-unread", crypto.KindMissing, 0),
		item("distress-read-old", crypto.KindDistress, 1),
		item("distress-unread-late", crypto.KindDistress, 9),
		item("distress-unread-resolved", crypto.KindDistress, 2),
		item("distress-unread-inprogress", crypto.KindDistress, 5),
	}
	records := map[string]triage.Record{
		"distress-unread-resolved":   rec(triage.StatusResolved),
		"distress-unread-inprogress": rec(triage.StatusInProgress),
	}
	sortItems(items, records, map[string]bool{"distress-read-old": true})
	want := []string{"distress-unread-inprogress", "distress-unread-late", "distress-read-old", "missing-unread", "distress-unread-resolved"}
	for i, it := range items {
		if it.Key != want[i] {
			var got []string
			for _, it := range items {
				got = append(got, it.Key)
			}
			t.Fatalf("order = %v\nwant    %v", got, want)
		}
	}
}

// BenchmarkInbox measures one inbox page with 1000 tips, 300 of them
// triaged, once the tips are opened and cached (as on every page load
// after the first).
func BenchmarkInbox(b *testing.B) {
	q := memq.New()
	alice := newKeyholder(b, "alice")
	rs := recipients(alice)
	kinds := crypto.Kinds
	var keys []string
	for i := range 1000 {
		rc := submit(b, q, rs, submission{channel: "web", kind: kinds[i%len(kinds)], text: fmt.Sprintf("tip %d from +855 12 %06d in Bavet", i, i)})
		keys = append(keys, rc.QueueID)
	}
	r := startConsole(b, q, alice, rs)
	st := triage.StatusInProgress
	for _, k := range keys[:300] {
		if _, err := r.srv.triage.Apply(context.Background(), k, 0, triage.Change{Status: &st, Note: "working on it"}); err != nil {
			b.Fatal(err)
		}
	}
	c := r.client(b)
	b.ResetTimer()
	for b.Loop() {
		if code, _ := get(b, c, r.base+"/?q=bavet"); code != http.StatusOK {
			b.Fatal(code)
		}
	}
}
