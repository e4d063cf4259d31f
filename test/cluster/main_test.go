package cluster

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// built is the node binary, built once per test binary on first use.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// nodeBin returns the node binary (BuildNode), building it on first use.
func nodeBin(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.bin = os.Getenv("SWARMMQ_NODE_BIN"); built.bin != "" {
			return
		}
		built.dir, built.err = os.MkdirTemp("", "swarmmq-cluster-bin-")
		if built.err == nil {
			built.bin, built.err = BuildNode(built.dir)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	if code == 0 {
		if err := goleak.Find(
			// The client's dependencies keep none; these are gnet's, should an
			// in-process node ever be added.
			goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
			goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}
