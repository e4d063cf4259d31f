package replica

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"
)

// TestInteraction runs the traces in testdata/: every command prints the
// events it caused (leader changes, applied entries, lost proposals,
// restores), in the order the nodes produced them.
//
//	init nodes=3 partitions=2 [keep=3] [every=0]
//	tick [n=1] [node=…]         ticks every live node (or one) n times, delivering between;
//	                            followers' election timeouts are random (raft draws them
//	                            from crypto/rand), so traces elect with campaign, and tick
//	                            only a leader (its CheckQuorum period is fixed); its
//	                            events are printed sorted
//	campaign node=1 p=0         node 1 starts an election in p
//	forget node=1 p=0           node 1 forgets p's leader (grants votes)
//	propose node=1 p=0 data=x   proposes; prints a refusal at once
//	stabilize                   step and deliver until quiet
//	step                        one iteration of every live node, no delivery
//	deliver                     deliver queued messages once
//	drop                        drop every queued message
//	cut a=1 b=2 / heal          cut both directions of a link / heal all
//	isolate node=1              cut every link of node 1
//	crash node=1                power cut: only fsynced data survives
//	restart node=1              start it again on its storage
//	status                      each live node's view of each partition
//	wipe node=3                 stop node 3, give it an empty disk and its next
//	                            incarnation (raft id 3.1, 3.2, …), start it
//	conf                        each live node's configuration of each partition,
//	                            and the messages it dropped as addressed to an
//	                            earlier incarnation
//	snapshots [hold|release]    the snapshot payloads each node's loop asked its
//	                            builder for and that are not built; hold: build
//	                            none from now on (else each is built after the
//	                            step that asked); release: build them, and go on
//	                            building after each step
//	handoff node=1              node 1 hands off the partitions it leads
//	                            (Engine.HandOff without the wait)
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var e *env
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "init" {
				e = initEnv(t, d)
				return e.flush()
			}
			require.NotNil(t, e, "init first")
			h, ok := handlers[d.Cmd]
			if !ok {
				t.Fatalf("unknown command %q", d.Cmd)
			}
			s := h(e, d)
			ev := e.out.String()
			e.out.Reset()
			if d.Cmd == "tick" && ev != "" {
				// Followers time out at random ticks: the order of the
				// events of several groups is not part of the trace.
				lines := strings.Split(strings.TrimSuffix(ev, "\n"), "\n")
				slices.Sort(lines)
				ev = strings.Join(lines, "\n") + "\n"
			}
			if ev+s == "" {
				return "ok\n"
			}
			return ev + s
		})
	})
}

func initEnv(t *testing.T, d *datadriven.TestData) *env {
	n, parts := 3, 1
	d.MaybeScanArgs(t, "nodes", &n)
	d.MaybeScanArgs(t, "partitions", &parts)
	e := newEnv(t, n, uint32(parts))
	d.MaybeScanArgs(t, "keep", &e.keep)
	d.MaybeScanArgs(t, "every", &e.every)
	return e
}

func (e *env) flush() string {
	s := e.out.String()
	e.out.Reset()
	if s == "" {
		return "ok\n"
	}
	return s
}

func arg(e *env, d *datadriven.TestData, key string) int {
	var v int
	d.ScanArgs(e.t.(*testing.T), key, &v)
	return v
}

func optArg(e *env, d *datadriven.TestData, key string, def int) int {
	d.MaybeScanArgs(e.t.(*testing.T), key, &def)
	return def
}

