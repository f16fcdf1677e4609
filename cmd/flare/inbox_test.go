package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/sentinel"
	"github.com/flarehq/flare/queue/backend"
)

var (
	inboxCodeRE = regexp.MustCompile(`<code id="inbox-code">([0-9 ]+)</code>`)
	replyIDRE   = regexp.MustCompile(`name="reply" value="([a-z2-7]{16})"`)
	tokenRE     = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// postForm posts a url-encoded form to the intake, as the inbox's small
// forms do, and returns the status and page.
func postForm(t *testing.T, base string, v url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/", v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

// TestWebInboxRoundTrip is the web and onion inbox from both ends: a source
// submits and gets an inbox code; a key-holder replies with flare console
// reply; the source opens the inbox with the code, reads the reply, writes
// back into the same case and deletes the reply, whose ciphertext then
// leaves the store; a wrong code looks like an empty inbox; and nothing the
// gateway holds opens the reply.
func TestWebInboxRoundTrip(t *testing.T) {
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	store := filepath.Join(dataDir, "flare.db")
	queueURL := "file:" + store
	g := startGateway(t, nil, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir, "--inbox-try-burst", "50")
	base := "http://" + g.addr
	gwKey := strings.TrimSpace(runFlare(t, "gateway", "signing-key", "--data-dir", dataDir))
	console := func(args ...string) string {
		t.Helper()
		return runFlare(t, append(append([]string{"console"}, args...), "--identity", identity, "--queue", queueURL, "--gateway-key", gwKey)...)
	}

	status, page := postTip(t, base+"/?lang=km", map[string]string{"message": "they took our passports", "lang": "km"}, nil)
	if status != 200 {
		t.Fatalf("submit: %d\n%s", status, page)
	}
	receipt := receiptOf(t, page)
	m := inboxCodeRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no inbox code on the receipt:\n%s", page)
	}
	code := m[1]
	if !strings.Contains(page, "Check for a reply") && !strings.Contains(page, `id="check"`) {
		t.Fatalf("no way back to the inbox on the receipt page")
	}

	// Before any reply, the inbox is empty; a wrong code looks the same.
	empty := func(c string) string {
		st, p := postForm(t, base, url.Values{"action": {"open"}, "code": {c}, "lang": {"km"}})
		if st != 200 || !strings.Contains(p, `id="empty"`) {
			t.Fatalf("open %q: %d\n%s", c, st, p)
		}
		return tokenRE.ReplaceAllString(p, "")
	}
	right := empty(code)
	wrongCode := "0000 1111 2222 3333 4444"
	if wrong := empty(wrongCode); wrong != strings.ReplaceAll(right, code, wrongCode) {
		t.Errorf("a wrong code's page differs from an empty inbox's")
	}

	const replyText = "REPLY-SENTINEL Which building? What are the names?"
	out := console("reply", receipt, "--text", replyText, "--lang", "en")
	if !strings.Contains(out, "waiting in the source's inbox") {
		t.Fatalf("console reply printed %q", out)
	}
	if out := console("replies", receipt); !strings.Contains(out, "waiting") {
		t.Fatalf("console replies: %q", out)
	}

	st, opened := postForm(t, base, url.Values{"action": {"open"}, "code": {code}, "lang": {"km"}})
	if st != 200 || !strings.Contains(opened, "REPLY-SENTINEL Which building?") {
		t.Fatalf("the source does not see the reply: %d\n%s", st, opened)
	}
	if !strings.Contains(opened, `lang="km"`) {
		t.Errorf("the inbox page is not in the source's language")
	}
	replyID := replyIDRE.FindStringSubmatch(opened)[1]

	// The reply as stored, to look for after the delete.
	q, err := backend.Open(context.Background(), queueURL)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := q.ListRecords(context.Background(), "reply/")
	if len(keys) != 1 {
		t.Fatalf("%d replies stored", len(keys))
	}
	sealed, _, err := q.GetRecord(context.Background(), keys[0])
	q.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Nothing in the gateway's data directory opens it.
	for _, name := range []string{"outbound.key"} {
		ids, err := age.ParseIdentities(bytes.NewReader(mustRead(t, filepath.Join(dataDir, name))))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := crypto.OpenReply(sealed, ids...); err == nil {
			t.Fatalf("%s opens a web reply", name)
		}
	}

	// The source writes back from the inbox: a new tip in the same case.
	token := tokenRE.FindStringSubmatch(opened)[1]
	st, answered := postForm(t, base, url.Values{"action": {"answer"}, "code": {code}, "token": {token}, "lang": {"km"}, "message": {"Building C, third floor"}})
	if st != 200 || inboxCodeRE.MatchString(answered) {
		t.Fatalf("answer: %d (a new inbox code must not be given)\n%s", st, answered)
	}
	answerReceipt := receiptOf(t, answered)
	first := console("show", receipt, "--json")
	second := console("show", answerReceipt, "--json")
	inboxOf := regexp.MustCompile(`"inbox":\s*"(age1[a-z0-9]+)"`)
	a, b := inboxOf.FindStringSubmatch(first), inboxOf.FindStringSubmatch(second)
	if a == nil || b == nil || a[1] != b[1] {
		t.Fatalf("the answer does not carry the first tip's inbox:\n%s\n%s", first, second)
	}

	// "I have read this — delete it".
	st, deleted := postForm(t, base, url.Values{"action": {"delete"}, "code": {code}, "reply": {replyID}, "lang": {"km"}})
	if st != 200 || strings.Contains(deleted, "REPLY-SENTINEL") || !strings.Contains(deleted, `id="empty"`) {
		t.Fatalf("after delete: %d\n%s", st, deleted)
	}
	if out := console("replies", receipt); !strings.Contains(out, "read") {
		t.Fatalf("key-holders do not see that the reply was read: %q", out)
	}
	for _, f := range []string{store, store + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if bytes.Contains(data, sealed[len(sealed)/2:len(sealed)/2+64]) {
			t.Errorf("%s still holds the deleted reply's ciphertext", filepath.Base(f))
		}
	}
	// Neither the reply, the answer nor the code is in the clear in the
	// store, the data directory or the gateway's logs.
	g.stop()
	for _, secret := range []string{"REPLY-SENTINEL", "Building C, third floor", strings.ReplaceAll(code, " ", "")} {
		hits, err := sentinel.Dir(dataDir, secret)
		if err != nil {
			t.Fatal(err)
		}
		hits = append(hits, sentinel.Bytes(g.logs.Bytes(), "gateway logs", secret)...)
		if len(hits) > 0 {
			t.Errorf("%q found in the clear: %v", secret, hits)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
