package replica_test

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/wal"
)

// printSM prints what it applies.
type printSM struct{}

func (printSM) Apply(p uint32, ents []replica.Entry) error {
	for _, e := range ents {
		if len(e.Data) > 0 {
			fmt.Printf("p%d applied %q at %d\n", p, e.Data, e.Index)
		}
	}
	return nil
}
func (printSM) Restore(uint32, uint64, []byte) error { return nil }
func (printSM) Lost(uint32, any, error)              {}

// noPeers is the transport of a group of one.
type noPeers struct{}

func (noPeers) Send([]replica.Message) {}

// A single-replica group (R = 1) elects itself and commits alone.
func Example() {
	l, err := wal.Open(wal.Options{Dir: "db", FS: vfs.NewMem(), Partitions: 1, MinFree: -1})
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	serving := make(chan struct{})
	e, err := replica.New(replica.Options{ID: 1, Log: l, Groups: []replica.Group{{Partition: 0, Peers: []uint64{1}}},
		Transport: noPeers{}, StateMachine: printSM{},
		Hooks: replica.Hooks{LeaderChange: func(_ uint32, ld replica.Leadership) {
			if ld.Serving {
				close(serving)
			}
		}}})
	if err != nil {
		panic(err)
	}
	e.Start()
	defer func() { _ = e.Stop(context.Background()) }()
	<-serving
	idx, err := e.ProposeWait(context.Background(), 0, []byte("hello"))
	fmt.Println(idx, err)
	// Output:
	// p0 applied "hello" at 2
	// 2 <nil>
}
