package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/inbox"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/pagesafety"
)

//go:embed static/flare.css
var static embed.FS

// maxParts bounds the parts of one multipart form: the form has a handful
// of fields and at most MaxAttachments files. It keeps a hostile form with
// thousands of tiny parts (CVE-2023-24536's shape) cheap to refuse.
const maxFieldParts = 16

// evictCookie is the receipt's one-second cookie (see submit).
const evictCookie = "x"

// submitTimeout bounds how long one submission may take end to end, upload
// included. Large evidence over Tor is slow, so it is generous.
const submitTimeout = 30 * time.Minute

// Channel is the web intake.
type Channel struct {
	name     string
	sink     channels.Sink
	catalog  *catalog.Catalog
	log      *slog.Logger
	gate     *channels.ListenerGate
	inbox    *inbox.Box
	cfg      Config
	tokens   *formTokens
	distress *catalog.Distress
}

// New returns the web intake. name is the channel name recorded in tips:
// "web" for the plain listener, "onion" when published as an onion service.
// cfg is optional; without it the defaults apply.
func New(name string, deps channels.Deps, cfg ...Config) *Channel {
	deps.Catalog.AddDefaults(catalog.Fallback, defaultTexts)
	gate := deps.Gate
	if gate == nil {
		gate = channels.NewGate(channels.DefaultGateConfig(), nil)
	}
	c := &Channel{name: name, sink: deps.Sink, catalog: deps.Catalog, log: deps.Log, gate: gate.Listener(name), inbox: deps.Inbox, cfg: DefaultConfig(),
		tokens: newFormTokens(defaultTokenTTL, defaultTokenMax), distress: catalog.NewDistress(catalog.DistressKeywords())}
	if len(cfg) > 0 {
		c.cfg = cfg[0]
		if c.cfg.QuickExitURL == "" {
			c.cfg.QuickExitURL = DefaultQuickExitURL
		}
	}
	return c
}

// Name implements channels.Channel.
func (c *Channel) Name() string { return c.name }

// Run implements channels.Channel; the web intake has no background work.
func (c *Channel) Run(ctx context.Context) error { return nil }

// Routes implements channels.Channel.
func (c *Channel) Routes(mux *http.ServeMux) {
	mux.Handle("/", c.Handler())
}

// Handler returns the intake's pages on their own: "/", "/submit" and
// "/static/". The onion channel serves it on its own listener.
func (c *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", c.form)
	mux.HandleFunc("POST /{$}", c.submit)
	mux.HandleFunc("POST /submit", c.submit)
	mux.HandleFunc("GET /static/flare.css", c.css)
	mux.HandleFunc("/", c.notFound)
	return securityHeaders(mux)
}

// securityHeaders sets the headers every page carries: nothing cached,
// nothing referred, nothing loaded from elsewhere, no framing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pagesafety.Set(w.Header(), pagesafety.NoScript)
		next.ServeHTTP(w, r)
	})
}

func (c *Channel) css(w http.ResponseWriter, r *http.Request) {
	data, _ := static.ReadFile("static/flare.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(data)
}

func (c *Channel) notFound(w http.ResponseWriter, r *http.Request) {
	lang := c.language(r, "")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.fail(w, r, lang, http.StatusMethodNotAllowed, "web.error.method")
		return
	}
	c.fail(w, r, lang, http.StatusNotFound, "web.error.notfound")
}

// language picks the page language: an explicit choice (the switch's
// ?lang= or the form's hidden field), else Accept-Language, else the
// deployment's default.
func (c *Channel) language(r *http.Request, explicit string) string {
	if explicit == "" {
		explicit = r.URL.Query().Get("lang")
	}
	return c.catalog.Choose(explicit, r.Header.Get("Accept-Language"), "")
}

func (c *Channel) form(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "form", c.formPage(c.language(r, ""), nil))
}

// submission is what one POST carried, before it becomes a tip.
type submission struct {
	lang, kind, message, place, people, contact, token string
	// action is what an inbox form asks for ("inbox", "open", "delete",
	// "answer"); empty for the report form. code and reply are the inbox
	// code typed and the reply to delete.
	action, code, reply string
	// asked is set when the form already asked the source to choose a
	// kind once; a second time without one files the message as it is.
	asked bool
}

