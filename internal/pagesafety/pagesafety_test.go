package pagesafety

import (
	"net/http"
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	h := http.Header{"Cache-Control": {"max-age=3600"}}
	Set(h, NoScript)
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers %v", h)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Fatalf("no-script CSP %q", csp)
	}
	if !strings.Contains(SelfScript, "script-src 'self'") || strings.Contains(SelfScript, "unsafe") {
		t.Fatalf("self-script CSP %q", SelfScript)
	}
}
