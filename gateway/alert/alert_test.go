package alert_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/telegram/telegramtest"
	"github.com/flarehq/flare/channels/web"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/gateway/alert"
	"github.com/flarehq/flare/internal/sentinel"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/embedded"
)

// sentinelText is planted in every tip; no alert may carry it.
const sentinelText = "SENTINEL-ALERT-7f3c9e"

// staffChat is the Telegram staff chat alerts go to.
const staffChat = "-1001234567"

// httpTarget is a local ntfy-compatible or webhook receiver that can be
// made to fail.
type httpTarget struct {
	srv  *httptest.Server
	down atomic.Bool

	mu     sync.Mutex
	bodies []string
	header []http.Header
}

func newHTTPTarget(t *testing.T) *httpTarget {
	h := &httpTarget{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, string(body))
		h.header = append(h.header, r.Header.Clone())
		h.mu.Unlock()
		w.Write([]byte(`{"id":"x"}`))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *httpTarget) received() ([]string, []http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bodies...), append([]http.Header(nil), h.header...)
}

// rig is an intake with the web channel whose Observer is a Notifier.
type rig struct {
	q      queue.Queue
	web    *httptest.Server
	intake *gateway.Intake
	obs    *switchObserver
}

// switchObserver lets a test swap the Notifier, as a gateway restart does.
type switchObserver struct {
	n atomic.Pointer[alert.Notifier]
}

func (s *switchObserver) TipAccepted(ch string, k crypto.Kind, a, b time.Duration) {
	if n := s.n.Load(); n != nil {
		n.TipAccepted(ch, k, a, b)
	}
}
func (s *switchObserver) TipRefused(string, string) {}

