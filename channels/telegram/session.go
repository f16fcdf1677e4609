package telegram

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
)

// stage is where a conversation is in the guided report.
type stage int

const (
	stageNew     stage = iota // nothing yet
	stageCover                // disguise on, no code word yet: the cover bot
	stageLang                 // language keyboard shown
	stageKind                 // report-kind keyboard shown
	stageCollect              // taking text, media and a location
	stageAnswer               // replies delivered at a check-in: text is an answer in their case
)

// sessionTimeout bounds one step of a session (a download, a submit).
const sessionTimeout = 10 * time.Minute

// session is one chat's conversation. Its state is touched only by its own
// goroutine (run), except ids, which the dispatcher may add to.
type session struct {
	c      *Channel
	key    string
	chatID int64
	inbox  chan event

	idsMu sync.Mutex
	ids   []int // every message of the conversation, both directions

	stage    stage
	lang     string
	kind     crypto.Kind
	panel    int // message id of the Send/Cancel panel
	draft    channels.Draft
	texts    []textPart
	files    int
	location *crypto.Location
	locMsg   int
	people   []string
	forwards int // forwarded messages in the draft
	fields   map[string]string
	sender   crypto.Sender
	added    bool
	done     bool
	started  time.Time
	held     int64 // bytes of the channel's draft memory this draft holds (see hold)
	// answerCase is the console's case key of the replies delivered at
	// this conversation's check-in; tips sealed after it join that case
	// (Fields["case"]).
	answerCase string
}

// textPart is one message's text or caption, kept by message id so that an
// edit replaces it.
type textPart struct {
	id   int
	text string
}

// maxIDs bounds the message ids one conversation remembers for wiping.
const maxIDs = 5000

func (c *Channel) newSession(key string, chatID int64) *session {
	s := &session{c: c, key: key, chatID: chatID, inbox: make(chan event, inboxSize)}
	s.reset()
	return s
}

// reset starts a fresh conversation in the same chat.
func (s *session) reset() {
	s.release()
	s.idsMu.Lock()
	s.ids = nil
	s.idsMu.Unlock()
	s.stage = stageNew
	if s.c.cfg.CodeWord != "" {
		s.stage = stageCover
	}
	s.lang = s.c.deps.Catalog.Default()
	s.kind = crypto.KindTip
	s.panel = 0
	s.draft = nil
	s.texts = nil
	s.files = 0
	s.location = nil
	s.locMsg = 0
	s.people = nil
	s.forwards = 0
	s.fields = nil
	s.sender = crypto.Sender{}
	s.added = false
	s.done = false
	s.answerCase = ""
	s.started = s.c.now()
}

func (s *session) noteID(id int) {
	if id == 0 {
		return
	}
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	if len(s.ids) < maxIDs {
		s.ids = append(s.ids, id)
	}
}

func (s *session) takeIDs() []int {
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	ids := s.ids
	s.ids = nil
	return ids
}

func (s *session) owns(id int) bool {
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	for _, x := range s.ids {
		if x == id {
			return true
		}
	}
	return false
}

// run handles the chat's events in order until the conversation ends.
func (s *session) run() {
	defer s.c.wg.Done()
	defer s.release()
	idle := time.NewTimer(s.c.cfg.DraftIdle)
	defer idle.Stop()
	maxAge := time.NewTimer(s.c.cfg.DraftMaxAge)
	defer maxAge.Stop()
	for {
		select {
		case ev := <-s.inbox:
			s.handle(ev)
			idle.Reset(s.c.cfg.DraftIdle)
		case <-idle.C:
			s.expire("idle")
			if !s.done {
				idle.Reset(s.c.cfg.DraftIdle)
			}
		case <-maxAge.C:
			s.expire("max age")
		case <-s.c.stop:
			s.expire("shutdown")
			s.c.retire(s)
			return
		}
		if s.done {
			if s.c.retire(s) {
				return
			}
			s.reset()
			idle.Reset(s.c.cfg.DraftIdle)
			maxAge.Reset(s.c.cfg.DraftMaxAge)
		}
	}
}

// ctx returns a context for one step of the session.
func (s *session) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.c.apiCtx, sessionTimeout)
}

func (s *session) t(key string, args ...any) string {
	return s.c.deps.Catalog.Text(s.lang, key, args...)
}

