package textlang

import "testing"

func TestDetect(t *testing.T) {
	cases := []struct{ text, want string }{
		{"ខ្ញុំត្រូវការជំនួយ", "km"},
		{"Hi, ខ្ញុំនៅទីនេះ ជាមួយមនុស្ស១០នាក់", "km"}, // Khmer with a Latin word
		{"ကျွန်တော် ဒီမှာ ရှိတယ်", "my"},
		{"ຂ້ອຍຢູ່ນີ້", "lo"},
		{"ช่วยด้วย ฉันอยู่ที่นี่", "th"},
		{"我们在这里", "zh-Hans"},
		{"我們在這裡", "zh-Hant"},
		{"救命", "zh"},
		{"मुझे मदद चाहिए, मैं यहाँ हूँ", "hi"},
		{"मलाई मद्दत चाहियो, म यहाँ छु", "ne"},
		{"আমার সাহায্য দরকার", "bn"},
		{"මට උදව් ඕනෑ", "si"},
		{"مجھے مدد چاہیے", "ur"},
		{"እርዳታ እፈልጋለሁ", "am"},
		{"Помогите, мы здесь", "ru"},
		{"Мага жардам керек, биз бул жердебиз, өтө коркунучтуу", "ky"},
		{"Tôi cần giúp đỡ", "vi"},
		{"I need help", ""},
		{"Tolong saya", ""},
		{"12345 !!", ""},
		{"", ""},
	}
	for _, tc := range cases {
		if got := Detect(tc.text); got != tc.want {
			t.Errorf("Detect(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestCompatible(t *testing.T) {
	for _, tc := range []struct {
		detected, tag string
		want          bool
	}{
		{"km", "en", false},
		{"zh", "zh-Hant", true},
		{"zh-Hans", "zh-Hant", true},
		{"", "en", true},
		{"km", "", true},
		{"hi", "ne", true},
		{"ru", "ky", true},
		{"vi", "en", false},
	} {
		if got := Compatible(tc.detected, tc.tag); got != tc.want {
			t.Errorf("Compatible(%q, %q) = %v, want %v", tc.detected, tc.tag, got, tc.want)
		}
	}
}
