package conf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the config parser: it must never
// panic, a config it accepts must print (--print-config) as YAML that parses
// back to the same config, and a config that also validates must resolve
// and summarise. Seeds: the sample configs and every file of the golden
// traces in testdata/load.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse(src)
		c.resolveSelf(NodeFlags{})
		if verr := c.Validate(); err == nil && verr == nil {
			_ = c.Membership()
			if c.Summary() == "" {
				t.Fatal("empty summary of a valid config")
			}
		}
		if err != nil {
			return
		}
		out, err := c.YAML()
		if err != nil {
			t.Fatalf("cannot print an accepted config: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("printed config does not parse: %v\n%s", err, out)
		}
		again, err := back.YAML()
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("printed config changes when parsed again (%v):\n%s\n----\n%s", err, out, again)
		}
	})
}

// fuzzSeeds returns the sample configs and the inputs of the "file"
// commands of testdata/load.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	samples, _ := filepath.Glob(filepath.Join("..", "configs", "*.yaml"))
	traces, _ := filepath.Glob(filepath.Join("testdata", "load", "*"))
	for _, p := range samples {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, p := range traces {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var cur *strings.Builder
		for line := range strings.Lines(string(b)) {
			switch {
			case strings.HasPrefix(line, "file "):
				cur = &strings.Builder{}
			case cur != nil && line == "----\n":
				seeds = append(seeds, []byte(cur.String()))
				cur = nil
			case cur != nil:
				cur.WriteString(line)
			}
		}
	}
	if len(seeds) < 10 {
		f.Fatalf("only %d seeds", len(seeds))
	}
	return seeds
}
