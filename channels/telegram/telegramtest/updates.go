package telegramtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"time"
)

//go:embed testdata/telegram-updates.json
var vectorsJSON []byte

// Vector is one example Update from testdata/telegram-updates.json.
type Vector struct {
	ID      string          `json:"id"`
	Source  string          `json:"source"`
	Note    string          `json:"note"`
	Derived bool            `json:"derived"`
	Update  json.RawMessage `json:"update"`
}

// Vectors returns the example updates, verbatim.
func Vectors() []Vector {
	var f struct {
		Cases []Vector `json:"cases"`
	}
	if err := json.Unmarshal(vectorsJSON, &f); err != nil {
		panic("telegramtest: bad embedded vectors: " + err.Error())
	}
	return f.Cases
}

func vector(id string) map[string]any {
	for _, v := range Vectors() {
		if v.ID == id {
			var m map[string]any
			if err := json.Unmarshal(v.Update, &m); err != nil {
				panic(err)
			}
			return m
		}
	}
	panic("telegramtest: no vector " + id)
}

// User is a Telegram user talking to the bot in a private chat (whose id
// is the user's id, as in Telegram).
type User struct {
	ID        int64
	Username  string
	FirstName string
	LastName  string
	Language  string
}

// Update is an update ready to deliver.
type Update struct {
	ID        int
	MessageID int // the message it carries, if any
	JSON      []byte
}

func (u User) userJSON() map[string]any {
	m := map[string]any{"id": u.ID, "is_bot": false, "first_name": u.FirstName}
	if u.LastName != "" {
		m["last_name"] = u.LastName
	}
	if u.Username != "" {
		m["username"] = u.Username
	}
	if u.Language != "" {
		m["language_code"] = u.Language
	}
	return m
}

func (u User) chatJSON() map[string]any {
	m := map[string]any{"id": u.ID, "type": "private", "first_name": u.FirstName}
	if u.LastName != "" {
		m["last_name"] = u.LastName
	}
	if u.Username != "" {
		m["username"] = u.Username
	}
	return m
}

