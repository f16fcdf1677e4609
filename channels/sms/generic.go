package sms

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// genericEvent is the body of the generic signed webhook, the shape the
// "SMS Gateway for Android" app (sms-gate.app) sends; docs/sms-webhook.md
// describes it.
type genericEvent struct {
	ID      string `json:"id"`
	Event   string `json:"event"`
	Payload struct {
		MessageID   string `json:"messageId"`
		Message     string `json:"message"`
		PhoneNumber string `json:"phoneNumber"`
		ReceivedAt  string `json:"receivedAt"`
	} `json:"payload"`
}

// parseGeneric reads a generic webhook body. It returns a nil message
// for an event that is not an incoming SMS.
func parseGeneric(body []byte) (*message, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: body is not UTF-8", errMalformed)
	}
	var ev genericEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("%w: body is not the documented JSON object", errMalformed)
	}
	if ev.Event == "" {
		return nil, fmt.Errorf("%w: no event", errMalformed)
	}
	if ev.Event != "sms:received" {
		return nil, nil
	}
	if ev.ID == "" || len(ev.ID) > 200 {
		return nil, fmt.Errorf("%w: no id (the delivery's id, the same on every retry)", errMalformed)
	}
	if err := checkPhone("payload.phoneNumber", ev.Payload.PhoneNumber); err != nil {
		return nil, err
	}
	return &message{
		provider: "webhook",
		id:       ev.ID,
		from:     ev.Payload.PhoneNumber,
		text:     ev.Payload.Message,
	}, nil
}

// genericSignature is hex(HMAC-SHA256(secret, body || timestamp)).
func genericSignature(secret string, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	m.Write([]byte(timestamp))
	return hex.EncodeToString(m.Sum(nil))
}

// serveGeneric handles POST /webhooks/sms.
func (c *Channel) serveGeneric(w http.ResponseWriter, r *http.Request) {
	const provider = "webhook"
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		c.fail(w, provider, refuse(http.StatusMethodNotAllowed, "use POST"))
		return
	}
	sig, ts := r.Header.Get("X-Signature"), r.Header.Get("X-Timestamp")
	if sig == "" || ts == "" {
		c.fail(w, provider, refuse(http.StatusUnauthorized, "unsigned request: X-Signature and X-Timestamp are required"))
		return
	}
	if mediaType(r) != "application/json" {
		c.fail(w, provider, refuse(http.StatusUnsupportedMediaType, "send application/json"))
		return
	}
	body, err := c.readBody(w, r)
	if err != nil {
		c.fail(w, provider, err)
		return
	}
	want := genericSignature(c.cfg.WebhookSecret, body, ts)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(sig)), []byte(want)) != 1 {
		c.fail(w, provider, refuse(http.StatusForbidden, "bad signature: X-Signature does not match"))
		return
	}
	if err := c.fresh(ts); err != nil {
		c.fail(w, provider, err)
		return
	}
	m, err := parseGeneric(body)
	if err != nil {
		c.fail(w, provider, refuse(http.StatusBadRequest, "%v", err))
		return
	}
	status := "queued"
	if m == nil {
		status = "ignored"
	} else if _, err := c.accept(r.Context(), m); errors.Is(err, errDuplicate) {
		status = "duplicate"
	} else if err != nil {
		c.fail(w, provider, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "{\"status\":%q}\n", status)
}
