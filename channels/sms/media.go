package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flarehq/flare/channels"
)

// errMedia is returned (wrapped) when a message's media cannot be fetched.
var errMedia = errors.New("media fetch failed")

// mediaFetcher fetches MMS and WhatsApp media from the provider with the
// account's credentials, from allowed hosts only, and streams it into the
// draft's sealed attachments.
type mediaFetcher struct {
	sid, token string
	hosts      []string
	timeout    time.Duration
	maxBytes   int64 // one file; the sink's limit
	client     *http.Client
}

// maxRedirects bounds the redirects of one media fetch (Twilio answers a
// media URL with one redirect to its storage).
const maxRedirects = 3

func newMediaFetcher(sid, token string, hosts []string, timeout time.Duration, maxBytes int64, rt http.RoundTripper) *mediaFetcher {
	f := &mediaFetcher{sid: sid, token: token, timeout: timeout, maxBytes: maxBytes}
	for _, h := range hosts {
		f.hosts = append(f.hosts, strings.ToLower(strings.TrimSpace(h)))
	}
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = timeout
		rt = t
	}
	f.client = &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if !f.allowed(req.URL) {
				return errors.New("redirect to a host that is not allowed")
			}
			return nil
		},
	}
	return f
}

// allowed reports whether u may be fetched: https, no user info, and a
// host on the list. An entry without a port allows port 443 only.
func (f *mediaFetcher) allowed(u *url.URL) bool {
	if u.Scheme != "https" || u.User != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "443"
	}
	for _, entry := range f.hosts {
		eh, ep := entry, "443"
		if h, p, err := net.SplitHostPort(entry); err == nil {
			eh, ep = h, p
		}
		if ep != port {
			continue
		}
		if suffix, ok := strings.CutPrefix(eh, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == eh {
			return true
		}
	}
	return false
}

// fetch streams the i-th media of a message into d.
func (f *mediaFetcher) fetch(ctx context.Context, d channels.Draft, i int, m mediaRef) error {
	if f == nil {
		return fmt.Errorf("%w: no provider credentials for media", errMedia)
	}
	u, err := url.Parse(m.url)
	if err != nil || !f.allowed(u) {
		return fmt.Errorf("%w: media %d: URL is not https on an allowed host", errMedia, i)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("%w: media %d: %v", errMedia, i, err)
	}
	req.SetBasicAuth(f.sid, f.token)
	resp, err := f.client.Do(req)
	if err != nil {
		// A *url.Error names the URL, which holds the account's and the
		// message's ids: keep only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: media %d: %v", errMedia, i, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: media %d: status %d", errMedia, i, resp.StatusCode)
	}
	// The sink enforces the limit while streaming; refusing a declared
	// oversize saves the download.
	if f.maxBytes > 0 && resp.ContentLength > f.maxBytes {
		return fmt.Errorf("media %d: %w (%d bytes)", i, channels.ErrAttachmentTooLarge, resp.ContentLength)
	}
	mt := m.mediaType
	if mt == "" {
		mt = resp.Header.Get("Content-Type")
	}
	var body io.Reader = resp.Body
	if f.maxBytes > 0 {
		body = &capReader{r: resp.Body, left: f.maxBytes}
	}
	if _, err := d.Attach(ctx, fmt.Sprintf("media-%d%s", i+1, extension(mt)), mt, body); err != nil {
		if errors.Is(err, channels.ErrAttachmentTooLarge) || errors.Is(err, channels.ErrTooManyAttachments) ||
			errors.Is(err, channels.ErrInvalidTip) {
			return fmt.Errorf("media %d: %w", i, err)
		}
		return fmt.Errorf("%w: media %d: %v", errMedia, i, err)
	}
	return nil
}

// capReader fails with ErrAttachmentTooLarge once more than left bytes
// come, for bodies that do not declare their length.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, channels.ErrAttachmentTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, channels.ErrAttachmentTooLarge
	}
	return n, err
}

func extension(mediaType string) string {
	mt, _, _ := strings.Cut(mediaType, ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "video/mp4":
		return ".mp4"
	case "audio/ogg":
		return ".ogg"
	case "audio/mpeg":
		return ".mp3"
	case "audio/amr":
		return ".amr"
	case "application/pdf":
		return ".pdf"
	case "text/vcard", "text/x-vcard":
		return ".vcf"
	}
	return ""
}
