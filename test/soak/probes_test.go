package soak

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

// Sampling periods of the probes.
const (
	rssEvery    = 50 * time.Millisecond
	healthEvery = 20 * time.Millisecond
)

// rssPeak samples pid's VmRSS every rssEvery until ctx ends and returns the
// largest value seen, or VmHWM (reset at the start when the kernel allows)
// if that is larger.
func rssPeak(ctx context.Context, wg *sync.WaitGroup, pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	reset := resetHWM(pid)
	wg.Go(func() {
		t := time.NewTicker(rssEvery)
		defer t.Stop()
		for {
			cur, hwm, err := rss(pid)
			mu.Lock()
			if err == nil {
				peak = max(peak, cur)
				if reset {
					peak = max(peak, hwm)
				}
			}
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// healthLatencies GETs /health every healthEvery until ctx ends and returns
// the latencies; a failed request counts as its timeout.
func healthLatencies(ctx context.Context, wg *sync.WaitGroup, httpAddr string) func() []time.Duration {
	var mu sync.Mutex
	var lat []time.Duration
	cl := &http.Client{Timeout: 5 * time.Second}
	wg.Go(func() {
		defer cl.CloseIdleConnections()
		t := time.NewTicker(healthEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			start := time.Now()
			resp, err := cl.Get("http://" + httpAddr + "/health")
			d := time.Since(start)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				d = cl.Timeout
			} else {
				_ = resp.Body.Close()
			}
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}
	})
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lat)
	}
}

// snapshot saves the node's /metrics, a heap profile, a 2s CPU profile, its
// goroutines and (with SWARMMQ_SOAK_TRACE set) a 1s execution trace to
// prefix.* once after has passed, unless ctx ends first; the requests run
// one after the other.
func snapshot(ctx context.Context, wg *sync.WaitGroup, httpAddr, prefix string, after time.Duration) {
	wg.Go(func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(after):
		}
		paths := map[string]string{".metrics": "/metrics", ".heap": "/debug/pprof/heap",
			".cpu": "/debug/pprof/profile?seconds=2", ".goroutines": "/debug/pprof/goroutine?debug=1"}
		if os.Getenv(envTrace) != "" {
			paths[".trace"] = "/debug/pprof/trace?seconds=1"
		}
		for suffix, path := range paths {
			resp, err := http.Get("http://" + httpAddr + path)
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			_ = os.WriteFile(prefix+suffix, b, 0o644)
		}
	})
}

// quantile returns the q-quantile of ds (nearest rank), 0 for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
