package telegram

// Text keys in the catalog. A deployment overrides any of them, in any
// language, in its configuration ([texts.<lang>] in the TOML file).
const (
	txtCoverStart    = "telegram.cover.start"
	txtCoverReply    = "telegram.cover.reply"
	txtChooseLang    = "telegram.choose_language"
	txtUnknownLang   = "telegram.unknown_language"
	txtChooseKind    = "telegram.choose_kind"
	txtKindDistress  = "telegram.kind.distress"
	txtKindMissing   = "telegram.kind.missing"
	txtKindEvidence  = "telegram.kind.evidence"
	txtKindOther     = "telegram.kind.other"
	txtCollect       = "telegram.collect"
	txtCounts        = "telegram.counts"
	txtButtonSend    = "telegram.button.send"
	txtButtonCancel  = "telegram.button.cancel"
	txtReceipt       = "telegram.receipt"
	txtNothingYet    = "telegram.nothing_yet"
	txtCancelled     = "telegram.cancelled"
	txtUnsupported   = "telegram.unsupported"
	txtFileTooLarge  = "telegram.file_too_large"
	txtTooManyFiles  = "telegram.too_many_files"
	txtTextTooLong   = "telegram.text_too_long"
	txtFileFailed    = "telegram.file_failed"
	txtUnavailable   = "telegram.unavailable"
	txtSlowDown      = "telegram.slow_down"
	txtCallbackStale = "telegram.callback_stale"
	txtTooManyPeople = "telegram.too_many_people"
	txtTooManyFwd    = "telegram.too_many_forwards"
	txtBusy          = "telegram.busy"
	// txtCheckinWord is not shown: it is the word a source sends to
	// collect replies, per language, unless telegram.checkin_word is set.
	txtCheckinWord = "telegram.checkin_word"
)

// defaultTexts are the English defaults. They are deliberately plain: a
// phone taken from a source should show nothing that says what this bot
// is for. The cover texts are those of a dull houseplant bot.
var defaultTexts = map[string]string{
	txtCoverStart:    "Hello! I send a short houseplant care tip. Reply with anything for today's tip.",
	txtCoverReply:    "Today's tip: water most houseplants only when the top two centimetres of soil are dry.",
	txtChooseLang:    "Choose a language.",
	txtUnknownLang:   "That language is not available. Available: %s",
	txtChooseKind:    "What is this about?",
	txtKindDistress:  "I need help now",
	txtKindMissing:   "Someone is missing",
	txtKindEvidence:  "I have evidence",
	txtKindOther:     "Something else",
	txtCollect:       "Send text, photos, files, voice notes or a location, in any order. Press Send when you are done (or type /send). /cancel discards everything.",
	txtCounts:        "So far: %d message(s), %d file(s), location: %s.",
	txtButtonSend:    "Send",
	txtButtonCancel:  "Cancel",
	txtReceipt:       "Sent. Your code: %s",
	txtNothingYet:    "There is nothing to send yet.",
	txtCancelled:     "Discarded.",
	txtUnsupported:   "Sorry, I can't use this. Text, photos, files, voice notes and locations work.",
	txtFileTooLarge:  "This file is too large (the limit is %s). Please send a smaller file, or split it.",
	txtTooManyFiles:  "No more files fit in this message. Press Send, then start again for more.",
	txtTextTooLong:   "This is too much text for one message. Press Send, then start again for the rest.",
	txtFileFailed:    "That file could not be received. Please try sending it again.",
	txtUnavailable:   "This could not be sent just now. Nothing was lost: please try /send again in a few minutes.",
	txtSlowDown:      "Please slow down a little.",
	txtCallbackStale: "This button no longer works. Type /start to begin again.",
	txtTooManyPeople: "No more contacts fit in this message. Press Send, then start again for more.",
	txtTooManyFwd:    "No more forwarded messages fit in this message. Press Send, then start again for more.",
	txtBusy:          "Too many people are writing just now. Press Send to send what you have, or try again in a few minutes.",
	// A word the cover bot could be asked for: it says nothing of what
	// it unlocks. One word without spaces; typed, any script matches
	// (case-insensitively), but only A-Z a-z 0-9 _ - also works as a
	// t.me/<bot>?start=<word> link.
	txtCheckinWord: "fertilizer",
}
