package console

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Index finds related tips incrementally. Each tip is added once, when the
// console first reads it: its clues (phone numbers, senders, names,
// places, positions), the names and places it gives, and the first word
// sequences of its text go into a token index, each bounded per tip (see
// maxClues, maxPhrases, maxTextTokens). The tip's links are then computed
// from the index alone, at a cost bounded by those limits and maxShared,
// never by the number of tips; links already made are updated only where
// the new tip changes them. A clue shared by more than maxShared tips
// links none of them.
//
// Tips are added under their item key (see ItemKey), so the parts of one
// message share their links. A forged tip is never indexed, and an item
// with a forged tip is never linked, in either direction.
//
// An Index is safe for concurrent use.
type Index struct {
	mu    sync.Mutex
	seed  maphash.Seed
	byKey map[string]int32
	items []indexed
	// clues holds items by clue key; named, items by the names and
	// places they give; said, items by the word sequences of their text.
	clues, named, said postings
	labels             map[uint64]string // clue or phrase hash → reason
	stats              IndexStats
}

// IndexStats counts the work an Index did, so that tests can check it
// stays proportional to the tips added.
type IndexStats struct {
	// Tips is how many tips were added (forged ones included).
	Tips int
	// Postings is how many entries were put in the token index.
	Postings int
	// Computes is how many times an item's links were computed.
	Computes int
	// Visits is how many index entries link computations looked at.
	Visits int
}

// indexed is one item in the index.
type indexed struct {
	key    string
	clues  []uint64 // hashes of clue keys
	names  []uint64 // hashes of the phrases the item gives as names or places
	text   []uint64 // hashes of word sequences of the item's text
	forged bool
	links  map[int32][]string
}

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{
		seed:   maphash.MakeSeed(),
		byKey:  map[string]int32{},
		clues:  newPostings(),
		named:  newPostings(),
		said:   newPostings(),
		labels: map[uint64]string{},
	}
}

// ItemKey is the key of the item an entry belongs to in Items: its part
// group's key, or its queue id.
func ItemKey(e Entry) string {
	if e.Tip != nil && e.Tip.Part != nil && e.Tip.Part.Group != "" {
		return GroupKey(e.Tip.Part.Group)
	}
	return e.QueueID
}

// AddItem adds every entry of it under its key.
func (x *Index) AddItem(it Item) {
	for _, e := range it.Entries {
		x.Add(it.Key, e)
	}
}

