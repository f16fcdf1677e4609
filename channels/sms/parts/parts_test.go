package parts

import (
	"errors"
	"testing"
	"time"

	"github.com/flarehq/flare/crypto"
)

func part(group string, i, total int, text string, at int, kind crypto.Kind) *crypto.Tip {
	return &crypto.Tip{
		Text: text, Kind: kind, Received: time.Unix(int64(at)*60, 0),
		Part: &crypto.Part{Group: group, Index: i, Total: total},
	}
}

func TestJoin(t *testing.T) {
	cases := []struct {
		name     string
		tips     []*crypto.Tip
		text     string
		complete bool
		missing  []int
		kind     crypto.Kind
	}{
		{"in order", []*crypto.Tip{part("g", 1, 3, "a", 1, crypto.KindTip), part("g", 2, 3, "b", 2, crypto.KindTip), part("g", 3, 3, "c", 3, crypto.KindTip)},
			"abc", true, nil, crypto.KindTip},
		{"out of order", []*crypto.Tip{part("g", 3, 3, "c", 1, crypto.KindTip), part("g", 1, 3, "a", 2, crypto.KindDistress), part("g", 2, 3, "b", 3, crypto.KindTip)},
			"abc", true, nil, crypto.KindDistress},
		{"last missing", []*crypto.Tip{part("g", 2, 3, "b", 1, crypto.KindTip), part("g", 1, 3, "a", 2, crypto.KindTip)},
			"ab" + MissingMarker(3, 3), false, []int{3}, crypto.KindTip},
		{"middle missing", []*crypto.Tip{part("g", 1, 3, "a", 1, crypto.KindTip), part("g", 3, 3, "c", 2, crypto.KindTip)},
			"a" + MissingMarker(2, 3) + "c", false, []int{2}, crypto.KindTip},
		{"duplicate part keeps the earliest", []*crypto.Tip{part("g", 1, 2, "a", 5, crypto.KindTip), part("g", 1, 2, "A", 1, crypto.KindTip), part("g", 2, 2, "b", 2, crypto.KindTip)},
			"Ab", true, nil, crypto.KindTip},
		{"only one part of two", []*crypto.Tip{part("g", 2, 2, "b", 1, crypto.KindTip)},
			MissingMarker(1, 2) + "b", false, []int{1}, crypto.KindTip},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Join(c.tips)
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != c.text || m.Complete != c.complete || len(m.Missing) != len(c.missing) || m.Kind != c.kind {
				t.Fatalf("got %q complete=%v missing=%v kind=%s", m.Text, m.Complete, m.Missing, m.Kind)
			}
			for i := range c.missing {
				if m.Missing[i] != c.missing[i] {
					t.Fatalf("missing %v, want %v", m.Missing, c.missing)
				}
			}
			if len(m.Segments) != m.Total {
				t.Fatalf("%d segments for %d parts", len(m.Segments), m.Total)
			}
			if m.First == nil || m.First.Received != time.Unix(60, 0) {
				t.Fatalf("first = %+v", m.First)
			}
		})
	}
}

func TestJoinRefuses(t *testing.T) {
	if _, err := Join(nil); err == nil {
		t.Error("joined nothing")
	}
	if _, err := Join([]*crypto.Tip{part("g", 1, 2, "a", 1, crypto.KindTip), part("h", 2, 2, "b", 1, crypto.KindTip)}); !errors.Is(err, ErrMixedGroups) {
		t.Errorf("mixed groups: %v", err)
	}
	if _, err := Join([]*crypto.Tip{{Text: "x"}}); !errors.Is(err, ErrMixedGroups) {
		t.Errorf("tip without part: %v", err)
	}
	if _, err := Join([]*crypto.Tip{part("g", 0, 2, "a", 1, crypto.KindTip)}); err == nil {
		t.Error("index 0 accepted")
	}
	m, err := Join([]*crypto.Tip{part("g", 1, 1_000_000, "a", 1, crypto.KindTip)})
	if err != nil || m.Total != maxTotal {
		t.Errorf("huge total: %v, total %d", err, m.Total)
	}
}

func TestPartition(t *testing.T) {
	solo := &crypto.Tip{Text: "solo"}
	tips := []*crypto.Tip{part("g", 2, 2, "b", 1, crypto.KindTip), solo, part("h", 1, 2, "x", 2, crypto.KindTip), part("g", 1, 2, "a", 3, crypto.KindTip)}
	single, groups := Partition(tips)
	if len(single) != 1 || single[0] != solo || len(groups) != 2 {
		t.Fatalf("single %d groups %d", len(single), len(groups))
	}
	if groups[0][0].Text != "a" || groups[0][1].Text != "b" || groups[1][0].Text != "x" {
		t.Fatal("groups not ordered by index, or not in first-seen order")
	}
}