// httpError is a refusal with the status and catalog key to show.
type httpError struct {
	status int
	key    string
	args   []any
	err    error
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s: %v", e.status, e.key, e.err) }

func (c *Channel) submit(w http.ResponseWriter, r *http.Request) {
	limits := c.sink.Limits()
	body, release, herr := c.admit(w, r, limits)
	if herr != nil {
		c.log.Info("submission refused", "channel", c.name, "status", herr.status, "reason", herr.key)
		c.fail(w, r, c.language(r, ""), herr.status, herr.key, herr.args...)
		return
	}
	defer release()

	ctx, cancel := context.WithTimeout(r.Context(), submitTimeout)
	defer cancel()
	draft := c.sink.NewDraft(c.name)
	sub, herr := c.read(ctx, r, draft, limits)
	body.Done()
	if herr == nil && r.URL.Path == "/" && sub.action != "" && sub.action != actionAnswer {
		draft.Discard(context.WithoutCancel(ctx))
		c.inboxAction(ctx, w, r, sub)
		return
	}
	// The form's token is spent by any post that carries it, so a page
	// restored from history cannot be sent again. Scripts use /submit,
	// which has no page to restore.
	tokenOK := r.URL.Path != "/" || c.tokens.Use(sub.token)
	if herr == nil && !tokenOK {
		herr = &httpError{status: http.StatusForbidden, key: "web.error.token", err: errors.New("form token unknown, spent or expired")}
	}
	if herr == nil {
		herr = c.fill(draft.Tip(), sub, r.URL.Path == "/")
	}
	var code crypto.InboxCode
	if herr == nil {
		code, herr = c.inboxFor(ctx, r, draft.Tip(), sub)
	}
	var receipt channels.Receipt
	if herr == nil {
		var err error
		receipt, err = draft.Submit(ctx)
		if err != nil {
			herr = c.classify(err, limits)
		}
	}
	if herr != nil {
		files := len(draft.Tip().Attachments)
		if err := draft.Discard(context.WithoutCancel(ctx)); err != nil {
			c.log.Error("discard refused submission", "channel", c.name, "err", err)
		}
		c.log.Info("submission refused", "channel", c.name, "status", herr.status, "reason", herr.key)
		c.refuse(w, r, c.language(r, sub.lang), sub, herr, files)
		return
	}
	body.Finish()
	lang := c.language(r, sub.lang)
	if wantsJSON(r) {
		resp := map[string]string{"status": "received", "receipt": receipt.Code}
		if !code.IsZero() {
			resp["inbox"] = code.String()
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	// Evict the form from the browser's back/forward cache, which keeps
	// even no-store pages in memory: without this, Back brings back the
	// form as it was sent, message and kind included. Chromium evicts a
	// no-store page when one of its cookies changes, so the receipt sets
	// one that holds nothing and is gone a second later.
	http.SetCookie(w, &http.Cookie{Name: evictCookie, Value: "1", Path: "/", MaxAge: 1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	p := c.page(lang)
	p.Receipt = receipt.Code
	if !code.IsZero() {
		p.InboxCode = code.String()
	}
	c.render(w, http.StatusOK, "received", p)
}

// read streams the request's parts: text fields into sub, each file into a
// sealed attachment of draft.
func (c *Channel) read(ctx context.Context, r *http.Request, draft channels.Draft, limits channels.Limits) (submission, *httpError) {
	var sub submission
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return sub, &httpError{status: http.StatusBadRequest, key: "web.error.type", err: err}
	}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		// admit bounded this body by maxFormBytes, so ParseForm holds no
		// more than the form can legitimately carry.
		if err := r.ParseForm(); err != nil {
			return sub, c.bodyError(err, limits)
		}
		f := r.PostForm
		sub = submission{lang: f.Get("lang"), kind: f.Get("kind"), message: f.Get("message"), place: f.Get("place"),
			people: f.Get("people"), contact: f.Get("contact"), token: f.Get("token"), asked: f.Get("asked") != "",
			action: f.Get("action"), code: f.Get("code"), reply: f.Get("reply")}
		return sub, nil
	case "multipart/form-data":
		if params["boundary"] == "" {
			return sub, &httpError{status: http.StatusBadRequest, key: "web.error.malformed", err: errors.New("no multipart boundary")}
		}
	default:
		return sub, &httpError{status: http.StatusUnsupportedMediaType, key: "web.error.type", err: fmt.Errorf("content type %q", mediaType)}
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return sub, &httpError{status: http.StatusBadRequest, key: "web.error.malformed", err: err}
	}
	fields := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return sub, nil
		}
		if err != nil {
			return sub, c.bodyError(err, limits)
		}
		if part.FileName() != "" || part.FormName() == "file" {
			if part.FileName() == "" {
				part.Close() // an empty file input
				continue
			}
			if herr := c.attach(ctx, draft, part, limits); herr != nil {
				return sub, herr
			}
			continue
		}
		if fields++; fields > maxFieldParts {
			return sub, &httpError{status: http.StatusBadRequest, key: "web.error.fieldcount", err: errors.New("too many form fields")}
		}
		value, herr := c.field(part, limits)
		if herr != nil {
			return sub, herr
		}
		switch part.FormName() {
		case "lang":
			sub.lang = value
		case "kind":
			sub.kind = value
		case "message":
			sub.message = value
		case "place":
			sub.place = value
		case "people":
			sub.people = value
		case "contact":
			sub.contact = value
		case "token":
			sub.token = value
		case "action":
			sub.action = value
		case "code":
			sub.code = value
		case "reply":
			sub.reply = value
		case "asked":
			sub.asked = value != ""
		}
	}
}

func (c *Channel) field(part *multipart.Part, limits channels.Limits) (string, *httpError) {
	defer part.Close()
	data, err := io.ReadAll(io.LimitReader(part, int64(limits.MaxTextBytes)+1))
	if err != nil {
		return "", c.bodyError(err, limits)
	}
	if len(data) > limits.MaxTextBytes {
		return "", &httpError{status: http.StatusRequestEntityTooLarge, key: "web.error.toolong", args: []any{humanBytes(int64(limits.MaxTextBytes))}, err: channels.ErrTextTooLong}
	}
	if !utf8.Valid(data) {
		return "", &httpError{status: http.StatusBadRequest, key: "web.error.encoding", err: errors.New("field is not UTF-8")}
	}
	return string(data), nil
}

func (c *Channel) attach(ctx context.Context, draft channels.Draft, part *multipart.Part, limits channels.Limits) *httpError {
	defer part.Close()
	mediaType := part.Header.Get("Content-Type")
	if mediaType == "" {
		mediaType = "application/octet-stream"
	}
	src := &readRecorder{r: part}
	if _, err := draft.Attach(ctx, part.FileName(), mediaType, src); err != nil {
		if src.err != nil && src.err != io.EOF {
			// The upload itself broke off or overflowed the body limit.
			return c.bodyError(src.err, limits)
		}
		return c.classify(err, limits)
	}
	return nil
}

// readRecorder remembers the error its reader returned, so that a failed
// Attach can tell a broken upload from a failed seal or store.
type readRecorder struct {
	r   io.Reader
	err error
}

func (rr *readRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil {
		rr.err = err
	}
	return n, err
}

// bodyError turns an error reading the body into a refusal.
func (c *Channel) bodyError(err error, limits channels.Limits) *httpError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		if mbe.Limit == maxFormBytes(limits) {
			// Only a url-encoded form is held to this bound; what
			// overflows it is a message longer than the form allows.
			return &httpError{status: http.StatusRequestEntityTooLarge, key: "web.error.toolong", args: []any{humanBytes(int64(limits.MaxTextBytes))}, err: err}
		}
		return &httpError{status: http.StatusRequestEntityTooLarge, key: "web.error.body", args: []any{humanBytes(limits.MaxRequestBytes)}, err: err}
	}
	if herr := gateError(err); herr != nil {
		return herr
	}
	return &httpError{status: http.StatusBadRequest, key: "web.error.malformed", err: err}
}

