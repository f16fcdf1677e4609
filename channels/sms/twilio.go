package sms

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
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
	var signed string
	var ok bool
	switch mediaType(r) {
	case "application/x-www-form-urlencoded":
		params, err = parseForm(string(body))
		if err != nil {
			c.fail(w, provider, refuse(http.StatusBadRequest, "%v", err))
			return
		}
		if signed, ok = signer.signedForm(sig, r.URL.RawQuery, params); !ok {
			c.fail(w, provider, refuse(http.StatusForbidden, "bad signature: X-Twilio-Signature does not match"))
			return
		}
	case "application/json":
		if signed, ok = signer.signedJSON(sig, r.URL.RawQuery, body); !ok {
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
	// Twilio resends a delivery byte for byte, so the signed string is
	// what marks a retry; a MessageSid parsed out of it could be another
	// split of the same signed bytes (see signedForm).
	m.dedupe = signed
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

// The grammar of what Twilio sends with an inbound message. Parameter
// names are Twilio's PascalCase words and digits.
var (
	twilioMessageSID = regexp.MustCompile(`^(SM|MM)[0-9a-f]{32}$`)
	twilioAccountSID = regexp.MustCompile(`^AC[0-9a-f]{32}$`)
	twilioParamName  = regexp.MustCompile(`^[A-Z][A-Za-z0-9]{0,63}$`)
	twilioCount      = regexp.MustCompile(`^(0|[1-9][0-9]{0,2})$`)
	twilioMediaParam = regexp.MustCompile(`^Media(Url|ContentType)(0|[1-9][0-9]{0,2})$`)

	// twilioFields are the grammars of the parameters whose values
	// Twilio fixes; one that is present must match.
	twilioFields = map[string]*regexp.Regexp{
		"MessagingServiceSid": regexp.MustCompile(`^MG[0-9a-f]{32}$`),
		"NumSegments":         twilioCount,
		"ApiVersion":          regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`),
		"SmsStatus":           regexp.MustCompile(`^[a-z_]{1,32}$`),
	}
)

// twilioMessage reads an inbound message from Twilio's parameters, and
// refuses any that Twilio would not send: a repeated or oddly named
// parameter, a message or account SID that is not one, media parameters
// that do not match NumMedia. A request that passes is still deduplicated
// on its signed string, not on what is parsed here.
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
	for k, vals := range p {
		if !twilioParamName.MatchString(k) {
			return nil, fmt.Errorf("%w: parameter %s is not one Twilio sends", errMalformed, safeName(k))
		}
		if len(vals) != 1 {
			return nil, fmt.Errorf("%w: parameter %s given more than once", errMalformed, safeName(k))
		}
	}
	for _, k := range []string{"MessageSid", "SmsMessageSid", "SmsSid"} {
		if v := p.Get(k); v != "" && (v != m.id || !twilioMessageSID.MatchString(v)) {
			return nil, fmt.Errorf("%w: %s is not this message's SID", errMalformed, k)
		}
	}
	if !twilioAccountSID.MatchString(p.Get("AccountSid")) {
		return nil, fmt.Errorf("%w: AccountSid is missing or not an account SID", errMalformed)
	}
	for k, re := range twilioFields {
		if v, ok := p[k]; ok && !re.MatchString(v[0]) {
			return nil, fmt.Errorf("%w: %s is not what Twilio sends", errMalformed, k)
		}
	}
	m.from, m.to, m.text = p.Get("From"), p.Get("To"), p.Get("Body")
	if rest, ok := strings.CutPrefix(m.from, "whatsapp:"); ok {
		m.whatsapp = true
		m.from = rest
		m.to = strings.TrimPrefix(m.to, "whatsapp:")
	}
	if err := checkPhone("From", m.from); err != nil {
		return nil, err
	}
	n := 0
	if nm := p.Get("NumMedia"); nm != "" {
		if !twilioCount.MatchString(nm) {
			return nil, fmt.Errorf("%w: NumMedia is not a count", errMalformed)
		}
		n, _ = strconv.Atoi(nm)
		if n > maxMedia {
			return nil, fmt.Errorf("%w: NumMedia %d is more than %d", errMalformed, n, maxMedia)
		}
	}
	for k := range p {
		if sub := twilioMediaParam.FindStringSubmatch(k); sub != nil {
			if i, _ := strconv.Atoi(sub[2]); i >= n {
				return nil, fmt.Errorf("%w: %s but NumMedia is %d", errMalformed, k, n)
			}
		}
	}
	for i := range n {
		u := p.Get("MediaUrl" + strconv.Itoa(i))
		if u == "" {
			return nil, fmt.Errorf("%w: NumMedia is %d but MediaUrl%d is missing", errMalformed, n, i)
		}
		m.media = append(m.media, mediaRef{url: u, mediaType: p.Get("MediaContentType" + strconv.Itoa(i))})
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
