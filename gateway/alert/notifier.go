package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// Alert is what a Target delivers: a fixed text, and an id that stays the
// same across retries of the same alert (a receiver can drop repeats).
type Alert struct {
	ID   string
	Text string
}

// Target is one way to reach the key-holders.
type Target interface {
	// Name is the target's fixed name: "ntfy", "smtp", "telegram",
	// "webhook". It names the target's record and its metrics.
	Name() string
	// Send delivers a once, returning only when the receiver took it.
	Send(ctx context.Context, a Alert) error
}

// Recorder counts deliveries, for metrics. gateway.Metrics implements it.
type Recorder interface {
	AlertDelivered(target string)
	AlertFailed(target string)
}

// DefaultText is the alert's text unless configured.
const DefaultText = "Flare: please check the console"

// Options configure a Notifier; zero values mean the defaults.
type Options struct {
	Text string
	// Interval is the shortest time between two coalesced (non-distress)
	// alerts to a target; default one hour.
	Interval time.Duration
	// Jitter is the random delay added to a coalesced alert; default a
	// quarter of Interval.
	Jitter time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a
	// failed delivery; default 2s and 5 minutes.
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often the records are read even when nothing happened
	// here (another gateway may have owed an alert); default 30s.
	Poll time.Duration
	// SendTimeout bounds one delivery; default 20s.
	SendTimeout time.Duration
	Log         *slog.Logger
	Recorder    Recorder
}

// Notifier sends alerts. Create it with New, start it with Run.
type Notifier struct {
	targets []Target
	records queue.Records
	opt     Options
	owner   string // this process, in claims

	urgent, ordinary atomic.Int64 // owed, not yet in the records
	wake             chan struct{}
}

// recordPrefix is where a target's state is kept: recordPrefix + name.
const recordPrefix = "alert/"

