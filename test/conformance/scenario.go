package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Scenario is one scenarios/*.json file (docs/conformance.md describes
// every field).
type Scenario struct {
	// Name is the file's name without .json; Description says what the
	// scenario checks and which rule of docs/protocol.md it holds the node
	// to.
	Name        string `json:"name"`
	Description string `json:"description"`
	// Node is the configuration the node runs with for this scenario, as
	// the keys of its YAML configuration file (docs/configuration.md);
	// absent or empty: the defaults. Relative paths are relative to the
	// scenarios directory.
	Node map[string]any `json:"node,omitempty"`
	// Exclusive asks for a node of its own, started for this scenario
	// alone (it stops the node, or its effects reach other connections).
	Exclusive bool `json:"exclusive,omitempty"`
	// Steps are run in order on the wire.
	Steps []Step `json:"steps"`
	// Client are the same rules as a client library's calls see them,
	// run through a client library (the Go client here).
	Client []ClientOp `json:"client,omitempty"`
}

// Step is one action or expectation on a connection. Exactly one of Send,
// Expect, ExpectClosed, ExpectSilenceMS, Close and StopNode is set.
type Step struct {
	// Conn names the connection ("a" when empty); a connection is opened
	// when a step first names it.
	Conn string `json:"conn,omitempty"`
	// Note is free text shown when the step fails.
	Note string `json:"note,omitempty"`
	// Send writes a frame: its Hex bytes.
	Send *Wire `json:"send,omitempty"`
	// Expect reads the next frame and checks it: byte for byte against
	// Hex when given, and field by field against Frame.
	Expect *Wire `json:"expect,omitempty"`
	// ExpectClosed: the node closes the connection, sending nothing more.
	ExpectClosed bool `json:"expect_closed,omitempty"`
	// ExpectSilenceMS: nothing arrives, and the connection stays open,
	// for this many milliseconds.
	ExpectSilenceMS int `json:"expect_silence_ms,omitempty"`
	// Close closes the connection from the client's side.
	Close bool `json:"close,omitempty"`
	// StopNode asks the node to stop (SIGTERM) without waiting for it.
	StopNode bool `json:"stop_node,omitempty"`
	// WithinMS bounds how long Expect and ExpectClosed wait (default
	// 5000); NotBeforeMS is the least time that must pass, from the end
	// of the previous step, before the frame or close arrives.
	WithinMS    int `json:"within_ms,omitempty"`
	NotBeforeMS int `json:"not_before_ms,omitempty"`
}

// Wire is a frame: its structured form and its bytes.
type Wire struct {
	// Frame is the structured form (codec.go; docs/conformance.md). In
	// Expect, a field may be a matcher instead of a value.
	Frame map[string]any `json:"frame,omitempty"`
	// Hex is the whole frame in hex (white space ignored). Every Send
	// has it; an Expect has it when the reply is deterministic, and then
	// it equals Frame's encoding.
	Hex string `json:"hex,omitempty"`
}

// ClientOp is one call of a client library and what it must return.
type ClientOp struct {
	// Op is "limits", "publish", "fetch", "ack", "nack", "release",
	// "term", "progress" or "ping".
	Op          string `json:"op"`
	Destination string `json:"destination,omitempty"`
	Group       string `json:"group,omitempty"`
	// ID (32 hex digits) and Payload: publish one message with this
	// application id.
	ID      string `json:"id,omitempty"`
	Payload string `json:"payload,omitempty"`
	// Headers: publish the message with these header fields, in order.
	Headers []HeaderField `json:"headers,omitempty"`
	// Max and WaitMS: fetch's batch and long poll; DelayMS: nack's delay.
	Max     int `json:"max,omitempty"`
	WaitMS  int `json:"wait_ms,omitempty"`
	DelayMS int `json:"delay_ms,omitempty"`
	// Seqs are the seqs to ack, nack, release, term or progress.
	Seqs []uint64 `json:"seqs,omitempty"`
	// Reason is term's reason.
	Reason string `json:"reason,omitempty"`
	// Expect is what the call returns: for publish "seq" and "duplicate";
	// for fetch "deliveries", a list of {"seq", "attempt", "payload"} and,
	// for a message with headers, "headers" (a list of {"key", "value"});
	// for limits the names of HELLO_OK's limits and their values; for
	// progress "count", the seqs pushed out; for any
	// call "error", the code of the error it fails with. Numbers may be
	// matchers, as in Wire.Frame.
	Expect map[string]any `json:"expect,omitempty"`
	// NotBeforeMS: the call returns no sooner than this after it starts.
	NotBeforeMS int `json:"not_before_ms,omitempty"`
}

// HeaderField is one header of a ClientOp's message.
type HeaderField struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Load reads every scenarios/*.json of dir, sorted by name, and checks
// each one's shape (not its hex: see CheckHex).
func Load(dir string) ([]*Scenario, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Scenario
	var errs []error
	for _, p := range paths {
		s, err := loadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("no scenarios in %s", dir))
	}
	return out, errors.Join(errs...)
}

func loadFile(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	d.DisallowUnknownFields()
	var s Scenario
	if err := d.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if want := strings.TrimSuffix(filepath.Base(path), ".json"); s.Name != want {
		return nil, fmt.Errorf("%s: name %q, want %q (the file's name)", path, s.Name, want)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// check validates the shape of s's steps.
func (s *Scenario) check() error {
	if s.Description == "" || len(s.Steps) == 0 {
		return errors.New("a scenario needs a description and steps")
	}
	for i, st := range s.Steps {
		n := 0
		for _, set := range []bool{st.Send != nil, st.Expect != nil, st.ExpectClosed, st.ExpectSilenceMS > 0, st.Close, st.StopNode} {
			if set {
				n++
			}
		}
		switch {
		case n != 1:
			return fmt.Errorf("step %d: want exactly one action or expectation, got %d", i, n)
		case st.Send != nil && st.Send.Hex == "":
			return fmt.Errorf("step %d: a send needs hex", i)
		case st.Expect != nil && st.Expect.Frame == nil:
			return fmt.Errorf("step %d: an expect needs frame", i)
		case st.StopNode && !s.Exclusive:
			return fmt.Errorf("step %d: stop_node needs exclusive", i)
		}
	}
	for i, op := range s.Client {
		if !slices.Contains([]string{"limits", "publish", "fetch", "ack", "nack", "release", "term", "progress", "ping"}, op.Op) {
			return fmt.Errorf("client op %d: unknown op %q", i, op.Op)
		}
	}
	return nil
}

// hasMatcher reports whether v holds a matcher anywhere.
func hasMatcher(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		if isMatcher(v) {
			return true
		}
		for _, x := range v {
			if hasMatcher(x) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(v, hasMatcher)
	}
	return false
}

// CheckHex checks that every send's hex and every deterministic expect's
// hex is the encoding of its structured frame; with update set it writes
// the encodings into the files instead (go test -run TestHex -update).
func CheckHex(dir string, s *Scenario, update bool) error {
	var errs []error
	changed := false
	for i := range s.Steps {
		for _, w := range []*Wire{s.Steps[i].Send, s.Steps[i].Expect} {
			if w == nil || w.Frame == nil || hasMatcher(w.Frame) {
				continue
			}
			b, err := encode(w.Frame)
			if err != nil {
				errs = append(errs, fmt.Errorf("step %d: %w", i, err))
				continue
			}
			got, err := parseHex(w.Hex)
			switch {
			case err == nil && bytes.Equal(got, b):
			case update:
				w.Hex, changed = formatHex(b), true
			default:
				errs = append(errs, fmt.Errorf("step %d: hex is not the frame's encoding:\n have %s\n want %s", i, w.Hex, formatHex(b)))
			}
		}
	}
	if changed || update {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		e.SetIndent("", "  ")
		if err := e.Encode(s); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, s.Name+".json"), buf.Bytes(), 0o644)
	}
	return errors.Join(errs...)
}
