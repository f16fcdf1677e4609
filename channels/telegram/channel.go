package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
)

// Name is the channel's name in tips.
const Name = "telegram"

// updateMarkerTTL is how long a handled update_id is remembered across
// gateway instances. Telegram stops redelivering an update well before.
const updateMarkerTTL = 24 * time.Hour

// inboxSize bounds the updates waiting for one chat; more are dropped as a
// flood.
const inboxSize = 32

// maxSessions bounds the conversations held in memory at once, so that a
// swarm of new chats cannot exhaust the gateway. Updates from new chats
// beyond it are dropped until sessions end.
const maxSessions = 10000

// Channel is the Telegram bot. Create it with New; the gateway serves its
// Routes and calls Run.
type Channel struct {
	cfg     Config
	deps    channels.Deps
	log     *slog.Logger
	api     *api
	botID   string
	limiter *limiter
	seen    *seen
	now     func() time.Time

	mu       sync.Mutex
	sessions map[string]*session
	// held is the bytes all drafts hold (see session.hold), at most
	// cfg.DraftMemory.
	held atomic.Int64

	// stop is closed when Run ends: sessions seal what they hold and
	// pending receipt deletions run at once. apiCtx outlives them, so
	// that this last work can still reach Telegram.
	stop      chan struct{}
	stopOnce  sync.Once
	stopped   atomic.Bool
	wg        sync.WaitGroup
	apiCtx    context.Context
	apiCancel context.CancelFunc

	health atomic.Pointer[channels.Health]
}

// New returns the Telegram channel. cfg must be valid (see
// Config.Validate); deps must have a Sink, a Hasher and a Catalog.
func New(cfg Config, deps channels.Deps) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Sink == nil || deps.Hasher == nil || deps.Catalog == nil {
		return nil, errors.New("telegram channel needs a sink, a hasher and a catalog")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	deps.Catalog.AddDefaults(catalog.Fallback, defaultTexts)
	if cfg.OutboxEvery <= 0 {
		cfg.OutboxEvery = time.Minute
	}
	botID, _, _ := strings.Cut(cfg.Token, ":")
	ctx, cancel := context.WithCancel(context.Background())
	c := &Channel{
		cfg:       cfg,
		deps:      deps,
		log:       deps.Log.With("channel", Name),
		api:       newAPI(cfg, nil),
		botID:     botID,
		limiter:   newLimiter(cfg.RateBurst, cfg.RatePerMinute),
		seen:      newSeen(time.Hour, 100_000),
		now:       time.Now,
		sessions:  map[string]*session{},
		stop:      make(chan struct{}),
		apiCtx:    ctx,
		apiCancel: cancel,
	}
	c.setHealth(false, "starting")
	return c, nil
}

// Name implements channels.Channel.
func (c *Channel) Name() string { return Name }

// Routes registers POST /webhooks/telegram. It answers 404 unless the
// channel is in webhook mode.
func (c *Channel) Routes(mux *http.ServeMux) {
	mux.HandleFunc(WebhookPath, c.serveWebhook)
}

// Health implements channels.HealthReporter.
func (c *Channel) Health() channels.Health { return *c.health.Load() }

func (c *Channel) setHealth(ok bool, status string) {
	if h := c.health.Load(); h != nil && h.OK == ok && h.Status == status {
		return
	}
	c.health.Store(&channels.Health{OK: ok, Status: status, Since: c.now().UTC()})
}

// Run checks the token with getMe, then receives updates by long polling,
// or registers the webhook, until ctx is done; with an outbox, it also
// sends "send now" replies and expires old ones (see outboxLoop). On the
// way out, every draft with something in it is sealed as it is, and
// pending deletions of receipts and replies run at once.
func (c *Channel) Run(ctx context.Context) error {
	defer c.shutdown()
	if c.deps.Outbox != nil {
		c.async(c.outboxLoop)
	}
	if err := c.retry(ctx, "getMe", func() error { _, err := c.api.getMe(ctx); return err }); err != nil {
		return nil // ctx done
	}
	switch c.cfg.Mode {
	case ModeWebhook:
		if c.cfg.WebhookURL != "" {
			if err := c.retry(ctx, "setWebhook", func() error {
				return c.api.setWebhook(ctx, c.cfg.WebhookURL, c.cfg.WebhookSecret)
			}); err != nil {
				return nil
			}
		}
		c.setHealth(true, "webhook")
		c.log.Info("telegram webhook ready", "path", WebhookPath)
		<-ctx.Done()
		return nil
	default:
		return c.poll(ctx)
	}
}