// New returns a Notifier for targets, keeping its state in records.
func New(records queue.Records, targets []Target, opt Options) *Notifier {
	if opt.Text == "" {
		opt.Text = DefaultText
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Hour
	}
	if opt.Jitter <= 0 {
		opt.Jitter = opt.Interval / 4
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 2 * time.Second
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(5*time.Minute, opt.MinBackoff)
	}
	if opt.Poll <= 0 {
		opt.Poll = 30 * time.Second
	}
	if opt.SendTimeout <= 0 {
		opt.SendTimeout = 20 * time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Notifier{targets: targets, records: records, opt: opt, owner: newID(), wake: make(chan struct{}, 1)}
}

// TipAccepted notes that an alert is owed: at once for a distress call,
// coalesced for anything else. It never blocks.
func (n *Notifier) TipAccepted(_ string, kind crypto.Kind, _, _ time.Duration) {
	if len(n.targets) == 0 {
		return
	}
	if kind == crypto.KindDistress {
		n.urgent.Add(1)
	} else {
		n.ordinary.Add(1)
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// TipRefused implements the gateway's Observer; a refused tip owes no
// alert.
func (n *Notifier) TipRefused(string, string) {}

// state is what a target is owed, kept as JSON in its record. It holds
// nothing from a tip: counts of owed alerts and the alert schedule.
type state struct {
	// Urgent and Ordinary count the tips owed an alert since the last
	// one was sent.
	Urgent   int64 `json:"urgent,omitempty"`
	Ordinary int64 `json:"ordinary,omitempty"`
	// ID names the owed alert, the same across retries.
	ID string `json:"id,omitempty"`
	// Due is when the owed coalesced alert may go; Quiet is the end of
	// the interval that follows the last alert sent.
	Due   time.Time `json:"due,omitzero"`
	Quiet time.Time `json:"quiet,omitzero"`
	// Claim is the process sending the alert now, until ClaimUntil; a
	// process that dies mid-send is waited for, not sent over.
	Claim      string    `json:"claim,omitempty"`
	ClaimUntil time.Time `json:"claim_until,omitzero"`
}

func (s *state) owed(now time.Time) bool {
	return s.Urgent > 0 || (s.Ordinary > 0 && !now.Before(s.Due))
}

// Run delivers owed alerts until ctx is done.
func (n *Notifier) Run(ctx context.Context) error {
	if len(n.targets) == 0 {
		return nil
	}
	retry := map[string]time.Time{}
	backoff := map[string]time.Duration{}
	for {
		next := time.Now().Add(n.opt.Poll)
		if !n.flush(ctx) {
			next = time.Now().Add(n.opt.MinBackoff)
		}
		for _, t := range n.targets {
			if at, ok := retry[t.Name()]; ok && time.Now().Before(at) {
				next = earliest(next, at)
				continue
			}
			when, err := n.step(ctx, t)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				b := nextBackoff(backoff[t.Name()], n.opt.MinBackoff, n.opt.MaxBackoff)
				backoff[t.Name()] = b
				retry[t.Name()] = time.Now().Add(b)
				next = earliest(next, retry[t.Name()])
				n.opt.Log.Warn("alert not delivered; will retry", "target", t.Name(), "err", err, "retry_in", b.Round(time.Millisecond).String())
				continue
			}
			delete(retry, t.Name())
			delete(backoff, t.Name())
			if !when.IsZero() {
				next = earliest(next, when)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
		case <-time.After(time.Until(next)):
		}
	}
}

// flush moves the alerts owed in memory into every target's record. What
// cannot be stored stays in memory for the next turn, and flush reports
// false.
func (n *Notifier) flush(ctx context.Context) bool {
	u, o := n.urgent.Swap(0), n.ordinary.Swap(0)
	if u == 0 && o == 0 {
		return true
	}
	var failed error
	for _, t := range n.targets {
		err := n.update(ctx, t.Name(), func(s *state, now time.Time) bool {
			if s.ID == "" {
				s.ID = newID()
			}
			if o > 0 && s.Ordinary == 0 {
				s.Due = latest(now, s.Quiet).Add(n.jitter())
			}
			s.Urgent += u
			s.Ordinary += o
			return true
		})
		if err != nil {
			failed = err
		}
	}
	if failed != nil {
		// Owed again to every target: a repeat to one that stored it is
		// better than none to one that did not.
		n.urgent.Add(u)
		n.ordinary.Add(o)
		n.opt.Log.Warn("alert not recorded; will retry", "err", failed)
		return false
	}
	return true
}

func (n *Notifier) jitter() time.Duration {
	return time.Duration(mrand.Int64N(int64(n.opt.Jitter) + 1))
}

// step sends what target is owed, if anything is due. It returns when to
// look again (zero: nothing pending).
func (n *Notifier) step(ctx context.Context, t Target) (time.Time, error) {
	var claimed state
	var due time.Time
	send := false
	err := n.update(ctx, t.Name(), func(s *state, now time.Time) bool {
		send, due = false, time.Time{}
		if !s.owed(now) {
			if s.Ordinary > 0 {
				due = s.Due
			}
			return false
		}
		if s.Claim != "" && s.Claim != n.owner && now.Before(s.ClaimUntil) {
			due = s.ClaimUntil
			return false
		}
		s.Claim, s.ClaimUntil = n.owner, now.Add(2*n.opt.SendTimeout)
		claimed, send = *s, true
		return true
	})
	if err != nil || !send {
		return due, err
	}
	sctx, cancel := context.WithTimeout(ctx, n.opt.SendTimeout)
	serr := t.Send(sctx, Alert{ID: claimed.ID, Text: n.opt.Text})
	cancel()
	if serr != nil {
		if n.opt.Recorder != nil {
			n.opt.Recorder.AlertFailed(t.Name())
		}
		// Give the claim back, so that another gateway may try.
		n.update(context.WithoutCancel(ctx), t.Name(), func(s *state, now time.Time) bool {
			if s.Claim != n.owner {
				return false
			}
			s.Claim, s.ClaimUntil = "", time.Time{}
			return true
		})
		return time.Time{}, fmt.Errorf("%s: %w", t.Name(), serr)
	}
	if n.opt.Recorder != nil {
		n.opt.Recorder.AlertDelivered(t.Name())
	}
	var next time.Time
	// The alert went out: what was owed when it was claimed is paid.
	// Tips owed while it was on its way stay owed.
	cerr := n.update(context.WithoutCancel(ctx), t.Name(), func(s *state, now time.Time) bool {
		s.Urgent = max(0, s.Urgent-claimed.Urgent)
		s.Ordinary = max(0, s.Ordinary-claimed.Ordinary)
		s.Quiet = now.Add(n.opt.Interval)
		s.Claim, s.ClaimUntil = "", time.Time{}
		s.ID = ""
		if s.Urgent > 0 || s.Ordinary > 0 {
			s.ID = newID()
		}
		if s.Ordinary > 0 {
			s.Due = s.Quiet.Add(n.jitter())
			next = s.Due
		}
		if s.Urgent > 0 {
			next = now
		}
		return true
	})
	if cerr != nil {
		// The alert may be sent again once the claim runs out: a repeat
		// is better than a silent distress call.
		n.opt.Log.Error("alert delivered but not marked as sent; it may be repeated", "target", t.Name(), "err", cerr)
	}
	return next, nil
}

// update applies f to a target's record and stores it if f says so,
// re-reading on a concurrent change.
func (n *Notifier) update(ctx context.Context, target string, f func(s *state, now time.Time) bool) error {
	key := recordPrefix + target
	for range 20 {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		raw, ver, err := n.records.GetRecord(rctx, key)
		cancel()
		var s state
		switch {
		case errors.Is(err, queue.ErrNotFound):
			ver = 0
		case err != nil:
			return fmt.Errorf("read alert record: %w", err)
		default:
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("alert record %s is damaged: %w", key, err)
			}
		}
		if !f(&s, time.Now()) {
			return nil
		}
		data, _ := json.Marshal(&s)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = n.records.PutRecord(wctx, key, data, ver)
		cancel()
		if errors.Is(err, queue.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store alert record: %w", err)
		}
		return nil
	}
	return fmt.Errorf("alert record %s: %w (too many concurrent changes)", key, queue.ErrConflict)
}

func nextBackoff(cur, lo, hi time.Duration) time.Duration {
	if cur <= 0 {
		return lo
	}
	next := cur * 2
	next += time.Duration(mrand.Int64N(int64(next)/4 + 1))
	return min(next, hi)
}

func earliest(a, b time.Time) time.Time {
	if b.IsZero() || (!a.IsZero() && a.Before(b)) {
		return a
	}
	return b
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
