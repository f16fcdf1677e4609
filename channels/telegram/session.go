package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
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
	fields   map[string]string
	sender   crypto.Sender
	added    bool
	done     bool
	started  time.Time
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
	s.idsMu.Lock()
	s.ids = nil
	s.idsMu.Unlock()
	s.stage = stageNew
	if s.c.cfg.CodeWord != "" {
		s.stage = stageCover
	}
	s.lang = catalog.Fallback
	s.kind = crypto.KindTip
	s.panel = 0
	s.draft = nil
	s.texts = nil
	s.files = 0
	s.location = nil
	s.locMsg = 0
	s.people = nil
	s.fields = nil
	s.sender = crypto.Sender{}
	s.added = false
	s.done = false
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
	langs := s.c.deps.Catalog.Languages()
	if len(langs) > 1 {
		s.stage = stageLang
		var rows [][]tgbotapi.InlineKeyboardButton
		var row []tgbotapi.InlineKeyboardButton
		for _, l := range langs {
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
		return
	}
	s.askKind(ctx, 0)
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
	code = strings.ToLower(strings.TrimSpace(code))
	if code == "" || !s.c.deps.Catalog.Has(code) {
		s.say(ctx, s.t(txtUnknownLang, strings.Join(s.c.deps.Catalog.Languages(), ", ")), nil)
		return
	}
	s.lang = code
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

// noteSender keeps who the source is, for the sealed tip only.
func (s *session) noteSender(m *tgbotapi.Message) {
	s.sender.ChatID = strconv.FormatInt(m.Chat.ID, 10)
	if m.From != nil {
		s.noteUser(m.From)
	}
}

func (s *session) noteUser(u *tgbotapi.User) {
	s.sender.ChatID = strconv.FormatInt(s.chatID, 10)
	s.sender.UserID = strconv.FormatInt(u.ID, 10)
	s.sender.Username = u.UserName
	s.sender.Name = strings.TrimSpace(u.FirstName + " " + u.LastName)
	if s.lang == catalog.Fallback && s.stage < stageKind && u.LanguageCode != "" && s.c.deps.Catalog.Has(u.LanguageCode) {
		s.lang = u.LanguageCode
	}
}

// content adds what a message carries to the draft. Anything arriving
// before the keyboards were answered starts the draft with defaults, so
// that "/start, then anything, then /send" always files a tip.
func (s *session) content(ctx context.Context, m *tgbotapi.Message) {
	changed := false
	switch {
	case m.Text != "":
		changed = s.addText(ctx, m.MessageID, m.Text)
	case len(m.Photo) > 0:
		p := largestPhoto(m.Photo, s.maxFile())
		changed = s.addFile(ctx, p.FileID, fmt.Sprintf("photo-%d.jpg", s.files+1), "image/jpeg", p.FileSize)
	case m.Document != nil:
		changed = s.addFile(ctx, m.Document.FileID, orDefault(m.Document.FileName, fmt.Sprintf("file-%d", s.files+1)), orDefault(m.Document.MimeType, "application/octet-stream"), m.Document.FileSize)
	case m.Voice != nil:
		changed = s.addFile(ctx, m.Voice.FileID, fmt.Sprintf("voice-%d.ogg", s.files+1), orDefault(m.Voice.MimeType, "audio/ogg"), m.Voice.FileSize)
	case m.Audio != nil:
		changed = s.addFile(ctx, m.Audio.FileID, orDefault(m.Audio.FileName, fmt.Sprintf("audio-%d", s.files+1)), orDefault(m.Audio.MimeType, "audio/mpeg"), m.Audio.FileSize)
	case m.Video != nil:
		changed = s.addFile(ctx, m.Video.FileID, orDefault(m.Video.FileName, fmt.Sprintf("video-%d.mp4", s.files+1)), orDefault(m.Video.MimeType, "video/mp4"), m.Video.FileSize)
	case m.VideoNote != nil:
		changed = s.addFile(ctx, m.VideoNote.FileID, fmt.Sprintf("video-note-%d.mp4", s.files+1), "video/mp4", m.VideoNote.FileSize)
	case m.Animation != nil:
		changed = s.addFile(ctx, m.Animation.FileID, orDefault(m.Animation.FileName, fmt.Sprintf("animation-%d.mp4", s.files+1)), orDefault(m.Animation.MimeType, "video/mp4"), m.Animation.FileSize)
	case m.Venue != nil:
		s.setLocation(m.MessageID, &m.Venue.Location, strings.TrimSpace(m.Venue.Title+", "+m.Venue.Address))
		changed = true
	case m.Location != nil:
		s.setLocation(m.MessageID, m.Location, "")
		changed = true
	case m.Contact != nil:
		ct := m.Contact
		if m.From != nil && ct.UserID == m.From.ID {
			s.sender.Phone = ct.PhoneNumber
			s.field("contact.own", "shared")
		} else {
			s.people = append(s.people, strings.TrimSpace(ct.FirstName+" "+ct.LastName+" "+ct.PhoneNumber))
		}
		changed = true
	default:
		s.say(ctx, s.t(txtUnsupported), nil)
		return
	}
	if m.Caption != "" && s.addText(ctx, m.MessageID, m.Caption) {
		changed = true
	}
	if !changed {
		return
	}
	s.noteForward(m)
	s.added = true
	s.showPanel(ctx, false)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// field sets a structured field of the tip.
func (s *session) field(k, v string) {
	if s.fields == nil {
		s.fields = map[string]string{}
	}
	s.fields[k] = v
}

// noteForward records whom a forwarded message came from: a third party's
// identity, sealed only.
func (s *session) noteForward(m *tgbotapi.Message) {
	var from string
	switch {
	case m.ForwardFrom != nil:
		from = strings.TrimSpace(m.ForwardFrom.FirstName + " " + m.ForwardFrom.LastName)
		if m.ForwardFrom.UserName != "" {
			from += " @" + m.ForwardFrom.UserName
		}
	case m.ForwardFromChat != nil:
		from = strings.TrimSpace(m.ForwardFromChat.Title + " @" + m.ForwardFromChat.UserName)
	case m.ForwardSenderName != "":
		from = m.ForwardSenderName
	default:
		return
	}
	s.field("forwarded_from."+strconv.Itoa(m.MessageID), from)
}

func (s *session) textBytes() int {
	n := 0
	for _, p := range s.texts {
		n += len(p.text) + 2
	}
	return n
}

func (s *session) addText(ctx context.Context, id int, text string) bool {
	if s.textBytes()+len(text) > s.c.deps.Sink.Limits().MaxTextBytes {
		s.say(ctx, s.t(txtTextTooLong), nil)
		return false
	}
	s.texts = append(s.texts, textPart{id: id, text: text})
	return true
}

func (s *session) setLocation(id int, l *tgbotapi.Location, place string) {
	lat, lon := l.Latitude, l.Longitude
	s.location = &crypto.Location{
		Latitude:       &lat,
		Longitude:      &lon,
		AccuracyMeters: l.HorizontalAccuracy,
		Live:           l.LivePeriod > 0,
		Place:          place,
	}
	s.locMsg = id
}

// handleEdit applies an edited message to the draft: new text or caption,
// or a live location's new position. Edits of messages the draft does not
// hold change nothing.
func (s *session) handleEdit(m *tgbotapi.Message) {
	if s.stage == stageCover {
		return
	}
	if m.Location != nil && m.MessageID == s.locMsg && s.location != nil {
		place := s.location.Place
		s.setLocation(m.MessageID, m.Location, place)
		return
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	for i := range s.texts {
		if s.texts[i].id == m.MessageID {
			if text != "" && s.textBytes()-len(s.texts[i].text)+len(text) <= s.c.deps.Sink.Limits().MaxTextBytes {
				s.texts[i].text = text
			}
			return
		}
	}
}

func (s *session) maxFile() int64 {
	return min(s.c.cfg.MaxFileBytes, s.c.deps.Sink.Limits().MaxAttachmentBytes)
}

// largestPhoto picks the biggest size of a photo that fits max.
func largestPhoto(sizes []tgbotapi.PhotoSize, max int64) tgbotapi.PhotoSize {
	best := sizes[0]
	for _, p := range sizes[1:] {
		fits := p.FileSize == 0 || int64(p.FileSize) <= max
		if fits && p.Width*p.Height >= best.Width*best.Height {
			best = p
		}
	}
	return best
}

func (s *session) ensureDraft() channels.Draft {
	if s.draft == nil {
		s.draft = s.c.deps.Sink.NewDraft(Name)
	}
	return s.draft
}

// addFile fetches a file with getFile and streams it into a sealed
// attachment; it is never whole in memory or on disk.
func (s *session) addFile(ctx context.Context, fileID, name, mediaType string, size int) bool {
	limits := s.c.deps.Sink.Limits()
	if s.files >= limits.MaxAttachments {
		s.say(ctx, s.t(txtTooManyFiles), nil)
		return false
	}
	max := s.maxFile()
	if int64(size) > max {
		s.say(ctx, s.t(txtFileTooLarge, humanBytes(max)), nil)
		return false
	}
	d := s.ensureDraft()
	err := s.c.api.download(ctx, fileID, func(r io.Reader) error {
		_, err := d.Attach(ctx, name, mediaType, r)
		return err
	})
	switch {
	case err == nil:
		s.files++
		return true
	case errors.Is(err, errFileTooBig), errors.Is(err, channels.ErrAttachmentTooLarge):
		s.say(ctx, s.t(txtFileTooLarge, humanBytes(max)), nil)
	case errors.Is(err, channels.ErrTooManyAttachments):
		s.say(ctx, s.t(txtTooManyFiles), nil)
	default:
		s.c.log.Warn("telegram file not received", "err", err)
		s.say(ctx, s.t(txtFileFailed), nil)
	}
	return false
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
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
	s.c.log.Info("telegram tip sealed", "kind", t.Kind, "attachments", len(t.Attachments), "deleted_messages", deleted, "undeletable_messages", failed)
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
