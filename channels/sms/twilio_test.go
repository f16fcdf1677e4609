package sms

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/crypto"
)

const (
	testToken  = "twilio-test-token-0123456789abcdef"
	testSID    = "AC00000000000000000000000000000001"
	testPublic = "https://flare.example.org/webhooks/twilio"
)

// signTwilio signs params for url as Twilio does, written out here
// independently of the code under test.
func signTwilio(token, url string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := url
	for _, k := range keys {
		vals := append([]string(nil), params[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			s += k + v
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// mediaHost stands in for Twilio's media host: it wants the account's
// basic-auth credentials on the media URL and redirects to storage, as
// Twilio does.
type mediaHost struct {
	srv      *httptest.Server
	files    map[string][]byte
	requests atomic.Int32
	badAuth  atomic.Int32
}

func newMediaHost(t *testing.T, files map[string][]byte) *mediaHost {
	t.Helper()
	h := &mediaHost{files: files}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		if name, ok := strings.CutPrefix(r.URL.Path, "/2010-04-01/Accounts/"+testSID+"/Messages/MM1/Media/"); ok {
			if u, p, ok := r.BasicAuth(); !ok || u != testSID || p != testToken {
				h.badAuth.Add(1)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			if name == "elsewhere" {
				http.Redirect(w, r, "https://media.not-allowed.example/x", http.StatusTemporaryRedirect)
				return
			}
			http.Redirect(w, r, "/storage/"+name, http.StatusTemporaryRedirect)
			return
		}
		if name, ok := strings.CutPrefix(r.URL.Path, "/storage/"); ok {
			b, ok := h.files[name]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *mediaHost) url(name string) string {
	return h.srv.URL + "/2010-04-01/Accounts/" + testSID + "/Messages/MM1/Media/" + name
}

func (h *mediaHost) host() string { return strings.TrimPrefix(h.srv.URL, "https://") }

func twilioEnv(t testing.TB, mh *mediaHost, edit func(*Config)) *testEnv {
	t.Helper()
	cfg := DefaultConfig()
	cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = testToken, testPublic, testSID
	if mh != nil {
		cfg.TwilioMediaHosts = []string{mh.host()}
	}
	if edit != nil {
		edit(&cfg)
	}
	env := newTestEnv(t, cfg, newMemQueue())
	if mh != nil {
		env.ch.media = newMediaFetcher(testSID, testToken, cfg.TwilioMediaHosts, cfg.TwilioMediaTimeout,
			env.ch.deps.Sink.Limits().MaxAttachmentBytes, mh.srv.Client().Transport)
	}
	return env
}

func postTwilio(e *testEnv, p url.Values) (int, string) {
	e.t.Helper()
	return e.do("POST", "/webhooks/twilio", "application/x-www-form-urlencoded", []byte(p.Encode()),
		map[string]string{"X-Twilio-Signature": signTwilio(testToken, testPublic, p)})
}

// inboundSMS is what Twilio posts for an inbound message. A short sid
// such as "SM7" names a message in a test; it is sent as a well-formed
// SID derived from it.
func inboundSMS(sid, from, body string) url.Values {
	sid = wellFormedSID(sid)
	return url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {testSID},
		"MessagingServiceSid": {"MG00000000000000000000000000000001"},
		"From":                {from}, "To": {"+18005550100"}, "Body": {body},
		"NumMedia": {"0"}, "NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
		"FromCountry": {"KH"}, "ToCountry": {"US"},
	}
}

// wellFormedSID returns sid if it is a Twilio message SID, else one of
// the same prefix derived from it.
func wellFormedSID(sid string) string {
	if twilioMessageSID.MatchString(sid) {
		return sid
	}
	sum := sha256.Sum256([]byte(sid))
	return sid[:2] + hex.EncodeToString(sum[:16])
}

func TestTwilioInbound(t *testing.T) {
	img1 := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte("first image "), 5000)...)
	img2 := append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte("second image "), 9000)...)
	mh := newMediaHost(t, map[string][]byte{"ME1": img1, "ME2": img2})

	t.Run("sms", func(t *testing.T) {
		env := twilioEnv(t, mh, nil)
		st, resp := postTwilio(env, inboundSMS("SM11111111111111111111111111111111", "+85512345678", "They took our passports. Building C, floor 4."))
		if st != http.StatusOK || resp != `<?xml version="1.0" encoding="UTF-8"?><Response/>` {
			t.Fatalf("status %d, %q", st, resp)
		}
		tips := env.tips()
		if len(tips) != 1 {
			t.Fatalf("%d tips", len(tips))
		}
		tip := tips[0]
		if tip.Channel != "sms" || tip.Kind != crypto.KindTip || tip.Text != "They took our passports. Building C, floor 4." ||
			tip.Sender.Phone != "+85512345678" || tip.Reply.Address != "+85512345678" || tip.Reply.Channel != "sms/twilio" {
			t.Fatalf("tip = %+v sender %+v reply %+v", tip, tip.Sender, tip.Reply)
		}
	})

	t.Run("mms with two images", func(t *testing.T) {
		env := twilioEnv(t, mh, nil)
		p := inboundSMS("MM1", "+85598765432", "photos of the gate")
		p.Set("NumMedia", "2")
		p.Set("MediaUrl0", mh.url("ME1"))
		p.Set("MediaContentType0", "image/png")
		p.Set("MediaUrl1", mh.url("ME2"))
		p.Set("MediaContentType1", "image/jpeg")
		st, resp := postTwilio(env, p)
		if st != http.StatusOK {
			t.Fatalf("status %d, %q", st, resp)
		}
		tips := env.tips()
		if len(tips) != 1 || len(tips[0].Attachments) != 2 {
			t.Fatalf("%d tips", len(tips))
		}
		tip := tips[0]
		if tip.Sender.Phone != "+85598765432" || tip.Text != "photos of the gate" {
			t.Fatalf("tip = %+v", tip)
		}
		for i, want := range []struct {
			name, mt string
			data     []byte
		}{{"media-1.png", "image/png", img1}, {"media-2.jpg", "image/jpeg", img2}} {
			a := tip.Attachments[i]
			if a.Name != want.name || a.MediaType != want.mt || a.Size != int64(len(want.data)) {
				t.Errorf("attachment %d = %+v", i, a)
			}
			if got := env.attachment(a); !bytes.Equal(got, want.data) {
				t.Errorf("attachment %d: decrypted %d bytes, not the image", i, len(got))
			}
		}
		if mh.badAuth.Load() != 0 {
			t.Fatalf("media host saw %d requests without the account's credentials", mh.badAuth.Load())
		}
	})

	t.Run("whatsapp", func(t *testing.T) {
		env := twilioEnv(t, mh, nil)
		p := inboundSMS("SM22222222222222222222222222222222", "whatsapp:+85511222333", "SOS please come")
		p.Set("To", "whatsapp:+14155238886")
		p.Set("ProfileName", "Dara")
		p.Set("WaId", "85511222333")
		p.Set("MessageType", "text")
		st, resp := postTwilio(env, p)
		if st != http.StatusOK {
			t.Fatalf("status %d, %q", st, resp)
		}
		tip := env.tips()[0]
		if tip.Channel != "whatsapp" || tip.Kind != crypto.KindDistress || tip.Sender.Phone != "+85511222333" ||
			tip.Reply.Address != "whatsapp:+85511222333" || tip.Reply.Channel != "whatsapp/twilio" || tip.Text != "SOS please come" {
			t.Fatalf("tip = %+v sender %+v reply %+v", tip, tip.Sender, tip.Reply)
		}
		if strings.Contains(env.logs.String(), "Dara") {
			t.Fatal("profile name in the logs")
		}
	})
}

func TestTwilioMediaRefused(t *testing.T) {
	mh := newMediaHost(t, map[string][]byte{"ME1": []byte("x")})
	cases := []struct {
		name, url string
		fetches   int32 // requests the media host may see
	}{
		{"host not allowed", "https://media.not-allowed.example/ME1", 0},
		{"plain http", strings.Replace(mh.url("ME1"), "https://", "http://", 1), 0},
		{"redirect off the allowed hosts", mh.url("elsewhere"), 1},
		{"user info in URL", strings.Replace(mh.url("ME1"), "https://", "https://u:p@", 1), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := twilioEnv(t, mh, nil)
			before := mh.requests.Load()
			p := inboundSMS("MM1", "+85598765432", "photo")
			p.Set("NumMedia", "1")
			p.Set("MediaUrl0", c.url)
			st, resp := postTwilio(env, p)
			if st != http.StatusBadGateway || env.queued() != 0 {
				t.Fatalf("status %d (%q), %d queued; want 502, none", st, resp, env.queued())
			}
			if got := mh.requests.Load() - before; got != c.fetches {
				t.Fatalf("media host saw %d requests, want %d", got, c.fetches)
			}
			if logs := env.logs.String(); strings.Contains(logs, "Messages/MM1") || strings.Contains(logs, "not-allowed.example") ||
				!strings.Contains(logs, "media") {
				t.Fatalf("logs name the media URL, or say nothing: %s", logs)
			}
			// The provider's retry is processed, not taken for a duplicate.
			p.Set("MediaUrl0", mh.url("ME1"))
			if st, resp := postTwilio(env, p); st != http.StatusOK || env.queued() != 1 {
				t.Fatalf("retry after failure: status %d (%q), %d queued", st, resp, env.queued())
			}
		})
	}
}

