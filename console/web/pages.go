package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flarehq/flare/channels/textlang"
	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/safetext"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/console.css static/keys.js static/live.js
var staticFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"time":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"statusOf":  func(s triage.Status) string { return s.Label() },
	"statuses":  func() []triage.Status { return triage.Statuses },
	"join":      strings.Join,
	"kindClass": func(k crypto.Kind) string { return "kind-" + string(k) },
	"size":      humanSize,
	"deref":     func(p *float64) float64 { return *p },
	"local":     localTime,
	"refreshOf": refreshOf,
}).ParseFS(templateFS, "templates/*.html"))

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// page is what every template gets.
type page struct {
	Title string
	Me    string
	CSRF  string
	Body  any
}

func (s *Server) render(w http.ResponseWriter, status int, name, title string, body any) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, page{Title: title, Me: s.me, CSRF: s.csrf, Body: body}); err != nil {
		s.log.Error("console page failed", "page", name, "err", err)
		http.Error(w, "page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	// html/template escapes HTML, not terminal or bidi controls: every
	// value a page shows (tips, file names, triage notes, error messages)
	// passes the console's one sanitiser on its way out. The templates
	// themselves hold none, so only values are changed.
	io.WriteString(w, safetext.Text(buf.String()))
}

func (s *Server) fail(w http.ResponseWriter, status int, title, msg string) {
	s.render(w, status, "message", title, msg)
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	data, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		s.fail(w, http.StatusNotFound, "Not found", "There is no such file in the console.")
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Write(data)
}

// row is one line of the inbox.
type row struct {
	Key, Preview, Channel, Lang, Receipt string
	Kind                                 crypto.Kind
	Received                             time.Time
	Status                               triage.Status
	Assignee                             string
	Tags                                 []string
	Attachments, Related                 int
	Missing                              []int
	Parts                                int
	Forged                               bool
	// Unread is true until this key-holder opens the tip; Waiting says
	// how long ago it arrived ("12 min ago").
	Unread  bool
	Waiting string
}

type inboxBody struct {
	Rows     []row
	Total    int
	Filter   filter
	Facets   facets
	NotMine  int
	Broken   int
	BrokenEg string
	Damaged  int
	Pubkeys  []string
	Statuses []triage.Status
	// Newest is the queue id of the newest tip; the page's script asks
	// /events to say when one newer arrives.
	Newest string
	Unread int
}

func preview(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request) {
	snap, err := s.load(r.Context())
	if err != nil {
		s.log.Error("console could not read the queue", "err", err)
		s.fail(w, http.StatusBadGateway, "Queue unavailable", "The console could not read the queue: "+err.Error())
		return
	}
	f := parseFilter(r.URL.Query())
	body := inboxBody{
		Total: len(snap.items), Filter: f, Facets: snap.facets(),
		NotMine: snap.notMine, Broken: snap.broken, BrokenEg: snap.brokenEg, Damaged: snap.damaged,
		Pubkeys: s.pubkeys, Statuses: triage.Statuses, Newest: snap.newest,
	}
	now := s.now()
	for _, it := range snap.items {
		rec := snap.record(it.Key)
		if !f.match(it, rec) {
			continue
		}
		body.Rows = append(body.Rows, row{
			Key: it.Key, Preview: preview(it.Tip.Text, 140), Channel: it.Tip.Channel, Lang: tipLanguage(it.Tip),
			Receipt: it.Tip.Receipt, Kind: it.Tip.Kind, Received: it.Received(),
			Status: rec.CurrentStatus(), Assignee: rec.Assignee, Tags: rec.Tags,
			Attachments: len(it.Tip.Attachments), Related: snap.related.LinkCount(it.Key),
			Missing: it.Missing, Parts: len(it.Entries), Forged: it.Forged(),
			Unread: !snap.seen[it.Key], Waiting: waited(now, it.Received()),
		})
		if !snap.seen[it.Key] {
			body.Unread++
		}
	}
	s.render(w, http.StatusOK, "inbox", "Inbox", body)
}

type field struct{ Name, Value string }

type attachmentView struct {
	N                int
	Ref              crypto.AttachmentRef
	Image            bool // a format the console re-encodes for display
	SVG              bool
	Meta             Metadata
	MetaErr          string
	ImageURL, GetURL string
	// Checked is set once the whole file was decrypted and matched its
	// SHA-256; Mismatch once it did not.
	Checked, Mismatch bool
}

type relatedView struct {
	Key, Preview string
	Kind         crypto.Kind
	Received     time.Time
	Status       triage.Status
	Reasons      []string
}

type tipBody struct {
	Item        console.Item
	Tip         *crypto.Tip
	Lang        string
	Fields      []field
	Attachments []attachmentView
	Record      triage.Record
	History     []triage.Entry
	Related     []relatedView
	Prev, Next  string
	Saved       bool
	Exported    bool
	Conflict    string
	ConflictBy  []string
	Error       string
	// Draft holds what the key-holder typed when a save was refused, so
	// nothing they wrote is lost.
	Draft    draft
	Statuses []triage.Status
	// HistoryDamaged counts history entries that could not be read.
	HistoryDamaged int
	// Replies is the reply panel.
	Replies replyPanel
}

type draft struct {
	Status   triage.Status
	Assignee string
	Tags     string
	Note     string
}

func (s *Server) tipPage(w http.ResponseWriter, r *http.Request) {
	body, status := s.tipBody(w, r)
	if body == nil {
		return
	}
	body.Saved = r.URL.Query().Get("saved") == "1"
	body.Replies = s.replyPanelFor(r.Context(), body.Item)
	body.Replies.Sent = r.URL.Query().Get("replied") == "1"
	if err := s.triage.MarkSeen(r.Context(), body.Item.Key); err != nil {
		s.log.Warn("console could not mark a tip as read", "err", err)
	}
	s.render(w, status, "tip", "Tip "+body.Tip.Receipt, body)
}

// tipBody gathers a tip page; on failure it has answered and returns nil.
func (s *Server) tipBody(w http.ResponseWriter, r *http.Request) (*tipBody, int) {
	key := r.PathValue("key")
	if !triage.ValidKey(key) {
		s.fail(w, http.StatusNotFound, "No such tip", "There is no tip with this key.")
		return nil, 0
	}
	snap, err := s.load(r.Context())
	if err != nil {
		s.fail(w, http.StatusBadGateway, "Queue unavailable", "The console could not read the queue: "+err.Error())
		return nil, 0
	}
	i, ok := snap.byKey[key]
	if !ok {
		s.fail(w, http.StatusNotFound, "No such tip", "There is no tip with this key that your identity can open.")
		return nil, 0
	}
	it := snap.items[i]
	rec := snap.record(key)
	hist, err := s.triage.History(r.Context(), key)
	if err != nil {
		s.log.Error("console could not read triage history", "err", err)
	}
	b := &tipBody{Item: it, Tip: it.Tip, Lang: tipLanguage(it.Tip), Record: rec, History: hist, Statuses: triage.Statuses}
	for _, e := range hist {
		if e.Damaged {
			b.HistoryDamaged++
		}
	}
	b.Draft = draft{Status: rec.CurrentStatus(), Assignee: rec.Assignee, Tags: strings.Join(rec.Tags, ", ")}
	if i > 0 {
		b.Prev = snap.items[i-1].Key
	}
	if i+1 < len(snap.items) {
		b.Next = snap.items[i+1].Key
	}
	for k, v := range it.Tip.Fields {
		b.Fields = append(b.Fields, field{k, v})
	}
	slices.SortFunc(b.Fields, func(x, y field) int { return strings.Compare(x.Name, y.Name) })
	for n, ref := range it.Tip.Attachments {
		av := attachmentView{
			N: n, Ref: ref,
			ImageURL: fmt.Sprintf("/tip/%s/att/%d/image", key, n),
			GetURL:   fmt.Sprintf("/tip/%s/att/%d/file", key, n),
		}
		s.inspectAttachment(r, &av)
		b.Attachments = append(b.Attachments, av)
	}
	for _, l := range snap.related.Links(key) {
		j, ok := snap.byKey[l.Key]
		if !ok {
			continue
		}
		o := snap.items[j]
		b.Related = append(b.Related, relatedView{
			Key: o.Key, Preview: preview(o.Tip.Text, 100), Kind: o.Tip.Kind, Received: o.Received(),
			Status: snap.record(o.Key).CurrentStatus(), Reasons: l.Reasons,
		})
	}
	return b, http.StatusOK
}

// inspectAttachment decides how an attachment is offered: images the
// console can re-encode are shown; their originals' metadata is
// summarised; whether the file matches its SHA-256 is said.
func (s *Server) inspectAttachment(r *http.Request, av *attachmentView) {
	// Attachments never change: each is opened once (with a hardware key,
	// each opening is a touch).
	cacheKey := av.Ref.ID + "/" + av.Ref.SHA256
	s.inspectMu.Lock()
	in, ok := s.inspected[cacheKey]
	s.inspectMu.Unlock()
	if !ok {
		in = s.inspect(r, av.Ref)
		if r.Context().Err() != nil {
			return // cut short: nothing learnt
		}
		s.inspectMu.Lock()
		if prev, ok := s.inspected[cacheKey]; ok && prev.mismatch {
			in.mismatch = true
		}
		s.inspected[cacheKey] = in
		s.inspectMu.Unlock()
	}
	mt := strings.ToLower(av.Ref.MediaType)
	name := strings.ToLower(av.Ref.Name)
	av.SVG = strings.Contains(mt, "svg") || strings.HasSuffix(name, ".svg") || strings.HasSuffix(name, ".svgz")
	av.Mismatch = in.mismatch
	av.Checked = in.checked && !in.mismatch
	av.Image = in.image && !av.SVG && !in.mismatch && av.Ref.Size <= maxImageBytes
	if !av.SVG {
		av.Meta, av.MetaErr = in.meta, in.err
	}
}

// noteChecked records what a full decryption of an attachment found, for
// its tip page. A mismatch, once seen, stays.
func (s *Server) noteChecked(ref crypto.AttachmentRef, ok bool) {
	cacheKey := ref.ID + "/" + ref.SHA256
	s.inspectMu.Lock()
	defer s.inspectMu.Unlock()
	in, seen := s.inspected[cacheKey]
	if !seen {
		// Not inspected yet: the page will inspect it, keeping a mismatch.
		if ok {
			return
		}
		in = inspection{err: "could not be read completely or does not match its checksum"}
	}
	in.checked = true
	in.mismatch = in.mismatch || !ok
	s.inspected[cacheKey] = in
}

// inspection is what the console learnt from decrypting an attachment.
type inspection struct {
	image    bool // PNG, JPEG or GIF by its content
	meta     Metadata
	err      string
	checked  bool // decrypted to the end and compared with its SHA-256
	mismatch bool // and it did not match (or could not be decrypted)
}

// inspect decrypts an attachment: its start tells what it is, and the
// rest is read (and thrown away) to check its SHA-256.
func (s *Server) inspect(r *http.Request, ref crypto.AttachmentRef) inspection {
	rd, err := s.con.Attachment(r.Context(), ref)
	if err != nil {
		return inspection{err: "could not be opened", checked: true, mismatch: true}
	}
	head := make([]byte, min(metadataHead, max(ref.Size, 0)))
	n, err := io.ReadFull(rd, head)
	head = head[:n]
	var in inspection
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}), bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")),
		bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		in.image = true
	}
	in.meta = readMetadata(head)
	if err == nil {
		_, err = io.Copy(io.Discard, rd)
	}
	if err != nil && err != io.EOF {
		in.err = "could not be read completely or does not match its checksum"
		in.mismatch = true
	}
	in.checked = true
	return in
}

// tipLanguage is the language a tip is shown as: the one it was filed
// with, or, for a tip whose channel gave none, the one its script shows.
func tipLanguage(t *crypto.Tip) string {
	if t.Language != "" {
		return t.Language
	}
	return textlang.Detect(t.Text)
}
