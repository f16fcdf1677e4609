package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
)

// triagePost applies the tip page's triage form. The form carries the
// record version the page showed; if someone else saved in between, the
// key-holder gets the page back with a conflict message, the other's
// change, and what they typed, unsaved.
func (s *Server) triagePost(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !triage.ValidKey(key) {
		s.fail(w, http.StatusNotFound, "No such tip", "There is no tip with this key.")
		return
	}
	f := r.PostForm
	version, err := strconv.ParseInt(f.Get("version"), 10, 64)
	if err != nil || version < 0 {
		s.fail(w, http.StatusBadRequest, "Form not readable", "The form's version field is missing or wrong. Reload the page and try again.")
		return
	}
	// The form says what the page showed (was_*), so that only what the
	// key-holder changed is applied, and a conflict keeps exactly that.
	var c triage.Change
	d := draft{Note: f.Get("note")}
	switch f.Get("action") {
	case "assign-me":
		me := s.me
		c.Assignee = &me
		if st := f.Get("was_status"); st == "" || st == string(triage.StatusNew) {
			ip := triage.StatusInProgress
			c.Status = &ip
		}
	default:
		if v := f.Get("status"); v != "" && v != f.Get("was_status") {
			st, err := triage.ParseStatus(v)
			if err != nil {
				s.fail(w, http.StatusBadRequest, "Unknown status", err.Error())
				return
			}
			c.Status = &st
		}
		if a := strings.TrimSpace(f.Get("assignee")); f.Has("assignee") && a != strings.TrimSpace(f.Get("was_assignee")) {
			c.Assignee = &a
		}
		if tags := triage.ParseTags(f.Get("tags")); f.Has("tags") && !slices.Equal(tags, triage.ParseTags(f.Get("was_tags"))) {
			c.Tags = &tags
		}
		c.Note = f.Get("note")
	}
	rec, err := s.triage.Apply(r.Context(), key, version, c)
	var ce *triage.ConflictError
	switch {
	case err == nil:
		s.log.Info("triage changed", "version", rec.Version)
		http.Redirect(w, r, "/tip/"+key+"?saved=1", http.StatusSeeOther)
		return
	case errors.As(err, &ce):
		s.log.Info("triage change refused", "reason", "conflict")
		body, _ := s.tipBody(w, r)
		if body == nil {
			return
		}
		body.Conflict = err.Error()
		if hist := body.History; len(hist) > 0 {
			for _, e := range hist {
				if e.Version > version {
					for _, what := range e.What {
						body.ConflictBy = append(body.ConflictBy, fmt.Sprintf("%s, %s: %s", e.By, e.At.UTC().Format("15:04"), what))
					}
				}
			}
		}
		body.Draft = mergeDraft(body.Record, c, d.Note)
		s.render(w, http.StatusConflict, "tip", "Conflict", body)
	case errors.Is(err, triage.ErrInvalid), errors.Is(err, triage.ErrUnreadable):
		body, _ := s.tipBody(w, r)
		if body == nil {
			return
		}
		body.Error = err.Error()
		body.Draft = mergeDraft(body.Record, c, d.Note)
		s.render(w, http.StatusBadRequest, "tip", "Not saved", body)
	default:
		s.log.Error("triage change failed", "err", err)
		s.fail(w, http.StatusBadGateway, "Not saved", "The change could not be saved: "+err.Error())
	}
}

// mergeDraft is the triage form after a refused save: the record as it is
// now, with what the key-holder changed on top.
func mergeDraft(cur triage.Record, c triage.Change, note string) draft {
	d := draft{Status: cur.CurrentStatus(), Assignee: cur.Assignee, Tags: strings.Join(cur.Tags, ", "), Note: note}
	if c.Status != nil {
		d.Status = *c.Status
	}
	if c.Assignee != nil {
		d.Assignee = *c.Assignee
	}
	if c.Tags != nil {
		d.Tags = strings.Join(*c.Tags, ", ")
	}
	return d
}

