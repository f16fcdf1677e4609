package console

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

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

// findPhones returns the first n matches of phonePattern in s, scanning
// by hand: the regular expression costs milliseconds on a 64 KiB text,
// and the index looks at every tip's.
func findPhones(s string, n int) []string {
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	inBody := func(c byte) bool { return isDigit(c) || strings.IndexByte(" \t\n\f\r().-", c) >= 0 }
	var out []string
	for i := 0; i < len(s) && len(out) < n; {
		j := i
		if s[j] == '+' {
			j++
		}
		if j < len(s) && s[j] == '(' {
			j++
		}
		end := -1
		if j < len(s) && isDigit(s[j]) {
			// \d, 6 to 18 body characters, \d: the longest such match.
			for k := j + 1; k < len(s) && k <= j+19 && inBody(s[k]); k++ {
				if k >= j+7 && isDigit(s[k]) {
					end = k
				}
			}
		}
		if end < 0 {
			i++
			continue
		}
		out = append(out, s[i:end+1])
		i = end + 1
	}
	return out
}

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

// normName lower-cases s and keeps its words (runs of letters and
// digits), one space apart. Index.textTokens splits texts the same way.
func normName(s string) string {
	f := strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) })
	for i := range f {
		f[i] = strings.ToLower(f[i])
	}
	return strings.Join(f, " ")
}

// Bounds on what one tip puts in the index, so that building it costs at
// most a constant per tip, however long the tips and however many: a
// source who floods the gateway with long tips full of names slows
// nothing but their own tips' indexing.
const (
	// maxClues is how many clues (phone numbers, senders, names, places,
	// positions) one tip gives at most; the rest are ignored.
	maxClues = 32
	// maxClueBytes is the longest clue key kept: a "name" of a kilobyte
	// is not a name.
	maxClueBytes = 128
	// maxPhrases is how many names and places of one tip are looked for
	// in other tips' texts, and maxPhraseWords how many words each may
	// have.
	maxPhrases     = 16
	maxPhraseWords = 4
	// maxTextTokens is how many distinct word sequences (of 1 to
	// maxPhraseWords words) of a tip's text are indexed: about the first
	// 500 words. A name mentioned only further on is not found.
	maxTextTokens = 2048
)

// maxShared is how many tips may share a clue for it to link them: a
// place or name given in hundreds of tips (a city) says nothing about any
// two of them, and linking all pairs would cost time quadratic in them.
const maxShared = 100

// extract returns what t can share with other tips as clues, and the
// names and places it gives as phrases (normalised words, with their
// labels) to look for in other tips' texts. Both are bounded.
func extract(t *crypto.Tip) (cs []clue, phrases []clue) {
	add := func(key, label string) {
		if len(cs) >= maxClues || len(key) > maxClueBytes {
			return
		}
		for _, c := range cs {
			if c.key == key {
				return
			}
		}
		cs = append(cs, clue{key, label})
	}
	phrase := func(n, label string) {
		if len(phrases) >= maxPhrases || len(n) > maxClueBytes || strings.Count(n, " ") >= maxPhraseWords {
			return
		}
		for _, p := range phrases {
			if p.key == n {
				return
			}
		}
		phrases = append(phrases, clue{n, label})
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
	// Fields in a fixed order, so that the caps keep the same clues each
	// time.
	fieldNames := slices.Sorted(maps.Keys(t.Fields))
	texts := []string{t.Text}
	for _, k := range fieldNames {
		texts = append(texts, t.Fields[k])
	}
	for _, s := range texts {
		for _, m := range findPhones(s, maxClues) {
			if k := phoneKey(m); k != "" {
				add("phone:"+k, "phone number "+strings.TrimSpace(m))
			}
		}
	}
	people := slices.Clone(t.People)
	for _, k := range fieldNames {
		if strings.Contains(strings.ToLower(k), "name") {
			people = append(people, t.Fields[k])
		}
	}
	if t.Sender != nil && t.Sender.Name != "" {
		people = append(people, t.Sender.Name)
	}
	for _, p := range people {
		if n := normName(p); len(n) >= 4 {
			label := fmt.Sprintf("name %q", strings.TrimSpace(p))
			add("name:"+n, label)
			phrase(n, label)
		}
	}
	places := []string{t.Fields["place"]}
	if l := t.Location; l != nil {
		places = append([]string{l.Place}, places...)
		if l.Latitude != nil && l.Longitude != nil {
			// About a kilometre: the same compound, the same village.
			lat, lon := math.Round(*l.Latitude*100)/100, math.Round(*l.Longitude*100)/100
			add(fmt.Sprintf("geo:%.2f,%.2f", lat, lon), fmt.Sprintf("location near %.2f, %.2f", lat, lon))
		}
	}
	for _, pl := range places {
		if p := normName(pl); len(p) >= 3 {
			label := fmt.Sprintf("place %q", strings.TrimSpace(pl))
			add("place:"+p, label)
			if len(p) >= 4 {
				phrase(p, label)
			}
		}
	}
	return cs, phrases
}

// Related finds, for every item that could be opened, the other items that
// share a sender, a phone number, a name or a place (given as such in both,
// or given in one and written in the other's text). It builds an Index of
// the items; a long-running console keeps one instead and adds tips as
// they arrive. Items with a forged tip are never linked.
func Related(items []Item) map[string][]Link {
	x := NewIndex()
	for _, it := range items {
		x.AddItem(it)
	}
	out := map[string][]Link{}
	for _, it := range items {
		if l := x.Links(it.Key); len(l) > 0 {
			out[it.Key] = l
		}
	}
	return out
}
