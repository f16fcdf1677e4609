package queue

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// RedactURL returns a queue URL fit for a message or a log: its user
// information (a Redis user name and password) is replaced by "xxxxx".
// Unlike url.URL.Redacted it works on URLs that do not parse, which are
// the ones most likely to end up in an error message. Anything from the
// scheme to the last "@" counts as user information, so a malformed
// password that holds "/" or "@" is hidden whole.
func RedactURL(raw string) string {
	start, at := userinfo(raw)
	if at < 0 {
		return raw
	}
	return raw[:start] + "xxxxx" + raw[at:]
}

// userinfo returns where raw's user information starts and where the "@"
// that ends it is, or at = -1 if it has none.
func userinfo(raw string) (start, at int) {
	at = strings.LastIndexByte(raw, '@')
	if at < 0 {
		return 0, -1
	}
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		start = i + 3
	} else if i := strings.IndexByte(raw, ':'); i >= 0 && i < at {
		start = i + 1
	}
	return start, at
}

// RedactError returns err with raw's user information removed from its
// text wherever it appears: whole, as its password, percent-decoded or
// quoted (as *url.Error prints it). errors.Is still sees through it;
// errors.As does not, so the original, with the password, cannot be dug
// out of it.
func RedactError(err error, raw string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	start, at := userinfo(raw)
	if at < 0 {
		return err
	}
	secret := raw[start:at]
	parts := []string{raw, secret}
	if _, pw, ok := strings.Cut(secret, ":"); ok {
		parts = append(parts, pw)
	}
	for _, p := range append([]string(nil), parts...) {
		if u, err := url.PathUnescape(p); err == nil {
			parts = append(parts, u)
		}
		if u, err := url.QueryUnescape(p); err == nil {
			parts = append(parts, u)
		}
	}
	for _, p := range append([]string(nil), parts...) {
		q := strconv.Quote(p)
		parts = append(parts, q[1:len(q)-1])
	}
	redactedRaw := RedactURL(raw)
	for _, p := range parts {
		if p == "" {
			continue
		}
		with := "xxxxx"
		if p == raw {
			with = redactedRaw
		}
		msg = strings.ReplaceAll(msg, p, with)
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is lets errors.Is match what the original wrapped (a cancelled
// context, ErrNotFound) without handing the original out.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
