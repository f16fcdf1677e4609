package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Timeouts of calls to the Bot API. Long polling adds its own timeout.
const (
	callTimeout     = 30 * time.Second
	downloadTimeout = 10 * time.Minute
)

// api is the channel's client of the Bot API. It drives
// go-telegram-bot-api, adding what v5.5.1 lacks: a context on every call,
// errors that never carry the bot token (the library puts it in every
// request URL, and net/http repeats the URL in its errors), webhook
// secret_token, and streaming file downloads.
type api struct {
	token    string
	endpoint string // printf format: base + "/bot%s/%s"
	fileBase string // base + "/file/bot" + token + "/"; never logged
	http     *http.Client
}

func newAPI(cfg Config, client *http.Client) *api {
	base := strings.TrimRight(cfg.APIURL, "/")
	if client == nil {
		client = &http.Client{}
	}
	return &api{
		token:    cfg.Token,
		endpoint: base + "/bot%s/%s",
		fileBase: base + "/file/bot" + cfg.Token + "/",
		http:     client,
	}
}

// bot returns a library client whose requests carry ctx. BotAPI holds no
// state a request changes, so a fresh one per call is cheap.
func (a *api) bot(ctx context.Context) *tgbotapi.BotAPI {
	b := &tgbotapi.BotAPI{Token: a.token, Client: ctxClient{ctx: ctx, c: a.http}}
	b.SetAPIEndpoint(a.endpoint)
	return b
}

// ctxClient attaches a context to the library's requests and strips the
// request URL, which holds the bot token, from transport errors.
type ctxClient struct {
	ctx context.Context
	c   *http.Client
}

func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.c.Do(req.WithContext(c.ctx))
	if err != nil {
		return nil, scrubError(err)
	}
	return resp, nil
}

// scrubError returns err without the URL a *url.Error carries.
func scrubError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("bot api request: %w", ue.Err)
	}
	return err
}

// hide returns err with the bot token, should its text hold it, replaced
// by "<token>". Transport errors are scrubbed already (ctxClient); this
// catches the rest, such as a request the library could not build, whose
// *url.Error quotes the URL and so the token.
func (a *api) hide(err error) error {
	if err == nil || a.token == "" || !strings.Contains(err.Error(), a.token) {
		return err
	}
	return &hiddenError{msg: strings.ReplaceAll(err.Error(), a.token, "<token>"), err: err}
}

type hiddenError struct {
	msg string
	err error
}

func (e *hiddenError) Error() string { return e.msg }

// Is lets errors.Is see the cause; errors.As cannot reach the original.
func (e *hiddenError) Is(target error) bool { return errors.Is(e.err, target) }

