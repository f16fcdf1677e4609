// Package telegramtest is a local stand-in for Telegram's Bot API server,
// for tests. It speaks the Bot API wire format (form-encoded requests to
// /bot<token>/<method>, {"ok":…,"result":…} answers, files at
// /file/bot<token>/<path>), keeps each private chat's messages with
// Telegram's per-chat message ids shared by both directions, and records
// every call a bot makes.
//
// Updates are built from Telegram's own example Update JSON (see
// testdata/README.md) with ids, chats and files filled in, and delivered
// through getUpdates (Push) or handed to the test to post to a webhook.
package telegramtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BotID is the fake bot's user id; Token starts with it, as real ones do.
const BotID = 7000001

// Token is the fake bot's token.
const Token = "7000001:AAFakeTokenForTestsOnly-0123456789abc"

// DefaultFileLimit is Telegram's download limit for bots.
const DefaultFileLimit = 20 << 20

// Call is one request the bot made.
type Call struct {
	Method string
	Params url.Values
	At     time.Time
}

// Message is a message of a chat as the server keeps it.
type Message struct {
	ID      int
	FromBot bool
	Text    string
	Markup  string // reply_markup JSON of a bot message
	Deleted bool
}

type chat struct {
	next     int
	messages map[int]*Message
}

type file struct {
	path string
	data []byte
}

type queued struct {
	id   int
	body []byte
}

// Server is a fake Bot API server. Create it with NewServer.
type Server struct {
	// URL is the base URL to give the bot (FLARE_TELEGRAM_API_URL).
	URL string

	srv *httptest.Server

	mu         sync.Mutex
	calls      []Call
	updates    []queued
	changed    chan struct{}
	nextUpdate int
	chats      map[int64]*chat
	files      map[string]*file
	nextFile   int
	fileLimit  int
	webhook    string
	secret     string
	failures   map[string]int
	downloads  map[string]int
	hold       chan struct{} // file downloads wait while non-nil and open
	holdAfter  int
}

