package onion

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPolicyHeadersWinOverHandler(t *testing.T) {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Security-Policy", "default-src *")
		w.Header().Set("Referrer-Policy", "unsafe-url")
		http.SetCookie(w, &http.Cookie{Name: "track", Value: "me"})
		w.Header().Set("Link", "<https://cdn.example.com/x.css>; rel=preload")
		w.Write([]byte("page"))
	})
	rec := httptest.NewRecorder()
	withPolicy(inner).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	h := rec.Result().Header
	for _, kv := range policyHeaders {
		if got := h.Get(kv[0]); got != kv[1] {
			t.Errorf("%s = %q, want %q", kv[0], got, kv[1])
		}
	}
	for _, k := range []string{"Set-Cookie", "Link"} {
		if v := h.Values(k); len(v) > 0 {
			t.Errorf("%s survived the policy: %v", k, v)
		}
	}
	if rec.Body.String() != "page" {
		t.Errorf("body = %q", rec.Body.String())
	}
}

func TestPolicyHeadersOnErrorsAndEmptyBodies(t *testing.T) {
	for _, code := range []int{http.StatusNotFound, http.StatusNoContent, http.StatusInternalServerError} {
		rec := httptest.NewRecorder()
		withPolicy(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
			w.WriteHeader(code)
		})).ServeHTTP(rec, httptest.NewRequest("POST", "/x", nil))
		h := rec.Result().Header
		if h.Get("Cache-Control") != "no-store" || h.Get("Content-Security-Policy") != ContentSecurityPolicy || h.Get("Set-Cookie") != "" {
			t.Errorf("status %d: headers %v", code, h)
		}
	}
}
