package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGatewayWiresSMS checks that "flare gateway" turns the generic SMS
// webhook on from its FLARE_ variable, and that a signed message arrives in
// the console with the sender's number, while an unsigned one is refused.
func TestGatewayWiresSMS(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	g := startGateway(t, []string{"FLARE_SMS_WEBHOOK_SECRET=" + secret}, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir)

	body := `{"event":"sms:received","id":"delivery-1","payload":{"messageId":"m1","message":"HELP we are in building C","phoneNumber":"+85512399887","simNumber":1}}`
	post := func(sign bool) int {
		req, _ := http.NewRequest("POST", "http://"+g.addr+"/webhooks/sms", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sign {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			m := hmac.New(sha256.New, []byte(secret))
			m.Write([]byte(body + ts))
			req.Header.Set("X-Timestamp", ts)
			req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(false); s != http.StatusUnauthorized {
		t.Fatalf("unsigned: status %d, want 401", s)
	}
	if s := post(true); s != http.StatusOK {
		t.Fatalf("signed: status %d", s)
	}
	out := runFlare(t, "console", "list", "--identity", identity, "--queue", queueURL)
	if !strings.Contains(out, "sms") || !strings.Contains(out, "distress") || strings.Count(out, "\n") != 2 {
		t.Fatalf("console list:\n%s", out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	show := runFlare(t, "console", "show", id, "--identity", identity, "--queue", queueURL)
	if !strings.Contains(show, "+85512399887") || !strings.Contains(show, "HELP we are in building C") {
		t.Fatalf("console show:\n%s", show)
	}
}
