package embedded

import (
	"testing"

	"github.com/flarehq/flare/queue"
)

// FuzzParseID checks that ids from callers (a console's command line) are
// parsed without panics, and that what parses formats back to an id that
// orders the same way.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1700000000000-0", "5", "0-0", "-1", "1-", "18446744073709551615-1", "9223372036854775807-9223372036854775807", "1-2-3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ms, seq, ok := parseID(id)
		if !ok {
			return
		}
		if ms < 0 || seq < 0 {
			t.Fatalf("parseID(%q) = %d, %d", id, ms, seq)
		}
		again := formatID(ms, seq)
		if queue.CompareIDs(id, again) != 0 {
			t.Fatalf("parseID(%q) formats as %q, which orders differently", id, again)
		}
	})
}
