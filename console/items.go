package console

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flarehq/flare/crypto"
)

// Item is what a key-holder works on: one tip, or the pieces of one
// message that a channel had to seal in parts (an SMS sent as several
// parts), joined.
type Item struct {
	// Key names the item in triage records and URLs: the queue id of a
	// single tip, or "g-" and a hash of the part group. It is stable as
	// more parts arrive.
	Key string
	// Entries are the tips the item is made of, in part order.
	Entries []Entry
	// Tip is the item as one tip: for parts, their texts joined in order
	// and their fields, people and attachments merged. Nil when the
	// item's tip could not be opened (see Err).
	Tip *crypto.Tip
	// Missing lists the part numbers not received yet.
	Missing []int
	// Err says why the tip could not be opened (single tips only: parts
	// are only known once opened).
	Err error
}

// QueueID is the queue id of the item's first tip.
func (it *Item) QueueID() string { return it.Entries[0].QueueID }

// Received is when the item's earliest piece was received.
func (it *Item) Received() time.Time {
	if it.Tip != nil && !it.Tip.Received.IsZero() {
		return it.Tip.Received
	}
	return it.Entries[0].Enqueued
}

// GroupKey is the item key of the part group g.
func GroupKey(g string) string {
	h := sha256.Sum256([]byte("flare console part group\x00" + g))
	return "g-" + hex.EncodeToString(h[:16])
}

// Items turns entries, oldest first, into items: tips with the same
// Part.Group are joined into one. The items keep the order of their first
// entry.
func Items(entries []Entry) []Item {
	var out []Item
	groups := map[string]int{} // group → index in out
	for _, e := range entries {
		if e.Tip == nil || e.Tip.Part == nil || e.Tip.Part.Group == "" {
			out = append(out, Item{Key: e.QueueID, Entries: []Entry{e}, Tip: e.Tip, Err: e.Err})
			continue
		}
		g := e.Tip.Part.Group
		if i, ok := groups[g]; ok {
			out[i].Entries = append(out[i].Entries, e)
			continue
		}
		groups[g] = len(out)
		out = append(out, Item{Key: GroupKey(g), Entries: []Entry{e}})
	}
	for _, i := range groups {
		join(&out[i])
	}
	return out
}

// join builds the tip of a part group from its entries.
func join(it *Item) {
	slices.SortStableFunc(it.Entries, func(a, b Entry) int { return a.Tip.Part.Index - b.Tip.Part.Index })
	first := it.Entries[0].Tip
	t := *first
	t.Fields = maps.Clone(first.Fields)
	t.People = slices.Clone(first.People)
	t.Attachments = slices.Clone(first.Attachments)
	texts := map[int]string{}
	total := 0
	for _, e := range it.Entries {
		p := e.Tip
		if _, dup := texts[p.Part.Index]; dup { // a channel retried: keep the first copy
			continue
		}
		texts[p.Part.Index] = p.Text
		total = max(total, p.Part.Total, p.Part.Index)
		if Urgency(p.Kind) < Urgency(t.Kind) { // a keyword may be in any part
			t.Kind = p.Kind
		}
		if p != first {
			for k, v := range p.Fields {
				if _, ok := t.Fields[k]; !ok {
					if t.Fields == nil {
						t.Fields = map[string]string{}
					}
					t.Fields[k] = v
				}
			}
			for _, n := range p.People {
				if !slices.Contains(t.People, n) {
					t.People = append(t.People, n)
				}
			}
			t.Attachments = append(t.Attachments, p.Attachments...)
			if t.Location == nil {
				t.Location = p.Location
			}
			if t.Sender == nil {
				t.Sender = p.Sender
			}
			if t.Reply == nil {
				t.Reply = p.Reply
			}
			if !p.Received.IsZero() && p.Received.Before(t.Received) {
				t.Received = p.Received
			}
		}
	}
	total = min(total, maxParts)
	var text strings.Builder
	for i := 1; i <= total; i++ {
		s, ok := texts[i]
		if !ok {
			it.Missing = append(it.Missing, i)
			s = MissingMarker(i, total)
		}
		text.WriteString(s)
	}
	t.Text = text.String()
	t.Part = &crypto.Part{Group: first.Part.Group, Index: 1, Total: total}
	it.Tip = &t
}

// maxParts bounds the parts of one message (a concatenated SMS has at
// most 255), so that a bogus Part.Total cannot make a huge text.
const maxParts = 255

// MissingMarker is the text shown in place of a part not received yet.
func MissingMarker(index, total int) string {
	return fmt.Sprintf("[… part %d of %d missing …]", index, total)
}

// Urgency ranks report kinds for the inbox: lower is more urgent.
func Urgency(k crypto.Kind) int {
	switch k {
	case crypto.KindDistress:
		return 0
	case crypto.KindMissing:
		return 1
	}
	return 2
}