// classify turns a Sink error into a refusal.
func (c *Channel) classify(err error, limits channels.Limits) *httpError {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return c.bodyError(err, limits)
	case gateError(err) != nil:
		return gateError(err)
	case errors.Is(err, channels.ErrAttachmentTooLarge):
		return &httpError{status: http.StatusRequestEntityTooLarge, key: "web.error.toolarge", args: []any{humanBytes(limits.MaxAttachmentBytes)}, err: err}
	case errors.Is(err, channels.ErrTooManyAttachments):
		return &httpError{status: http.StatusRequestEntityTooLarge, key: "web.error.toomany", args: []any{limits.MaxAttachments}, err: err}
	case errors.Is(err, channels.ErrTextTooLong):
		return &httpError{status: http.StatusRequestEntityTooLarge, key: "web.error.toolong", args: []any{humanBytes(int64(limits.MaxTextBytes))}, err: err}
	case errors.Is(err, channels.ErrEmptyTip):
		return &httpError{status: http.StatusBadRequest, key: "web.error.empty", err: err}
	case errors.Is(err, channels.ErrInvalidTip):
		return &httpError{status: http.StatusBadRequest, key: "web.error.encoding", err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &httpError{status: http.StatusRequestTimeout, key: "web.error.malformed", err: err}
	default:
		return &httpError{status: http.StatusServiceUnavailable, key: "web.error.busy", err: err}
	}
}

