package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profiler grabs profiles from a node's /debug/pprof: a CPU profile
// during the measurement, a heap profile at the end. It is used by the
// runner's goroutine; the CPU grab runs on a goroutine of its own, which
// finish waits for.
type profiler struct {
	addr, dir, stem string

	wg     sync.WaitGroup
	cpu    string
	cpuErr error
}

// startCPU starts grabbing a CPU profile of about d (at least a second).
// Only the first call of a run does anything.
func (p *profiler) startCPU(d time.Duration) {
	if p.cpu != "" {
		return
	}
	secs := int(math.Ceil(d.Seconds()))
	if d == 0 {
		secs = 5
	}
	secs = max(secs, 1)
	p.cpu = filepath.Join(p.dir, p.stem+"-cpu.pprof")
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.addr, secs)
	p.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
		defer cancel()
		p.cpuErr = fetchTo(ctx, url, p.cpu)
	})
}

// finish waits for the CPU profile, grabs the heap profile, and returns
// the files written.
func (p *profiler) finish(ctx context.Context) ([]string, error) {
	p.wg.Wait()
	var files []string
	var errs []error
	if p.cpu != "" {
		if p.cpuErr != nil {
			errs = append(errs, fmt.Errorf("CPU profile: %w", p.cpuErr))
		} else {
			files = append(files, p.cpu)
		}
	}
	heap := filepath.Join(p.dir, p.stem+"-heap.pprof")
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := fetchTo(hctx, "http://"+p.addr+"/debug/pprof/heap", heap); err != nil {
		errs = append(errs, fmt.Errorf("heap profile: %w", err))
	} else {
		files = append(files, heap)
	}
	return files, errors.Join(errs...)
}

// fetchTo saves the body of a GET of url in path.
func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}
