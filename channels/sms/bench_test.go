package sms

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkTwilioSMS measures one signed inbound SMS through the handler:
// parse, verify, classify, seal, enqueue (in memory).
func BenchmarkTwilioSMS(b *testing.B) {
	env := twilioEnv(b, nil, nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := inboundSMS("SM"+strconv.Itoa(i), "+85512345678", "They took our passports. Building C, floor 4.")
		req := httptest.NewRequest("POST", "/webhooks/twilio", strings.NewReader(p.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", signTwilio(testToken, testPublic, p))
		w := httptest.NewRecorder()
		env.ch.serveTwilio(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

func BenchmarkVonageSignature(b *testing.B) {
	v := vonagePart(time.Unix(1700000000, 0), "0A1", "447700900001", "7f", 2, 3, strings.Repeat("Hello world ", 13))
	for _, m := range []string{"md5hash", "sha512"} {
		b.Run(m, func(b *testing.B) {
			for b.Loop() {
				vonageSignature(m, vonageSecret, v)
			}
		})
	}
}
