package web

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/crypto"
)

// TestTextsInEveryLanguage fails, naming the key and the language, when a
// web text lacks a translation.
func TestTextsInEveryLanguage(t *testing.T) {
	for _, p := range catalog.Check(defaultTexts) {
		t.Error(p)
	}
}

// englishLeft returns the English web texts found in page, for a page in
// another language.
func englishLeft(page string) []string {
	var found []string
	for key, en := range defaultTexts {
		// Short texts ("Send") could be part of a name; formatted ones are
		// checked by their fixed start.
		en, _, _ = strings.Cut(en, "%")
		if len(en) >= 8 && strings.Contains(page, en) {
			found = append(found, key+": "+en)
		}
	}
	return found
}

func get(t *testing.T, url, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept-Language", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends the form at base in lang with the given fields, as a browser
// would: with the page's token.
func post(t *testing.T, base, lang string, ps ...part) (int, string) {
	t.Helper()
	_, form := get(t, base+"/?lang="+lang, "")
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no token in %s form", lang)
	}
	body, ct := multipartBody(append([]part{{"token", "", m[1]}, {"lang", "", lang}}, ps...)...)
	resp, err := http.Post(base+"/", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEveryLanguageComplete renders the form, the receipt and every
// refusal in every language, and finds each text in that language and
// none left in English.
func TestEveryLanguageComplete(t *testing.T) {
	limits := channels.Limits{MaxTextBytes: 200, MaxAttachments: 2, MaxAttachmentBytes: 2000, MaxRequestBytes: 8000}
	f := newFixture(t, limits)
	cat := catalog.New(nil)
	formKeys := []string{"web.title", "web.intro", "web.kind", "web.kind.distress", "web.kind.missing", "web.kind.evidence",
		"web.kind.tip", "web.message", "web.people", "web.place", "web.contact", "web.files", "web.send", "web.language", "web.exit"}
	receiptKeys := []string{"web.received.title", "web.received.body", "web.received.next", "web.received.safe", "web.received.again"}
	for _, lang := range catalog.Supported {
		t.Run(lang, func(t *testing.T) {
			tr := func(key string, args ...any) string { return cat.Text(lang, key, args...) }
			check := func(what, page string, keys ...string) {
				t.Helper()
				for _, k := range keys {
					// Formatted texts are found by their fixed start.
					if want, _, _ := strings.Cut(tr(k), "%"); !strings.Contains(page, want) {
						t.Errorf("%s lacks %s %q", what, k, tr(k))
					}
				}
				if lang != catalog.Fallback {
					if left := englishLeft(page); len(left) > 0 {
						t.Errorf("%s has English left: %q", what, left)
					}
				}
				if !strings.Contains(page, `<html lang="`+lang+`" dir="`) {
					t.Errorf("%s is not marked lang=%s", what, lang)
				}
				if len(page) >= 10*1024 {
					t.Errorf("%s is %d bytes, want under 10 KB", what, len(page))
				}
				for _, code := range catalog.Supported {
					if !strings.Contains(page, ">"+cat.LanguageName(code)+"<") {
						t.Errorf("%s's switch lacks %s", what, cat.LanguageName(code))
					}
				}
			}
			status, page := get(t, f.srv.URL+"/?lang="+lang, "")
			if status != 200 {
				t.Fatalf("form: %d", status)
			}
			check("form", page, formKeys...)
			if hint := tr("web.files.hint", 2, "1 KB"); !strings.Contains(page, hint) {
				t.Errorf("form lacks the limits in words %q", hint)
			}
			if wantRTL := lang == "ur"; strings.Contains(page, `dir="rtl"`) != wantRTL {
				t.Errorf("dir=rtl is %v, want %v", !wantRTL, wantRTL)
			}

			status, page = post(t, f.srv.URL, lang, part{"kind", "", "tip"}, part{"message", "", "hello " + lang})
			if status != 200 {
				t.Fatalf("receipt: %d %s", status, page)
			}
			check("receipt", page, receiptKeys...)

			// Every refusal, through the form where a request can cause it.
			for _, r := range []struct {
				key    string
				status int
				parts  []part
			}{
				{"web.error.empty", 400, []part{{"kind", "", "tip"}}},
				{"web.ask_kind", 422, []part{{"message", "", "no kind chosen"}}},
				{"web.error.kind", 400, []part{{"kind", "", "urgent"}, {"message", "", "x"}}},
				{"web.error.toolong", 413, []part{{"kind", "", "tip"}, {"message", "", strings.Repeat("a", 201)}}},
				{"web.error.toolarge", 413, []part{{"kind", "", "tip"}, {"file", "a.bin", strings.Repeat("z", 2001)}}},
				{"web.error.toomany", 413, []part{{"kind", "", "tip"}, {"file", "1", "a"}, {"file", "2", "b"}, {"file", "3", "c"}}},
				{"web.error.encoding", 400, []part{{"kind", "", "tip"}, {"message", "", "bad \xff"}}},
			} {
				status, page := post(t, f.srv.URL, lang, r.parts...)
				if status != r.status {
					t.Errorf("%s: status %d, want %d", r.key, status, r.status)
				}
				check(r.key, page, r.key)
			}
		})
	}
	if n := len(f.tips(t)); n != len(catalog.Supported) {
		t.Errorf("%d tips queued, want one receipt per language", n)
	}
}

// TestEveryRefusalRenders renders each refusal the form can show, including
// those a test request cannot easily cause (a busy queue), in every
// language.
func TestEveryRefusalRenders(t *testing.T) {
	c := newFixture(t, channels.DefaultLimits).ch
	cat := catalog.New(nil)
	for _, lang := range catalog.Supported {
		for key := range defaultTexts {
			if !strings.HasPrefix(key, "web.error.") || key == "web.error.title" || key == "web.error.back" {
				continue
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/", nil)
			c.refuse(w, r, lang, submission{message: "typed"}, &httpError{status: 400, key: key, args: []any{3}}, 0)
			page := w.Body.String()
			want, _, _ := strings.Cut(cat.Text(lang, key), "%")
			if !strings.Contains(page, want) || strings.Contains(page, key) {
				t.Errorf("%s %s: page lacks %q", lang, key, want)
			}
			if lang != catalog.Fallback {
				if left := englishLeft(page); len(left) > 0 {
					t.Errorf("%s %s: English left: %q", lang, key, left)
				}
			}
		}
		for _, path := range []string{"/nothing"} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", path+"?lang="+lang, nil)
			c.Handler().ServeHTTP(w, r)
			if !strings.Contains(w.Body.String(), cat.Text(lang, "web.error.notfound")) || !strings.Contains(w.Body.String(), cat.Text(lang, "web.error.back")) {
				t.Errorf("%s: not-found page not in its language", lang)
			}
		}
	}
}

func TestLanguageFromTheBrowser(t *testing.T) {
	f := newFixture(t, channels.DefaultLimits)
	for _, tt := range []struct{ url, accept, want string }{
		{"/", "zh-TW,zh;q=0.9,en;q=0.5", "傳送訊息"},
		{"/", "zh-CN,zh;q=0.9", "发送消息"},
		{"/", "tl", "Magpadala ng mensahe"},
		{"/", "fil-PH", "Magpadala ng mensahe"},
		{"/", "ur-PK", `dir="rtl"`},
		{"/", "ur", "پیغام بھیجیں"},
		{"/?lang=km", "th", "ផ្ញើសារ"},
		{"/?lang=zh-Hant", "", "傳送訊息"},
		{"/", "de-DE", "Send a message"},
	} {
		_, page := get(t, f.srv.URL+tt.url, tt.accept)
		if !strings.Contains(page, tt.want) {
			t.Errorf("%s with Accept-Language %q: page lacks %q", tt.url, tt.accept, tt.want)
		}
	}
}

// TestFormTokenSingleUse: the same form sent twice (a page restored by
// Back and sent again) is filed once; the second answer is the empty form.
func TestFormTokenSingleUse(t *testing.T) {
	f := newFixture(t, channels.DefaultLimits)
	tok := formToken(t, f.srv.URL)
	body, ct := multipartBody(part{"token", "", tok}, part{"kind", "", "distress"}, part{"message", "", "room 12, second floor"})
	raw := body.Bytes()
	for i, want := range []int{200, 403} {
		resp, err := http.Post(f.srv.URL+"/", ct, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("post %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
		if i == 1 {
			if !strings.Contains(string(page), defaultTexts["web.error.token"]) || strings.Contains(string(page), "room 12") ||
				strings.Contains(string(page), " checked") || strings.Contains(string(page), tok) {
				t.Errorf("second post: page must say the page was old and bring nothing back:\n%s", page)
			}
		}
	}
	if n := len(f.tips(t)); n != 1 {
		t.Fatalf("%d tips", n)
	}
	// A made-up token is refused too.
	body, ct = multipartBody(part{"token", "", strings.Repeat("A", 22)}, part{"kind", "", "tip"}, part{"message", "", "x"})
	if resp, _ := http.Post(f.srv.URL+"/", ct, body); resp.StatusCode != 403 {
		t.Errorf("forged token: status %d", resp.StatusCode)
	}
}

func TestFormTokensBoundedAndExpire(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ft := newFormTokens(time.Hour, 3)
	ft.now = func() time.Time { return now }
	a := ft.Issue()
	if !ft.Use(a) || ft.Use(a) {
		t.Fatal("a token must work exactly once")
	}
	b, c, d, e := ft.Issue(), ft.Issue(), ft.Issue(), ft.Issue()
	if ft.Len() != 3 {
		t.Fatalf("%d tokens alive, want at most 3", ft.Len())
	}
	if ft.Use(b) {
		t.Error("the oldest token survived the bound")
	}
	now = now.Add(2 * time.Hour)
	if ft.Use(c) || ft.Use(d) || ft.Use(e) || ft.Len() != 0 {
		t.Error("expired tokens accepted")
	}
	for range 1000 {
		ft.Issue()
	}
	if ft.Len() != 3 || len(ft.order) > 3 {
		t.Errorf("%d tokens, %d in order", ft.Len(), len(ft.order))
	}
}

// TestNoKindChosen: the form never preselects a kind; a message with a
// distress word in any language is filed as distress; otherwise the
// source is asked once, with what they typed kept, and then it is filed.
func TestNoKindChosen(t *testing.T) {
	f := newFixture(t, channels.DefaultLimits)
	if _, form := get(t, f.srv.URL+"/", ""); strings.Contains(form, "checked") {
		t.Fatal("the form preselects a kind")
	}
	// Thai: "help! we are locked in", no kind chosen.
	if status, page := post(t, f.srv.URL, "en", part{"message", "", "ช่วยด้วย เราถูกขังอยู่"}); status != 200 {
		t.Fatalf("thai distress: %d %s", status, page)
	}
	tips := f.tips(t)
	if len(tips) != 1 || tips[0].Kind != crypto.KindDistress || tips[0].Language != "th" {
		t.Fatalf("thai distress filed as %+v", tips)
	}

	status, page := post(t, f.srv.URL, "km", part{"message", "", "the office is on the third floor"}, part{"people", "", "Dara"})
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, catalog.New(nil).Text("km", "web.ask_kind")) ||
		!strings.Contains(page, "the office is on the third floor</textarea>") || !strings.Contains(page, `value="Dara"`) ||
		!strings.Contains(page, `name="asked" value="1"`) {
		t.Fatalf("not asked once with the text kept: %d\n%s", status, page)
	}
	if n := len(f.tips(t)); n != 1 {
		t.Fatalf("a tip was filed before the source chose: %d", n)
	}
	status, _ = post(t, f.srv.URL, "km", part{"asked", "", "1"}, part{"message", "", "the office is on the third floor"})
	tips = f.tips(t)
	if status != 200 || len(tips) != 2 || tips[1].Kind != crypto.KindTip {
		t.Fatalf("after asking once: status %d, tips %d", status, len(tips))
	}
}

// TestRefusalKeepsTheForm: a refusal is shown above the filled form.
func TestRefusalKeepsTheForm(t *testing.T) {
	f := newFixture(t, channels.Limits{MaxTextBytes: 50, MaxAttachments: 1, MaxAttachmentBytes: 100, MaxRequestBytes: 5000})
	status, page := post(t, f.srv.URL, "en", part{"kind", "", "missing"}, part{"message", "", "short"},
		part{"place", "", "Bavet"}, part{"contact", "", "ask for Sok"}, part{"file", "big.jpg", strings.Repeat("z", 101)})
	if status != 413 {
		t.Fatalf("status %d", status)
	}
	errAt, formAt := strings.Index(page, `class="error"`), strings.Index(page, "<form")
	if errAt < 0 || formAt < 0 || errAt > formAt {
		t.Fatalf("the refusal is not above the form:\n%s", page)
	}
	for _, want := range []string{">short</textarea>", `value="Bavet"`, `value="ask for Sok"`, `value="missing" autocomplete="off" checked`, defaultTexts["web.refill"]} {
		if !strings.Contains(page, want) {
			t.Errorf("refused form lacks %q", want)
		}
	}
	if n := len(f.tips(t)); n != 0 || len(f.q.live) != 0 {
		t.Errorf("%d tips, %d blobs left", n, len(f.q.live))
	}
}

// TestFormIsSafeAfterTheFact checks the page itself: nothing remembered.
func TestFormIsSafeAfterTheFact(t *testing.T) {
	f := newFixture(t, channels.DefaultLimits)
	_, page := get(t, f.srv.URL+"/", "")
	if !strings.Contains(page, `<form method="post" action="/" enctype="multipart/form-data" accept-charset="utf-8" autocomplete="off">`) {
		t.Error("form without autocomplete=off")
	}
	fields := regexp.MustCompile(`<(?:input|textarea)\b[^>]*>`).FindAllString(page, -1)
	for _, fld := range fields {
		if !strings.Contains(fld, `type="hidden"`) && !strings.Contains(fld, `autocomplete="off"`) {
			t.Errorf("field without autocomplete=off: %s", fld)
		}
	}
	if !strings.Contains(page, `<a class="exit" href="`+DefaultQuickExitURL+`" rel="noreferrer">`) {
		t.Error("no quick-exit link")
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("script on the page")
	}
}

// TestPeopleAndContactSealed: the new fields go into the sealed tip.
func TestPeopleAndContactSealed(t *testing.T) {
	f := newFixture(t, channels.DefaultLimits)
	if status, page := post(t, f.srv.URL, "en", part{"kind", "", "missing"}, part{"message", "", "my brother"},
		part{"people", "", "Sok Dara, Chan Vanna\nមាស សុភា"}, part{"contact", "", "Signal +855 12 345 678"}); status != 200 {
		t.Fatalf("%d %s", status, page)
	}
	tip := f.tips(t)[0]
	if strings.Join(tip.People, "|") != "Sok Dara|Chan Vanna|មាស សុភា" || tip.Fields["contact"] != "Signal +855 12 345 678" {
		t.Fatalf("people %q, fields %v", tip.People, tip.Fields)
	}
}

// TestZawgyiThroughTheForm: Burmese typed in Zawgyi is sealed as Unicode
// with the original kept.
func TestZawgyiThroughTheForm(t *testing.T) {
	const zawgyi = "\u1031\u1000\u103A\u1038\u1007\u1030\u1038\u103B\u1015\u102F\u104D \u1000\u101A\u1039\u1015\u102B" // ကျေးဇူးပြု၍ ကယ်ပါ
	const unicode = "\u1000\u103B\u1031\u1038\u1007\u1030\u1038\u1015\u103C\u102F\u104D \u1000\u101A\u103A\u1015\u102B"
	f := newFixture(t, channels.DefaultLimits)
	if status, page := post(t, f.srv.URL, "en", part{"message", "", zawgyi}, part{"asked", "", "1"}); status != 200 {
		t.Fatalf("%d %s", status, page)
	}
	tip := f.tips(t)[0]
	if tip.Text != unicode || tip.TextOriginal != zawgyi || tip.TextEncoding != "zawgyi" || tip.Language != "my" {
		t.Fatalf("tip text %q original %q encoding %q lang %q", tip.Text, tip.TextOriginal, tip.TextEncoding, tip.Language)
	}
}