func newRig(t *testing.T) *rig {
	t.Helper()
	q, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	id, _ := age.GenerateX25519Identity()
	sealer, _ := crypto.NewSealer(id.Recipient())
	obs := &switchObserver{}
	in, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	hasher, _ := channels.NewHasher(make([]byte, 32))
	w := web.New("web", channels.Deps{Sink: in, Queue: q, Hasher: hasher, Catalog: catalog.New(nil), Log: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return &rig{q: q, web: srv, intake: in, obs: obs}
}

// startNotifier runs a Notifier on the rig until the returned stop is
// called (a gateway stopping).
func (r *rig) startNotifier(t *testing.T, targets []alert.Target, opt alert.Options) (stop func()) {
	t.Helper()
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	n := alert.New(r.q, targets, opt)
	r.obs.n.Store(n)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			r.obs.n.Store(nil)
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// post submits a tip through the web form and wants "received".
func (r *rig) post(t *testing.T, kind string) {
	t.Helper()
	form := url.Values{"kind": {kind}, "message": {sentinelText + " " + kind}, "place": {"Shwe Kokko " + sentinelText}, "lang": {"en"}}
	req, _ := http.NewRequest(http.MethodPost, r.web.URL+"/submit", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "received") {
		t.Fatalf("tip not received: %d %s", resp.StatusCode, body)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDistressAlertsEveryTargetAtOnceAndOrdinaryCoalesce(t *testing.T) {
	r := newRig(t)
	ntfy, hook := newHTTPTarget(t), newHTTPTarget(t)
	mail := newSMTPServer(t, false)
	bot := telegramtest.NewServer(t)
	const secret = "webhook-secret-for-the-test"
	targets := []alert.Target{
		&alert.Ntfy{URL: ntfy.srv.URL + "/flare-alerts"},
		&alert.SMTP{URL: "smtp://alerts%40ngo.example@" + mail.addr, Password: "mail-pass", To: []string{"duty@ngo.example"}, TLS: mail.clientTLS},
		&alert.Telegram{APIURL: bot.URL, Token: telegramtest.Token, Chat: staffChat},
		&alert.Webhook{URL: hook.srv.URL + "/hook", Secret: secret},
	}
	interval := 3 * time.Second
	r.startNotifier(t, targets, alert.Options{Interval: interval})

	counts := func() [4]int {
		n, _ := ntfy.received()
		h, _ := hook.received()
		chatID, _ := strconv.ParseInt(staffChat, 10, 64)
		return [4]int{len(n), len(mail.received()), len(bot.Messages(chatID)), len(h)}
	}
	start := time.Now()
	r.post(t, "distress")
	waitFor(t, 2*time.Second, "every target has one alert", func() bool { return counts() == [4]int{1, 1, 1, 1} })
	t.Logf("distress alert at every target %v after the tip", time.Since(start).Round(time.Millisecond))

	// Ten ordinary tips inside the interval: one alert more, at most.
	for range 10 {
		r.post(t, "tip")
	}
	waitFor(t, interval+interval/4+2*time.Second, "one coalesced alert at every target", func() bool { return counts() == [4]int{2, 2, 2, 2} })
	time.Sleep(interval / 2)
	if c := counts(); c != [4]int{2, 2, 2, 2} {
		t.Fatalf("alerts per target (ntfy, smtp, telegram, webhook) = %v, want 2 each: one distress, one coalesced", c)
	}

	// What each target received: the fixed text, nothing from a tip.
	var all []string
	nb, _ := ntfy.received()
	all = append(all, nb...)
	for _, m := range mail.received() {
		if !m.TLS || m.Auth != "alerts@ngo.example:mail-pass" {
			t.Errorf("mail sent without STARTTLS or with the wrong login: tls=%v auth=%q", m.TLS, m.Auth)
		}
		all = append(all, m.Data)
	}
	chatID, _ := strconv.ParseInt(staffChat, 10, 64)
	for _, m := range bot.Messages(chatID) {
		all = append(all, m.Text)
	}
	hb, hh := hook.received()
	all = append(all, hb...)
	for i, body := range hb {
		ts := hh[i].Get(alert.HeaderTimestamp)
		if got, want := hh[i].Get(alert.HeaderSignature), "sha256="+alert.Sign(secret, ts, []byte(body)); got != want {
			t.Errorf("webhook signature %q, want %q", got, want)
		}
		if sec, _ := strconv.ParseInt(ts, 10, 64); time.Since(time.Unix(sec, 0)) > time.Minute {
			t.Errorf("webhook timestamp %s is not now", ts)
		}
	}
	for _, got := range all {
		if !strings.Contains(got, alert.DefaultText) {
			t.Errorf("alert %q lacks the fixed text", got)
		}
		for _, f := range sentinel.Bytes([]byte(got), "alert", sentinelText, "distress", "Shwe Kokko", "web") {
			t.Errorf("alert carries something of the tip: %v", f)
		}
	}
}

func TestAlertWaitsForTargetAndSurvivesRestartWithoutDuplicates(t *testing.T) {
	r := newRig(t)
	ntfy := newHTTPTarget(t)
	ntfy.down.Store(true)
	targets := []alert.Target{&alert.Ntfy{URL: ntfy.srv.URL + "/t"}}
	fails := &countingRecorder{}
	opt := alert.Options{Interval: time.Hour, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Recorder: fails}
	stop := r.startNotifier(t, targets, opt)

	// The target is down: tips are still received at once.
	r.post(t, "distress")
	r.post(t, "distress")
	waitFor(t, 3*time.Second, "delivery attempts fail", func() bool { return fails.failed.Load() >= 2 })
	stop() // the gateway stops with the alert still owed

	ntfy.down.Store(false)
	r.startNotifier(t, targets, opt) // and starts again
	waitFor(t, 3*time.Second, "the owed alert is delivered after the restart", func() bool { b, _ := ntfy.received(); return len(b) >= 1 })
	time.Sleep(time.Second)
	if b, _ := ntfy.received(); len(b) != 1 {
		t.Fatalf("%d alerts after the restart, want exactly 1", len(b))
	}

	// A second restart owes nothing.
	r.startNotifier(t, targets, opt)
	time.Sleep(500 * time.Millisecond)
	if b, _ := ntfy.received(); len(b) != 1 {
		t.Fatalf("%d alerts after a second restart, want still 1", len(b))
	}
}

type countingRecorder struct{ delivered, failed atomic.Int64 }

func (c *countingRecorder) AlertDelivered(string) { c.delivered.Add(1) }
func (c *countingRecorder) AlertFailed(string)    { c.failed.Add(1) }

func TestSMTPRefusesServerWithoutStartTLS(t *testing.T) {
	mail := newSMTPServer(t, true)
	m := &alert.SMTP{URL: "smtp://user@" + mail.addr, Password: "secret", To: []string{"duty@ngo.example"}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := m.Send(ctx, alert.Alert{ID: "x", Text: alert.DefaultText})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a refusal without STARTTLS", err)
	}
	if got := mail.received(); len(got) != 0 {
		t.Fatalf("mail sent in the clear: %+v", got)
	}
}

func TestConfigTargets(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(c *alert.Config)
		targets int
		wantErr string
	}{
		{"none", func(c *alert.Config) {}, 0, ""},
		{"all", func(c *alert.Config) {
			c.NtfyURL = "https://ntfy.example/t"
			c.SMTPURL, c.EmailTo = "smtp://u@mail.example:587", []string{"a@x.example, b@x.example"}
			c.TelegramToken, c.TelegramChat = "1:abc", "-100"
			c.WebhookURL, c.WebhookSecret = "https://hook.example", "s"
		}, 4, ""},
		{"smtp without recipient", func(c *alert.Config) { c.SMTPURL = "smtp://u@mail.example" }, 0, "FLARE_ALERT_EMAIL_TO"},
		{"password in URL", func(c *alert.Config) { c.SMTPURL, c.EmailTo = "smtp://u:pw@mail.example", []string{"a@x"} }, 0, "FLARE_ALERT_SMTP_PASSWORD"},
		{"telegram without chat", func(c *alert.Config) { c.TelegramToken = "1:abc" }, 0, "FLARE_ALERT_TELEGRAM_CHAT"},
		{"webhook without secret", func(c *alert.Config) { c.WebhookURL = "https://hook.example" }, 0, "FLARE_ALERT_WEBHOOK_SECRET"},
		{"two-line text", func(c *alert.Config) { c.Text = "look\nnow" }, 0, "one non-empty line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := alert.DefaultConfig()
			tt.cfg(&c)
			got, err := c.Targets()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.targets {
				t.Fatalf("got %d targets, %v; want %d", len(got), err, tt.targets)
			}
		})
	}
}

func TestSettingsHaveNoFlagsForCredentials(t *testing.T) {
	c := alert.DefaultConfig()
	for _, s := range c.Settings() {
		if !strings.HasPrefix(s.Env, "FLARE_ALERT_") {
			t.Errorf("%s: variable %q is not FLARE_ALERT_*", s.Key, s.Env)
		}
		if s.Key != "alert.text" && s.Key != "alert.interval" && (s.Flag != "" || !s.Secret) {
			t.Errorf("%s: a target's address or credential must be a secret without a flag", s.Key)
		}
	}
}
