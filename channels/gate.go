package channels

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Errors of a Gate and of a full store. Channels turn them into "try again
// later" answers for the source with errors.Is.
var (
	// ErrBusy means the listener already carries as many uploads as it
	// may; nothing was read.
	ErrBusy = errors.New("too many uploads at once")
	// ErrOverBudget means the ingest budget (bytes per minute) is spent.
	ErrOverBudget = errors.New("ingest budget spent")
	// ErrTooSlow means a request body arrived slower than the minimum
	// rate, or stalled, and was cut off.
	ErrTooSlow = errors.New("request body too slow")
	// ErrNoRoom means the store is near its floor (disk or memory) and
	// takes no more attachments; text may still be taken.
	ErrNoRoom = errors.New("store near full: attachments refused")
)

// GateConfig bounds what a gateway's HTTP listeners take in: how many
// uploads at once, how fast an upload must arrive, and how many bytes per
// minute. A zero field means no bound of that kind.
type GateConfig struct {
	// MaxUploads caps concurrent uploads over all listeners together;
	// MaxUploadsPerListener caps them on each listener (web, onion).
	MaxUploads            int
	MaxUploadsPerListener int
	// UploadGrace is how long a request may send nothing before it is
	// cut off, and how long it has before MinUploadRate applies.
	UploadGrace time.Duration
	// MinUploadRate is the average rate, in bytes per second, a request
	// body must keep up after UploadGrace.
	MinUploadRate int64
	// BytesPerMinute is the ingest budget over all listeners together;
	// BytesPerMinutePerListener is each listener's own.
	BytesPerMinute            int64
	BytesPerMinutePerListener int64
}

// DefaultGateConfig bounds a gateway on one machine: enough for several
// sources sending evidence at once over Tor, too little for one client to
// hold the gateway's memory or fill its store in minutes.
func DefaultGateConfig() GateConfig {
	return GateConfig{
		MaxUploads:                32,
		MaxUploadsPerListener:     24,
		UploadGrace:               60 * time.Second,
		MinUploadRate:             1 << 10,
		BytesPerMinute:            2 << 30,
		BytesPerMinutePerListener: 1 << 30,
	}
}

// Validate checks that no bound is negative.
func (c GateConfig) Validate() error {
	if c.MaxUploads < 0 || c.MaxUploadsPerListener < 0 || c.UploadGrace < 0 || c.MinUploadRate < 0 ||
		c.BytesPerMinute < 0 || c.BytesPerMinutePerListener < 0 {
		return errors.New("upload caps, rates, grace and ingest budgets must not be negative")
	}
	return nil
}

// uploadReserve is the share of a budget that uploads may not spend: the
// last eighth of each minute's bytes is kept for text-sized posts, so a
// flood of files runs out before a short message is refused.
const uploadReserve = 8

// Gate is shared by every listener of a gateway; each listener takes its
// own ListenerGate from it. It is safe for concurrent use.
type Gate struct {
	cfg     GateConfig
	now     func() time.Time
	uploads chan struct{} // nil: no global cap
	mu      sync.Mutex    // guards every budget's take, global and per listener
	budget  *rate.Limiter // nil: no global budget

	lmu       sync.Mutex
	listeners map[string]*ListenerGate
}

// NewGate returns a Gate. now is the clock for budgets; nil means time.Now.
func NewGate(cfg GateConfig, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	g := &Gate{cfg: cfg, now: now, budget: perMinute(cfg.BytesPerMinute), listeners: map[string]*ListenerGate{}}
	if cfg.MaxUploads > 0 {
		g.uploads = make(chan struct{}, cfg.MaxUploads)
	}
	return g
}

// perMinute is a token bucket holding one minute's bytes, refilled
// steadily; nil for no budget.
func perMinute(bytes int64) *rate.Limiter {
	if bytes <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(float64(bytes)/60), int(bytes))
}

// Listener returns the gate of one listener ("web", "onion"); asking twice
// for one name gives the same gate.
func (g *Gate) Listener(name string) *ListenerGate {
	g.lmu.Lock()
	defer g.lmu.Unlock()
	if l, ok := g.listeners[name]; ok {
		return l
	}
	l := &ListenerGate{g: g, budget: perMinute(g.cfg.BytesPerMinutePerListener)}
	if g.cfg.MaxUploadsPerListener > 0 {
		l.uploads = make(chan struct{}, g.cfg.MaxUploadsPerListener)
	}
	g.listeners[name] = l
	return l
}

// ListenerGate is one listener's view of the Gate.
type ListenerGate struct {
	g       *Gate
	uploads chan struct{}
	budget  *rate.Limiter
}

// AcquireUpload takes an upload slot on the listener and globally, or
// returns ErrBusy at once without waiting. release gives the slot back.
func (l *ListenerGate) AcquireUpload() (release func(), err error) {
	if !try(l.uploads) {
		return nil, ErrBusy
	}
	if !try(l.g.uploads) {
		free(l.uploads)
		return nil, ErrBusy
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			free(l.g.uploads)
			free(l.uploads)
		})
	}, nil
}

// Uploads is how many uploads the listener carries now.
func (l *ListenerGate) Uploads() int {
	if l.uploads == nil {
		return 0
	}
	return len(l.uploads)
}

