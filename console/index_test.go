package console

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/flarehq/flare/crypto"
)

// linkSet turns an Index's links into "a-b: reasons" lines, a < b, for
// comparison.
func linkSet(x *Index, keys []string) []string {
	var out []string
	for _, k := range keys {
		for _, l := range x.Links(k) {
			if k < l.Key {
				out = append(out, k+"|"+l.Key+": "+strings.Join(l.Reasons, ", "))
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestIndexLinks checks links as tips arrive one by one, in either order
// of the two tips of each pair.
func TestIndexLinks(t *testing.T) {
	tests := []struct {
		name string
		a, b *crypto.Tip
		want string // a reason, or "" for no link
	}{
		{"sender phone and phone in text", &crypto.Tip{Channel: "sms", Text: "help", Sender: &crypto.Sender{Phone: "+855 12 345 678"}},
			&crypto.Tip{Channel: "web", Text: "his number is 012-345-678"}, "phone number"},
		{"name given and written", &crypto.Tip{Text: "x", Fields: map[string]string{"missing.name": "Sokha Chan"}},
			&crypto.Tip{Text: "I saw SOKHA CHAN at the casino"}, `name "Sokha Chan"`},
		{"four-word name written", &crypto.Tip{Text: "x", People: []string{"Nguyen Thi Minh Khai"}},
			&crypto.Tip{Text: "ask nguyen thi minh khai about it"}, "name"},
		{"name as part of a longer word is no match", &crypto.Tip{Text: "x", People: []string{"Dara"}},
			&crypto.Tip{Text: "the daraa road"}, ""},
		{"place given and written", &crypto.Tip{Text: "x", Location: &crypto.Location{Place: "Sihanoukville"}},
			&crypto.Tip{Text: "we are in Sihanoukville, room 4"}, "place"},
		{"same place", &crypto.Tip{Text: "a", Location: &crypto.Location{Place: "Bavet, building C"}},
			&crypto.Tip{Text: "b", Fields: map[string]string{"place": "bavet building c"}}, "place"},
		{"same telegram chat", &crypto.Tip{Channel: "telegram", Text: "a", Sender: &crypto.Sender{ChatID: "42"}},
			&crypto.Tip{Channel: "telegram", Text: "b", Sender: &crypto.Sender{ChatID: "42"}}, "same sender"},
		{"unrelated", &crypto.Tip{Text: "unrelated 2026"}, &crypto.Tip{Text: "another matter"}, ""},
		{"name longer than a clue", &crypto.Tip{Text: "x", People: []string{strings.Repeat("long ", 40)}},
			&crypto.Tip{Text: strings.Repeat("long ", 40)}, ""},
	}
	for _, tt := range tests {
		for _, order := range []string{"a first", "b first"} {
			t.Run(tt.name+"/"+order, func(t *testing.T) {
				x := NewIndex()
				first, second := entry("1-0", tt.a), entry("2-0", tt.b)
				if order == "b first" {
					first, second = entry("2-0", tt.b), entry("1-0", tt.a)
				}
				x.Add(first.QueueID, first)
				x.Add(second.QueueID, second)
				got := linkSet(x, []string{"1-0", "2-0"})
				if tt.want == "" {
					if len(got) != 0 {
						t.Fatalf("linked: %v", got)
					}
					return
				}
				if len(got) != 1 || !strings.Contains(got[0], tt.want) {
					t.Fatalf("links %v, want one by %s", got, tt.want)
				}
				if a, b := x.Links("1-0"), x.Links("2-0"); len(a) != 1 || len(b) != 1 || !slices.Equal(a[0].Reasons, b[0].Reasons) {
					t.Fatalf("links not symmetric: %+v %+v", a, b)
				}
			})
		}
	}
}

// TestIndexSharedByTooMany: when one more tip makes a clue shared by more
// than maxShared, the links it made go; it links none, also by text.
func TestIndexSharedByTooMany(t *testing.T) {
	for _, how := range []string{"place given", "place written"} {
		t.Run(how, func(t *testing.T) {
			x := NewIndex()
			var keys []string
			add := func(i int) {
				k := fmt.Sprintf("%d-0", i)
				keys = append(keys, k)
				tip := &crypto.Tip{Text: "x", Location: &crypto.Location{Place: "Phnom Penh"}}
				if how == "place written" && i > 0 {
					tip = &crypto.Tip{Text: "we are in phnom penh now"}
				}
				x.Add(k, entry(k, tip))
			}
			for i := range maxShared {
				add(i)
			}
			want := maxShared - 1
			if how == "place written" {
				want = 1 // the one that gives the place
			}
			if n := len(x.Links(keys[1])); n != want {
				t.Fatalf("tip 1 has %d links, want %d", n, want)
			}
			add(maxShared)
			add(maxShared + 1)
			if got := linkSet(x, keys); len(got) != 0 {
				t.Fatalf("%d links by a place %d tips share", len(got), len(keys))
			}
		})
	}
}

// TestIndexNeverLinksForged: a forged tip is linked neither to the tips it
// names nor from them, whichever arrives first; a forged part of a message
// unlinks the whole item.
func TestIndexNeverLinksForged(t *testing.T) {
	genuine := entry("1-0", &crypto.Tip{Channel: "sms", Text: "help", Sender: &crypto.Sender{Phone: "+855 12 345 678"}})
	forged := entry("2-0", &crypto.Tip{Channel: "sms", Text: "call me on +855 12 345 678, I am Sokha Chan", Sender: &crypto.Sender{Phone: "+855 12 345 678"}})
	forged.Authenticity = crypto.Forged
	other := entry("3-0", &crypto.Tip{Channel: "web", Text: "her number is 012 345 678", People: []string{"Sokha Chan"}})
	for _, order := range [][]Entry{{genuine, forged, other}, {forged, genuine, other}, {other, forged, genuine}} {
		x := NewIndex()
		for _, e := range order {
			x.Add(e.QueueID, e)
		}
		if got := linkSet(x, []string{"1-0", "2-0", "3-0"}); len(got) != 1 || !strings.HasPrefix(got[0], "1-0|3-0: phone number ") {
			t.Errorf("order %s…: links %v", order[0].QueueID, got)
		}
		if l := x.Links("2-0"); len(l) != 0 {
			t.Errorf("forged tip linked: %+v", l)
		}
	}
	// Through Related, as the export and command line use it.
	if rel := Related(Items([]Entry{genuine, forged})); len(rel) != 0 {
		t.Errorf("Related linked a forged tip: %+v", rel)
	}
	// A forged part arriving after a genuine one unlinks the item.
	x := NewIndex()
	x.Add("1-0", genuine)
	x.Add("g", entry("4-0", &crypto.Tip{Channel: "sms", Text: "a", Sender: &crypto.Sender{Phone: "+855 12 345 678"}}))
	if len(x.Links("1-0")) != 1 {
		t.Fatalf("genuine part not linked")
	}
	x.Add("g", forged)
	if l1, lg := x.Links("1-0"), x.Links("g"); len(l1) != 0 || len(lg) != 0 {
		t.Fatalf("item with a forged part still linked: %+v %+v", l1, lg)
	}
}

// floodTips are n tips as the review's flood sent them: 64 KiB texts of
// words, a unique place each.
func floodTips(n int) []Entry {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, 3+rng.IntN(8))
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	vocab := make([]string, 20000)
	for i := range vocab {
		vocab[i] = word()
	}
	out := make([]Entry, n)
	for i := range out {
		var b strings.Builder
		for b.Len() < 64<<10-16 {
			b.WriteString(vocab[rng.IntN(len(vocab))])
			b.WriteByte(' ')
		}
		out[i] = entry(fmt.Sprintf("%d-0", i+1), &crypto.Tip{Channel: "web", Text: b.String(),
			Location: &crypto.Location{Place: fmt.Sprintf("compound %s %d", word(), i)}, People: []string{word() + " " + word()}})
	}
	return out
}

// TestIndexFloodWorkIsLinear is finding 2: 1,000 tips of 64 KiB with
// unique places took 137 s, every console request. Building the index
// takes work proportional to the tips: each adds a bounded number of
// postings and causes a bounded number of link computations, however
// many came before.
func TestIndexFloodWorkIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 64 MiB of tips")
	}
	tips := floodTips(1000)
	x := NewIndex()
	var half IndexStats
	for i, e := range tips {
		x.Add(e.QueueID, e)
		if i == len(tips)/2-1 {
			half = x.Stats()
		}
	}
	st := x.Stats()
	n := len(tips)
	tips = nil
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("first 500: %+v; all 1000: %+v; heap in use with the index: %.1f MiB", half, st, float64(ms.HeapInuse)/(1<<20))
	runtime.KeepAlive(x)
	perTip := maxClues + maxPhrases + maxTextTokens
	if st.Tips != n || st.Postings > n*perTip {
		t.Errorf("postings %d for %d tips, over %d a tip", st.Postings, st.Tips, perTip)
	}
	// Each tip's links are computed when it arrives, and again only when a
	// clue it has becomes shared by too many, which each clue does once.
	if st.Computes > 2*n {
		t.Errorf("%d link computations for %d tips", st.Computes, n)
	}
	if st.Visits > n*(maxClues+maxPhrases+maxTextTokens)*maxShared {
		t.Errorf("%d visits for %d tips", st.Visits, n)
	}
	// The second half costs about what the first did: no work grows with
	// the tips already there.
	second := st.Postings - half.Postings + st.Visits - half.Visits
	first := half.Postings + half.Visits
	if second > first*3/2 {
		t.Errorf("the second 500 tips cost %d, the first %d", second, first)
	}
	for i := range 10 {
		if l := x.Links(fmt.Sprintf("%d-0", i+1)); len(l) != 0 {
			t.Errorf("flood tip %d linked: %+v", i+1, l)
		}
	}
}

// BenchmarkIndexFlood adds the review's flood of 1,000 64 KiB tips with
// unique places. Before the index, Related over them took 137 s and ran
// on every console request.
func BenchmarkIndexFlood(b *testing.B) {
	tips := floodTips(1000)
	b.ResetTimer()
	for b.Loop() {
		x := NewIndex()
		for _, e := range tips {
			x.Add(e.QueueID, e)
		}
	}
}

// FuzzFindPhones: the hand-written scanner finds what phonePattern finds.
func FuzzFindPhones(f *testing.F) {
	for _, s := range []string{"call +855 12 345 678 now", "(012) 345-678", "+(1) 2345678", "12345678901234567890123", "1 2 3 4 5 6 7 8 9 0 1 2", "++1234567890", "a1234567b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := phonePattern.FindAllString(s, maxClues)
		if got := findPhones(s, maxClues); !slices.Equal(got, want) {
			t.Fatalf("findPhones(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestIndexSharedFloodWorkIsLinear floods with tips that share everything
// they can — a small vocabulary, names and places given by many and
// written by all — so that clues keep becoming shared by too many and
// links keep being recomputed away. The later tips still cost no more
// than the earlier ones.
func TestIndexSharedFloodWorkIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 6 MiB of tips")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	names := []string{"Sokha Chan", "Dara Kim", "Nguyen Thi Minh Khai", "Somchai", "Aung Kyaw", "Maria Santos"}
	places := []string{"Bavet", "Poipet", "Shwe Kokko", "Sihanoukville"}
	var vocab []string
	vocab = append(vocab, "help", "passport", "casino", "phone", "boss", "room", "building")
	for _, n := range append(slices.Clone(names), places...) {
		vocab = append(vocab, strings.Fields(n)...)
	}
	x := NewIndex()
	const n = 800
	var half IndexStats
	for i := range n {
		var b strings.Builder
		for b.Len() < 8<<10 {
			b.WriteString(vocab[rng.IntN(len(vocab))])
			b.WriteByte(' ')
		}
		tip := &crypto.Tip{Text: b.String(), People: []string{names[rng.IntN(len(names))], names[rng.IntN(len(names))]},
			Location: &crypto.Location{Place: places[rng.IntN(len(places))]}, Sender: &crypto.Sender{Phone: fmt.Sprintf("+855 12 %06d", rng.IntN(300))}}
		k := fmt.Sprintf("%d-0", i+1)
		x.Add(k, entry(k, tip))
		if i == n/2-1 {
			half = x.Stats()
		}
	}
	st := x.Stats()
	t.Logf("first %d: %+v; all %d: %+v", n/2, half, n, st)
	first := half.Postings + half.Visits + half.Computes
	second := st.Postings + st.Visits + st.Computes - first
	if second > first*3/2 {
		t.Errorf("the second %d tips cost %d, the first %d", n/2, second, first)
	}
	// Everything is shared by too many but the phone numbers (about 3 tips
	// each): links are by phone number only.
	for i := range 20 {
		for _, l := range x.Links(fmt.Sprintf("%d-0", i+1)) {
			if len(l.Reasons) != 1 || !strings.HasPrefix(l.Reasons[0], "phone number") {
				t.Fatalf("tip %d linked to %s by %v", i+1, l.Key, l.Reasons)
			}
		}
	}
}
