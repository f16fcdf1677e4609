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
	Template          string
	SMSTemplates      string
	GatewayRecipients []string
}

func (c *replyConfig) settings() []config.Setting {
	return []config.Setting{
		{Key: "reply.text", Env: "", Flag: "text", Help: "reply: the text to send the source", Value: config.String(&c.Text)},
		{Key: "reply.lang", Env: "", Flag: "lang", Help: "reply: the language the reply is written in (en, km, …)", Value: config.String(&c.Lang)},
		{Key: "console.name", Env: "FLARE_CONSOLE_NAME", Flag: "name", Help: "reply: your name in the case's history (default: your public key)", Value: config.String(&c.Name)},
		{Key: "recipients", Env: "FLARE_RECIPIENTS", Flag: "recipient", Help: "reply: every key-holder's age recipient, yours included (replies and their record are sealed to them); repeatable", Value: config.Strings(&c.Recipients)},
		{Key: "recipients_file", Env: "FLARE_RECIPIENTS_FILE", Flag: "recipients-file", Help: "reply: file of every key-holder's recipient, one a line", Value: config.String(&c.RecipientsFile)},
		{Key: "reply.template", Env: "", Flag: "template", Help: "reply: the deployment's SMS/WhatsApp template to propose (by name)", Value: config.String(&c.Template)},
		{Key: "reply.sms_templates", Env: "FLARE_SMS_TEMPLATES", Flag: "sms-templates", Help: "reply: the gateway's config file (or any TOML file) holding sms.replies and the [sms.templates.NAME] tables", Value: config.String(&c.SMSTemplates)},
		{Key: "gateway_recipients", Env: "FLARE_GATEWAY_RECIPIENTS", Flag: "gateway-recipient", Help: "approve: the outbound recipient of each gateway that may deliver the reply (flare gateway outbound-recipient); repeatable", Value: config.Strings(&c.GatewayRecipients)},
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
		if e.Tip.Channel != "web" && e.Tip.Channel != "onion" {
			return fmt.Errorf("reply to a %s tip: %w: only web and onion sources can be answered so far, through their inbox", safetext.Line(e.Tip.Channel), console.ErrReplyChannel)
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
