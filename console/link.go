package console

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/flarehq/flare/crypto"
)

// Link says that another item looks related, and why.
type Link struct {
	Key     string
	Reasons []string
}

// A clue is something two tips can share: a sender, a phone number, a
// name, a place. Its key is normalised; its label is what the key-holder
// is shown.
type clue struct {
	key, label string
}

// phonePattern finds things that look like phone numbers in free text:
// an optional +, then digits with spaces, dots, dashes or brackets.
var phonePattern = regexp.MustCompile(`\+?\(?\d[\d\s().-]{6,18}\d`)

// phoneKey normalises a phone number to its last 8 digits, so that
// "+855 12 345 678" and "012345678" match; shorter numbers are ignored.
func phoneKey(s string) string {
	var d []rune
	for _, r := range s {
		if r >= '0' && r <= '9' {
			d = append(d, r)
		}
	}
	if len(d) < 8 {
		return ""
	}
	if len(d) > 8 { // drops country codes and trunk prefixes
		d = d[len(d)-8:]
	}
	return string(d)
}

func normName(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}), " ")
}

// clues returns what t can share with other tips, and the clue keys of
// the names and places it gives (to look for in other tips' text).
func clues(t *crypto.Tip) (cs []clue, words []string) {
	add := func(key, label string) {
		for _, c := range cs {
			if c.key == key {
				return
			}
		}
		cs = append(cs, clue{key, label})
	}
	if s := t.Sender; s != nil {
		if k := phoneKey(s.Phone); k != "" {
			add("phone:"+k, "phone number "+s.Phone)
		}
		if s.ChatID != "" {
			add("chat:"+t.Channel+":"+s.ChatID, "same sender")
		}
		if s.UserID != "" {
			add("user:"+t.Channel+":"+s.UserID, "same sender")
		}
		if s.Username != "" {
			add("username:"+t.Channel+":"+strings.ToLower(s.Username), "same sender")
		}
	}
	if r := t.Reply; r != nil && r.Address != "" {
		if k := phoneKey(r.Address); k != "" && len(strings.Trim(r.Address, "+0123456789 -")) == 0 {
			add("phone:"+k, "phone number "+r.Address)
		} else {
			add("reply:"+r.Channel+":"+r.Address, "same sender")
		}
	}
	texts := []string{t.Text}
	for _, v := range t.Fields {
		texts = append(texts, v)
	}
	for _, s := range texts {
		for _, m := range phonePattern.FindAllString(s, -1) {
			if k := phoneKey(m); k != "" {
				add("phone:"+k, "phone number "+strings.TrimSpace(m))
			}
		}
	}
	people := slices.Clone(t.People)
	for k, v := range t.Fields {
		if strings.Contains(strings.ToLower(k), "name") {
			people = append(people, v)
		}
	}
	if t.Sender != nil && t.Sender.Name != "" {
		people = append(people, t.Sender.Name)
	}
	for _, p := range people {
		if n := normName(p); len(n) >= 4 {
			add("name:"+n, fmt.Sprintf("name %q", strings.TrimSpace(p)))
			words = append(words, "name:"+n)
		}
	}
	if l := t.Location; l != nil {
		if p := normName(l.Place); len(p) >= 3 {
			add("place:"+p, fmt.Sprintf("place %q", strings.TrimSpace(l.Place)))
			if len(p) >= 4 {
				words = append(words, "place:"+p)
			}
		}
		if l.Latitude != nil && l.Longitude != nil {
			// About a kilometre: the same compound, the same village.
			lat, lon := math.Round(*l.Latitude*100)/100, math.Round(*l.Longitude*100)/100
			add(fmt.Sprintf("geo:%.2f,%.2f", lat, lon), fmt.Sprintf("location near %.2f, %.2f", lat, lon))
		}
	}
	if p := normName(t.Fields["place"]); len(p) >= 3 {
		add("place:"+p, fmt.Sprintf("place %q", strings.TrimSpace(t.Fields["place"])))
		if len(p) >= 4 {
			words = append(words, "place:"+p)
		}
	}
	return cs, words
}

// maxShared is how many tips may share a clue for it to link them: a
// place or name given in hundreds of tips (a city) says nothing about any
// two of them, and linking all pairs would cost time quadratic in them.
const maxShared = 100

// Related finds, for every item that could be opened, the other items that
// share a sender, a phone number, a name or a place (given as such in both,
// or given in one and written in the other's text). It is computed in memory from
// the decrypted tips and never stored.
func Related(items []Item) map[string][]Link {
	type info struct {
		key   string
		text  string   // normalised, padded with spaces for word matching
		words []string // clue keys of names and places to find in text
	}
	byClue := map[string][]int{}
	labels := map[string]string{}
	infos := make([]info, len(items))
	for i, it := range items {
		if it.Tip == nil {
			continue
		}
		cs, words := clues(it.Tip)
		for _, c := range cs {
			byClue[c.key] = append(byClue[c.key], i)
			labels[c.key] = c.label
		}
		infos[i] = info{key: it.Key, text: " " + normName(it.Tip.Text) + " ", words: words}
	}
	reasons := map[[2]int][]string{}
	addReason := func(a, b int, why string) {
		if a == b {
			return
		}
		if a > b {
			a, b = b, a
		}
		if !slices.Contains(reasons[[2]int{a, b}], why) {
			reasons[[2]int{a, b}] = append(reasons[[2]int{a, b}], why)
		}
	}
	for k, idx := range byClue {
		if len(idx) > maxShared {
			continue
		}
		for x := 0; x < len(idx); x++ {
			for y := x + 1; y < len(idx); y++ {
				addReason(idx[x], idx[y], labels[k])
			}
		}
	}
	for i, a := range infos {
		for _, w := range a.words {
			if len(byClue[w]) > maxShared {
				continue
			}
			n := w[strings.IndexByte(w, ':')+1:]
			for j, b := range infos {
				if i != j && b.key != "" && strings.Contains(b.text, " "+n+" ") {
					addReason(i, j, labels[w])
				}
			}
		}
	}
	out := map[string][]Link{}
	for pair, why := range reasons {
		slices.Sort(why)
		a, b := items[pair[0]].Key, items[pair[1]].Key
		out[a] = append(out[a], Link{Key: b, Reasons: why})
		out[b] = append(out[b], Link{Key: a, Reasons: why})
	}
	for k := range out {
		slices.SortFunc(out[k], func(x, y Link) int { return strings.Compare(x.Key, y.Key) })
	}
	return out
}
