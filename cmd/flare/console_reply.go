package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/internal/safetext"
	"github.com/flarehq/flare/ops/config"
)

// replyConfig is the settings of "flare console reply", "replies" and
// "stop-contact".
type replyConfig struct {
	Text           string
	Lang           string
	Name           string
	Recipients     []string
	RecipientsFile string
	// SMS and WhatsApp replies (console_sms_reply.go).
	Template     string
	SMSTemplates string
	// GatewayRecipients are the outbound recipients of the gateways that
	// deliver Telegram replies, as the key-holder configured them; never
	// read from the queue, which anyone with write access could change.
	GatewayRecipients []string
	// Now sends a Telegram reply without waiting for the source's check-in;
	// allowed only when the tip says it is safe to be messaged.
	Now bool
	// Expires is how long an uncollected Telegram reply waits.
	Expires time.Duration
}

// defaultReplyExpiry is how long an uncollected Telegram reply waits.
const defaultReplyExpiry = 7 * 24 * time.Hour

// fieldContactSafe is the tip field by which a source says they may be
// messaged at any time ("yes"); only then may a key-holder send a reply
// without waiting for their check-in (--now).
const fieldContactSafe = "contact.safe"

func (c *replyConfig) settings() []config.Setting {
	return []config.Setting{
		{Key: "reply.text", Env: "", Flag: "text", Help: "reply: the text to send the source", Value: config.String(&c.Text)},
		{Key: "reply.lang", Env: "", Flag: "lang", Help: "reply: the language the reply is written in (en, km, …)", Value: config.String(&c.Lang)},
		{Key: "console.name", Env: "FLARE_CONSOLE_NAME", Flag: "name", Help: "reply: your name in the case's history (default: your public key)", Value: config.String(&c.Name)},
		{Key: "recipients", Env: "FLARE_RECIPIENTS", Flag: "recipient", Help: "reply: every key-holder's age recipient, yours included (replies and their record are sealed to them); repeatable", Value: config.Strings(&c.Recipients)},
		{Key: "recipients_file", Env: "FLARE_RECIPIENTS_FILE", Flag: "recipients-file", Help: "reply: file of every key-holder's recipient, one a line", Value: config.String(&c.RecipientsFile)},
		{Key: "reply.template", Env: "", Flag: "template", Help: "reply: the deployment's SMS/WhatsApp template to propose (by name)", Value: config.String(&c.Template)},
		{Key: "reply.sms_templates", Env: "FLARE_SMS_TEMPLATES", Flag: "sms-templates", Help: "reply: the gateway's config file (or any TOML file) holding sms.replies and the [sms.templates.NAME] tables", Value: config.String(&c.SMSTemplates)},
		{Key: "gateway_recipients", Env: "FLARE_GATEWAY_RECIPIENTS", Flag: "gateway-recipient", Help: "reply, approve: a gateway's outbound recipient (from `flare gateway outbound-recipient`); Telegram and SMS replies are sealed to these gateways only; repeatable, comma-separated in the environment", Value: config.Strings(&c.GatewayRecipients)},
		{Key: "reply.now", Env: "", Flag: "now", Help: "reply: send a Telegram reply at once instead of at the source's next check-in (only if the tip says it is safe to be messaged)", Value: config.Bool(&c.Now)},
		{Key: "reply.expires", Env: "", Flag: "expires", Help: "reply: delete an uncollected Telegram reply after this long (default 168h, 7 days)", Value: config.Duration(&c.Expires)},
	}
}

// keyholderSealer seals to every key-holder the settings name, or, with
// none, to this key-holder's own identities (with a warning: the others
// will not see what was written).
func (c *replyConfig) keyholderSealer(a *app, ids []age.Identity) (*crypto.Sealer, error) {
	recipients, err := loadRecipients(&gateway.Config{Recipients: c.Recipients, RecipientsFile: c.RecipientsFile})
	if err != nil {
		return nil, err
	}
	if len(recipients) == 0 {
		for _, id := range ids {
			switch id := id.(type) {
			case *age.X25519Identity:
				recipients = append(recipients, id.Recipient())
			case *age.HybridIdentity:
				recipients = append(recipients, id.Recipient())
			}
		}
		if len(recipients) == 0 {
			return nil, usageError("give every key-holder's recipient with --recipients-file")
		}
		fmt.Fprintln(a.stderr, "warning: no --recipients-file: the reply's record is sealed to your identity only, and other key-holders will not see it")
	}
	return crypto.NewSealer(recipients...)
}

func (c *replyConfig) who(ids []age.Identity) string {
	if n := strings.TrimSpace(c.Name); n != "" {
		return n
	}
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); ok {
			return shortName(x.Recipient().String())
		}
	}
	return "key-holder"
}

func shortName(recipient string) string {
	if len(recipient) > 16 {
		return recipient[:16] + "…"
	}
	return recipient
}