// attachmentRef finds attachment n of the tip key, or answers 404.
func (s *Server) attachmentRef(w http.ResponseWriter, r *http.Request) (console.Item, crypto.AttachmentRef, bool) {
	key := r.PathValue("key")
	n, err := strconv.Atoi(r.PathValue("n"))
	if !triage.ValidKey(key) || err != nil || n < 0 {
		s.fail(w, http.StatusNotFound, "No such attachment", "There is no such attachment.")
		return console.Item{}, crypto.AttachmentRef{}, false
	}
	// Not s.load: an image on a tip page must not read every triage
	// record or link tips.
	it, ok, err := s.item(r.Context(), key)
	if err != nil {
		s.fail(w, http.StatusBadGateway, "Queue unavailable", "The console could not read the queue: "+err.Error())
		return console.Item{}, crypto.AttachmentRef{}, false
	}
	if !ok || n >= len(it.Tip.Attachments) {
		s.fail(w, http.StatusNotFound, "No such attachment", "There is no such attachment.")
		return console.Item{}, crypto.AttachmentRef{}, false
	}
	return it, it.Tip.Attachments[n], true
}

// attachmentImage serves an image attachment re-encoded by the console.
func (s *Server) attachmentImage(w http.ResponseWriter, r *http.Request) {
	_, ref, ok := s.attachmentRef(w, r)
	if !ok {
		return
	}
	if ref.Size > maxImageBytes {
		s.fail(w, http.StatusUnsupportedMediaType, "Not shown", "This file is too large to show; download it instead.")
		return
	}
	cacheKey := ref.ID + "/" + ref.SHA256
	if img, ok := s.images.get(cacheKey); ok {
		writeImage(w, img)
		return
	}
	select {
	case s.imageSlots <- struct{}{}:
		defer func() { <-s.imageSlots }()
	case <-r.Context().Done():
		return
	}
	rd, err := s.con.Attachment(r.Context(), ref)
	if err != nil {
		s.fail(w, http.StatusBadGateway, "Not shown", "The attachment could not be opened.")
		return
	}
	data, err := readLimited(rd, maxImageBytes)
	if err != nil {
		if r.Context().Err() == nil && !errors.Is(err, errNotImage) {
			s.noteChecked(ref, false)
		}
		s.log.Warn("attachment not readable", "err", err)
		s.fail(w, http.StatusBadGateway, "Not shown", "The attachment could not be read completely or does not match its checksum.")
		return
	}
	mt, out, err := reencode(data)
	if err != nil {
		s.fail(w, http.StatusUnsupportedMediaType, "Not shown", "The console only shows PNG, JPEG and GIF images it can decode; download this file instead.")
		return
	}
	img := shownImage{mediaType: mt, data: out}
	s.images.put(cacheKey, img)
	writeImage(w, img)
}

func writeImage(w http.ResponseWriter, img shownImage) {
	w.Header().Set("Content-Type", img.mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(img.data)))
	w.Write(img.data)
}

// shownImage is an attachment as re-encoded for display.
type shownImage struct {
	mediaType string
	data      []byte
}

// imageCache keeps re-encoded images in memory, and only there, up to a
// total size, so that revisiting a tip neither decrypts nor decodes again.
type imageCache struct {
	mu    sync.Mutex
	m     map[string]shownImage
	bytes int
}

// imageCacheBytes bounds the memory the cache holds.
const imageCacheBytes = 64 << 20

func (c *imageCache) get(key string) (shownImage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img, ok := c.m[key]
	return img, ok
}

func (c *imageCache) put(key string, img shownImage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(img.data) > imageCacheBytes/4 {
		return
	}
	if c.m == nil || c.bytes+len(img.data) > imageCacheBytes {
		c.m, c.bytes = map[string]shownImage{}, 0
	}
	c.m[key] = img
	c.bytes += len(img.data)
}

