package console

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels/sms/parts"
	"github.com/flarehq/flare/crypto"
)

func entry(id string, t *crypto.Tip) Entry { return Entry{QueueID: id, Tip: t} }

func TestItemsJoinParts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	part := func(i, n int, text string, at time.Time) *crypto.Tip {
		return &crypto.Tip{Channel: "sms", Kind: crypto.KindDistress, Text: text, Received: at, Part: &crypto.Part{Group: "G", Index: i, Total: n}}
	}
	entries := []Entry{
		entry("1-0", &crypto.Tip{Channel: "web", Kind: crypto.KindTip, Text: "single"}),
		entry("2-0", part(3, 3, "three", t0.Add(2*time.Minute))),
		entry("3-0", func() *crypto.Tip { p := part(1, 3, "one ", t0); p.Kind = crypto.KindTip; return p }()),
		entry("4-0", part(1, 3, "one ", t0)), // a retried part
		{QueueID: "5-0", Err: errors.New("no")},
		entry("6-0", &crypto.Tip{Channel: "sms", Kind: crypto.KindTip, Text: "bad index", Part: &crypto.Part{Group: "H", Index: 0, Total: 2}}),
	}
	items := Items(entries)
	if len(items) != 4 {
		t.Fatalf("%d items, want 4", len(items))
	}
	if items[3].Key != "6-0" || items[3].Tip.Text != "bad index" {
		t.Errorf("a part that cannot be joined is not shown on its own: %+v", items[3])
	}
	g := items[1]
	if g.Key != GroupKey("G") || !strings.HasPrefix(g.Key, "g-") || strings.Contains(g.Key, "G") {
		t.Fatalf("group key %q", g.Key)
	}
	if g.Tip.Text != "one "+parts.MissingMarker(2, 3)+"three" || len(g.Missing) != 1 || g.Missing[0] != 2 || !g.Tip.Received.Equal(t0) {
		t.Fatalf("joined = %q missing %v received %v", g.Tip.Text, g.Missing, g.Tip.Received)
	}
	if g.Tip.Kind != crypto.KindDistress {
		t.Errorf("joined kind = %s, want the most urgent part's", g.Tip.Kind)
	}
	if items[0].Key != "1-0" || items[2].Err == nil {
		t.Fatalf("items = %+v", items)
	}
}

func TestRelated(t *testing.T) {
	lat, lon := 11.0901, 106.3102
	lat2, lon2 := 11.0899, 106.3098
	items := Items([]Entry{
		entry("1-0", &crypto.Tip{Channel: "sms", Text: "help", Sender: &crypto.Sender{Phone: "+855 12 345 678"}}),
		entry("2-0", &crypto.Tip{Channel: "web", Text: "my brother's number is 012-345-678, please"}),
		entry("3-0", &crypto.Tip{Channel: "web", Text: "missing", Fields: map[string]string{"missing.name": "Sokha Chan"}}),
		entry("4-0", &crypto.Tip{Channel: "telegram", Text: "I saw SOKHA CHAN at the casino"}),
		entry("5-0", &crypto.Tip{Channel: "web", Text: "a", Location: &crypto.Location{Place: "Bavet, building C", Latitude: &lat, Longitude: &lon}}),
		entry("6-0", &crypto.Tip{Channel: "web", Text: "b", Location: &crypto.Location{Place: "bavet building c"}}),
		entry("7-0", &crypto.Tip{Channel: "web", Text: "c", Location: &crypto.Location{Latitude: &lat2, Longitude: &lon2}}),
		entry("8-0", &crypto.Tip{Channel: "web", Text: "unrelated 2026"}),
		entry("9-0", &crypto.Tip{Channel: "sms", Text: "we are in Sihanoukville, room 4"}),
		entry("10-0", &crypto.Tip{Channel: "web", Text: "d", Location: &crypto.Location{Place: "Sihanoukville"}}),
	})
	rel := Related(items)
	tests := []struct {
		a, b, why string
	}{
		{"1-0", "2-0", "phone number"},
		{"3-0", "4-0", "name"},
		{"5-0", "6-0", "place"},
		{"5-0", "7-0", "location near"},
		{"9-0", "10-0", "place"},
	}
	for _, tt := range tests {
		found := false
		for _, l := range rel[tt.a] {
			if l.Key == tt.b && strings.Contains(strings.Join(l.Reasons, ","), tt.why) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s–%s not related by %s: %+v", tt.a, tt.b, tt.why, rel[tt.a])
		}
	}
	if len(rel["8-0"]) != 0 {
		t.Errorf("unrelated tip linked: %+v", rel["8-0"])
	}
}

func TestSafeFileName(t *testing.T) {
	tests := map[string]string{
		"../../etc/passwd":      "passwd",
		`C:\evil\x.exe`:         "x.exe",
		".hidden":               "hidden",
		"":                      "attachment",
		"a\x00b\u202ec.txt":     "a_b_c.txt",
		strings.Repeat("é", 80): strings.Repeat("é", 50),
	}
	for in, want := range tests {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRelatedIgnoresCluesSharedByTooMany(t *testing.T) {
	var entries []Entry
	for i := range maxShared + 1 {
		entries = append(entries, entry(fmt.Sprintf("%d-0", i+1), &crypto.Tip{Channel: "web", Text: "x", Location: &crypto.Location{Place: "Phnom Penh"}}))
	}
	if rel := Related(Items(entries)); len(rel) != 0 {
		t.Fatalf("%d tips linked by a place %d tips share", len(rel), maxShared+1)
	}
	if rel := Related(Items(entries[:maxShared])); len(rel["1-0"]) != maxShared-1 {
		t.Fatalf("tip 1 has %d links, want %d", len(rel["1-0"]), maxShared-1)
	}
}
