package sms

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue/embedded"
)

// TestMain turns the test binary into a gateway process when
// TestVonageConcatSurvivesKill starts it with FLARE_SMS_TEST_STORE set: it
// serves the SMS channel on that embedded store until it is killed.
func TestMain(m *testing.M) {
	if store := os.Getenv("FLARE_SMS_TEST_STORE"); store != "" {
		if err := helperGateway(store, os.Getenv("FLARE_SMS_TEST_RECIPIENT")); err != nil {
			fmt.Fprintln(os.Stderr, "helper gateway:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(testkit.Main(m))
}

func helperGateway(store, recipient string) error {
	q, err := embedded.Open(context.Background(), store, embedded.Options{})
	if err != nil {
		return err
	}
	r, err := crypto.ParseRecipient(recipient)
	if err != nil {
		return err
	}
	sealer, err := crypto.NewSealer(r)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	intake, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Log: log})
	if err != nil {
		return err
	}
	hasher, err := channels.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		return err
	}
	cfg := DefaultConfig()
	cfg.VonageSignatureMethod, cfg.VonageSignatureSecret = "md5hash", vonageSecret
	ch, err := New(cfg, channels.Deps{Sink: intake, Queue: q, Hasher: hasher, Log: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	ch.Routes(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening http://%s\n", ln.Addr())
	return http.Serve(ln, mux) // until killed
}

// startGateway runs the test binary as a gateway in a new process and returns its URL.
func startGateway(t *testing.T, store, recipient string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FLARE_SMS_TEST_STORE="+store, "FLARE_SMS_TEST_RECIPIENT="+recipient)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, u
		}
	}
	t.Fatalf("helper gateway did not start: %v", sc.Err())
	return nil, ""
}

// TestVonageConcatSurvivesKill sends a three-part message out of order to
// a gateway process that is killed (SIGKILL) after each part is answered,
// and restarted on the same store; Vonage then retries one part it had
// its answer for. Every part is there once, and the message joins in
// order.
func TestVonageConcatSurvivesKill(t *testing.T) {
	k := testkit.NewKeyHolder(t)
	ids, recipient := k.Identities, k.RecipientString
	store := filepath.Join(t.TempDir(), "flare.db")
	now := time.Now()
	send := func(base string, v url.Values) int {
		resp, err := http.Post(base+"/webhooks/vonage", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	part := func(i int) url.Values {
		return vonagePart(now, fmt.Sprintf("0F0000000000000%d", i), "85570111222", "c3", i, 3, threeParts[i-1])
	}
	for _, step := range []struct{ part int }{{2}, {3}, {1}, {2}} { // the last is Vonage's retry
		cmd, base := startGateway(t, store, recipient)
		if st := send(base, part(step.part)); st != http.StatusNoContent {
			t.Fatalf("part %d: status %d", step.part, st)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
	}
	q, err := embedded.Open(context.Background(), store, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	env := &testEnv{t: t, q: q, ids: ids}
	if n := env.queued(); n != 3 {
		t.Fatalf("%d tips in the store, want 3 (one per part, the retry dropped)", n)
	}
	m := joined(t, env)
	if !m.Complete || m.Text != strings.Join(threeParts, "") {
		t.Fatalf("joined: complete %v, %q", m.Complete, m.Text)
	}
}
