package promtext

import (
	"bytes"
	"io"
	"slices"
	"strings"
)

// Type is the TYPE of a metric family in the Prometheus text format.
type Type string

// The types a family can have.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
	Summary   Type = "summary"
	Untyped   Type = "untyped"
)

// Family is what the HELP and TYPE lines say about one metric family.
type Family struct {
	Type Type
	Help string
}

// UnknownHelp is the HELP text of a family missing from the table.
const UnknownHelp = "Not described: this family is missing from the table of package promtext."

// Lookup returns the family called name, and whether the table has it.
func Lookup(name string) (Family, bool) {
	if f, ok := node[name]; ok {
		return f, true
	}
	f, ok := runtime[name]
	return f, ok
}

// Names returns the name of every family in the table, sorted.
func Names() []string {
	names := make([]string, 0, len(node)+len(runtime))
	for n := range node {
		names = append(names, n)
	}
	for n := range runtime {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NodeNames returns the names of the node's own families (swarmmq_*), sorted.
func NodeNames() []string {
	names := make([]string, 0, len(node))
	for n := range node {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// FamilyOf returns the family a sample called name belongs to: name itself,
// or for the _bucket, _sum and _count samples of a histogram (_sum and
// _count of a summary) in the table, the histogram's (summary's) name.
func FamilyOf(name string) string {
	if _, ok := Lookup(name); ok {
		return name
	}
	for _, suffix := range [...]string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		f, ok := Lookup(base)
		if ok && (f.Type == Histogram || f.Type == Summary && suffix != "_bucket") {
			return base
		}
	}
	return name
}

// group is the samples of one family, in the order they were written.
type group struct {
	name  string
	lines [][]byte
}

// Write copies text, samples in the Prometheus text format without
// metadata (what metrics.Set.WritePrometheus and metrics.WriteProcessMetrics
// write), to w: the samples of each family together, in the order the
// families first appear, each family preceded by its HELP and TYPE lines.
// Comment lines and blank lines in text are dropped. It makes one Write.
func Write(w io.Writer, text []byte) error {
	var groups []*group
	byName := make(map[string]*group)
	for line := range bytes.Lines(text) {
		if len(bytes.TrimSpace(line)) == 0 || line[0] == '#' {
			continue
		}
		name := FamilyOf(sampleName(line))
		g := byName[name]
		if g == nil {
			g = &group{name: name}
			byName[name] = g
			groups = append(groups, g)
		}
		g.lines = append(g.lines, line)
	}
	out := make([]byte, 0, len(text)+len(groups)*160)
	for _, g := range groups {
		out = appendMetadata(out, g.name)
		for _, l := range g.lines {
			out = append(out, l...)
			if l[len(l)-1] != '\n' {
				out = append(out, '\n')
			}
		}
	}
	_, err := w.Write(out)
	return err
}

// sampleName returns the metric name at the start of a sample line.
func sampleName(line []byte) string {
	end := bytes.IndexAny(line, "{ \t")
	if end < 0 {
		end = len(line)
	}
	return string(line[:end])
}

// helpEscaper escapes a HELP text as the text format requires.
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

// appendMetadata appends the HELP and TYPE lines of the family name.
func appendMetadata(dst []byte, name string) []byte {
	f, ok := Lookup(name)
	if !ok {
		f = Family{Type: Untyped, Help: UnknownHelp}
	}
	dst = append(dst, "# HELP "...)
	dst = append(dst, name...)
	dst = append(dst, ' ')
	dst = append(dst, helpEscaper.Replace(f.Help)...)
	dst = append(dst, "\n# TYPE "...)
	dst = append(dst, name...)
	dst = append(dst, ' ')
	dst = append(dst, f.Type...)
	return append(dst, '\n')
}