func TestTwilioMediaTooLarge(t *testing.T) {
	mh := newMediaHost(t, map[string][]byte{"ME1": bytes.Repeat([]byte("z"), 5000)})
	cfg := DefaultConfig()
	cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = testToken, testPublic, testSID
	cfg.TwilioMediaHosts = []string{mh.host()}
	env := newTestEnv(t, cfg, newMemQueue())
	env.ch.media = newMediaFetcher(testSID, testToken, cfg.TwilioMediaHosts, cfg.TwilioMediaTimeout, 1000, mh.srv.Client().Transport)
	p := inboundSMS("MM1", "+85598765432", "big")
	p.Set("NumMedia", "1")
	p.Set("MediaUrl0", mh.url("ME1"))
	if st, resp := postTwilio(env, p); st != http.StatusRequestEntityTooLarge || env.queued() != 0 {
		t.Fatalf("status %d (%q), %d queued; want 413, none", st, resp, env.queued())
	}
}

func TestTwilioReply(t *testing.T) {
	env := twilioEnv(t, nil, func(c *Config) { c.TwilioReply = true })
	// A deployment's own Khmer text, to see it escaped.
	env.ch.deps.Catalog = catalog.New(map[string]map[string]string{"km": {"sms.received": "បានទទួល <សារ>"}})
	st, resp := postTwilio(env, inboundSMS("SM3", "+85512345678", "hello"))
	if st != http.StatusOK || resp != `<?xml version="1.0" encoding="UTF-8"?><Response><Message>Message received.</Message></Response>` {
		t.Fatalf("status %d, %q", st, resp)
	}
	st, resp = postTwilio(env, inboundSMS("SM4", "+85512345678", "ជួយខ្ញុំផង"))
	if st != http.StatusOK || !strings.Contains(resp, "<Message>បានទទួល &lt;សារ&gt;</Message>") {
		t.Fatalf("status %d, %q", st, resp)
	}
	if tips := env.tips(); tips[1].Language != "km" || tips[1].Kind != crypto.KindDistress {
		t.Fatalf("khmer tip: lang %q kind %q", tips[1].Language, tips[1].Kind)
	}
	// A retry gets an empty answer: the source is not messaged twice.
	st, resp = postTwilio(env, inboundSMS("SM4", "+85512345678", "ជួយខ្ញុំផង"))
	if st != http.StatusOK || !strings.HasSuffix(resp, "<Response/>") || env.queued() != 2 {
		t.Fatalf("retry: status %d, %q, %d queued", st, resp, env.queued())
	}
}

