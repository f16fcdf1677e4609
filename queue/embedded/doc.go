// Package embedded is Flare's default queue backend: a single SQLite file,
// opened with Open("/var/lib/flare/queue.db") or through queue/backend with
// the URL "file:/var/lib/flare/queue.db".
//
// It is meant for one machine: a gateway and a key-holder's `flare console`
// may have the same file open at once, from different processes. SQLite's
// own file locks (WAL mode, with a busy timeout) arbitrate between them;
// nothing in this package assumes it is the only writer, so stream ids,
// consumer groups and record versions stay consistent across processes.
//
// Every write is durable when it returns: the database runs with
// synchronous=FULL, so a commit is fsync'd before the call that made it
// returns. To keep that affordable, one writer goroutine per Store batches
// the writes that arrive while the previous commit is being flushed into a
// single transaction (group commit): with 64 concurrent writers about 50
// Enqueues share each fsync (see BenchmarkEnqueue's enqueues/commit).
//
// Stream ids have the form "<ms>-<seq>", as Redis assigns them, and order
// with queue.CompareIDs; ms is the start of the hour the message was
// stored in (or the stream's last ms part, if later), so that ids carry no
// finer time (queue.TimePrecision). Redelivery works as in Redis Streams: a pending
// table remembers which consumer holds which message since when, and Read
// hands a message whose visibility timeout ran out to whoever asks next.
//
// The store keeps what it is given and nothing more: it never sees
// plaintext unless a caller hands it some, and Flare's callers hand it age
// ciphertext and keyed hashes. The file and its folder are created readable
// by their owner only; Open never loosens or tightens an existing file's
// mode, so an operator who runs the gateway and the console as two users
// may give both a group (SQLite creates the -wal and -shm files with the
// database file's mode). The store does not encrypt, compact or replicate
// the file; back it up as a SQLite database (for example with
// `sqlite3 queue.db .backup`).
package embedded
