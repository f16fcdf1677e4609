// Package queuetest is the conformance suite that every queue backend must
// pass, so that a gateway or console behaves the same on Redis as on the
// embedded store.
//
// A backend's tests call Run with a function that opens a fresh, empty
// queue for one test, RunDurability with one that also closes (or kills)
// the queue and opens it again on the same storage, and BenchEnqueue from
// their benchmarks:
//
//	func TestConformance(t *testing.T) {
//		queuetest.Run(t, func(t *testing.T) queue.Queue { return openFresh(t) })
//	}
//
// The suite checks behaviour a caller can observe: ordering, consumer
// groups, acknowledgement, redelivery after a visibility timeout, blocking
// reads, chunks, versioned records, logs, Remember, Close and context
// cancellation. It waits on real clocks with short timeouts (hundreds of
// milliseconds) and never asserts how fast anything was; throughput is for
// benchmarks.
package queuetest