// consoleReplies runs "reply", "replies", "stop-contact" and "approve".
func consoleReplies(ctx context.Context, a *app, c *console.Console, sub string, cfg consoleConfig, pos []string) error {
	if sub == "approve" {
		if len(pos) != 2 {
			return usageError("approve takes a tip id and a reply id")
		}
	} else if len(pos) != 1 {
		return usageError("%s takes one tip id", sub)
	}
	e, err := c.Find(ctx, pos[0])
	if err != nil {
		return err
	}
	if e.Tip == nil {
		return fmt.Errorf("tip %s: %w", e.QueueID, e.Err)
	}
	item := &console.Item{Key: e.QueueID, Entries: []console.Entry{e}, Tip: e.Tip}
	sealer, err := cfg.reply.keyholderSealer(a, c.Identities())
	if err != nil {
		return err
	}
	r := console.NewReplies(c.Queue(), sealer, c.Identities())
	who := cfg.reply.who(c.Identities())
	switch sub {
	case "approve":
		return approveSMSReply(ctx, a, r, c, item, cfg.reply, pos[1], who)
	case "reply":
		text := strings.TrimSpace(cfg.reply.Text)
		if cfg.reply.Template != "" || isSMSChannel(e.Tip.Channel) {
			if text != "" {
				return fmt.Errorf("reply to a %s tip: %w: use --template NAME, not --text", safetext.Line(e.Tip.Channel), console.ErrTemplateOnly)
			}
			return proposeSMSReply(ctx, a, r, item, cfg.reply, who)
		}
		if text == "" {
			return usageError("give the reply with --text")
		}
		if e.Tip.Channel == "telegram" {
			return replyTelegram(ctx, a, c, r, item, cfg.reply, text, who)
		}
		if e.Tip.Channel != "web" && e.Tip.Channel != "onion" {
			return fmt.Errorf("reply to a %s tip: %w: only web, onion and Telegram sources can be answered so far", safetext.Line(e.Tip.Channel), console.ErrReplyChannel)
		}
		if cfg.reply.Now {
			return usageError("--now is for Telegram replies; a web or onion source reads replies in their inbox")
		}
		sent, err := r.SendWeb(ctx, item, text, cfg.reply.Lang, who)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Reply %s is waiting in the source's inbox. They read it when they come back with their inbox code.\n", sent.ID)
		return nil
	case "stop-contact":
		book, err := r.StopContactOutbox(ctx, c.Queue(), item.Key, who)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "This source will not be contacted again. %d repl%s withdrawn.\n", countCancelled(book), plural(countCancelled(book), "y", "ies"))
		return nil
	}
	book, _, err := r.Book(ctx, item.Key)
	if err != nil {
		return err
	}
	type row struct {
		console.SentReply
		State string `json:"state"`
	}
	var rows []row
	for _, s := range book.Replies {
		st, err := r.ReplyState(ctx, s)
		if err != nil {
			return err
		}
		rows = append(rows, row{s, st})
	}
	if cfg.JSON {
		return writeJSONOut(a.stdout, struct {
			NoContact bool  `json:"no_contact"`
			Replies   []row `json:"replies"`
		}{book.NoContact, append([]row{}, rows...)})
	}
	if book.NoContact {
		fmt.Fprintf(a.stdout, "Kill switch on (by %s): this source must not be contacted.\n", safetext.Line(book.NoContactBy))
	}
	if e.Tip.Channel == "whatsapp" {
		fmt.Fprintln(a.stdout, whatsAppWindowLine(item, time.Now()))
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.stdout, "No replies yet.")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLY\tWRITTEN\tBY\tCHANNEL\tSTATE\tTEXT")
	for _, s := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Written.Format("2006-01-02 15h"), safetext.Line(s.By), s.Channel, s.State, preview(s.Text, 60))
	}
	return tw.Flush()
}

// gatewayRecipients parses the configured gateway outbound recipients.
func (c *replyConfig) gatewayRecipients() ([]age.Recipient, error) {
	var out []age.Recipient
	for _, v := range c.GatewayRecipients {
		for _, s := range strings.Split(v, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			r, err := crypto.ParseRecipient(s)
			if err != nil {
				return nil, usageError("--gateway-recipient: %v", err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// replyTelegram puts a reply to a Telegram source in the outbox, sealed to
// the configured gateways: it waits for the source's check-in, or, with
// --now and a tip that says it is safe, goes at once.
func replyTelegram(ctx context.Context, a *app, c *console.Console, r *console.Replies, item *console.Item, cfg replyConfig, text, who string) error {
	gateways, err := cfg.gatewayRecipients()
	if err != nil {
		return err
	}
	if len(gateways) == 0 {
		return usageError("a Telegram reply is sealed to the gateways that deliver it: give each one's outbound recipient with --gateway-recipient or FLARE_GATEWAY_RECIPIENTS (run `flare gateway outbound-recipient --data-dir DIR` on the gateway)")
	}
	reply := item.Tip.Reply
	if reply == nil || reply.Channel != "telegram" || strings.TrimSpace(reply.Address) == "" {
		return fmt.Errorf("reply: %w: this tip carries no Telegram chat to answer", console.ErrReplyChannel)
	}
	when := crypto.DeliverAtCheckIn
	if cfg.Now {
		if item.Tip.Fields[fieldContactSafe] != "yes" {
			return fmt.Errorf("reply: refused --now: the source did not say it is safe to message them (tip field %s); the reply can wait for their check-in instead", fieldContactSafe)
		}
		when = crypto.DeliverNow
	}
	if cfg.Expires <= 0 {
		return usageError("--expires must be positive (e.g. 168h)")
	}
	expires := time.Now().Add(cfg.Expires)
	sent, err := r.SendOutbox(ctx, c.Queue(), item, gateways, crypto.OutboxEntry{
		Channel: "telegram", Address: reply.Address, Text: text, Lang: cfg.Lang, When: when, Expires: expires,
	}, who)
	if err != nil {
		return err
	}
	if when == crypto.DeliverNow {
		fmt.Fprintf(a.stdout, "Reply %s is on its way to the source's Telegram chat. If nobody delivers it, it is deleted after %s.\n", sent.ID, cfg.Expires)
		return nil
	}
	fmt.Fprintf(a.stdout, "Reply %s waits until the source checks in on Telegram (sends the check-in word). If they do not within %s, it is deleted.\n", sent.ID, cfg.Expires)
	return nil
}

func countCancelled(b console.Book) int {
	n := 0
	for _, s := range b.Replies {
		if s.Cancelled {
			n++
		}
	}
	return n
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
