package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// TestForgedTipsAreFlagged reproduces the review's finding: someone who can
// write to the queue seals a "distress SMS" to the key-holders' public
// recipient with the stock age tool and inserts it. The console must show
// it as forged, never as a tip from the gateway.
func TestForgedTipsAreFlagged(t *testing.T) {
	ageBin := ageCLI(t, false)
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	gatewayKey := strings.TrimSpace(runFlare(t, "gateway", "signing-key", "--data-dir", dataDir))
	if _, err := crypto.ParseGatewayKey(gatewayKey); err != nil {
		t.Fatalf("signing-key printed %q: %v", gatewayKey, err)
	}
	g := startGateway(t, nil, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir)
	if again := strings.TrimSpace(runFlare(t, "gateway", "signing-key", "--data-dir", dataDir)); again != gatewayKey {
		t.Fatalf("the gateway changed its signing key: %s, then %s", gatewayKey, again)
	}
	if status, page := postTip(t, "http://"+g.addr+"/", map[string]string{"message": "genuine tip"}, nil); status != 200 {
		t.Fatalf("status %d: %s", status, page)
	}

	ageSeal := func(plain string) []byte {
		t.Helper()
		cmd := exec.Command(ageBin, "-r", recipient)
		cmd.Stdin = strings.NewReader(plain)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("age -r: %v", err)
		}
		return out
	}
	otherKey, err := crypto.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypto.ParseRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	s, err := crypto.NewSealer(r)
	if err != nil {
		t.Fatal(err)
	}
	signedByOther, err := s.SignedBy(otherKey).SealTip(&crypto.Tip{ID: "forged3", Channel: "sms", Kind: crypto.KindDistress, Text: "forged, signed by another key"})
	if err != nil {
		t.Fatal(err)
	}
	forgeries := [][]byte{
		ageSeal(`{"flare_envelope":2,"tip":{"id":"forged1","channel":"sms","kind":"distress","text":"forged, unsigned","sender":{"phone":"+85500000000"},"reply":{"channel":"sms","address":"+85500000000"}}}`),
		ageSeal(`{"flare_envelope":1,"id":"forged2","channel":"sms","kind":"distress","text":"forged, old format","sender":{"phone":"+85500000000"}}`),
		ageSeal(`{"flare_envelope":2,"signer":"` + gatewayKey + `","sig":"` + strings.Repeat("A", 86) + `","tip":{"id":"forged4","channel":"sms","kind":"distress","text":"forged, bad signature"}}`),
		signedByOther,
	}
	q, err := backend.Open(context.Background(), queueURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forgeries {
		if _, err := q.Enqueue(context.Background(), queue.StreamTips, f); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()

	type row struct {
		TipID        string `json:"tip_id"`
		Preview      string `json:"preview"`
		Authenticity string `json:"authenticity"`
	}
	list := func(extra ...string) ([]row, string) {
		t.Helper()
		cmd := exec.Command(flareBin, append([]string{"console", "list", "--json", "--identity", identity, "--queue", queueURL}, extra...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("console list: %v\n%s", err, stderr.String())
		}
		var rows []row
		if err := json.Unmarshal(out, &rows); err != nil {
			t.Fatalf("console list --json: %v\n%s", err, out)
		}
		return rows, stderr.String()
	}

	rows, stderr := list("--gateway-key", gatewayKey)
	if len(rows) != 1+len(forgeries) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), 1+len(forgeries), rows)
	}
	for _, r := range rows {
		want := "forged"
		if r.Preview == "genuine tip" {
			want = "authentic"
		}
		if r.Authenticity != want {
			t.Errorf("%q: authenticity %q, want %q", r.Preview, r.Authenticity, want)
		}
	}
	if strings.Contains(stderr, "no --gateway-key") {
		t.Errorf("warned about a missing gateway key that was given: %s", stderr)
	}

	show := runFlare(t, "console", "show", "forged1", "--identity", identity, "--queue", queueURL, "--gateway-key", gatewayKey)
	if !strings.HasPrefix(show, "FORGED:") {
		t.Errorf("show of a forged tip does not start with the warning:\n%s", show)
	}
	text := runFlare(t, "console", "list", "--identity", identity, "--queue", queueURL, "--gateway-key", gatewayKey)
	if n := strings.Count(text, "FORGED distress"); n != len(forgeries) {
		t.Errorf("list marks %d rows FORGED, want %d:\n%s", n, len(forgeries), text)
	}
	genuine := runFlare(t, "console", "show", rows[0].TipID, "--identity", identity, "--queue", queueURL, "--gateway-key", gatewayKey)
	if strings.Contains(genuine, "FORGED") {
		t.Errorf("genuine tip shown as forged:\n%s", genuine)
	}

	// Without a gateway key the console cannot tell, and says so.
	rows, stderr = list()
	for _, r := range rows {
		if r.Authenticity != "unverified" {
			t.Errorf("%q: authenticity %q without a gateway key, want unverified", r.Preview, r.Authenticity)
		}
	}
	if !strings.Contains(stderr, "no --gateway-key") {
		t.Errorf("no warning without a gateway key: %q", stderr)
	}

	// A malformed key is refused, and not echoed.
	cmd := exec.Command(flareBin, "console", "list", "--identity", identity, "--queue", queueURL, "--gateway-key", "AGE-SECRET-KEY-1XYZ")
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), "AGE-SECRET-KEY-1XYZ") || !strings.Contains(string(out), "malformed gateway key") {
		t.Errorf("malformed gateway key: err %v, output %s", err, out)
	}
}
