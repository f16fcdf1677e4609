package gateway

import (
	"context"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// MetricsPeriod is how often the tip-related metrics are published. Those
// series move only when a tip arrives (a small NGO sees a few a day), so
// an exact counter scraped every 15 seconds would date each tip to the
// scrape; published once an hour, they date it no finer than the seal's
// own minute-rounded, hour-padded time does.
const MetricsPeriod = time.Hour

// Metrics is the gateway's Prometheus registry, served on the admin
// listener. It implements Observer.
//
// Two kinds of series: live ones (build info, channel and tor state, disk
// free, signature failures on webhooks) are read at each scrape; tip
// ones (accepted and refused tips, seal and enqueue latency, alerts, queue
// and outbox depth, age of the oldest tip) are counted as they happen but
// shown as they stood at the last whole period (see MetricsPeriod). No
// label value comes from a tip or a source: channel names, fixed reasons
// and route patterns only.
type Metrics struct {
	live   *prometheus.Registry
	hourly *prometheus.Registry

	accepted     *prometheus.CounterVec
	refused      *prometheus.CounterVec
	seal         prometheus.Histogram
	enqueue      prometheus.Histogram
	alerts       *prometheus.CounterVec
	alertsFailed *prometheus.CounterVec
	depth        *prometheus.GaugeVec
	oldest       prometheus.Gauge
	authFailures *prometheus.CounterVec

	queue queue.Queue

	mu     sync.Mutex
	snap   []*dto.MetricFamily
	snapAt time.Time
}

// NewMetrics returns the gateway's metrics. dataDir is watched for free
// space.
func NewMetrics(q queue.Queue, dataDir, version string) *Metrics {
	m := &Metrics{
		live:   prometheus.NewRegistry(),
		hourly: prometheus.NewRegistry(),
		queue:  q,
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flare_tips_accepted_total", Help: "Tips made durable, by channel (published hourly).",
		}, []string{"channel"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flare_tips_refused_total", Help: "Tips or attachments the intake refused, by channel and reason (published hourly).",
		}, []string{"channel", "reason"}),
		seal: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flare_seal_seconds", Help: "Time to seal a tip (published hourly).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}),
		enqueue: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flare_enqueue_seconds", Help: "Time for the queue to make a sealed tip durable (published hourly).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flare_alerts_delivered_total", Help: "Alerts delivered to key-holders, by target (published hourly).",
		}, []string{"target"}),
		alertsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flare_alert_failures_total", Help: "Failed alert delivery attempts, by target (published hourly).",
		}, []string{"target"}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flare_queue_depth", Help: "Messages held in a queue stream (tips, outbox) at the last hour.",
		}, []string{"stream"}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flare_oldest_tip_age_hours", Help: "Age of the oldest tip held in the queue, in whole hours, at the last hour.",
		}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flare_webhook_auth_failures_total", Help: "Webhook requests refused for a bad signature or secret (401/403), by route.",
		}, []string{"route"}),
	}
	m.hourly.MustRegister(m.accepted, m.refused, m.seal, m.enqueue, m.alerts, m.alertsFailed, m.depth, m.oldest)
	m.live.MustRegister(m.authFailures)
	m.live.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "flare_build_info", Help: "Always 1; the version is a label.",
		ConstLabels: prometheus.Labels{"version": version},
	}, func() float64 { return 1 }))
	m.live.MustRegister(collectors.NewBuildInfoCollector())
	m.live.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "flare_data_dir_free_bytes", Help: "Free space in the data directory, rounded down to 64 MiB so that one tip's attachments do not show.",
	}, func() float64 { return float64(diskFree(dataDir)) }))
	return m
}

// WatchChannels reports each channel's state as flare_channel_up (the
// onion channel's is tor's).
func (m *Metrics) WatchChannels(chans []channels.Channel) {
	for _, c := range chans {
		m.live.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flare_channel_up", Help: "1 if the channel is working (for onion: tor is up and the service published).",
			ConstLabels: prometheus.Labels{"channel": c.Name()},
		}, func() float64 {
			if hr, ok := c.(channels.HealthReporter); ok && !hr.Health().OK {
				return 0
			}
			return 1
		}))
	}
}

// TipAccepted implements Observer.
func (m *Metrics) TipAccepted(channel string, kind crypto.Kind, seal, enqueue time.Duration) {
	m.accepted.WithLabelValues(channel).Inc()
	m.seal.Observe(seal.Seconds())
	m.enqueue.Observe(enqueue.Seconds())
}

// TipRefused implements Observer.
func (m *Metrics) TipRefused(channel, reason string) {
	m.refused.WithLabelValues(channel, reason).Inc()
}

// AlertDelivered and AlertFailed count alert deliveries per target.
func (m *Metrics) AlertDelivered(target string) { m.alerts.WithLabelValues(target).Inc() }

// AlertFailed counts a failed attempt to deliver an alert.
func (m *Metrics) AlertFailed(target string) { m.alertsFailed.WithLabelValues(target).Inc() }

// Publish measures the queue and takes the snapshot of the tip metrics
// that scrapes see until the next Publish.
func (m *Metrics) Publish(ctx context.Context) {
	if m.queue != nil {
		for _, stream := range []string{queue.StreamTips, queue.StreamOutbox} {
			n, oldest, err := countStream(ctx, m.queue, stream)
			if err != nil {
				continue // the last good value stays; /readyz reports the queue
			}
			m.depth.WithLabelValues(stream).Set(float64(n))
			if stream == queue.StreamTips {
				age := 0.0
				if !oldest.IsZero() {
					age = float64(int(time.Since(oldest).Hours()))
				}
				m.oldest.Set(age)
			}
		}
	}
	fams, err := m.hourly.Gather()
	if err != nil {
		return
	}
	m.mu.Lock()
	m.snap, m.snapAt = fams, time.Now()
	m.mu.Unlock()
}

// Run publishes at the start and then at every whole period until ctx is
// done.
func (m *Metrics) Run(ctx context.Context, period time.Duration) {
	m.Publish(ctx)
	for {
		next := time.Now().Truncate(period).Add(period)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
			m.Publish(ctx)
		}
	}
}

// Gatherer returns what /metrics serves: the live series and the last
// published snapshot of the tip series.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	return prometheus.Gatherers{m.live, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.snap, nil
	})}
}

// CountAuthFailures wraps the intake's handler to count webhook requests
// refused as unauthorised, by the route they matched (a pattern from the
// code, never the request's own path).
func (m *Metrics) CountAuthFailures(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if (sw.status == http.StatusUnauthorized || sw.status == http.StatusForbidden) && r.Pattern != "" {
			m.authFailures.WithLabelValues(r.Pattern).Inc()
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxCount bounds the work of counting a stream once an hour.
const maxCount = 1_000_000

// countStream counts a stream's messages (up to maxCount) and returns when
// the oldest was stored.
func countStream(ctx context.Context, q queue.Queue, stream string) (int, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, after := 0, ""
	var oldest time.Time
	for n < maxCount {
		msgs, err := q.List(ctx, stream, after, 1000)
		if err != nil {
			return 0, time.Time{}, err
		}
		if len(msgs) == 0 {
			break
		}
		if oldest.IsZero() {
			oldest = msgs[0].Enqueued
		}
		n += len(msgs)
		after = msgs[len(msgs)-1].ID
	}
	return n, oldest, nil
}

// diskFree returns the bytes free to this user in dir, rounded down to
// 64 MiB; 0 if it cannot be read.
func diskFree(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	return free &^ (64<<20 - 1)
}
