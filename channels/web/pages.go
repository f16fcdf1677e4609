package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/flarehq/flare/crypto"
)

// page is what the templates see.
type page struct {
	Lang      string
	Dir       string
	T         func(key string, args ...any) string
	Languages []language
	Kinds     []kindChoice
	ExitURL   string
	Token     string
	Hint      string
	Receipt   string
	Error     string
	Notices   []string
	Asked     bool
	Values    values
	// InboxCode is shown on the receipt: the number that opens the
	// source's answers. Inbox is an opened inbox, Code the code it was
	// opened with (kept in the page's forms, never in a URL).
	InboxCode string
	Inbox     *inboxView
	Code      string
	HasInbox  bool
}

// values are what a refused form is shown with again, so a source does
// not lose what they typed. Files cannot be put back into a file input.
type values struct {
	Message, Place, People, Contact string
}

type language struct {
	Code, Name string
	Current    bool
}

type kindChoice struct {
	Value, Label string
	Checked      bool
}

func (c *Channel) page(lang string) page {
	limits := c.sink.Limits()
	p := page{
		Lang:     lang,
		Dir:      "ltr",
		T:        func(key string, args ...any) string { return c.catalog.Text(lang, key, args...) },
		ExitURL:  c.cfg.QuickExitURL,
		HasInbox: c.inbox != nil,
	}
	if c.catalog.RTL(lang) {
		p.Dir = "rtl"
	}
	p.Hint = p.T("web.files.hint", limits.MaxAttachments, plainSize(limits.MaxAttachmentBytes))
	for _, code := range c.catalog.Languages() {
		p.Languages = append(p.Languages, language{Code: code, Name: c.catalog.LanguageName(code), Current: code == lang})
	}
	return p
}

// formPage is the form, with a fresh single-use token and, after a
// refusal, what the source had typed and chosen.
func (c *Channel) formPage(lang string, sub *submission) page {
	p := c.page(lang)
	p.Token = c.tokens.Issue()
	kind := ""
	if sub != nil {
		kind = sub.kind
		p.Values = values{Message: sub.message, Place: sub.place, People: sub.people, Contact: sub.contact}
	}
	for _, k := range []crypto.Kind{crypto.KindDistress, crypto.KindMissing, crypto.KindEvidence, crypto.KindTip} {
		p.Kinds = append(p.Kinds, kindChoice{Value: string(k), Label: p.T("web.kind." + string(k)), Checked: kind == string(k)})
	}
	return p
}

