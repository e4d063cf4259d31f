package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// logBuf collects a node's log lines; safe for concurrent use.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// health returns the status code and body of /health.
func health(t *testing.T, n *nodetest.Node) (int, stages.Health) {
	t.Helper()
	resp, err := http.Get("http://" + n.HTTPAddr().String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var h stages.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, h
}

// waitStatus polls /health until its status is want, for at most
// nodetest.Timeout.
func waitStatus(t *testing.T, n *nodetest.Node, want string) stages.Health {
	t.Helper()
	deadline := time.Now().Add(nodetest.Timeout)
	for {
		_, h := health(t, n)
		if h.Status == want {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health status %q (%s), want %q", h.Status, h.Error, want)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not synchronising on time
	}
}

// fetchSeqs fetches up to max messages and returns their seqs and payloads.
func fetchSeqs(t *testing.T, r *nodetest.Raw, dest, group string, max uint32) ([]uint64, []string) {
	t.Helper()
	corr := r.NextCorr()
	r.Write(frame.AppendFetch(nil, corr, frame.Fetch{Destination: []byte(dest), Group: []byte(group), Max: max}))
	f := r.Read()
	if f.Type != frame.TypeMessages || f.Corr != corr {
		t.Fatalf("fetch answered %s corr %d", f.Type, f.Corr)
	}
	ms, err := frame.DecodeMessages(f.Body)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	var out []string
	for d, ok := ms.Next(); ok; d, ok = ms.Next() {
		seqs = append(seqs, d.Seq)
		out = append(out, string(d.Message.Payload))
	}
	return seqs, out
}

// ackRaw acks seqs and returns the type of the reply.
func ackRaw(t *testing.T, r *nodetest.Raw, dest, group string, seqs []uint64) frame.Frame {
	t.Helper()
	r.Write(frame.AppendAck(nil, r.NextCorr(), []byte(dest), []byte(group), seqs))
	return r.Read()
}

// TestDiskFullRefusesPublishesKeepsAcks: with the free space (injected)
// below the reserve, publishes are answered DISK_FULL (nothing stored),
// acks still work, /health says disk_full with the reason, the transition
// is logged at ERROR; once space returns the node takes publishes again,
// with no restart.
func TestDiskFullRefusesPublishesKeepsAcks(t *testing.T) {
	var free atomic.Uint64
	free.Store(64 << 20)
	logs := &logBuf{}
	n := nodetest.Start(t, func(o *stages.Options) {
		o.MinFree, o.MemTableSize, o.Logger = 8<<20, 1<<20, logs.logger()
		o.DiskUsage = func() (vfs.DiskUsage, error) {
			return vfs.DiskUsage{AvailBytes: free.Load(), TotalBytes: 1 << 30}, nil
		}
	})
	r := nodetest.Handshake(t, n.AddrString())
	defer r.Close()
	if acks := publishRaw(t, r, "df", msg(1, "first")); acks[0] != (frame.AckEntry{Seq: 1}) {
		t.Fatalf("publish with room: %+v", acks)
	}

	free.Store(4 << 20)
	h := waitStatus(t, n, "disk_full")
	if !strings.Contains(h.Error, "4.0 MiB free") || !strings.Contains(h.Error, "reserve (min free) 8.0 MiB") {
		t.Fatalf("/health error %q", h.Error)
	}
	if code, _ := health(t, n); code != http.StatusServiceUnavailable {
		t.Fatalf("/health answered %d while the disk is full", code)
	}
	if acks := publishRaw(t, r, "df", msg(2, "refused"), msg(1, "first")); acks[0] != (frame.AckEntry{Code: frame.CodeDiskFull}) ||
		acks[1] != (frame.AckEntry{Flags: frame.FlagDuplicate, Seq: 1}) {
		t.Fatalf("publish with the disk full answered %+v, want DISK_FULL and the duplicate", acks)
	}
	seqs, got := fetchSeqs(t, r, "df", "g", 10)
	if len(got) != 1 || got[0] != "first" {
		t.Fatalf("fetch with the disk full: %q", got)
	}
	if f := ackRaw(t, r, "df", "g", seqs); f.Type != frame.TypeAckOK {
		t.Fatalf("ack with the disk full answered %s", f.Type)
	}
	if v := metricValue(t, n, "swarmmq_wal_disk_full"); v != 1 {
		t.Fatalf("swarmmq_wal_disk_full %v", v)
	}
	if v := metricValue(t, n, "swarmmq_persist_disk_full_total"); v != 1 {
		t.Fatalf("swarmmq_persist_disk_full_total %v", v)
	}

	free.Store(64 << 20)
	waitStatus(t, n, "ok")
	if acks := publishRaw(t, r, "df", msg(2, "after")); acks[0] != (frame.AckEntry{Seq: 2}) {
		t.Fatalf("publish once space returned: %+v", acks)
	}
	if _, got := fetchSeqs(t, r, "df", "g", 10); len(got) != 1 || got[0] != "after" {
		t.Fatalf("fetch after recovery: %q", got)
	}
	for _, want := range []string{`level=ERROR msg="storage health changed" from=ok to=disk_full`,
		`level=ERROR msg="storage health changed" from=disk_full to=ok`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

// fillUntilFull publishes batches of 4 KiB messages to dest until one is
// refused DISK_FULL, and returns the payloads acknowledged OK. Any other
// code (STORAGE would mean the log hit ENOSPC and failed) fails the test.
func fillUntilFull(t *testing.T, r *nodetest.Raw, dest string, next *int) []string {
	t.Helper()
	var acked []string
	for range 400 {
		batch := make([]frame.Message, 32)
		for i := range batch {
			*next++
			batch[i] = msg(*next, fmt.Sprintf("%s-%06d-%s", dest, *next, strings.Repeat("x", 4096)))
		}
		full := false
		for i, e := range publishRaw(t, r, dest, batch...) {
			switch e.Code {
			case frame.CodeOK:
				acked = append(acked, string(batch[i].Payload))
			case frame.CodeDiskFull:
				full = true
			default:
				t.Fatalf("message %d of a batch answered %s", i, e.Code)
			}
		}
		if full {
			return acked
		}
	}
	t.Fatal("the disk never filled")
	return nil
}

// consumeAll fetches and acks every message of dest for a new group and
// returns the payloads.
func consumeAll(t *testing.T, r *nodetest.Raw, dest, group string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for {
		seqs, ps := fetchSeqs(t, r, dest, group, 0)
		if len(ps) == 0 {
			return got
		}
		for _, p := range ps {
			got[p] = true
		}
		if f := ackRaw(t, r, dest, group, seqs); f.Type != frame.TypeAckOK {
			t.Fatalf("ack answered %s", f.Type)
		}
	}
}
