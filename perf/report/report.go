package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/swarmmq/swarmmq/perf"
)

// Write reads the result files and writes results.json (every report),
// results.csv, curves.svg and README.md into dir (README.md links to a
// profile.md found there). reproduce, if not empty,
// is the command the README gives to reproduce the comparison. Progress
// goes to log.
func Write(dir string, files []string, reproduce string, log io.Writer) error {
	return write(dir, files, reproduce, log, "")
}

// WriteCluster is Write for a cluster measured beside one node
// (perf/cluster.sh): results.json, results.csv and README.md
// (WriteClusterMarkdown).
func WriteCluster(dir string, files []string, reproduce string, log io.Writer) error {
	return write(dir, files, reproduce, log, "cluster")
}

// WriteAB is Write for two builds of SwarmMQ measured side by side
// (perf/ab.sh): results.json, results.csv and README.md (WriteABMarkdown,
// flagging a rate that fell by more than 5%).
func WriteAB(dir string, files []string, reproduce string, log io.Writer) error {
	return write(dir, files, reproduce, log, "ab")
}

// write writes the files of one kind of comparison: "" (SwarmMQ and NATS),
// "cluster" or "ab".
func write(dir string, files []string, reproduce string, log io.Writer, kind string) error {
	reps, err := ReadFiles(files)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	put := func(name string, fn func(io.Writer) error) error {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		werr := fn(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("cannot write %s: %w", path, werr)
		}
		fmt.Fprintln(log, "wrote", path)
		return nil
	}
	return firstErr(
		func() error {
			return put("results.json", func(w io.Writer) error {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(reps)
			})
		},
		func() error { return put("results.csv", func(w io.Writer) error { return perf.WriteCSV(w, reps) }) },
		func() error {
			if kind != "" {
				return nil
			}
			return put("curves.svg", func(w io.Writer) error { return WriteSVG(w, Curves(reps)) })
		},
		func() error {
			switch kind {
			case "cluster":
				return put("README.md", func(w io.Writer) error { return WriteClusterMarkdown(w, reps, reproduce) })
			case "ab":
				return put("README.md", func(w io.Writer) error { return WriteABMarkdown(w, reps, reproduce, 0.05) })
			}
			var links [][2]string
			if _, err := os.Stat(filepath.Join(dir, "profile.md")); err == nil {
				links = append(links, [2]string{"where the node's time goes under batched publish (CPU and heap profiles)", "profile.md"})
			}
			return put("README.md", func(w io.Writer) error { return WriteMarkdown(w, reps, reproduce, links...) })
		},
	)
}

// firstErr runs fns in order until one fails.
func firstErr(fns ...func() error) error {
	for _, fn := range fns {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// ReadFiles reads reports written by perf.Report.WriteFiles.
func ReadFiles(files []string) ([]perf.Report, error) {
	var reps []perf.Report
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		rep, err := perf.ReadReport(f)
		_ = f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		reps = append(reps, rep)
	}
	return reps, nil
}
