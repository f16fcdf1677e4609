package sms

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/queue"
)

const (
	vonageKey     = "vonage-test-api-key"
	vonageSecret2 = "vonage-test-api-secret-5c1e"
	twilioFrom    = "+18005550100"
	vonageFrom    = "FlareNGO"
	optInWord     = "SAFE"
	receivedEN    = "Message received. We will not write again unless you ask."
	receivedKM    = "យើងបានទទួលសាររបស់អ្នកហើយ។"
)

// providerCall is one request the fake provider received.
type providerCall struct {
	Method, Path string
	Form         url.Values
}

// fakeProvider speaks the parts of Twilio's Messages API and Vonage's SMS
// API that replies use, on 127.0.0.1, and refuses requests without the
// right credentials as they do (Twilio: HTTP basic auth with the account
// SID and auth token, 401; Vonage: api_key and api_secret in the form,
// status "4").
type fakeProvider struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []providerCall
	// deleteEarly makes the first DELETE fail as Twilio does while it is
	// still processing the message (error 20009).
	deleteEarly bool
	// failPost, when set, is the status of the next POST (a provider
	// outage).
	failPost int
}

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	p := &fakeProvider{}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeProvider) serve(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	p.mu.Lock()
	p.calls = append(p.calls, providerCall{r.Method, r.URL.Path, r.PostForm})
	early := p.deleteEarly && r.Method == http.MethodDelete
	if early {
		p.deleteEarly = false
	}
	p.mu.Unlock()
	fail := 0
	if r.Method == http.MethodPost {
		p.mu.Lock()
		fail, p.failPost = p.failPost, 0
		p.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	if fail != 0 {
		w.WriteHeader(fail)
		return
	}
	twilioBase := "/2010-04-01/Accounts/" + testSID + "/Messages"
	switch {
	case r.URL.Path == "/sms/json" && r.Method == http.MethodPost:
		if r.PostForm.Get("api_key") != vonageKey || r.PostForm.Get("api_secret") != vonageSecret2 {
			json.NewEncoder(w).Encode(map[string]any{"message-count": "1", "messages": []map[string]string{{"status": "4", "error-text": "Bad Credentials"}}})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"message-count": "1", "messages": []map[string]string{{"to": r.PostForm.Get("to"), "message-id": "0A0000000123ABCD1", "status": "0"}}})
	case strings.HasPrefix(r.URL.Path, twilioBase):
		if u, pw, ok := r.BasicAuth(); !ok || u != testSID || pw != testToken {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"code": 20003, "message": "Authenticate", "status": 401}`))
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == twilioBase+".json":
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"sid": "SM00000000000000000000000000000abc", "status": "queued"}`))
		case r.Method == http.MethodDelete && r.URL.Path == twilioBase+"/SM00000000000000000000000000000abc.json":
			if early {
				w.WriteHeader(http.StatusConflict)
				w.Write([]byte(`{"code": 20009, "status": 409}`))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (p *fakeProvider) taken() []providerCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.calls
	p.calls = nil
	return out
}

func replyTemplates() map[string]map[string]string {
	return map[string]map[string]string{"received": {"en": receivedEN, "km": receivedKM}}
}

// replyEnv is a gateway's SMS channel with an outbox, a fake provider, and
// a console's reply book for two key-holders.
type replyEnv struct {
	*testEnv
	prov    *fakeProvider
	outbox  *gateway.Outbox
	gwID    *age.X25519Identity
	replies *console.Replies
}

func newReplyEnv(t *testing.T, q queue.Queue, edit func(*Config)) *replyEnv {
	t.Helper()
	prov := newFakeProvider(t)
	cfg := DefaultConfig()
	cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = testToken, testPublic, testSID
	cfg.VonageSignatureMethod, cfg.VonageSignatureSecret = "md5hash", vonageSecret
	cfg.Replies.Mode = RepliesTemplates
	cfg.Replies.Templates = replyTemplates()
	cfg.Replies.OptInWord = optInWord
	cfg.Replies.TwilioFrom, cfg.Replies.TwilioAPIURL = twilioFrom, prov.srv.URL
	cfg.Replies.VonageAPIKey, cfg.Replies.VonageAPISecret, cfg.Replies.VonageFrom, cfg.Replies.VonageAPIURL = vonageKey, vonageSecret2, vonageFrom, prov.srv.URL
	if edit != nil {
		edit(&cfg)
	}
	env := newTestEnv(t, cfg, q)
	gw, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ob, err := gateway.NewOutbox(gateway.OutboxConfig{Queue: q, Identity: gw})
	if err != nil {
		t.Fatal(err)
	}
	env.ch.UseOutbox(ob)
	sealer, err := crypto.NewSealer(env.recipient)
	if err != nil {
		t.Fatal(err)
	}
	return &replyEnv{testEnv: env, prov: prov, outbox: ob, gwID: gw, replies: console.NewReplies(q, sealer, env.ids)}
}

