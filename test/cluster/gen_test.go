package cluster

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGeneratedConfigsPassTheNodesCheck runs the node binary's
// --check-config on every config file a five-node Start writes, with the
// flags Start gives it: the node accepts each, and its view lists the
// other nodes at the proxies of this node's links.
func TestGeneratedConfigsPassTheNodesCheck(t *testing.T) {
	bin := nodeBin(t)
	c := &Cluster{Dir: t.TempDir(), opts: Options{Nodes: 5, Cluster: &ClusterSpec{}}}
	c.opts.Cluster.ensureDefaults(5)
	specs, flags, err := c.layout()
	defer c.closeLinks()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		n := &Node{Spec: s, bin: bin}
		n.Spec.Flags = append(n.Spec.Flags, flags[i]...)
		out, err := exec.Command(bin, append(n.args(), "--check-config")...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.ID, err, out)
		}
		for _, o := range specs {
			want := o.PeerAddr
			if o.ID != s.ID {
				want = c.Link(s.ID, o.ID).Addr()
			}
			if !strings.Contains(string(out), want) {
				t.Errorf("%s's view does not list %s's peer address %s:\n%s", s.ID, o.ID, want, out)
			}
		}
	}
}
