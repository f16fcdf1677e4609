package alert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// SMTP sends the alert as an email through a submission server, always
// over STARTTLS: a server that does not offer it is refused, so that the
// password never crosses the network in the clear.
type SMTP struct {
	// URL is smtp://user@host:587; the user is optional.
	URL      string
	Password string
	From     string // default: the URL's user if it is an address
	To       []string
	// TLS is the client TLS configuration; nil means the system's roots
	// and the URL's host name.
	TLS *tls.Config
}

// Name implements Target.
func (*SMTP) Name() string { return "smtp" }

// ErrNoStartTLS is returned for a server that does not offer STARTTLS.
var ErrNoStartTLS = errors.New("smtp server does not offer STARTTLS; refusing to send in the clear")

// ParseSMTPURL checks an smtp:// URL and returns host:port and the user.
func ParseSMTPURL(s string) (addr, user string, err error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return "", "", fmt.Errorf("smtp URL %q: want smtp://[user@]host[:port]", redactURL(s))
	}
	if _, has := u.User.Password(); has {
		return "", "", fmt.Errorf("smtp URL: put the password in FLARE_ALERT_SMTP_PASSWORD, not in the URL")
	}
	port := u.Port()
	if port == "" {
		port = "587"
	}
	return net.JoinHostPort(u.Hostname(), port), u.User.Username(), nil
}

func redactURL(s string) string {
	if i := strings.LastIndex(s, "@"); i >= 0 {
		if j := strings.Index(s, "://"); j >= 0 && j < i {
			return s[:j+3] + "…" + s[i:]
		}
	}
	return s
}

// Send implements Target.
func (m *SMTP) Send(ctx context.Context, a Alert) error {
	addr, user, err := ParseSMTPURL(m.URL)
	if err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	from := m.From
	if from == "" && strings.Contains(user, "@") {
		from = user
	}
	if from == "" {
		from = "flare@" + host
	}
	if len(m.To) == 0 {
		return errors.New("smtp: no recipient (FLARE_ALERT_EMAIL_TO)")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(time.Minute))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return ErrNoStartTLS
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if m.TLS != nil {
		cfg = m.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
	}
	if err := c.StartTLS(cfg); err != nil {
		return fmt.Errorf("smtp starttls: %w", err)
	}
	if user != "" {
		if err := c.Auth(smtp.PlainAuth("", user, m.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	for _, to := range m.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("smtp rcpt: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(message(from, m.To, a)); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp quit: %w", err)
	}
	return nil
}

// message is the alert as an email. The Message-ID is the alert's id, so
// that a mail client shows a retried alert once.
func message(from string, to []string, a Alert) []byte {
	text := strings.NewReplacer("\r", " ", "\n", " ").Replace(a.Text)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", text))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@flare.invalid>\r\n", a.ID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(text + "\r\n")
	return []byte(b.String())
}
