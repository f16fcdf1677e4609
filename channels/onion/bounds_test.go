package onion

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/web"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/queue"
)

// TestOnionIntakeBounded checks that the intake's bounds hold on the onion
// listener as served (under withPolicy, whose writer must let the read
// deadline through): a huge url-encoded body is refused unread, and a
// stalled upload is cut off and its connection closed.
func TestOnionIntakeBounded(t *testing.T) {
	q, _ := openQueue(t, t.TempDir())
	k := newKeyHolder(t)
	sealer, err := crypto.NewSealer(k.recipient)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	intake, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	gate := channels.NewGate(channels.GateConfig{UploadGrace: 300 * time.Millisecond, MinUploadRate: 1 << 10}, nil)
	deps := channels.Deps{Sink: intake, Queue: q, Catalog: catalog.New(nil), Log: log, Gate: gate}
	srv := httptest.NewServer(withPolicy(web.New("onion", deps).Handler()))
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")

	t.Run("huge url-encoded body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x.onion\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\nmessage=aaaa", 299<<20)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
	})
	t.Run("stalled upload", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /submit HTTP/1.1\r\nHost: x.onion\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s", 100<<20, strings.Repeat("z", 100))
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to a stalled upload: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("status %d, want 408", resp.StatusCode)
		}
		if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("connection still open: %v", err)
		}
	})
	if msgs, _ := q.List(context.Background(), queue.StreamTips, "", 10); len(msgs) != 0 {
		t.Fatalf("%d tips queued", len(msgs))
	}
}
