package sms

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// vonageMethods are the signature methods of Vonage's signed SMS
// webhooks, by the name the dashboard uses.
var vonageMethods = map[string]func() hash.Hash{
	"md5hash": nil, // md5(params + secret), not an HMAC
	"md5":     md5.New,
	"sha1":    sha1.New,
	"sha256":  sha256.New,
	"sha512":  sha512.New,
}

// vonageSignature computes the sig of params (sig itself excluded): every
// parameter sorted by name, as "&name=value" with '&' and '=' in values
// replaced by '_', then md5 with the secret appended (md5hash) or an HMAC
// keyed with the secret. It returns lower-case hex.
func vonageSignature(method, secret string, params url.Values) (string, error) {
	newHash, ok := vonageMethods[strings.ToLower(method)]
	if !ok {
		return "", fmt.Errorf("unknown Vonage signature method %q", method)
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sig" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range params[k] {
			b.WriteString("&")
			b.WriteString(k)
			b.WriteString("=")
			b.WriteString(strings.NewReplacer("&", "_", "=", "_").Replace(v))
		}
	}
	var sum []byte
	if newHash == nil {
		s := md5.Sum([]byte(b.String() + secret))
		sum = s[:]
	} else {
		m := hmac.New(newHash, []byte(secret))
		m.Write([]byte(b.String()))
		sum = m.Sum(nil)
	}
	return hex.EncodeToString(sum), nil
}

// verifyVonage checks params' sig, in constant time and ignoring case
// (Vonage's own libraries differ in the case of the hex).
func verifyVonage(method, secret string, params url.Values) bool {
	want, err := vonageSignature(method, secret, params)
	if err != nil {
		return false
	}
	got := strings.ToLower(params.Get("sig"))
	return len(params["sig"]) == 1 && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// serveVonage handles /webhooks/vonage: an inbound SMS from Vonage's SMS
// API, by GET (query) or POST (form or JSON), signed with sig.
func (c *Channel) serveVonage(w http.ResponseWriter, r *http.Request) {
	const provider = "vonage"
	var params url.Values
	var err error
	switch r.Method {
	case http.MethodGet:
		if int64(len(r.URL.RawQuery)) > c.cfg.MaxBody {
			c.fail(w, provider, refuse(http.StatusRequestEntityTooLarge, "query too large"))
			return
		}
		params, err = parseForm(r.URL.RawQuery)
	case http.MethodPost:
		var body []byte
		if body, err = c.readBody(w, r); err != nil {
			c.fail(w, provider, err)
			return
		}
		switch mediaType(r) {
		case "application/x-www-form-urlencoded":
			params, err = parseForm(string(body))
		case "application/json":
			params, err = parseFlatJSON(body)
		default:
			c.fail(w, provider, refuse(http.StatusUnsupportedMediaType, "send application/x-www-form-urlencoded or application/json"))
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		c.fail(w, provider, refuse(http.StatusMethodNotAllowed, "use GET or POST"))
		return
	}
	if err != nil {
		c.fail(w, provider, refuse(http.StatusBadRequest, "%v", err))
		return
	}
	if len(params["sig"]) == 0 {
		c.fail(w, provider, refuse(http.StatusUnauthorized, "unsigned request: no sig"))
		return
	}
	if !verifyVonage(c.cfg.VonageSignatureMethod, c.cfg.VonageSignatureSecret, params) {
		c.fail(w, provider, refuse(http.StatusForbidden, "bad signature: sig does not match"))
		return
	}
	if err := c.fresh(params.Get("timestamp")); err != nil {
		c.fail(w, provider, err)
		return
	}
	m, err := vonageMessage(params)
	if err != nil {
		c.fail(w, provider, refuse(http.StatusBadRequest, "%v", err))
		return
	}
	_, err = c.accept(r.Context(), m)
	if err != nil && !errors.Is(err, errDuplicate) {
		c.fail(w, provider, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fresh checks a signed unix timestamp against the replay window.
func (c *Channel) fresh(ts string) error {
	if ts == "" {
		return refuse(http.StatusBadRequest, "malformed request: signed request has no timestamp")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return refuse(http.StatusBadRequest, "malformed request: timestamp is not unix seconds")
	}
	age := c.now().Sub(time.Unix(sec, 0))
	if age > c.cfg.MaxAge || age < -c.cfg.MaxAge {
		return refuse(http.StatusConflict, "replayed request: timestamp is outside the %s window", c.cfg.MaxAge)
	}
	return nil
}

// vonageMessage reads an inbound SMS from Vonage's parameters.
func vonageMessage(p url.Values) (*message, error) {
	m := &message{provider: "vonage"}
	repeated := false
	get := func(k string) string {
		v, err := single(p, k)
		if err != nil {
			repeated = true
		}
		return v
	}
	m.id = get("messageId")
	m.from = get("msisdn")
	m.to = get("to")
	m.text = get("text")
	typ := get("type")
	concat := get("concat")
	ref, part, total := get("concat-ref"), get("concat-part"), get("concat-total")
	if repeated {
		return nil, fmt.Errorf("%w: a parameter is given more than once", errMalformed)
	}
	if m.id == "" {
		return nil, fmt.Errorf("%w: not an inbound message: no messageId", errMalformed)
	}
	if err := checkPhone("msisdn", m.from); err != nil {
		return nil, err
	}
	switch typ {
	case "", "text", "unicode":
	case "binary":
		return nil, fmt.Errorf("%w: binary messages are not supported", errMalformed)
	default:
		return nil, fmt.Errorf("%w: unknown message type", errMalformed)
	}
	if concat == "true" {
		i, err1 := strconv.Atoi(part)
		n, err2 := strconv.Atoi(total)
		if ref == "" || err1 != nil || err2 != nil || n < 1 || n > 255 || i < 1 || i > n || len(ref) > 64 {
			return nil, fmt.Errorf("%w: concat-ref, concat-part and concat-total must name part 1..255 of a message", errMalformed)
		}
		m.part = &partRef{ref: ref, index: i, total: n}
	}
	return m, nil
}
