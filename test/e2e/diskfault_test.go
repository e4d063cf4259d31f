package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
	"github.com/swarmmq/swarmmq/wal"
)

// syncFault fails every fsync of the WAL files while it is on.
type syncFault struct{ on atomic.Bool }

func (f *syncFault) String() string { return "syncFault" }

func (f *syncFault) MaybeError(op errorfs.Op) error {
	if f.on.Load() && strings.HasSuffix(op.Path, ".log") &&
		(op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo) {
		return errorfs.ErrInjected
	}
	return nil
}

// TestDiskFaultNoFalseAck: when the WAL cannot be synced, the publish
// and the ack that needed it answer STORAGE (never a false success), the
// node keeps serving everything else, and /health and /ready say it failed.
func TestDiskFaultNoFalseAck(t *testing.T) {
	fault := &syncFault{}
	n, err := stages.New(stages.Options{ClientAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: "/data",
		FS: errorfs.Wrap(vfs.NewMem(), fault)})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	r := nodetest.Handshake(t, n.Addr().String())
	if acks := publishRaw(t, r, "f", msg(1, "stored")); acks[0] != (frame.AckEntry{Seq: 1}) {
		t.Fatalf("healthy publish: %+v", acks)
	}
	fault.on.Store(true)
	if acks := publishRaw(t, r, "f", msg(2, "not-stored")); acks[0].Code != frame.CodeStorage {
		t.Fatalf("publish with a failing disk answered %+v, want STORAGE", acks[0])
	}
	// The log is failed for good: later requests fail too, without a false ack.
	if acks := publishRaw(t, r, "f", msg(3, "later")); acks[0].Code != frame.CodeStorage {
		t.Fatalf("publish after the failure answered %+v", acks[0])
	}
	corr := r.NextCorr()
	r.Write(frame.AppendAck(nil, corr, []byte("f"), []byte("g"), []uint64{1}))
	if code := r.ExpectError(); code != frame.CodeStorage {
		t.Fatalf("ack answered %s, want STORAGE", code)
	}
	// PING still works: the connection and node are alive.
	r.Write(frame.AppendPing(nil, r.NextCorr()))
	if f := r.Read(); f.Type != frame.TypePong {
		t.Fatalf("ping answered %s", f.Type)
	}
	resp, err := http.Get("http://" + n.HTTPAddr().String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h stages.Health
	_ = json.NewDecoder(resp.Body).Decode(&h)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || h.Status != "failed" || !strings.Contains(h.Error, "injected") {
		t.Fatalf("/health %d %+v", resp.StatusCode, h)
	}
	r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), nodetest.Timeout)
	defer cancel()
	if err := n.Stop(ctx); !errors.Is(err, errorfs.ErrInjected) && !errors.Is(err, wal.ErrFailed) {
		t.Fatalf("stop after a disk failure: %v", err)
	}
}
