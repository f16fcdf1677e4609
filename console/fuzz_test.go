package console

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flarehq/flare/crypto"
)

func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", `C:\x.exe`, ".bashrc", "a\u202egpj.exe", "", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := SafeFileName(name)
		if got == "" || len(got) > 100 || strings.ContainsAny(got, "/\\\x00") || strings.HasPrefix(got, ".") {
			t.Fatalf("SafeFileName(%q) = %q", name, got)
		}
		if utf8.ValidString(name) && !utf8.ValidString(got) {
			t.Fatalf("SafeFileName(%q) = %q: broke UTF-8", name, got)
		}
	})
}

func FuzzRelated(f *testing.F) {
	f.Add("call +855 12 345 678", "Sokha Chan", "Bavet", "012-345-678 Sokha Chan in Bavet")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, text, name, place, other string) {
		items := Items([]Entry{
			{QueueID: "1-0", Tip: &crypto.Tip{Text: text, People: []string{name}, Location: &crypto.Location{Place: place}, Sender: &crypto.Sender{Phone: text}}},
			{QueueID: "2-0", Tip: &crypto.Tip{Text: other, Fields: map[string]string{"missing.name": name, "place": place}}},
		})
		rel := Related(items)
		if len(rel["1-0"]) != len(rel["2-0"]) {
			t.Fatalf("links not symmetric: %+v", rel)
		}
	})
}
