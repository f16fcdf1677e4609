package inbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue/embedded"
)

func openStore(t *testing.T) (*embedded.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flare.db")
	s, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func keyholder(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestPostOpenDelete(t *testing.T) {
	ctx := context.Background()
	store, path := openStore(t)
	box := New(store, DefaultConfig)
	kh := keyholder(t)
	code, rcpt, err := box.NewCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := box.NewCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text := "Which building are you in? " + strings.Repeat("REPLY-SENTINEL ", 400)
	id, err := Post(ctx, store, rcpt, []age.Recipient{kh.Recipient()}, crypto.Reply{Text: text, Lang: "en", Written: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := StateOf(ctx, store, rcpt, id); st != Waiting {
		t.Fatalf("state after post = %s, want waiting", st)
	}

	got, err := box.Open(ctx, "198.51.100.0/24", code)
	if err != nil {
		t.Fatal(err)
	}
	if got.Recipient != rcpt || len(got.Replies) != 1 || got.Replies[0].Text != text || got.Replies[0].ID != id {
		t.Fatalf("opened %+v", got)
	}
	// The key-holders can read the reply too.
	sealed, _, err := store.GetRecord(ctx, replyPrefix(rcpt)+id)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := crypto.OpenReply(sealed, kh); err != nil || r.Text != text {
		t.Fatalf("key-holder cannot open the reply: %v", err)
	}

	// A wrong code sees an inbox like any empty one, and cannot delete.
	wrong, err := box.Open(ctx, "198.51.100.0/24", other)
	if err != nil || len(wrong.Replies) != 0 {
		t.Fatalf("wrong code: %+v, %v", wrong, err)
	}
	if err := box.Delete(ctx, "198.51.100.0/24", other, id); !errors.Is(err, ErrNoSuchReply) {
		t.Fatalf("delete with a wrong code: %v", err)
	}
	if st, _ := StateOf(ctx, store, rcpt, id); st != Waiting {
		t.Fatalf("a wrong code changed the state to %s", st)
	}

	if err := box.Delete(ctx, "198.51.100.0/24", code, id); err != nil {
		t.Fatal(err)
	}
	if st, _ := StateOf(ctx, store, rcpt, id); st != Read {
		t.Fatalf("state after delete = %s, want read", st)
	}
	if again, _ := box.Open(ctx, "198.51.100.0/24", code); len(again.Replies) != 0 {
		t.Fatal("a deleted reply is still shown")
	}
	// Deleted means gone from the store file and its WAL, while the
	// store is open and after it is closed.
	scan := func(when string) {
		t.Helper()
		for _, f := range []string{path, path + "-wal"} {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			if bytes.Contains(data, sealed[len(sealed)/2:len(sealed)/2+64]) {
				t.Errorf("%s: %s still holds the deleted reply's ciphertext", when, filepath.Base(f))
			}
		}
	}
	scan("open")
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	scan("closed")
}

func TestMisplacedReplyNotShown(t *testing.T) {
	ctx := context.Background()
	store, _ := openStore(t)
	box := New(store, DefaultConfig)
	code, rcpt, _ := box.NewCode(ctx)
	_, otherRcpt, _ := box.NewCode(ctx)
	// A reply sealed to another inbox, copied under this inbox's key by
	// someone who can write to the store, does not open here.
	id, err := Post(ctx, store, otherRcpt, nil, crypto.Reply{Text: "for someone else"})
	if err != nil {
		t.Fatal(err)
	}
	sealed, _, _ := store.GetRecord(ctx, replyPrefix(otherRcpt)+id)
	if _, err := store.PutRecord(ctx, replyPrefix(rcpt)+id, sealed, 0); err != nil {
		t.Fatal(err)
	}
	got, err := box.Open(ctx, "onion", code)
	if err != nil || len(got.Replies) != 0 {
		t.Fatalf("misplaced reply shown: %+v, %v", got, err)
	}
}

func TestTriesAreRateLimited(t *testing.T) {
	ctx := context.Background()
	store, _ := openStore(t)
	cfg := DefaultConfig
	cfg.PerClassEvery, cfg.PerClassBurst = time.Hour, 2
	cfg.GlobalEvery, cfg.GlobalBurst = time.Hour, 3
	box := New(store, cfg)
	code, _ := crypto.NewInboxCode()
	for i := range 2 {
		if _, err := box.Open(ctx, "a", code); err != nil {
			t.Fatalf("try %d: %v", i+1, err)
		}
	}
	if _, err := box.Open(ctx, "a", code); !errors.Is(err, ErrTooManyTries) {
		t.Fatalf("third try from one class: %v", err)
	}
	if err := box.Delete(ctx, "a", code, NewReplyID()); !errors.Is(err, ErrTooManyTries) {
		t.Fatalf("delete past the limit: %v", err)
	}
	if _, err := box.Open(ctx, "b", code); err != nil {
		t.Fatalf("another class: %v", err)
	}
	if _, err := box.Open(ctx, "c", code); !errors.Is(err, ErrTooManyTries) {
		t.Fatalf("past the global limit: %v", err)
	}
}

func TestWithdrawAndBadInput(t *testing.T) {
	ctx := context.Background()
	store, _ := openStore(t)
	box := New(store, DefaultConfig)
	code, rcpt, _ := box.NewCode(ctx)
	id, err := Post(ctx, store, rcpt, nil, crypto.Reply{Text: "taken back"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Withdraw(ctx, store, rcpt, id); err != nil {
		t.Fatal(err)
	}
	if st, _ := StateOf(ctx, store, rcpt, id); st != Gone {
		t.Fatalf("state after withdraw = %s", st)
	}
	if got, _ := box.Open(ctx, "x", code); len(got.Replies) != 0 {
		t.Fatal("withdrawn reply shown")
	}
	if _, err := Post(ctx, store, "AGE-SECRET-KEY-1XYZ", nil, crypto.Reply{Text: "x"}); err == nil {
		t.Fatal("posted to a malformed recipient")
	}
	if _, err := Post(ctx, store, rcpt, nil, crypto.Reply{ID: "../../tips", Text: "x"}); err == nil {
		t.Fatal("posted with a malformed id")
	}
	if err := box.Delete(ctx, "x", code, "../x"); !errors.Is(err, ErrNoSuchReply) {
		t.Fatalf("delete of a malformed id: %v", err)
	}
}
