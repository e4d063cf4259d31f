package conf_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/swarmmq/swarmmq/conf"
)

// ExampleConfig_Membership loads a three-node cluster file as node b does
// (node --config FILE --node-id b) and prints its resolved view.
func ExampleConfig_Membership() {
	dir, err := os.MkdirTemp("", "conf-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	path := filepath.Join(dir, "cluster.yaml")
	src := `cluster:
  name: trio
  nodes:
    - {id: a, address: "localhost:7001", peer_address: "localhost:7101"}
    - {id: b, address: "localhost:7002", peer_address: "localhost:7102", http_address: "127.0.0.1:7202"}
    - {id: c, address: "localhost:7003", peer_address: "localhost:7103"}
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := conf.LoadNode(conf.NodeFlags{Config: path, NodeID: "b"})
	if err != nil {
		fmt.Println(err)
		return
	}
	m := cfg.Membership()
	fmt.Printf("%s: %d partitions, R=%d, clustered %t\n", m.Name, m.Partitions, m.ReplicationFactor, m.Clustered())
	fmt.Printf("self %+v, listening on %s\n", m.Self, cfg.ClientAddr())
	for _, p := range m.Peers {
		fmt.Printf("peer %+v\n", p)
	}
	// Output:
	// trio: 16 partitions, R=3, clustered true
	// self {ID:b Client:localhost:7002 Peer:localhost:7102 HTTP:127.0.0.1:7202}, listening on 127.0.0.1:7002
	// peer {ID:a Client:localhost:7001 Peer:localhost:7101 HTTP:}
	// peer {ID:c Client:localhost:7003 Peer:localhost:7103 HTTP:}
}
