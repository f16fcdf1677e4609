package triage_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/flarehq/flare/internal/memq"
)

func TestSeenIsPerKeyholderAndSealed(t *testing.T) {
	ctx := context.Background()
	q := memq.New()
	alice, bob := newKeyholder(t), newKeyholder(t)
	sa := newStore(t, q, "alice", alice, alice, bob)
	sb := newStore(t, q, "bob", bob, alice, bob)

	for _, key := range []string{"1700000000000-0", "1700000000000-0", "1700000001000-3"} {
		if err := sa.MarkSeen(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	seen, err := sa.Seen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || !seen["1700000000000-0"] || !seen["1700000001000-3"] {
		t.Fatalf("alice has seen %v, want the two tips she opened", seen)
	}
	// A console restarted for alice sees the same.
	again, err := newStore(t, q, "alice", alice, alice, bob).Seen(ctx)
	if err != nil || len(again) != 2 {
		t.Fatalf("after a restart alice has seen %v (%v)", again, err)
	}
	if seen, err := sb.Seen(ctx); err != nil || len(seen) != 0 {
		t.Fatalf("bob has seen %v (%v), want nothing: unread is per key-holder", seen, err)
	}
	if err := sa.MarkSeen(ctx, "NOT a key"); err == nil {
		t.Fatal("MarkSeen took an invalid key")
	}
	dump := q.Dump()
	for _, plain := range []string{"1700000001000-3", "alice"} {
		if bytes.Contains(dump, []byte(plain)) {
			t.Errorf("backend holds %q in the clear", plain)
		}
	}
}
