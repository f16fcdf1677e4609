// Package testkit holds the small helpers that tests in several packages
// share, so that each is written once: Buffer, which collects logs or a
// child process's output while goroutines write to it, and FlareBinary,
// which builds the flare command once per test binary for tests that run it
// as a key-holder or an operator would.
//
// A package whose tests call FlareBinary removes the build at the end with
//
//	func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }
//
// or, when another helper already runs the tests (testtor.Main), by calling
// Cleanup after it.
//
// What it deliberately does not do: start servers, queues or networks (see
// internal/testredis and internal/testtor), or fake anything a test should
// meet for real.
package testkit