var handlers = map[string]func(*env, *datadriven.TestData) string{
	"tick": func(e *env, d *datadriven.TestData) string {
		n, only := optArg(e, d, "n", 1), optArg(e, d, "node", 0)
		for range n {
			for _, nd := range e.nodes {
				if !nd.down && (only == 0 || int(nd.id) == only) {
					nd.step(1)
				}
			}
			e.deliver()
		}
		return ""
	},
	"campaign": func(e *env, d *datadriven.TestData) string {
		nd := e.nodes[arg(e, d, "node")-1]
		require.NoError(e.t, nd.eng.groups[uint32(arg(e, d, "p"))].rn.Campaign())
		return ""
	},
	"forget": func(e *env, d *datadriven.TestData) string {
		nd := e.nodes[arg(e, d, "node")-1]
		require.NoError(e.t, nd.eng.groups[uint32(arg(e, d, "p"))].rn.ForgetLeader())
		return ""
	},
	"propose": func(e *env, d *datadriven.TestData) string {
		nd := e.nodes[arg(e, d, "node")-1]
		var data string
		d.ScanArgs(e.t.(*testing.T), "data", &data)
		if err := nd.eng.Propose(uint32(arg(e, d, "p")), []byte(data), &ackCtx{name: data}); err != nil {
			return fmt.Sprintf("refused: %v\n", err)
		}
		return ""
	},
	"stabilize": func(e *env, _ *datadriven.TestData) string { e.stabilize(); return "" },
	"step":      func(e *env, _ *datadriven.TestData) string { e.stepAll(0); return "" },
	"deliver": func(e *env, _ *datadriven.TestData) string {
		return "delivered " + strconv.Itoa(e.deliver()) + "\n"
	},
	"drop": func(e *env, _ *datadriven.TestData) string {
		n := len(e.queue)
		e.drop(n)
		return fmt.Sprintf("dropped %d\n", n)
	},
	"cut": func(e *env, d *datadriven.TestData) string {
		a, b := uint64(arg(e, d, "a")), uint64(arg(e, d, "b"))
		e.cut[[2]uint64{a, b}], e.cut[[2]uint64{b, a}] = true, true
		return ""
	},
	"isolate": func(e *env, d *datadriven.TestData) string {
		a := uint64(arg(e, d, "node"))
		for _, nd := range e.nodes {
			if nd.id != a {
				e.cut[[2]uint64{a, nd.id}], e.cut[[2]uint64{nd.id, a}] = true, true
			}
		}
		return ""
	},
	"heal": func(e *env, _ *datadriven.TestData) string { clear(e.cut); return "" },
	"crash": func(e *env, d *datadriven.TestData) string {
		e.nodes[arg(e, d, "node")-1].crash()
		return ""
	},
	"restart": func(e *env, d *datadriven.TestData) string {
		e.nodes[arg(e, d, "node")-1].start()
		return ""
	},
	"status": func(e *env, _ *datadriven.TestData) string { return e.status() },
	"wipe": func(e *env, d *datadriven.TestData) string {
		e.nodes[arg(e, d, "node")-1].wipe()
		return ""
	},
	"conf": func(e *env, _ *datadriven.TestData) string { return e.confs() },
	"snapshots": func(e *env, d *datadriven.TestData) string {
		var b strings.Builder
		for _, nd := range e.nodes {
			switch {
			case nd.down:
			case d.HasArg("release"):
				if n := nd.eng.buildPending(); n > 0 {
					fmt.Fprintf(&b, "n%d: built %d\n", nd.id, n)
				}
			default:
				nd.eng.bq.Lock()
				for _, r := range nd.eng.bq.reqs {
					fmt.Fprintf(&b, "n%d p%d: asked for the payload of the snapshot at %d (records from %d)\n",
						nd.id, r.p, r.index, r.recFirst)
				}
				nd.eng.bq.Unlock()
			}
		}
		e.hold = d.HasArg("hold") || (e.hold && !d.HasArg("release"))
		return b.String()
	},
	"handoff": func(e *env, d *datadriven.TestData) string {
		e.nodes[arg(e, d, "node")-1].eng.requestHandOff()
		return ""
	},
	"log": func(e *env, d *datadriven.TestData) string {
		nd := e.nodes[arg(e, d, "node")-1]
		p := uint32(arg(e, d, "p"))
		first, ok, err := nd.log.FirstIndex(p)
		require.NoError(e.t, err)
		if !ok {
			return "empty\n"
		}
		var b strings.Builder
		err = nd.log.ReadRange(p, first, nd.log.LastIndex(p)+1, func(i uint64, data []byte) bool {
			fmt.Fprintf(&b, "%d:%q ", i, data)
			return true
		})
		require.NoError(e.t, err)
		return strings.TrimSpace(b.String()) + "\n"
	},
	"propose-leader": func(e *env, d *datadriven.TestData) string {
		p := uint32(arg(e, d, "p"))
		id := e.leader(p)
		require.NotZero(e.t, id, "no leader of p%d", p)
		var data string
		d.ScanArgs(e.t.(*testing.T), "data", &data)
		if err := e.nodes[id-1].eng.Propose(p, []byte(data), &ackCtx{name: data}); err != nil {
			return fmt.Sprintf("refused: %v\n", err)
		}
		return ""
	},
}
