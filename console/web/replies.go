package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flarehq/flare/channels/sms"
	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
)

// The reply panel on each tip: the case's reply-safety policy (how, if at
// all, this source can be reached), the replies sent and where each stands,
// a composer where a reply is possible, the approval of another
// key-holder's SMS reply, and the kill switch.

// replyExpiry is how long a Telegram reply waits for the source to check in.
const replyExpiry = 7 * 24 * time.Hour

// replyPanel is what the tip page shows of replies.
type replyPanel struct {
	Reach       []string
	Replies     []replyView
	NoContact   bool
	NoContactBy string
	// Compose is the channel a typed reply goes to ("web", "telegram"),
	// empty when nothing may be typed here (SMS takes templates only).
	Compose string
	Error   string
	Sent    bool
}

type replyView struct {
	console.SentReply
	State      string
	CanApprove bool
}

// replyPanelFor gathers the panel of item.
func (s *Server) replyPanelFor(ctx context.Context, item console.Item) replyPanel {
	var p replyPanel
	t := item.Tip
	book, _, err := s.replies.Book(ctx, item.Key)
	if err != nil {
		p.Error = "The case's replies could not be read: " + err.Error()
	}
	p.NoContact, p.NoContactBy = book.NoContact, book.NoContactBy
	for _, r := range book.Replies {
		st, err := s.replies.ReplyState(ctx, r)
		if err != nil {
			st = "unknown"
		}
		p.Replies = append(p.Replies, replyView{SentReply: r, State: st,
			CanApprove: r.QueueID == "" && !r.Cancelled && r.ApprovedBy == "" && r.By != s.me && (r.Channel == "sms" || r.Channel == "whatsapp")})
	}
	switch {
	case item.Forged():
		p.Reach = append(p.Reach, "Forged tip: no replies are offered.")
		return p
	case book.NoContact:
		p.Reach = append(p.Reach, "Never contact this source again: on. Every pending reply was cancelled.")
		return p
	}
	switch {
	case t.Inbox != "":
		p.Reach = append(p.Reach, "Web inbox: the source reads a reply only when they come back and type their inbox code. Nothing is sent to them.")
		p.Compose = "web"
	case t.Channel == "telegram":
		p.Reach = append(p.Reach, "Telegram: a reply waits until the source checks in; the bot never writes first. It is shown protected and deleted after a few minutes.")
		if len(s.cfg.GatewayRecipients) > 0 {
			p.Compose = "telegram"
		} else {
			p.Reach = append(p.Reach, "No gateway recipient is configured (--gateway-recipient), so this console cannot seal a Telegram reply.")
		}
	case t.Channel == "sms" || t.Channel == "whatsapp":
		p.Reach = append(p.Reach, "SMS and WhatsApp: only the deployment's reviewed templates, only if the source opted in, and only after a second key-holder approves (propose with flare console reply ID --template NAME).")
	default:
		p.Reach = append(p.Reach, "This source left no way to reach them.")
	}
	return p
}

// replyPost sends a reply, approves another key-holder's SMS reply, or
// turns the kill switch on, then shows the tip again.
func (s *Server) replyPost(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !triage.ValidKey(key) {
		s.fail(w, http.StatusNotFound, "No such tip", "There is no tip with this key.")
		return
	}
	snap, err := s.load(r.Context())
	if err != nil {
		s.fail(w, http.StatusBadGateway, "Queue unavailable", "The console could not read the queue: "+err.Error())
		return
	}
	i, ok := snap.byKey[key]
	if !ok {
		s.fail(w, http.StatusNotFound, "No such tip", "There is no tip with this key that your identity can open.")
		return
	}
	item := snap.items[i]
	f := r.PostForm
	ctx := r.Context()
	switch f.Get("action") {
	case "send":
		err = s.sendReply(ctx, &item, strings.TrimSpace(f.Get("text")), strings.TrimSpace(f.Get("lang")))
	case "approve":
		addr, ok := sms.ReplyAddress(item.Tip.Reply)
		if !ok {
			err = errors.New("this source's message came through a provider Flare cannot send with")
			break
		}
		_, err = s.replies.ApproveSMS(ctx, s.con.Queue(), &item, s.cfg.GatewayRecipients, f.Get("reply"), addr, time.Time{}, s.me)
	case "stop":
		if f.Get("confirm") != "yes" {
			err = errors.New("tick the box to confirm: this cannot be undone")
			break
		}
		_, err = s.replies.StopContactOutbox(ctx, s.con.Queue(), item.Key, s.me)
		if err == nil {
			s.triage.Log(ctx, item.Key, "kill switch: never contact this source again")
		}
	default:
		err = errors.New("unknown reply action")
	}
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Reply not sent", err.Error())
		return
	}
	http.Redirect(w, r, "/tip/"+url.PathEscape(key)+"?replied=1#replies", http.StatusSeeOther)
}

func (s *Server) sendReply(ctx context.Context, item *console.Item, text, lang string) error {
	if text == "" {
		return errors.New("the reply is empty")
	}
	panel := s.replyPanelFor(ctx, *item)
	switch panel.Compose {
	case "web":
		_, err := s.replies.SendWeb(ctx, item, text, lang, s.me)
		return err
	case "telegram":
		chat := ""
		if item.Tip.Sender != nil {
			chat = item.Tip.Sender.ChatID
		}
		if chat == "" {
			return errors.New("this Telegram tip has no chat to reply to")
		}
		_, err := s.replies.SendOutbox(ctx, s.con.Queue(), item, s.cfg.GatewayRecipients, crypto.OutboxEntry{
			Channel: "telegram", Address: chat, Text: text, Lang: lang, When: crypto.DeliverAtCheckIn,
			Expires: s.now().Add(replyExpiry),
		}, s.me)
		return err
	}
	return errors.New("no reply can be typed for this tip: " + strings.Join(panel.Reach, " "))
}
