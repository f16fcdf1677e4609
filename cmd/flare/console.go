package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/flarehq/flare/channels/textlang"
	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/safetext"
	"github.com/flarehq/flare/ops/config"
	"github.com/flarehq/flare/queue/backend"
)

// consoleConfig is the settings every console subcommand shares.
type consoleConfig struct {
	keyholderConfig
	JSON   bool
	Output string
	reply  replyConfig
}

func (c *consoleConfig) settings() []config.Setting {
	return append(append(c.keyholderConfig.settings(), c.reply.settings()...),
		config.Setting{Key: "json", Env: "", Flag: "json", Help: "machine-readable output", Value: config.Bool(&c.JSON)},
		config.Setting{Key: "output", Env: "", Flag: "o", Help: "export: the file to write", Value: config.String(&c.Output)},
	)
}

// keyholderConfig is the settings every console command shares: whose
// identity opens the tips, which queue holds them, and which gateways'
// signatures make a tip genuine.
type keyholderConfig struct {
	Identity    string
	Queue       string
	GatewayKeys []string
}

func (c *keyholderConfig) settings() []config.Setting {
	return []config.Setting{
		{Key: "identity", Env: "FLARE_IDENTITY", Flag: "identity", Help: "the key-holder's age identity file (plain, passphrase-protected — asked for on the terminal — or plugin)", Value: config.String(&c.Identity)},
		{Key: "queue", Env: "FLARE_QUEUE", Flag: "queue", Help: "queue URL: file:PATH or redis://…", Value: config.String(&c.Queue)},
		{Key: "gateway_keys", Env: "FLARE_GATEWAY_KEYS", Flag: "gateway-key", Help: "a gateway's public signing key (flaregw-ed25519:…, from `flare gateway signing-key`): tips not signed by one of these are flagged as forged; repeatable, comma-separated in the environment", Value: config.Strings(&c.GatewayKeys)},
	}
}

// noGatewayKeyWarning is printed when a console has no gateway key to check
// tips against.
const noGatewayKeyWarning = "warning: no --gateway-key given: the console cannot tell tips from your gateways from tips forged by someone who can write to the queue (run `flare gateway signing-key` on each gateway)"

// gatewayKeys parses the configured gateway keys, warning on stderr when
// there are none.
func (c *keyholderConfig) gatewayKeys(stderr io.Writer) ([]crypto.GatewayKey, error) {
	var all []string
	for _, s := range c.GatewayKeys {
		all = append(all, strings.Split(s, ",")...)
	}
	keys, err := crypto.ParseGatewayKeys(all)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if len(keys) == 0 {
		fmt.Fprintln(stderr, noGatewayKeyWarning)
	}
	return keys, nil
}

const consoleUsage = `Usage: flare console COMMAND [flags]

Commands:
  list             one line per tip: id, received, channel, kind, preview
  show ID          the whole decrypted tip (ID: queue id, tip id or receipt code)
  export ID -o F   write the tip as it is sealed, a .age file (age -d -i identity F)
  save ID N -o F   decrypt the tip's attachment number N to file F
  serve            the triage console in your browser, on 127.0.0.1
                   (flare console serve --help for its flags)
  reply ID --text T   reply to the source of a web or onion tip: they read it
                   with their inbox code (--recipients-file: every key-holder);
                   of a Telegram tip: it waits for their check-in
                   (--gateway-recipient R, repeatable; --now; --expires 168h)
  replies ID       the case's replies and where each stands
  stop-contact ID  the kill switch: withdraw every unread reply, allow no more
  reply ID --template NAME [--lang L] --sms-templates FILE
                   propose one of the deployment's texts to an SMS or
                   WhatsApp source who opted in; a second key-holder approves
  approve ID REPLY --gateway-recipient R
                   approve another key-holder's SMS/WhatsApp reply: it is
                   sealed to the gateways and sent

Each takes --identity FILE and --queue URL (or FLARE_IDENTITY, FLARE_QUEUE),
and --json for machine-readable output.
`