func try(sem chan struct{}) bool {
	if sem == nil {
		return true
	}
	select {
	case sem <- struct{}{}:
		return true
	default:
		return false
	}
}

func free(sem chan struct{}) {
	if sem != nil {
		<-sem
	}
}

// Admit says whether a body of declared bytes would fit in what is left of
// the budgets, without spending any: a request that could not finish is
// refused before it is read. upload marks a large body, which may not
// spend the reserve kept for text. declared < 0 (unknown) always fits.
func (l *ListenerGate) Admit(declared int64, upload bool) error {
	if declared <= 0 {
		return nil
	}
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	now := l.g.now()
	for _, b := range l.budgets() {
		if !fits(b, now, declared, upload) {
			return ErrOverBudget
		}
	}
	return nil
}

// take spends n bytes from the listener's and the global budget, or
// neither.
func (l *ListenerGate) take(n int64, upload bool) error {
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	now := l.g.now()
	bs := l.budgets()
	for _, b := range bs {
		if !fits(b, now, n, upload) {
			return ErrOverBudget
		}
	}
	for _, b := range bs {
		// Cannot fail: every take happens under g.mu and fits checked.
		b.AllowN(now, int(n))
	}
	return nil
}

func (l *ListenerGate) budgets() []*rate.Limiter {
	var out []*rate.Limiter
	for _, b := range []*rate.Limiter{l.budget, l.g.budget} {
		if b != nil {
			out = append(out, b)
		}
	}
	return out
}

func fits(b *rate.Limiter, now time.Time, n int64, upload bool) bool {
	var reserve int64
	if upload {
		reserve = int64(b.Burst()) / uploadReserve
	}
	return b.TokensAt(now) >= float64(n+reserve)
}

// Body wraps r's body so that it is bounded in time and counted against
// the budgets: the connection's read deadline starts UploadGrace away and
// moves on only as bytes arrive, at MinUploadRate on average, never more
// than UploadGrace ahead of now. A body that falls behind fails with
// ErrTooSlow (the connection's read is interrupted, not just a context
// cancelled); one that overdraws a budget fails with ErrOverBudget.
//
// The caller calls Done once it has read what it needs (so the deadline
// cannot cut short the work after it), and Finish before it answers an
// accepted request, which bounds net/http's reading of any unread rest.
func (l *ListenerGate) Body(w http.ResponseWriter, r *http.Request, upload bool) *Body {
	b := &Body{
		r:      r.Body,
		rc:     http.NewResponseController(w),
		l:      l,
		upload: upload,
		start:  time.Now(),
	}
	if l.g.cfg.UploadGrace > 0 {
		b.setDeadline(b.start.Add(l.g.cfg.UploadGrace))
	}
	return b
}

// Body is a request body under a Gate. See ListenerGate.Body.
type Body struct {
	r        io.ReadCloser
	rc       *http.ResponseController
	l        *ListenerGate
	upload   bool
	start    time.Time
	n        int64
	deadline time.Time
	err      error
}

// Read implements io.Reader.
func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if n > 0 {
		b.n += int64(n)
		if terr := b.l.take(int64(n), b.upload); terr != nil {
			b.err = fmt.Errorf("after %d bytes: %w", b.n, terr)
			return n, b.err
		}
		b.extend()
	}
	if err != nil && err != io.EOF && (errors.Is(err, os.ErrDeadlineExceeded) || (!b.deadline.IsZero() && !time.Now().Before(b.deadline))) {
		b.err = fmt.Errorf("after %d bytes: %w: %v", b.n, ErrTooSlow, err)
		return n, b.err
	}
	return n, err
}

// Close implements io.Closer.
func (b *Body) Close() error { return b.r.Close() }

// BytesRead returns how many bytes have arrived so far.
func (b *Body) BytesRead() int64 { return b.n }

// extend moves the read deadline on for the bytes that have arrived.
func (b *Body) extend() {
	grace := b.l.g.cfg.UploadGrace
	if grace <= 0 {
		return
	}
	now := time.Now()
	due := now.Add(grace)
	if rate := b.l.g.cfg.MinUploadRate; rate > 0 {
		earned := b.start.Add(grace + time.Duration(float64(b.n)/float64(rate)*float64(time.Second)))
		if earned.Before(due) {
			due = earned
		}
	}
	if due.After(b.deadline) {
		b.setDeadline(due)
	}
}

func (b *Body) setDeadline(t time.Time) {
	b.deadline = t
	// A writer that cannot set deadlines (a test recorder) leaves the
	// body unbounded in time; the gateway's listeners all can.
	b.rc.SetReadDeadline(t)
}

// Done lifts the read deadline once the handler has read what it needs:
// past the end of the body net/http keeps reading the connection in the
// background, and a deadline firing there would cancel the request's
// context while the tip is being made durable.
func (b *Body) Done() {
	if b.l.g.cfg.UploadGrace > 0 {
		b.deadline = time.Time{}
		b.rc.SetReadDeadline(time.Time{})
	}
}

// Finish bounds, by UploadGrace, how long net/http may go on reading an
// unread rest of an accepted body after the handler returns. (A refusal
// reads nothing more: see the web channel's fail.)
func (b *Body) Finish() {
	if grace := b.l.g.cfg.UploadGrace; grace > 0 {
		b.setDeadline(time.Now().Add(grace))
	}
}
