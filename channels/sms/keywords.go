package sms

import (
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/textlang"
	"github.com/flarehq/flare/crypto"
)

// DefaultDistressKeywords returns the words that make a message a
// distress call unless the configuration replaces them: the list the web
// form shares, "help", "SOS", "save me", "emergency" and their common
// forms in every language Flare supports (see catalog.DistressKeywords).
func DefaultDistressKeywords() []string {
	return catalog.DistressKeywords()
}

// classifier maps a message's text onto a report kind.
type classifier struct {
	distress *catalog.Distress
}

func newClassifier(keywords []string) *classifier {
	return &classifier{distress: catalog.NewDistress(keywords)}
}

// Kind returns KindDistress if text holds a keyword, else KindTip.
func (c *classifier) Kind(text string) crypto.Kind {
	if c.distress.Match(text) {
		return crypto.KindDistress
	}
	return crypto.KindTip
}

// language guesses the language of text from its script, or "" when the
// script does not tell (Latin text may be English, Indonesian or
// Filipino alike).
func language(text string) string {
	return textlang.Detect(text)
}