func runConsole(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, consoleUsage)
		return usageError("no console command given")
	}
	if args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(a.stdout, consoleUsage)
		return nil
	}
	sub, args := args[0], args[1:]
	if sub == "serve" {
		return runConsoleServe(ctx, a, args)
	}
	switch sub {
	case "list", "show", "export", "save", "reply", "replies", "stop-contact", "approve":
	default:
		return usageError("unknown console command %q", sub)
	}
	var cfg consoleConfig
	cfg.Queue = "file:" + filepath.Join(defaultDataDir(a.environ, "flare-data"), "flare.db")
	cfg.reply.Expires = defaultReplyExpiry
	pos, err := config.Load("console "+sub, cfg.settings(), interleave(args), a.environ, a.stdout)
	if err != nil {
		return err
	}
	if cfg.Identity == "" {
		return usageError("give the key-holder identity with --identity FILE")
	}
	keys, err := cfg.gatewayKeys(a.stderr)
	if err != nil {
		return err
	}
	ids, err := crypto.LoadIdentities(cfg.Identity, a.passphrase)
	if err != nil {
		return err
	}
	q, err := backend.Open(ctx, cfg.Queue)
	if err != nil {
		return fmt.Errorf("open queue: %w", err)
	}
	defer q.Close()
	c := console.New(q, ids...).TrustGateways(keys...)
	switch sub {
	case "list":
		err = consoleList(ctx, a, c, cfg, pos)
	case "show":
		err = consoleShow(ctx, a, c, cfg, pos)
	case "export":
		err = consoleExport(ctx, a, c, cfg, pos)
	case "reply", "replies", "stop-contact", "approve":
		err = consoleReplies(ctx, a, c, sub, cfg, pos)
	default:
		err = consoleSave(ctx, a, c, cfg, pos)
	}
	if err != nil {
		return safeError{err}
	}
	return nil
}

// safeError is an error whose message may quote a tip (an id, a field):
// it prints without control characters.
type safeError struct{ err error }

func (e safeError) Error() string { return safetext.Line(e.err.Error()) }
func (e safeError) Unwrap() error { return e.err }

// interleave moves positional arguments after the flags, so that
// "show ID --identity F" works as well as "show --identity F ID".
func interleave(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		s := args[i]
		if s == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(s, "-") {
			flags = append(flags, s)
			name := strings.TrimLeft(s, "-")
			// Boolean flags (--json, --now) take no value after them.
			if !strings.Contains(name, "=") && name != "json" && name != "now" && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, s)
	}
	return append(flags, pos...)
}

// passphrase asks for an identity file's passphrase on the terminal. It is
// never taken from a flag or the environment.
func (a *app) passphrase() (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("the identity file is passphrase-protected and there is no terminal to ask on: %w", err)
	}
	defer tty.Close()
	fmt.Fprint(tty, "Passphrase for the identity file: ")
	p, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read passphrase: %w", err)
	}
	return string(p), nil
}

type listRow struct {
	ID       string      `json:"id"`
	TipID    string      `json:"tip_id,omitempty"`
	Received time.Time   `json:"received"`
	Channel  string      `json:"channel,omitempty"`
	Kind     crypto.Kind `json:"kind,omitempty"`
	Preview  string      `json:"preview,omitempty"`
	Error    string      `json:"error,omitempty"`
	// Authenticity is "authentic", "forged" or "unverified" (no
	// --gateway-key configured).
	Authenticity string `json:"authenticity,omitempty"`
}

