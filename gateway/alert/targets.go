package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// httpClient does not follow redirects: a target that moved is a
// configuration error, and a redirect must not carry a token elsewhere.
func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// post sends body and returns the response body if the status is 2xx.
func post(ctx context.Context, c *http.Client, u string, header http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := httpClient(c).Do(req)
	if err != nil {
		// The error text holds the URL, which can hold a token; only the
		// host is kept.
		return nil, fmt.Errorf("post to %s: %w", hostOf(u), unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return data, fmt.Errorf("post to %s: status %d", hostOf(u), resp.StatusCode)
	}
	return data, nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Host
}

// Ntfy publishes to a topic of an ntfy server (https://ntfy.sh, or better
// a self-hosted one): a POST of the text to the topic's URL.
type Ntfy struct {
	URL string // topic URL: https://ntfy.example.org/flare-x7Qe…
	// Token is an access token (Authorization: Bearer), if the topic is
	// protected.
	Token  string
	Client *http.Client
}

// Name implements Target.
func (*Ntfy) Name() string { return "ntfy" }

// Send implements Target.
func (n *Ntfy) Send(ctx context.Context, a Alert) error {
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	if n.Token != "" {
		h.Set("Authorization", "Bearer "+n.Token)
	}
	_, err := post(ctx, n.Client, n.URL, h, []byte(a.Text))
	return err
}

// Telegram sends the text to a staff chat through a bot of its own,
// never the intake bot: sources must not be able to reach the staff chat,
// and the intake bot's token must not sit with a second purpose.
type Telegram struct {
	APIURL string // default https://api.telegram.org
	Token  string
	Chat   string // chat id (-100…) or @channel
	Client *http.Client
}

// Name implements Target.
func (*Telegram) Name() string { return "telegram" }

// Send implements Target.
func (t *Telegram) Send(ctx context.Context, a Alert) error {
	api := t.APIURL
	if api == "" {
		api = "https://api.telegram.org"
	}
	form := url.Values{"chat_id": {t.Chat}, "text": {a.Text}}
	body, err := post(ctx, t.Client, strings.TrimRight(api, "/")+"/bot"+t.Token+"/sendMessage",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(form.Encode()))
	var r struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	if jerr := json.Unmarshal(body, &r); jerr == nil && !r.OK {
		return fmt.Errorf("telegram sendMessage: %s", r.Description)
	}
	if err != nil {
		return fmt.Errorf("telegram sendMessage: %w", err)
	}
	return nil
}

// Webhook headers; see docs/alerts.md.
const (
	HeaderTimestamp = "X-Flare-Timestamp"
	HeaderSignature = "X-Flare-Signature"
	HeaderAlertID   = "X-Flare-Alert-Id"
)

// Webhook posts {"id": …, "text": …} as JSON to a URL, signed with
// HMAC-SHA256 under a shared secret over the timestamp, a dot and the
// body, so that the receiver can check that Flare sent it and recently.
type Webhook struct {
	URL    string
	Secret string
	Client *http.Client
	// Now is the clock for the timestamp; nil means time.Now.
	Now func() time.Time
}

// Name implements Target.
func (*Webhook) Name() string { return "webhook" }

// Send implements Target.
func (w *Webhook) Send(ctx context.Context, a Alert) error {
	body, _ := json.Marshal(map[string]string{"id": a.ID, "text": a.Text})
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	h := http.Header{
		"Content-Type":  {"application/json"},
		HeaderTimestamp: {ts},
		HeaderSignature: {"sha256=" + Sign(w.Secret, ts, body)},
		HeaderAlertID:   {a.ID},
	}
	_, err := post(ctx, w.Client, w.URL, h, body)
	return err
}

// Sign returns the hex HMAC-SHA256 of timestamp + "." + body under secret,
// as a webhook receiver must compute it.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
