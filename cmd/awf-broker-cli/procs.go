package main

import "runtime"

// relayProcs is the forwarder's default GOMAXPROCS. A forwarder relays
// bytes and waits on the network; with one P the Go scheduler stops waking
// a second thread to spin for work on every streamed event, which is most
// of a relay's CPU on a busy runner (docs/performance.md has the figures).
const relayProcs = 1

// useRelayProcs sets GOMAXPROCS to relayProcs unless the operator chose a
// value with the GOMAXPROCS environment variable, which the runtime has
// already applied.
func useRelayProcs(e env) {
	if e.getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(relayProcs)
	}
}