func consoleList(ctx context.Context, a *app, c *console.Console, cfg consoleConfig, pos []string) error {
	if len(pos) > 0 {
		return usageError("list takes no arguments")
	}
	entries, err := c.List(ctx)
	if err != nil {
		return err
	}
	var rows []listRow
	unreadable := 0
	for _, e := range entries {
		r := listRow{ID: e.QueueID, Received: e.Enqueued.UTC().Truncate(time.Minute)}
		if e.Tip != nil {
			r.TipID, r.Received, r.Channel, r.Kind = e.Tip.ID, e.Tip.Received, e.Tip.Channel, e.Tip.Kind
			r.Preview = preview(e.Tip.Text, 60)
			r.Authenticity = e.Authenticity.String()
		} else {
			unreadable++
			r.Error = e.Err.Error()
		}
		rows = append(rows, r)
	}
	if cfg.JSON {
		if rows == nil {
			rows = []listRow{}
		}
		return writeJSONOut(a.stdout, rows)
	}
	tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tCHANNEL\tKIND\tPREVIEW")
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t(cannot open: not sealed to this identity)\n", safetext.Line(r.ID), r.Received.Format("2006-01-02 15:04"))
			continue
		}
		kind := safetext.Line(string(r.Kind))
		if r.Authenticity == crypto.Forged.String() {
			kind = "FORGED " + kind
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", safetext.Line(r.ID), r.Received.Format("2006-01-02 15:04"),
			safetext.Line(r.Channel), kind, r.Preview)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if unreadable > 0 {
		fmt.Fprintf(a.stderr, "%d of %d tips could not be opened with this identity: it is not one of their recipients.\n", unreadable, len(rows))
	}
	return nil
}

