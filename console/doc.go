// Package console is the key-holder's side of Flare: it reads sealed tips
// from the queue and opens them, in memory, with the key-holder's age
// identities.
//
// Open a Console with a queue and identities, then List, Find and
// Attachment. Nothing decrypted is ever written to disk by this package;
// writing a decrypted tip or file somewhere is always an explicit act of
// the caller (an export the key-holder asked for).
//
// A tip the identities cannot open is still listed, with an error saying
// why, so that a key-holder who was not made a recipient sees that tips
// exist and that their key is the problem — never a silently empty inbox.
package console
