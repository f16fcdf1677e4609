package sms

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// serveTwilio handles POST /webhooks/twilio: an incoming SMS, MMS or
// WhatsApp message, as Twilio's Messaging webhook sends it.
func (c *Channel) serveTwilio(w http.ResponseWriter, r *http.Request) {
	const provider = "twilio"
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		c.fail(w, provider, refuse(http.StatusMethodNotAllowed, "use POST"))
		return
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		c.fail(w, provider, refuse(http.StatusUnauthorized, "unsigned request: no X-Twilio-Signature"))
		return
	}
	body, err := c.readBody(w, r)
	if err != nil {
		c.fail(w, provider, err)
		return
	}
	signer := c.twilio
	var params url.Values
	switch mediaType(r) {
	case "application/x-www-form-urlencoded":
		params, err = parseForm(string(body))
		if err != nil {
			c.fail(w, provider, refuse(http.StatusBadRequest, "%v", err))
			return
		}
		if !signer.verifyForm(sig, r.URL.RawQuery, params) {
			c.fail(w, provider, refuse(http.StatusForbidden, "bad signature: X-Twilio-Signature does not match"))
			return
		}
	case "application/json":
		if !signer.verifyJSON(sig, r.URL.RawQuery, body) {
			c.fail(w, provider, refuse(http.StatusForbidden, "bad signature: X-Twilio-Signature or bodySHA256 does not match"))
			return
		}
		params, err = parseFlatJSON(body)
		if err != nil {
			c.fail(w, provider, refuse(http.StatusBadRequest, "%v", err))
			return
		}
	default:
		c.fail(w, provider, refuse(http.StatusUnsupportedMediaType, "send application/x-www-form-urlencoded or application/json"))
		return
	}
	m, err := twilioMessage(params, c.deps.Sink.Limits().MaxAttachments)
	if err != nil {
		c.fail(w, provider, refuse(http.StatusBadRequest, "%v", err))
		return
	}
	_, err = c.accept(r.Context(), m)
	switch {
	case errors.Is(err, errDuplicate):
		writeTwiML(w, "")
	case err != nil:
		c.fail(w, provider, err)
	default:
		reply := ""
		if c.cfg.TwilioReply && c.deps.Catalog != nil {
			reply = c.autoReply(m.text, "sms.received")
		}
		writeTwiML(w, reply)
	}
}

// twilioMessage reads an inbound message from Twilio's parameters.
func twilioMessage(p url.Values, maxMedia int) (*message, error) {
	m := &message{provider: "twilio"}
	var err error
	for _, k := range []string{"MessageSid", "SmsMessageSid", "SmsSid"} {
		if m.id, err = single(p, k); err != nil {
			return nil, err
		}
		if m.id != "" {
			break
		}
	}
	if m.id == "" {
		return nil, fmt.Errorf("%w: not an inbound message: no MessageSid", errMalformed)
	}
	if m.from, err = single(p, "From"); err != nil {
		return nil, err
	}
	if m.to, err = single(p, "To"); err != nil {
		return nil, err
	}
	if m.text, err = single(p, "Body"); err != nil {
		return nil, err
	}
	if rest, ok := strings.CutPrefix(m.from, "whatsapp:"); ok {
		m.whatsapp = true
		m.from = rest
		m.to = strings.TrimPrefix(m.to, "whatsapp:")
	}
	if err := checkPhone("From", m.from); err != nil {
		return nil, err
	}
	nm, err := single(p, "NumMedia")
	if err != nil {
		return nil, err
	}
	n := 0
	if nm != "" {
		n, err = strconv.Atoi(nm)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: NumMedia is not a count", errMalformed)
		}
		if n > maxMedia {
			return nil, fmt.Errorf("%w: NumMedia %d is more than %d", errMalformed, n, maxMedia)
		}
	}
	for i := range n {
		u, err := single(p, "MediaUrl"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		if u == "" {
			return nil, fmt.Errorf("%w: NumMedia is %d but MediaUrl%d is missing", errMalformed, n, i)
		}
		t, err := single(p, "MediaContentType"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		m.media = append(m.media, mediaRef{url: u, mediaType: t})
	}
	return m, nil
}

// writeTwiML answers Twilio: an empty <Response/> (no message to the
// source), or one neutral <Message>.
func writeTwiML(w http.ResponseWriter, reply string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	if reply == "" {
		b.WriteString("<Response/>")
	} else {
		b.WriteString("<Response><Message>")
		xml.EscapeText(&b, []byte(reply))
		b.WriteString("</Message></Response>")
	}
	w.Write([]byte(b.String()))
}
