package triage

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// Key prefixes under which records and their history live in the backend.
const (
	recordPrefix = "triage/"
	logPrefix    = "triage-log/"
)

// formatVersion marks the plaintext of a sealed record or history entry.
const formatVersion = 1

// Config configures a Store.
type Config struct {
	// Records is the queue backend's record store.
	Records queue.Records
	// Sealer seals to every key-holder's recipient, this one's included.
	Sealer *crypto.Sealer
	// Identities open records; they are this key-holder's.
	Identities []age.Identity
	// Who names this key-holder in records and history.
	Who string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Store reads and changes triage records. It is safe for concurrent use.
type Store struct {
	rec    queue.Records
	sealer *crypto.Sealer
	ids    []age.Identity
	who    string
	now    func() time.Time

	// opened and entries remember records and history entries already
	// opened, by the hash of their ciphertext, so that a page load does
	// not decrypt them all again (with a hardware key, that would be a
	// touch for each).
	mu      sync.Mutex
	opened  map[[32]byte]Record
	entries map[[32]byte]Entry
	// seenCache is this key-holder's seen set as last opened.
	seenCache struct {
		sum  [32]byte
		keys []string
	}
}

// New returns a Store. It checks that what it seals, this key-holder can
// open again, so that a console whose recipients do not include its own
// identity fails at start rather than locking its owner out of the notes
// they write.
func New(cfg Config) (*Store, error) {
	if cfg.Records == nil || cfg.Sealer == nil || len(cfg.Identities) == 0 {
		return nil, errors.New("triage store needs records, a sealer and identities")
	}
	cfg.Who = strings.TrimSpace(cfg.Who)
	if cfg.Who == "" {
		return nil, errors.New("triage store needs a key-holder name")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	probe, err := cfg.Sealer.SealBytes([]byte("probe"))
	if err != nil {
		return nil, fmt.Errorf("triage: %w", err)
	}
	if _, err := crypto.OpenBytes(probe, cfg.Identities...); err != nil {
		if crypto.IsNotRecipient(err) {
			return nil, errors.New("triage: your identity is not among the key-holder recipients triage state is sealed to; add your recipient to the recipients file")
		}
		return nil, fmt.Errorf("triage: check recipients: %w", err)
	}
	return &Store{rec: cfg.Records, sealer: cfg.Sealer, ids: cfg.Identities, who: cfg.Who, now: cfg.Now, opened: map[[32]byte]Record{}, entries: map[[32]byte]Entry{}}, nil
}

// Who is the name this Store writes into records and history.
func (s *Store) Who() string { return s.who }

// ValidKey reports whether key can name a record: 1 to 100 characters of
// a-z, 0-9 and '-'. Consoles use queue message ids and hashes.
func ValidKey(key string) bool {
	if key == "" || len(key) > 100 {
		return false
	}
	for _, c := range key {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

type sealedState struct {
	Version int `json:"flare_triage"`
	State
}

// Get returns the record for key; a tip nobody triaged has Version 0. A
// record that cannot be read is returned with Damaged set.
func (s *Store) Get(ctx context.Context, key string) (Record, error) {
	if !ValidKey(key) {
		return Record{}, fmt.Errorf("triage: invalid key %q", key)
	}
	val, ver, err := s.rec.GetRecord(ctx, recordPrefix+key)
	if errors.Is(err, queue.ErrNotFound) {
		return Record{State: State{Status: StatusNew}}, nil
	}
	if err != nil {
		return Record{}, fmt.Errorf("triage: read record: %w", err)
	}
	return s.open(val, ver)
}

func (s *Store) open(val []byte, ver int64) (Record, error) {
	sum := sha256.Sum256(val)
	s.mu.Lock()
	r, ok := s.opened[sum]
	s.mu.Unlock()
	if ok && r.Version == ver {
		return r, nil
	}
	r, err := s.decrypt(val, ver)
	if err != nil {
		// One bad record (a write cut short, someone with write access to
		// the backend) must not take every page down: it is returned
		// flagged, and remembered like a good one.
		r = Record{State: State{Status: StatusNew}, Version: ver, Damaged: err.Error()}
	}
	s.mu.Lock()
	if len(s.opened) > 100_000 {
		clear(s.opened)
	}
	s.opened[sum] = r
	s.mu.Unlock()
	return r, nil
}

func (s *Store) decrypt(val []byte, ver int64) (Record, error) {
	plain, err := crypto.OpenBytes(val, s.ids...)
	if err != nil {
		if crypto.IsNotRecipient(err) {
			return Record{Version: ver, Unreadable: true}, nil
		}
		return Record{}, fmt.Errorf("triage: open record: %w", err)
	}
	var st sealedState
	if err := json.Unmarshal(plain, &st); err != nil {
		return Record{}, fmt.Errorf("triage: decode record: %w", err)
	}
	if st.Version != formatVersion {
		return Record{}, fmt.Errorf("triage: record format %d not supported", st.Version)
	}
	if st.Status == "" {
		st.Status = StatusNew
	}
	return Record{State: st.State, Version: ver}, nil
}

// All returns every record, by key. A record that cannot be read is
// returned with Damaged set, never as an error.
func (s *Store) All(ctx context.Context) (map[string]Record, error) {
	keys, err := s.rec.ListRecords(ctx, recordPrefix)
	if err != nil {
		return nil, fmt.Errorf("triage: list records: %w", err)
	}
	out := make(map[string]Record, len(keys))
	for _, k := range keys {
		val, ver, err := s.rec.GetRecord(ctx, k)
		if errors.Is(err, queue.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("triage: read record: %w", err)
		}
		r, err := s.open(val, ver)
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(k, recordPrefix)] = r
	}
	return out, nil
}

// ConflictError is returned by Apply when the record changed since the
// version the change was based on. Nothing was written. It wraps
// queue.ErrConflict.
type ConflictError struct {
	// Current is the record as it is now.
	Current Record
}

func (e *ConflictError) Error() string {
	who := e.Current.UpdatedBy
	if who == "" {
		who = "another key-holder"
	}
	return fmt.Sprintf("%s changed this tip since you opened it; your change was not saved", who)
}

func (e *ConflictError) Unwrap() error { return queue.ErrConflict }

// ErrUnreadable is returned by Apply for a record this key-holder cannot
// open: changing it would drop what others wrote.
var ErrUnreadable = errors.New("triage record is sealed to other key-holders")

// Entry is one change in a record's history.
type Entry struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
	// Version is the record version the change produced.
	Version int64    `json:"version"`
	What    []string `json:"what"`
	// Damaged is set on an entry that could not be read; it stands in
	// for it so that the rest of the history is still shown.
	Damaged bool `json:"-"`
}

type sealedEntry struct {
	Format int `json:"flare_triage"`
	Entry
}

// Apply applies c to the record for key, if the record is still at
// version (what the key-holder saw; 0 for never triaged), and appends a
// history entry. It returns the new record, or a *ConflictError if someone
// else changed the record first. A change that changes nothing writes
// nothing and returns the record as it is.
func (s *Store) Apply(ctx context.Context, key string, version int64, c Change) (Record, error) {
	cur, err := s.Get(ctx, key)
	if err != nil {
		return Record{}, err
	}
	if cur.Version != version {
		return Record{}, &ConflictError{Current: cur}
	}
	if cur.Unreadable {
		return Record{}, ErrUnreadable
	}
	now := s.now().UTC().Truncate(time.Second)
	next, what, err := cur.State.apply(c, s.who, now)
	if err != nil {
		return Record{}, err
	}
	if len(what) == 0 {
		return cur, nil
	}
	if cur.Damaged != "" {
		what = append([]string{"replaced a damaged triage record"}, what...)
	}
	plain, err := json.Marshal(sealedState{Version: formatVersion, State: next})
	if err != nil {
		return Record{}, fmt.Errorf("triage: encode record: %w", err)
	}
	sealed, err := s.sealer.SealBytes(plain)
	if err != nil {
		return Record{}, fmt.Errorf("triage: %w", err)
	}
	ver, err := s.rec.PutRecord(ctx, recordPrefix+key, sealed, version)
	if errors.Is(err, queue.ErrConflict) {
		now, gerr := s.Get(ctx, key)
		if gerr != nil {
			return Record{}, errors.Join(err, gerr)
		}
		return Record{}, &ConflictError{Current: now}
	}
	if err != nil {
		return Record{}, fmt.Errorf("triage: write record: %w", err)
	}
	if err := s.appendEntry(ctx, key, Entry{By: s.who, At: now, Version: ver, What: what}); err != nil {
		return Record{}, fmt.Errorf("triage: record saved, but not its history: %w", err)
	}
	return Record{State: next, Version: ver}, nil
}

// History returns the changes to the record for key, oldest first.
// Entries this key-holder cannot open are returned with By "?" and a
// What saying so; entries that cannot be read at all likewise, with
// Damaged set.
func (s *Store) History(ctx context.Context, key string) ([]Entry, error) {
	if !ValidKey(key) {
		return nil, fmt.Errorf("triage: invalid key %q", key)
	}
	raw, err := s.rec.LogEntries(ctx, logPrefix+key)
	if errors.Is(err, queue.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("triage: read history: %w", err)
	}
	out := make([]Entry, 0, len(raw))
	for _, b := range raw {
		sum := sha256.Sum256(b)
		s.mu.Lock()
		e, ok := s.entries[sum]
		s.mu.Unlock()
		if !ok {
			if e, err = s.openEntry(b); err != nil {
				e = Entry{By: "?", What: []string{"(damaged history entry, skipped)"}, Damaged: true}
			}
			s.mu.Lock()
			if len(s.entries) > 100_000 {
				clear(s.entries)
			}
			s.entries[sum] = e
			s.mu.Unlock()
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Store) openEntry(b []byte) (Entry, error) {
	plain, err := crypto.OpenBytes(b, s.ids...)
	if err != nil {
		if crypto.IsNotRecipient(err) {
			return Entry{By: "?", What: []string{"(sealed to other key-holders)"}}, nil
		}
		return Entry{}, fmt.Errorf("triage: open history entry: %w", err)
	}
	var e sealedEntry
	if err := json.Unmarshal(plain, &e); err != nil || e.Format != formatVersion {
		return Entry{}, fmt.Errorf("triage: decode history entry: unknown format")
	}
	return e.Entry, nil
}

// Log appends a history entry for something done with a tip that is not a
// change to its record, such as an export.
func (s *Store) Log(ctx context.Context, key, what string) error {
	if !ValidKey(key) {
		return fmt.Errorf("triage: invalid key %q", key)
	}
	return s.appendEntry(ctx, key, Entry{By: s.who, At: s.now().UTC().Truncate(time.Second), What: []string{what}})
}

func (s *Store) appendEntry(ctx context.Context, key string, e Entry) error {
	plain, err := json.Marshal(sealedEntry{Format: formatVersion, Entry: e})
	if err != nil {
		return fmt.Errorf("triage: encode history: %w", err)
	}
	sealed, err := s.sealer.SealBytes(plain)
	if err != nil {
		return fmt.Errorf("triage: %w", err)
	}
	if err := s.rec.AppendLog(ctx, logPrefix+key, sealed); err != nil {
		return fmt.Errorf("triage: append history: %w", err)
	}
	return nil
}