// fill puts a submission's fields into the tip. A form sent without a
// kind is a distress call if its words say so; otherwise the form asks
// once (form is true for the HTML form, whose source can be asked).
func (c *Channel) fill(t *crypto.Tip, sub submission, form bool) *httpError {
	kind, err := crypto.ParseKind(sub.kind)
	if err != nil {
		return &httpError{status: http.StatusBadRequest, key: "web.error.kind", err: err}
	}
	if sub.kind == "" {
		switch {
		case c.distress.Match(sub.message + "\n" + sub.people + "\n" + sub.place + "\n" + sub.contact):
			kind = crypto.KindDistress
		case form && !sub.asked && sub.action != actionAnswer:
			return &httpError{status: http.StatusUnprocessableEntity, key: "web.ask_kind", err: errors.New("no kind chosen")}
		}
	}
	for _, s := range []string{sub.message, sub.place, sub.lang, sub.kind, sub.people, sub.contact} {
		if !utf8.ValidString(s) {
			return &httpError{status: http.StatusBadRequest, key: "web.error.encoding", err: errors.New("field is not UTF-8")}
		}
	}
	t.Kind = kind
	t.Text = sub.message
	if code, ok := c.catalog.Resolve(sub.lang); ok {
		t.Language = code
	}
	if p := strings.TrimSpace(sub.place); p != "" {
		t.Location = &crypto.Location{Place: p}
	}
	t.People = splitPeople(sub.people)
	if ct := strings.TrimSpace(sub.contact); ct != "" {
		if t.Fields == nil {
			t.Fields = map[string]string{}
		}
		t.Fields["contact"] = ct
	}
	return nil
}

// closeAfterRefusal leaves whatever of a refused body is unread unread:
// net/http would otherwise read (and wait for) up to 256 KiB of it before
// answering and before closing, which a stalled client could hold open.
func closeAfterRefusal(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Connection", "close")
		http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}

func (c *Channel) fail(w http.ResponseWriter, r *http.Request, lang string, status int, key string, args ...any) {
	closeAfterRefusal(w, r)
	msg := c.catalog.Text(lang, key, args...)
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"status": "refused", "error": msg})
		return
	}
	p := c.page(lang)
	p.Error = msg
	c.render(w, status, "error", p)
}

func wantsJSON(r *http.Request) bool {
	return r.URL.Path == "/submit" && strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (c *Channel) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, p); err != nil {
		c.log.Error("render page", "page", name, "err", err)
	}
}

// humanBytes formats a limit for a source: "64 KiB", "256 MiB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