func TestTwilioRefused(t *testing.T) {
	good := inboundSMS("SM7", "+85512345678", "hello")
	signed := func(p url.Values) (string, []byte, map[string]string) {
		return "application/x-www-form-urlencoded", []byte(p.Encode()), map[string]string{"X-Twilio-Signature": signTwilio(testToken, testPublic, p)}
	}
	cases := []struct {
		name   string
		method string
		req    func() (string, []byte, map[string]string)
		status int
	}{
		{"unsigned", "POST", func() (string, []byte, map[string]string) {
			ct, b, _ := signed(good)
			return ct, b, nil
		}, 401},
		{"bad signature", "POST", func() (string, []byte, map[string]string) {
			ct, b, h := signed(good)
			return ct, append(b, "&Extra=1"...), h
		}, 403},
		{"signature not base64", "POST", func() (string, []byte, map[string]string) {
			ct, b, _ := signed(good)
			return ct, b, map[string]string{"X-Twilio-Signature": "%%%"}
		}, 403},
		{"signed for another host", "POST", func() (string, []byte, map[string]string) {
			ct, b, _ := signed(good)
			return ct, b, map[string]string{"X-Twilio-Signature": signTwilio(testToken, "https://evil.example/webhooks/twilio", good)}
		}, 403},
		{"oversized", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM8", "+85512345678", strings.Repeat("x", 70<<10))
			return signed(p)
		}, 413},
		{"malformed form", "POST", func() (string, []byte, map[string]string) {
			return "application/x-www-form-urlencoded", []byte("Body=%zz"), map[string]string{"X-Twilio-Signature": "x"}
		}, 400},
		{"too many parameters", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM9", "+85512345678", "x")
			for i := range 300 {
				p.Set("P"+strconv.Itoa(i), "1")
			}
			return signed(p)
		}, 400},
		{"repeated From", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM10", "+85512345678", "x")
			p.Add("From", "+85500000000")
			return signed(p)
		}, 400},
		{"no From", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM11", "", "x")
			return signed(p)
		}, 400},
		{"NumMedia not a number", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM12", "+85512345678", "x")
			p.Set("NumMedia", "two")
			return signed(p)
		}, 400},
		{"more media than a tip may hold", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM13", "+85512345678", "x")
			p.Set("NumMedia", "11")
			return signed(p)
		}, 400},
		{"MediaUrl missing", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM14", "+85512345678", "x")
			p.Set("NumMedia", "1")
			return signed(p)
		}, 400},
		{"MessageSid not a SID", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM17", "+85512345678", "x")
			p.Set("MessageSid", p.Get("MessageSid")+"NumMedia0")
			p.Del("NumMedia")
			return signed(p)
		}, 400},
		{"SmsSid not the MessageSid", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM18", "+85512345678", "x")
			p.Set("SmsSid", wellFormedSID("SM19"))
			return signed(p)
		}, 400},
		{"AccountSid not a SID", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM20", "+85512345678", "x")
			p.Set("AccountSid", testSID+"x")
			return signed(p)
		}, 400},
		{"no AccountSid", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM21", "+85512345678", "x")
			p.Del("AccountSid")
			return signed(p)
		}, 400},
		{"parameter name Twilio does not use", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM22", "+85512345678", "x")
			p.Set("Num.Media", "0")
			return signed(p)
		}, 400},
		{"repeated other parameter", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM23", "+85512345678", "x")
			p.Add("FromCountry", "TH")
			return signed(p)
		}, 400},
		{"MediaUrl beyond NumMedia", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM24", "+85512345678", "x")
			p.Set("MediaUrl0", "https://api.twilio.com/x")
			return signed(p)
		}, 400},
		{"NumMedia with a leading zero", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM25", "+85512345678", "x")
			p.Set("NumMedia", "00")
			return signed(p)
		}, 400},
		{"NumSegments not a count", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM26", "+85512345678", "x")
			p.Set("NumSegments", "1SmsStatusreceived")
			p.Del("SmsStatus")
			return signed(p)
		}, 400},
		{"MessagingServiceSid not a SID", "POST", func() (string, []byte, map[string]string) {
			p := inboundSMS("SM27", "+85512345678", "x")
			p.Set("MessagingServiceSid", "MG1")
			return signed(p)
		}, 400},
		{"empty message", "POST", func() (string, []byte, map[string]string) {
			return signed(inboundSMS("SM15", "+85512345678", " \n"))
		}, 400},
		{"wrong content type", "POST", func() (string, []byte, map[string]string) {
			_, b, h := signed(good)
			return "text/plain", b, h
		}, 415},
		{"GET", "GET", func() (string, []byte, map[string]string) { return signed(good) }, 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := twilioEnv(t, nil, nil)
			ct, body, h := c.req()
			st, resp := env.do(c.method, "/webhooks/twilio", ct, body, h)
			if st != c.status || env.queued() != 0 {
				t.Fatalf("status %d (%q), %d queued; want %d, none", st, resp, env.queued(), c.status)
			}
		})
	}
}

