package telegram

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
)

// FieldCase is the tip field that carries the console's case key of the
// replies a source collected before writing: the answer joins that case.
const FieldCase = "case"

// The bot never writes first. A key-holder's reply waits, sealed to the
// gateways, in the outbox until the source checks in: sends the check-in
// word, or starts the bot with it. Then the bot shows each waiting reply
// with protect_content, and deletes the reply, the check-in and whatever
// the source answers after ReplyTTL. Only a reply a key-holder marked
// "send now" (allowed by the console only when the source said it is safe
// to be messaged) is sent without a check-in, by the channel's outbox loop.
//
// A check-in with nothing waiting is answered with the cover bot's reply
// and deleted on the same timer, so that a phone in someone else's hands
// shows the same thing whether or not a reply was there, and a stranger
// who guesses the word learns only a houseplant tip.

// isCheckIn reports whether m is a check-in: the check-in word alone, or
// "/start <word>" from a deep link. Only in a conversation with nothing in
// its draft, and only when this gateway has an outbox.
func (s *session) isCheckIn(m *tgbotapi.Message) bool {
	if s.c.deps.Outbox == nil || s.added || m == nil {
		return false
	}
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
	for _, w := range s.c.checkinWords() {
		if strings.EqualFold(text, w) {
			return true
		}
	}
	return false
}

// checkinWords are the words that check in: the configured one, or each
// language's.
func (c *Channel) checkinWords() []string {
	if c.cfg.CheckinWord != "" {
		return []string{c.cfg.CheckinWord}
	}
	var out []string
	for _, l := range c.deps.Catalog.Languages() {
		if w := strings.TrimSpace(c.deps.Catalog.Text(l, txtCheckinWord)); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// checkIn delivers every reply waiting for this chat, or answers as the
// cover bot when none is; either way the messages go after ReplyTTL.
func (s *session) checkIn(ctx context.Context, m *tgbotapi.Message) {
	ttl := s.c.cfg.ReplyTTL
	s.c.scheduleDelete(s.chatID, m.MessageID, ttl)
	pending, err := s.c.deps.Outbox.For(ctx, Name, strconv.FormatInt(s.chatID, 10))
	if err != nil {
		s.c.log.Warn("telegram check-in: outbox unavailable", "err", err)
	}
	delivered := 0
	for _, p := range pending {
		if s.c.deliver(ctx, s.chatID, p) {
			delivered++
			s.answerCase = p.Entry.Case
			if p.Entry.Lang != "" && s.c.deps.Catalog.Has(p.Entry.Lang) {
				s.lang = p.Entry.Lang
			}
		}
	}
	if delivered == 0 {
		if id, err := s.c.api.send(ctx, s.chatID, s.t(txtCoverReply), nil); err == nil {
			s.c.scheduleDelete(s.chatID, id, ttl)
		}
		if s.stage == stageNew || s.stage == stageCover {
			s.done = true
		}
		return
	}
	s.stage = stageAnswer
}

// answer seals a text message sent after a check-in as a tip of its own in
// the replies' case, and acknowledges it with a receipt; both go after
// ReplyTTL. Anything else (a file, a command) is left to the guided
// report, which still files into the case. It reports whether m was
// handled.
func (s *session) answer(ctx context.Context, m *tgbotapi.Message) bool {
	if m.Text == "" || strings.HasPrefix(m.Text, "/") {
		return false
	}
	ttl := s.c.cfg.ReplyTTL
	s.c.scheduleDelete(s.chatID, m.MessageID, ttl)
	s.noteSender(m)
	d := s.c.deps.Sink.NewDraft(Name)
	t := d.Tip()
	t.Text = m.Text
	t.Kind = crypto.KindTip
	t.Language = s.lang
	t.Fields = map[string]string{FieldCase: s.answerCase}
	sender := s.sender
	t.Sender = &sender
	t.Reply = &crypto.ReplyAddress{Channel: Name, Address: strconv.FormatInt(s.chatID, 10)}
	key := txtUnavailable
	var args []any
	receipt, err := d.Submit(ctx)
	switch {
	case err == nil:
		key, args = txtReceipt, []any{receipt.Code}
	case errors.Is(err, channels.ErrTextTooLong):
		key = txtTextTooLong
	default:
		s.c.log.Error("telegram answer not sealed", "err", err)
	}
	if err != nil {
		_ = d.Discard(ctx)
	}
	if id, err := s.c.api.send(ctx, s.chatID, s.t(key, args...), nil); err == nil {
		s.c.scheduleDelete(s.chatID, id, ttl)
	}
	return true
}

// deliver sends one outbox entry to chatID through the outbox, which
// makes sure no other gateway sends it too, and schedules the message's
// deletion. It reports whether the reply reached the chat.
func (c *Channel) deliver(ctx context.Context, chatID int64, p channels.OutboxPending) bool {
	var id int
	err := c.deps.Outbox.Deliver(ctx, p, func(ctx context.Context, e crypto.OutboxEntry) error {
		var err error
		id, err = c.api.sendProtected(ctx, chatID, e.Text)
		return err
	})
	if id != 0 {
		c.scheduleDelete(chatID, id, c.cfg.ReplyTTL)
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, channels.ErrOutboxClaimed):
		return false
	case id != 0:
		// Shown, but not recorded: the entry stays until its expiry, and
		// another try could show it again. Rare; the operator should know.
		c.log.Error("telegram reply sent but not recorded as delivered", "err", err)
		return true
	default:
		c.log.Warn("telegram reply not delivered; it waits for the next try", "err", err)
		return false
	}
}

// outboxLoop scans the outbox every OutboxEvery until the channel stops:
// the scan deletes expired replies (for every channel this gateway
// serves), and the loop sends Telegram replies a key-holder marked "send
// now". It runs as one of the channel's counted goroutines (see spawn).
func (c *Channel) outboxLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.OutboxEvery)
	defer t.Stop()
	for {
		c.scanOutbox(ctx)
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
	}
}

func (c *Channel) scanOutbox(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	pending, err := c.deps.Outbox.Scan(ctx)
	if err != nil {
		c.log.Warn("telegram outbox scan failed", "err", err)
		return
	}
	for _, p := range pending {
		if p.Entry.Channel != Name || p.Entry.When != crypto.DeliverNow {
			continue
		}
		chatID, err := strconv.ParseInt(p.Entry.Address, 10, 64)
		if err != nil {
			c.log.Warn("telegram reply whose address is not a chat id skipped; it expires")
			continue
		}
		select {
		case <-c.stop:
			return
		default:
		}
		c.deliver(ctx, chatID, p)
	}
}
