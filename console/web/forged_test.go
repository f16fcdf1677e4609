package web

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue"
)

// TestForgedTipFlaggedAndSortedLast: a distress call sealed to the
// key-holders by someone without the gateway's signing key is shown as
// forged, below genuine work, with a warning on its page.
func TestForgedTipFlaggedAndSortedLast(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	rs := recipients(alice)
	gw, err := crypto.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := crypto.NewSealer(rs...)
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(s *crypto.Sealer, tip *crypto.Tip) {
		t.Helper()
		tip.Received = crypto.CoarsenTime(time.Now())
		sealed, err := s.SealTip(tip)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Enqueue(context.Background(), queue.StreamTips, sealed); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(sealer, &crypto.Tip{ID: "forged", Receipt: "FAKE-0001", Channel: "sms", Kind: crypto.KindDistress, Text: "ROW-FORGED come to this address", Sender: &crypto.Sender{Phone: "+85500000000"}})
	enqueue(sealer.SignedBy(gw), &crypto.Tip{ID: "real", Receipt: "REAL-0001", Channel: "web", Kind: crypto.KindTip, Text: "ROW-GENUINE a company launders money"})

	out := &testkit.Buffer{}
	srv, err := New(Config{
		Queue: q, Identities: []age.Identity{alice.id}, Recipients: rs, Name: alice.name,
		GatewayKeys: []crypto.GatewayKey{gw.Public()},
		Out:         out, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	var signIn string
	for range 100 {
		if signIn = urlPattern.FindString(string(out.Bytes())); signIn != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	u, _ := url.Parse(signIn)
	r := &running{srv: srv, base: "http://" + u.Host, signIn: signIn}
	c := r.client(t)

	_, page := get(t, c, r.base+"/")
	order := regexp.MustCompile(`ROW-[A-Z]+`).FindAllString(page, -1)
	if len(order) != 2 || order[0] != "ROW-GENUINE" || order[1] != "ROW-FORGED" {
		t.Fatalf("inbox order = %v, want the genuine tip before the forged distress call", order)
	}
	if n := strings.Count(page, `class="badge forged"`); n != 1 {
		t.Errorf("%d forged badges in the inbox, want 1", n)
	}
	key := regexp.MustCompile(`<tr class="[^"]*" data-key="([^"]+)">\s*<td><span class="badge forged"`).FindStringSubmatch(page)
	if key == nil {
		t.Fatalf("no forged row in:\n%s", page)
	}
	_, tipPage := get(t, c, r.base+"/tip/"+key[1])
	if !strings.Contains(tipPage, `id="forged"`) {
		t.Errorf("forged tip's page has no warning")
	}
	realKey := regexp.MustCompile(`data-key="([^"]+)">\s*<td><span class="badge kind-tip`).FindStringSubmatch(page)
	if realKey == nil {
		t.Fatalf("no genuine row in:\n%s", page)
	}
	if _, realPage := get(t, c, r.base+"/tip/"+realKey[1]); strings.Contains(realPage, `id="forged"`) {
		t.Errorf("genuine tip's page warns it is forged")
	}
}
