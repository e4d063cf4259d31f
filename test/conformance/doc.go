// Package conformance runs the language-neutral conformance scenarios of
// scenarios/*.json (docs/conformance.md) against a real node process: each
// scenario's frames go to the node byte for byte and its replies are
// checked byte for byte where they are deterministic, field by field where
// not (producer ids, tokens, error texts). The same scenarios' client-side
// expectations run through the Go client.
//
// It has its own encoder and decoder of the wire format (codec.go), written
// from docs/protocol.md rather than on package frame, so that the suite
// checks the node against the specification and not against the node's
// own code.
//
// make conformance (go test ./test/conformance) builds the node, runs every
// scenario and reports each as a subtest: wire/<name> and client/<name>.
package conformance
