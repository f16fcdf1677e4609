// Package gateway is Flare's intake: it takes what channels receive, seals
// it to the key-holders and makes it durable in the queue, and serves the
// channels' HTTP endpoints.
//
// Intake implements channels.Sink. A tip goes through it in one direction
// only — limits, seal, enqueue, receipt — and the source is told "received"
// only after the queue has made the tip durable. Attachments are sealed as
// they stream in, chunk by chunk, so no file is ever whole in memory or
// plaintext on disk.
//
// The gateway holds key-holder recipients and never an identity that opens
// a tip. It writes no access log, and its logs say what happened to which
// kind of thing — never what a source wrote or who they are.
package gateway
