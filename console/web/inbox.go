package web

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
)

// inboxCache keeps the tips opened so far. Sealed tips never change, so
// each is opened once; only newer ones are fetched on each page load.
// Each tip is added to the index of related tips once, by the first page
// load that needs links after it arrived (never by an attachment
// request).
type inboxCache struct {
	mu      sync.Mutex
	entries []console.Entry
	index   *console.Index // nil until the first page load
	indexed int            // how many of entries are in index
}

// snapshot is everything a page needs, computed in memory per request.
type snapshot struct {
	items    []console.Item // in urgency order
	byKey    map[string]int
	records  map[string]triage.Record
	related  *console.Index
	notMine  int // tips sealed to other key-holders
	broken   int // tips that failed to open for another reason
	brokenEg string
	damaged  int // triage records that could not be read
	// seen holds the tips this key-holder has opened; newest is the
	// queue id of the newest tip, from which /events watches.
	seen   map[string]bool
	newest string
}

// entries returns every tip read so far, after reading those that arrived
// since the last call. With link set, tips not in the index of related
// tips yet are added to it.
func (s *Server) entries(ctx context.Context, link bool) ([]console.Entry, *console.Index, error) {
	s.inbox.mu.Lock()
	defer s.inbox.mu.Unlock()
	after := ""
	if n := len(s.inbox.entries); n > 0 {
		after = s.inbox.entries[n-1].QueueID
	}
	fresh, err := s.con.ListAfter(ctx, after)
	if err != nil {
		return nil, nil, err
	}
	for i := range fresh {
		fresh[i].Sealed = nil // not needed; keep memory small
	}
	s.inbox.entries = append(s.inbox.entries, fresh...)
	if s.inbox.index == nil {
		s.inbox.index = console.NewIndex()
	}
	if link {
		for _, e := range s.inbox.entries[s.inbox.indexed:] {
			s.inbox.index.Add(console.ItemKey(e), e)
		}
		s.inbox.indexed = len(s.inbox.entries)
	}
	return slices.Clone(s.inbox.entries), s.inbox.index, nil
}

// item returns the item key, without reading triage records or linking
// tips: what an attachment request needs.
func (s *Server) item(ctx context.Context, key string) (console.Item, bool, error) {
	entries, _, err := s.entries(ctx, false)
	if err != nil {
		return console.Item{}, false, err
	}
	for _, it := range console.Items(entries) {
		if it.Key == key && it.Tip != nil {
			return it, true, nil
		}
	}
	return console.Item{}, false, nil
}

func (s *Server) load(ctx context.Context) (*snapshot, error) {
	entries, index, err := s.entries(ctx, true)
	if err != nil {
		return nil, err
	}
	records, err := s.triage.All(ctx)
	if err != nil {
		return nil, err
	}
	seen, err := s.triage.Seen(ctx)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{records: records, byKey: map[string]int{}, related: index, seen: seen}
	if n := len(entries); n > 0 {
		snap.newest = entries[n-1].QueueID
	}
	for _, r := range records {
		if r.Damaged != "" {
			snap.damaged++
		}
	}
	for _, e := range entries {
		switch {
		case e.Err == nil:
		case errors.Is(e.Err, console.ErrNotRecipient):
			snap.notMine++
		default:
			snap.broken++
			if snap.brokenEg == "" {
				snap.brokenEg = e.Err.Error()
			}
		}
	}
	for _, it := range console.Items(entries) {
		if it.Tip != nil {
			snap.items = append(snap.items, it)
		}
	}
	sortItems(snap.items, records, seen)
	for i, it := range snap.items {
		snap.byKey[it.Key] = i
	}
	return snap, nil
}

func (s *snapshot) record(key string) triage.Record {
	if r, ok := s.records[key]; ok {
		return r
	}
	return triage.Record{State: triage.State{Status: triage.StatusNew}}
}

