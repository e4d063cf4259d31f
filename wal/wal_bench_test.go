package wal

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

const benchPartitions = 16

// benchSink keeps results alive.
var benchSink uint64

// openBench opens a log on a real directory. The returned function reports
// the WAL fsyncs per op and their mean duration in µs.
func openBench(b *testing.B, policy SyncPolicy) (*Log, func()) {
	b.Helper()
	set := metrics.NewSet()
	l, err := Open(Options{Dir: b.TempDir(), Partitions: benchPartitions, Sync: policy, Metrics: set})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := l.Close(); err != nil {
			b.Error(err)
		}
	})
	count0, sum0 := syncStats(set)
	return l, func() {
		count, sum := syncStats(set)
		b.ReportMetric((count-count0)/float64(b.N), "fsyncs/op")
		if count > count0 {
			b.ReportMetric((sum-sum0)/(count-count0)*1e6, "µs/fsync")
		}
	}
}

// syncStats returns the count and sum of swarmmq_wal_sync_seconds.
func syncStats(set *metrics.Set) (count, sum float64) {
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	for _, line := range strings.Split(buf.String(), "\n") {
		name, v, _ := strings.Cut(line, " ")
		f, _ := strconv.ParseFloat(v, 64)
		switch name {
		case "swarmmq_wal_sync_seconds_count":
			count = f
		case "swarmmq_wal_sync_seconds_sum":
			sum = f
		}
	}
	return count, sum
}

// benchEntries returns n entries of size bytes spread over the partitions.
func benchEntries(n, size int) []Entry {
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{Partition: uint32(i % benchPartitions), Data: make([]byte, size)}
	}
	return entries
}

func reportMsgs(b *testing.B, msgs int) {
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAppend measures one Append and Wait of a batch, the persist
// stage's cycle without pipelining.
func BenchmarkAppend(b *testing.B) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncInterval} {
		for _, batch := range []int{1, 100, 1000} {
			const size = 128
			b.Run(fmt.Sprintf("sync=%s/batch=%d/size=%d", policy, batch, size), func(b *testing.B) {
				l, report := openBench(b, policy)
				entries := benchEntries(batch, size)
				idx := make([]uint64, batch)
				b.ReportAllocs()
				b.SetBytes(int64(batch * size))
				n := 0
				for b.Loop() {
					p, err := l.Append(entries, idx)
					if err != nil {
						b.Fatal(err)
					}
					if err := p.Wait(); err != nil {
						b.Fatal(err)
					}
					n += batch
				}
				benchSink += idx[0]
				reportMsgs(b, n)
				report()
			})
		}
	}
}

// BenchmarkAppendPipelined appends batch N+1 before waiting for batch N, as
// the persist stage does, so that building and applying a batch overlaps the
// fsync of the previous one.
func BenchmarkAppendPipelined(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		const size = 128
		b.Run(fmt.Sprintf("sync=always/batch=%d/size=%d", batch, size), func(b *testing.B) {
			l, report := openBench(b, SyncAlways)
			entries := benchEntries(batch, size)
			idx := make([]uint64, batch)
			b.ReportAllocs()
			b.SetBytes(int64(batch * size))
			var prev *Pending
			n := 0
			for b.Loop() {
				p, err := l.Append(entries, idx)
				if err != nil {
					b.Fatal(err)
				}
				if prev != nil {
					if err := prev.Wait(); err != nil {
						b.Fatal(err)
					}
				}
				prev = p
				n += batch
			}
			if err := prev.Wait(); err != nil {
				b.Fatal(err)
			}
			benchSink += idx[0]
			reportMsgs(b, n)
			report()
		})
	}
}

// BenchmarkAppendParallel runs 8 appenders (as many persist shards) with
// SyncAlways: their batches share fsyncs.
func BenchmarkAppendParallel(b *testing.B) {
	for _, batch := range []int{1, 100} {
		const size = 128
		b.Run(fmt.Sprintf("sync=always/batch=%d/size=%d", batch, size), func(b *testing.B) {
			l, report := openBench(b, SyncAlways)
			b.ReportAllocs()
			b.SetBytes(int64(batch * size))
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				entries := benchEntries(batch, size)
				idx := make([]uint64, batch)
				for pb.Next() {
					p, err := l.Append(entries, idx)
					if err != nil {
						b.Error(err)
						return
					}
					if err := p.Wait(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportMsgs(b, b.N*batch)
			report()
		})
	}
}
