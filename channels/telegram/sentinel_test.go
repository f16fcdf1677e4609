package telegram

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
	"github.com/flarehq/flare/crypto"
)

// scanDir returns the files under dir that contain any of the sentinels,
// with the sentinel found.
func scanDir(t *testing.T, dir string, sentinels []string) map[string]string {
	t.Helper()
	hits := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range sentinels {
			if bytes.Contains(data, []byte(s)) {
				hits[path] = s
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// No chat id, user id, user name, display name, phone number, message
// text, file name or coordinates is stored or logged outside the sealed
// tip, in either update mode.
func TestSentinelScan(t *testing.T) {
	sender := telegramtest.User{ID: 918273645, Username: "sentinel_user_7731", FirstName: "Sentinelfirst", LastName: "Sentinellast", Language: "en"}
	sentinels := []string{
		strconv.FormatInt(sender.ID, 10), sender.Username, sender.FirstName, sender.LastName,
		"+15550107788", "SENTINEL-TEXT-4411", "SENTINEL-CAPTION", "sentinel-file.pdf",
		"13.7367", "100.5232", telegramtest.Token,
	}
	for _, mode := range []string{ModePolling, ModeWebhook} {
		t.Run(mode, func(t *testing.T) {
			var h *harness
			if mode == ModeWebhook {
				h = webhookHarness(t, harnessOpts{})
			} else {
				h = newHarness(t, harnessOpts{})
			}
			guidedReport(t, h, sender, crypto.KindEvidence)
			// A second tip with the phone number, then a draft left to the
			// shutdown.
			h.deliver(h.srv.Text(sender, "/start"), "sendMessage", 1)
			h.deliver(h.srv.Contact(sender, "+15550107788", sender.FirstName, sender.ID), "sendMessage", 1)
			h.deliver(h.srv.Text(sender, "/send"), "sendMessage", 1)
			h.deliver(h.srv.Text(sender, "/start"), "sendMessage", 1)
			h.deliver(h.srv.Text(sender, "SENTINEL-TEXT-4411 again"), "sendMessage", 1)
			h.stop()

			tips := h.tips()
			if len(tips) != 3 {
				t.Fatalf("%d tips, want 3", len(tips))
			}
			// Positive control: the sentinels are in the sealed tips, so a
			// clean scan means they were sealed, not lost.
			var plain []byte
			for _, tip := range tips {
				b, _ := json.Marshal(tip)
				plain = append(plain, b...)
			}
			for _, s := range sentinels[:len(sentinels)-1] {
				if !bytes.Contains(plain, []byte(s)) {
					t.Errorf("sentinel %q not in the opened tips", s)
				}
			}
			probe := filepath.Join(t.TempDir(), "probe")
			os.WriteFile(probe, []byte("x SENTINEL-TEXT-4411 x"), 0o600)
			if len(scanDir(t, filepath.Dir(probe), sentinels)) != 1 {
				t.Fatal("the scanner misses a planted sentinel")
			}

			if st, err := os.Stat(filepath.Join(h.dir, "queue.store")); err != nil || st.Size() < 1<<20 {
				t.Fatalf("queue store missing or too small to hold the attachments: %v", err)
			}
			for path, s := range scanDir(t, h.dir, sentinels) {
				t.Errorf("%s holds %q", path, s)
			}
			logs := h.logs.String()
			if len(logs) == 0 {
				t.Fatal("no logs captured")
			}
			for _, s := range sentinels {
				if bytes.Contains([]byte(logs), []byte(s)) {
					t.Errorf("logs hold %q", s)
				}
			}
			for _, k := range h.q.markerKeys() {
				for _, s := range sentinels {
					if bytes.Contains([]byte(k), []byte(s)) {
						t.Errorf("marker %q holds %q", k, s)
					}
				}
			}
		})
	}
}
