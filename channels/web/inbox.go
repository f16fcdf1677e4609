package web

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/flarehq/flare/channels/inbox"
	"github.com/flarehq/flare/crypto"
)

// The source's inbox on the web and onion form. Every step is a POST back
// to "/", so that the browser's history shows the home page only, and the
// code travels in form fields, never in an address.

// The inbox forms' actions.
const (
	actionInbox  = "inbox"  // show the code form
	actionOpen   = "open"   // open the inbox with a code
	actionDelete = "delete" // "I have read this — delete it"
	actionAnswer = "answer" // a new tip written from the inbox
)

// inboxView is an opened inbox as the page shows it.
type inboxView struct {
	Replies []crypto.Reply
}

// addressClass names where a try came from, for the inbox's rate limits:
// everyone through tor is one class; on the plain listener, an IPv4 /24 or
// an IPv6 /48. It is hashed and kept in memory only.
func (c *Channel) addressClass(r *http.Request) string {
	if c.name == "onion" {
		return "onion"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return "unknown"
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "unknown"
	case ip.To4() != nil:
		return ip.Mask(net.CIDRMask(24, 32)).String()
	default:
		return ip.Mask(net.CIDRMask(48, 128)).String()
	}
}

// inboxFor gives a new tip its inbox: for an answer written from an
// inbox, that inbox's recipient; for a new tip from the form or a script,
// a new code, whose recipient the tip carries. It returns the new code to
// show, or the zero code.
func (c *Channel) inboxFor(ctx context.Context, r *http.Request, t *crypto.Tip, sub submission) (crypto.InboxCode, *httpError) {
	if c.inbox == nil {
		return crypto.InboxCode{}, nil
	}
	if sub.action == actionAnswer {
		code, err := crypto.ParseInboxCode(sub.code)
		if err != nil {
			return crypto.InboxCode{}, &httpError{status: http.StatusBadRequest, key: "web.inbox.badcode", err: err}
		}
		rcpt, err := c.inbox.Recipient(ctx, c.addressClass(r), code)
		if err != nil {
			return crypto.InboxCode{}, c.inboxError(err)
		}
		t.Inbox = rcpt
		return crypto.InboxCode{}, nil
	}
	code, rcpt, err := c.inbox.NewCode(ctx)
	if err != nil {
		return crypto.InboxCode{}, &httpError{status: http.StatusServiceUnavailable, key: "web.error.busy", err: err}
	}
	t.Inbox = rcpt
	return code, nil
}

func (c *Channel) inboxError(err error) *httpError {
	if errors.Is(err, inbox.ErrTooManyTries) {
		return &httpError{status: http.StatusTooManyRequests, key: "web.inbox.tries", err: err}
	}
	return &httpError{status: http.StatusServiceUnavailable, key: "web.error.busy", err: err}
}

// inboxAction answers the inbox forms. A wrong code and a right code with
// nothing waiting give the same page.
func (c *Channel) inboxAction(ctx context.Context, w http.ResponseWriter, r *http.Request, sub submission) {
	lang := c.language(r, sub.lang)
	p := c.page(lang)
	if c.inbox == nil {
		c.fail(w, r, lang, http.StatusNotFound, "web.error.notfound")
		return
	}
	switch sub.action {
	case actionInbox:
		c.render(w, http.StatusOK, "inbox", p)
		return
	case actionOpen, actionDelete:
	default:
		c.fail(w, r, lang, http.StatusBadRequest, "web.error.malformed")
		return
	}
	code, err := crypto.ParseInboxCode(sub.code)
	if err != nil {
		p.Error = p.T("web.inbox.badcode")
		c.render(w, http.StatusBadRequest, "inbox", p)
		return
	}
	class := c.addressClass(r)
	if sub.action == actionDelete {
		switch err := c.inbox.Delete(ctx, class, code, sub.reply); {
		case err == nil:
			p.Notices = append(p.Notices, p.T("web.inbox.deleted"))
		case errors.Is(err, inbox.ErrNoSuchReply):
			// Already deleted, or not this inbox's: show the inbox as it is.
		default:
			herr := c.inboxError(err)
			p.Error = p.T(herr.key)
			c.render(w, herr.status, "inbox", p)
			return
		}
	}
	opened, err := c.inbox.Open(ctx, class, code)
	if err != nil {
		herr := c.inboxError(err)
		p.Error = p.T(herr.key)
		c.render(w, herr.status, "inbox", p)
		return
	}
	p.Inbox = &inboxView{Replies: opened.Replies}
	p.Code = code.String()
	p.Token = c.tokens.Issue()
	c.render(w, http.StatusOK, "replies", p)
}
