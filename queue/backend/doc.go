// Package backend opens a queue.Queue from the URL an operator configures
// with --queue, so that gateways and consoles need not know which backends
// exist.
//
//	q, err := backend.Open(ctx, "file:/var/lib/flare/queue.db")
//	q, err := backend.Open(ctx, "redis://127.0.0.1:6379/0?prefix=flare:")
//
// "file:PATH" (or a plain path) opens the embedded SQLite store, the
// default for one machine; "redis://" and "rediss://" open the Redis
// Streams backend, whose own URL options (?prefix=, ?durability=) are
// described in package queue/redis. Any other scheme is refused with an
// error that names it; nothing is guessed.
package backend
