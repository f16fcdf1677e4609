package console

import (
	"testing"

	"github.com/flarehq/flare/crypto"
)

// TestFollowUpsJoinTheirCase: an answer from the same inbox, an answer
// after a Telegram check-in (Fields["case"]) and a new tip quoting a
// receipt code are each linked to the tip they follow.
func TestFollowUpsJoinTheirCase(t *testing.T) {
	tip := func(text string, mutate func(*crypto.Tip)) Entry {
		tp := &crypto.Tip{Channel: "web", Kind: crypto.KindTip, Text: text}
		mutate(tp)
		return Entry{Tip: tp}
	}
	x := NewIndex()
	x.Add("1-1", tip("first message", func(t *crypto.Tip) { t.Inbox = "age1inboxA"; t.Receipt = "K7QF-2M9D" }))
	x.Add("1-2", tip("answer from the inbox", func(t *crypto.Tip) { t.Inbox = "age1inboxA" }))
	x.Add("2-1", tip("telegram tip", func(t *crypto.Tip) { t.Channel = "telegram" }))
	x.Add("2-2", tip("answer after check-in", func(t *crypto.Tip) { t.Fields = map[string]string{"case": "2-1"} }))
	x.Add("3-1", tip("I wrote before, code k7qf-2m9d", func(t *crypto.Tip) {}))
	x.Add("3-2", tip("code K7QF2M9D again", func(t *crypto.Tip) {}))
	x.Add("4-1", tip("unrelated", func(t *crypto.Tip) { t.Inbox = "age1inboxB" }))
	x.Add("5-1", tip("quotes ABCD-EFGH, a code no tip has", func(t *crypto.Tip) {}))
	x.Add("5-2", tip("also quotes abcd efgh", func(t *crypto.Tip) {}))
	linked := func(a, b string) bool {
		for _, l := range x.Links(a) {
			if l.Key == b {
				return true
			}
		}
		return false
	}
	for _, pair := range [][2]string{{"1-1", "1-2"}, {"2-1", "2-2"}, {"1-1", "3-1"}, {"1-1", "3-2"}} {
		if !linked(pair[0], pair[1]) || !linked(pair[1], pair[0]) {
			t.Errorf("%s and %s are not linked: %+v", pair[0], pair[1], x.Links(pair[0]))
		}
	}
	for _, other := range []string{"1-1", "1-2", "2-1", "2-2", "3-1"} {
		if linked("4-1", other) {
			t.Errorf("4-1 linked to %s", other)
		}
	}
	if linked("5-1", "5-2") || linked("3-1", "3-2") {
		t.Error("two tips quoting the same code are linked by the code alone")
	}
}
