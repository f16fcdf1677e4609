package telegram

import (
	"fmt"
	"testing"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
)

// BenchmarkMediaIntake measures a file's way from the Bot API server
// (getFile, download) into sealed chunks in the embedded store, through a
// whole conversation: /start, the file, /send, wipe.
func BenchmarkMediaIntake(b *testing.B) {
	for _, size := range []int{64 << 10, 8 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			h := newHarness(b, harnessOpts{cfg: func(c *Config) { c.RateBurst = 1 << 20; c.RatePerMinute = 1 << 20 }})
			data := randomBytes(size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := range b.N {
				u := telegramtest.User{ID: int64(100000 + i), FirstName: "B"}
				h.deliver(h.srv.Text(u, "/start"), "sendMessage", 1)
				h.deliver(h.srv.Document(u, "f.bin", "application/octet-stream", data, ""), "sendMessage", 1)
				h.deliver(h.srv.Text(u, "/send"), "sendMessage", 1)
				waitFor(b, "tip", func() bool { return len(h.q.tips()) == i+1 })
			}
		})
	}
}

// BenchmarkDecodeUpdate measures decoding one webhook body.
func BenchmarkDecodeUpdate(b *testing.B) {
	var body []byte
	for _, v := range telegramtest.Vectors() {
		if v.ID == "aiogram-photo-with-caption" {
			body = v.Update
		}
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := decodeUpdate(body); err != nil {
			b.Fatal(err)
		}
	}
}
