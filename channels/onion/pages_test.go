package onion

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/flarehq/flare/internal/testtor"
)

// checkOnionPages fetches every kind of page the onion serves, over Tor,
// and checks: the policy headers are present and no cookie is set; no page
// references another host or carries script; the form works without
// JavaScript and posts back to "/", whose answer (the receipt) comes
// without a redirect, so the address bar never changes.
func checkOnionPages(t *testing.T, n *testtor.Network, addr string) {
	client := onionClient(n)
	base := "http://" + addr

	// The form carries a single-use token from the page it came from.
	formBody := func(t *testing.T) ([]byte, string) {
		resp, err := client.Get(base + "/")
		if err != nil {
			t.Fatalf("GET / over Tor: %v", err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no form token on the page: %.300q", page)
		}
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		mw.WriteField("token", string(m[1]))
		mw.WriteField("kind", "tip")
		mw.WriteField("message", "a tip posted back to the home page")
		mw.Close()
		return form.Bytes(), mw.FormDataContentType()
	}

	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		status      int
		html        bool
	}{
		{"form", "GET", "/", "", nil, http.StatusOK, true},
		{"stylesheet", "GET", "/static/flare.css", "", nil, http.StatusOK, false},
		{"receipt after posting the form back to /", "POST", "/", "form", nil, http.StatusOK, true},
		{"error page", "POST", "/", "text/plain", []byte("x"), http.StatusUnsupportedMediaType, true},
		{"not found", "GET", "/nothing-here", "", nil, http.StatusNotFound, true},
	}
	var formPage []byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.contentType == "form" {
				tt.body, tt.contentType = formBody(t)
			}
			req, _ := http.NewRequest(tt.method, base+tt.path, bytes.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s over Tor: %v", tt.method, tt.path, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %.300q", resp.StatusCode, tt.status, body)
			}
			checkPolicyHeaders(t, resp.Header)
			if tt.html {
				checkHTML(t, body)
			} else {
				checkCSS(t, body)
			}
			if tt.path == "/" && tt.method == "GET" {
				formPage = body
			}
		})
	}
	t.Run("form needs no JavaScript", func(t *testing.T) {
		if formPage == nil {
			t.Skip("the form page was not fetched")
		}
		checkForm(t, formPage)
	})
}

func checkPolicyHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": ContentSecurityPolicy,
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for _, directive := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(h.Get("Content-Security-Policy"), directive) {
			t.Errorf("CSP lacks %q", directive)
		}
	}
	if strings.Contains(h.Get("Content-Security-Policy"), "unsafe") {
		t.Error("CSP allows something unsafe")
	}
	for _, c := range h.Values("Set-Cookie") {
		// Only the receipt's empty one-second cookie, which evicts the
		// sent form from the browser's back/forward cache.
		if !strings.HasPrefix(c, "x=1; Path=/; Max-Age=1;") {
			t.Errorf("a cookie is set: %v", c)
		}
	}
}

// urlAttrs are the attributes that make a browser fetch or navigate.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "srcset": true,
	"poster": true, "data": true, "background": true, "cite": true, "manifest": true,
	"ping": true, "longdesc": true, "codebase": true, "archive": true, "icon": true,
}

// checkHTML walks every tag: no script of any kind, and every URL relative
// to the service itself.
func checkHTML(t *testing.T, page []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("HTML does not parse: %v", z.Err())
			}
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "script", "iframe", "object", "embed", "frame", "applet", "base":
			t.Errorf("page has a <%s> element", tok.Data)
		}
		for _, a := range tok.Attr {
			key := strings.ToLower(a.Key)
			if strings.HasPrefix(key, "on") {
				t.Errorf("<%s> has an event handler %s", tok.Data, key)
			}
			if key == "style" {
				checkCSS(t, []byte(a.Val))
			}
			if tok.Data == "meta" && key == "content" && strings.Contains(strings.ToLower(a.Val), "url=") {
				t.Errorf("meta refresh: %q", a.Val)
			}
			if !urlAttrs[key] {
				continue
			}
			if tok.Data == "a" && key == "href" && hasAttr(tok, "class", "exit") {
				// The quick-exit link leaves for the deployment's
				// harmless site: a navigation the source chooses, never
				// a fetch, and it sends no referrer.
				if !hasAttr(tok, "rel", "noreferrer") {
					t.Errorf("quick-exit link without rel=noreferrer")
				}
				continue
			}
			refs := []string{strings.TrimSpace(a.Val)}
			if key == "srcset" { // "url 2x, url 1x"
				refs = refs[:0]
				for _, cand := range strings.Split(a.Val, ",") {
					if f := strings.Fields(cand); len(f) > 0 {
						refs = append(refs, f[0])
					}
				}
			}
			for _, ref := range refs {
				checkLocalURL(t, tok.Data+" "+key, ref)
			}
		}
	}
}

func checkLocalURL(t *testing.T, where, ref string) {
	t.Helper()
	u, err := url.Parse(ref)
	if err != nil {
		t.Errorf("%s: unparsable URL %q", where, ref)
		return
	}
	if u.Scheme != "" || u.Host != "" || strings.HasPrefix(ref, "//") {
		t.Errorf("%s references another host or scheme: %q", where, ref)
	}
}

var cssURL = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)`)

func checkCSS(t *testing.T, css []byte) {
	t.Helper()
	for _, m := range cssURL.FindAllSubmatch(css, -1) {
		ref := string(m[1]) + string(m[2])
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		checkLocalURL(t, "stylesheet", ref)
	}
	if bytes.Contains(bytes.ToLower(css), []byte("expression(")) {
		t.Error("stylesheet has a CSS expression")
	}
}

// checkForm checks the home page's form submits with plain HTML: a POST to
// "/" that can carry files, a message field and a submit button.
func checkForm(t *testing.T, page []byte) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var forms, submits, messages, files int
	var walk func(*html.Node, bool)
	walk = func(nd *html.Node, inForm bool) {
		if nd.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range nd.Attr {
				attr[strings.ToLower(a.Key)] = a.Val
			}
			switch nd.Data {
			case "form":
				forms++
				inForm = true
				if strings.ToLower(attr["method"]) != "post" || attr["action"] != "/" {
					t.Errorf("form method %q action %q, want post to /", attr["method"], attr["action"])
				}
				if attr["enctype"] != "multipart/form-data" {
					t.Errorf("form enctype %q cannot carry files", attr["enctype"])
				}
			case "button":
				if inForm && (attr["type"] == "" || attr["type"] == "submit") {
					submits++
				}
			case "input":
				switch attr["type"] {
				case "submit":
					if inForm {
						submits++
					}
				case "file":
					files++
				}
			case "textarea":
				if attr["name"] == "message" {
					messages++
				}
			}
		}
		for c := nd.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inForm)
		}
	}
	walk(doc, false)
	if forms != 1 || submits == 0 || messages != 1 || files == 0 {
		t.Errorf("form page: %d forms, %d submit buttons, %d message fields, %d file inputs", forms, submits, messages, files)
	}
}

func hasAttr(tok html.Token, key, val string) bool {
	for _, a := range tok.Attr {
		if a.Key == key && a.Val == val {
			return true
		}
	}
	return false
}
