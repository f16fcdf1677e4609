package gateway

import "strings"

// catalogueCode returns lang as the language code the intake stores: a
// BCP 47 tag in lower case — subtags of 1 to 8 letters or digits joined by
// hyphens, the first of 2 to 8 letters — of at most 16 characters. Anything
// else, which no channel sends and a hostile form can (a terminal escape
// sequence, say), is dropped: it returns "".
func catalogueCode(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if lang == "" || len(lang) > 16 {
		return ""
	}
	for i, sub := range strings.Split(lang, "-") {
		if len(sub) < 1 || len(sub) > 8 || (i == 0 && len(sub) < 2) {
			return ""
		}
		for _, c := range []byte(sub) {
			letter := 'a' <= c && c <= 'z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return ""
			}
		}
	}
	return lang
}

// defaultMediaType is stored for an attachment whose declared media type
// is not one.
const defaultMediaType = "application/octet-stream"

// normMediaType returns the media type the intake stores for an attachment
// declared as mt: its type and subtype in lower case when both are
// restricted names (RFC 6838, section 4.2), parameters dropped; else
// application/octet-stream. What a source declares is only a hint, and
// must not carry anything else to the key-holder's screen.
func normMediaType(mt string) string {
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mt)), "/")
	if !ok || !restrictedName(typ) || !restrictedName(sub) {
		return defaultMediaType
	}
	return typ + "/" + sub
}

// restrictedName reports whether s is an RFC 6838 restricted-name: a letter
// or digit, then up to 126 letters, digits and !#$&-^_.+ characters.
func restrictedName(s string) bool {
	if len(s) < 1 || len(s) > 127 {
		return false
	}
	for i, c := range []byte(s) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || strings.IndexByte("!#$&-^_.+", c) < 0) {
			return false
		}
	}
	return true
}
