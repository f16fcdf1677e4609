package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
)

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
	if s.lang == s.c.deps.Catalog.Default() && s.stage < stageKind {
		if code, ok := s.c.deps.Catalog.Resolve(u.LanguageCode); ok {
			s.lang = code
		}
	}
}

// What one draft keeps in memory is bounded: its text by the intake's
// MaxTextBytes, its files (streamed, never held) by MaxAttachments, and
// the rest by these. Telegram's own names are far shorter than
// maxEntryBytes; longer entries are cut.
const (
	maxPeople     = 20  // contact cards of other people
	maxForwards   = 50  // forwarded messages, each with its forwarded-from entry
	maxEntryBytes = 256 // one contact or forwarded-from entry
	maxPlaceBytes = 512 // a venue's title and address
)

// hold takes n bytes (or gives back -n) of the channel's draft memory
// for this draft, and reports whether they fit under cfg.DraftMemory.
func (s *session) hold(n int) bool {
	if n > 0 && s.c.held.Add(int64(n)) > s.c.cfg.DraftMemory {
		s.c.held.Add(-int64(n))
		return false
	}
	if n <= 0 {
		s.c.held.Add(int64(n))
	}
	s.held += int64(n)
	return true
}

// release gives back everything the draft holds.
func (s *session) release() {
	s.c.held.Add(-s.held)
	s.held = 0
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// content adds what a message carries to the draft. Anything arriving
// before the keyboards were answered starts the draft with defaults, so
// that "/start, then anything, then /send" always files a tip.
func (s *session) content(ctx context.Context, m *tgbotapi.Message) {
	// A forwarded message is taken only with its forwarded-from entry,
	// so both are checked before either is kept.
	from, forwarded := forwardedFrom(m)
	fwdKey := "forwarded_from." + strconv.Itoa(m.MessageID)
	if forwarded {
		if s.forwards >= maxForwards {
			s.say(ctx, s.t(txtTooManyFwd), nil)
			return
		}
		from = clip(from, maxEntryBytes)
		if !s.hold(len(fwdKey) + len(from)) {
			s.say(ctx, s.t(txtBusy), nil)
			return
		}
	}
	kept := false
	defer func() {
		if forwarded && !kept {
			s.hold(-len(fwdKey) - len(from))
		}
	}()
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
		s.setLocation(m.MessageID, &m.Venue.Location, clip(strings.TrimSpace(m.Venue.Title+", "+m.Venue.Address), maxPlaceBytes))
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
			if len(s.people) >= maxPeople {
				s.say(ctx, s.t(txtTooManyPeople), nil)
				return
			}
			p := clip(strings.TrimSpace(ct.FirstName+" "+ct.LastName+" "+ct.PhoneNumber), maxEntryBytes)
			if !s.hold(len(p)) {
				s.say(ctx, s.t(txtBusy), nil)
				return
			}
			s.people = append(s.people, p)
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
	if forwarded {
		kept = true
		s.forwards++
		s.field(fwdKey, from)
	}
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

// forwardedFrom returns whom a forwarded message came from: a third
// party's identity, sealed only.
func forwardedFrom(m *tgbotapi.Message) (string, bool) {
	switch {
	case m.ForwardFrom != nil:
		from := strings.TrimSpace(m.ForwardFrom.FirstName + " " + m.ForwardFrom.LastName)
		if m.ForwardFrom.UserName != "" {
			from += " @" + m.ForwardFrom.UserName
		}
		return from, true
	case m.ForwardFromChat != nil:
		return strings.TrimSpace(m.ForwardFromChat.Title + " @" + m.ForwardFromChat.UserName), true
	case m.ForwardSenderName != "":
		return m.ForwardSenderName, true
	}
	return "", false
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
	if !s.hold(len(text)) {
		s.say(ctx, s.t(txtBusy), nil)
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
			if text != "" && s.textBytes()-len(s.texts[i].text)+len(text) <= s.c.deps.Sink.Limits().MaxTextBytes &&
				s.hold(len(text)-len(s.texts[i].text)) {
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
