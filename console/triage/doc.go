// Package triage keeps the team's working state for each tip — status,
// assignee, tags and notes — in the queue backend, sealed to every
// key-holder, so that consoles on several machines share it.
//
// Reach for a Store: built from the backend's queue.Records, a
// crypto.Sealer for all key-holder recipients and this key-holder's
// identities, it reads a tip's Record (Get, All), applies a Change on top
// of the version a key-holder was looking at (Apply), and keeps every
// change as a sealed history entry: who, when, what (History).
//
// Two key-holders editing the same tip at once never overwrite each other
// silently: Apply writes only if the record is still at the version the
// change was based on, and otherwise returns a *ConflictError holding what
// the other key-holder saved.
//
// The backend sees record keys (derived from queue message ids, which it
// already knows), versions and ciphertext padded to a size bucket; never a
// status, tag, name or note. Triage state is sealed to recipients, not
// signed: age says who can read a record, not who wrote it, so anyone able
// to write to the backend and knowing the public recipients could forge one.
// The "who" in a record and in history is what the writing console was
// started with, and is trusted as much as the people with backend access.
package triage
