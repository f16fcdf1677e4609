// Package testtor runs a small private Tor network on 127.0.0.1 for tests:
// three directory authorities, three relays and a client with a SOCKS port,
// all run from the system's tor with TestingTorNetwork, voting every ten
// seconds. Nothing it starts binds or contacts anything but 127.0.0.1.
//
// Start-up takes 20–45 s, so a test binary should share one network. Put
//
//	func TestMain(m *testing.M) { os.Exit(testtor.Main(m)) }
//
// in the package and call Shared(t) in each test that needs Tor: the first
// call starts the network, later calls return the same one, and Main stops
// it, by PID, after the tests. A test that wants a network of its own calls
// New(t), which stops it in t.Cleanup. Both skip the test, with the reason,
// only when tor or tor-gencert is not installed.
//
// To put another tor on the network (an onion service under test), give it
// the lines of JoinTorrc, or start one with StartTor, which also gives it a
// control port with cookie authentication. Reach onion services through
// SocksAddr.
//
// Every tor is started with __OwningControllerProcess set to the test
// binary's PID, so that a killed test run does not leave a network behind:
// the tors exit within seconds of the test binary.
//
// What it deliberately does not do: exit to the internet (the relays'
// exit policy allows 127.0.0.0/8 only), or stand in for the real Tor
// network's timing. It waits until every relay holds the full consensus
// and all microdescriptors before starting the client, because a client
// started earlier backs off for tens of seconds.
package testtor
