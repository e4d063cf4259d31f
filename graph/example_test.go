package graph_test

import (
	"context"
	"fmt"

	"github.com/swarmmq/swarmmq/graph"
)

func ExampleRing() {
	r := graph.NewRing[string](4)
	var g graph.Group
	g.Go("producer", func() error {
		for _, s := range []string{"a", "b", "c", "d", "e", "f"} {
			if err := r.Push(context.Background(), s); err != nil {
				return err
			}
		}
		r.Close()
		return nil
	})
	var batch []string
	for {
		batch = r.PopBatch(batch[:0], 2)
		for _, s := range batch {
			fmt.Print(s)
		}
		if len(batch) == 2 {
			continue // maybe more
		}
		if r.Closed() {
			break
		}
		<-r.C()
	}
	fmt.Println()
	fmt.Println(g.Wait())
	// Output:
	// abcdef
	// <nil>
}

type printStage string

func (p printStage) Start() error                   { fmt.Println("start", p); return nil }
func (p printStage) Stop(ctx context.Context) error { fmt.Println("stop", p); return nil }

func ExampleTopology() {
	var t graph.Topology
	t.AddRing("decode", "decode", 1, 1024)
	t.AddRing("persist", "persist", 1, 1024)
	t.AddEdge("netio", "decode", false)
	t.AddEdge("decode", "persist", false)
	toDecode, _ := graph.MakeRing[[]byte](&t, "decode")
	toPersist, _ := graph.MakeRing[[]byte](&t, "persist")
	fmt.Println("capacities", toDecode.Cap(), toPersist.Cap())
	t.AddStage("decode", printStage("decode"))
	t.AddStage("persist", printStage("persist"))
	t.AddStage("netio", printStage("netio"))
	if err := t.Start(); err != nil {
		fmt.Println(err)
		return
	}
	_ = t.Stop(context.Background())
	// Output:
	// capacities 1024 1024
	// start persist
	// start decode
	// start netio
	// stop netio
	// stop decode
	// stop persist
}
