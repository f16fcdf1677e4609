package sms

import (
	"strings"
	"unicode"

	"github.com/flarehq/flare/crypto"
)

// DefaultDistressKeywords returns the words that make a message a
// distress call unless the configuration replaces them: "help", "SOS",
// "save me", "emergency" and their common forms in the languages sources
// write in.
func DefaultDistressKeywords() []string {
	return []string{
		// English and international
		"HELP", "SOS", "EMERGENCY", "HELP ME",
		// Khmer: help, help please, rescue
		"ជួយ", "ជួយផង", "សង្គ្រោះ",
		// Thai: help, help!, emergency
		"ช่วย", "ช่วยด้วย", "ฉุกเฉิน",
		// Vietnamese, with and without diacritics: rescue, help
		"CỨU", "CỨU TÔI", "GIÚP", "GIÚP TÔI", "CUU", "GIUP",
		// Chinese: help!, save me, call for rescue
		"救命", "救救我", "求救",
		// Burmese: save me, please help
		"ကယ်ပါ", "ကူညီပါ",
		// Lao: help, help please
		"ຊ່ວຍ", "ຊ່ວຍແດ່",
		// Indonesian: help, emergency
		"TOLONG", "DARURAT",
		// Tagalog: help, help!
		"TULONG", "SAKLOLO",
	}
}

// classifier maps a message's text onto a report kind.
type classifier struct {
	words    [][]string // Latin-script keywords, upper-cased, split into words
	anywhere []string   // keywords matched as substrings
}

func newClassifier(keywords []string) *classifier {
	c := &classifier{}
	for _, k := range keywords {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if spaced(k) {
			c.words = append(c.words, splitWords(strings.ToUpper(k)))
		} else {
			c.anywhere = append(c.anywhere, k)
		}
	}
	return c
}

// spaced reports whether k is written in a script that separates words
// with spaces, so that it must match whole words ("HELP" must not match
// "HELPFUL").
func spaced(k string) bool {
	for _, r := range k {
		if unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) && !unicode.Is(unicode.Cyrillic, r) && !unicode.Is(unicode.Greek, r) {
			return false
		}
	}
	return true
}

func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
}

// Kind returns KindDistress if text holds a keyword, else KindTip.
func (c *classifier) Kind(text string) crypto.Kind {
	for _, k := range c.anywhere {
		if strings.Contains(text, k) {
			return crypto.KindDistress
		}
	}
	words := splitWords(strings.ToUpper(text))
	for _, kw := range c.words {
		if containsRun(words, kw) {
			return crypto.KindDistress
		}
	}
	return crypto.KindTip
}

func containsRun(words, run []string) bool {
	if len(run) == 0 {
		return false
	}
outer:
	for i := 0; i+len(run) <= len(words); i++ {
		for j := range run {
			if words[i+j] != run[j] {
				continue outer
			}
		}
		return true
	}
	return false
}

// vietnameseLetters are letters only Vietnamese uses among the languages
// Flare expects.
const vietnameseLetters = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"

// language guesses the language of text from its script: "km", "th", "lo",
// "my", "zh", "vi", or "" when the script does not tell (Latin text may be
// English, Indonesian or Tagalog alike).
func language(text string) string {
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Khmer, r):
			return "km"
		case unicode.Is(unicode.Thai, r):
			return "th"
		case unicode.Is(unicode.Lao, r):
			return "lo"
		case unicode.Is(unicode.Myanmar, r):
			return "my"
		case unicode.Is(unicode.Han, r):
			return "zh"
		case strings.ContainsRune(vietnameseLetters, unicode.ToLower(r)):
			return "vi"
		}
	}
	return ""
}
