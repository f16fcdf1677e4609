// Package redis is Flare's queue backend on Redis Streams, for deployments
// that run several gateways, or gateways and consoles on different
// machines. Open it with OpenURL(ctx, "redis://host:6379/0") or through
// queue/backend with the same URL; "rediss://" connects with TLS, trusting
// the system's CAs or those in the PEM file named by ?tls_ca=.
//
// Streams map one to one onto Redis commands: Enqueue is XADD with the id
// "<hour ms>-*" (Redis 7.0 or later picks the sequence; ids carry the hour
// only, see queue.TimePrecision), Read is
// XAUTOCLAIM (to take over messages whose visibility timeout ran out with
// another consumer) then XREADGROUP, Ack is XACK, and Get and List are
// XRANGE. Attachment chunks live under their own keys, one per chunk;
// versioned records are hashes changed by a compare-and-set Lua script; logs
// are lists; Remember is SET NX PXAT at an expiry rounded up to the hour
// (queue.RememberExpiry). A blob's creation hour and commit mark live in a
// hash beside its chunks, and SweepBlobs finds them with SCAN. Every key starts with a prefix, "flare:"
// unless the URL says otherwise with ?prefix=, so that one Redis can hold
// several Flare instances or test runs.
//
// Enqueue returns when Redis has answered, and Redis answers a write only
// after appending it to its AOF; whether that append is on disk depends on
// the server. Flare needs
//
//	appendonly yes
//	appendfsync always
//
// (see ops/redis.conf). Open asks the server with CONFIG GET and refuses a
// server that says otherwise, unless the URL carries ?durability=warn, in
// which case it logs a warning and goes on; a server that does not allow
// CONFIG is used with a warning, since it cannot be checked.
//
// Keys that several commands must change together (a blob's chunks and
// their index, records and their index) share a hash tag, so the backend
// also works against Redis Cluster. It stores only what it is given:
// Flare's callers give it age ciphertext and keyed hashes.
package redis
