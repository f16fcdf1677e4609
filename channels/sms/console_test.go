package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue/embedded"
)

// TestConsoleShowsTwilioTips checks, with the real flare binary, that a
// key-holder's "flare console show" prints what an SMS, an MMS with two
// images and a WhatsApp message became: sender number, text, attachments;
// and that "flare console save" gives back the images.
func TestConsoleShowsTwilioTips(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the flare binary")
	}
	dir := t.TempDir()
	bin := testkit.FlareBinary(t)
	k := testkit.NewKeyHolder(t)
	idPath, ids, r := k.File, k.Identities, k.Recipient
	store := filepath.Join(dir, "data", "flare.db")
	q, err := embedded.Open(context.Background(), store, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}

	img1 := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("gate "), 3000)...)
	img2 := append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte("fence "), 4000)...)
	mh := newMediaHost(t, map[string][]byte{"ME1": img1, "ME2": img2})
	cfg := DefaultConfig()
	cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = testToken, testPublic, testSID
	cfg.TwilioMediaHosts = []string{mh.host()}
	env := newTestEnvWith(t, cfg, q, ids, r)
	env.ch.media = newMediaFetcher(testSID, testToken, cfg.TwilioMediaHosts, cfg.TwilioMediaTimeout,
		env.ch.deps.Sink.Limits().MaxAttachmentBytes, mh.srv.Client().Transport)

	sms := inboundSMS("SM5", "+85512345678", "They moved us to building D last night")
	mms := inboundSMS("MM1", "+85598765432", "photos of the gate")
	mms.Set("NumMedia", "2")
	mms.Set("MediaUrl0", mh.url("ME1"))
	mms.Set("MediaContentType0", "image/png")
	mms.Set("MediaUrl1", mh.url("ME2"))
	mms.Set("MediaContentType1", "image/jpeg")
	wa := inboundSMS("SM6", "whatsapp:+85511222333", "SOS I am locked in room 12")
	wa.Set("To", "whatsapp:+14155238886")
	for _, p := range []map[string][]string{sms, mms, wa} {
		if st, resp := postTwilio(env, p); st != http.StatusOK {
			t.Fatalf("status %d %q", st, resp)
		}
	}
	env.srv.Close()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	flare := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("flare %v: %v\n%s", args, err, stderr.String())
		}
		return string(out)
	}
	common := []string{"--identity", idPath, "--queue", "file:" + store}
	var rows []struct {
		ID      string `json:"id"`
		Channel string `json:"channel"`
	}
	if err := json.Unmarshal([]byte(flare(append([]string{"console", "list", "--json"}, common...)...)), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("console list: %v, %d rows", err, len(rows))
	}
	want := [][]string{
		{"Channel:   sms", "phone +85512345678", "Reply to:  sms/twilio +85512345678", "Kind:      tip", "They moved us to building D last night"},
		{"phone +85598765432", "photos of the gate", "1. media-1.png  image/png", "2. media-2.jpg  image/jpeg"},
		{"Channel:   whatsapp", "phone +85511222333", "Reply to:  whatsapp/twilio whatsapp:+85511222333", "Kind:      distress", "SOS I am locked in room 12"},
	}
	for i, row := range rows {
		out := flare(append([]string{"console", "show", row.ID}, common...)...)
		for _, w := range want[i] {
			if !strings.Contains(out, w) {
				t.Errorf("console show %s lacks %q:\n%s", row.ID, w, out)
			}
		}
	}
	for n, img := range [][]byte{img1, img2} {
		f := filepath.Join(dir, "saved"+string(rune('1'+n)))
		flare(append([]string{"console", "save", rows[1].ID, string(rune('1' + n)), "-o", f}, common...)...)
		if got, err := os.ReadFile(f); err != nil || !bytes.Equal(got, img) {
			t.Errorf("console save %d: %v, %d bytes", n+1, err, len(got))
		}
	}
}
