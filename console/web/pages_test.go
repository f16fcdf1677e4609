package web

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
)

func TestInboxOrderFiltersAndSearch(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	rs := recipients(alice)
	// Submitted least urgent first, so that order can only come from sorting.
	submit(t, q, rs, submission{channel: "web", kind: crypto.KindTip, text: "ROW-TIP a company launders money", lang: "en"})
	submit(t, q, rs, submission{channel: "telegram", kind: crypto.KindEvidence, text: "ROW-EVIDENCE spreadsheet attached", lang: "km"})
	submit(t, q, rs, submission{channel: "web", kind: crypto.KindMissing, text: "ROW-MISSING my son Dara has not come home"})
	submit(t, q, rs, submission{channel: "sms", kind: crypto.KindDistress, text: "ROW-DISTRESS-B help they took my passport"})
	submit(t, q, rs, submission{channel: "sms", kind: crypto.KindDistress, text: "ROW-DISTRESS-A second part", part: &crypto.Part{Group: "g1", Index: 2, Total: 2}})
	submit(t, q, rs, submission{channel: "sms", kind: crypto.KindDistress, text: "first part, ", part: &crypto.Part{Group: "g1", Index: 1, Total: 2}})
	r := startConsole(t, q, alice, rs)
	c := r.client(t)

	_, page := get(t, c, r.base+"/")
	order := regexp.MustCompile(`ROW-[A-Z-]+`).FindAllString(page, -1)
	want := []string{"ROW-DISTRESS-B", "ROW-DISTRESS-A", "ROW-MISSING", "ROW-TIP", "ROW-EVIDENCE"}
	// The two distress items were received the same minute; their order
	// between them is by reception. The joined SMS reads in part order.
	if len(order) != len(want) || order[2] != want[2] || !strings.HasPrefix(order[0], "ROW-DISTRESS") || !strings.HasPrefix(order[1], "ROW-DISTRESS") {
		t.Fatalf("inbox order = %v, want distress, distress, missing, …", order)
	}
	if !strings.Contains(page, "first part, ROW-DISTRESS-A second part") {
		t.Errorf("SMS parts not joined in order")
	}

	tests := []struct {
		query string
		want  []string
		not   []string
	}{
		{"kind=missing", []string{"ROW-MISSING"}, []string{"ROW-TIP", "ROW-DISTRESS"}},
		{"channel=telegram", []string{"ROW-EVIDENCE"}, []string{"ROW-MISSING"}},
		{"lang=km", []string{"ROW-EVIDENCE"}, []string{"ROW-TIP"}},
		{"q=PASSPORT+help", []string{"ROW-DISTRESS-B"}, []string{"ROW-DISTRESS-A", "ROW-MISSING"}},
		{"q=dara", []string{"ROW-MISSING"}, []string{"ROW-TIP"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, page := get(t, c, r.base+"/?"+tt.query)
			contains(t, page, tt.want...)
			for _, n := range tt.not {
				if strings.Contains(page, n) {
					t.Errorf("filter %s shows %s", tt.query, n)
				}
			}
		})
	}
}

