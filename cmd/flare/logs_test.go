package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/testredis"
)

// jsonLines parses every line of logs as a JSON object, failing the test
// on any line that is not one.
func jsonLines(t *testing.T, logs []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(logs))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		out = append(out, m)
	}
	return out
}

// TestRedisDownLogsOneErrorWithCause stops Redis under a running gateway:
// the refused tips give one ERROR line that names the cause, and every
// line the gateway prints, the Redis client's included, is JSON.
func TestRedisDownLogsOneErrorWithCause(t *testing.T) {
	_, recipient := keyholder(t, false)
	rs := testredis.Start(t)
	g := startGateway(t, nil, "--recipient", recipient, "--queue", rs.URL(), "--data-dir", t.TempDir(), "--log-format", "json")
	if status, page := postTip(t, "http://"+g.addr+"/", map[string]string{"message": "before", "kind": "tip"}, nil); status != 200 {
		t.Fatalf("status %d: %s", status, page)
	}
	rs.Kill9()
	for i := range 5 {
		status, _ := postTip(t, "http://"+g.addr+"/", map[string]string{"message": fmt.Sprint("while down ", i), "kind": "distress"}, nil)
		if status != http.StatusServiceUnavailable {
			t.Fatalf("tip %d with Redis down: status %d, want 503", i, status)
		}
	}
	resp, err := http.Get("http://" + g.admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d, want 503", resp.StatusCode)
	}
	time.Sleep(500 * time.Millisecond)
	g.stop()

	lines := jsonLines(t, g.logs.Bytes())
	var errs []map[string]any
	for _, l := range lines {
		if l["level"] == "ERROR" {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("%d ERROR lines, want 1:\n%s", len(errs), g.logs.Bytes())
	}
	cause, _ := errs[0]["cause"].(string)
	if !strings.Contains(cause, "connection refused") && !strings.Contains(cause, "dial") {
		t.Errorf("ERROR line does not name the cause: %v", errs[0])
	}
	// go-redis reports the dead server on its own; its lines must have
	// come through Flare's handler (they parsed as JSON above).
	redisLines := 0
	for _, l := range lines {
		if l["component"] == "redis" {
			redisLines++
		}
	}
	if redisLines == 0 {
		t.Errorf("no Redis client line in the log; the test no longer shows that they are routed:\n%s", g.logs.Bytes())
	}
}

// TestLogsCarryNothingPerTip sends 50 tips of every kind, some with files
// of varied sizes: the log has no line per tip, and no kind, size or
// attachment count.
func TestLogsCarryNothingPerTip(t *testing.T) {
	_, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	g := startGateway(t, nil, "--recipient", recipient, "--queue", "file:"+filepath.Join(dataDir, "flare.db"), "--data-dir", dataDir, "--log-format", "json")
	kinds := []string{"distress", "missing", "evidence", "tip", "other"}
	for i := range 50 {
		files := map[string][]byte{}
		for j := range i % 3 {
			files[fmt.Sprintf("f%d-%d.jpg", i, j)] = bytes.Repeat([]byte{'x'}, 1000*(i+1))
		}
		status, page := postTip(t, "http://"+g.addr+"/", map[string]string{"message": strings.Repeat("m", i*37+1), "kind": kinds[i%len(kinds)]}, files)
		if status != 200 {
			t.Fatalf("tip %d: status %d: %s", i, status, page)
		}
	}
	g.stop()
	logs := g.logs.Bytes()
	lines := jsonLines(t, logs)
	if len(lines) >= 50 {
		t.Errorf("%d log lines for 50 tips: a line per tip dates each one", len(lines))
	}
	for _, l := range lines {
		for k, v := range l {
			s := fmt.Sprint(v)
			for _, bad := range []string{"kind", "attachment", "size", "bytes", "media"} {
				if strings.Contains(strings.ToLower(k), bad) {
					t.Errorf("log line has a per-tip field %q: %v", k, l)
				}
			}
			for _, kind := range kinds[:3] {
				if strings.Contains(s, kind) {
					t.Errorf("log line names a kind (%s): %v", kind, l)
				}
			}
		}
	}
}
