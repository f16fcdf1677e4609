package catalog

import (
	"regexp"
	"strings"
	"testing"
)

// english returns the English catalogue's texts.
func english(t *testing.T) map[string]string {
	t.Helper()
	f, err := LoadFile(Fallback)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, msg := range f.Messages {
		m[msg.ID] = msg.Translation
	}
	return m
}

// TestEveryLanguageComplete is the build's guard: every embedded file has
// every English key, translated, with the English placeholders.
func TestEveryLanguageComplete(t *testing.T) {
	en := english(t)
	if len(en) < 60 {
		t.Fatalf("English catalogue has only %d texts", len(en))
	}
	for _, p := range Check(en) {
		t.Error(p)
	}
	for _, code := range Supported {
		f, err := LoadFile(code)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range f.Messages {
			if _, ok := en[m.ID]; !ok {
				t.Errorf("%s: key %q is not in the English catalogue", code, m.ID)
			}
		}
	}
}

func TestCheckNamesMissingKeyAndLanguage(t *testing.T) {
	en := english(t)
	en["telegram.draft.too_big"] = "Too big."
	problems := Check(en)
	if len(problems) != len(Supported) {
		t.Fatalf("Check found %d problems, want one per language: %q", len(problems), problems)
	}
	for _, want := range []string{`km: key "telegram.draft.too_big" is missing`, `zh-Hant: key "telegram.draft.too_big" is missing`} {
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("problems do not say %q: %q", want, problems)
		}
	}
}

// TestFilesRecordReview checks each file says whether a native speaker
// reviewed it.
func TestFilesRecordReview(t *testing.T) {
	for _, code := range Supported {
		f, err := LoadFile(code)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == "" || (f.Direction != "ltr" && f.Direction != "rtl") {
			t.Errorf("%s: name %q, direction %q", code, f.Name, f.Direction)
		}
		if code != Fallback && (f.Reviewed || f.Review != "not reviewed by a native speaker yet") {
			t.Errorf("%s: reviewed=%v review=%q; no native speaker has reviewed it yet", code, f.Reviewed, f.Review)
		}
	}
}

// TestTranslationsAreNotEnglish finds texts left in English: no
// translation equals the English, and languages in other scripts hold no
// Latin words beyond the bot's commands.
func TestTranslationsAreNotEnglish(t *testing.T) {
	en := english(t)
	latinWord := regexp.MustCompile(`[A-Za-z]{2,}`)
	commands := regexp.MustCompile(`/(send|start|cancel)\b|%[sd]`)
	latinScript := map[string]bool{"en": true, "vi": true, "id": true, "ms": true, "fil": true, "sw": true, "es": true, "pt": true}
	for _, code := range Supported {
		if code == Fallback {
			continue
		}
		f, _ := LoadFile(code)
		for _, m := range f.Messages {
			if m.Translation == en[m.ID] {
				t.Errorf("%s: %s is the English text %q", code, m.ID, m.Translation)
			}
			if !latinScript[code] {
				if w := latinWord.FindString(commands.ReplaceAllString(m.Translation, "")); w != "" {
					t.Errorf("%s: %s has the Latin word %q: %q", code, m.ID, w, m.Translation)
				}
			}
		}
	}
}

// TestDefaultsAreNeutral scans the English defaults for words that would
// tell someone holding the phone what Flare is.
func TestDefaultsAreNeutral(t *testing.T) {
	banned := []string{"traffick", "rescue", "report", "ngo", "abuse", "police", "smuggl", "slave", "victim", "scam", "exploit"}
	for k, v := range english(t) {
		low := strings.ToLower(v)
		for _, b := range banned {
			if strings.Contains(low, b) {
				t.Errorf("en %s contains %q: %q", k, b, v)
			}
		}
	}
}

func TestChoose(t *testing.T) {
	c := New(nil)
	cases := []struct {
		explicit, accept, client, want string
	}{
		{"", "zh-TW,zh;q=0.9", "", "zh-Hant"},
		{"", "zh-CN", "", "zh-Hans"},
		{"", "zh-HK", "", "zh-Hant"},
		{"", "tl", "", "fil"},
		{"", "fil-PH", "", "fil"},
		{"", "ur-PK", "", "ur"},
		{"", "km-KH,en;q=0.5", "", "km"},
		{"", "fr-FR", "", "en"},
		{"", "fr-FR, th;q=0.3", "", "th"},
		{"km", "th", "", "km"},
		{"zh-hant", "", "", "zh-Hant"},
		{"xx", "th", "", "th"},
		{"", "", "my", "my"},
		{"", "", "pt-br", "pt"},
		{"", "th", "my", "th"},
		{"", "", "", "en"},
		{"", strings.Repeat("a,", 600), "", "en"},
	}
	for _, tc := range cases {
		if got := c.Choose(tc.explicit, tc.accept, tc.client); got != tc.want {
			t.Errorf("Choose(%q, %q, %q) = %q, want %q", tc.explicit, tc.accept, tc.client, got, tc.want)
		}
	}
	if !c.RTL("ur") || c.RTL("km") {
		t.Error("ur must be right to left, km left to right")
	}
	if err := c.SetDefault("th"); err != nil || c.Choose("", "de", "") != "th" {
		t.Errorf("SetDefault(th): %v, Choose = %q", err, c.Choose("", "de", ""))
	}
	if err := c.SetDefault("xx"); err == nil {
		t.Error("SetDefault(xx) accepted")
	}
}

