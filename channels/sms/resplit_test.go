package sms

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTwilioResplitReplay replays one signed request with its signed
// key/value string split differently. Twilio signs the URL followed by
// every key and value run together, so each variant below carries the
// original's valid X-Twilio-Signature; one of them even parses as a
// well-formed message with a different MessageSid. However it is split,
// one signed request is one tip.
func TestTwilioResplitReplay(t *testing.T) {
	sidA := "SM" + strings.Repeat("a", 32)
	sidB := "SM" + strings.Repeat("b", 32)
	original := url.Values{
		"AccountSid": {testSID}, "ApiVersion": {"2010-04-01"},
		"Body": {"They took our passports"}, "From": {"+85512345678"},
		"FromCity":   {"X" + "MessageSid" + sidB},
		"MessageSid": {sidA}, "NumMedia": {"0"},
		"SmsMessageSid": {sidA}, "SmsSid": {sidA}, "SmsStatus": {"received"},
		"To": {"+18005550100"},
	}
	with := func(edit func(url.Values)) url.Values {
		v := url.Values{}
		for k, x := range original {
			v[k] = append([]string(nil), x...)
		}
		edit(v)
		return v
	}
	variants := map[string]url.Values{
		// The review's variant: NumMedia run into the MessageSid.
		"NumMedia inside MessageSid": with(func(v url.Values) {
			v.Set("MessageSid", sidA+"NumMedia0")
			v.Del("NumMedia")
		}),
		// SmsStatus run into the SmsSid.
		"SmsStatus inside SmsSid": with(func(v url.Values) {
			v.Set("SmsSid", sidA+"SmsStatusreceived")
			v.Del("SmsStatus")
		}),
		// A well-formed message with another MessageSid: the second
		// sid was in FromCity, the first becomes part of a new name.
		"well-formed other MessageSid": with(func(v url.Values) {
			v.Set("FromCity", "X")
			v.Set("MessageSid", sidB)
			v.Set("MessageSid"+sidA+"NumMedia", "0SmsMessageSid"+sidA+"SmsSid"+sidA)
			v.Del("NumMedia")
			v.Del("SmsMessageSid")
			v.Del("SmsSid")
		}),
		// A repeated identical value is signed once by some libraries.
		"repeated SmsStatus": with(func(v url.Values) {
			v.Add("SmsStatus", "received")
		}),
	}
	env := twilioEnv(t, nil, nil)
	sig := signTwilio(testToken, testPublic, original)
	send := func(p url.Values) (int, string) {
		t.Helper()
		return env.do("POST", "/webhooks/twilio", "application/x-www-form-urlencoded", []byte(p.Encode()),
			map[string]string{"X-Twilio-Signature": sig})
	}
	if st, resp := send(original); st != http.StatusOK {
		t.Fatalf("original: %d %q", st, resp)
	}
	for name, p := range variants {
		if name != "repeated SmsStatus" && signTwilio(testToken, testPublic, p) != sig {
			t.Fatalf("%s: not a re-split of the signed string", name)
		}
		st, resp := send(p)
		if st == http.StatusForbidden {
			t.Fatalf("%s: signature refused (%q); the variant should carry a valid signature", name, resp)
		}
		// The variant that parses as a well-formed message is caught only
		// by the signed string: it is answered as the duplicate it is.
		// The others are not what Twilio sends.
		want := http.StatusBadRequest
		if name == "well-formed other MessageSid" {
			want = http.StatusOK
		}
		if st != want {
			t.Errorf("%s: status %d (%q), want %d", name, st, resp, want)
		}
	}
	if n := env.queued(); n != 1 {
		t.Fatalf("one signed request queued %d tips, want 1", n)
	}
}