// Add adds the entry e to the item key and updates the links it changes.
// An entry that could not be opened adds nothing; a forged one unlinks the
// item for good.
func (x *Index) Add(key string, e Entry) {
	if e.Tip == nil && !e.Forged() {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stats.Tips++
	id, ok := x.byKey[key]
	if !ok {
		id = int32(len(x.items))
		x.items = append(x.items, indexed{key: key})
		x.byKey[key] = id
	}
	if e.Forged() {
		it := &x.items[id]
		it.forged = true
		for p := range it.links {
			delete(x.items[p].links, id)
		}
		it.links = nil
		return
	}
	if x.items[id].forged {
		return
	}
	affected := map[int32]bool{}
	cs, phrases := extract(e.Tip)
	ccs, cps := caseClues(key, e.Tip)
	cs, phrases = append(ccs, cs...), append(cps, phrases...)
	it := &x.items[id]
	for _, c := range cs {
		h := x.hash(c.key)
		x.label(h, c.label)
		if x.post(&x.clues, h, id, nil, affected) {
			it.clues = append(it.clues, h)
		}
	}
	for _, p := range phrases {
		h := x.hash(p.key)
		x.label(h, p.label)
		if x.post(&x.named, h, id, &x.said, affected) {
			it.names = append(it.names, h)
		}
	}
	for _, h := range x.textTokens(e.Tip.Text) {
		if x.post(&x.said, h, id, &x.named, affected) {
			it.text = append(it.text, h)
		}
	}
	x.refresh(id)
	delete(affected, id)
	for r := range affected {
		x.refresh(r)
	}
}

// post adds id to p under h and reports whether it was not there yet.
// When that makes h shared by too many items, the items that shared it
// are marked affected: their links through h go. For the phrase
// postings, that matters only if the other side (other) holds h too.
func (x *Index) post(p *postings, h uint64, id int32, other *postings, affected map[int32]bool) bool {
	x.stats.Postings++
	added, members := p.add(h, id)
	if members == nil || (other != nil && (!other.present(h) || other.isFull(h))) {
		return added
	}
	for _, m := range members {
		affected[m] = true
	}
	return added
}

func (x *Index) label(h uint64, label string) {
	if _, ok := x.labels[h]; !ok {
		x.labels[h] = label
	}
}

func (x *Index) hash(s string) uint64 { return maphash.String(x.seed, s) }

// textTokens returns the hashes of the distinct sequences of 1 to
// maxPhraseWords words of text (split and lower-cased as normName does),
// at most maxTextTokens, from the start. A sequence hashes as the phrase
// of the same words does. Only the words it needs are looked at.
func (x *Index) textTokens(text string) []uint64 {
	rest := text
	next := func() (string, bool) {
		i := strings.IndexFunc(rest, isWordRune)
		if i < 0 {
			rest = ""
			return "", false
		}
		rest = rest[i:]
		j := strings.IndexFunc(rest, func(r rune) bool { return !isWordRune(r) })
		if j < 0 {
			j = len(rest)
		}
		w := rest[:j]
		rest = rest[j:]
		return strings.ToLower(w), true
	}
	var window []string // the next maxPhraseWords words
	for len(window) < maxPhraseWords {
		w, ok := next()
		if !ok {
			break
		}
		window = append(window, w)
	}
	var out []uint64
	seen := map[uint64]bool{}
	var h maphash.Hash
	h.SetSeed(x.seed)
	for len(window) > 0 && len(out) < maxTextTokens {
		h.Reset()
		n := 0
		for k, w := range window {
			if k > 0 {
				h.WriteByte(' ')
				n++
			}
			h.WriteString(w)
			n += len(w)
			if n < 4 || n > maxClueBytes {
				continue
			}
			if s := h.Sum64(); !seen[s] && len(out) < maxTextTokens {
				seen[s] = true
				out = append(out, s)
			}
		}
		window = window[1:]
		if w, ok := next(); ok {
			window = append(window, w)
		}
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// compute returns the links of item i, as the index holds them now.
func (x *Index) compute(i int32) map[int32][]string {
	x.stats.Computes++
	out := map[int32][]string{}
	add := func(j int32, why string) {
		x.stats.Visits++
		if j == i || x.items[j].forged {
			return
		}
		if !slices.Contains(out[j], why) {
			out[j] = append(out[j], why)
		}
	}
	it := &x.items[i]
	for _, c := range it.clues {
		x.clues.each(c, func(j int32) { add(j, x.labels[c]) })
	}
	for _, p := range it.names {
		if !x.named.isFull(p) {
			x.said.each(p, func(j int32) { add(j, x.labels[p]) })
		}
	}
	for _, h := range it.text {
		if !x.said.isFull(h) {
			x.named.each(h, func(j int32) { add(j, x.labels[h]) })
		}
	}
	for _, why := range out {
		slices.Sort(why)
	}
	return out
}

// refresh recomputes item r's links and writes them on both sides.
func (x *Index) refresh(r int32) {
	if x.items[r].forged {
		return
	}
	links := x.compute(r)
	for p := range x.items[r].links {
		if _, ok := links[p]; !ok {
			delete(x.items[p].links, r)
		}
	}
	for p, why := range links {
		if x.items[p].links == nil {
			x.items[p].links = map[int32][]string{}
		}
		x.items[p].links[r] = why
	}
	x.items[r].links = links
}

// Links returns the items related to the item key, by key, with why.
func (x *Index) Links(key string) []Link {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.byKey[key]
	if !ok {
		return nil
	}
	var out []Link
	for p, why := range x.items[id].links {
		out = append(out, Link{Key: x.items[p].key, Reasons: slices.Clone(why)})
	}
	slices.SortFunc(out, func(a, b Link) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// LinkCount returns how many items are related to the item key.
func (x *Index) LinkCount(key string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	if id, ok := x.byKey[key]; ok {
		return len(x.items[id].links)
	}
	return 0
}

// Stats returns the work the index has done so far.
func (x *Index) Stats() IndexStats {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.stats
}

// postings maps a hash to the items that have it, up to maxShared; a hash
// that more items have is marked full and maps to none. Most hashes (the
// words of one text) have one item, so that case takes one map entry and
// no slice.
type postings struct {
	m    map[uint64]int32 // the one item, or postMany or postFull
	many map[uint64][]int32
}

const (
	postMany = -1 // the items are in many
	postFull = -2 // shared by more than maxShared items
)

func newPostings() postings {
	return postings{m: map[uint64]int32{}, many: map[uint64][]int32{}}
}

// add adds id under h and reports whether it was not there yet. If that
// makes h full, it also returns the items that had h before.
func (p *postings) add(h uint64, id int32) (added bool, saturated []int32) {
	v, ok := p.m[h]
	switch {
	case !ok:
		p.m[h] = id
		return true, nil
	case v == postFull || v == id:
		return false, nil
	case v >= 0:
		p.m[h] = postMany
		p.many[h] = []int32{v, id}
		return true, nil
	}
	m := p.many[h]
	if slices.Contains(m, id) {
		return false, nil
	}
	if len(m) < maxShared {
		p.many[h] = append(m, id)
		return true, nil
	}
	delete(p.many, h)
	p.m[h] = postFull
	return true, m
}

// present reports whether any item has h (or too many do).
func (p *postings) present(h uint64) bool {
	_, ok := p.m[h]
	return ok
}

func (p *postings) isFull(h uint64) bool { return p.m[h] == postFull }

// each calls f for every item under h, none if h is full.
func (p *postings) each(h uint64, f func(int32)) {
	v, ok := p.m[h]
	switch {
	case !ok || v == postFull:
	case v >= 0:
		f(v)
	default:
		for _, id := range p.many[h] {
			f(id)
		}
	}
}
