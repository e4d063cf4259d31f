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
	// NoSum marks a histogram written without _sum, because its source
	// keeps none (the Go runtime's); Write adds its _count.
	NoSum bool
}

// UnknownHelp is the HELP text of a family missing from the table.
const UnknownHelp = "Not described: this family is missing from the table of package promtext."

// entry is a row of the tables: a family's type and help.
type entry struct {
	typ  Type
	help string
}

// Lookup returns the family called name, and whether the table has it.
func Lookup(name string) (Family, bool) {
	e, ok := node[name]
	if !ok {
		e, ok = cluster[name]
	}
	if !ok {
		e, ok = runtime[name]
	}
	return Family{Type: e.typ, Help: e.help, NoSum: withoutSum[name]}, ok
}

// Names returns the name of every family in the table, sorted.
func Names() []string {
	names := make([]string, 0, len(node)+len(cluster)+len(runtime))
	for n := range node {
		names = append(names, n)
	}
	for n := range cluster {
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

// ClusterNames returns the names of the families a node exposes only as a
// member of a cluster of several nodes, sorted.
func ClusterNames() []string {
	names := make([]string, 0, len(cluster))
	for n := range cluster {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ClusterOnly reports whether family name is exposed only by a member of a
// cluster of several nodes.
func ClusterOnly(name string) bool {
	_, ok := cluster[name]
	return ok
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
		if f, _ := Lookup(g.name); f.Type == Histogram && !g.hasCount() {
			out = g.appendCounts(out)
		}
	}
	_, err := w.Write(out)
	return err
}

// hasCount reports whether the group has a _count sample.
func (g *group) hasCount() bool {
	count := g.name + "_count"
	for _, l := range g.lines {
		if sampleName(l) == count {
			return true
		}
	}
	return false
}

// appendCounts appends a _count sample for each +Inf bucket of the group:
// the same value, the same labels but le.
func (g *group) appendCounts(dst []byte) []byte {
	for _, l := range g.lines {
		series, value, ok := bytes.Cut(bytes.TrimRight(l, "\n"), []byte("} "))
		name, labels, _ := bytes.Cut(series, []byte("{"))
		if !ok || string(name) != g.name+"_bucket" {
			continue
		}
		var kept [][]byte
		inf := false
		for _, pair := range bytes.Split(labels, []byte(",")) {
			if string(bytes.TrimSpace(pair)) == `le="+Inf"` {
				inf = true
				continue
			}
			kept = append(kept, pair)
		}
		if !inf {
			continue
		}
		dst = append(dst, g.name...)
		dst = append(dst, "_count"...)
		if len(kept) > 0 {
			dst = append(dst, '{')
			dst = append(dst, bytes.Join(kept, []byte(","))...)
			dst = append(dst, '}')
		}
		dst = append(dst, ' ')
		dst = append(dst, value...)
		dst = append(dst, '\n')
	}
	return dst
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
