package sms

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets feed the parsers what an attacker could send before
// any signature is checked (the parsers run first, since the signature
// covers the parsed parameters). Seeds: testdata/fuzz/<target>/, provider
// payload shapes and inputs the fuzzer found interesting.

func FuzzTwilioForm(f *testing.F) {
	f.Add(inboundSMS("SM1", "+85512345678", "help").Encode())
	f.Add("MessageSid=MM1&From=whatsapp%3A%2B85512345678&NumMedia=2&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fa&MediaUrl1=x")
	f.Add("Digits=5678&Digits=1234&Digits=1234&Sid=CA123")
	f.Fuzz(func(t *testing.T, body string) {
		p, err := parseForm(body)
		if err != nil {
			return
		}
		s, _ := newTwilioSigner("12345", "https://user:pass@example.com:8443/webhooks/twilio")
		if s.verifyForm("GvWf1cFY/Q7PnoempGyD5oXAezc=", "a=b", p) {
			t.Fatal("fuzzed body matched a fixed signature")
		}
		m, err := twilioMessage(p, 10)
		if err != nil {
			return
		}
		if m.id == "" || m.from == "" || strings.HasPrefix(m.from, "whatsapp:") || len(m.media) > 10 {
			t.Fatalf("accepted message breaks invariants: %+v", m)
		}
		if !utf8.ValidString(m.text) || !utf8.ValidString(m.from) {
			t.Fatal("accepted invalid UTF-8")
		}
	})
}

func FuzzVonageJSON(f *testing.F) {
	f.Add([]byte(`{"api-key":"abcd1234","msisdn":"447700900001","to":"447700900000","messageId":"0A0000000123ABCD1","text":"Hello world","type":"text","keyword":"HELLO","message-timestamp":"2020-01-01T12:00:00.000+00:00","timestamp":"1578787200","nonce":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","concat":"true","concat-ref":"1","concat-total":"3","concat-part":"2","data":"abc123","udh":"abc123"}`))
	f.Add([]byte(`{"msisdn":447700900001,"messageId":"x","text":null,"concat":true,"concat-part":1e3}`))
	f.Add([]byte(`{"a":{"b":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseFlatJSON(body)
		if err != nil {
			return
		}
		for _, method := range []string{"md5hash", "sha512"} {
			if _, err := vonageSignature(method, "secret", p); err != nil {
				t.Fatal(err)
			}
		}
		checkVonage(t, p)
	})
}

func FuzzVonageForm(f *testing.F) {
	f.Add(vonagePart(time.Unix(1700000000, 0), "0A1", "447700900001", "7f", 2, 3, "Hello world").Encode())
	f.Add("keyword=HELLO%21&message-timestamp=2016-08-14+10%3A13%3A54&messageId=030000000926C4C2&msisdn=FROM_NUMBER&text=Hello%21&to=TO_NUMBER&type=text")
	f.Add("k=%26&sig=c3d6a686ab9c7e7408bb1c0506e9629a")
	f.Fuzz(func(t *testing.T, query string) {
		p, err := parseForm(query)
		if err != nil {
			return
		}
		if verifyVonage("md5hash", "my_secret_key_for_testing", p) && p.Get("k") == "" {
			// Only the published collision vectors may verify by chance.
			t.Fatalf("fuzzed query verified: %q", query)
		}
		checkVonage(t, p)
	})
}

func checkVonage(t *testing.T, p url.Values) {
	m, err := vonageMessage(p)
	if err != nil {
		return
	}
	if m.id == "" || m.from == "" {
		t.Fatalf("accepted message without id or sender: %+v", m)
	}
	if m.part != nil && (m.part.index < 1 || m.part.index > m.part.total || m.part.total > 255) {
		t.Fatalf("accepted part out of range: %+v", m.part)
	}
}

func FuzzGenericJSON(f *testing.F) {
	f.Add(smsEvent("-9qZ4oiiZZRm-h_A3mrp2", "6505551212", "Android is always a sweet treat!"))
	f.Add([]byte(`{"event":"system:ping","id":"p","payload":{}}`))
	f.Add([]byte(`{"event":"sms:received","id":"e","payload":{"phoneNumber":"+1\u0000","message":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseGeneric(body)
		if err != nil || m == nil {
			return
		}
		if m.id == "" || m.from == "" || !utf8.ValidString(m.text) {
			t.Fatalf("accepted message breaks invariants: %+v", m)
		}
	})
}

// FuzzWebhooks sends whatever the fuzzer makes to each endpoint, with
// headers an attacker could set: no answer is a server error, nothing is
// ever stored (nothing fuzzed can carry a valid signature, and refusals
// are decided before any idempotency mark is taken).
func FuzzWebhooks(f *testing.F) {
	f.Add(uint8(0), "application/x-www-form-urlencoded", "", inboundSMS("SM1", "+85512345678", "help").Encode(), "x")
	f.Add(uint8(1), "application/json", "", `{"msisdn":"1","messageId":"2","text":"x","sig":"00","timestamp":"1"}`, "")
	f.Add(uint8(2), "application/json", "bodySHA256=00", string(smsEvent("e1", "+1", "x")), "1719046000")
	f.Add(uint8(1), "", "msisdn=1&messageId=2&text=x&sig=00&concat=true&concat-part=9", "", "")
	cfg := DefaultConfig()
	cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = testToken, testPublic, testSID
	cfg.VonageSignatureMethod, cfg.VonageSignatureSecret = "sha256", vonageSecret
	cfg.WebhookSecret = webhookSecret
	q := newMemQueue()
	env := newTestEnv(f, cfg, q)
	mux := http.NewServeMux()
	env.ch.Routes(mux)
	paths := []string{"/webhooks/twilio", "/webhooks/vonage", "/webhooks/sms"}
	f.Fuzz(func(t *testing.T, which uint8, contentType, query, body, header string) {
		method := "POST"
		if which&4 != 0 {
			method = "GET"
		}
		req := httptest.NewRequest(method, "/", strings.NewReader(body))
		req.URL.Path = paths[int(which)%len(paths)]
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-Twilio-Signature", header)
		req.Header.Set("X-Signature", header)
		req.Header.Set("X-Timestamp", header)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if n := len(q.Dump()); n != 0 {
			t.Fatalf("%d tips queued from fuzzed input", n)
		}
	})
}