// preview is the first n characters of text on one line, without control
// characters (a terminal escape in a tip).
func preview(text string, n int) string {
	text = safetext.Line(strings.ReplaceAll(text, "\r", " "))
	var b strings.Builder
	count := 0
	for _, r := range text {
		if count == n {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}

// forgedWarning heads a forged tip: whoever wrote it could seal to the
// key-holders but could not sign as any of their gateways.
const forgedWarning = "FORGED: this tip was not signed by any gateway you trust (--gateway-key). Someone who can write to the queue may have made it: do not act on it or contact anyone it names."

func consoleShow(ctx context.Context, a *app, c *console.Console, cfg consoleConfig, pos []string) error {
	if len(pos) != 1 {
		return usageError("show takes one tip id")
	}
	e, err := c.Find(ctx, pos[0])
	if err != nil {
		return err
	}
	if e.Tip == nil {
		return fmt.Errorf("tip %s: %w", e.QueueID, e.Err)
	}
	if cfg.JSON {
		return writeJSONOut(a.stdout, struct {
			ID           string `json:"id"`
			Authenticity string `json:"authenticity"`
			*crypto.Tip
		}{e.QueueID, e.Authenticity.String(), e.Tip})
	}
	t := e.Tip
	w := a.stdout
	if e.Forged() {
		fmt.Fprintln(w, forgedWarning)
	}
	// Every value below came from a source or the queue: each passes the
	// sanitiser, so that none can send the terminal an escape sequence.
	line, text := safetext.Line, safetext.Text
	fmt.Fprintf(w, "ID:        %s\n", line(e.QueueID))
	fmt.Fprintf(w, "Tip:       %s\n", line(t.ID))
	fmt.Fprintf(w, "Receipt:   %s\n", line(t.Receipt))
	fmt.Fprintf(w, "Received:  %s\n", t.Received.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Channel:   %s\n", line(t.Channel))
	fmt.Fprintf(w, "Kind:      %s\n", line(string(t.Kind)))
	if t.Language != "" {
		fmt.Fprintf(w, "Language:  %s\n", line(t.Language))
	} else if l := textlang.Detect(t.Text); l != "" {
		fmt.Fprintf(w, "Language:  %s (detected)\n", line(l))
	}
	if s := t.Sender; s != nil {
		var parts []string
		for _, p := range [][2]string{{"phone", s.Phone}, {"chat", s.ChatID}, {"user", s.UserID}, {"username", s.Username}, {"name", s.Name}} {
			if p[1] != "" {
				parts = append(parts, p[0]+" "+line(p[1]))
			}
		}
		fmt.Fprintf(w, "Sender:    %s\n", strings.Join(parts, ", "))
	}
	if t.Reply != nil {
		fmt.Fprintf(w, "Reply to:  %s %s\n", line(t.Reply.Channel), line(t.Reply.Address))
	}
	if l := t.Location; l != nil {
		fmt.Fprintf(w, "Location:  %s\n", line(formatLocation(l)))
	}
	if p := t.Part; p != nil {
		fmt.Fprintf(w, "Part:      %d of %d (group %s)\n", p.Index, p.Total, line(p.Group))
	}
	for _, k := range slices.Sorted(maps.Keys(t.Fields)) {
		fmt.Fprintf(w, "Field:     %s = %s\n", line(k), line(t.Fields[k]))
	}
	for _, p := range t.People {
		fmt.Fprintf(w, "Person:    %s\n", line(p))
	}
	fmt.Fprintf(w, "\n%s\n", text(t.Text))
	if t.TextOriginal != "" {
		fmt.Fprintf(w, "\nAs received (%s, converted above):\n%s\n", line(t.TextEncoding), text(t.TextOriginal))
	}
	if len(t.Attachments) > 0 {
		fmt.Fprintf(w, "\nAttachments:\n")
		for i, at := range t.Attachments {
			fmt.Fprintf(w, "  %d. %s  %s  %d bytes  sha256:%s\n", i+1, line(at.Name), line(at.MediaType), at.Size, line(at.SHA256))
		}
	}
	return nil
}

func formatLocation(l *crypto.Location) string {
	var parts []string
	if l.Latitude != nil && l.Longitude != nil {
		parts = append(parts, fmt.Sprintf("%.6f, %.6f", *l.Latitude, *l.Longitude))
		if l.AccuracyMeters > 0 {
			parts = append(parts, fmt.Sprintf("±%.0f m", l.AccuracyMeters))
		}
		if l.Live {
			parts = append(parts, "live")
		}
	}
	if l.Place != "" {
		parts = append(parts, fmt.Sprintf("%q", l.Place))
	}
	return strings.Join(parts, " ")
}

func consoleExport(ctx context.Context, a *app, c *console.Console, cfg consoleConfig, pos []string) error {
	if len(pos) != 1 || cfg.Output == "" {
		return usageError("export takes one tip id and -o FILE")
	}
	e, err := c.Find(ctx, pos[0])
	if err != nil {
		return err
	}
	return writeNewFile(cfg.Output, func(w io.Writer) error {
		_, err := w.Write(e.Sealed)
		return err
	})
}

func consoleSave(ctx context.Context, a *app, c *console.Console, cfg consoleConfig, pos []string) error {
	if len(pos) != 2 || cfg.Output == "" {
		return usageError("save takes a tip id, an attachment number and -o FILE")
	}
	e, err := c.Find(ctx, pos[0])
	if err != nil {
		return err
	}
	if e.Tip == nil {
		return fmt.Errorf("tip %s: %w", e.QueueID, e.Err)
	}
	var n int
	if _, err := fmt.Sscan(pos[1], &n); err != nil || n < 1 || n > len(e.Tip.Attachments) {
		return usageError("attachment number must be 1 to %d", len(e.Tip.Attachments))
	}
	r, err := c.Attachment(ctx, e.Tip.Attachments[n-1])
	if err != nil {
		return err
	}
	return writeNewFile(cfg.Output, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// writeNewFile creates path (0600, never overwriting) and fills it. If
// filling fails (an attachment that does not match its checksum), the
// partial file it created is removed; a file that was already there is
// never touched.
func writeNewFile(path string, fill func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // ours: created above with O_EXCL
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeJSONOut writes v as indented JSON with every control character a
// source could have put in a string escaped (see safetext.JSON).
func writeJSONOut(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(safetext.JSON(b), '\n'))
	return err
}
