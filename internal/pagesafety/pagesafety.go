// Package pagesafety holds the response headers every page Flare serves to
// a browser carries — the source's intake form, the onion service and the
// key-holder's console — so that the three cannot drift apart: nothing
// cached, nothing referred, nothing loaded from another origin, no framing,
// no access to camera, microphone or location.
package pagesafety

import "net/http"

// Content-Security-Policy values. NoScript is for the source's pages, which
// must work with JavaScript off and never run any; SelfScript allows only
// scripts the server itself serves (the console's keyboard shortcuts and
// its live inbox, which listens to its own /events).
const (
	NoScript   = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	SelfScript = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// Headers returns the headers to set, with csp as the
// Content-Security-Policy.
func Headers(csp string) [][2]string {
	return [][2]string{
		{"Cache-Control", "no-store"},
		{"Referrer-Policy", "no-referrer"},
		{"Content-Security-Policy", csp},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
		{"Cross-Origin-Opener-Policy", "same-origin"},
		{"Cross-Origin-Resource-Policy", "same-origin"},
		{"Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"},
	}
}

// Set sets Headers(csp) on h, replacing what was there.
func Set(h http.Header, csp string) {
	for _, kv := range Headers(csp) {
		h.Set(kv[0], kv[1])
	}
}
