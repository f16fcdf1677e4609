package console

import "github.com/flarehq/flare/crypto"

// A source who writes again belongs to the same case. The clues below tie a
// follow-up to what it follows: the same inbox (an answer from the web or
// onion inbox carries the inbox's recipient), an answer after a Telegram
// check-in (the gateway copies the reply's case key into Fields["case"]),
// and a receipt code quoted in the text.

// caseClues returns the clues that join key's tip t to its case, and, as
// phrases for other tips' texts, its receipt code: a tip whose text quotes
// the code ("K7QF-2M9D", "k7qf 2m9d" or "K7QF2M9D") is linked to this one,
// while two tips quoting the same code are not linked by it alone.
func caseClues(key string, t *crypto.Tip) (cs, phrases []clue) {
	cs = []clue{{"case:" + key, "same case"}}
	if c := t.Fields["case"]; c != "" && len(c) <= maxClueBytes {
		cs = append(cs, clue{"case:" + c, "answer to a reply"})
	}
	if t.Inbox != "" && len(t.Inbox) <= 2*maxClueBytes {
		cs = append(cs, clue{"inbox:" + t.Inbox, "same inbox: the source wrote again"})
	}
	if r := t.Receipt; len(r) == 9 && r[4] == '-' {
		label := "quotes receipt code " + r
		phrases = append(phrases, clue{normName(r), label}, clue{normName(r[:4] + r[5:]), label})
	}
	return cs, phrases
}