// apiError is a failure the Bot API reported, such as "Bad Request: file
// is too big". Its text comes from Telegram, never from the request.
func apiError(err error) (*tgbotapi.Error, bool) {
	var e *tgbotapi.Error
	if errors.As(err, &e) {
		return e, true
	}
	var v tgbotapi.Error
	if errors.As(err, &v) {
		return &v, true
	}
	return nil, false
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

func (a *api) getMe(ctx context.Context) (tgbotapi.User, error) {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	u, err := a.bot(ctx).GetMe()
	if err != nil {
		return u, a.hide(fmt.Errorf("getMe: %w", err))
	}
	return u, nil
}

// getUpdates long-polls and returns each update undecoded, so that one
// update the library cannot decode does not lose the whole batch.
func (a *api) getUpdates(ctx context.Context, offset int, timeout time.Duration) ([]json.RawMessage, error) {
	ctx, cancel := withTimeout(ctx, timeout+callTimeout)
	defer cancel()
	params := tgbotapi.Params{}
	params.AddNonZero("offset", offset)
	params.AddNonZero("timeout", int(timeout/time.Second))
	params.AddNonZero("limit", 100)
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return nil, err
	}
	resp, err := a.bot(ctx).MakeRequest("getUpdates", params)
	if err != nil {
		return nil, a.hide(fmt.Errorf("getUpdates: %w", err))
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(resp.Result, &raws); err != nil {
		return nil, fmt.Errorf("getUpdates: result is not a list")
	}
	return raws, nil
}

// allowedUpdates are the update types the bot asks for. Group membership
// changes (my_chat_member) let it leave groups it is added to.
var allowedUpdates = []string{"message", "edited_message", "channel_post", "edited_channel_post", "callback_query", "my_chat_member"}

// setWebhook registers url with Telegram's secret_token, which v5.5.1's
// WebhookConfig cannot send.
func (a *api) setWebhook(ctx context.Context, hookURL, secret string) error {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	params := tgbotapi.Params{"url": hookURL, "secret_token": secret}
	if err := params.AddInterface("allowed_updates", allowedUpdates); err != nil {
		return err
	}
	if _, err := a.bot(ctx).MakeRequest("setWebhook", params); err != nil {
		return a.hide(fmt.Errorf("setWebhook: %w", err))
	}
	return nil
}

func (a *api) deleteWebhook(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := a.bot(ctx).Request(tgbotapi.DeleteWebhookConfig{}); err != nil {
		return a.hide(fmt.Errorf("deleteWebhook: %w", err))
	}
	return nil
}

// send sends text with an optional inline keyboard and returns the new
// message's id.
func (a *api) send(ctx context.Context, chatID int64, text string, kb *tgbotapi.InlineKeyboardMarkup) (int, error) {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	m := tgbotapi.NewMessage(chatID, text)
	m.DisableWebPagePreview = true
	if kb != nil {
		m.ReplyMarkup = *kb
	}
	sent, err := a.bot(ctx).Send(m)
	if err != nil {
		return 0, a.hide(fmt.Errorf("sendMessage: %w", err))
	}
	return sent.MessageID, nil
}

// sendProtected sends text with protect_content, so that Telegram's clients
// do not let it be forwarded or saved, and returns the new message's id.
// go-telegram-bot-api v5.5.1 has no field for it, so the request is built
// by hand.
func (a *api) sendProtected(ctx context.Context, chatID int64, text string) (int, error) {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	params := tgbotapi.Params{}
	params.AddNonZero64("chat_id", chatID)
	params["text"] = text
	params.AddBool("protect_content", true)
	params.AddBool("disable_web_page_preview", true)
	resp, err := a.bot(ctx).MakeRequest("sendMessage", params)
	if err != nil {
		return 0, a.hide(fmt.Errorf("sendMessage: %w", err))
	}
	var m tgbotapi.Message
	if err := json.Unmarshal(resp.Result, &m); err != nil || m.MessageID == 0 {
		return 0, fmt.Errorf("sendMessage: answer without a message id")
	}
	return m.MessageID, nil
}

func (a *api) edit(ctx context.Context, chatID int64, msgID int, text string, kb *tgbotapi.InlineKeyboardMarkup) error {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	var e tgbotapi.EditMessageTextConfig
	if kb != nil {
		e = tgbotapi.NewEditMessageTextAndMarkup(chatID, msgID, text, *kb)
	} else {
		e = tgbotapi.NewEditMessageText(chatID, msgID, text)
	}
	e.DisableWebPagePreview = true
	if _, err := a.bot(ctx).Request(e); err != nil {
		return a.hide(fmt.Errorf("editMessageText: %w", err))
	}
	return nil
}

func (a *api) deleteMessage(ctx context.Context, chatID int64, msgID int) error {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := a.bot(ctx).Request(tgbotapi.NewDeleteMessage(chatID, msgID)); err != nil {
		return a.hide(fmt.Errorf("deleteMessage: %w", err))
	}
	return nil
}

func (a *api) answerCallback(ctx context.Context, id, text string) error {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := a.bot(ctx).Request(tgbotapi.NewCallback(id, text)); err != nil {
		return a.hide(fmt.Errorf("answerCallbackQuery: %w", err))
	}
	return nil
}

func (a *api) leaveChat(ctx context.Context, chatID int64) error {
	ctx, cancel := withTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := a.bot(ctx).Request(tgbotapi.LeaveChatConfig{ChatID: chatID}); err != nil {
		return a.hide(fmt.Errorf("leaveChat: %w", err))
	}
	return nil
}

// errFileTooBig means the Bot API server refused to hand out a file
// because of its size.
var errFileTooBig = errors.New("file too big for the bot api server")

// download fetches a file with getFile and passes its body, as a stream,
// to fn. The download URL holds the bot token: it is never logged and
// never appears in an error.
func (a *api) download(ctx context.Context, fileID string, fn func(r io.Reader) error) error {
	ctx, cancel := withTimeout(ctx, downloadTimeout)
	defer cancel()
	f, err := a.bot(ctx).GetFile(tgbotapi.FileConfig{FileID: fileID})
	if err != nil {
		if e, ok := apiError(err); ok && strings.Contains(strings.ToLower(e.Message), "too big") {
			return errFileTooBig
		}
		return a.hide(fmt.Errorf("getFile: %w", err))
	}
	if f.FilePath == "" {
		return errors.New("getFile: no file path in the answer")
	}
	path := f.FilePath
	if strings.HasPrefix(path, "/") || strings.Contains(path, "..") {
		return errors.New("getFile: unusable file path in the answer")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.fileBase+path, nil)
	if err != nil {
		return errors.New("download: cannot build the request")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return a.hide(fmt.Errorf("download: %w", scrubError(err)))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download: status %s", strconv.Itoa(resp.StatusCode))
	}
	return fn(resp.Body)
}
