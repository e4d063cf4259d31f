package conformance

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

const scenariosDir = "scenarios"

var (
	update = flag.Bool("update", false, "rewrite the scenarios' hex from their structured frames (and format the files)")
	mutate = flag.Bool("mutate", false, "TestScenariosCanFail: run every scenario once more with one expectation changed, which must fail")
)

// nodeBin is the node binary TestMain builds.
var nodeBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "swarmmq-conformance-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer func() { _ = os.RemoveAll(dir) }()
		if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
			return m.Run() // fuzzing the codec needs no node
		}
		if out, err := exec.Command("go", "build", "-o", dir+"/", "../../cmd/node").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot build the node: %v\n%s", err, out)
			return 1
		}
		nodeBin = filepath.Join(dir, "node")
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(
				// gnet's worker pool (linked through the client's imports) starts these at init.
				goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
				goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
			); err != nil {
				fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
				return 1
			}
		}
		return code
	}()
	os.Exit(code)
}

func load(t *testing.T) []*Scenario {
	t.Helper()
	ss, err := Load(scenariosDir)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// TestHex checks that every frame's hex is its structured form's encoding
// (with -update, writes them).
func TestHex(t *testing.T) {
	for _, s := range load(t) {
		if err := CheckHex(scenariosDir, s, *update); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
}

// nodes starts the nodes of a test: one per distinct configuration,
// shared by the scenarios that use it, and one per exclusive scenario.
type nodes struct {
	t      *testing.T
	shared map[string]*Process
}

func newNodes(t *testing.T) *nodes {
	n := &nodes{t: t, shared: map[string]*Process{}}
	t.Cleanup(func() {
		for _, p := range n.shared {
			p.Kill()
		}
	})
	return n
}

func (n *nodes) start(cfg map[string]any) *Process {
	n.t.Helper()
	p, err := StartNode(nodeBin, n.t.TempDir(), scenariosDir, cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	return p
}

// forScenario returns the node s runs on, and a function to call once s
// is done with it.
func (n *nodes) forScenario(s *Scenario) (*Process, func()) {
	n.t.Helper()
	if s.Exclusive {
		p := n.start(s.Node)
		return p, p.Kill
	}
	key, _ := json.Marshal(s.Node)
	p := n.shared[string(key)]
	if p == nil {
		p = n.start(s.Node)
		n.shared[string(key)] = p
	}
	return p, func() {}
}

// TestConformance runs every scenario against a node process: its wire
// steps (wire/<name>), then its client operations through the Go client
// (client/<name>).
func TestConformance(t *testing.T) {
	ns := newNodes(t)
	for _, s := range load(t) {
		t.Run("wire/"+s.Name, func(t *testing.T) {
			p, done := ns.forScenario(s)
			defer done()
			if err := RunWire(s, p); err != nil {
				t.Fatalf("%v\nscenario: %s\nnode log:\n%s", err, s.Description, tail(p.Log(), 20))
			}
		})
		if len(s.Client) == 0 {
			continue
		}
		t.Run("client/"+s.Name, func(t *testing.T) {
			p, done := ns.forScenario(s)
			defer done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := RunClient(ctx, s, p.Addr()); err != nil {
				t.Fatalf("%v\nscenario: %s", err, s.Description)
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// uncovered are the error codes no scenario can make a single node send
// on demand, and where they are tested instead.
var uncovered = map[string]string{
	"STORAGE":       "a failing disk: test/e2e diskfault_test.go",
	"INTERNAL":      "no request is meant to cause it",
	"NOT_LEADER":    "a cluster member that does not lead the partition: test/cluster, stages/cluster tests",
	"SLOW_CONSUMER": "depends on the kernel's socket buffers: netio tests (small buffers, a client that does not read)",
	"DISK_FULL":     "a nearly full file system: test/e2e diskfull_test.go",
	"PEER_REFUSED":  "node-to-node links only (docs/protocol.md §10): cluster/peer tests",
}

// TestCoverage checks that the scenarios send or expect every client frame
// type and expect every error code a node sends a client (but those in
// uncovered), each at least once.
func TestCoverage(t *testing.T) {
	types, codes := map[string]bool{}, map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if c, ok := v["code"].(string); ok {
				codes[c] = true
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, s := range load(t) {
		for _, st := range s.Steps {
			if st.Send != nil {
				if b, err := parseHex(st.Send.Hex); err == nil && len(b) > 5 {
					types[typeNames[b[5]]] = true
				}
			}
			if st.Expect != nil {
				if name, ok := st.Expect.Frame["type"].(string); ok {
					types[name] = true
				}
				walk(st.Expect.Frame)
			}
		}
	}
	for _, name := range typeNames {
		if !types[name] {
			t.Errorf("no scenario sends or expects %s", name)
		}
	}
	for _, name := range codeNames {
		_, exempt := uncovered[name]
		switch {
		case name == "OK":
		case exempt && codes[name]:
			t.Errorf("%s is covered by a scenario: remove it from uncovered", name)
		case !exempt && !codes[name]:
			t.Errorf("no scenario expects error code %s", name)
		}
	}
}

// TestScenariosCanFail (with -mutate) runs each scenario again with its
// last deterministic expectation changed in one byte, or its last timed
// expectation made impossible, and checks that the runner reports it.
func TestScenariosCanFail(t *testing.T) {
	if !*mutate {
		t.Skip("run with -mutate")
	}
	ns := newNodes(t)
	for _, s := range load(t) {
		t.Run(s.Name, func(t *testing.T) {
			m, what := mutated(s)
			if m == nil {
				t.Fatal("nothing to change")
			}
			p, done := ns.forScenario(m)
			defer done()
			err := RunWire(m, p)
			if err == nil {
				t.Fatalf("passed with %s", what)
			}
			t.Logf("%s: %v", what, strings.SplitN(err.Error(), "\n", 2)[0])
		})
	}
}

// mutated returns a copy of s with one expectation changed.
func mutated(s *Scenario) (*Scenario, string) {
	m := *s
	m.Steps = slices.Clone(s.Steps)
	for i := len(m.Steps) - 1; i >= 0; i-- {
		st := m.Steps[i]
		switch {
		case st.Expect != nil && st.Expect.Hex != "":
			b, _ := parseHex(st.Expect.Hex)
			b[len(b)-1] ^= 1
			st.Expect = &Wire{Frame: st.Expect.Frame, Hex: formatHex(b)}
			m.Steps[i] = st
			return &m, fmt.Sprintf("step %d's last byte flipped", i)
		case st.Expect != nil:
			st.Expect = &Wire{Frame: map[string]any{"type": "PING", "corr": 12345}}
			m.Steps[i] = st
			return &m, fmt.Sprintf("step %d expecting PING 12345", i)
		case st.ExpectClosed:
			st.ExpectClosed, st.ExpectSilenceMS = false, 300
			m.Steps[i] = st
			return &m, fmt.Sprintf("step %d expecting silence instead of a close", i)
		}
	}
	return nil, ""
}
