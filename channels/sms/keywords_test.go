package sms

import (
	"testing"

	"github.com/flarehq/flare/crypto"
)

func TestClassify(t *testing.T) {
	c := newClassifier(DefaultDistressKeywords())
	cases := []struct {
		text string
		kind crypto.Kind
		lang string
	}{
		{"HELP", crypto.KindDistress, ""},
		{"please help me, they beat us", crypto.KindDistress, ""},
		{"sos", crypto.KindDistress, ""},
		{"S.O.S", crypto.KindTip, ""},
		{"helpful information about the office", crypto.KindTip, ""},
		{"Emergency!!", crypto.KindDistress, ""},
		{"សូមជួយផង", crypto.KindDistress, "km"},            // Khmer: please help
		{"ខ្ញុំនៅទីនេះ", crypto.KindTip, "km"},             // Khmer: I am here
		{"ช่วยด้วย", crypto.KindDistress, "th"},            // Thai: help!
		{"สวัสดีครับ", crypto.KindTip, "th"},               // Thai: hello
		{"Cứu tôi với", crypto.KindDistress, "vi"},         // Vietnamese: save me
		{"cuu toi", crypto.KindDistress, ""},               // Vietnamese without diacritics
		{"Tôi đang ở Sihanoukville", crypto.KindTip, "vi"}, // Vietnamese: I am in …
		{"救命啊", crypto.KindDistress, "zh"},                 // Chinese: help!
		{"我在西港", crypto.KindTip, "zh"},                     // Chinese: I am in Sihanoukville
		{"ကျေးဇူးပြု၍ ကယ်ပါ", crypto.KindDistress, "my"},   // Burmese: please save me
		{"ຊ່ວຍແດ່", crypto.KindDistress, "lo"},             // Lao: help please
		{"Tolong saya", crypto.KindDistress, ""},           // Indonesian: help me
		{"Saklolo po", crypto.KindDistress, ""},            // Tagalog: help!
		{"Tulong!", crypto.KindDistress, ""},               // Tagalog: help
		{"tulungan mo ako", crypto.KindTip, ""},            // whole words only
		{"", crypto.KindTip, ""},
	}
	for _, tc := range cases {
		if got := c.Kind(tc.text); got != tc.kind {
			t.Errorf("Kind(%q) = %s, want %s", tc.text, got, tc.kind)
		}
		if got := language(tc.text); got != tc.lang {
			t.Errorf("language(%q) = %q, want %q", tc.text, got, tc.lang)
		}
	}
}

func TestClassifyConfigured(t *testing.T) {
	c := newClassifier([]string{"red gate", "  ", "暗号"})
	for text, want := range map[string]crypto.Kind{
		"HELP":                  crypto.KindTip, // the list replaces the defaults
		"meet at the Red Gate.": crypto.KindDistress,
		"red, gate":             crypto.KindDistress, // words, not punctuation
		"redgate":               crypto.KindTip,
		"有暗号":                   crypto.KindDistress,
	} {
		if got := c.Kind(text); got != want {
			t.Errorf("Kind(%q) = %s, want %s", text, got, want)
		}
	}
}
