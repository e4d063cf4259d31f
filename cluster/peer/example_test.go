package peer_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/swarmmq/swarmmq/cluster/peer"
	"github.com/swarmmq/swarmmq/frame"
)

// echo answers every request with its payload in upper case.
type echo struct{ raft chan string }

func (e echo) HandleFrame(from string, t frame.Type, payload []byte) {
	e.raft <- fmt.Sprintf("%s from %s: %s", t, from, payload)
}

func (echo) HandleRequest(_ string, payload []byte, r peer.Responder) {
	out := make([]byte, len(payload))
	for i, c := range payload {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	_ = r.Reply(out)
}

func Example() {
	ln1, _ := net.Listen("tcp", "127.0.0.1:0")
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	peers := map[string]string{"node-1": ln1.Addr().String(), "node-2": ln2.Addr().String()}
	got := make(chan string, 1)
	start := func(id string, ln net.Listener) *peer.Transport {
		t, err := peer.New(peer.Options{ID: id, ClusterName: "demo", Partitions: 16, Peers: peers,
			Listener: ln, Handler: echo{raft: got}})
		if err != nil {
			panic(err)
		}
		if err := t.Start(); err != nil {
			panic(err)
		}
		return t
	}
	n1, n2 := start("node-1", ln1), start("node-2", ln2)
	defer func() { _ = n1.Close(); _ = n2.Close() }()

	// node-1 dials node-2; wait until the link is up.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !n2.Peers()[0].Connected {
		<-tick.C
	}
	if err := n2.Send("node-1", frame.TypeRaft, []byte("append entries")); err != nil {
		fmt.Println(err)
	}
	fmt.Println(<-got)
	answer, err := n1.Call(context.Background(), "node-2", []byte("publish"))
	fmt.Println(string(answer), err)
	// Output:
	// RAFT from node-2: append entries
	// PUBLISH <nil>
}
