package backend

import (
	"strings"
	"testing"

	"github.com/flarehq/flare/queue/embedded"
	"github.com/flarehq/flare/queue/redis"
)

// FuzzURL feeds arbitrary --queue values to every URL parser: none may
// panic, and each scheme must reach the parser that owns it.
func FuzzURL(f *testing.F) {
	for _, s := range []string{
		"file:/var/lib/flare/queue.db", "file:///a/b.db", "file://host/x", "q.db",
		"redis://127.0.0.1:6379/0?prefix=x:&durability=warn", "rediss://u:p@h:1/2",
		"redis://[::1]:6379", "redis://h?prefix=", "file:%zz", "file:?", ":", "a:b/c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		scheme := Scheme(raw)
		if scheme != strings.ToLower(scheme) {
			t.Fatalf("Scheme(%q) = %q, not lower case", raw, scheme)
		}
		switch scheme {
		case "file":
			if path, err := embedded.ParseURL(raw); err == nil && path == "" {
				t.Fatalf("embedded.ParseURL(%q) gave an empty path", raw)
			}
		case "redis", "rediss":
			if ro, _, err := redis.ParseURL(raw); err == nil && ro == nil {
				t.Fatalf("redis.ParseURL(%q) gave no options", raw)
			}
		}
	})
}
