package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// hostile is the value the outside review sent as a form's lang field and
// an attachment's media type (finding 4).
const hostile = "en-\x1b]0;pwned\x07\x1b[31mred\u009b2J\u202e"

func TestCatalogueCode(t *testing.T) {
	tests := map[string]string{
		"en": "en", "KM": "km", " th ": "th", "zh-Hans": "zh-hans", "en-us": "en-us", "sr-latn-rs": "sr-latn-rs",
		hostile: "", "en_US": "", "e": "", "1a": "", "en--us": "", "en-": "", "en-toolongsubtag": "",
		"abcdefgh-abcdefgh": "", "en-<b>": "", "": "",
	}
	for in, want := range tests {
		if got := catalogueCode(in); got != want {
			t.Errorf("catalogueCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormMediaType(t *testing.T) {
	tests := map[string]string{
		"image/jpeg": "image/jpeg", "Image/PNG": "image/png", "text/plain; charset=utf-8": "text/plain",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"image/svg+xml": "image/svg+xml", hostile: defaultMediaType, "image/" + hostile: defaultMediaType,
		"": defaultMediaType, "image": defaultMediaType, "image/": defaultMediaType, "/png": defaultMediaType,
		"image/png/x": defaultMediaType, "image/.png": defaultMediaType, "text/plain\u202e": defaultMediaType,
	}
	for in, want := range tests {
		if got := normMediaType(in); got != want {
			t.Errorf("normMediaType(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIntakeStoresOnlyCodes is finding 4 at intake: the hostile lang and
// media type are not stored.
func TestIntakeStoresOnlyCodes(t *testing.T) {
	in, q, id := newIntake(t, channels.DefaultLimits)
	ctx := context.Background()
	d := in.NewDraft("web")
	d.Tip().Text = "hello"
	d.Tip().Language = hostile
	if _, err := d.Attach(ctx, "a.bin", hostile, strings.NewReader("data")); err != nil {
		t.Fatal(err)
	}
	r, err := d.Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := q.Get(ctx, queue.StreamTips, r.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := crypto.OpenTip(m.Body, id)
	if err != nil {
		t.Fatal(err)
	}
	if tip.Language != "" || tip.Attachments[0].MediaType != defaultMediaType {
		t.Fatalf("stored lang %q, media type %q", tip.Language, tip.Attachments[0].MediaType)
	}
}
