package persist

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// trace is the state of one datadriven trace of the local log: a running
// stage over 4 partitions and 2 workers, and the proposals not yet seen
// come out.
type trace struct {
	h       *harness
	log     *wal.Log
	pending int
	names   map[*work.Request]string
}

// TestTrace runs the traces in testdata: propose (one proposal a line:
// name partition=N record=messages|ack|none [closed]), leader (partition=N
// on|off), fail-log (every later append fails), outputs (waits for every
// proposal to come out and prints each worker's ring).
func TestTrace(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		log, err := wal.Open(wal.Options{Dir: "data", FS: vfs.NewMem(), Partitions: 4})
		require.NoError(t, err)
		tr := &trace{h: start(t, log, 4, 2, nil), log: log, names: map[*work.Request]string{}}
		defer func() {
			tr.h.stop(t)
			_ = log.Close() // fail-log closed it already
		}()
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "propose":
				return tr.propose(t, td.Input)
			case "leader":
				var p uint32
				td.ScanArgs(t, "partition", &p)
				tr.h.owners.SetLeader(p, td.HasArg("on"))
				return ""
			case "fail-log":
				require.NoError(t, tr.log.Close())
				return ""
			case "outputs":
				return tr.outputs(t)
			}
			t.Fatalf("unknown command %q", td.Cmd)
			return ""
		})
	})
}

func (tr *trace) propose(t *testing.T, input string) string {
	for _, line := range strings.Split(strings.TrimSpace(input), "\n") {
		var name, kind string
		var p uint32
		closed := strings.HasSuffix(line, " closed")
		line = strings.TrimSuffix(line, " closed")
		_, err := fmt.Sscanf(line, "%s partition=%d record=%s", &name, &p, &kind)
		require.NoError(t, err, line)
		r := publish(t, &conn{closed: closed}, name)
		var rec *queue.Record
		switch kind {
		case "messages":
			rec = messages(r)
		case "ack":
			r.Kind, r.Group, r.Seqs = work.KindAck, []byte("g"), []uint64{1}
			rec = ackRecord(r)
		case "none":
		default:
			t.Fatalf("unknown record %q", kind)
		}
		tr.names[r] = name
		tr.h.propose(t, p, r, rec)
		tr.pending++
	}
	return ""
}

func (tr *trace) outputs(t *testing.T) string {
	got := make([][]plog.Output, len(tr.h.out))
	deadline := time.After(10 * time.Second)
	for n := 0; n < tr.pending; {
		for w, ring := range tr.h.out {
			k := len(got[w])
			got[w] = ring.PopBatch(got[w], 100)
			n += len(got[w]) - k
		}
		if n < tr.pending {
			select {
			case <-tr.h.out[0].C():
			case <-tr.h.out[1].C():
			case <-deadline:
				t.Fatalf("%d of %d proposals came out", n, tr.pending)
			}
		}
	}
	tr.pending = 0
	var b strings.Builder
	for w, outs := range got {
		for _, o := range outs {
			r := o.Entry.Req
			fmt.Fprintf(&b, "worker %d: p%d %s %s", w, o.Entry.Partition, tr.names[r], o.Kind)
			switch o.Kind {
			case plog.Committed:
				fmt.Fprintf(&b, " index=%d", o.Entry.Index)
			case plog.Failed:
				fmt.Fprintf(&b, " err=%q", o.Err.Error())
			case plog.Unwritten:
				if r.Conn == nil {
					b.WriteString(" (client gone)")
				}
			}
			b.WriteString("\n")
			delete(tr.names, r)
			r.Release()
		}
	}
	return b.String()
}
