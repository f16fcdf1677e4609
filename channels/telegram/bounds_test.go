package telegram

import (
	"fmt"
	"strings"
	"testing"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
)

var bob = telegramtest.User{ID: 918273646, Username: "bob_sentinel_8842", FirstName: "Bob", Language: "en"}

// generous lets a test send more than the default rate limit allows, so
// that only the bounds under test refuse anything.
func generous(c *Config) { c.RateBurst, c.RatePerMinute = 1000, 1000 }

// TestDraftPeopleBounded: a draft takes at most maxPeople contact cards
// of other people, each cut to maxEntryBytes; the next is refused with a
// message that says so, and the draft can still be sent.
func TestDraftPeopleBounded(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: generous})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "these are the people in room 12"), "sendMessage", 1)
	long := strings.Repeat("ញ", 200) // 600 bytes
	for i := range maxPeople {
		h.deliver(h.srv.Contact(alice, fmt.Sprintf("+1555010%04d", i), long, 0), "editMessageText", 1)
	}
	h.deliver(h.srv.Contact(alice, "+15550109999", "One too many", 0), "sendMessage", 1)
	if got := h.lastBotText(alice.ID); got != defaultTexts[txtTooManyPeople] {
		t.Fatalf("answer to one contact too many = %q", got)
	}
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "tip", func() bool { return len(h.q.tips()) == 1 })
	tip := h.tips()[0]
	if len(tip.People) != maxPeople {
		t.Fatalf("tip holds %d people, want %d", len(tip.People), maxPeople)
	}
	for _, p := range tip.People {
		if len(p) > maxEntryBytes || strings.Contains(p, "+15550109999") || !strings.HasPrefix(p, "ញ") {
			t.Fatalf("person entry %d bytes, %.40q…", len(p), p)
		}
	}
}

// TestDraftForwardsBounded: a draft takes at most maxForwards forwarded
// messages; one more is refused whole (its text and its origin), with a
// message that says so.
func TestDraftForwardsBounded(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: generous})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	from := telegramtest.User{ID: 5550001, FirstName: strings.Repeat("Boss", 100), Username: "compound_boss"}
	for i := range maxForwards {
		method := "editMessageText"
		if i == 0 {
			method = "sendMessage"
		}
		h.deliver(h.srv.Forwarded(alice, fmt.Sprintf("order %d", i), from), method, 1)
	}
	h.deliver(h.srv.Forwarded(alice, "order too many", from), "sendMessage", 1)
	if got := h.lastBotText(alice.ID); got != defaultTexts[txtTooManyFwd] {
		t.Fatalf("answer to one forward too many = %q", got)
	}
	h.deliver(h.srv.Text(alice, "my own words"), "editMessageText", 1)
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "tip", func() bool { return len(h.q.tips()) == 1 })
	tip := h.tips()[0]
	n := 0
	for k, v := range tip.Fields {
		if strings.HasPrefix(k, "forwarded_from.") {
			n++
			if len(v) > maxEntryBytes || !strings.HasPrefix(v, "Boss") {
				t.Fatalf("forwarded-from entry %d bytes, %.40q…", len(v), v)
			}
		}
	}
	if n != maxForwards {
		t.Fatalf("tip holds %d forwarded-from entries, want %d", n, maxForwards)
	}
	if strings.Contains(tip.Text, "order too many") || !strings.Contains(tip.Text, "my own words") {
		t.Fatalf("tip text = %.80q…", tip.Text)
	}
}

// TestDraftMemoryBounded: all drafts together hold at most DraftMemory
// bytes. A source who would pass it is asked to send what they have or
// wait; once another draft is sealed its memory is free again, and none
// is held once every conversation is over.
func TestDraftMemoryBounded(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: func(c *Config) { generous(c); c.DraftMemory = 1000 }})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, strings.Repeat("a", 800)), "sendMessage", 1)
	h.deliver(h.srv.Text(bob, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(bob, strings.Repeat("b", 400)), "sendMessage", 1)
	if got := h.lastBotText(bob.ID); got != defaultTexts[txtBusy] {
		t.Fatalf("answer past the memory bound = %q", got)
	}
	from := telegramtest.User{ID: 5550002, FirstName: strings.Repeat("x", 200)}
	h.deliver(h.srv.Forwarded(bob, "fwd", from), "sendMessage", 1)
	h.deliver(h.srv.Contact(bob, "+15550100001", strings.Repeat("y", 250), 0), "sendMessage", 1)
	if got := h.lastBotText(bob.ID); got != defaultTexts[txtBusy] {
		t.Fatalf("answer to a forward past the memory bound = %q", got)
	}
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "alice's tip", func() bool { return len(h.q.tips()) == 1 })
	waitFor(t, "alice's draft memory given back", func() bool { return h.ch.held.Load() < 300 })
	h.deliver(h.srv.Text(bob, strings.Repeat("b", 400)), "sendMessage", 1)
	h.deliver(h.srv.Text(bob, "/send"), "sendMessage", 1)
	waitFor(t, "bob's tip", func() bool { return len(h.q.tips()) == 2 })
	waitFor(t, "no draft memory held", func() bool { return h.ch.held.Load() == 0 })
	for _, tip := range h.tips() {
		if strings.Contains(tip.Text, "fwd") || len(tip.People) != 0 {
			t.Fatalf("a refused message reached a tip: %.60q, people %v", tip.Text, tip.People)
		}
	}
}
