package textlang

import "testing"

// The Zawgyi strings below are built by hand from the published Zawgyi
// code point mapping (see zawgyi.go): each is how a Zawgyi keyboard
// stores the Unicode text beside it.
var zawgyiCases = []struct {
	name, zawgyi, unicode string
}{
	{"Myanmar (medial ra before its consonant)",
		"\u103B\u1019\u1014\u1039\u1019\u102C",
		"\u1019\u103C\u1014\u103A\u1019\u102C"}, // မြန်မာ
	{"please, save me (e vowel first, asat as U+1039)",
		"\u1031\u1000\u103A\u1038\u1007\u1030\u1038\u103B\u1015\u102F\u104D \u1000\u101A\u1039\u1015\u102B",
		"\u1000\u103B\u1031\u1038\u1007\u1030\u1038\u1015\u103C\u102F\u104D \u1000\u101A\u103A\u1015\u102B"}, // ကျေးဇူးပြု၍ ကယ်ပါ
	{"I (medials ya and wa, e vowel, asat)",
		"\u1000\u103A\u103C\u1014\u1039\u1031\u1010\u102C\u1039",
		"\u1000\u103B\u103D\u1014\u103A\u1010\u1031\u102C\u103A"}, // ကျွန်တော်
	{"world (stacked bha)",
		"\u1000\u1019\u107B\u102C",
		"\u1000\u1019\u1039\u1018\u102C"}, // ကမ္ဘာ
	{"auspicious (kinzi after its consonant)",
		"\u1019\u1002\u1064\u101C\u102C\u1015\u102B",
		"\u1019\u1004\u103A\u1039\u1002\u101C\u102C\u1015\u102B"}, // မင်္ဂလာပါ
	{"I need help now (medial ha, e vowel)",
		"\u1021\u1001\u102F \u1021\u1000\u1030\u1021\u100A\u102E \u101C\u102D\u102F\u1010\u101A\u1039",
		"\u1021\u1001\u102F \u1021\u1000\u1030\u1021\u100A\u102E \u101C\u102D\u102F\u1010\u101A\u103A"}, // အခု အကူအညီ လိုတယ်
	{"they beat us (e vowel with medial ra)",
		"\u1031\u103B\u1015\u102C\u1039\u101B\u102D\u102F\u1000\u1039\u1010\u101A\u1039",
		"\u1015\u103C\u1031\u102C\u103A\u101B\u102D\u102F\u1000\u103A\u1010\u101A\u103A"},
	{"wa written as zero",
		"\u1031\u1040\u1038",
		"\u101D\u1031\u1038"},
}

func TestZawgyiToUnicode(t *testing.T) {
	for _, tc := range zawgyiCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ZawgyiToUnicode(tc.zawgyi); got != tc.unicode {
				t.Errorf("ZawgyiToUnicode = %U\nwant               %U", []rune(got), []rune(tc.unicode))
			}
		})
	}
}

func TestIsZawgyi(t *testing.T) {
	for _, tc := range zawgyiCases {
		if tc.name == "I need help now (medial ha, e vowel)" {
			continue // the last word alone is ambiguous; see below
		}
		if !IsZawgyi(tc.zawgyi) {
			t.Errorf("%s: Zawgyi not detected (score %d)", tc.name, ZawgyiScore(tc.zawgyi))
		}
		if IsZawgyi(tc.unicode) {
			t.Errorf("%s: Unicode taken for Zawgyi (score %d)", tc.name, ZawgyiScore(tc.unicode))
		}
	}
	for _, s := range []string{
		"",
		"hello",
		"ကူညီပါ", // the same code points in both encodings
		"မြန်မာနိုင်ငံ",
		"ကျွန်ုပ်တို့ သိစေချင်တာကို ရေးပါ။ သင့်နာမည် ပေးစရာ မလိုပါ။",
		"ဒီနေ့အကြံပြုချက်- အိမ်တွင်းပင် အများစုကို မြေပေါ်ဆုံး နှစ်စင်တီမီတာ ခြောက်မှသာ ရေလောင်းပါ။",
		"သုံးလို့ရပါတယ်",
	} {
		if IsZawgyi(s) {
			t.Errorf("IsZawgyi(%q) = true (score %d)", s, ZawgyiScore(s))
		}
	}
}
