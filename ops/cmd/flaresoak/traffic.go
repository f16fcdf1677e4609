package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Sizes of the gateway's defaults the hostile mix aims past.
const (
	maxAttachment = 256 << 20
	maxRequest    = 300 << 20
)

type results struct {
	accepted, refused int64
	refusalSamples    []string
	hostile           *tally
	hostileBytes      atomic.Int64
}

// tally counts hostile requests by kind and by whether the answer was the
// one expected.
type tally struct {
	mu    sync.Mutex
	sentN map[string]int
	okN   map[string]int
	other map[string]map[string]int
}

func newTally() *tally {
	return &tally{sentN: map[string]int{}, okN: map[string]int{}, other: map[string]map[string]int{}}
}

func (t *tally) add(kind string, ok bool, got string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sentN[kind]++
	if ok {
		t.okN[kind]++
	} else {
		got = "UNEXPECTED " + got
	}
	if t.other[kind] == nil {
		t.other[kind] = map[string]int{}
	}
	t.other[kind][got]++
}

func (t *tally) sent() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.sentN {
		n += v
	}
	return n
}

func (t *tally) expected() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.okN {
		n += v
	}
	return n
}

func (t *tally) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k, n := range t.sentN {
		line := fmt.Sprintf("%-26s %5d sent, %5d as expected", k, n, t.okN[k])
		if len(t.other[k]) > 0 {
			var o []string
			for got, c := range t.other[k] {
				o = append(o, fmt.Sprintf("%s×%d", got, c))
			}
			sort.Strings(o)
			line += ": " + strings.Join(o, ", ")
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

// soak sends for o.duration and returns what happened.
func soak(ctx context.Context, o options, base string) *results {
	res := &results{hostile: newTally()}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var wg sync.WaitGroup
	every := func(d time.Duration, fn func(ctx context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				fn(ctx)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	h := &hostile{base: base, t: res.hostile, bytes: &res.hostileBytes}
	every(o.tipEvery, func(ctx context.Context) { validTip(ctx, base, res) })
	every(time.Second, h.hugeForm)
	every(time.Second, h.declaredTooLarge)
	every(500*time.Millisecond, h.crossSite)
	every(500*time.Millisecond, h.garbage)
	every(time.Minute, h.oversizedFile)
	// The first oversized file gets a head start, so that it meets the
	// size limit rather than a full set of upload slots.
	time.Sleep(2 * time.Second)
	every(2*time.Second, func(ctx context.Context) { h.burst(ctx, o.burst) })
	wg.Add(1)
	go func() { defer wg.Done(); h.stalls(ctx, o.stalls) }()
	wg.Wait()
	return res
}

var tipCount atomic.Int64

// validTip sends one tip a source could send: text, and every fifth time
// a 48 KiB photo; by form or by the JSON endpoint in turn.
func validTip(ctx context.Context, base string, res *results) {
	n := tipCount.Add(1)
	var (
		req *http.Request
		err error
	)
	text := fmt.Sprintf("Please help, we are held in building C (tip %d).", n)
	if n%2 == 0 {
		// As a browser does: load the form for its single-use token,
		// then send it.
		token, terr := formToken(ctx, base)
		if terr != nil {
			refuse(res, "form token: "+terr.Error())
			return
		}
		form := url.Values{"kind": {"distress"}, "message": {text}, "place": {"Bavet"}, "lang": {"en"}, "token": {token}}
		req, err = http.NewRequestWithContext(context.WithoutCancel(ctx), "POST", base+"/", strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("kind", "tip")
		mw.WriteField("message", text)
		if n%5 == 1 {
			fw, _ := mw.CreateFormFile("file", "photo.jpg")
			fw.Write(bytes.Repeat([]byte{0xff, 0xd8, 0x42}, 16<<10))
		}
		mw.Close()
		req, err = http.NewRequestWithContext(context.WithoutCancel(ctx), "POST", base+"/submit", &b)
		if err == nil {
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Accept", "application/json")
		}
	}
	if err != nil {
		return
	}
	// Same-origin, as the source's browser would say.
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := validClient.Do(req)
	if err != nil {
		refuse(res, err.Error())
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		refuse(res, fmt.Sprintf("status %d", resp.StatusCode))
		return
	}
	_ = body
	atomic.AddInt64(&res.accepted, 1)
}

var refuseMu sync.Mutex

func refuse(res *results, why string) {
	atomic.AddInt64(&res.refused, 1)
	refuseMu.Lock()
	defer refuseMu.Unlock()
	if len(res.refusalSamples) < 5 {
		res.refusalSamples = append(res.refusalSamples, why)
	}
}

var validClient = &http.Client{Timeout: 2 * time.Minute}

// hostile sends the requests an attacker would.
type hostile struct {
	base  string
	t     *tally
	bytes *atomic.Int64
}

// client is a fresh client per request, no connection reuse: hostile
// connections are the server's to close.
func (h *hostile) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
}

// do sends req and records whether the status is want. unread says the
// gateway refuses this request without reading its body: it answers and
// closes the connection while the client is still writing, and a client
// may then see only the closed connection, which is the refusal too.
func (h *hostile) do(kind string, req *http.Request, want int, unread bool) {
	resp, err := h.client().Do(req)
	if err != nil {
		h.t.add(kind, unread || req.Context().Err() != nil, closedOrEnded(req.Context()))
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	h.t.add(kind, resp.StatusCode == want, fmt.Sprint(resp.StatusCode))
}

// closedOrEnded names why a hostile request got no answer: the run ended
// under it, or the gateway closed the connection.
func closedOrEnded(ctx context.Context) string {
	if ctx.Err() != nil {
		return "run ended"
	}
	return "closed"
}

// endless yields n bytes (or, n < 0, without end) of a url-encoded form.
type endless struct {
	n, sent int64
	count   *atomic.Int64
	prefix  string
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n >= 0 && e.sent >= e.n {
		return 0, io.EOF
	}
	k := len(p)
	if e.n >= 0 {
		k = int(min(int64(k), e.n-e.sent))
	}
	for i := 0; i < k; i++ {
		if j := e.sent + int64(i); j < int64(len(e.prefix)) {
			p[i] = e.prefix[j]
		} else {
			p[i] = 'a'
		}
	}
	e.sent += int64(k)
	e.count.Add(int64(k))
	return k, nil
}

var tokenPattern = regexp.MustCompile(`name="token" value="([^"]+)"`)

// formToken loads the form at base and returns its single-use token.
func formToken(ctx context.Context, base string) (string, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), "GET", base+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := validClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	m := tokenPattern.FindSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("no token on the form (status %d)", resp.StatusCode)
	}
	return string(m[1]), nil
}

// hugeForm posts a 299 MiB url-encoded body, declared and chunked in turn.
func (h *hostile) hugeForm(ctx context.Context) {
	for _, declared := range []bool{true, false} {
		body := &endless{n: 299 << 20, count: h.bytes, prefix: "kind=tip&message="}
		req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/", io.NopCloser(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.ContentLength = -1
		kind := "huge url-encoded chunked"
		if declared {
			req.ContentLength = 299 << 20
			kind = "huge url-encoded declared"
		}
		// Either way the gateway refuses before reading the body; a
		// client still writing may see the connection close first.
		h.do(kind, req, http.StatusRequestEntityTooLarge, true)
	}
}

// declaredTooLarge declares a multipart body past the request limit.
func (h *hostile) declaredTooLarge(ctx context.Context) {
	body := &endless{n: maxRequest + 1<<20, count: h.bytes, prefix: "--b\r\n"}
	req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/submit", io.NopCloser(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	req.ContentLength = maxRequest + 1<<20
	h.do("declared over the limit", req, http.StatusRequestEntityTooLarge, true)
}

// crossSite posts a tip as another site's page would.
func (h *hostile) crossSite(ctx context.Context) {
	for i, hdr := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}} {
		req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/", strings.NewReader("kind=tip&message=forged"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		h.do(fmt.Sprintf("cross-site post %d", i+1), req, http.StatusForbidden, false)
	}
}

// garbage posts a body that is not multipart under a multipart type.
func (h *hostile) garbage(ctx context.Context) {
	req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/submit", strings.NewReader(strings.Repeat("this is not multipart ", 200)))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=zzz")
	h.do("garbage multipart", req, http.StatusBadRequest, false)
}