// item is the case of the last queued tip, as a console sees it.
func (e *replyEnv) item() *console.Item {
	e.t.Helper()
	msgs, err := e.q.List(context.Background(), queue.StreamTips, "", 1000)
	if err != nil || len(msgs) == 0 {
		e.t.Fatalf("no tip queued: %v", err)
	}
	m := msgs[len(msgs)-1]
	tip, err := crypto.OpenTip(m.Body, e.ids...)
	if err != nil {
		e.t.Fatal(err)
	}
	return &console.Item{Key: m.ID, Entries: []console.Entry{{QueueID: m.ID, Tip: tip}}, Tip: tip}
}

// approveReply proposes the "received" template as alice and approves it
// as bob, addressed as the console addresses it.
func (e *replyEnv) approveReply(item *console.Item, lang string) console.SentReply {
	e.t.Helper()
	ctx := context.Background()
	prop, err := e.replies.ProposeSMS(ctx, item, item.Tip.Channel, "received", lang, replyTemplates()["received"][lang], "alice")
	if err != nil {
		e.t.Fatal(err)
	}
	addr, ok := ReplyAddress(item.Tip.Reply)
	if !ok {
		e.t.Fatalf("no reply address for %+v", item.Tip.Reply)
	}
	sent, err := e.replies.ApproveSMS(ctx, e.q, item, []age.Recipient{e.gwID.Recipient()}, prop.ID, addr, time.Time{}, "bob")
	if err != nil {
		e.t.Fatal(err)
	}
	return sent
}

