package perf

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/swarmmq/swarmmq/perf/hist"
)

// Kinds of Result.
const (
	// KindRun is one measurement at one load: closed loop, or open loop
	// at Config.Rate.
	KindRun = "run"
	// KindCurve is an open-loop curve: Steps hold each offered load; the
	// top-level figures are the closed-loop run that set the 100%.
	KindCurve = "curve"
)

// Report is what one invocation writes: where and how it ran, and its
// results. It is a plain value.
type Report struct {
	Machine Machine    `json:"machine"`
	Command []string   `json:"command"`
	Started time.Time  `json:"started"`
	Target  TargetInfo `json:"target"`
	Results []Result   `json:"results"`
}

// Result is one workload's outcome. It is a plain value.
type Result struct {
	System    string  `json:"system"`
	Fsync     string  `json:"fsync"`
	Workload  string  `json:"workload"`
	Kind      string  `json:"kind"`
	Label     string  `json:"label,omitempty"`
	Size      int     `json:"size"`
	Batch     int     `json:"batch"`
	Window    int     `json:"window"`
	AckWindow int     `json:"ack_window"`
	Fetches   int     `json:"fetches,omitempty"`
	Producers int     `json:"producers"`
	Consumers int     `json:"consumers"`
	Offered   float64 `json:"offered,omitempty"` // msgs/s, open loop only
	// Msgs is the messages measured: acknowledged (publish), received
	// (consume, e2e).
	Msgs     int64    `json:"msgs"`
	Errors   int64    `json:"errors"`
	Seconds  float64  `json:"seconds"`
	Rate     float64  `json:"rate"` // msgs/s
	MBps     float64  `json:"mbps"` // payload MB/s (10^6 bytes)
	Latency  *Latency `json:"latency,omitempty"`
	Lag      *Latency `json:"lag,omitempty"` // open loop: actual − intended send time
	Steps    []Step   `json:"steps,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
}

// Step is one offered load of a curve. It is a plain value.
type Step struct {
	Percent  int      `json:"percent"`
	Offered  float64  `json:"offered"`  // msgs/s
	Achieved float64  `json:"achieved"` // msgs/s
	Msgs     int64    `json:"msgs"`
	Errors   int64    `json:"errors"`
	Seconds  float64  `json:"seconds"`
	Latency  *Latency `json:"latency,omitempty"`
	Lag      *Latency `json:"lag,omitempty"`
}

// Latency summarises a histogram, in microseconds. It is a plain value.
type Latency struct {
	// What is measured: LatPublish, LatConfirm or LatE2E.
	What  string  `json:"what"`
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p999_us"`
	Max   float64 `json:"max_us"`
	Mean  float64 `json:"mean_us"`
}

// What a Latency measures.
const (
	LatPublish = "publish-ack"   // send time → publish ack received
	LatConfirm = "ack-confirm"   // acks of a batch sent → confirmed
	LatE2E     = "end-to-end"    // send time → consumer's receipt
	LatLag     = "generator-lag" // intended → actual send time (open loop)
)

// Summarize returns h's percentiles as a Latency, or nil if h is empty.
func Summarize(what string, h *hist.Histogram) *Latency {
	if h.Count() == 0 {
		return nil
	}
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return &Latency{
		What: what, Count: h.Count(),
		P50: us(h.Quantile(0.5)), P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max()), Mean: h.Mean() / 1e3,
	}
}

// WriteFiles writes r as dir/name.json and dir/name.csv and returns their
// paths.
func (r *Report) WriteFiles(dir, name string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	jsonPath := filepath.Join(dir, name+".json")
	csvPath := filepath.Join(dir, name+".csv")
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("cannot write results: %w", err)
	}
	f, err := os.Create(csvPath)
	if err != nil {
		return nil, fmt.Errorf("cannot write results: %w", err)
	}
	werr := WriteCSV(f, []Report{*r})
	if err := f.Close(); werr == nil {
		werr = err
	}
	return []string{jsonPath, csvPath}, werr
}

// ReadReport reads a Report written by WriteFiles.
func ReadReport(r io.Reader) (Report, error) {
	var rep Report
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return rep, fmt.Errorf("bad report: %w", err)
	}
	return rep, nil
}
