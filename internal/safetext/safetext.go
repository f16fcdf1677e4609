// Package safetext makes text that came from a source safe to show to a
// key-holder, on a terminal or in a browser. It is the one sanitiser every
// field the console prints or renders passes through.
//
// A source controls what they send. Escape sequences (ESC, CSI, OSC, and
// their one-byte C1 forms such as U+009B) can retitle a terminal, move the
// cursor, hide or rewrite what was printed before, and on some terminals
// do worse; bidirectional controls (U+202E and its kin) can make a
// terminal or a page show text in another order than it is, so that
// "exe.pdf" reads as "fdp.exe". Text and Line remove all of them: C0
// controls (but newlines and tabs in Text), DEL, C1 controls, and the
// bidi controls U+061C, U+200E, U+200F, U+202A–U+202E and U+2066–U+2069.
// Invalid UTF-8 becomes U+FFFD.
//
// html/template escapes HTML but passes these through; encoding/json
// escapes C0 but not C1 or bidi controls: JSON gives the JSON form.
package safetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// IsControl reports whether r is a character Text removes (it does not
// count newline and tab, which Text keeps).
func IsControl(r rune) bool {
	switch {
	case r < 0x20 && r != '\n' && r != '\t', r == 0x7f, 0x80 <= r && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
		return true
	}
	return false
}

// Text returns s without control characters, keeping newlines and tabs:
// for text of several lines.
func Text(s string) string {
	if clean(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// Line returns s on one line without control characters: newlines and
// tabs become spaces.
func Line(s string) string {
	if clean(s) && !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case IsControl(r):
			return -1
		}
		return r
	}, s)
}

// clean reports whether s is valid UTF-8 without anything Text removes.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
		if c < utf8.RuneSelf {
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || IsControl(r) {
			return false
		}
		i += size - 1
	}
	return true
}

// JSON returns JSON text (as encoding/json writes it, which escapes C0
// controls) with every other control character escaped as \uXXXX, so that
// printing it shows the escape, not its effect, and parsing it gives the
// same value. Outside strings, JSON text is ASCII, so escaping raw
// characters is always inside a string.
func JSON(b []byte) []byte {
	s := string(b)
	if clean(s) {
		return b
	}
	var out strings.Builder
	for _, r := range s {
		if IsControl(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
			continue
		}
		out.WriteRune(r)
	}
	return []byte(out.String())
}