func (e *replyEnv) state(s console.SentReply) string {
	e.t.Helper()
	st, err := e.replies.ReplyState(context.Background(), s)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *replyEnv) outboxLen() int {
	e.t.Helper()
	msgs, err := e.q.List(context.Background(), queue.StreamOutbox, "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(msgs)
}

// TestTwilioTemplateReply: the opt-in word is recorded in the sealed tip;
// one key-holder alone sends nothing; the second's approval sends exactly
// one message with the right To, From and Body, authenticated; Twilio's
// DELETE follows (again, when Twilio is not ready at first); nothing is
// sent twice.
func TestTwilioTemplateReply(t *testing.T) {
	ctx := context.Background()
	env := newReplyEnv(t, newMemQueue(), nil)
	if st, resp := postTwilio(env.testEnv, inboundSMS("SM1", "+85512345678", "they took our passports. "+strings.ToLower(optInWord))); st != http.StatusOK {
		t.Fatalf("inbound: %d %q", st, resp)
	}
	item := env.item()
	if item.Tip.Fields["reply_ok"] != "yes" {
		t.Fatalf("the opt-in word was not recorded: %v", item.Tip.Fields)
	}

	prop, err := env.replies.ProposeSMS(ctx, item, "sms", "received", "en", receivedEN, "alice")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := ReplyAddress(item.Tip.Reply)
	if addr != "twilio:+85512345678" {
		t.Fatalf("reply address %q", addr)
	}
	gws := []age.Recipient{env.gwID.Recipient()}
	if _, err := env.replies.ApproveSMS(ctx, env.q, item, gws, prop.ID, addr, time.Time{}, "alice"); !errors.Is(err, console.ErrSameApprover) {
		t.Fatalf("self-approval: %v", err)
	}
	env.ch.deliverDue(ctx)
	if calls := env.prov.taken(); len(calls) != 0 {
		t.Fatalf("one key-holder alone sent %d requests", len(calls))
	}

	env.prov.deleteEarly = true
	sent, err := env.replies.ApproveSMS(ctx, env.q, item, gws, prop.ID, addr, time.Time{}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	env.ch.deliverDue(ctx)
	calls := env.prov.taken()
	if len(calls) != 2 || calls[0].Method != "POST" || calls[1].Method != "DELETE" {
		t.Fatalf("provider saw %+v, want one POST then a DELETE", calls)
	}
	f := calls[0].Form
	if f.Get("To") != "+85512345678" || f.Get("From") != twilioFrom || f.Get("Body") != receivedEN || len(f) != 3 {
		t.Fatalf("sent %v", f)
	}
	if st := env.state(sent); st != "delivered" {
		t.Fatalf("state %q", st)
	}
	if env.outboxLen() != 0 {
		t.Fatal("the delivered entry is still in the outbox")
	}
	// Twilio was not ready to delete: the DELETE is tried again later,
	// and nothing is sent again.
	env.ch.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	env.ch.deliverDue(ctx)
	calls = env.prov.taken()
	if len(calls) != 1 || calls[0].Method != "DELETE" || !strings.HasSuffix(calls[0].Path, "/Messages/SM00000000000000000000000000000abc.json") {
		t.Fatalf("after Twilio's 20009 the provider saw %+v, want one more DELETE", calls)
	}
	env.ch.deliverDue(ctx)
	if calls := env.prov.taken(); len(calls) != 0 {
		t.Fatalf("after delivery and deletion the provider saw %+v", calls)
	}
}

// TestVonageTemplateReply: Vonage gets api_key and api_secret, the number
// without "+", and type=unicode for a Khmer text; a WhatsApp tip from
// Twilio is answered from the whatsapp: form of the number.
func TestVonageTemplateReply(t *testing.T) {
	ctx := context.Background()
	env := newReplyEnv(t, newMemQueue(), nil)
	if st, resp := sendVonage(env.testEnv, "json", vonagePart(time.Now(), "0B000001", "85512345678", "", 1, 1, "SAFE help")); st != http.StatusNoContent {
		t.Fatalf("inbound: %d %q", st, resp)
	}
	sent := env.approveReply(env.item(), "km")
	env.ch.deliverDue(ctx)
	calls := env.prov.taken()
	if len(calls) != 1 || calls[0].Path != "/sms/json" {
		t.Fatalf("provider saw %+v", calls)
	}
	f := calls[0].Form
	want := url.Values{"api_key": {vonageKey}, "api_secret": {vonageSecret2}, "from": {vonageFrom}, "to": {"85512345678"}, "text": {receivedKM}, "type": {"unicode"}}
	if f.Encode() != want.Encode() {
		t.Fatalf("sent %v\nwant %v", f, want)
	}
	if st := env.state(sent); st != "delivered" {
		t.Fatalf("state %q", st)
	}

	if st, resp := postTwilio(env.testEnv, inboundSMS("SM2", "whatsapp:+85598765432", "SAFE")); st != http.StatusOK {
		t.Fatalf("inbound whatsapp: %d %q", st, resp)
	}
	env.approveReply(env.item(), "en")
	env.ch.deliverDue(ctx)
	calls = env.prov.taken()
	if len(calls) != 2 || calls[0].Form.Get("To") != "whatsapp:+85598765432" || calls[0].Form.Get("From") != "whatsapp:"+twilioFrom {
		t.Fatalf("whatsapp reply: %+v", calls)
	}
}

// TestRepliesRefused: with replies off nothing is sent and the reply ends
// "refused: replies off"; a text that is not the deployment's template is
// refused; wrong credentials end in "failed"; the kill switch cancels an
// approved reply before the gateway sends it.
func TestRepliesRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		edit   func(*Config)
		before func(env *replyEnv, item *console.Item)
		want   string
		calls  int
	}{
		{name: "replies off", edit: func(c *Config) { c.Replies.Mode = RepliesOff }, want: string(refusedOff)},
		{name: "not a template", edit: func(c *Config) {
			c.Replies.Templates = map[string]map[string]string{"received": {"en": "Another text."}}
		}, want: string(refusedTemplate)},
		{name: "wrong credentials", edit: func(c *Config) { c.TwilioAuthToken = "not-the-token" }, want: string(failedProvider), calls: 1},
		{name: "no sender for the provider", edit: func(c *Config) { c.Replies.TwilioFrom = "" }, want: string(refusedProvider)},
		{name: "kill switch", before: func(env *replyEnv, item *console.Item) {
			if _, err := env.replies.StopContactOutbox(ctx, env.q, item.Key, "carol"); err != nil {
				t.Fatal(err)
			}
		}, want: "cancelled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newReplyEnv(t, newMemQueue(), tc.edit)
			// The inbound webhook is signed with the real token.
			env.ch.twilio, _ = newTwilioSigner(testToken, testPublic)
			if st, resp := postTwilio(env.testEnv, inboundSMS("SM3", "+85512345678", "SAFE")); st != http.StatusOK {
				t.Fatalf("inbound: %d %q", st, resp)
			}
			item := env.item()
			sent := env.approveReply(item, "en")
			if tc.before != nil {
				tc.before(env, item)
			}
			env.ch.deliverDue(ctx)
			if calls := env.prov.taken(); len(calls) != tc.calls {
				t.Fatalf("provider saw %+v, want %d requests", calls, tc.calls)
			}
			b, _, err := env.replies.Book(ctx, item.Key)
			if err != nil {
				t.Fatal(err)
			}
			if st := env.state(b.Replies[0]); st != tc.want {
				t.Fatalf("state %q, want %q", st, tc.want)
			}
			if env.outboxLen() != 0 {
				t.Fatal("the entry is still in the outbox")
			}
			_ = sent
			if strings.Contains(env.logs.String(), "+85512345678") || strings.Contains(env.logs.String(), receivedEN) {
				t.Fatal("the log holds the number or the reply")
			}
		})
	}
}

