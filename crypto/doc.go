// Package crypto seals what sources send to Flare so that only the NGO's
// key-holders can read it.
//
// Reach for a Sealer first: built from the key-holders' age recipients, it
// turns a Tip into one age message (SealTip) and an attachment into its own
// age stream, cut into chunks as it is written (SealAttachment), so that a
// large file never sits whole in memory. Key-holders open them with OpenTip
// and OpenAttachment and their age identities.
//
// The gateway only ever holds recipients. It has no identity that opens a
// tip, so a seized gateway gives up nothing it already forwarded. The one
// exception is deliberate and narrow: a tip's reply address is sealed a
// second time, to the gateway's own outbound key, so that replies can be
// routed later without the gateway keeping any address at rest.
//
// Plaintexts are padded (see Pad) before they are sealed so that the sealed
// size says little about what a source wrote. The envelope format — what the
// plaintext of a sealed tip looks like — is versioned and written down in
// docs/envelope.md; this package is its only reader and writer.
//
// This package does not store anything and knows nothing of queues or
// channels.
package crypto
