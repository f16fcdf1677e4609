package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/flarehq/flare/crypto"
)

// handle applies one update to the conversation: the guided report's
// commands and keyboards, the disguise, or content for the draft.
func (s *session) handle(ev event) {
	ctx, cancel := s.ctx()
	defer cancel()
	if ev.cb != nil {
		s.handleCallback(ctx, ev.cb)
		return
	}
	m := ev.msg
	if ev.edited {
		s.handleEdit(m)
		return
	}
	// A check-in, and an answer after one, are deleted on their own
	// timer (ReplyTTL), so they are not noted for the wipe.
	if s.isCheckIn(m) {
		s.checkIn(ctx, m)
		return
	}
	if s.stage == stageAnswer && s.answer(ctx, m) {
		return
	}
	s.noteID(m.MessageID)
	s.noteSender(m)
	if s.stage == stageCover {
		if s.isCodeWord(m) {
			s.begin(ctx)
		} else {
			s.cover(ctx, m)
		}
		return
	}
	if cmd, arg, ok := command(m.Text); ok {
		switch cmd {
		case "start":
			if s.added {
				s.showPanel(ctx, true)
			} else {
				s.begin(ctx)
			}
			return
		case "send":
			s.send(ctx)
			return
		case "cancel":
			s.cancel(ctx)
			return
		case "lang":
			if strings.TrimSpace(arg) == "" {
				s.langMenu(ctx)
				return
			}
			s.setLang(ctx, arg)
			return
		}
	}
	s.content(ctx, m)
}

// command parses "/name[@bot] [arg]".
func command(text string) (name, arg string, ok bool) {
	if !strings.HasPrefix(text, "/") {
		return "", "", false
	}
	head, rest, _ := strings.Cut(text[1:], " ")
	head, _, _ = strings.Cut(head, "@")
	return strings.ToLower(head), strings.TrimSpace(rest), true
}

// isCodeWord reports whether m unlocks the disguise: "/start <code>" from
// a deep link, or the code word typed on its own. Compared in constant
// time; a deep-link payload is never trusted beyond that.
func (s *session) isCodeWord(m *tgbotapi.Message) bool {
	text := strings.TrimSpace(m.Text)
	if cmd, arg, ok := command(text); ok {
		if cmd != "start" {
			return false
		}
		text = arg
	}
	if text == "" || len(text) > 64 {
		return false
	}
	a := sha256.Sum256([]byte(text))
	b := sha256.Sum256([]byte(s.c.cfg.CodeWord))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// cover answers as the dull cover bot. Nothing is kept, nothing fetched.
func (s *session) cover(ctx context.Context, m *tgbotapi.Message) {
	key := txtCoverReply
	if cmd, _, ok := command(m.Text); ok && cmd == "start" {
		key = txtCoverStart
	}
	s.say(ctx, s.t(key), nil)
}

// begin starts the guided report: language, then kind.
func (s *session) begin(ctx context.Context) {
	if len(s.c.deps.Catalog.Languages()) > 1 {
		s.stage = stageLang
		s.langMenu(ctx)
		return
	}
	s.askKind(ctx, 0)
}

// langMenu offers every language by its own name, two a row.
func (s *session) langMenu(ctx context.Context) {
	var rows [][]tgbotapi.InlineKeyboardButton
	var row []tgbotapi.InlineKeyboardButton
	for _, l := range s.c.deps.Catalog.Languages() {
		row = append(row, tgbotapi.NewInlineKeyboardButtonData(s.c.deps.Catalog.LanguageName(l), "lang:"+l))
		if len(row) == 2 {
			rows = append(rows, row)
			row = nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	s.say(ctx, s.t(txtChooseLang), &kb)
}

func (s *session) kindKeyboard() tgbotapi.InlineKeyboardMarkup {
	b := func(key string, k crypto.Kind) []tgbotapi.InlineKeyboardButton {
		return tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(s.t(key), "kind:"+string(k)))
	}
	return tgbotapi.NewInlineKeyboardMarkup(
		b(txtKindDistress, crypto.KindDistress),
		b(txtKindMissing, crypto.KindMissing),
		b(txtKindEvidence, crypto.KindEvidence),
		b(txtKindOther, crypto.KindOther),
	)
}

// askKind shows the kind keyboard, in place of message edit if non-zero.
func (s *session) askKind(ctx context.Context, edit int) {
	s.stage = stageKind
	kb := s.kindKeyboard()
	if edit != 0 {
		if err := s.c.api.edit(ctx, s.chatID, edit, s.t(txtChooseKind), &kb); err == nil {
			return
		}
	}
	s.say(ctx, s.t(txtChooseKind), &kb)
}

func (s *session) setLang(ctx context.Context, code string) {
	cat := s.c.deps.Catalog
	resolved, ok := cat.Resolve(code)
	if !ok {
		// Name each language in its own script: a source may not know
		// the codes.
		var names []string
		for _, l := range cat.Languages() {
			names = append(names, cat.LanguageName(l))
		}
		s.say(ctx, s.t(txtUnknownLang, strings.Join(names, ", ")), nil)
		return
	}
	s.lang = resolved
	if s.stage == stageCollect {
		s.showPanel(ctx, false)
		return
	}
	s.askKind(ctx, 0)
}

func (s *session) panelKeyboard() tgbotapi.InlineKeyboardMarkup {
	return tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData(s.t(txtButtonSend), "send"),
		tgbotapi.NewInlineKeyboardButtonData(s.t(txtButtonCancel), "cancel"),
	))
}

func (s *session) panelText() string {
	loc := "-"
	if s.location != nil {
		loc = "✓"
	}
	return s.t(txtCollect) + "\n\n" + s.t(txtCounts, len(s.texts), s.files, loc)
}

// showPanel updates the Send/Cancel panel in place, or sends a new one
// (fresh, or when there is none yet).
func (s *session) showPanel(ctx context.Context, fresh bool) {
	s.stage = stageCollect
	kb := s.panelKeyboard()
	if s.panel != 0 && !fresh {
		if err := s.c.api.edit(ctx, s.chatID, s.panel, s.panelText(), &kb); err == nil {
			return
		}
	}
	s.panel = s.say(ctx, s.panelText(), &kb)
}

func (s *session) handleCallback(ctx context.Context, cq *tgbotapi.CallbackQuery) {
	s.c.answer(ctx, cq.ID, "")
	if s.stage == stageCover || !s.owns(cq.Message.MessageID) {
		if s.stage != stageCover {
			s.say(ctx, s.t(txtCallbackStale), nil)
		}
		return
	}
	if cq.From != nil {
		s.noteUser(cq.From)
	}
	data := cq.Data
	switch {
	case strings.HasPrefix(data, "lang:"):
		code := strings.TrimPrefix(data, "lang:")
		if !s.c.deps.Catalog.Has(code) {
			return
		}
		s.lang = code
		if s.stage == stageCollect {
			s.showPanel(ctx, false)
			return
		}
		s.askKind(ctx, cq.Message.MessageID)
	case strings.HasPrefix(data, "kind:"):
		k, err := crypto.ParseKind(strings.TrimPrefix(data, "kind:"))
		if err != nil {
			return
		}
		s.kind = k
		if s.stage != stageCollect {
			s.panel = cq.Message.MessageID
		}
		s.showPanel(ctx, false)
	case data == "send":
		s.send(ctx)
	case data == "cancel":
		s.cancel(ctx)
	}
}
