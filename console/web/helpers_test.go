package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue"
)

// keyholder is a test key-holder identity.
type keyholder struct {
	name string
	id   *age.X25519Identity
}

func newKeyholder(t testing.TB, name string) keyholder {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return keyholder{name: name, id: id}
}

func recipients(ks ...keyholder) []age.Recipient {
	var rs []age.Recipient
	for _, k := range ks {
		rs = append(rs, k.id.Recipient())
	}
	return rs
}

// submission is a tip as a channel would hand it to the gateway.
type submission struct {
	channel     string
	kind        crypto.Kind
	text        string
	lang        string
	fields      map[string]string
	location    *crypto.Location
	sender      *crypto.Sender
	part        *crypto.Part
	attachments []testFile
}

type testFile struct {
	name, mediaType string
	data            []byte
}

// submit sends s through a real gateway.Intake sealing to rs.
func submit(t testing.TB, q queue.Queue, rs []age.Recipient, s submission) channels.Receipt {
	t.Helper()
	ctx := context.Background()
	sealer, err := crypto.NewSealer(rs...)
	if err != nil {
		t.Fatal(err)
	}
	in, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d := in.NewDraft(s.channel)
	tip := d.Tip()
	tip.Kind, tip.Text, tip.Language, tip.Fields = s.kind, s.text, s.lang, s.fields
	tip.Location, tip.Sender, tip.Part = s.location, s.sender, s.part
	for _, f := range s.attachments {
		if _, err := d.Attach(ctx, f.name, f.mediaType, bytes.NewReader(f.data)); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := d.Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// running is a console server on a loopback port.
type running struct {
	srv    *Server
	base   string
	signIn string
	logs   *testkit.Buffer
	out    *testkit.Buffer // what the console printed on its terminal
}

var urlPattern = regexp.MustCompile(`http://127\.0\.0\.1:\d+/login\?token=[A-Za-z0-9_-]+`)

// serve runs srv on its own listener until the test ends, and checks that
// it then stops cleanly.
func serve(t testing.TB, srv *Server) {
	t.Helper()
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("console Run: %v", err)
		}
	})
}

// startConsole runs a console for k, sealing triage to all, until the test ends.
func startConsole(t testing.TB, q queue.Queue, k keyholder, all []age.Recipient) *running {
	t.Helper()
	logs := &testkit.Buffer{}
	out := &testkit.Buffer{}
	srv, err := New(Config{
		Queue: q, Identities: []age.Identity{k.id}, Recipients: all, Name: k.name,
		Out: out, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	var signIn string
	for range 100 {
		if signIn = urlPattern.FindString(string(out.Bytes())); signIn != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if signIn == "" {
		t.Fatalf("console printed no sign-in URL: %q", out.Bytes())
	}
	u, _ := url.Parse(signIn)
	return &running{srv: srv, base: "http://" + u.Host, signIn: signIn, logs: logs, out: out}
}

// client returns an HTTP client signed in to the console.
func (r *running) client(t testing.TB) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(r.signIn)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("sign-in ended at %s with %s", resp.Request.URL, resp.Status)
	}
	return c
}

func get(t testing.TB, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t testing.TB, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
var versionPattern = regexp.MustCompile(`name="version" value="(\d+)"`)

func formValue(t testing.TB, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in page", re)
	}
	return m[1]
}

// pngWithText returns a small PNG carrying a tEXt chunk with text.
func pngWithText(t testing.TB, text string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{200, 0, 0, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// Insert a tEXt chunk after IHDR (8 signature + 25 IHDR bytes).
	chunk := pngChunk("tEXt", []byte("Comment\x00"+text))
	out := append([]byte{}, b[:33]...)
	out = append(out, chunk...)
	return append(out, b[33:]...)
}

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	n := len(data)
	b.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.ChecksumIEEE(append([]byte(typ), data...))
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return b.Bytes()
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func contains(t testing.TB, page string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// exifGPS returns an EXIF TIFF body with a camera make and a GPS position
// (degrees, minutes, seconds as whole numbers; north and east).
func exifGPS(lat, lon [3]uint32) []byte {
	le := binary.LittleEndian
	b := make([]byte, 148)
	copy(b, "II*\x00")
	le.PutUint32(b[4:], 8)
	entry := func(off int, tag, typ uint16, count, value uint32) {
		le.PutUint16(b[off:], tag)
		le.PutUint16(b[off+2:], typ)
		le.PutUint32(b[off+4:], count)
		le.PutUint32(b[off+8:], value)
	}
	le.PutUint16(b[8:], 2)
	entry(10, 0x010F, 2, 8, 38)
	entry(22, 0x8825, 4, 1, 46)
	copy(b[38:], "TestCam\x00")
	le.PutUint16(b[46:], 4)
	entry(48, 1, 2, 2, uint32('N'))
	entry(60, 2, 5, 3, 100)
	entry(72, 3, 2, 2, uint32('E'))
	entry(84, 4, 5, 3, 124)
	for i := range 3 {
		le.PutUint32(b[100+8*i:], lat[i])
		le.PutUint32(b[104+8*i:], 1)
		le.PutUint32(b[124+8*i:], lon[i])
		le.PutUint32(b[128+8*i:], 1)
	}
	return b
}

// jpegWithGPS returns a small JPEG photo whose EXIF holds a GPS position.
func jpegWithGPS(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		img.Set(i, 15-i, color.RGBA{0, 90, 200, 255})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	j := buf.Bytes()
	seg := append([]byte("Exif\x00\x00"), exifGPS([3]uint32{11, 5, 24}, [3]uint32{106, 18, 36})...)
	app1 := []byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out := append([]byte{}, j[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}
