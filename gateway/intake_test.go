package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/embedded"
)

func newIntake(t *testing.T, limits channels.Limits) (*Intake, queue.Queue, *age.X25519Identity) {
	t.Helper()
	q, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	id, _ := age.GenerateX25519Identity()
	s, _ := crypto.NewSealer(id.Recipient())
	now := func() time.Time { return time.Date(2026, 11, 23, 3, 17, 42, 0, time.UTC) }
	in, err := NewIntake(IntakeConfig{Sealer: s, Queue: q, Limits: limits, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return in, q, id
}

func TestIntakeSubmit(t *testing.T) {
	in, q, id := newIntake(t, channels.DefaultLimits)
	ctx := context.Background()
	d := in.NewDraft("sms")
	d.Tip().Text = "help"
	d.Tip().Kind = crypto.KindDistress
	d.Tip().Sender = &crypto.Sender{Phone: "+85512345678"}
	if _, err := d.Attach(ctx, "a.jpg", "image/jpeg", strings.NewReader("jpeg")); err != nil {
		t.Fatal(err)
	}
	r, err := d.Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}$`).MatchString(r.Code) {
		t.Fatalf("receipt %q", r.Code)
	}
	m, err := q.Get(ctx, queue.StreamTips, r.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := crypto.OpenTip(m.Body, id)
	if err != nil {
		t.Fatal(err)
	}
	if tip.Received != time.Date(2026, 11, 23, 3, 17, 0, 0, time.UTC) {
		t.Errorf("received %v, want coarsened to the minute", tip.Received)
	}
	if tip.Channel != "sms" || tip.Receipt != r.Code || tip.ID != r.TipID || len(tip.Attachments) != 1 || tip.Sender.Phone != "+85512345678" {
		t.Errorf("tip %+v", tip)
	}
	if _, err := d.Submit(ctx); err == nil {
		t.Error("a draft was submitted twice")
	}
	if err := d.Discard(ctx); err != nil {
		t.Error(err)
	}
	if _, err := q.GetChunk(ctx, tip.Attachments[0].ID, 0); err != nil {
		t.Errorf("discard after submit removed the attachment: %v", err)
	}
}

func TestIntakeRefusesAndDiscards(t *testing.T) {
	limits := channels.Limits{MaxTextBytes: 10, MaxAttachments: 1, MaxAttachmentBytes: 100, MaxRequestBytes: 1000}
	ctx := context.Background()
	tests := []struct {
		name  string
		build func(d channels.Draft) error
		want  error
	}{
		{"empty", func(d channels.Draft) error { d.Tip().Text = "  "; return nil }, channels.ErrEmptyTip},
		{"too long", func(d channels.Draft) error { d.Tip().Text = "0123456789x"; return nil }, channels.ErrTextTooLong},
		{"invalid utf-8", func(d channels.Draft) error { d.Tip().Text = "\xff"; return nil }, channels.ErrInvalidTip},
		{"bad kind", func(d channels.Draft) error { d.Tip().Text = "x"; d.Tip().Kind = "nope"; return nil }, channels.ErrInvalidTip},
		{"too many files", func(d channels.Draft) error {
			d.Tip().Text = "x"
			if _, err := d.Attach(ctx, "1", "", strings.NewReader("a")); err != nil {
				return err
			}
			_, err := d.Attach(ctx, "2", "", strings.NewReader("b"))
			return err
		}, channels.ErrTooManyAttachments},
		{"file too large", func(d channels.Draft) error {
			_, err := d.Attach(ctx, "1", "", strings.NewReader(strings.Repeat("a", 101)))
			return err
		}, channels.ErrAttachmentTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, q, _ := newIntake(t, limits)
			d := in.NewDraft("web")
			err := tt.build(d)
			if err == nil {
				_, err = d.Submit(ctx)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			attached := append([]crypto.AttachmentRef(nil), d.Tip().Attachments...)
			if err := d.Discard(ctx); err != nil {
				t.Fatal(err)
			}
			msgs, _ := q.List(ctx, queue.StreamTips, "", 10)
			if len(msgs) != 0 {
				t.Fatalf("%d tips queued", len(msgs))
			}
			for _, a := range attached {
				if _, err := q.GetChunk(ctx, a.ID, 0); !errors.Is(err, queue.ErrNotFound) {
					t.Errorf("attachment %s survived discard: %v", a.ID, err)
				}
			}
		})
	}
}

func TestIntakeQueueDown(t *testing.T) {
	in, q, _ := newIntake(t, channels.DefaultLimits)
	q.Close()
	d := in.NewDraft("web")
	d.Tip().Text = "hello"
	if _, err := d.Submit(context.Background()); !errors.Is(err, channels.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

type sickChannel struct{}

func (sickChannel) Name() string                  { return "sick" }
func (sickChannel) Routes(*http.ServeMux)         {}
func (sickChannel) Run(ctx context.Context) error { return nil }
func (sickChannel) Health() channels.Health {
	return channels.Health{OK: false, Status: "tor restarting"}
}

func TestHealthReportsChannels(t *testing.T) {
	_, q, _ := newIntake(t, channels.DefaultLimits)
	srv := httptest.NewServer(NewServer(q, nil, sickChannel{}).AdminHandler(nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 while a channel is down", resp.StatusCode)
	}
}
