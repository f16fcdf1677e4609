package catalog

import (
	"strings"
	"unicode"

	"github.com/flarehq/flare/channels/textlang"
)

// DistressKeywords returns the words that make a message a distress call
// unless a deployment replaces them: "help", "help me", "save me",
// "emergency" and their common forms in every supported language. The
// form, the SMS channel and anything else that files tips by their words
// share this one list.
func DistressKeywords() []string {
	return []string{
		// English and international
		"HELP", "SOS", "EMERGENCY", "HELP ME",
		// Khmer: help, help please, save (me)
		"ជួយ", "ជួយផង", "សង្គ្រោះ",
		// Thai: help, help!, emergency
		"ช่วย", "ช่วยด้วย", "ฉุกเฉิน",
		// Vietnamese, with and without diacritics: save (me), help
		"CỨU", "CỨU TÔI", "GIÚP", "GIÚP TÔI", "CUU", "GIUP",
		// Chinese, Simplified and Traditional: help!, save me, call for help
		"救命", "救救我", "求救", "幫幫我", "帮帮我",
		// Burmese: save me, please help
		"ကယ်ပါ", "ကူညီပါ",
		// Lao: help, help please
		"ຊ່ວຍ", "ຊ່ວຍແດ່",
		// Indonesian and Malay: help, emergency
		"TOLONG", "DARURAT", "KECEMASAN",
		// Filipino: help, help!
		"TULONG", "SAKLOLO",
		// Hindi and Nepali: help, save (me)
		"मदद", "बचाओ", "बचाउनुहोस्", "गुहार",
		// Bengali: help, save (me)
		"সাহায্য", "বাঁচাও",
		// Sinhala: help, save (me)
		"උදව්", "බේරගන්න",
		// Urdu: help, save (me)
		"مدد", "بچاؤ",
		// Amharic: help, help me
		"እርዳታ", "እርዱኝ",
		// Swahili: help, help me
		"MSAADA", "NISAIDIE",
		// Russian: help, help me, save (me)
		"ПОМОГИТЕ", "ПОМОЩЬ", "СПАСИТЕ",
		// Kyrgyz: help, help me
		"ЖАРДАМ", "ЖАРДАМ БЕРИҢИЗ",
		// Spanish: help, help me
		"AYUDA", "AYÚDAME", "AYUDAME", "SOCORRO",
		// Portuguese: help, help me
		"AJUDA", "SOCORRO", "ME AJUDE",
	}
}

// Distress tells a distress call by its words. Latin and Cyrillic
// keywords match whole words, case-insensitively ("HELP" does not match
// "helpful"); keywords in scripts without spaces between words match
// anywhere.
type Distress struct {
	words    [][]string // spaced-script keywords, upper-cased, split into words
	anywhere []string   // keywords matched as substrings
}

// NewDistress returns a matcher for keywords.
func NewDistress(keywords []string) *Distress {
	d := &Distress{}
	for _, k := range keywords {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if spaced(k) {
			d.words = append(d.words, splitWords(strings.ToUpper(k)))
		} else {
			d.anywhere = append(d.anywhere, k)
		}
	}
	return d
}

// Match reports whether text holds a keyword. Burmese typed in Zawgyi is
// also read as Unicode, so that its distress words are found.
func (d *Distress) Match(text string) bool {
	if d.match(text) {
		return true
	}
	return textlang.IsZawgyi(text) && d.match(textlang.ZawgyiToUnicode(text))
}

func (d *Distress) match(text string) bool {
	for _, k := range d.anywhere {
		if strings.Contains(text, k) {
			return true
		}
	}
	words := splitWords(strings.ToUpper(text))
	for _, kw := range d.words {
		if containsRun(words, kw) {
			return true
		}
	}
	return false
}

// spaced reports whether k is written in a script that separates words
// with spaces, so that it must match whole words.
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