func TestTriageConflictAndSharing(t *testing.T) {
	q := memq.New()
	alice, bob := newKeyholder(t, "alice"), newKeyholder(t, "bob")
	rs := recipients(alice, bob)
	rc := submit(t, q, rs, submission{channel: "web", kind: crypto.KindDistress, text: "help"})
	ra, rb := startConsole(t, q, alice, rs), startConsole(t, q, bob, rs)
	ca, cb := ra.client(t), rb.client(t)
	tipA, tipB := ra.base+"/tip/"+rc.QueueID, rb.base+"/tip/"+rc.QueueID

	_, pageA := get(t, ca, tipA)
	_, pageB := get(t, cb, tipB)
	code, _ := post(t, ca, tipA+"/triage", url.Values{
		"csrf": {formValue(t, csrfPattern, pageA)}, "version": {formValue(t, versionPattern, pageA)},
		"status": {"in-progress"}, "assignee": {"alice"}, "tags": {"bavet"}, "note": {"Called the partner NGO."},
	})
	if code != http.StatusOK {
		t.Fatalf("alice's save: %d", code)
	}
	// Bob saves from the page he loaded before: conflict, and his note survives in the form.
	code, page := post(t, cb, tipB+"/triage", url.Values{
		"csrf": {formValue(t, csrfPattern, pageB)}, "version": {formValue(t, versionPattern, pageB)},
		"status": {"spam"}, "note": {"Bob's unsaved note"},
	})
	if code != http.StatusConflict {
		t.Fatalf("bob's stale save: %d, want 409", code)
	}
	contains(t, page, "alice changed this tip since you opened it", "Bob&#39;s unsaved note", "status: new → in progress")
	// After reload, bob sees alice's state.
	_, page = get(t, cb, tipB)
	contains(t, page, "Called the partner NGO.", `id="cur-status">in progress`, "bavet", `id="cur-assignee">alice`)

	// The triage filters and the search see it too.
	link := `href="/tip/` + rc.QueueID + `"`
	for _, tt := range []struct {
		query string
		shown bool
	}{
		{"status=in-progress", true}, {"status=open", true}, {"status=resolved", false}, {"status=new", false},
		{"tag=bavet", true}, {"tag=other", false},
		{"assignee=alice", true}, {"assignee=-", false}, {"assignee=bob", false},
		{"q=partner+ngo", true}, {"q=lawyer", false},
	} {
		_, page := get(t, cb, rb.base+"/?"+tt.query)
		if strings.Contains(page, link) != tt.shown {
			t.Errorf("filter %s: shown = %v, want %v", tt.query, !tt.shown, tt.shown)
		}
	}
}

func TestNotRecipientShowsWhy(t *testing.T) {
	q := memq.New()
	alice, mallory := newKeyholder(t, "alice"), newKeyholder(t, "mallory")
	submit(t, q, recipients(alice), submission{channel: "web", kind: crypto.KindDistress, text: "SECRET-TEXT-93"})
	r := startConsole(t, q, mallory, recipients(mallory))
	_, page := get(t, r.client(t), r.base+"/")
	contains(t, page, "cannot be opened with your identity", mallory.id.Recipient().String())
	if strings.Contains(page, "SECRET-TEXT-93") {
		t.Fatal("content shown to a non-recipient")
	}
}

func TestTipContentIsInert(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
	rc := submit(t, q, recipients(alice), submission{
		channel: "web", kind: crypto.KindTip, text: `<script>alert("x")</script><img src=x onerror=alert(2)>`,
		fields:      map[string]string{"place": `"><b>bold</b>`},
		attachments: []testFile{{name: `evil.svg"><script>`, mediaType: "image/svg+xml", data: svg}},
	})
	r := startConsole(t, q, alice, recipients(alice))
	c := r.client(t)
	_, page := get(t, c, r.base+"/tip/"+rc.QueueID)
	contains(t, page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&lt;b&gt;bold&lt;/b&gt;", "SVG drawings can carry scripts")
	for _, bad := range []string{"<script>alert", "<b>bold", "<img src=x", `/att/0/image"`} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	// The SVG is never re-encoded or served inline.
	if code, _ := get(t, c, r.base+"/tip/"+rc.QueueID+"/att/0/image"); code != http.StatusUnsupportedMediaType {
		t.Errorf("SVG as image: %d, want 415", code)
	}
	resp, err := c.Get(r.base + "/tip/" + rc.QueueID + "/att/0/file")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(body, svg) || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download headers: %v", resp.Header)
	}
}

func TestImageReencodedAndGPSReported(t *testing.T) {
	q := memq.New()
	alice := newKeyholder(t, "alice")
	photo := jpegWithGPS(t)
	rc := submit(t, q, recipients(alice), submission{channel: "web", kind: crypto.KindEvidence, text: "photo",
		attachments: []testFile{{name: "compound.jpg", mediaType: "image/jpeg", data: photo}}})
	r := startConsole(t, q, alice, recipients(alice))
	c := r.client(t)
	_, page := get(t, c, r.base+"/tip/"+rc.QueueID)
	contains(t, page, "The original carries GPS coordinates", "11.09000, 106.31000", "TestCam", `/att/0/image"`)
	code, img := get(t, c, r.base+"/tip/"+rc.QueueID+"/att/0/image")
	if code != http.StatusOK || !strings.HasPrefix(img, "\xFF\xD8") {
		t.Fatalf("re-encoded image: %d", code)
	}
	if strings.Contains(img, "Exif") || strings.Contains(img, "TestCam") {
		t.Fatal("re-encoded image still carries EXIF")
	}
	if m := readMetadata([]byte(img)); m.Exif || m.GPS {
		t.Fatalf("re-encoded metadata = %+v", m)
	}
	if _, again := get(t, c, r.base+"/tip/"+rc.QueueID+"/att/0/image"); again != img {
		t.Fatal("a second view gives a different image")
	}
}

