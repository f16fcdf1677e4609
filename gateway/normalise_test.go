package gateway

import (
	"testing"

	"github.com/flarehq/flare/crypto"
)

func TestNormaliseText(t *testing.T) {
	// "ကျေးဇူးပြု၍ ကယ်ပါ" (please, save me) as a Zawgyi keyboard stores it.
	const zawgyi = "\u1031\u1000\u103A\u1038\u1007\u1030\u1038\u103B\u1015\u102F\u104D \u1000\u101A\u1039\u1015\u102B"
	const unicode = "\u1000\u103B\u1031\u1038\u1007\u1030\u1038\u1015\u103C\u102F\u104D \u1000\u101A\u103A\u1015\u102B"
	cases := []struct {
		name                           string
		in                             crypto.Tip
		text, original, encoding, lang string
	}{
		{"zawgyi from the English page", crypto.Tip{Text: zawgyi, Language: "en"}, unicode, zawgyi, "zawgyi", "my"},
		{"unicode burmese", crypto.Tip{Text: unicode}, unicode, "", "", "my"},
		{"khmer from the English page", crypto.Tip{Text: "ខ្ញុំនៅទីនេះ", Language: "en"}, "ខ្ញុំនៅទីនេះ", "", "", "km"},
		{"chinese keeps its tag", crypto.Tip{Text: "救命", Language: "zh-Hant"}, "救命", "", "", "zh-Hant"},
		{"latin keeps the channel's tag", crypto.Tip{Text: "tolong saya", Language: "id"}, "tolong saya", "", "", "id"},
		{"no tag, thai text", crypto.Tip{Text: "ช่วยด้วย"}, "ช่วยด้วย", "", "", "th"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tip := tc.in
			normaliseText(&tip)
			if tip.Text != tc.text || tip.TextOriginal != tc.original || tip.TextEncoding != tc.encoding || tip.Language != tc.lang {
				t.Errorf("got text %q original %q encoding %q lang %q", tip.Text, tip.TextOriginal, tip.TextEncoding, tip.Language)
			}
		})
	}
}