// TestReplyTemplatesFitOneSegment: every template is checked at start;
// one that does not fit one SMS segment stops the channel.
func TestReplyTemplatesFitOneSegment(t *testing.T) {
	tests := []struct {
		name, text string
		segments   int
		ucs2       bool
	}{
		{"empty", "", 0, false},
		{"gsm-7 160", strings.Repeat("a", 160), 1, false},
		{"gsm-7 161", strings.Repeat("a", 161), 2, false},
		{"gsm-7 extension takes two", strings.Repeat("a", 150) + "[]{}€", 1, false},
		{"gsm-7 extension over", strings.Repeat("a", 151) + "[]{}€", 2, false},
		{"ucs-2 70", strings.Repeat("ក", 70), 1, true},
		{"ucs-2 71", strings.Repeat("ក", 71), 2, true},
		{"one emoji makes it ucs-2", strings.Repeat("a", 68) + "🙂", 1, true},
		{"emoji takes two units", strings.Repeat("a", 69) + "🙂", 2, true},
		{"en template", receivedEN, 1, false},
		{"km template", receivedKM, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n, ucs2 := replySegments(tc.text); n != tc.segments || ucs2 != tc.ucs2 {
				t.Fatalf("segments %d ucs2 %v, want %d %v", n, ucs2, tc.segments, tc.ucs2)
			}
		})
	}
	cfg := DefaultConfig()
	cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = testToken, testPublic, testSID
	cfg.Replies.Mode, cfg.Replies.TwilioFrom = RepliesTemplates, twilioFrom
	cfg.Replies.Templates = map[string]map[string]string{"received": {"en": receivedEN, "km": strings.Repeat("ក", 71)}}
	if err := cfg.validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "sms.templates.received.km") {
		t.Fatalf("a two-segment template: %v", err)
	}
	cfg.Replies.Templates = replyTemplates()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	// The neutral TwiML answer is one segment too.
	if n, _ := replySegments("Message received."); n != 1 {
		t.Fatal("sms.received is more than one segment")
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Replies.Mode = "free" },
		func(c *Config) { c.Replies.Templates = nil },
		func(c *Config) { c.Replies.TwilioFrom = "" },
		func(c *Config) { c.Replies.VonageFrom = vonageFrom },
		func(c *Config) { c.Replies.TwilioAPIURL = "https://user:pw@api.example" },
	} {
		c := cfg
		bad(&c)
		if err := c.validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("bad reply config accepted: %+v", c.Replies)
		}
	}
}