// TestQueueDownThenRetry: a queue failure is 503 with nothing kept, and
// the provider's retry of the same message is queued, once.
func TestQueueDownThenRetry(t *testing.T) {
	env := twilioEnv(t, nil, nil)
	env.q.(*memQueue).failNextEnqueue(errors.New("disk full"))
	p := inboundSMS("SM16", "+85512345678", "hello")
	if st, resp := postTwilio(env, p); st != http.StatusServiceUnavailable || env.queued() != 0 {
		t.Fatalf("status %d (%q), %d queued; want 503, none", st, resp, env.queued())
	}
	for range 2 {
		if st, resp := postTwilio(env, p); st != http.StatusOK || env.queued() != 1 {
			t.Fatalf("retry: status %d (%q), %d queued; want 200, 1", st, resp, env.queued())
		}
	}
}

// TestTwilioMediaTimeout: a media host that stalls mid-body costs at most
// the media timeout, and nothing is queued.
func TestTwilioMediaTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(bytes.Repeat([]byte("x"), 1000))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	cfg := DefaultConfig()
	cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = testToken, testPublic, testSID
	cfg.TwilioMediaHosts = []string{strings.TrimPrefix(srv.URL, "https://")}
	cfg.TwilioMediaTimeout = 300 * time.Millisecond
	env := newTestEnv(t, cfg, newMemQueue())
	env.ch.media = newMediaFetcher(testSID, testToken, cfg.TwilioMediaHosts, cfg.TwilioMediaTimeout, 1<<20, srv.Client().Transport)
	p := inboundSMS("MM2", "+85598765432", "video")
	p.Set("NumMedia", "1")
	p.Set("MediaUrl0", srv.URL+"/media/1")
	// Without the timeout this request would never end: the stalled
	// host holds the body open until the test is over.
	st, resp := postTwilio(env, p)
	if st != http.StatusBadGateway || env.queued() != 0 {
		t.Fatalf("status %d (%q), %d queued; want 502, none", st, resp, env.queued())
	}
}
