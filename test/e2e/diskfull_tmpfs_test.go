//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
	"github.com/swarmmq/swarmmq/wal"
)

// mountTmpfs mounts a tmpfs of size (e.g. "16m") on a new directory and
// unmounts it when the test ends; it skips the test where mounting is not
// permitted (not root, no CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a %s tmpfs on %s (needs root or CAP_SYS_ADMIN): %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// writeFiller writes a file of n bytes (real pages on tmpfs).
func writeFiller(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, n), 0o600); err != nil {
		t.Fatalf("filler %s: %v", path, err)
	}
}

// freeBytes is the free space of the file system of dir.
func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// TestDiskFullTmpfs runs a node on a real 16 MiB file system. Publishing
// until the reserve is reached gets DISK_FULL (never STORAGE: the log never
// meets ENOSPC) while acks work; freeing space (a filler file beside the
// data) brings publishes back with no restart. A restart on the disk
// filled to the brim starts, opens its listener, serves the messages it
// has, answers publishes DISK_FULL and says why in the log; freeing space
// again recovers it. Every acknowledged message is consumable at the end.
func TestDiskFullTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, "16m")
	data, filler := filepath.Join(mnt, "data"), filepath.Join(mnt, "filler")
	writeFiller(t, filler, 6<<20)
	logs := &logBuf{}
	n := nodetest.Start(t, func(o *stages.Options) {
		o.DataDir, o.MinFree, o.MemTableSize, o.Logger = data, 4<<20, 2<<20, logs.logger()
		o.SnapshotEvery = 64 // trims the log as acks come in
	})
	r := nodetest.Handshake(t, n.AddrString())
	if _, got := fetchSeqs(t, r, "full", "verify", 1); len(got) != 0 { // the group that checks it all at the end
		t.Fatalf("fetch of a new destination: %q", got)
	}
	next := 0
	acked := fillThenFree(t, n, r, filler, &next)
	acked = append(acked, publishUnflushed(t, r, &next)...)
	r.Close()

	r = restartOnFullDisk(t, n, logs, mnt, filler, next)
	// Free space again: the restarted node recovers with no restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, n, "ok")
	if acks := publishRaw(t, r, "full", msg(next+2, "last")); acks[0].Code != frame.CodeOK {
		t.Fatalf("publish after the second recovery: %+v", acks[0])
	}
	acked = append(acked, "last")
	got := consumeAll(t, r, "full", "verify")
	for _, p := range acked {
		if !got[p] {
			t.Fatalf("acknowledged message %.20q is lost (%d acked, %d consumed)", p, len(acked), len(got))
		}
	}
	t.Logf("%d messages acknowledged, all consumed", len(acked))
	r.Close()
}

// fillThenFree publishes until DISK_FULL, checks /health and that acks
// still work, then removes the filler file and checks that the node takes
// publishes again by itself. It returns the payloads acknowledged.
func fillThenFree(t *testing.T, n *nodetest.Node, r *nodetest.Raw, filler string, next *int) []string {
	t.Helper()
	acked := fillUntilFull(t, r, "full", next)
	if len(acked) == 0 {
		t.Fatal("nothing was stored before the disk filled")
	}
	if h := waitStatus(t, n, "disk_full"); !strings.Contains(h.Error, "disk full") {
		t.Fatalf("/health error %q", h.Error)
	}
	seqs, _ := fetchSeqs(t, r, "full", "g", 8)
	if f := ackRaw(t, r, "full", "g", seqs); f.Type != frame.TypeAckOK {
		t.Fatalf("ack with the disk full answered %s", f.Type)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, n, "ok")
	*next++
	if acks := publishRaw(t, r, "full", msg(*next, "after-recovery")); acks[0].Code != frame.CodeOK {
		t.Fatalf("publish after recovery: %+v", acks[0])
	}
	return append(acked, "after-recovery")
}

// publishUnflushed publishes 1.5 MiB in small batches: they stay in the
// memtable, so the WAL holds them unflushed when the node stops.
func publishUnflushed(t *testing.T, r *nodetest.Raw, next *int) []string {
	t.Helper()
	var acked []string
	for range 48 {
		batch := make([]frame.Message, 8)
		for i := range batch {
			*next++
			batch[i] = msg(*next, fmt.Sprintf("full-%06d-%s", *next, strings.Repeat("y", 4096)))
		}
		for i, e := range publishRaw(t, r, "full", batch...) {
			if e.Code != frame.CodeOK {
				t.Fatalf("publish with room answered %s", e.Code)
			}
			acked = append(acked, string(batch[i].Payload))
		}
	}
	return acked
}

// restartOnFullDisk restarts n with the disk filled to the brim and no
// ballast left (as after an ENOSPC): a new filler takes all but 64 KiB,
// less than the flush of the WAL the restart finds, which pebble.Open
// would retry forever. The node must start, open the log read-only, serve
// reads, answer publishes DISK_FULL, and say why in its log.
func restartOnFullDisk(t *testing.T, n *nodetest.Node, logs *logBuf, mnt, filler string, next int) *nodetest.Raw {
	t.Helper()
	n.Stop()
	if err := os.Remove(filepath.Join(n.Opts.DataDir, wal.BallastName)); err != nil {
		t.Fatal(err)
	}
	writeFiller(t, filler, int(max(freeBytes(t, mnt), 64<<10)-64<<10))
	startLog := len(logs.String())
	n.Restart()
	r := nodetest.Handshake(t, n.AddrString())
	if acks := publishRaw(t, r, "full", msg(next+1, "refused")); acks[0].Code != frame.CodeDiskFull {
		t.Fatalf("publish after a restart on a full disk: %+v", acks[0])
	}
	if _, got := fetchSeqs(t, r, "full", "g", 4); len(got) == 0 {
		t.Fatal("a restart on a full disk serves no reads")
	}
	after := logs.String()[startLog:]
	if !strings.Contains(after, `msg="storage health changed" from=ok to=disk_full cause="swarmmq/wal: disk full: opened read-only`) {
		t.Fatalf("the restart does not say why it refuses writes:\n%s", after)
	}
	if c := strings.Count(after, "pebble background error"); c > 2 {
		t.Fatalf("%d pebble background errors logged since the restart:\n%s", c, after)
	}
	return r
}
