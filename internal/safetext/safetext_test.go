package safetext

import (
	"encoding/json"
	"strings"
	"testing"
)

// payload is the one the outside review sent as a form's lang field and
// an attachment's media type: an OSC that retitles the terminal, an SGR
// that turns it red, a one-byte CSI (C1) and a right-to-left override.
const payload = "en-\x1b]0;pwned\x07\x1b[31mred\u009b2J\u202eexe.pdf\u2066x\u061c\u200e\u200f\x7f\x00\r"

func TestTextAndLine(t *testing.T) {
	tests := []struct {
		in, text, line string
	}{
		{payload, "en-]0;pwned[31mred2Jexe.pdfx", "en-]0;pwned[31mred2Jexe.pdfx"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab", "two lines and a tab"},
		{"ខ្មែរ ไทย 中文 русский", "ខ្មែរ ไทย 中文 русский", "ខ្មែរ ไทย 中文 русский"},
		{"bad \xff utf-8", "bad \ufffd utf-8", "bad \ufffd utf-8"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.text {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.text)
		}
		if got := Line(tt.in); got != tt.line {
			t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.line)
		}
	}
}

func TestJSONKeepsValueAndEscapes(t *testing.T) {
	b, err := json.Marshal(map[string]string{"lang": payload})
	if err != nil {
		t.Fatal(err)
	}
	out := JSON(b)
	for _, r := range string(out) {
		if IsControl(r) || r == '\n' || r == '\t' {
			t.Fatalf("JSON output has raw %U: %q", r, out)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil || back["lang"] != strings.ToValidUTF8(payload, "\ufffd") {
		t.Fatalf("round trip: %q, %v", back["lang"], err)
	}
}

func FuzzText(f *testing.F) {
	f.Add(payload)
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Text(s), Line(s)} {
			for _, r := range out {
				if IsControl(r) {
					t.Fatalf("%q kept %U", s, r)
				}
			}
		}
		if strings.ContainsAny(Line(s), "\n\t") {
			t.Fatalf("Line(%q) has a line break or tab", s)
		}
	})
}