// attachmentFile sends the original file as a download: never shown in
// the browser, never sniffed, sandboxed if opened anyway.
//
// Nothing is sent before the whole file was decrypted and matched the
// SHA-256 its tip recorded: a file swapped in the store gets an error page
// and the tip page says so. The file is then decrypted again to send it
// (nothing is written to disk, and a large file is not held in memory);
// should that copy differ (the store changed in between), the connection
// is cut before the last byte, so the browser marks the download failed.
func (s *Server) attachmentFile(w http.ResponseWriter, r *http.Request) {
	_, ref, ok := s.attachmentRef(w, r)
	if !ok {
		return
	}
	if err := s.verifyAttachment(r, ref); err != nil {
		s.log.Warn("attachment download refused", "reason", "does not match its checksum")
		s.fail(w, http.StatusBadGateway, "Not downloaded",
			"This attachment does not match the SHA-256 its tip recorded: it was changed or damaged in the store. Nothing was sent. The tip page now says so.")
		return
	}
	rd, err := s.con.Attachment(r.Context(), ref)
	if err != nil {
		s.fail(w, http.StatusBadGateway, "Not available", "The attachment could not be opened.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Disposition", contentDisposition(console.SafeFileName(ref.Name)))
	h.Set("Content-Length", strconv.FormatInt(ref.Size, 10))
	src := &readErr{r: rd}
	if ref.Size > 0 {
		if _, err := io.CopyN(w, src, ref.Size-1); err != nil {
			s.abortDownload(ref, src.err)
		}
	}
	// The last byte goes only once the checksum matched.
	last, err := io.ReadAll(src)
	if err != nil {
		s.abortDownload(ref, src.err)
	}
	w.Write(last)
}

// readErr remembers the error its reader returned, to tell a file that
// changed from a browser that went away.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// verifyAttachment decrypts the whole attachment, sending nothing, and
// checks it against its tip's SHA-256. The result is what the tip page
// shows.
func (s *Server) verifyAttachment(r *http.Request, ref crypto.AttachmentRef) error {
	rd, err := s.con.Attachment(r.Context(), ref)
	if err == nil {
		_, err = io.Copy(io.Discard, rd)
	}
	if r.Context().Err() != nil {
		return err // the browser went away; that says nothing of the file
	}
	s.noteChecked(ref, err == nil)
	return err
}

// abortDownload cuts a download whose headers are gone, so that the
// browser marks it failed. readErr is what reading the file failed with,
// nil if sending failed (the browser went away).
func (s *Server) abortDownload(ref crypto.AttachmentRef, readErr error) {
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		s.noteChecked(ref, false)
		s.log.Error("attachment download cut off", "reason", "changed or unreadable while sending")
	}
	panic(http.ErrAbortHandler)
}

// contentDisposition quotes a file name for a download, ASCII-safe.
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' || r == ';' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, pathEscape(name))
}

func pathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// exportPost writes a case — the tip and the related tips the key-holder
// ticked — as one age-encrypted archive to the recipient they named.
func (s *Server) exportPost(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !triage.ValidKey(key) {
		s.fail(w, http.StatusNotFound, "No such tip", "There is no tip with this key.")
		return
	}
	to := strings.TrimSpace(r.PostForm.Get("recipient"))
	rcpt, err := crypto.ParseRecipient(to)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Not exported", "The recipient is not an age public key (age1…): "+err.Error())
		return
	}
	snap, err := s.load(r.Context())
	if err != nil {
		s.fail(w, http.StatusBadGateway, "Queue unavailable", "The console could not read the queue: "+err.Error())
		return
	}
	keys := append([]string{key}, r.PostForm["include"]...)
	cs := console.Case{ExportedBy: s.me, Exported: s.now(), Recipient: to}
	seen := map[string]bool{}
	for _, k := range keys {
		i, ok := snap.byKey[k]
		if !ok || seen[k] {
			continue
		}
		seen[k] = true
		hist, err := s.triage.History(r.Context(), k)
		if err != nil {
			s.fail(w, http.StatusBadGateway, "Not exported", "The triage history could not be read: "+err.Error())
			return
		}
		cs.Tips = append(cs.Tips, console.CaseTip{Item: snap.items[i], Triage: snap.record(k), History: hist})
	}
	if len(cs.Tips) == 0 {
		s.fail(w, http.StatusNotFound, "Not exported", "There is no tip with this key that your identity can open.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", contentDisposition("flare-case-"+key+".tar.age"))
	if err := s.con.ExportCase(r.Context(), w, cs, rcpt); err != nil {
		s.log.Error("case export failed", "err", err)
		return
	}
	s.log.Info("case exported", "tips", len(cs.Tips))
	for _, ct := range cs.Tips {
		if err := s.triage.Log(r.Context(), ct.Item.Key, "exported in a case to "+to); err != nil {
			s.log.Error("export not recorded in history", "err", err)
		}
	}
}
