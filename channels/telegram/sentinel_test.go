package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/sentinel"
	"github.com/flarehq/flare/internal/testredis"
)

// No chat id, user id, user name, display name, phone number, message
// text, file name or coordinates is stored or logged outside the sealed
// tip: not in the embedded store's files, not in Redis (keys, values, its
// data directory), not in the logs; in both update modes.
func TestSentinelScan(t *testing.T) {
	sender := telegramtest.User{ID: 918273645, Username: "sentinel_user_7731", FirstName: "Sentinelfirst", LastName: "Sentinellast", Language: "en"}
	sentinels := []string{
		strconv.FormatInt(sender.ID, 10), sender.Username, sender.FirstName, sender.LastName,
		"+15550107788", "SENTINEL-TEXT-4411", "SENTINEL-CAPTION", "sentinel-file.pdf",
		"13.7367", "100.5232",
	}
	secrets := []string{telegramtest.Token, testSecret}
	tests := []struct {
		name    string
		webhook bool
		redis   bool
	}{
		{"embedded polling", false, false},
		{"embedded webhook", true, false},
		{"redis webhook", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := harnessOpts{}
			var rs *testredis.Server
			if tt.redis {
				o.q, rs = redisQueue(t)
			}
			var h *harness
			if tt.webhook {
				h = webhookHarness(t, o)
			} else {
				h = newHarness(t, o)
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
			for _, s := range sentinels {
				if !bytes.Contains(plain, []byte(s)) {
					t.Errorf("sentinel %q not in the opened tips", s)
				}
			}
			probe := t.TempDir()
			os.WriteFile(filepath.Join(probe, "p"), []byte("x SENTINEL-TEXT-4411 x"), 0o600)
			if f, _ := sentinel.Dir(probe, sentinels...); len(f) != 1 {
				t.Fatal("the scanner misses a planted sentinel")
			}

			dirs := []string{h.dir}
			if rs != nil {
				dirs = append(dirs, rs.Dir())
				found, err := sentinel.Redis(context.Background(), rs.Addr(), append(sentinels, secrets...)...)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range found {
					t.Error(f)
				}
			} else if n := dirSize(t, h.dir); n < 1<<20 {
				t.Fatalf("embedded store holds %d bytes, too few for the attachments", n)
			}
			for _, d := range dirs {
				found, err := sentinel.Dir(d, append(sentinels, secrets...)...)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range found {
					t.Error(f)
				}
			}
			logs := h.logs.String()
			if len(logs) == 0 {
				t.Fatal("no logs captured")
			}
			for _, f := range sentinel.Bytes([]byte(logs), "logs", append(sentinels, secrets...)...) {
				t.Error(f)
			}
			for _, k := range h.q.markerKeys() {
				for _, f := range sentinel.Bytes([]byte(k), "marker key", sentinels...) {
					t.Error(f)
				}
			}
		})
	}
}

// dirSize is the size of every file under dir (the SQLite file, its WAL).
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if st, err := d.Info(); err == nil {
				n += st.Size()
			}
		}
		return nil
	})
	return n
}
