package console

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"

	"filippo.io/age"

	"github.com/flarehq/flare/console/triage"
)

// CaseTip is one item of an exported case, with its triage state.
type CaseTip struct {
	Item    Item
	Triage  triage.Record
	History []triage.Entry
}

// Case is what ExportCase writes: tips worked as one case.
type Case struct {
	Tips       []CaseTip
	ExportedBy string
	Exported   time.Time
	// Recipient is the recipient's public key as the key-holder typed it,
	// recorded in the manifest.
	Recipient string
}

// ErrNothingToExport is returned by ExportCase for a case without any
// tip the console could open.
var ErrNothingToExport = errors.New("nothing to export")

// ExportCase writes the case as one age file encrypted to to: a tar
// archive holding MANIFEST.txt (what is inside, in plain words, with the
// SHA-256 of every file) and, for each tip, tip.json, text.txt,
// triage.json and its attachments, decrypted. Attachments are streamed
// from the queue; nothing is written anywhere but w.
//
// This is the one place where the console hands out decrypted tips, to a
// recipient the key-holder chose: the file is only as safe as that
// recipient's key.
func (c *Console) ExportCase(ctx context.Context, w io.Writer, cs Case, to age.Recipient) error {
	type file struct {
		name string
		data []byte // nil for attachments
		att  *CaseTip
		ref  int
		size int64
		sum  string
	}
	var files []file
	addData := func(name string, data []byte) {
		sum := sha256.Sum256(data)
		files = append(files, file{name: name, data: data, size: int64(len(data)), sum: hex.EncodeToString(sum[:])})
	}
	var man strings.Builder
	fmt.Fprintf(&man, "Flare case export\n\nExported: %s\nExported by: %s\nEncrypted to: %s\n\n",
		cs.Exported.UTC().Format(time.RFC3339), cs.ExportedBy, cs.Recipient)
	man.WriteString("This archive holds decrypted tips from sources who may be in danger.\n" +
		"Keep it encrypted; never forward it unencrypted. Original photos may\n" +
		"carry GPS coordinates and device details in their metadata.\n\nTips:\n")
	n := 0
	for i := range cs.Tips {
		ct := &cs.Tips[i]
		t := ct.Item.Tip
		if t == nil {
			continue
		}
		n++
		dir := fmt.Sprintf("tips/%02d-%s/", n, ct.Item.Key)
		fmt.Fprintf(&man, "\n%d. %s  kind %s, channel %s, received %s, receipt %s, status %s\n",
			n, dir, t.Kind, t.Channel, t.Received.UTC().Format(time.RFC3339), t.Receipt, ct.Triage.CurrentStatus().Label())
		if len(ct.Item.Missing) > 0 {
			fmt.Fprintf(&man, "   parts missing: %v\n", ct.Item.Missing)
		}
		tipJSON, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		addData(dir+"tip.json", append(tipJSON, '\n'))
		addData(dir+"text.txt", []byte(t.Text+"\n"))
		tri, err := json.MarshalIndent(struct {
			State   triage.State   `json:"state"`
			History []triage.Entry `json:"history"`
		}{ct.Triage.State, ct.History}, "", "  ")
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		addData(dir+"triage.json", append(tri, '\n'))
		for j, ref := range t.Attachments {
			name := fmt.Sprintf("%sattachments/%02d-%s", dir, j+1, SafeFileName(ref.Name))
			files = append(files, file{name: name, att: ct, ref: j, size: ref.Size, sum: ref.SHA256})
			fmt.Fprintf(&man, "   attachment %q (%s, %d bytes)\n", ref.Name, ref.MediaType, ref.Size)
		}
	}
	if n == 0 {
		return ErrNothingToExport
	}
	man.WriteString("\nFiles (SHA-256, size, name):\n")
	for _, f := range files {
		fmt.Fprintf(&man, "%s  %d  %s\n", f.sum, f.size, f.name)
	}

	aw, err := age.Encrypt(w, to)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tw := tar.NewWriter(aw)
	mtime := cs.Exported.UTC().Truncate(time.Second)
	put := func(name string, size int64, src io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := io.Copy(tw, src)
		return err
	}
	if err := put("MANIFEST.txt", int64(man.Len()), strings.NewReader(man.String())); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, f := range files {
		if f.data != nil {
			if err := put(f.name, f.size, strings.NewReader(string(f.data))); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			continue
		}
		r, err := c.Attachment(ctx, f.att.Item.Tip.Attachments[f.ref])
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := put(f.name, f.size, r); err != nil {
			return fmt.Errorf("export: %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// SafeFileName turns a source's file name into one that is safe to write:
// no directories, no control characters, at most 100 bytes.
func SafeFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' || r == ':' || unicode.Is(unicode.Bidi_Control, r) {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	for len(name) > 100 {
		_, size := lastRune(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." {
		return "attachment"
	}
	return name
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return []rune(s[i:])[0], len(s) - i
		}
	}
	return 0, 1
}
