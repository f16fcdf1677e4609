package web

import (
	"html/template"

	"github.com/flarehq/flare/crypto"
)

// page is what the templates see.
type page struct {
	Lang      string
	T         func(key string, args ...any) string
	Languages []language
	Kinds     []kindChoice
	MaxFiles  int
	MaxFile   string
	Receipt   string
	Error     string
}

type language struct {
	Code, Name string
	Current    bool
}

type kindChoice struct {
	Value, Label string
}

func (c *Channel) page(lang string) page {
	limits := c.sink.Limits()
	p := page{
		Lang:     lang,
		T:        func(key string, args ...any) string { return c.catalog.Text(lang, key, args...) },
		MaxFiles: limits.MaxAttachments,
		MaxFile:  humanBytes(limits.MaxAttachmentBytes),
	}
	for _, code := range c.catalog.Languages() {
		p.Languages = append(p.Languages, language{Code: code, Name: c.catalog.LanguageName(code), Current: code == lang})
	}
	for _, k := range []crypto.Kind{crypto.KindDistress, crypto.KindMissing, crypto.KindEvidence, crypto.KindTip} {
		p.Kinds = append(p.Kinds, kindChoice{Value: string(k), Label: p.T("web.kind." + string(k))})
	}
	return p
}

// The pages: plain HTML, one stylesheet from this server, no script. The
// form posts back to "/" so that the address bar and history never change.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{call .T "web.title"}}</title>
<link rel="stylesheet" href="/static/flare.css">
</head><body><main>
{{if gt (len .Languages) 1}}<nav class="langs" aria-label="{{call .T "web.language"}}">{{range .Languages}}{{if .Current}}<strong>{{.Name}}</strong>{{else}}<a href="/?lang={{.Code}}" hreflang="{{.Code}}">{{.Name}}</a>{{end}} {{end}}</nav>{{end}}
{{end}}
{{define "foot"}}</main></body></html>
{{end}}
{{define "form"}}{{template "head" .}}
<h1>{{call .T "web.title"}}</h1>
<p>{{call .T "web.intro"}}</p>
<form method="post" action="/" enctype="multipart/form-data" accept-charset="utf-8">
<input type="hidden" name="lang" value="{{.Lang}}">
<fieldset><legend>{{call .T "web.kind"}}</legend>
{{range $i, $k := .Kinds}}<label><input type="radio" name="kind" value="{{$k.Value}}"{{if eq $k.Value "tip"}} checked{{end}}> {{$k.Label}}</label>
{{end}}</fieldset>
<label for="message">{{call .T "web.message"}}</label>
<textarea id="message" name="message" rows="8"></textarea>
<label for="place">{{call .T "web.place"}}</label>
<input id="place" name="place" type="text" autocomplete="off">
<label for="file">{{call .T "web.files"}}</label>
<input id="file" name="file" type="file" multiple>
<p class="hint">{{call .T "web.files.hint" .MaxFiles .MaxFile}}</p>
<button type="submit">{{call .T "web.send"}}</button>
</form>
{{template "foot" .}}{{end}}
{{define "received"}}{{template "head" .}}
<h1>{{call .T "web.received.title"}}</h1>
<p>{{call .T "web.received.body"}}</p>
<p class="receipt"><code>{{.Receipt}}</code></p>
<p><a href="/?lang={{.Lang}}">{{call .T "web.received.again"}}</a></p>
{{template "foot" .}}{{end}}
{{define "error"}}{{template "head" .}}
<h1>{{call .T "web.error.title"}}</h1>
<p class="error">{{.Error}}</p>
<p><a href="/?lang={{.Lang}}">{{call .T "web.error.back"}}</a></p>
{{template "foot" .}}{{end}}
`))