// retry calls fn until it succeeds or ctx is done, backing off up to 30s.
func (c *Channel) retry(ctx context.Context, what string, fn func() error) error {
	wait := time.Second
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.setHealth(false, what+" failing")
		c.log.Warn("telegram api call failed", "call", what, "err", err, "retry_in", wait)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// poll receives updates with getUpdates until ctx is done.
func (c *Channel) poll(ctx context.Context) error {
	if err := c.api.deleteWebhook(ctx); err != nil && ctx.Err() == nil {
		c.log.Warn("telegram deleteWebhook failed; polling anyway", "err", err)
	}
	c.setHealth(true, "polling")
	c.log.Info("telegram polling")
	offset := 0
	wait := time.Second
	for ctx.Err() == nil {
		raws, err := c.api.getUpdates(ctx, offset, c.cfg.PollTimeout)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.setHealth(false, "getUpdates failing")
			c.log.Warn("telegram getUpdates failed", "err", err, "retry_in", wait)
			sleep(ctx, wait)
			wait = min(2*wait, 30*time.Second)
			continue
		}
		wait = time.Second
		c.setHealth(true, "polling")
		for _, raw := range raws {
			u, id, err := decodeUpdate(raw)
			if id >= offset {
				offset = id + 1
			}
			if err != nil {
				c.log.Warn("telegram update skipped", "reason", err, "bytes", len(raw))
				continue
			}
			c.dispatch(ctx, u)
		}
	}
	return nil
}

// shutdown stops the sessions, which seal what they hold, and waits for
// them.
func (c *Channel) shutdown() {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.stopped.Store(true)
		c.mu.Unlock()
		close(c.stop)
		c.wg.Wait()
		c.apiCancel()
		c.setHealth(false, "stopped")
	})
}

// chatKey is the keyed hash under which a chat's session and rate limit
// are kept.
func (c *Channel) chatKey(chatID int64) string {
	return c.deps.Hasher.Sum("telegram.chat", c.botID, strconv.FormatInt(chatID, 10))
}

// firstTime reports whether update id is new: first in this instance's
// memory, then in the queue's shared markers, so that an update Telegram
// retries to another gateway instance is handled once.
func (c *Channel) firstTime(ctx context.Context, id int) bool {
	if !c.seen.first(id, c.now()) {
		return false
	}
	if c.deps.Queue == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	key := "telegram:update:" + c.deps.Hasher.Sum("telegram.update", c.botID, strconv.Itoa(id))
	first, err := c.deps.Queue.Remember(ctx, key, updateMarkerTTL)
	if err != nil {
		// Handling an update twice is better than losing it.
		c.log.Warn("telegram update marker unavailable; handling the update", "err", err)
		return true
	}
	return first
}

// event is one update for a chat's session.
type event struct {
	msg    *tgbotapi.Message
	edited bool
	cb     *tgbotapi.CallbackQuery
}

// kindOf names an update's type for logs.
func kindOf(u *tgbotapi.Update) string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.ChannelPost != nil, u.EditedChannelPost != nil:
		return "channel_post"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.InlineQuery != nil, u.ChosenInlineResult != nil:
		return "inline"
	}
	return "other"
}

// isPrivate reports whether chat is a one-to-one chat with a user. A chat
// without a type (as in one of Telegram's own examples) counts as private
// only with a positive id: groups and channels have negative ones.
func isPrivate(chat *tgbotapi.Chat) bool {
	if chat == nil {
		return false
	}
	return chat.Type == "private" || (chat.Type == "" && chat.ID > 0)
}

// dispatch routes one decoded update. It does no slow work itself: a
// chat's updates are handled in order by that chat's session goroutine,
// so one chat's downloads never hold up another's.
func (c *Channel) dispatch(ctx context.Context, u *tgbotapi.Update) {
	if !c.firstTime(ctx, u.UpdateID) {
		c.log.Debug("telegram duplicate update skipped", "update", kindOf(u))
		return
	}
	switch {
	case u.Message != nil:
		c.route(u.Message.Chat, event{msg: u.Message})
	case u.EditedMessage != nil:
		c.route(u.EditedMessage.Chat, event{msg: u.EditedMessage, edited: true})
	case u.ChannelPost != nil:
		c.refuse(u.ChannelPost.Chat, "channel post")
	case u.EditedChannelPost != nil:
		c.refuse(u.EditedChannelPost.Chat, "channel post")
	case u.CallbackQuery != nil:
		cq := u.CallbackQuery
		if cq.Message == nil || cq.Message.Chat == nil {
			c.async(func(ctx context.Context) { c.answer(ctx, cq.ID, "") })
			return
		}
		c.route(cq.Message.Chat, event{cb: cq})
	case u.MyChatMember != nil:
		if !isPrivate(&u.MyChatMember.Chat) {
			c.refuse(&u.MyChatMember.Chat, "group membership")
		}
	default:
		c.log.Info("telegram update ignored", "update", kindOf(u))
	}
}