// sortItems orders the inbox: distress calls this key-holder has not
// opened yet, longest waiting first; then open work before resolved and
// spam; within it distress calls, then missing-person reports, then the
// rest; within a kind, tips nobody has picked up yet first, oldest first.
func sortItems(items []console.Item, records map[string]triage.Record, seen map[string]bool) {
	status := func(it console.Item) triage.Status {
		if r, ok := records[it.Key]; ok {
			return r.CurrentStatus()
		}
		return triage.StatusNew
	}
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	unreadDistress := func(it console.Item, st triage.Status) bool {
		return !it.Forged() && it.Tip.Kind == crypto.KindDistress && !seen[it.Key] && st.Open()
	}
	slices.SortStableFunc(items, func(a, b console.Item) int {
		sa, sb := status(a), status(b)
		ua, ub := unreadDistress(a, sa), unreadDistress(b, sb)
		if ua && ub {
			return a.Received().Compare(b.Received()) // longest waiting first
		}
		return cmp.Or(
			// A forged tip never jumps the queue as a fake distress call.
			cmp.Compare(b2i(a.Forged()), b2i(b.Forged())),
			cmp.Compare(b2i(!ua), b2i(!ub)),
			cmp.Compare(b2i(!sa.Open()), b2i(!sb.Open())),
			cmp.Compare(console.Urgency(a.Tip.Kind), console.Urgency(b.Tip.Kind)),
			cmp.Compare(b2i(sa != triage.StatusNew), b2i(sb != triage.StatusNew)),
			a.Received().Compare(b.Received()),
		)
	})
}

// filter is what the inbox's filter form asks for.
type filter struct {
	Channel, Kind, Lang, Status, Tag, Assignee, Q string
}

func parseFilter(q url.Values) filter {
	g := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return filter{Channel: g("channel"), Kind: g("kind"), Lang: g("lang"), Status: g("status"), Tag: g("tag"), Assignee: g("assignee"), Q: g("q")}
}

func (f filter) active() bool { return f != filter{} }

func (f filter) match(it console.Item, r triage.Record) bool {
	t := it.Tip
	if f.Channel != "" && t.Channel != f.Channel {
		return false
	}
	if f.Kind != "" && string(t.Kind) != f.Kind {
		return false
	}
	if f.Lang != "" && !strings.EqualFold(tipLanguage(t), f.Lang) {
		return false
	}
	switch st := r.CurrentStatus(); f.Status {
	case "":
	case "open":
		if !st.Open() {
			return false
		}
	default:
		if string(st) != f.Status {
			return false
		}
	}
	if f.Tag != "" && !r.HasTag(f.Tag) {
		return false
	}
	switch f.Assignee {
	case "":
	case "-":
		if r.Assignee != "" {
			return false
		}
	default:
		if !strings.EqualFold(r.Assignee, f.Assignee) {
			return false
		}
	}
	if f.Q != "" {
		hay := strings.ToLower(searchText(it, r))
		for _, term := range strings.Fields(strings.ToLower(f.Q)) {
			if !strings.Contains(hay, term) {
				return false
			}
		}
	}
	return true
}

// searchText is everything full-text search looks at: the decrypted tip and
// its triage state.
func searchText(it console.Item, r triage.Record) string {
	t := it.Tip
	var b strings.Builder
	w := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	w(t.Text)
	w(t.Receipt)
	w(t.ID)
	w(it.Key)
	for k, v := range t.Fields {
		w(k + " " + v)
	}
	for _, p := range t.People {
		w(p)
	}
	if t.Location != nil {
		w(t.Location.Place)
	}
	if t.Sender != nil {
		w(t.Sender.Phone + " " + t.Sender.Username + " " + t.Sender.Name)
	}
	for _, a := range t.Attachments {
		w(a.Name)
	}
	w(r.Assignee)
	for _, tag := range r.Tags {
		w(tag)
	}
	for _, n := range r.Notes {
		w(n.Text)
	}
	return b.String()
}

// facets are the values the filter form offers, from what is in the inbox.
type facets struct {
	Channels, Kinds, Langs, Tags, Assignees []string
}

func (s *snapshot) facets() facets {
	var f facets
	add := func(list *[]string, v string) {
		if v != "" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	for _, it := range s.items {
		add(&f.Channels, it.Tip.Channel)
		add(&f.Kinds, string(it.Tip.Kind))
		add(&f.Langs, tipLanguage(it.Tip))
		r := s.record(it.Key)
		add(&f.Assignees, r.Assignee)
		for _, t := range r.Tags {
			add(&f.Tags, t)
		}
	}
	for _, l := range [][]string{f.Channels, f.Kinds, f.Langs, f.Tags, f.Assignees} {
		slices.Sort(l)
	}
	return f
}