// message builds an update carrying a new message from u in the chat with
// the bot, from the example update named template. fill sets what the
// message carries after the template's content fields are removed.
func (s *Server) message(template string, u User, text string, fill func(m map[string]any)) Update {
	upd := vector(template)
	m := upd["message"].(map[string]any)
	for _, k := range []string{"text", "photo", "document", "voice", "audio", "location", "caption", "entities", "forward_from", "forward_date", "reply_to_message"} {
		delete(m, k)
	}
	s.mu.Lock()
	ch := s.chats[u.ID]
	if ch == nil {
		ch = &chat{messages: map[int]*Message{}}
		s.chats[u.ID] = ch
	}
	ch.next++
	mid := ch.next
	ch.messages[mid] = &Message{ID: mid, Text: text}
	s.nextUpdate++
	uid := s.nextUpdate
	s.mu.Unlock()
	upd["update_id"] = uid
	m["message_id"] = mid
	m["date"] = time.Now().Unix()
	m["from"] = u.userJSON()
	m["chat"] = u.chatJSON()
	fill(m)
	return Update{ID: uid, MessageID: mid, JSON: mustJSON(upd)}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Text is a text message (Telegram's own "/start" example).
func (s *Server) Text(u User, text string) Update {
	return s.message("tg-docs-text-start", u, text, func(m map[string]any) { m["text"] = text })
}

// Photo is a photo with a caption, in the sizes Telegram sends (aiogram's
// example): a small thumbnail and data as the largest size.
func (s *Server) Photo(u User, data []byte, caption string) Update {
	thumb := s.AddFile(data[:min(len(data), 64)], ".jpg")
	big := s.AddFile(data, ".jpg")
	return s.message("aiogram-photo-with-caption", u, caption, func(m map[string]any) {
		m["photo"] = []any{
			map[string]any{"file_id": thumb, "file_unique_id": "t" + thumb[len(thumb)-8:], "file_size": min(len(data), 64), "width": 90, "height": 51},
			map[string]any{"file_id": big, "file_unique_id": "b" + big[len(big)-8:], "file_size": len(data), "width": 1280, "height": 720},
		}
		if caption != "" {
			m["caption"] = caption
		}
	})
}

// Document is a file with a caption (aiogram's example).
func (s *Server) Document(u User, name, mimeType string, data []byte, caption string) Update {
	id := s.AddFile(data, "")
	return s.message("aiogram-document-with-caption", u, caption, func(m map[string]any) {
		m["document"] = map[string]any{"file_name": name, "mime_type": mimeType, "file_id": id, "file_unique_id": "d" + id[len(id)-8:], "file_size": len(data)}
		if caption != "" {
			m["caption"] = caption
		}
	})
}

// Voice is a voice note (Telegram's own example).
func (s *Server) Voice(u User, data []byte) Update {
	id := s.AddFile(data, ".oga")
	return s.message("tg-docs-voice", u, "", func(m map[string]any) {
		m["voice"] = map[string]any{"file_id": id, "file_unique_id": "v" + id[len(id)-8:], "duration": 5, "mime_type": "audio/ogg", "file_size": len(data)}
	})
}

// Location is a shared location (aiogram's example); livePeriod > 0 makes
// it a live location.
func (s *Server) Location(u User, lat, lon float64, livePeriod int) Update {
	return s.message("aiogram-location", u, "", func(m map[string]any) {
		loc := map[string]any{"latitude": lat, "longitude": lon}
		if livePeriod > 0 {
			loc["live_period"] = livePeriod
			loc["horizontal_accuracy"] = 15.5
		}
		m["location"] = loc
	})
}

// Contact is a shared contact card; with ownUserID it is the user's own.
func (s *Server) Contact(u User, phone, name string, userID int64) Update {
	return s.message("tg-docs-text-start", u, "", func(m map[string]any) {
		c := map[string]any{"phone_number": phone, "first_name": name}
		if userID != 0 {
			c["user_id"] = userID
		}
		m["contact"] = c
	})
}

// Forwarded is a text message forwarded from another user's message
// (forward_from and forward_date, as the Bot API sends them).
func (s *Server) Forwarded(u User, text string, from User) Update {
	return s.message("tg-docs-text-start", u, text, func(m map[string]any) {
		m["text"] = text
		m["forward_from"] = from.userJSON()
		m["forward_date"] = time.Now().Add(-time.Hour).Unix()
	})
}

// Sticker is a sticker (not an example of the docs; shaped per the Bot
// API's Sticker type).
func (s *Server) Sticker(u User) Update {
	return s.message("tg-docs-text-start", u, "", func(m map[string]any) {
		m["sticker"] = map[string]any{"file_id": "CAACAgIAAxkBAAIStickerFake", "file_unique_id": "AgADStk", "width": 512, "height": 512, "is_animated": false, "emoji": "🌱"}
	})
}

// Poll is a poll message.
func (s *Server) Poll(u User) Update {
	return s.message("tg-docs-text-start", u, "", func(m map[string]any) {
		m["poll"] = map[string]any{"id": "5870000000000000001", "question": "Which plant?", "options": []any{map[string]any{"text": "Fern", "voter_count": 0}}, "total_voter_count": 0, "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}
	})
}

// Edit is an edited_message update for a message of u (Telegram's own
// example), with new text; with a location instead when loc is non-nil.
func (s *Server) Edit(u User, messageID int, text string, loc *[2]float64) Update {
	upd := vector("tg-docs-edited-message")
	m := upd["edited_message"].(map[string]any)
	s.mu.Lock()
	s.nextUpdate++
	uid := s.nextUpdate
	if ch := s.chats[u.ID]; ch != nil && ch.messages[messageID] != nil {
		ch.messages[messageID].Text = text
	}
	s.mu.Unlock()
	upd["update_id"] = uid
	m["message_id"] = messageID
	m["from"] = u.userJSON()
	m["chat"] = u.chatJSON()
	m["edit_date"] = time.Now().Unix()
	if loc != nil {
		delete(m, "text")
		m["location"] = map[string]any{"latitude": loc[0], "longitude": loc[1], "live_period": 900}
	} else {
		m["text"] = text
	}
	return Update{ID: uid, MessageID: messageID, JSON: mustJSON(upd)}
}

// Callback is a press of an inline button on the bot's message messageID
// (Telegram's own example, completed with the message and chat_instance a
// button under a bot message carries).
func (s *Server) Callback(u User, messageID int, data string) Update {
	upd := vector("tg-docs-callback-query")
	q := upd["callback_query"].(map[string]any)
	delete(q, "inline_message_id")
	s.mu.Lock()
	s.nextUpdate++
	uid := s.nextUpdate
	text := ""
	if ch := s.chats[u.ID]; ch != nil && ch.messages[messageID] != nil {
		text = ch.messages[messageID].Text
	}
	s.mu.Unlock()
	upd["update_id"] = uid
	q["id"] = fmt.Sprintf("43820000%d", uid)
	q["from"] = u.userJSON()
	q["chat_instance"] = "-5550000000000000001"
	q["data"] = data
	q["message"] = map[string]any{
		"message_id": messageID,
		"from":       map[string]any{"id": BotID, "is_bot": true, "first_name": "Plant Tips", "username": "plant_tips_bot"},
		"chat":       u.chatJSON(),
		"date":       time.Now().Unix(),
		"text":       text,
	}
	return Update{ID: uid, JSON: mustJSON(upd)}
}

// GroupText is a message in a group the bot was added to.
func (s *Server) GroupText(groupID int64, u User, text string) Update {
	upd := s.Text(u, text)
	var m map[string]any
	json.Unmarshal(upd.JSON, &m)
	m["message"].(map[string]any)["chat"] = map[string]any{"id": groupID, "type": "group", "title": "Garden club"}
	upd.JSON = mustJSON(m)
	return upd
}

// ChannelPost is a post in a channel the bot was added to.
func (s *Server) ChannelPost(channelID int64, text string) Update {
	s.mu.Lock()
	s.nextUpdate++
	uid := s.nextUpdate
	s.mu.Unlock()
	upd := map[string]any{"update_id": uid, "channel_post": map[string]any{
		"message_id": 1, "date": time.Now().Unix(), "text": text,
		"chat": map[string]any{"id": channelID, "type": "channel", "title": "Garden news"},
	}}
	return Update{ID: uid, JSON: mustJSON(upd)}
}

// Next returns a fresh update_id, for hand-made updates.
func (s *Server) Next() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextUpdate++
	return s.nextUpdate
}
