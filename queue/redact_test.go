package queue

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"redis://:s3cret@127.0.0.1:6379/0":           "redis://xxxxx@127.0.0.1:6379/0",
		"rediss://user:s3cret@redis:6380/0?prefix=f": "rediss://xxxxx@redis:6380/0?prefix=f",
		"redis://:pa/ss@word@host:1/0":               "redis://xxxxx@host:1/0",
		"redis:s3cret@host":                          "redis:xxxxx@host",
		"redis://127.0.0.1:6379/0":                   "redis://127.0.0.1:6379/0",
		"file:/var/lib/flare/q.db":                   "file:/var/lib/flare/q.db",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactError(t *testing.T) {
	for _, raw := range []string{
		"redis://:s3cr%zzet@127.0.0.1:6379/0",
		"redis://:s3cr\x01et@127.0.0.1:6379/0",
		"redis://user:s3cr%41et\"x@127.0.0.1:bad/0",
	} {
		_, perr := url.Parse(raw)
		if perr == nil {
			t.Fatalf("%q parsed", raw)
		}
		err := RedactError(fmt.Errorf("queue: %w", perr), raw)
		for _, secret := range []string{"s3cr", "et@"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: error %q shows the password", raw, err)
			}
		}
		if !strings.Contains(err.Error(), "queue:") {
			t.Errorf("%q: error %q lost its context", raw, err)
		}
	}
	wrapped := RedactError(fmt.Errorf("open: %w", context.Canceled), "redis://:pw@h/0")
	if !errors.Is(wrapped, context.Canceled) {
		t.Error("errors.Is no longer sees the cause")
	}
	var ue *url.Error
	if errors.As(RedactError(&url.Error{Op: "parse", URL: "redis://:pw@h", Err: errors.New("x")}, "redis://:pw@h"), &ue) {
		t.Error("errors.As hands out the unredacted *url.Error")
	}
	if RedactError(nil, "redis://:pw@h") != nil {
		t.Error("nil error not kept nil")
	}
}
