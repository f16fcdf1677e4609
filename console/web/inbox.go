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
)

// inboxCache keeps the tips opened so far. Sealed tips never change, so
// each is opened once; only newer ones are fetched on each page load.
type inboxCache struct {
	mu      sync.Mutex
	entries []console.Entry
}

// snapshot is everything a page needs, computed in memory per request.
type snapshot struct {
	items    []console.Item // in urgency order
	byKey    map[string]int
	records  map[string]triage.Record
	related  map[string][]console.Link
	notMine  int // tips sealed to other key-holders
	broken   int // tips that failed to open for another reason
	brokenEg string
}

func (s *Server) load(ctx context.Context) (*snapshot, error) {
	s.inbox.mu.Lock()
	after := ""
	if n := len(s.inbox.entries); n > 0 {
		after = s.inbox.entries[n-1].QueueID
	}
	fresh, err := s.con.ListAfter(ctx, after)
	if err == nil {
		for i := range fresh {
			fresh[i].Sealed = nil // not needed; keep memory small
		}
		s.inbox.entries = append(s.inbox.entries, fresh...)
	}
	entries := slices.Clone(s.inbox.entries)
	s.inbox.mu.Unlock()
	if err != nil {
		return nil, err
	}
	records, err := s.triage.All(ctx)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{records: records, byKey: map[string]int{}}
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
	sortItems(snap.items, records)
	for i, it := range snap.items {
		snap.byKey[it.Key] = i
	}
	snap.related = console.Related(snap.items)
	return snap, nil
}

func (s *snapshot) record(key string) triage.Record {
	if r, ok := s.records[key]; ok {
		return r
	}
	return triage.Record{State: triage.State{Status: triage.StatusNew}}
}

// sortItems orders the inbox: open work before resolved and spam; within
// it distress calls, then missing-person reports, then the rest; within a
// kind, tips nobody has picked up yet first, oldest first.
func sortItems(items []console.Item, records map[string]triage.Record) {
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
	slices.SortStableFunc(items, func(a, b console.Item) int {
		sa, sb := status(a), status(b)
		return cmp.Or(
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
