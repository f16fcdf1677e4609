package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

type twilioCase struct {
	ID          string                     `json:"id"`
	Token       string                     `json:"token"`
	URL         string                     `json:"url"`
	Params      map[string]json.RawMessage `json:"params"`
	RawBody     *string                    `json:"raw_body"`
	ContentType string                     `json:"content_type"`
	Signature   string                     `json:"signature"`
	ExpectValid bool                       `json:"expect_valid"`
}

// twilioPolicy marks the vectors that validate only because of a stated
// policy (see twilioSigner), with the policy that makes them pass.
var twilioPolicy = map[string]string{
	"https-nonstandard-port-stripped": "port removed",
	"go-7-params-https-port-1234":     "port removed",
	"go-7-params-http-port-1234":      "port removed",
	"https-signed-with-443":           "default port added",
	"http-signed-with-80":             "default port added",
	"url-with-userinfo-443":           "default port added",
	"url-with-user-only-443":          "default port added",
	"json-empty-object-body":          "default port added",
	"multi-value-with-duplicates":     "repeated identical values signed once",
}

func loadTwilioCases(t *testing.T) []twilioCase {
	t.Helper()
	b, err := os.ReadFile("testdata/twilio.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []twilioCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) != 28 {
		t.Fatalf("want 28 Twilio cases, got %d", len(f.Cases))
	}
	return f.Cases
}

// params returns a case's parameters in the order a form body lists them.
func (c twilioCase) params(t *testing.T) url.Values {
	t.Helper()
	v := url.Values{}
	for k, raw := range c.Params {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			v.Add(k, one)
			continue
		}
		var many []string
		if err := json.Unmarshal(raw, &many); err != nil {
			t.Fatalf("%s: param %s: %v", c.ID, k, err)
		}
		for _, x := range many {
			v.Add(k, x)
		}
	}
	return v
}

// split returns the public URL to configure (no query) and the query as
// it goes on the wire. The one case with a quote in its query
// (query-with-quote) was signed over "It%27s": an HTTP client following
// the WHATWG URL rules sends the quote percent-encoded, and the endpoint
// checks the query byte for byte as it arrived, so the test sends it so.
func (c twilioCase) split() (publicURL, wireQuery string) {
	base, q, _ := strings.Cut(c.URL, "?")
	return base, strings.ReplaceAll(q, "'", "%27")
}

func (c twilioCase) body(t *testing.T) (contentType string, body []byte) {
	if c.RawBody != nil {
		return c.ContentType, []byte(*c.RawBody)
	}
	return "application/x-www-form-urlencoded", []byte(c.params(t).Encode())
}

// TestTwilioVectorsSigner checks every published case against the
// signature check alone, and that the policy-marked cases are exactly the
// ones a strict check (the URL as configured, every value signed) rejects.
func TestTwilioVectorsSigner(t *testing.T) {
	for _, c := range loadTwilioCases(t) {
		t.Run(c.ID, func(t *testing.T) {
			pub, q := c.split()
			s, err := newTwilioSigner(c.Token, pub)
			if err != nil {
				t.Fatal(err)
			}
			ct, body := c.body(t)
			var got bool
			if ct == "application/json" {
				got = s.verifyJSON(c.Signature, q, body)
			} else {
				got = s.verifyForm(c.Signature, q, c.params(t))
			}
			if got != c.ExpectValid {
				t.Fatalf("valid = %v, want %v", got, c.ExpectValid)
			}
			if !c.ExpectValid {
				return
			}
			m := hmac.New(sha1.New, []byte(c.Token))
			m.Write([]byte(withQuery(pub, q)))
			if ct != "application/json" {
				m.Write([]byte(formSuffix(c.params(t), false)))
			}
			strict := base64.StdEncoding.EncodeToString(m.Sum(nil)) == c.Signature
			if _, marked := twilioPolicy[c.ID]; strict == marked {
				t.Fatalf("strict check = %v but policy mark = %q: the policy list is out of date", strict, twilioPolicy[c.ID])
			}
		})
	}
}

// TestTwilioVectorsHTTP sends every case to the endpoint as Twilio would,
// and each valid one again with one parameter, the URL or the token
// changed: those must get 403 and queue nothing.
func TestTwilioVectorsHTTP(t *testing.T) {
	for _, c := range loadTwilioCases(t) {
		t.Run(c.ID, func(t *testing.T) {
			pub, q := c.split()
			ct, body := c.body(t)
			send := func(token, public string, body []byte) (int, string, *testEnv) {
				cfg := DefaultConfig()
				cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = token, public, "ACtest"
				env := newTestEnv(t, cfg, newMemQueue())
				target := "/webhooks/twilio"
				if q != "" {
					target += "?" + q
				}
				st, resp := env.do("POST", target, ct, body, map[string]string{"X-Twilio-Signature": c.Signature})
				return st, resp, env
			}
			st, resp, env := send(c.Token, pub, body)
			if !c.ExpectValid {
				if st != http.StatusForbidden || env.queued() != 0 {
					t.Fatalf("invalid case: status %d (%q), %d queued; want 403, none", st, resp, env.queued())
				}
				return
			}
			switch c.ID {
			case "ruby-real-sms-2010": // a real inbound SMS
				if st != http.StatusOK || env.queued() != 1 {
					t.Fatalf("real SMS: status %d (%q), %d queued; want 200, 1", st, resp, env.queued())
				}
				tip := env.tips()[0]
				if tip.Text != "Orly" || tip.Sender.Phone != "+14159354345" {
					t.Fatalf("tip = %q from %q", tip.Text, tip.Sender.Phone)
				}
			default: // signed correctly, but a voice call or test body, not a message
				if st != http.StatusBadRequest || !strings.Contains(resp, "not an inbound message") || env.queued() != 0 {
					t.Fatalf("status %d (%q), %d queued; want 400 not an inbound message, none", st, resp, env.queued())
				}
			}

			changed := map[string]func() (int, string, *testEnv){
				"token": func() (int, string, *testEnv) { return send(c.Token+"0", pub, body) },
				"url":   func() (int, string, *testEnv) { return send(c.Token, pub+"x", body) },
				"param": func() (int, string, *testEnv) {
					if ct == "application/json" {
						return send(c.Token, pub, append([]byte(" "), body...))
					}
					p := c.params(t)
					for k := range p {
						p.Set(k, p.Get(k)+"1")
						break
					}
					return send(c.Token, pub, []byte(p.Encode()))
				},
			}
			for what, f := range changed {
				st, resp, env := f()
				if st != http.StatusForbidden || env.queued() != 0 {
					t.Errorf("%s changed: status %d (%q), %d queued; want 403, none", what, st, resp, env.queued())
				}
			}
		})
	}
}
