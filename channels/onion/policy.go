package onion

import (
	"net/http"
	"strings"

	"github.com/flarehq/flare/internal/pagesafety"
)

// ContentSecurityPolicy is what every onion page is served with: nothing
// but the page's own styles and images loads, no script runs, forms post
// only back to the service, and no other site can frame it.
const ContentSecurityPolicy = pagesafety.NoScript

// policyHeaders are set on every response of the onion service.
var policyHeaders = pagesafety.Headers(ContentSecurityPolicy)

// withPolicy wraps h so that every response carries policyHeaders, whatever
// h set, and no cookie: a source's browser keeps nothing of the visit
// beyond the history entry of the home page.
func withPolicy(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &policyWriter{ResponseWriter: w}
		pw.apply()
		h.ServeHTTP(pw, r)
	})
}

type policyWriter struct {
	http.ResponseWriter
	wrote bool
}

// apply sets the policy headers and removes what the policy forbids. It is
// called before the handler runs and again when it writes its header, so
// a handler cannot weaken the policy.
func (p *policyWriter) apply() {
	h := p.Header()
	for _, kv := range policyHeaders {
		h.Set(kv[0], kv[1])
	}
	h.Del("Set-Cookie")
	h.Del("Expires")
	h.Del("Last-Modified")
	h.Del("ETag")
	// Links to other hosts in headers would leak the visit like a page's would.
	h.Del("Link")
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "onion-location") {
			h.Del(k)
		}
	}
}

func (p *policyWriter) WriteHeader(code int) {
	if !p.wrote {
		p.wrote = true
		p.apply()
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *policyWriter) Write(b []byte) (int, error) {
	if !p.wrote {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (p *policyWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

func (p *policyWriter) Flush() {
	if !p.wrote {
		p.WriteHeader(http.StatusOK)
	}
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
