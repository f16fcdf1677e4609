package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/queuetest"
)

var testPrefixes atomic.Int64

// opener returns an Opener giving each test its own key prefix on srv.
func opener(srv *testredis.Server) queuetest.Opener {
	return func(t *testing.T) queue.Queue {
		t.Helper()
		sep := "?"
		if strings.Contains(srv.URL(), "?") {
			sep = "&"
		}
		url := fmt.Sprintf("%s%sprefix=t%d:", srv.URL(), sep, testPrefixes.Add(1))
		q, err := OpenURL(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Close() })
		return q
	}
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, opener(testredis.Start(t)))
}

// TestConformanceTLS runs the suite over rediss:// against a server that
// only speaks TLS, trusting its CA through ?tls_ca=.
func TestConformanceTLS(t *testing.T) {
	queuetest.Run(t, opener(testredis.StartTLS(t)))
}

func TestTLSNeedsTrust(t *testing.T) {
	srv := testredis.StartTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if q, err := OpenURL(ctx, "rediss://"+srv.Addr()); err == nil {
		q.Close()
		t.Fatal("connected to a server whose certificate no trusted CA signed")
	}
	if q, err := OpenURL(ctx, "redis://"+srv.Addr()); err == nil {
		q.Close()
		t.Fatal("plaintext client connected to the TLS-only server")
	}
}

// TestKill9Restart kills redis-server with SIGKILL and starts it again on
// the same folder: everything Enqueue acknowledged must still be there.
func TestKill9Restart(t *testing.T) {
	srv := testredis.Start(t)
	open := opener(srv)
	crash := func(t *testing.T, q queue.Queue) queue.Queue {
		prefix := q.(*Queue).prefix
		srv.Kill9()
		q.Close()
		srv.Restart()
		q2, err := OpenURL(context.Background(), srv.URL()+"?prefix="+prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q2.Close() })
		return q2
	}
	queuetest.RunDurability(t, open, crash)
	queuetest.RunCrashDuringEnqueue(t, open, crash)
}

func TestPrefixIsolates(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	a, err := OpenURL(ctx, srv.URL()+"?prefix=a:")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenURL(ctx, srv.URL()+"?prefix=b:")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Enqueue(ctx, queue.StreamTips, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutRecord(ctx, "r", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if msgs, err := b.List(ctx, queue.StreamTips, "", 10); err != nil || len(msgs) != 0 {
		t.Fatalf("prefix b sees %d messages of prefix a (%v)", len(msgs), err)
	}
	if keys, err := b.ListRecords(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("prefix b sees records %q (%v)", keys, err)
	}
	keys, err := a.Client().Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "a:") {
			t.Errorf("key %q outside the prefix", k)
		}
	}
}

func TestRefusesUndurableServer(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	q, err := OpenURL(ctx, srv.URL())
	if err != nil {
		t.Fatalf("durable server refused: %v", err)
	}
	defer q.Close()
	if err := q.Client().ConfigSet(ctx, "appendfsync", "everysec").Err(); err != nil {
		t.Fatal(err)
	}
	if q2, err := OpenURL(ctx, srv.URL()); !errors.Is(err, ErrNotDurable) {
		if q2 != nil {
			q2.Close()
		}
		t.Fatalf("Open on appendfsync everysec: err = %v, want ErrNotDurable", err)
	}
	q3, err := OpenURL(ctx, srv.URL()+"?durability=warn")
	if err != nil {
		t.Fatalf("Open with durability=warn: %v", err)
	}
	q3.Close()
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		in     string
		addr   string
		prefix string
		dur    Durability
		tls    bool
		bad    bool
	}{
		{in: "redis://127.0.0.1:6379", addr: "127.0.0.1:6379"},
		{in: "redis://127.0.0.1:6380/2?prefix=ngo1:", addr: "127.0.0.1:6380", prefix: "ngo1:"},
		{in: "rediss://redis.internal:6379?durability=warn", addr: "redis.internal:6379", dur: WarnFsync, tls: true},
		{in: "redis://127.0.0.1:6379?dial_timeout=3s&prefix=x:", addr: "127.0.0.1:6379", prefix: "x:"},
		{in: "redis://127.0.0.1:6379?prefix=", bad: true},
		{in: "redis://127.0.0.1:6379?durability=maybe", bad: true},
		{in: "redis://127.0.0.1:6379?bogus=1", bad: true},
		{in: "http://127.0.0.1:6379", bad: true},
		{in: "redis://127.0.0.1:6379?tls_ca=/etc/ssl/ca.pem", bad: true},
		{in: "rediss://127.0.0.1:6379?tls_ca=/nonexistent/ca.pem", bad: true},
	}
	for _, c := range cases {
		ro, opts, err := ParseURL(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseURL(%q): want an error", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.in, err)
			continue
		}
		if ro.Addr != c.addr || opts.Prefix != c.prefix || opts.Durability != c.dur || (ro.TLSConfig != nil) != c.tls {
			t.Errorf("ParseURL(%q) = addr %s prefix %q durability %d tls %v", c.in, ro.Addr, opts.Prefix, opts.Durability, ro.TLSConfig != nil)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	cases := map[string]string{"a": "b", "triage/": "triage0", "a\xff": "b", "\xff\xff": ""}
	for in, want := range cases {
		got, ok := prefixEnd(in)
		if got != want || ok != (want != "") {
			t.Errorf("prefixEnd(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

func BenchmarkEnqueue(b *testing.B) {
	srv := testredis.Start(b)
	q, err := OpenURL(context.Background(), srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	queuetest.BenchEnqueue(b, q, 1, 16, 64)
}
