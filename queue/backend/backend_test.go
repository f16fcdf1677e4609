package backend

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/embedded"
	"github.com/flarehq/flare/queue/redis"
)

func TestScheme(t *testing.T) {
	cases := map[string]string{
		"file:/var/lib/flare/q.db": "file",
		"FILE:q.db":                "file",
		"/var/lib/flare/q.db":      "file",
		"./q.db":                   "file",
		"q.db":                     "file",
		"data/with:colon.db":       "file",
		"redis://127.0.0.1:6379":   "redis",
		"rediss://redis:6380":      "rediss",
		"postgres://db/flare":      "postgres",
		"":                         "",
		"   ":                      "",
	}
	for in, want := range cases {
		if got := Scheme(in); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	cases := map[string]string{
		"":                    "no queue URL",
		"postgres://db/flare": `"postgres"`,
		"amqp://broker":       `"amqp"`,
		"file://remote/q.db":  "host",
	}
	for url, want := range cases {
		q, err := Open(context.Background(), url)
		if err == nil {
			q.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) error %q does not mention %s", url, err, want)
		}
	}
}

func TestOpenEmbedded(t *testing.T) {
	dir := t.TempDir()
	for _, url := range []string{
		"file:" + filepath.Join(dir, "a", "queue.db"),
		filepath.Join(dir, "b", "queue.db"),
		"file://" + filepath.Join(dir, "c", "queue.db"),
	} {
		q, err := Open(context.Background(), url)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if _, ok := q.(*embedded.Store); !ok {
			t.Errorf("Open(%q) = %T, want the embedded store", url, q)
		}
		if _, err := q.Enqueue(context.Background(), queue.StreamTips, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		q.Close()
	}
	for _, sub := range []string{"a", "b", "c"} {
		if _, err := os.Stat(filepath.Join(dir, sub, "queue.db")); err != nil {
			t.Errorf("store %s not created where the URL said: %v", sub, err)
		}
	}
}

func TestOpenRedis(t *testing.T) {
	srv := testredis.Start(t)
	q, err := Open(context.Background(), srv.URL()+"?prefix=backend:")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, ok := q.(*redis.Queue); !ok {
		t.Fatalf("Open(redis://…) = %T, want the Redis queue", q)
	}
	id, err := q.Enqueue(context.Background(), queue.StreamTips, []byte("sealed"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := q.(*redis.Queue).Client().Exists(context.Background(), "backend:stream:tips").Result()
	if err != nil || n != 1 {
		t.Fatalf("message %s not under the prefix given in the URL (%d, %v)", id, n, err)
	}
}