func TestLanguagesNamedInTheirOwnScript(t *testing.T) {
	c := New(nil)
	langs := c.Languages()
	if len(langs) != len(Supported) || langs[0] != "en" {
		t.Fatalf("Languages() = %v", langs)
	}
	want := map[string]string{"km": "ភាសាខ្មែរ", "my": "မြန်မာ", "th": "ไทย", "vi": "Tiếng Việt", "zh-Hans": "简体中文", "zh-Hant": "繁體中文", "ur": "اردو", "am": "አማርኛ", "ru": "Русский"}
	for code, name := range want {
		if got := c.LanguageName(code); got != name {
			t.Errorf("LanguageName(%s) = %q, want %q", code, got, name)
		}
	}
	for _, code := range langs {
		if n := c.LanguageName(code); n == code || n == "" {
			t.Errorf("%s has no name of its own", code)
		}
	}
}

func TestTextAndOverrides(t *testing.T) {
	c := New(map[string]map[string]string{
		"km":    {"web.title": "សួស្តី"},
		"zh-TW": {"web.send": "送出"},
		"fr":    {"web.title": "Envoyer"}, // incomplete: not offered
	})
	if got := c.Text("km", "web.title"); got != "សួស្តី" {
		t.Errorf("override: %q", got)
	}
	if got := c.Text("km", "web.send"); got != "ផ្ញើ" {
		t.Errorf("embedded Khmer: %q", got)
	}
	if got := c.Text("zh-Hant", "web.send"); got != "送出" {
		t.Errorf("override keyed zh-TW: %q", got)
	}
	if got := c.Text("th", "web.files.hint", 10, "25 MB"); got != "ได้ถึง 10 รูป วิดีโอ หรือไฟล์ แต่ละอันไม่เกิน 25 MB" {
		t.Errorf("formatted: %q", got)
	}
	if got := c.Text("km", "no.such.key"); got != "no.such.key" {
		t.Errorf("missing key: %q", got)
	}
	if c.Has("fr") {
		t.Error("an incomplete deployment language is offered; its pages would mix languages")
	}
	full := map[string]string{}
	for k, v := range english(t) {
		full[k] = v + " (fr)"
	}
	c = New(map[string]map[string]string{"fr": full})
	if !c.Has("fr") || c.Choose("", "fr-FR", "") != "fr" {
		t.Error("a complete deployment language is not offered")
	}
}

func TestDistressKeywords(t *testing.T) {
	d := NewDistress(DistressKeywords())
	for lang, text := range map[string]string{
		"en": "please help me", "km": "សូមជួយផង", "my": "ကယ်ပါ", "lo": "ຊ່ວຍແດ່", "th": "ช่วยด้วย ฉันติดอยู่",
		"vi": "cứu tôi với", "zh-Hans": "救命", "zh-Hant": "幫幫我", "id": "tolong saya", "ms": "tolong", "fil": "Saklolo po",
		"hi": "मुझे मदद चाहिए", "bn": "আমাকে বাঁচাও", "ne": "मलाई बचाउनुहोस्", "si": "මට උදව් කරන්න", "ur": "مجھے مدد چاہیے",
		"am": "እርዱኝ", "sw": "Nisaidie tafadhali", "ru": "помогите нам", "ky": "жардам бериңиз", "es": "ayúdame", "pt": "socorro",
	} {
		if !d.Match(text) {
			t.Errorf("%s: %q is not taken for distress", lang, text)
		}
	}
	// Burmese "save me" typed in Zawgyi (asat stored as U+1039).
	if !d.Match("\u1000\u101A\u1039\u1015\u102B \u1031\u1000\u103A\u1038\u1007\u1030\u1038\u103B\u1015\u102F\u104D") {
		t.Error("Zawgyi Burmese distress word not found")
	}
	for _, text := range []string{"helpful notes", "สวัสดีครับ", "Tôi ở đây", "hello"} {
		if d.Match(text) {
			t.Errorf("%q taken for distress", text)
		}
	}
}