// refuse leaves a group or channel the bot was added to.
func (c *Channel) refuse(chat *tgbotapi.Chat, what string) {
	if chat == nil {
		return
	}
	if ok, _ := c.limiter.allow(c.chatKey(chat.ID), c.now()); !ok {
		return
	}
	c.log.Info("telegram chat refused; leaving", "update", what)
	id := chat.ID
	c.async(func(ctx context.Context) {
		if err := c.api.leaveChat(ctx, id); err != nil {
			c.log.Warn("telegram leaveChat failed", "err", err)
		}
	})
}

// route hands an event to its chat's session, starting one if needed.
func (c *Channel) route(chat *tgbotapi.Chat, ev event) {
	if chat == nil {
		return
	}
	if !isPrivate(chat) {
		c.refuse(chat, "group message")
		return
	}
	key := c.chatKey(chat.ID)
	ok, warn := c.limiter.allow(key, c.now())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped.Load() {
		return
	}
	s := c.sessions[key]
	if !ok {
		if s != nil && ev.msg != nil && !ev.edited {
			s.noteID(ev.msg.MessageID) // still wiped with the rest
		}
		c.log.Debug("telegram update dropped: chat over its rate limit")
		if warn {
			c.log.Info("telegram chat over its rate limit; dropping its updates")
			id := chat.ID
			c.asyncLocked(func(ctx context.Context) {
				if mid, err := c.api.send(ctx, id, c.deps.Catalog.Text(catalog.Fallback, txtSlowDown), nil); err == nil && s != nil {
					s.noteID(mid)
				}
			})
		}
		if ev.cb != nil {
			cq := ev.cb
			c.asyncLocked(func(ctx context.Context) { c.answer(ctx, cq.ID, "") })
		}
		return
	}
	if s == nil && ev.edited {
		return // an edit of a conversation that is over: nothing to change
	}
	if s == nil {
		if len(c.sessions) >= maxSessions {
			c.log.Warn("telegram update dropped: too many conversations at once", "sessions", len(c.sessions))
			return
		}
		s = c.newSession(key, chat.ID)
		c.sessions[key] = s
		c.wg.Add(1)
		go s.run()
	}
	select {
	case s.inbox <- ev:
	default:
		if ev.msg != nil && !ev.edited {
			s.noteID(ev.msg.MessageID)
		}
		c.log.Info("telegram update dropped: chat has too many waiting")
	}
}

// retire removes s once its conversation is over, unless more updates for
// the chat are already waiting, in which case s carries on with a fresh
// conversation.
func (c *Channel) retire(s *session) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(s.inbox) > 0 && !c.stopped.Load() {
		return false
	}
	if c.sessions[s.key] == s {
		delete(c.sessions, s.key)
	}
	return true
}

// async runs fn on its own goroutine, owned by the channel, unless the
// channel has stopped.
func (c *Channel) async(fn func(ctx context.Context)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asyncLocked(fn)
}

// asyncLocked is async for a caller holding c.mu.
func (c *Channel) asyncLocked(fn func(ctx context.Context)) {
	if c.stopped.Load() {
		return
	}
	c.spawn(fn)
}

// spawn runs fn on a goroutine the channel waits for. Only callers that
// are themselves counted in c.wg (sessions) or hold c.mu before stop may
// call it, so that no Add races the final Wait.
func (c *Channel) spawn(fn func(ctx context.Context)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn(c.apiCtx)
	}()
}

func (c *Channel) answer(ctx context.Context, id, text string) {
	if err := c.api.answerCallback(ctx, id, text); err != nil {
		c.log.Debug("telegram answerCallbackQuery failed", "err", err)
	}
}

// scheduleDelete deletes a message after d, or at once when the channel
// stops.
// It is called by sessions only (see spawn).
func (c *Channel) scheduleDelete(chatID int64, msgID int, d time.Duration) {
	c.spawn(func(ctx context.Context) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.stop:
		}
		if err := c.api.deleteMessage(ctx, chatID, msgID); err != nil {
			c.log.Info("telegram receipt could not be deleted", "err", err)
		}
	})
}

func (c *Channel) String() string { return fmt.Sprintf("telegram channel (%s)", c.cfg.Mode) }
