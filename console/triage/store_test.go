package triage_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
	"github.com/flarehq/flare/queue"
)

type keyholder struct {
	id  *age.X25519Identity
	rcp age.Recipient
}

func newKeyholder(t *testing.T) keyholder {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return keyholder{id: id, rcp: id.Recipient()}
}

func newStore(t *testing.T, rec queue.Records, who string, me keyholder, all ...keyholder) *triage.Store {
	t.Helper()
	var rs []age.Recipient
	for _, k := range all {
		rs = append(rs, k.rcp)
	}
	sealer, err := crypto.NewSealer(rs...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := triage.New(triage.Config{Records: rec, Sealer: sealer, Identities: []age.Identity{me.id}, Who: who})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func TestApplySharedBetweenKeyholders(t *testing.T) {
	ctx := context.Background()
	q := memq.New()
	alice, bob := newKeyholder(t), newKeyholder(t)
	sa := newStore(t, q, "alice", alice, alice, bob)
	sb := newStore(t, q, "bob", bob, alice, bob)

	r, err := sa.Get(ctx, "1-0")
	if err != nil || r.Version != 0 || r.CurrentStatus() != triage.StatusNew {
		t.Fatalf("fresh record = %+v, %v", r, err)
	}
	r, err = sa.Apply(ctx, "1-0", 0, triage.Change{
		Status:   ptr(triage.StatusInProgress),
		Assignee: ptr("alice"),
		Tags:     ptr([]string{"Bavet", " urgent ", "bavet"}),
		Note:     "called the hotline",
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 || r.Status != triage.StatusInProgress || strings.Join(r.Tags, ",") != "bavet,urgent" {
		t.Fatalf("after apply: %+v", r)
	}

	got, err := sb.Get(ctx, "1-0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != triage.StatusInProgress || got.Assignee != "alice" || len(got.Notes) != 1 || got.Notes[0].Text != "called the hotline" || got.Notes[0].By != "alice" {
		t.Fatalf("bob sees %+v", got)
	}

	// Bob, still looking at version 0, must get a conflict naming alice.
	_, err = sb.Apply(ctx, "1-0", 0, triage.Change{Status: ptr(triage.StatusSpam)})
	var ce *triage.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("stale apply: err = %v, want ConflictError", err)
	}
	if ce.Current.Version != 1 || ce.Current.UpdatedBy != "alice" || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("conflict = %+v / %q", ce.Current, err)
	}
	if r, _ := sa.Get(ctx, "1-0"); r.Status != triage.StatusInProgress {
		t.Fatalf("conflicting apply changed the record: %+v", r)
	}

	// On the current version it goes through, and history has both.
	if _, err := sb.Apply(ctx, "1-0", 1, triage.Change{Status: ptr(triage.StatusReferred), Tags: ptr([]string{"urgent"})}); err != nil {
		t.Fatal(err)
	}
	h, err := sa.History(ctx, "1-0")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].By != "alice" || h[1].By != "bob" || h[1].Version != 2 {
		t.Fatalf("history = %+v", h)
	}
	want := []string{"status: in progress → referred", "tags: -bavet"}
	if strings.Join(h[1].What, "|") != strings.Join(want, "|") {
		t.Fatalf("history what = %q, want %q", h[1].What, want)
	}
	all, err := sb.All(ctx)
	if err != nil || len(all) != 1 || all["1-0"].Status != triage.StatusReferred {
		t.Fatalf("All = %+v, %v", all, err)
	}
}

func TestNoPlaintextInBackend(t *testing.T) {
	ctx := context.Background()
	q := memq.New()
	alice := newKeyholder(t)
	s := newStore(t, q, "alice-sentinel-name", alice, alice)
	const note, tag = "NOTE-SENTINEL-5521", "tag-sentinel-5521"
	if _, err := s.Apply(ctx, "1-0", 0, triage.Change{Status: ptr(triage.StatusReferred), Tags: ptr([]string{tag}), Note: note}); err != nil {
		t.Fatal(err)
	}
	dump := q.Dump()
	for _, s := range []string{note, strings.ToLower(note), tag, "referred", "alice-sentinel-name"} {
		if bytes.Contains(dump, []byte(s)) {
			t.Errorf("backend holds %q in plaintext", s)
		}
	}
}

func TestOtherKeyholdersRecord(t *testing.T) {
	ctx := context.Background()
	q := memq.New()
	alice, bob, carol := newKeyholder(t), newKeyholder(t), newKeyholder(t)
	sa := newStore(t, q, "alice", alice, alice, bob)
	if _, err := sa.Apply(ctx, "1-0", 0, triage.Change{Note: "x"}); err != nil {
		t.Fatal(err)
	}
	sc := newStore(t, q, "carol", carol, carol)
	r, err := sc.Get(ctx, "1-0")
	if err != nil || !r.Unreadable || r.Version != 1 {
		t.Fatalf("carol's view = %+v, %v", r, err)
	}
	if _, err := sc.Apply(ctx, "1-0", 1, triage.Change{Note: "y"}); !errors.Is(err, triage.ErrUnreadable) {
		t.Fatalf("carol's apply: %v, want ErrUnreadable", err)
	}
	h, err := sc.History(ctx, "1-0")
	if err != nil || len(h) != 1 || h[0].By != "?" {
		t.Fatalf("carol's history = %+v, %v", h, err)
	}
}

func TestNewRefusesSealingPastOwner(t *testing.T) {
	alice, bob := newKeyholder(t), newKeyholder(t)
	sealer, _ := crypto.NewSealer(bob.rcp)
	_, err := triage.New(triage.Config{Records: memq.New(), Sealer: sealer, Identities: []age.Identity{alice.id}, Who: "alice"})
	if err == nil || !strings.Contains(err.Error(), "not among") {
		t.Fatalf("err = %v", err)
	}
}

func TestApplyRejectsInvalid(t *testing.T) {
	ctx := context.Background()
	q := memq.New()
	alice := newKeyholder(t)
	s := newStore(t, q, "alice", alice, alice)
	tests := []struct {
		name string
		c    triage.Change
	}{
		{"unknown status", triage.Change{Status: ptr(triage.Status("closed"))}},
		{"long note", triage.Change{Note: strings.Repeat("x", triage.MaxNoteBytes+1)}},
		{"bad utf8 note", triage.Change{Note: "\xff\xfe"}},
		{"long tag", triage.Change{Tags: ptr([]string{strings.Repeat("t", triage.MaxTagBytes+1)})}},
		{"long assignee", triage.Change{Assignee: ptr(strings.Repeat("a", triage.MaxAssigneeBytes+1))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Apply(ctx, "1-0", 0, tt.c); !errors.Is(err, triage.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if keys, _ := q.ListRecords(ctx, ""); len(keys) != 0 {
		t.Fatalf("invalid changes stored records: %v", keys)
	}
	if _, err := s.Get(ctx, "../etc"); err == nil {
		t.Fatal("Get accepted an invalid key")
	}
}

func TestNoOpChangeWritesNothing(t *testing.T) {
	ctx := context.Background()
	q := memq.New()
	alice := newKeyholder(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sealer, _ := crypto.NewSealer(alice.rcp)
	s, err := triage.New(triage.Config{Records: q, Sealer: sealer, Identities: []age.Identity{alice.id}, Who: "alice", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Apply(ctx, "1-0", 0, triage.Change{Status: ptr(triage.StatusNew), Note: "  "})
	if err != nil || r.Version != 0 {
		t.Fatalf("no-op apply = %+v, %v", r, err)
	}
	r, err = s.Apply(ctx, "1-0", 0, triage.Change{Assignee: ptr("bob")})
	if err != nil || !r.Updated.Equal(now) || r.UpdatedBy != "alice" {
		t.Fatalf("apply = %+v, %v", r, err)
	}
}

// TestDamagedRecordsAreFlagged: a record or history entry that is not a
// sealed triage record (one byte, a good ciphertext of something else) is
// returned flagged, never as an error, and a change replaces the record.
func TestDamagedRecordsAreFlagged(t *testing.T) {
	ctx := context.Background()
	alice := newKeyholder(t)
	sealer, err := crypto.NewSealer(alice.rcp)
	if err != nil {
		t.Fatal(err)
	}
	notJSON, err := sealer.SealBytes([]byte("not a record"))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{"one byte": {'x'}, "sealed, not a record": notJSON} {
		t.Run(name, func(t *testing.T) {
			q := memq.New()
			s := newStore(t, q, "alice", alice, alice)
			if _, err := q.PutRecord(ctx, "triage/1-0", bad, 0); err != nil {
				t.Fatal(err)
			}
			if err := q.AppendLog(ctx, "triage-log/1-0", bad); err != nil {
				t.Fatal(err)
			}
			all, err := s.All(ctx)
			if err != nil || all["1-0"].Damaged == "" || all["1-0"].CurrentStatus() != triage.StatusNew {
				t.Fatalf("All = %+v, %v", all, err)
			}
			hist, err := s.History(ctx, "1-0")
			if err != nil || len(hist) != 1 || !hist[0].Damaged {
				t.Fatalf("History = %+v, %v", hist, err)
			}
			r, err := s.Apply(ctx, "1-0", all["1-0"].Version, triage.Change{Status: ptr(triage.StatusWaiting)})
			if err != nil || r.Damaged != "" || r.CurrentStatus() != triage.StatusWaiting {
				t.Fatalf("Apply = %+v, %v", r, err)
			}
			hist, err = s.History(ctx, "1-0")
			if err != nil || len(hist) != 2 || hist[1].Damaged || !strings.Contains(strings.Join(hist[1].What, ";"), "replaced a damaged") {
				t.Fatalf("History after the change = %+v, %v", hist, err)
			}
		})
	}
}