// upload streams a multipart body with one file of size bytes, chunked.
func (h *hostile) upload(ctx context.Context, size int64) *http.Request {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("message", "many files")
		fw, err := mw.CreateFormFile("file", "video.mp4")
		if err == nil {
			_, err = io.Copy(fw, &endless{n: size, count: h.bytes})
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/submit", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

// burst sends n concurrent 1 MiB uploads: past the caps, the extra ones
// must be told to try again (503). Those that fit are accepted; both are
// as expected.
func (h *hostile) burst(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h.client().Do(h.upload(ctx, 1<<20))
			if err != nil {
				// Refused unread while the client still wrote (see do),
				// or cut short by the end of the run.
				h.t.add("concurrent upload", true, closedOrEnded(ctx))
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ok := resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusOK
			h.t.add("concurrent upload", ok, fmt.Sprint(resp.StatusCode))
		}()
	}
	wg.Wait()
}

// oversizedFile streams a file past the attachment limit; it must be
// refused (413), or told to try again when the upload slots are full.
func (h *hostile) oversizedFile(ctx context.Context) {
	req := h.upload(ctx, maxAttachment+1<<20)
	resp, err := h.client().Do(req)
	if err != nil {
		// Refused (413) while the client still wrote the last of the
		// file: the client may see only the closed connection.
		h.t.add("oversized file", true, closedOrEnded(ctx))
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	ok := resp.StatusCode == http.StatusRequestEntityTooLarge || resp.StatusCode == http.StatusServiceUnavailable
	h.t.add("oversized file", ok, fmt.Sprint(resp.StatusCode))
}

// stalls keeps n uploads open that sent 100 bytes of a declared 100 MB
// body and nothing more; when the gateway cuts one off, another takes its
// place. Each cut-off (the connection closed by the gateway) is counted
// as expected.
func (h *hostile) stalls(ctx context.Context, n int) {
	addr := strings.TrimPrefix(h.base, "http://")
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					h.t.add("stalled upload", false, "dial")
					return
				}
				head := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\r\n"
				fmt.Fprintf(conn, "POST /submit HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s%s",
					addr, 100<<20, head, strings.Repeat("z", 100-len(head)))
				h.bytes.Add(100)
				closed := make(chan string, 1)
				go func() {
					// The gateway's answer: 408 when it cut the upload
					// off, 503 when all upload slots were taken.
					var first [12]byte
					n, _ := io.ReadFull(conn, first[:])
					io.Copy(io.Discard, conn)
					closed <- strings.TrimSpace(strings.TrimPrefix(string(first[:n]), "HTTP/1.1"))
				}()
				select {
				case status := <-closed:
					switch status {
					case "408":
						h.t.add("stalled upload", true, "cut off (408)")
					case "503":
						h.t.add("stalled upload", true, "no slot (503)")
						time.Sleep(200 * time.Millisecond)
					default:
						h.t.add("stalled upload", false, status)
					}
				case <-ctx.Done():
					// Still held when the run ended: the grace is
					// longer than what was left of the run.
					h.t.add("stalled upload", true, "held at the end")
				}
				conn.Close()
			}
		}()
	}
	wg.Wait()
}
