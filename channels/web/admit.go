package web

import (
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/flarehq/flare/channels"
)

// maxFormBytes bounds a url-encoded form: the message and the place, each
// at most MaxTextBytes of UTF-8 and each byte at most three when
// percent-encoded, and a kilobyte for the language, the kind and the
// separators. Nothing longer is a form a source could have filled in, so a
// longer body is refused before it is read; it also bounds multipart posts
// small enough not to count as uploads.
func maxFormBytes(l channels.Limits) int64 {
	return 6*int64(l.MaxTextBytes) + 1<<10
}

// admit decides, before a byte of the body is read, whether a POST may go
// on: it refuses cross-site posts, bodies declared larger than their kind
// may be, uploads past the concurrency caps and bodies the ingest budget
// cannot take. It then puts the body under the gate (read deadline, budget)
// and its size limit. The caller must call release when done, and the
// body's Done and Finish (see channels.Body).
func (c *Channel) admit(w http.ResponseWriter, r *http.Request, limits channels.Limits) (*channels.Body, func(), *httpError) {
	if !sameOrigin(r) {
		return nil, nil, &httpError{status: http.StatusForbidden, key: "web.error.crosssite", err: errors.New("cross-site post")}
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	form := mediaType == "application/x-www-form-urlencoded"
	limit := limits.MaxRequestBytes
	if form {
		limit = maxFormBytes(limits)
	}
	if r.ContentLength > limit {
		err := &http.MaxBytesError{Limit: limit}
		return nil, nil, c.bodyError(err, limits)
	}
	// An upload is a body larger than any text-only form: it is what
	// holds memory and the store for long, so it is what the caps count.
	upload := !form && (r.ContentLength < 0 || r.ContentLength > maxFormBytes(limits))
	release := func() {}
	if upload {
		rel, err := c.gate.AcquireUpload()
		if err != nil {
			return nil, nil, gateError(err)
		}
		release = rel
	}
	if err := c.gate.Admit(r.ContentLength, upload); err != nil {
		release()
		return nil, nil, gateError(err)
	}
	body := c.gate.Body(w, r, upload)
	r.Body = http.MaxBytesReader(w, body, limit)
	return body, release, nil
}

// gateError turns a refusal of the gate, or of a store near full, into one
// for the source; nil if err is neither.
func gateError(err error) *httpError {
	switch {
	case errors.Is(err, channels.ErrBusy), errors.Is(err, channels.ErrOverBudget):
		return &httpError{status: http.StatusServiceUnavailable, key: "web.error.later", err: err}
	case errors.Is(err, channels.ErrTooSlow):
		return &httpError{status: http.StatusRequestTimeout, key: "web.error.slow", err: err}
	case errors.Is(err, channels.ErrNoRoom):
		return &httpError{status: http.StatusServiceUnavailable, key: "web.error.nofiles", err: err}
	}
	return nil
}

// sameOrigin refuses what is plainly a post from another site: a browser's
// Sec-Fetch-Site of cross-site, or an Origin naming another host. A post
// with neither header (Tor Browser on its safest setting, scripts using
// /submit) and one whose Origin is "null" (what browsers send under the
// pages' no-referrer policy) pass: they name no other site.
func sameOrigin(r *http.Request) bool {
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return sameHost(u.Host, u.Scheme, r.Host)
}

// sameHost compares an Origin's host with the request's Host, taking a
// default port as no port.
func sameHost(origin, scheme, host string) bool {
	strip := func(h string) string {
		if hh, port, err := net.SplitHostPort(h); err == nil &&
			((port == "80" && scheme == "http") || (port == "443" && scheme == "https")) {
			return hh
		}
		return h
	}
	return strings.EqualFold(strip(origin), strip(host))
}
