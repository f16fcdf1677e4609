package sms

import (
	"strings"
	"testing"

	"github.com/flarehq/flare/channels/catalog"
)

func TestMeasure(t *testing.T) {
	cases := []struct {
		text     string
		enc      Encoding
		units    int
		segments int
	}{
		{"", GSM7, 0, 1},
		{"Message received.", GSM7, 17, 1},
		{strings.Repeat("a", 160), GSM7, 160, 1},
		{strings.Repeat("a", 161), GSM7, 161, 2},
		{strings.Repeat("a", 306), GSM7, 306, 2},
		{strings.Repeat("a", 307), GSM7, 307, 3},
		{"[€]", GSM7, 6, 1}, // escaped characters take two septets
		{strings.Repeat("€", 80), GSM7, 160, 1},
		{strings.Repeat("€", 81), GSM7, 162, 2},
		{"Đã nhận tin nhắn.", UCS2, 17, 1}, // Vietnamese leaves GSM-7
		{strings.Repeat("ก", 70), UCS2, 70, 1},
		{strings.Repeat("ก", 71), UCS2, 71, 2},
		{strings.Repeat("ก", 134), UCS2, 134, 2},
		{strings.Repeat("ก", 135), UCS2, 135, 3},
		{"😀", UCS2, 2, 1}, // outside the BMP: a surrogate pair
		{"ÄÖÑÜäöñüà ¿¡", GSM7, 12, 1},
	}
	for _, tc := range cases {
		got := Measure(tc.text)
		if got.Encoding != tc.enc || got.Units != tc.units || got.Segments != tc.segments {
			t.Errorf("Measure(%q) = %+v, want %s %d units %d segments", tc.text, got, tc.enc, tc.units, tc.segments)
		}
	}
}

// TestDefaultRepliesFitOneSegment renders every default SMS reply in every
// language and measures it.
func TestDefaultRepliesFitOneSegment(t *testing.T) {
	cat := catalog.New(nil)
	cat.AddDefaults(catalog.Fallback, defaultTexts)
	for _, p := range catalog.Check(defaultTexts) {
		t.Error(p)
	}
	for _, lang := range cat.Languages() {
		for key := range defaultTexts {
			text := cat.Text(lang, key)
			if lang != catalog.Fallback && text == defaultTexts[key] {
				t.Errorf("%s %s is the English text", lang, key)
			}
			if sz := Measure(text); sz.Segments != 1 {
				t.Errorf("%s %s = %q needs %d %s segments (%d units)", lang, key, text, sz.Segments, sz.Encoding, sz.Units)
			}
		}
	}
}
