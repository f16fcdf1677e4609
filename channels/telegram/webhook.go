package telegram

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// SecretHeader carries the webhook's secret_token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxUpdateBytes bounds one webhook request. Updates carry file ids, not
// files; the largest real ones (a long text with entities) are far below.
const maxUpdateBytes = 1 << 20

var (
	// errNotUpdate: the body is not a JSON object with an update_id.
	errNotUpdate = errors.New("not an update")
	// errMalformedUpdate: an update whose fields do not have the types the
	// Bot API documents. It is skipped.
	errMalformedUpdate = errors.New("malformed update")
)

// decodeUpdate decodes one Update. It returns the update_id whenever the
// body has one, even if the rest cannot be decoded, so that polling can
// move past it. Its errors never contain any of the body.
func decodeUpdate(data []byte) (*tgbotapi.Update, int, error) {
	var head struct {
		UpdateID *int `json:"update_id"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.UpdateID == nil {
		return nil, 0, errNotUpdate
	}
	var u tgbotapi.Update
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, *head.UpdateID, errMalformedUpdate
	}
	return &u, u.UpdateID, nil
}

// serveWebhook receives an update in webhook mode. go-telegram-bot-api's
// HandleUpdate is not used: it reads an unbounded body and checks no
// secret. Here the secret is compared in constant time before anything of
// the body is read, and the body is bounded.
func (c *Channel) serveWebhook(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Mode != ModeWebhook {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := sha256.Sum256([]byte(r.Header.Get(SecretHeader)))
	want := sha256.Sum256([]byte(c.cfg.WebhookSecret))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || r.Header.Get(SecretHeader) == "" {
		c.log.Warn("telegram webhook refused: missing or wrong secret token")
		http.Error(w, "missing or wrong secret token", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpdateBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.log.Warn("telegram webhook refused: body too large")
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the update", http.StatusBadRequest)
		return
	}
	u, _, err := decodeUpdate(body)
	switch {
	case errors.Is(err, errNotUpdate):
		c.log.Warn("telegram webhook refused: not an update", "bytes", len(body))
		http.Error(w, "not a Telegram update", http.StatusBadRequest)
		return
	case err != nil:
		// Telegram would redeliver it forever on an error status; it is
		// acknowledged and skipped.
		c.log.Warn("telegram update skipped", "reason", err, "bytes", len(body))
		w.WriteHeader(http.StatusOK)
		return
	}
	if c.stopped.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	c.dispatch(r.Context(), u)
	w.WriteHeader(http.StatusOK)
}
