// Package textlang tells what a source wrote in from the text itself: the
// language, by script, when a channel could not say (a Khmer message sent
// from the English page must not be filed as English), and whether
// Burmese was typed in the Zawgyi font encoding, which it converts to
// Unicode so that a key-holder can read it.
//
// Both are small rule sets, not statistical models: script detection is
// decisive for the scripts Flare's sources write in, and the Zawgyi rules
// cover the code points and orderings that only Zawgyi uses. Latin-script
// text says little about its language, so Detect names one only when a
// letter gives it away (Vietnamese tone marks), and callers keep the
// channel's own tag otherwise.
package textlang

import (
	"strings"
	"unicode"
)

// vietnameseLetters are letters only Vietnamese uses among the languages
// Flare expects.
const vietnameseLetters = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"

// kyrgyzLetters are Cyrillic letters Kyrgyz uses and Russian does not.
const kyrgyzLetters = "ңөү"

// Simplified and Traditional Chinese share most characters; these common
// ones differ, which is enough to tell a sentence's form apart.
const (
	simplifiedOnly  = "们这个说时会来对为还没点里国么样见话书写帮让给认过问长门开关东车马鸟钱边应该"
	traditionalOnly = "們這個說時會來對為還沒點裡國麼樣見話書寫幫讓給認過問長門開關東車馬鳥錢邊應該"
)

// scripts maps each decisive script to the language Flare files it under.
var scripts = []struct {
	table *unicode.RangeTable
	lang  string
}{
	{unicode.Khmer, "km"},
	{unicode.Myanmar, "my"},
	{unicode.Lao, "lo"},
	{unicode.Thai, "th"},
	{unicode.Han, "zh"},
	{unicode.Devanagari, "hi"},
	{unicode.Bengali, "bn"},
	{unicode.Sinhala, "si"},
	{unicode.Arabic, "ur"},
	{unicode.Ethiopic, "am"},
	{unicode.Cyrillic, "ru"},
}

// Detect returns the language text is most likely written in, judged by
// its script: "km", "my", "lo", "th", "zh-Hans", "zh-Hant" or "zh", "hi"
// or "ne", "bn", "si", "ur", "am", "ru" or "ky", "vi"; or "" when the
// script does not tell (most Latin-script text).
func Detect(text string) string {
	counts := make([]int, len(scripts))
	vi, latin := 0, 0
	for _, r := range text {
		if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Mc, r) {
			continue
		}
		found := false
		for i, s := range scripts {
			if unicode.Is(s.table, r) {
				counts[i]++
				found = true
				break
			}
		}
		if !found && unicode.Is(unicode.Latin, r) {
			latin++
			if strings.ContainsRune(vietnameseLetters, unicode.ToLower(r)) {
				vi++
			}
		}
	}
	best, n := -1, 0
	for i, c := range counts {
		if c > n {
			best, n = i, c
		}
	}
	if best < 0 || n*4 < latin {
		// Mostly Latin: only Vietnamese shows itself.
		if vi > 0 {
			return "vi"
		}
		return ""
	}
	switch lang := scripts[best].lang; lang {
	case "zh":
		return chinese(text)
	case "hi":
		return devanagari(text)
	case "ru":
		if strings.ContainsAny(strings.ToLower(text), kyrgyzLetters) {
			return "ky"
		}
		return lang
	default:
		return lang
	}
}

func chinese(text string) string {
	s, t := 0, 0
	for _, r := range text {
		if strings.ContainsRune(simplifiedOnly, r) {
			s++
		}
		if strings.ContainsRune(traditionalOnly, r) {
			t++
		}
	}
	switch {
	case t > s:
		return "zh-Hant"
	case s > t:
		return "zh-Hans"
	}
	return "zh"
}

// devanagari tells Nepali from Hindi by their commonest function words.
func devanagari(text string) string {
	ne, hi := 0, 0
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || r == '।' }) {
		switch w {
		case "छ", "छु", "छन्", "हो", "मलाई", "हामी", "गर्नुहोस्", "भयो", "थियो", "पनि", "र", "को", "मा":
			ne++
		case "है", "हैं", "हूँ", "हूं", "मुझे", "हम", "में", "था", "थी", "भी", "और", "का", "की":
			hi++
		}
	}
	if ne > hi {
		return "ne"
	}
	return "hi"
}

// Compatible reports whether a detected language agrees with a channel's
// tag, so the tag can stay: "zh" agrees with "zh-Hant", "ru" with "ru".
func Compatible(detected, tag string) bool {
	if detected == "" || tag == "" {
		return true
	}
	d, _, _ := strings.Cut(strings.ToLower(detected), "-")
	t, _, _ := strings.Cut(strings.ToLower(tag), "-")
	if d == t {
		return true
	}
	// Script detection cannot tell these apart; keep what the channel said.
	pairs := map[string]string{"hi": "ne", "ne": "hi", "ru": "ky", "ky": "ru"}
	return pairs[d] == t
}
