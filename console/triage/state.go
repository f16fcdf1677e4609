package triage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is where a tip is in the team's work.
type Status string

// The statuses a tip can have. A tip nobody has touched is StatusNew.
const (
	StatusNew        Status = "new"
	StatusInProgress Status = "in-progress"
	StatusWaiting    Status = "waiting"
	StatusReferred   Status = "referred"
	StatusResolved   Status = "resolved"
	StatusSpam       Status = "spam"
)

// Statuses lists every Status in the order the console offers them.
var Statuses = []Status{StatusNew, StatusInProgress, StatusWaiting, StatusReferred, StatusResolved, StatusSpam}

// Label is the status as a person reads it.
func (s Status) Label() string {
	switch s {
	case StatusInProgress:
		return "in progress"
	case "":
		return string(StatusNew)
	}
	return string(s)
}

// Open reports whether the tip still needs work (not resolved, not spam).
func (s Status) Open() bool { return s != StatusResolved && s != StatusSpam }

// ParseStatus returns the Status named s ("in progress" is accepted for
// StatusInProgress).
func ParseStatus(s string) (Status, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "in progress" {
		return StatusInProgress, nil
	}
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("%w: unknown status %q", ErrInvalid, s)
}

// Limits on what a key-holder can store, so that one record stays small.
const (
	MaxNoteBytes     = 16 << 10
	MaxTags          = 32
	MaxTagBytes      = 64
	MaxAssigneeBytes = 128
	MaxNotes         = 500
)

// ErrInvalid is returned (wrapped) for a change that cannot be stored.
var ErrInvalid = errors.New("invalid triage change")

// Note is a key-holder's note on a tip.
type Note struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// State is a tip's triage state: the plaintext of a sealed record.
type State struct {
	Status    Status    `json:"status"`
	Assignee  string    `json:"assignee,omitempty"`
	Tags      []string  `json:"tags,omitempty"`
	Notes     []Note    `json:"notes,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	Updated   time.Time `json:"updated,omitzero"`
}

// Record is a tip's State as read from the backend.
type Record struct {
	State
	// Version is the backend's version of the record; 0 means nobody has
	// triaged the tip yet.
	Version int64
	// Unreadable is set when the record exists but this key-holder's
	// identities cannot open it (it was sealed to other key-holders).
	// State is then empty and the record must not be changed from here.
	Unreadable bool
	// Damaged says why a record that exists could not be read as one
	// (corrupt ciphertext, not JSON, an unknown format); empty for a good
	// record. State is then empty; a change replaces the damaged record.
	Damaged string
}

// CurrentStatus is the record's status, StatusNew if never set.
func (r Record) CurrentStatus() Status {
	if r.Status == "" {
		return StatusNew
	}
	return r.Status
}

// HasTag reports whether the record carries tag (case-insensitively).
func (r Record) HasTag(tag string) bool {
	return slices.Contains(r.Tags, NormalizeTag(tag))
}

// Change is what a key-holder changes in one step. Nil fields stay as
// they are; a non-empty Note is added.
type Change struct {
	Status   *Status
	Assignee *string
	Tags     *[]string
	Note     string
}

// Empty reports whether the change changes nothing.
func (c Change) Empty() bool {
	return c.Status == nil && c.Assignee == nil && c.Tags == nil && strings.TrimSpace(c.Note) == ""
}

// NormalizeTag lower-cases a tag and trims it.
func NormalizeTag(t string) string {
	return strings.ToLower(strings.TrimSpace(t))
}

// ParseTags splits a comma-separated list of tags, normalised, without
// duplicates or empty entries.
func ParseTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = NormalizeTag(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func (c Change) validate() error {
	if c.Status != nil {
		if _, err := ParseStatus(string(*c.Status)); err != nil {
			return err
		}
	}
	if c.Assignee != nil {
		if !utf8.ValidString(*c.Assignee) || len(*c.Assignee) > MaxAssigneeBytes {
			return fmt.Errorf("%w: assignee must be valid text of at most %d bytes", ErrInvalid, MaxAssigneeBytes)
		}
	}
	if c.Tags != nil {
		if len(*c.Tags) > MaxTags {
			return fmt.Errorf("%w: at most %d tags", ErrInvalid, MaxTags)
		}
		for _, t := range *c.Tags {
			if !utf8.ValidString(t) || len(t) > MaxTagBytes || t == "" {
				return fmt.Errorf("%w: a tag must be valid text of 1 to %d bytes", ErrInvalid, MaxTagBytes)
			}
		}
	}
	if !utf8.ValidString(c.Note) || len(c.Note) > MaxNoteBytes {
		return fmt.Errorf("%w: a note must be valid text of at most %d bytes", ErrInvalid, MaxNoteBytes)
	}
	return nil
}

// apply returns s with c applied, and the history lines describing it. An
// empty list of lines means the change changed nothing.
func (s State) apply(c Change, who string, now time.Time) (State, []string, error) {
	if err := c.validate(); err != nil {
		return s, nil, err
	}
	next := s
	next.Tags = slices.Clone(s.Tags)
	next.Notes = slices.Clone(s.Notes)
	var what []string
	if c.Status != nil {
		st, _ := ParseStatus(string(*c.Status))
		cur := s.Status
		if cur == "" {
			cur = StatusNew
		}
		if st != cur {
			what = append(what, fmt.Sprintf("status: %s → %s", cur.Label(), st.Label()))
			next.Status = st
		}
	}
	if c.Assignee != nil {
		a := strings.TrimSpace(*c.Assignee)
		if a != s.Assignee {
			what = append(what, fmt.Sprintf("assignee: %s → %s", orNobody(s.Assignee), orNobody(a)))
			next.Assignee = a
		}
	}
	if c.Tags != nil {
		var tags []string
		for _, t := range *c.Tags {
			t = NormalizeTag(t)
			if t != "" && !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		var added, removed []string
		for _, t := range tags {
			if !slices.Contains(s.Tags, t) {
				added = append(added, "+"+t)
			}
		}
		for _, t := range s.Tags {
			if !slices.Contains(tags, t) {
				removed = append(removed, "-"+t)
			}
		}
		if len(added)+len(removed) > 0 {
			what = append(what, "tags: "+strings.Join(append(added, removed...), " "))
			next.Tags = tags
		}
	}
	if note := strings.TrimSpace(c.Note); note != "" {
		if len(s.Notes) >= MaxNotes {
			return s, nil, fmt.Errorf("%w: at most %d notes on one tip", ErrInvalid, MaxNotes)
		}
		next.Notes = append(next.Notes, Note{By: who, At: now, Text: note})
		what = append(what, "note: "+note)
	}
	if len(what) == 0 {
		return s, nil, nil
	}
	next.UpdatedBy = who
	next.Updated = now
	return next, what, nil
}

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}