// HoldDownloads makes file downloads stop after their first after bytes
// until release is called, so that a test can keep one chat busy, or
// watch what the bot does with a file that is still arriving.
func (s *Server) HoldDownloads(after int) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold = ch
	s.holdAfter = after
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// NewServer starts a server on a loopback port; it stops when the test
// ends.
func NewServer(t interface {
	Cleanup(func())
	Helper()
}) *Server {
	t.Helper()
	s := &Server{
		changed:    make(chan struct{}),
		nextUpdate: 500000,
		chats:      map[int64]*chat{},
		files:      map[string]*file{},
		fileLimit:  DefaultFileLimit,
		failures:   map[string]int{},
		downloads:  map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and releases pending getUpdates.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.changed:
	default:
		close(s.changed)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetFileLimit sets the largest file getFile hands out.
func (s *Server) SetFileLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fileLimit = n
}

// Fail makes the next n calls of method fail with a 500 answer.
func (s *Server) Fail(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = n
}

// Calls returns every recorded call, in order; with methods, only calls to
// those.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Messages returns the messages of a chat, both directions, by id.
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chats[chatID]
	if ch == nil {
		return nil
	}
	var out []Message
	for _, m := range ch.messages {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Webhook returns the URL and secret_token the bot registered.
func (s *Server) Webhook() (hookURL, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook, s.secret
}

// Downloads returns how often a file was downloaded.
func (s *Server) Downloads(fileID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads[fileID]
}

// AddFile stores data as a file the bot can fetch and returns its file_id.
func (s *Server) AddFile(data []byte, ext string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFile++
	id := fmt.Sprintf("BQACAgIAAxkBAAI%05dFakeFileId", s.nextFile)
	s.files[id] = &file{path: fmt.Sprintf("documents/file_%d%s", s.nextFile, ext), data: data}
	return id
}

// Push queues updates for getUpdates.
func (s *Server) Push(updates ...Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range updates {
		s.updates = append(s.updates, queued{id: u.ID, body: u.JSON})
	}
	s.wake()
}

// PushRaw queues a raw update body with the given id for getUpdates.
func (s *Server) PushRaw(id int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates = append(s.updates, queued{id: id, body: body})
	s.wake()
}

// Pending returns how many queued updates the bot has not confirmed yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

func (s *Server) wake() {
	select {
	case <-s.changed:
		return // closed
	default:
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

var methodPath = regexp.MustCompile(`^/bot([^/]+)/([A-Za-z]+)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.serveFile(w, r, rest)
		return
	}
	m := methodPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		reply(w, http.StatusNotFound, nil, "Not Found")
		return
	}
	if err := r.ParseForm(); err != nil {
		reply(w, http.StatusBadRequest, nil, "Bad Request: can't parse the request")
		return
	}
	method := m[2]
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Params: r.PostForm, At: time.Now()})
	fail := s.failures[method] > 0
	if fail {
		s.failures[method]--
	}
	s.mu.Unlock()
	if m[1] != Token {
		reply(w, http.StatusUnauthorized, nil, "Unauthorized")
		return
	}
	if fail {
		reply(w, http.StatusInternalServerError, nil, "Internal Server Error")
		return
	}
	p := r.PostForm
	switch method {
	case "getMe":
		reply(w, 200, map[string]any{"id": BotID, "is_bot": true, "first_name": "Plant Tips", "username": "plant_tips_bot"}, "")
	case "getUpdates":
		s.getUpdates(w, r.Context(), p)
	case "setWebhook":
		secret := p.Get("secret_token")
		if secret != "" && !regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`).MatchString(secret) {
			reply(w, 400, nil, "Bad Request: secret token contains unallowed characters")
			return
		}
		s.mu.Lock()
		s.webhook, s.secret = p.Get("url"), secret
		s.mu.Unlock()
		reply(w, 200, true, "")
	case "deleteWebhook":
		s.mu.Lock()
		s.webhook, s.secret = "", ""
		s.mu.Unlock()
		reply(w, 200, true, "")
	case "getWebhookInfo":
		hook, _ := s.Webhook()
		reply(w, 200, map[string]any{"url": hook, "has_custom_certificate": false, "pending_update_count": s.Pending()}, "")
	case "sendMessage":
		s.sendMessage(w, p)
	case "editMessageText":
		s.editMessage(w, p)
	case "deleteMessage":
		s.deleteMessage(w, p)
	case "getFile":
		s.getFile(w, p)
	case "answerCallbackQuery", "leaveChat":
		reply(w, 200, true, "")
	default:
		reply(w, http.StatusNotFound, nil, "Not Found: method not found")
	}
}

// reply writes a Bot API answer.
func reply(w http.ResponseWriter, status int, result any, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusOK {
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": status, "description": description})
}

func (s *Server) getUpdates(w http.ResponseWriter, ctx context.Context, p url.Values) {
	offset, _ := strconv.Atoi(p.Get("offset"))
	timeout, _ := strconv.Atoi(p.Get("timeout"))
	limit, _ := strconv.Atoi(p.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		// Updates below offset are confirmed and forgotten, as Telegram does.
		kept := s.updates[:0]
		for _, u := range s.updates {
			if u.id >= offset {
				kept = append(kept, u)
			}
		}
		s.updates = kept
		var out []json.RawMessage
		for _, u := range s.updates {
			if len(out) == limit {
				break
			}
			out = append(out, u.body)
		}
		changed := s.changed
		s.mu.Unlock()
		if len(out) > 0 || timeout == 0 {
			if out == nil {
				out = []json.RawMessage{}
			}
			reply(w, 200, out, "")
			return
		}
		select {
		case <-changed:
			select {
			case <-ctx.Done():
				return
			default:
			}
			// closed by Close or a push; loop
			s.mu.Lock()
			closed := s.changed == changed
			s.mu.Unlock()
			if closed {
				reply(w, 200, []json.RawMessage{}, "")
				return
			}
		case <-deadline.C:
			reply(w, 200, []json.RawMessage{}, "")
			return
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) chatOf(p url.Values) (int64, *chat, bool) {
	id, err := strconv.ParseInt(p.Get("chat_id"), 10, 64)
	if err != nil {
		return 0, nil, false
	}
	ch := s.chats[id]
	if ch == nil {
		ch = &chat{messages: map[int]*Message{}}
		s.chats[id] = ch
	}
	return id, ch, true
}

func (s *Server) sendMessage(w http.ResponseWriter, p url.Values) {
	s.mu.Lock()
	id, ch, ok := s.chatOf(p)
	if !ok || p.Get("text") == "" {
		s.mu.Unlock()
		reply(w, 400, nil, "Bad Request: chat_id and text are required")
		return
	}
	ch.next++
	m := &Message{ID: ch.next, FromBot: true, Text: p.Get("text"), Markup: p.Get("reply_markup")}
	ch.messages[m.ID] = m
	s.mu.Unlock()
	reply(w, 200, botMessage(id, m), "")
}

func botMessage(chatID int64, m *Message) map[string]any {
	out := map[string]any{
		"message_id": m.ID,
		"from":       map[string]any{"id": BotID, "is_bot": true, "first_name": "Plant Tips", "username": "plant_tips_bot"},
		"chat":       map[string]any{"id": chatID, "type": "private"},
		"date":       time.Now().Unix(),
		"text":       m.Text,
	}
	if m.Markup != "" {
		var mk any
		if json.Unmarshal([]byte(m.Markup), &mk) == nil {
			out["reply_markup"] = mk
		}
	}
	return out
}

func (s *Server) editMessage(w http.ResponseWriter, p url.Values) {
	s.mu.Lock()
	id, ch, ok := s.chatOf(p)
	mid, _ := strconv.Atoi(p.Get("message_id"))
	var m *Message
	if ok {
		m = ch.messages[mid]
	}
	if m == nil || m.Deleted || !m.FromBot {
		s.mu.Unlock()
		reply(w, 400, nil, "Bad Request: message to edit not found")
		return
	}
	m.Text, m.Markup = p.Get("text"), p.Get("reply_markup")
	out := botMessage(id, m)
	s.mu.Unlock()
	reply(w, 200, out, "")
}

func (s *Server) deleteMessage(w http.ResponseWriter, p url.Values) {
	s.mu.Lock()
	_, ch, ok := s.chatOf(p)
	mid, _ := strconv.Atoi(p.Get("message_id"))
	var m *Message
	if ok {
		m = ch.messages[mid]
	}
	if m == nil || m.Deleted {
		s.mu.Unlock()
		reply(w, 400, nil, "Bad Request: message to delete not found")
		return
	}
	m.Deleted = true
	s.mu.Unlock()
	reply(w, 200, true, "")
}

func (s *Server) getFile(w http.ResponseWriter, p url.Values) {
	s.mu.Lock()
	id := p.Get("file_id")
	f := s.files[id]
	limit := s.fileLimit
	s.mu.Unlock()
	if f == nil {
		reply(w, 400, nil, "Bad Request: invalid file_id")
		return
	}
	if len(f.data) > limit {
		reply(w, 400, nil, "Bad Request: file is too big")
		return
	}
	reply(w, 200, map[string]any{"file_id": id, "file_unique_id": "u" + id[len(id)-16:], "file_size": len(f.data), "file_path": f.path}, "")
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, path, ok := strings.Cut(rest, "/")
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: "file", Params: url.Values{"path": {path}}, At: time.Now()})
	var f *file
	var fid string
	for id, x := range s.files {
		if x.path == path {
			f, fid = x, id
		}
	}
	if f != nil && ok && token == Token {
		s.downloads[fid]++
	}
	hold, after := s.hold, s.holdAfter
	s.mu.Unlock()
	if !ok || token != Token || f == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	data := f.data
	if hold != nil {
		n := min(after, len(data))
		w.Write(data[:n])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		data = data[n:]
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	w.Write(data)
}
