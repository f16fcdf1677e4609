package console

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"time"

	"github.com/flarehq/flare/channels/sms/parts"
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

// Forged reports whether any of the item's tips failed the gateway
// signature check: such an item is flagged, sorted last and never linked.
func (it *Item) Forged() bool {
	for _, e := range it.Entries {
		if e.Forged() {
			return true
		}
	}
	return false
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
	broken := map[int]bool{} // groups whose parts do not join: shown one by one
	for _, i := range groups {
		if err := join(&out[i]); err != nil {
			broken[i] = true
		}
	}
	if len(broken) == 0 {
		return out
	}
	var fixed []Item
	for i, it := range out {
		if !broken[i] {
			fixed = append(fixed, it)
			continue
		}
		for _, e := range it.Entries {
			fixed = append(fixed, Item{Key: e.QueueID, Entries: []Entry{e}, Tip: e.Tip})
		}
	}
	return fixed
}

// join builds the tip of a part group from its entries: text, kind and
// attachments as the SMS channel's parts.Join puts them together (parts by
// index, missing ones marked, the most urgent part's kind), and the other
// fields from the earliest part, completed from the rest.
func join(it *Item) error {
	tips := make([]*crypto.Tip, len(it.Entries))
	for i, e := range it.Entries {
		tips[i] = e.Tip
	}
	m, err := parts.Join(tips)
	if err != nil {
		return err
	}
	slices.SortStableFunc(it.Entries, func(a, b Entry) int { return a.Tip.Part.Index - b.Tip.Part.Index })
	t := *m.First
	t.Text, t.Kind, t.Attachments = m.Text, m.Kind, m.Attachments
	t.Fields = maps.Clone(t.Fields)
	t.People = slices.Clone(t.People)
	for _, seg := range m.Segments {
		p := seg.Tip
		if p == nil || p == m.First {
			continue
		}
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
		if t.Location == nil {
			t.Location = p.Location
		}
		if t.Sender == nil {
			t.Sender = p.Sender
		}
		if t.Reply == nil {
			t.Reply = p.Reply
		}
	}
	t.Part = &crypto.Part{Group: m.Group, Index: 1, Total: m.Total}
	it.Tip = &t
	it.Missing = m.Missing
	return nil
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