// plainSize says a size the way a phone's gallery does: "25 MB".
func plainSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// splitPeople turns the names field into one entry per person: a source
// writes them one a line or separated by commas, in any script.
func splitPeople(s string) []string {
	var out []string
	for _, name := range strings.FieldsFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || r == ',' || r == ';' || r == '、' || r == '，' || r == '،' || r == '；'
	}) {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// refuse answers a refused submission: for the form, the form again with
// the reason above it and what was typed still in it (except after a
// stale token, whose page may be one the browser restored); for scripts,
// JSON.
func (c *Channel) refuse(w http.ResponseWriter, r *http.Request, lang string, sub submission, herr *httpError, files int) {
	closeAfterRefusal(w, r)
	msg := c.catalog.Text(lang, herr.key, herr.args...)
	if wantsJSON(r) {
		writeJSON(w, herr.status, map[string]string{"status": "refused", "error": msg})
		return
	}
	keep := &sub
	if herr.key == "web.error.token" {
		keep = nil
	}
	p := c.formPage(lang, keep)
	p.Error = msg
	p.Asked = herr.key == "web.ask_kind"
	fileRefused := herr.key == "web.error.toolarge" || herr.key == "web.error.toomany" || herr.key == "web.error.body"
	if (files > 0 || fileRefused) && keep != nil {
		p.Notices = append(p.Notices, c.catalog.Text(lang, "web.refill"))
	}
	c.render(w, herr.status, "form", p)
}

// The pages: plain HTML, one stylesheet from this server, no script, no
// fonts from elsewhere. The form posts back to "/" so that the address bar
// and history never change, and it and every field say autocomplete="off"
// so a browser does not bring back what was typed. The first Send button
// comes straight after the message, so that it is on the first screen of a
// small phone; the optional details follow with a second one. The
// language switch is at the foot of every page, each language in its own
// name and script, reached from a link at the top.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{call .T "web.title"}}</title>
<link rel="stylesheet" href="/static/flare.css">
</head><body><main>
<p class="top"><a class="exit" href="{{.ExitURL}}" rel="noreferrer">{{call .T "web.exit"}}</a>{{if gt (len .Languages) 1}} <a class="lang" href="#langs">{{call .T "web.language"}}</a>{{end}}</p>
{{end}}
{{define "check"}}{{if .HasInbox}}<form method="post" action="/" class="check" autocomplete="off"><input type="hidden" name="action" value="inbox"><input type="hidden" name="lang" value="{{.Lang}}"><button type="submit" id="check">{{call .T "web.inbox.check"}}</button></form>{{end}}{{end}}
{{define "foot"}}{{template "check" .}}{{if gt (len .Languages) 1}}<nav id="langs" class="langs" aria-label="{{call .T "web.language"}}">{{range .Languages}}{{if .Current}}<strong lang="{{.Code}}">{{.Name}}</strong>{{else}}<a href="/?lang={{.Code}}" hreflang="{{.Code}}" lang="{{.Code}}">{{.Name}}</a>{{end}} {{end}}</nav>{{end}}
</main></body></html>
{{end}}
{{define "form"}}{{template "head" .}}
<h1>{{call .T "web.title"}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}{{range .Notices}}<p class="error">{{.}}</p>{{end}}
{{if not .Error}}<p>{{call .T "web.intro"}}</p>{{end}}
<form method="post" action="/" enctype="multipart/form-data" accept-charset="utf-8" autocomplete="off">
<input type="hidden" name="token" value="{{.Token}}">
<input type="hidden" name="lang" value="{{.Lang}}">
{{if .Asked}}<input type="hidden" name="asked" value="1">{{end}}
<fieldset><legend>{{call .T "web.kind"}}</legend>
{{range .Kinds}}<label><input type="radio" name="kind" value="{{.Value}}" autocomplete="off"{{if .Checked}} checked{{end}}> {{.Label}}</label>
{{end}}</fieldset>
<label for="message">{{call .T "web.message"}}</label>
<textarea id="message" name="message" rows="4" autocomplete="off">{{.Values.Message}}</textarea>
<button type="submit" id="send">{{call .T "web.send"}}</button>
<label for="people">{{call .T "web.people"}}</label>
<input id="people" name="people" type="text" autocomplete="off" value="{{.Values.People}}">
<label for="place">{{call .T "web.place"}}</label>
<input id="place" name="place" type="text" autocomplete="off" value="{{.Values.Place}}">
<label for="contact">{{call .T "web.contact"}}</label>
<input id="contact" name="contact" type="text" autocomplete="off" value="{{.Values.Contact}}">
<label for="file">{{call .T "web.files"}}</label>
<input id="file" name="file" type="file" multiple autocomplete="off">
<p class="hint">{{.Hint}}</p>
<button type="submit">{{call .T "web.send"}}</button>
</form>
{{template "foot" .}}{{end}}
{{define "received"}}{{template "head" .}}
<h1>{{call .T "web.received.title"}}</h1>
<p>{{call .T "web.received.body"}}</p>
<p class="receipt"><code>{{.Receipt}}</code></p>
{{with .InboxCode}}<p>{{call $.T "web.inbox.code"}}</p>
<p class="receipt"><code id="inbox-code">{{.}}</code></p>
<p>{{call $.T "web.inbox.keep"}}</p>{{end}}
<p>{{call .T "web.received.next"}}</p>
<p><strong>{{call .T "web.received.safe"}}</strong></p>
<p><a href="/?lang={{.Lang}}">{{call .T "web.received.again"}}</a></p>
{{template "foot" .}}{{end}}
{{define "inbox"}}{{template "head" .}}
<h1>{{call .T "web.inbox.title"}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/" autocomplete="off">
<input type="hidden" name="action" value="open">
<input type="hidden" name="lang" value="{{.Lang}}">
<label for="code">{{call .T "web.inbox.prompt"}}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="off">
<button type="submit">{{call .T "web.inbox.open"}}</button>
</form>
{{template "foot" .}}{{end}}
{{define "replies"}}{{template "head" .}}
<h1>{{call .T "web.inbox.title"}}</h1>
{{range .Notices}}<p class="ok">{{.}}</p>{{end}}
{{with .Inbox}}{{if .Replies}}{{range .Replies}}<section class="reply" lang="{{.Lang}}">
<div class="text">{{.Text}}</div>
<form method="post" action="/" autocomplete="off"><input type="hidden" name="action" value="delete"><input type="hidden" name="lang" value="{{$.Lang}}"><input type="hidden" name="code" value="{{$.Code}}"><input type="hidden" name="reply" value="{{.ID}}"><button type="submit" class="delete">{{call $.T "web.inbox.delete"}}</button></form>
</section>
{{end}}{{else}}<p id="empty">{{call $.T "web.inbox.empty"}}</p>{{end}}{{end}}
<form method="post" action="/" enctype="multipart/form-data" accept-charset="utf-8" autocomplete="off">
<input type="hidden" name="action" value="answer">
<input type="hidden" name="token" value="{{.Token}}">
<input type="hidden" name="lang" value="{{.Lang}}">
<input type="hidden" name="code" value="{{.Code}}">
<label for="message">{{call .T "web.inbox.answer"}}</label>
<textarea id="message" name="message" rows="3" autocomplete="off"></textarea>
<button type="submit" id="send">{{call .T "web.send"}}</button>
</form>
{{template "foot" .}}{{end}}
{{define "error"}}{{template "head" .}}
<h1>{{call .T "web.error.title"}}</h1>
<p class="error">{{.Error}}</p>
<p><a href="/?lang={{.Lang}}">{{call .T "web.error.back"}}</a></p>
{{template "foot" .}}{{end}}
`))
