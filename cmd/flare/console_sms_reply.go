package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels/sms"
	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/safetext"
)

// SMS and WhatsApp replies from the command line: one key-holder proposes
// one of the deployment's templates ("reply ID --template NAME"), another
// approves it ("approve ID REPLY"), and only then is it sealed, with the
// source's number, to the gateways the approver names.
//
// The console reads the templates from the gateway's own config file
// (--sms-templates FILE; only sms.replies and [sms.templates.NAME] are
// read from it), so that both sides use the same reviewed texts; the
// gateway checks the text again before it sends.

func isSMSChannel(ch string) bool { return ch == "sms" || ch == "whatsapp" }

// errRepliesOff is what the console says when the deployment's file turns
// SMS replies off.
var errRepliesOff = errors.New("SMS and WhatsApp replies are off in this deployment (sms.replies = \"off\"); the gateway would refuse the reply")

func proposeSMSReply(ctx context.Context, a *app, r *console.Replies, item *console.Item, cfg replyConfig, who string) error {
	tip := item.Tip
	if !isSMSChannel(tip.Channel) {
		return fmt.Errorf("reply to a %s tip: %w: templates are for SMS and WhatsApp sources", safetext.Line(tip.Channel), console.ErrReplyChannel)
	}
	if strings.TrimSpace(cfg.Template) == "" {
		return usageError("SMS and WhatsApp replies are the deployment's templates only: give --template NAME")
	}
	if cfg.SMSTemplates == "" {
		return usageError("give the deployment's templates with --sms-templates FILE (the gateway's config file)")
	}
	tpl, err := sms.LoadTemplates(cfg.SMSTemplates)
	if err != nil {
		return err
	}
	switch tpl.Mode {
	case sms.RepliesOff:
		return errRepliesOff
	case "":
		fmt.Fprintln(a.stderr, "warning: the templates file does not set sms.replies; the gateway sends only with FLARE_SMS_REPLIES=templates")
	}
	texts, ok := tpl.Texts[cfg.Template]
	if !ok {
		return fmt.Errorf("no template %q in %s; there are: %s", safetext.Line(cfg.Template), cfg.SMSTemplates, strings.Join(sortedKeys(tpl.Texts), ", "))
	}
	lang := cfg.Lang
	if lang == "" {
		lang = "en"
		if _, ok := texts[tip.Language]; ok {
			lang = tip.Language
		}
	}
	text, ok := texts[lang]
	if !ok {
		return fmt.Errorf("template %q has no text in %q; it has: %s", safetext.Line(cfg.Template), safetext.Line(lang), strings.Join(sortedKeys(texts), ", "))
	}
	if _, ok := sms.ReplyAddress(tip.Reply); !ok {
		return fmt.Errorf("reply: %w: this source's message came through a provider Flare cannot send with", console.ErrReplyChannel)
	}
	sent, err := r.ProposeSMS(ctx, item, tip.Channel, cfg.Template, lang, text, who)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Reply %s proposed (%s, %s): %s\nIt is sent only when another key-holder approves it:\n  flare console approve %s %s --gateway-recipient …\n",
		sent.ID, safetext.Line(cfg.Template), safetext.Line(lang), safetext.Line(text), item.Key, sent.ID)
	if tip.Channel == "whatsapp" {
		fmt.Fprintln(a.stdout, whatsAppWindowLine(item, time.Now()))
	}
	return nil
}

func approveSMSReply(ctx context.Context, a *app, r *console.Replies, c *console.Console, item *console.Item, cfg replyConfig, replyID, who string) error {
	gateways, err := parseGatewayRecipients(cfg.GatewayRecipients)
	if err != nil {
		return err
	}
	if len(gateways) == 0 {
		return usageError("give each gateway's outbound recipient with --gateway-recipient (flare gateway outbound-recipient prints it)")
	}
	addr, ok := sms.ReplyAddress(item.Tip.Reply)
	if !ok {
		return fmt.Errorf("approve: %w: this source's message came through a provider Flare cannot send with", console.ErrReplyChannel)
	}
	sent, err := r.ApproveSMS(ctx, c.Queue(), item, gateways, replyID, addr, time.Time{}, who)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Reply %s approved and sealed to %d gateway%s. A gateway sends it if SMS replies are on there (FLARE_SMS_REPLIES=templates); \"flare console replies %s\" shows where it stands.\n",
		sent.ID, len(gateways), plural(len(gateways), "", "s"), item.Key)
	return nil
}

// parseGatewayRecipients parses --gateway-recipient values (each may hold
// several, comma-separated).
func parseGatewayRecipients(vals []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, v := range vals {
		for _, one := range strings.Split(v, ",") {
			if one = strings.TrimSpace(one); one == "" {
				continue
			}
			r, err := crypto.ParseRecipient(one)
			if err != nil {
				return nil, usageError("--gateway-recipient: %v", err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// whatsAppWindowLine says whether WhatsApp still takes a reply in this case.
func whatsAppWindowLine(item *console.Item, now time.Time) string {
	closes := console.WhatsAppWindowCloses(item)
	if !now.Before(closes.Truncate(time.Hour)) {
		return "WhatsApp window closed: more than 24 hours since the source's last message; no WhatsApp reply can be sent until they write again."
	}
	return fmt.Sprintf("WhatsApp window open until %s (24 hours after the source's last message).", closes.Truncate(time.Hour).UTC().Format("2006-01-02 15:04 UTC"))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