func TestExportCase(t *testing.T) {
	q := memq.New()
	alice, lawyer := newKeyholder(t, "alice"), newKeyholder(t, "lawyer")
	rs := recipients(alice)
	doc := []byte("evidence spreadsheet,1,2,3\n")
	rc := submit(t, q, rs, submission{channel: "web", kind: crypto.KindDistress, text: "call me on +855 12 345 678",
		attachments: []testFile{{name: "../../ledger.csv", mediaType: "text/csv", data: doc}}})
	rc2 := submit(t, q, rs, submission{channel: "sms", kind: crypto.KindDistress, text: "same compound", sender: &crypto.Sender{Phone: "+85512345678"}})
	r := startConsole(t, q, alice, rs)
	c := r.client(t)
	_, page := get(t, c, r.base+"/tip/"+rc.QueueID)
	contains(t, page, "shares phone number", rc2.QueueID)
	for _, bad := range []string{"", "age1notakey", "ssh-ed25519 AAAA"} {
		if code, body := post(t, c, r.base+"/tip/"+rc.QueueID+"/export", url.Values{"csrf": {formValue(t, csrfPattern, page)}, "recipient": {bad}}); code != http.StatusBadRequest || !strings.Contains(body, "not an age public key") {
			t.Errorf("export to %q: %d", bad, code)
		}
	}
	code, body := post(t, c, r.base+"/tip/"+rc.QueueID+"/export", url.Values{
		"csrf": {formValue(t, csrfPattern, page)}, "recipient": {lawyer.id.Recipient().String()}, "include": {rc2.QueueID},
	})
	if code != http.StatusOK {
		t.Fatalf("export: %d %s", code, body)
	}
	if _, err := age.Decrypt(strings.NewReader(body), alice.id); err == nil {
		t.Fatal("the exporting key-holder can open the archive; it must be for the named recipient only")
	}
	ar, err := age.Decrypt(strings.NewReader(body), lawyer.id)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(ar)
	files := map[string][]byte{}
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
		names = append(names, h.Name)
	}
	if names[0] != "MANIFEST.txt" {
		t.Fatalf("first file %s, want MANIFEST.txt", names[0])
	}
	man := string(files["MANIFEST.txt"])
	for _, want := range []string{"exported", "alice", lawyer.id.Recipient().String(), "ledger.csv", "tips/01-" + rc.QueueID + "/tip.json", "tips/02-" + rc2.QueueID + "/text.txt"} {
		if !strings.Contains(strings.ToLower(man), strings.ToLower(want)) {
			t.Errorf("manifest lacks %q:\n%s", want, man)
		}
	}
	att := "tips/01-" + rc.QueueID + "/attachments/01-ledger.csv"
	if !bytes.Equal(files[att], doc) {
		t.Errorf("attachment in archive = %q (files %v)", files[att], names)
	}
	if !strings.Contains(string(files["tips/02-"+rc2.QueueID+"/text.txt"]), "same compound") {
		t.Errorf("related tip missing from the case")
	}
	// The export is on record, sealed, in each tip's history.
	for _, key := range []string{rc.QueueID, rc2.QueueID} {
		h, err := r.srv.triage.History(t.Context(), key)
		if err != nil || len(h) != 1 || h[0].By != "alice" || !strings.Contains(h[0].What[0], "exported in a case to "+lawyer.id.Recipient().String()) {
			t.Errorf("history of %s = %+v, %v", key, h, err)
		}
	}
}
