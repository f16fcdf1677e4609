package triage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
)

// seenPrefix is where each key-holder's set of opened tips lives: the
// prefix and a hash of the key-holder's name, so that the key does not
// spell the name.
const seenPrefix = "triage-seen/"

// sealedSeen is the plaintext of a key-holder's seen set.
type sealedSeen struct {
	Version int      `json:"flare_seen"`
	Keys    []string `json:"keys"`
}

func (s *Store) seenKey() string {
	sum := sha256.Sum256([]byte("flare seen\x00" + s.who))
	return seenPrefix + hex.EncodeToString(sum[:16])
}

// Seen returns the tips this key-holder has opened: what the inbox shows
// as read. It is this key-holder's own; every other key-holder has theirs.
// Like a triage record it is sealed to the key-holders, so the backend
// learns nothing of who read what.
func (s *Store) Seen(ctx context.Context) (map[string]bool, error) {
	keys, _, err := s.seen(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}

func (s *Store) seen(ctx context.Context) ([]string, int64, error) {
	val, ver, err := s.rec.GetRecord(ctx, s.seenKey())
	if errors.Is(err, queue.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("triage: read seen tips: %w", err)
	}
	sum := sha256.Sum256(val)
	s.mu.Lock()
	if s.seenCache.sum == sum {
		keys := s.seenCache.keys
		s.mu.Unlock()
		return keys, ver, nil
	}
	s.mu.Unlock()
	plain, err := crypto.OpenBytes(val, s.ids...)
	if err != nil {
		return nil, 0, fmt.Errorf("triage: open seen tips: %w", err)
	}
	var st sealedSeen
	if err := json.Unmarshal(plain, &st); err != nil || st.Version != formatVersion {
		return nil, 0, fmt.Errorf("triage: seen tips record is damaged or of another version")
	}
	s.mu.Lock()
	s.seenCache.sum, s.seenCache.keys = sum, st.Keys
	s.mu.Unlock()
	return st.Keys, ver, nil
}

// MarkSeen records that this key-holder opened the tip under key.
func (s *Store) MarkSeen(ctx context.Context, key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("triage: invalid key %q", key)
	}
	for range 10 {
		keys, ver, err := s.seen(ctx)
		if err != nil {
			return err
		}
		if slices.Contains(keys, key) {
			return nil
		}
		keys = append(slices.Clone(keys), key)
		plain, _ := json.Marshal(sealedSeen{Version: formatVersion, Keys: keys})
		sealed, err := s.sealer.SealBytes(plain)
		if err != nil {
			return fmt.Errorf("triage: seal seen tips: %w", err)
		}
		_, err = s.rec.PutRecord(ctx, s.seenKey(), sealed, ver)
		if errors.Is(err, queue.ErrConflict) {
			continue // this key-holder's other tab; read again
		}
		if err != nil {
			return fmt.Errorf("triage: store seen tips: %w", err)
		}
		return nil
	}
	return fmt.Errorf("triage: store seen tips: %w", queue.ErrConflict)
}
