package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/web"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/queue/embedded"
)

const metricsSentinel = "SENTINEL-METRICS-41d7"

// adminRig is a gateway with the web channel, metrics, and its intake and
// admin listeners.
type adminRig struct {
	metrics       *gateway.Metrics
	public, admin *httptest.Server
}

func newAdminRig(t *testing.T) *adminRig {
	t.Helper()
	q, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	id, _ := age.GenerateX25519Identity()
	sealer, _ := crypto.NewSealer(id.Recipient())
	m := gateway.NewMetrics(q, t.TempDir(), "test")
	in, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	hasher, _ := channels.NewHasher(make([]byte, 32))
	log := slog.New(slog.DiscardHandler)
	w := web.New("web", channels.Deps{Sink: in, Queue: q, Hasher: hasher, Catalog: catalog.New(nil), Log: log})
	chans := []channels.Channel{w}
	m.WatchChannels(chans)
	srv := gateway.NewServer(q, log, chans...)
	srv.Use(m.CountAuthFailures)
	r := &adminRig{metrics: m, public: httptest.NewServer(srv.Handler()), admin: httptest.NewServer(srv.AdminHandler(m))}
	t.Cleanup(r.public.Close)
	t.Cleanup(r.admin.Close)
	return r
}

func (r *adminRig) post(t *testing.T, kind, message string) int {
	t.Helper()
	form := url.Values{"kind": {kind}, "message": {message}, "lang": {metricsSentinel}}
	resp, err := http.PostForm(r.public.URL+"/submit", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// scrape reads /metrics with Prometheus's own text parser.
func (r *adminRig) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(r.admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// value returns the value of the series of name whose labels include
// labels (name=value pairs).
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func TestMetricsMoveHourlyAndCarryNothingOfSources(t *testing.T) {
	r := newAdminRig(t)
	ctx := context.Background()
	r.metrics.Publish(ctx)
	before := r.scrape(t)
	if v := value(before, "flare_tips_accepted_total", "channel", "web"); v > 0 {
		t.Fatalf("accepted before any tip = %v", v)
	}
	for _, kind := range []string{"distress", "tip", "evidence"} {
		if code := r.post(t, kind, metricsSentinel+" "+kind); code != http.StatusOK {
			t.Fatalf("tip refused: %d", code)
		}
	}
	if code := r.post(t, "tip", ""); code != http.StatusBadRequest {
		t.Fatalf("empty tip: %d, want 400", code)
	}

	// Until the hour turns, a scrape does not see the tips: an exact
	// counter would date each one.
	if v := value(r.scrape(t), "flare_tips_accepted_total", "channel", "web"); v > 0 {
		t.Fatalf("accepted moved before the hour was published: %v", v)
	}
	r.metrics.Publish(ctx)
	fams := r.scrape(t)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"flare_tips_accepted_total", []string{"channel", "web"}, 3},
		{"flare_tips_refused_total", []string{"channel", "web", "reason", gateway.ReasonEmpty}, 1},
		{"flare_seal_seconds", nil, 3},
		{"flare_enqueue_seconds", nil, 3},
		{"flare_queue_depth", []string{"stream", "tips"}, 3},
		{"flare_queue_depth", []string{"stream", "outbox"}, 0},
		{"flare_oldest_tip_age_hours", nil, 0},
		{"flare_channel_up", []string{"channel", "web"}, 1},
		{"flare_build_info", []string{"version", "test"}, 1},
	}
	for _, c := range checks {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if v := value(fams, "flare_data_dir_free_bytes"); v <= 0 || int64(v)%(64<<20) != 0 {
		t.Errorf("disk free = %v, want > 0 and in whole 64 MiB", v)
	}
	for name, f := range fams {
		for _, m := range f.Metric {
			for _, lp := range m.Label {
				if strings.Contains(lp.GetValue(), "SENTINEL") || strings.Contains(lp.GetValue(), "distress") {
					t.Errorf("%s has a label value from a source: %s=%q", name, lp.GetName(), lp.GetValue())
				}
			}
			if m.TimestampMs != nil {
				t.Errorf("%s carries a timestamp", name)
			}
		}
	}
}

func TestHealthOnlyOnAdminListenerWithRealTimes(t *testing.T) {
	r := newAdminRig(t)
	resp, err := http.Get(r.public.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/healthz on the intake listener: %d, want 404", resp.StatusCode)
	}
	for _, path := range []string{"/metrics", "/readyz"} {
		resp, err := http.Get(r.public.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s on the intake listener: %d, want 404", path, resp.StatusCode)
		}
	}
	resp, err = http.Get(r.admin.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rep struct {
		Started  time.Time                  `json:"started"`
		Channels map[string]channels.Health `json:"channels"`
	}
	if err := json.Unmarshal(body, &rep); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d %s %v", resp.StatusCode, body, err)
	}
	recent := func(at time.Time) bool { return time.Since(at) >= 0 && time.Since(at) < time.Minute }
	if !recent(rep.Started) {
		t.Errorf("started = %v, want about now", rep.Started)
	}
	if h, ok := rep.Channels["web"]; !ok || !recent(h.Since) {
		t.Errorf("web channel since %v, want about now (not the year 0001)", h.Since)
	}
	resp, err = http.Get(r.admin.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %d, want 200", resp.StatusCode)
	}
}

// guardedChannel is a channel with a webhook that refuses every request as
// unauthorised, as a bad signature is.
type guardedChannel struct{}

func (guardedChannel) Name() string { return "guarded" }
func (guardedChannel) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /webhooks/guarded", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad signature", http.StatusForbidden)
	})
}
func (guardedChannel) Run(context.Context) error { return nil }

func TestMetricsCountWebhookAuthFailuresByRoute(t *testing.T) {
	m := gateway.NewMetrics(nil, t.TempDir(), "test")
	srv := gateway.NewServer(nil, slog.New(slog.DiscardHandler), guardedChannel{})
	srv.Use(m.CountAuthFailures)
	public, admin := httptest.NewServer(srv.Handler()), httptest.NewServer(srv.AdminHandler(m))
	defer public.Close()
	defer admin.Close()
	for range 3 {
		resp, err := http.Post(public.URL+"/webhooks/guarded?from="+metricsSentinel, "text/plain", strings.NewReader(metricsSentinel))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	r := &adminRig{metrics: m, admin: admin}
	fams := r.scrape(t)
	if got := value(fams, "flare_webhook_auth_failures_total", "route", "POST /webhooks/guarded"); got != 3 {
		t.Fatalf("auth failures = %v, want 3 under the route's pattern", got)
	}
}
