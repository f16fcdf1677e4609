package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/sentinel"
)

const (
	smsTestSID    = "AC00000000000000000000000000000077"
	smsTestToken  = "twilio-e2e-token-7c1d0e9a55"
	smsTestPublic = "https://flare.example.org/webhooks/twilio"
	smsTestFrom   = "+18005550199"
	smsTestText   = "We got your message. Reply SAFE again if you can talk."
)

// twilioAPI is a local server speaking Twilio's Messages API: it checks
// HTTP basic auth with the account SID and auth token, and records what it
// was asked.
type twilioAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []string // "POST To From Body" or "DELETE path"
}

func newTwilioAPI(t *testing.T) *twilioAPI {
	api := &twilioAPI{}
	base := "/2010-04-01/Accounts/" + smsTestSID + "/Messages"
	api.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != smsTestSID || p != smsTestToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.ParseForm()
		api.mu.Lock()
		defer api.mu.Unlock()
		switch {
		case r.Method == "POST" && r.URL.Path == base+".json":
			api.calls = append(api.calls, "POST "+r.PostForm.Get("To")+" "+r.PostForm.Get("From")+" "+r.PostForm.Get("Body"))
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"sid":"SM0000000000000000000000000000e2e1","status":"queued"}`)
		case r.Method == "DELETE" && r.URL.Path == base+"/SM0000000000000000000000000000e2e1.json":
			api.calls = append(api.calls, "DELETE "+r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(api.srv.Close)
	return api
}

func (api *twilioAPI) seen() []string {
	api.mu.Lock()
	defer api.mu.Unlock()
	return append([]string(nil), api.calls...)
}

// postTwilioSMS posts an inbound SMS to the gateway, signed as Twilio
// signs: HMAC-SHA1 with the auth token over the URL and the sorted
// parameters.
func postTwilioSMS(t *testing.T, addr, sid, from, body string) {
	t.Helper()
	p := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {smsTestSID}, "From": {from}, "To": {smsTestFrom}, "Body": {body}, "NumMedia": {"0"}}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := smsTestPublic
	for _, k := range keys {
		s += k + p.Get(k)
	}
	m := hmac.New(sha1.New, []byte(smsTestToken))
	m.Write([]byte(s))
	req, _ := http.NewRequest("POST", "http://"+addr+"/webhooks/twilio", strings.NewReader(p.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("inbound sms: status %d", resp.StatusCode)
	}
}

var proposedRE = regexp.MustCompile(`Reply (\S+) proposed`)

// TestConsoleSMSReplyEndToEnd is the SMS test, with the real
// binary: a gateway with template replies and a local Twilio API; the
// console refuses free text and a reply while the deployment's file says
// replies are off; one key-holder alone cannot send; the kill switch
// cancels an approved reply before the gateway sends it; the second
// key-holder's approval sends exactly one message with the right To, From
// and Body, then Twilio's DELETE; and neither the number nor the text is
// in the data directory or the logs.
func TestConsoleSMSReplyEndToEnd(t *testing.T) {
	api := newTwilioAPI(t)
	alice, aliceR := keyholder(t, false)
	bob, bobR := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	confDir := t.TempDir()
	conf := filepath.Join(confDir, "flare.toml")
	os.WriteFile(conf, []byte(`[sms]
replies = "templates"
optin_word = "SAFE"

[sms.templates.received]
en = "`+smsTestText+`"
km = "យើងបានទទួលសាររបស់អ្នកហើយ។"
`), 0o600)
	offConf := filepath.Join(confDir, "off.toml")
	os.WriteFile(offConf, []byte("[sms]\nreplies = \"off\"\n[sms.templates.received]\nen = \"x\"\n"), 0o600)

	env := []string{"FLARE_TWILIO_AUTH_TOKEN=" + smsTestToken, "FLARE_TWILIO_PUBLIC_URL=" + smsTestPublic,
		"FLARE_TWILIO_ACCOUNT_SID=" + smsTestSID, "FLARE_TWILIO_FROM=" + smsTestFrom, "FLARE_TWILIO_API_URL=" + api.srv.URL}
	gwArgs := []string{"--config", conf, "--recipient", aliceR, "--recipient", bobR, "--queue", queueURL, "--data-dir", dataDir}
	g := startGateway(t, env, gwArgs...)
	const phone, phone2 = "+85512345678", "+85598765432"
	postTwilioSMS(t, g.addr, "SM00000000000000000000000000000001", phone, "they took our passports SAFE")
	postTwilioSMS(t, g.addr, "SM00000000000000000000000000000002", phone2, "SAFE building C")
	logs1 := string(g.logs.Bytes())
	g.stop()

	list := runFlare(t, "console", "list", "--identity", alice, "--queue", queueURL)
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 {
		t.Fatalf("console list:\n%s", list)
	}
	id1, id2 := strings.Fields(lines[1])[0], strings.Fields(lines[2])[0]
	gwRecipient := strings.TrimSpace(runFlare(t, "gateway", "outbound-recipient", "--data-dir", dataDir))
	common := []string{"--queue", queueURL, "--recipient", aliceR, "--recipient", bobR}
	as := func(who string, args ...string) (int, string, string) {
		return runApp(t, nil, append(append(args, "--identity", who), common...)...)
	}

	// Free text and replies off are refused before anything is written.
	if code, _, stderr := as(alice, "console", "reply", id1, "--text", "which building?"); code == 0 || !strings.Contains(stderr, "templates") {
		t.Fatalf("free text to an SMS source: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := as(alice, "console", "reply", id1, "--template", "received", "--sms-templates", offConf); code == 0 || !strings.Contains(stderr, "replies are off") {
		t.Fatalf("reply with replies off: exit %d\n%s", code, stderr)
	}
	if code, stdout, _ := as(alice, "console", "replies", id1); code != 0 || !strings.Contains(stdout, "No replies yet") {
		t.Fatalf("a refused reply was recorded:\n%s", stdout)
	}

	propose := func(id string) string {
		code, stdout, stderr := as(alice, "console", "reply", id, "--template", "received", "--lang", "en", "--sms-templates", conf)
		m := proposedRE.FindStringSubmatch(stdout)
		if code != 0 || m == nil {
			t.Fatalf("propose: exit %d\n%s%s", code, stdout, stderr)
		}
		return m[1]
	}
	approve := func(who, id, reply string) (int, string) {
		code, stdout, stderr := as(who, "console", "approve", id, reply, "--gateway-recipient", gwRecipient)
		return code, stdout + stderr
	}
	r1 := propose(id1)
	if code, out := approve(alice, id1, r1); code == 0 || !strings.Contains(out, "second key-holder") {
		t.Fatalf("self-approval: exit %d\n%s", code, out)
	}
	if code, out := approve(bob, id1, r1); code != 0 {
		t.Fatalf("approve: %s", out)
	}
	// The second source's reply is approved, then the kill switch
	// withdraws it before any gateway runs.
	r2 := propose(id2)
	if code, out := approve(bob, id2, r2); code != 0 {
		t.Fatalf("approve: %s", out)
	}
	if code, out, errOut := as(bob, "console", "stop-contact", id2); code != 0 || !strings.Contains(out, "1 reply withdrawn") {
		t.Fatalf("stop-contact: %s%s", out, errOut)
	}

	g = startGateway(t, env, gwArgs...)
	deadline := time.Now().Add(30 * time.Second)
	for len(api.seen()) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // anything more would show now
	want := []string{"POST " + phone + " " + smsTestFrom + " " + smsTestText, "DELETE /2010-04-01/Accounts/" + smsTestSID + "/Messages/SM0000000000000000000000000000e2e1.json"}
	if got := api.seen(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Twilio saw:\n%s\nwant:\n%s\nlogs:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), g.logs.Bytes())
	}
	_, out1, _ := as(alice, "console", "replies", id1)
	_, out2, _ := as(alice, "console", "replies", id2)
	if !strings.Contains(out1, "delivered") || !strings.Contains(out2, "cancelled") || !strings.Contains(out2, "Kill switch on") {
		t.Fatalf("replies:\n%s\n%s", out1, out2)
	}
	logs := logs1 + string(g.logs.Bytes())
	g.stop()

	needles := []string{phone, strings.TrimPrefix(phone, "+"), phone2, smsTestText, "took our passports", smsTestToken}
	findings := sentinel.Bytes([]byte(logs), "logs", needles...)
	found, err := sentinel.Dir(dataDir, needles...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(findings, found...) {
		t.Error(f)
	}
	if !strings.Contains(logs, "sms reply sent") {
		t.Fatalf("the logs captured nothing of the delivery: the scan would prove little\n%s", logs)
	}
}

// TestWhatsAppWindowLine: the console says whether WhatsApp still takes a
// reply, and closes the window at the whole hour before it ends.
func TestWhatsAppWindowLine(t *testing.T) {
	now := time.Date(2026, 12, 2, 17, 30, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{time.Hour, "WhatsApp window open until 2026-12-03 16:00 UTC"},
		{23 * time.Hour, "WhatsApp window open until 2026-12-02 18:00 UTC"},
		{24*time.Hour - 10*time.Minute, "WhatsApp window closed"},
		{30 * time.Hour, "WhatsApp window closed"},
	}
	for _, tc := range tests {
		item := &console.Item{Tip: &crypto.Tip{Channel: "whatsapp", Received: now.Add(-tc.ago)}}
		if got := whatsAppWindowLine(item, now); !strings.HasPrefix(got, tc.want) {
			t.Errorf("last message %v ago: %q, want %q…", tc.ago, got, tc.want)
		}
	}
}

// TestGatewayRefusesLongTemplate: a reply template over one SMS segment
// stops the gateway at start, naming it.
func TestGatewayRefusesLongTemplate(t *testing.T) {
	_, recipient := keyholder(t, false)
	dir := t.TempDir()
	conf := filepath.Join(dir, "flare.toml")
	os.WriteFile(conf, []byte("[sms]\nreplies = \"templates\"\n[sms.templates.received]\nen = \"Message received.\"\nkm = \""+strings.Repeat("ក", 71)+"\"\n"), 0o600)
	env := []string{"FLARE_TWILIO_AUTH_TOKEN=" + smsTestToken, "FLARE_TWILIO_PUBLIC_URL=" + smsTestPublic,
		"FLARE_TWILIO_ACCOUNT_SID=" + smsTestSID, "FLARE_TWILIO_FROM=" + smsTestFrom}
	code, _, stderr := runApp(t, env, "gateway", "--config", conf, "--recipient", recipient, "--data-dir", filepath.Join(dir, "data"),
		"--listen", freeAddr(t), "--admin-listen", freeAddr(t))
	if code == 0 || !strings.Contains(stderr, "sms.templates.received.km does not fit one SMS segment") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}
