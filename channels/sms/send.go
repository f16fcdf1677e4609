package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// sender sends one reply through a provider's API. send returns the
// provider's id of the message, for forget.
type sender interface {
	send(ctx context.Context, to, text string) (id string, err error)
	// forget asks the provider to delete its record of a sent message,
	// where its API allows; ok=false means try again later.
	forget(ctx context.Context, id string) (retry bool, err error)
}

// errPermanent marks a send the provider refused for good (a bad number,
// bad credentials): trying again would not help.
var errPermanent = errors.New("provider refused the message")

// apiError describes a provider's answer without anything the request
// carried (number, text, credentials).
func apiError(provider string, status int, code string) error {
	err := fmt.Errorf("%s API: status %d, code %s", provider, status, code)
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	return err
}

// twilioSender sends through Twilio's Messages resource, authenticated
// with the account SID and auth token (HTTP basic auth).
type twilioSender struct {
	client     *http.Client
	base       string
	sid, token string
	from       string
}

func (s *twilioSender) messagesURL() string {
	return strings.TrimRight(s.base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(s.sid) + "/Messages"
}

// send posts To, From and Body. A WhatsApp address ("whatsapp:+…") is
// sent from the whatsapp: form of the number.
func (s *twilioSender) send(ctx context.Context, to, text string) (string, error) {
	from := s.from
	if strings.HasPrefix(to, "whatsapp:") && !strings.HasPrefix(from, "whatsapp:") {
		from = "whatsapp:" + from
	}
	form := url.Values{"To": {to}, "From": {from}, "Body": {text}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.messagesURL()+".json", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("twilio API: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.sid, s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("twilio API: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	var out struct {
		SID  string `json:"sid"`
		Code any    `json:"code"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", apiError("twilio", resp.StatusCode, fmt.Sprint(out.Code))
	}
	if out.SID == "" {
		return "", fmt.Errorf("twilio API: answer without a message sid")
	}
	return out.SID, nil
}

// forget deletes the message's record. Twilio refuses (error 20009) until
// it has finished with the message; that is worth trying again.
func (s *twilioSender) forget(ctx context.Context, id string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.messagesURL()+"/"+url.PathEscape(id)+".json", nil)
	if err != nil {
		return false, fmt.Errorf("twilio API: %w", err)
	}
	req.SetBasicAuth(s.sid, s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return true, fmt.Errorf("twilio API: delete: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound:
		return false, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return false, apiError("twilio delete", resp.StatusCode, "")
	}
	return true, apiError("twilio delete", resp.StatusCode, "")
}

// vonageSender sends through Vonage's SMS API with the API key and secret
// in the form, as that API expects.
type vonageSender struct {
	client      *http.Client
	base        string
	key, secret string
	from        string
}

func (s *vonageSender) send(ctx context.Context, to, text string) (string, error) {
	form := url.Values{
		"api_key":    {s.key},
		"api_secret": {s.secret},
		"from":       {s.from},
		// The SMS API takes the number in international format
		// without a leading + or 00.
		"to":   {strings.TrimPrefix(to, "+")},
		"text": {text},
	}
	if _, ucs2 := replySegments(text); ucs2 {
		form.Set("type", "unicode")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.base, "/")+"/sms/json", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("vonage API: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("vonage API: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", apiError("vonage", resp.StatusCode, "")
	}
	var out struct {
		Messages []struct {
			ID     string `json:"message-id"`
			Status string `json:"status"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return "", fmt.Errorf("vonage API: unreadable answer")
	}
	if len(out.Messages) == 0 {
		return "", fmt.Errorf("vonage API: answer without a message")
	}
	for _, m := range out.Messages {
		switch m.Status {
		case "0":
		case "1", "5": // throttled, internal error: try again
			return "", apiError("vonage", http.StatusServiceUnavailable, m.Status)
		default:
			return "", apiError("vonage", http.StatusBadRequest, m.Status)
		}
	}
	return out.Messages[0].ID, nil
}

// forget: the SMS API has no way to delete a sent message's record.
func (s *vonageSender) forget(context.Context, string) (bool, error) { return false, nil }

// redactURLError drops the URL from a transport error: a Vonage request's
// URL carries nothing secret (the form does), but a misconfigured base URL
// might, and logs never need it.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
