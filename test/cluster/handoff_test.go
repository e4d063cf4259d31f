package cluster

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestClusterRestartLeaderHandsOff runs the workload against five nodes
// through clean restarts (SIGTERM) of each destination's leader in turn.
// Besides the checker's rules (nothing lost, redelivered after a confirmed
// ack or stored twice), every stopped leader must have handed each
// partition it led to a follower before stopping (docs/cluster.md, "A
// clean stop hands leadership off first"): its log names the transfers
// and never "stopping while leading partitions". The outage after each
// restart is logged, not judged.
func TestClusterRestartLeaderHandsOff(t *testing.T) {
	if os.Getenv("SWARMMQ_SKIP_CHAOS") != "" {
		t.Skip("SWARMMQ_SKIP_CHAOS is set")
	}
	r := runChaos(t, plan{
		Nodes: 5, Duration: 12 * time.Second, Rate: 100, Every: 500 * time.Millisecond,
		Kinds: []FaultKind{FaultRestartLeader},
		After: func(t *testing.T, c *Cluster) {
			handedOff := 0
			for _, n := range c.Nodes {
				b, err := os.ReadFile(n.Spec.LogFile)
				if err != nil {
					t.Fatal(err)
				}
				log := string(b)
				handedOff += strings.Count(log, `msg="handing off leadership"`)
				if strings.Contains(log, "stopping while leading partitions") {
					t.Errorf("%s stopped while leading partitions (log %s)", n.Spec.ID, n.Spec.LogFile)
				}
			}
			if handedOff == 0 {
				t.Error("no leader handed off a partition")
			}
		},
	})
	if len(r.Outages) == 0 {
		t.Error("no restart in the run")
	}
}
