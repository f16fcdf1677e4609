package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/pagesafety"
	"github.com/flarehq/flare/queue"
)

// Config configures the console's web server.
type Config struct {
	Queue queue.Queue
	// Identities are the key-holder's: they open tips and triage records.
	Identities []age.Identity
	// GatewayKeys are the public signing keys of the key-holder's
	// gateways: a tip not signed by one of them is shown as forged. Empty
	// means every tip is shown as unverified.
	GatewayKeys []crypto.GatewayKey
	// GatewayRecipients are the outbound recipients of the gateways that
	// may deliver Telegram and SMS replies (flare gateway
	// outbound-recipient); never keys read from the queue. Empty means
	// the reply panel offers web and onion inbox replies only.
	GatewayRecipients []age.Recipient
	// Recipients are every key-holder's recipients, this one's included:
	// triage state is sealed to them. Empty means the recipients of
	// Identities (only this key-holder could read the triage state).
	Recipients []age.Recipient
	// Name names this key-holder in triage records; empty means the
	// identity's public key.
	Name string
	// Listen is the address to listen on; empty means 127.0.0.1 on a free
	// port. Anything but a loopback address needs AllowRemote and a TLS
	// certificate.
	Listen      string
	AllowRemote bool
	TLSCert     string
	TLSKey      string
	// Out receives the URL to open, with its one-time sign-in token.
	Out io.Writer
	Log *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Server is the console's web server. Make one with New, then Run it.
type Server struct {
	cfg     Config
	con     *console.Console
	replies *console.Replies
	triage  *triage.Store
	me      string // this key-holder's name
	pubkeys []string
	log     *slog.Logger
	now     func() time.Time

	loginToken []byte // sha256 of the one-time token; nil once used
	session    []byte // sha256 of the session cookie; nil until sign-in
	csrf       string
	authMu     sync.Mutex

	inbox inboxCache
	// imageSlots bounds how many images are re-encoded at once, so that a
	// page of large photos cannot take all the laptop's memory.
	imageSlots chan struct{}

	images    imageCache
	inspectMu sync.Mutex
	inspected map[string]inspection // by attachment id and hash
	host      string                // the Host header browsers must send
	scheme    string
	// cookie is the session cookie's name. It carries the port: browsers
	// share cookies between ports of one host, and two consoles on one
	// machine must not sign each other out.
	cookie string
}

// New checks cfg and returns a Server. It does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Queue == nil || len(cfg.Identities) == 0 {
		return nil, errors.New("console: needs a queue and an identity")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	pubkeys := IdentityRecipients(cfg.Identities)
	if len(cfg.Recipients) == 0 {
		for _, pk := range pubkeys {
			r, err := crypto.ParseRecipient(pk)
			if err != nil {
				return nil, fmt.Errorf("console: %w", err)
			}
			cfg.Recipients = append(cfg.Recipients, r)
		}
		if len(cfg.Recipients) == 0 {
			return nil, errors.New("console: cannot derive a recipient from a plugin identity; pass every key-holder's recipient (--recipients-file)")
		}
		cfg.Log.Warn("no key-holder recipients given: triage state is sealed to this identity only")
	}
	name := strings.TrimSpace(cfg.Name)
	if name == "" && len(pubkeys) > 0 {
		name = shortKey(pubkeys[0])
	}
	if name == "" {
		name = "key-holder"
	}
	sealer, err := crypto.NewSealer(cfg.Recipients...)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	store, err := triage.New(triage.Config{Records: cfg.Queue, Sealer: sealer, Identities: cfg.Identities, Who: name, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return &Server{
		cfg:     cfg,
		con:     console.New(cfg.Queue, cfg.Identities...).TrustGateways(cfg.GatewayKeys...),
		replies: console.NewReplies(cfg.Queue, sealer, cfg.Identities),
		triage:  store,
		me:      name,
		pubkeys: pubkeys,
		log:     cfg.Log,
		now:     cfg.Now,
		csrf:    randomToken(),

		imageSlots: make(chan struct{}, 2),
		inspected:  map[string]inspection{},
	}, nil
}

// IdentityRecipients returns the public keys of the identities that have
// one the console can compute (X25519 and post-quantum; not plugins).
func IdentityRecipients(ids []age.Identity) []string {
	var out []string
	for _, id := range ids {
		switch id := id.(type) {
		case *age.X25519Identity:
			out = append(out, id.Recipient().String())
		case *age.HybridIdentity:
			out = append(out, id.Recipient().String())
		}
	}
	return out
}

func shortKey(pk string) string {
	if len(pk) > 16 {
		return pk[:10] + "…" + pk[len(pk)-6:]
	}
	return pk
}

// Serve listens as cfg says, prints the URL to open on cfg.Out and serves
// until ctx is done.
func Serve(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	return s.Run(ctx, ln)
}

// Listen opens the listener Config asks for, refusing a non-loopback
// address unless AllowRemote is set and a TLS certificate and key are given.
func (s *Server) Listen() (net.Listener, error) {
	addr := s.cfg.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("console: listen address %q: %w", addr, err)
	}
	if !isLoopback(host) {
		if !s.cfg.AllowRemote || s.cfg.TLSCert == "" || s.cfg.TLSKey == "" {
			return nil, fmt.Errorf("console: refusing to listen on %q, which is not a loopback address: anyone who can reach it could try to use the console; pass --allow-remote with --tls-cert and --tls-key if you really mean it", addr)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return ln, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Run serves on ln until ctx is done. First it writes the URL to open,
// carrying a fresh one-time token, to Config.Out.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	url, err := s.SignInURL(ln.Addr())
	if err != nil {
		return err
	}
	tlsOn := s.cfg.TLSCert != ""
	fmt.Fprintf(s.cfg.Out, "Flare console for %s: open this link in your browser (it works once):\n%s\n", s.me, url)
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 20 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() {
		if tlsOn {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("console: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("console: shut down: %w", err)
	}
	return nil
}

// SignInURL fixes the address the console answers on (addr, the
// listener's) and returns the first sign-in URL.
func (s *Server) SignInURL(addr net.Addr) (string, error) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("console: not a TCP address: %v", addr)
	}
	s.host = tcp.String()
	if tcp.IP.IsUnspecified() {
		s.host = net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	s.scheme = "http"
	if s.cfg.TLSCert != "" {
		s.scheme = "https"
	}
	s.cookie = fmt.Sprintf("%s_%d", sessionCookie, tcp.Port)
	return s.newSignInURL(), nil
}

// newSignInURL makes a new one-time token, replacing any unused one.
func (s *Server) newSignInURL() string {
	tok := randomToken()
	sum := sha256.Sum256([]byte(tok))
	s.authMu.Lock()
	s.loginToken = sum[:]
	s.authMu.Unlock()
	return s.scheme + "://" + s.host + "/login?token=" + tok
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

const (
	sessionCookie = "flare_console"
	csrfField     = "csrf"
)

// Handler returns the console's routes behind its checks: the Host header,
// the session, and on every POST the CSRF token.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", s.login)
	mux.HandleFunc("GET /static/{file}", s.static)
	mux.Handle("GET /{$}", s.authed(s.inboxPage))
	mux.Handle("GET /events", s.authed(s.events))
	mux.Handle("GET /tip/{key}", s.authed(s.tipPage))
	mux.Handle("POST /tip/{key}/triage", s.authed(s.triagePost))
	mux.Handle("GET /tip/{key}/att/{n}/image", s.authed(s.attachmentImage))
	mux.Handle("GET /tip/{key}/att/{n}/file", s.authed(s.attachmentFile))
	mux.Handle("POST /tip/{key}/export", s.authed(s.exportPost))
	mux.Handle("POST /tip/{key}/reply", s.authed(s.replyPost))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, http.StatusNotFound, "Not found", "There is no such page in the console.")
	})
	return s.guard(mux)
}

// guard sets the headers every response carries and refuses requests for
// any other host name (DNS rebinding: a web page that makes its own name
// resolve to 127.0.0.1 must not reach the console).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pagesafety.Set(w.Header(), pagesafety.SelfScript)
		// With --allow-remote, browsers use whatever name reaches the
		// machine; TLS (whose certificate names it) stands in.
		if s.host != "" && !s.cfg.AllowRemote && !s.hostAllowed(r.Host) {
			s.fail(w, http.StatusMisdirectedRequest, "Wrong address", "Open the console at the address flare console serve printed.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostAllowed(host string) bool {
	if host == s.host {
		return true
	}
	_, port, err := net.SplitHostPort(s.host)
	if err != nil {
		return false
	}
	return host == net.JoinHostPort("localhost", port)
}

// login swaps the one-time token for a session cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	sum := sha256.Sum256([]byte(r.URL.Query().Get("token")))
	s.authMu.Lock()
	ok := s.loginToken != nil && subtle.ConstantTimeCompare(sum[:], s.loginToken) == 1
	var cookie string
	if ok {
		cookie = randomToken()
		cs := sha256.Sum256([]byte(cookie))
		s.session = cs[:]
		s.loginToken = nil
	}
	s.authMu.Unlock()
	if !ok {
		s.log.Warn("console sign-in refused", "reason", "unknown or used token")
		msg := "This sign-in link is wrong or was already used. Each link works once."
		s.authMu.Lock()
		spent := s.loginToken == nil
		s.authMu.Unlock()
		if spent && s.host != "" {
			// Whoever can read the terminal is the key-holder: a fresh
			// link goes there, never to the browser. Using it signs out
			// the browser signed in before.
			fmt.Fprintf(s.cfg.Out, "A used sign-in link was opened. To sign in again (this signs out the other browser), open:\n%s\n", s.newSignInURL())
			msg += " A new link was printed in the terminal where flare console serve runs."
		}
		s.fail(w, http.StatusUnauthorized, "Sign-in link not valid", msg)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie,
		Value:    cookie,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.cfg.TLSCert != "",
		SameSite: http.SameSiteStrictMode,
	})
	s.log.Info("console signed in")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// authed lets a request through only with the session cookie, and a POST
// only with the CSRF token as well.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(s.cookie)
		s.authMu.Lock()
		sess := s.session
		s.authMu.Unlock()
		if err != nil || sess == nil {
			s.fail(w, http.StatusUnauthorized, "Not signed in", "Open the link flare console serve printed when it started.")
			return
		}
		sum := sha256.Sum256([]byte(c.Value))
		if subtle.ConstantTimeCompare(sum[:], sess) != 1 {
			s.fail(w, http.StatusUnauthorized, "Not signed in", "This browser's session is not the console's. Open the link flare console serve printed when it started.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
			if err := r.ParseForm(); err != nil {
				s.fail(w, http.StatusBadRequest, "Form not readable", "The form could not be read; it may be too large.")
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get(csrfField)), []byte(s.csrf)) != 1 {
				s.log.Warn("console form refused", "reason", "missing or wrong CSRF token")
				s.fail(w, http.StatusForbidden, "Form refused", "This form did not come from the console's own page (its security token is missing or wrong). Reload the page and try again.")
				return
			}
			if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
				s.fail(w, http.StatusForbidden, "Form refused", "This form was sent from another site.")
				return
			}
		}
		h(w, r)
	})
}
