package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/url"
	"sort"
	"strings"
)

// twilioSigner checks X-Twilio-Signature.
//
// Twilio signs the URL it called followed by every POST parameter, keys in
// byte order, each key followed by its value (a repeated key once per
// value, values sorted). For a JSON body the URL carries
// bodySHA256=hex(sha256(body)) and only the URL is signed.
//
// The URL's scheme, user info, host, port and path come from the
// configured public URL, never from the request (its Host and any
// X-Forwarded-* header are the caller's to choose); the query is the
// request's own, byte for byte as it arrived.
//
// Port policy: like Twilio's own libraries, a signature is accepted over
// the URL as configured, over the URL with the scheme's default port added
// (https :443, http :80) when it has none, and over the URL with any port
// removed. These variants only change our own configured URL, so they widen
// nothing an attacker without the auth token can use. A repeated value
// (Digits=1234&Digits=1234) is signed once per occurrence or once in all,
// as the libraries disagree; both are accepted.
type twilioSigner struct {
	token []byte
	bases []string // scheme://[userinfo@]host[:port]path, one per port variant
}

func newTwilioSigner(token, publicURL string) (*twilioSigner, error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil, err
	}
	prefix := u.Scheme + "://"
	if u.User != nil {
		prefix += u.User.String() + "@"
	}
	host := u.Hostname()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	path := u.EscapedPath()
	defaultPort := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	var bases []string
	add := func(b string) {
		for _, x := range bases {
			if x == b {
				return
			}
		}
		bases = append(bases, b)
	}
	add(prefix + u.Host + path) // as configured
	if u.Port() == "" && defaultPort != "" {
		add(prefix + net.JoinHostPort(u.Hostname(), defaultPort) + path)
	}
	add(prefix + host + path) // port removed
	return &twilioSigner{token: []byte(token), bases: bases}, nil
}

// verifyForm checks sig over a form-encoded request: rawQuery as it
// arrived, params as parsed from the body.
func (s *twilioSigner) verifyForm(sig, rawQuery string, params url.Values) bool {
	_, ok := s.signedForm(sig, rawQuery, params)
	return ok
}

// signedForm is verifyForm that also returns the string the signature
// matched. That string, not any parameter parsed out of it, is what a
// request is: Twilio runs keys and values together, so one signed string
// parses many ways (MessageSid=SM…&NumMedia=0 and MessageSid=SM…NumMedia0
// sign alike), and only the string itself is the same in all of them.
func (s *twilioSigner) signedForm(sig, rawQuery string, params url.Values) (string, bool) {
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(want) != sha1.Size {
		return "", false
	}
	suffixes := []string{formSuffix(params, false)}
	if collapsed := formSuffix(params, true); collapsed != suffixes[0] {
		suffixes = append(suffixes, collapsed)
	}
	signed := ""
	for _, b := range s.bases {
		for _, suf := range suffixes {
			msg := withQuery(b, rawQuery) + suf
			if subtle.ConstantTimeCompare(s.mac(msg), want) == 1 {
				signed = msg
			}
		}
	}
	return signed, signed != ""
}

// verifyJSON checks sig over a request with a JSON (or other raw) body:
// the query must carry bodySHA256, which must be the body's hash.
func (s *twilioSigner) verifyJSON(sig, rawQuery string, body []byte) bool {
	_, ok := s.signedJSON(sig, rawQuery, body)
	return ok
}

// signedJSON is verifyJSON that also returns the signed string (the URL
// with its query, which binds the body by its hash).
func (s *twilioSigner) signedJSON(sig, rawQuery string, body []byte) (string, bool) {
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(want) != sha1.Size {
		return "", false
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil || len(q["bodySHA256"]) != 1 {
		return "", false
	}
	claimed, err := hex.DecodeString(q.Get("bodySHA256"))
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256(body)
	signed := ""
	for _, b := range s.bases {
		msg := withQuery(b, rawQuery)
		if subtle.ConstantTimeCompare(s.mac(msg), want) == 1 {
			signed = msg
		}
	}
	if signed == "" || !hmac.Equal(claimed, sum[:]) {
		return "", false
	}
	return signed, true
}

func (s *twilioSigner) mac(msg string) []byte {
	m := hmac.New(sha1.New, s.token)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func withQuery(base, rawQuery string) string {
	if rawQuery == "" {
		return base
	}
	return base + "?" + rawQuery
}

// formSuffix is the parameters part of the signed string: keys in byte
// order, each key with each of its values, values sorted; collapse drops
// repeated identical values.
func formSuffix(params url.Values, collapse bool) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys) // byte-wise: "Reason" < "ReasonConferenceEnded"
	var b strings.Builder
	for _, k := range keys {
		vals := append([]string(nil), params[k]...)
		sort.Strings(vals)
		for i, v := range vals {
			if collapse && i > 0 && vals[i-1] == v {
				continue
			}
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	return b.String()
}