// say sends text and remembers the message for wiping.
func (s *session) say(ctx context.Context, text string, kb *tgbotapi.InlineKeyboardMarkup) int {
	id, err := s.c.api.send(ctx, s.chatID, text, kb)
	if err != nil {
		s.c.log.Warn("telegram sendMessage failed", "err", err)
		return 0
	}
	s.noteID(id)
	return id
}

// expire ends a conversation that has gone quiet, grown too old, or is
// being shut down. A draft with something in it is sealed as it is, never
// dropped; after an idle timeout a failed seal is tried again later.
func (s *session) expire(why string) {
	ctx, cancel := s.ctx()
	defer cancel()
	if s.added {
		s.c.log.Info("telegram draft sealed as it is", "reason", why)
		if !s.seal(ctx) && why == "idle" {
			return
		}
	} else if s.stage != stageCover && s.stage != stageNew && s.c.cfg.Wipe {
		s.wipe(ctx)
	}
	if s.draft != nil && !s.done {
		_ = s.draft.Discard(ctx)
	}
	s.done = true
}

// send seals the draft (the Send button or /send).
func (s *session) send(ctx context.Context) {
	if !s.added {
		s.say(ctx, s.t(txtNothingYet), nil)
		return
	}
	s.seal(ctx)
}

// seal submits the draft, wipes the conversation and sends the receipt. It
// reports whether the tip is durable.
func (s *session) seal(ctx context.Context) bool {
	d := s.ensureDraft()
	t := d.Tip()
	parts := make([]string, 0, len(s.texts))
	for _, p := range s.texts {
		parts = append(parts, p.text)
	}
	t.Text = strings.Join(parts, "\n\n")
	t.Kind = s.kind
	t.Language = s.lang
	t.Location = s.location
	t.People = s.people
	t.Fields = s.fields
	if s.answerCase != "" {
		if t.Fields == nil {
			t.Fields = map[string]string{}
		}
		t.Fields[FieldCase] = s.answerCase
	}
	sender := s.sender
	t.Sender = &sender
	t.Reply = &crypto.ReplyAddress{Channel: Name, Address: strconv.FormatInt(s.chatID, 10)}
	receipt, err := d.Submit(ctx)
	if err != nil {
		switch {
		case errors.Is(err, channels.ErrTextTooLong):
			s.say(ctx, s.t(txtTextTooLong), nil)
		case errors.Is(err, channels.ErrEmptyTip):
			s.say(ctx, s.t(txtNothingYet), nil)
		default:
			s.c.log.Error("telegram tip not sealed", "err", err)
			s.say(ctx, s.t(txtUnavailable), nil)
		}
		return false
	}
	deleted, failed := 0, 0
	if s.c.cfg.Wipe {
		deleted, failed = s.wipe(ctx)
	}
	if id := s.say(ctx, s.t(txtReceipt, receipt.Code), nil); id != 0 && s.c.cfg.ReceiptTTL > 0 {
		s.c.scheduleDelete(s.chatID, id, s.c.cfg.ReceiptTTL)
	}
	// No line per tip (it would date it and tell its kind); only a wipe
	// that left messages on the source's phone is worth the operator's eye.
	if failed > 0 {
		s.c.log.Warn("telegram wipe left messages in a chat", "deleted_messages", deleted, "undeletable_messages", failed)
	}
	s.done = true
	return true
}

// cancel discards the draft and, with wipe on, the conversation.
func (s *session) cancel(ctx context.Context) {
	if s.draft != nil {
		if err := s.draft.Discard(ctx); err != nil {
			s.c.log.Warn("telegram draft discard failed", "err", err)
		}
	}
	if s.c.cfg.Wipe {
		s.wipe(ctx)
	}
	if id := s.say(ctx, s.t(txtCancelled), nil); id != 0 && s.c.cfg.ReceiptTTL > 0 {
		s.c.scheduleDelete(s.chatID, id, s.c.cfg.ReceiptTTL)
	}
	s.c.log.Info("telegram draft discarded")
	s.done = true
}

// wipe deletes every message of the conversation, the source's and the
// bot's, once each. A failed delete (older than 48 hours, already gone) is
// counted, not retried.
func (s *session) wipe(ctx context.Context) (deleted, failed int) {
	for _, id := range s.takeIDs() {
		if err := s.c.api.deleteMessage(ctx, s.chatID, id); err != nil {
			failed++
			continue
		}
		deleted++
	}
	return deleted, failed
}
