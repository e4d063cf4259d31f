package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// scrapeLabels are added by Prometheus when it scrapes, so /metrics does
// not show them; the dashboard may select on them.
var scrapeLabels = []string{"instance", "job"}

// checkDashboard: every series the PromQL of the Grafana dashboard at path
// queries (panel targets and template variables) is in /metrics, with the
// labels its selectors name.
func checkDashboard(t *testing.T, path string, samples map[string][]string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []any `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	var exprs, queries []string
	walkStrings(dash.Panels, func(key, v string) {
		if key == "expr" {
			exprs = append(exprs, v)
		}
	})
	for _, v := range dash.Templating.List {
		if v.Type == "query" {
			queries = append(queries, v.Query)
		}
	}
	var sels []selector
	for _, e := range exprs {
		s, err := selectors(e)
		if err != nil || len(s) == 0 {
			t.Errorf("%q: %d series, %v", e, len(s), err)
		}
		sels = append(sels, s...)
	}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	for _, q := range queries {
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("template query %q is not label_values(series, label)", q)
			continue
		}
		s, err := selectors(m[1])
		if err != nil || len(s) != 1 {
			t.Errorf("template query %q: %v", q, err)
			continue
		}
		s[0].labels = append(s[0].labels, m[2])
		sels = append(sels, s[0])
	}
	if len(exprs) < 20 || len(queries) == 0 {
		t.Fatalf("%d expressions and %d template queries in %s", len(exprs), len(queries), path)
	}
	for _, s := range sels {
		have, ok := samples[s.name]
		if !ok {
			t.Errorf("the dashboard queries %s, which /metrics does not expose", s.name)
			continue
		}
		for _, l := range s.labels {
			if !slices.Contains(have, l) && !slices.Contains(scrapeLabels, l) {
				t.Errorf("the dashboard selects %s by %q, a label it does not have (%v)", s.name, l, have)
			}
		}
	}
}

// walkStrings calls fn for every string value in v with its object key.
func walkStrings(v any, fn func(key, v string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok {
				fn(k, s)
			}
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range v {
			walkStrings(e, fn)
		}
	}
}

// selector is a series a PromQL expression reads: its metric name and the
// labels its matchers name.
type selector struct {
	name   string
	labels []string
}

// promqlWords are the keywords and aggregation operators of PromQL, which
// may stand before a parenthesis or a word without being a series.
var promqlWords = []string{
	"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
	"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
}

// selectors returns the series of a PromQL expression: each identifier that
// is not a keyword, a function (followed by a parenthesis), a label list
// after by/without/on/ignoring/group_*, a string, a number or a duration.
// Every series must be named (no bare {…} selector).
func selectors(expr string) ([]selector, error) {
	var out []selector
	s := expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			end := stringEnd(s, i)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			i = end
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unterminated range at %d", i)
			}
			i += end + 1
		case c == '{':
			return nil, fmt.Errorf("selector without a metric name at %d", i)
		case c == '$' || c >= '0' && c <= '9' || c == '.':
			i++
			for i < len(s) && (isIdent(s[i]) || s[i] == '.' || s[i] == '{' || s[i] == '}') {
				i++ // a number, a duration, or a Grafana variable ($__rate_interval, ${x})
			}
		case isIdent(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			switch {
			case slices.Contains([]string{"by", "without", "on", "ignoring", "group_left", "group_right"}, word):
				if k < len(s) && s[k] == '(' {
					end := strings.IndexByte(s[k:], ')')
					if end < 0 {
						return nil, fmt.Errorf("unterminated label list at %d", k)
					}
					j = k + end + 1
				}
			case slices.Contains(promqlWords, word), k < len(s) && s[k] == '(':
			default:
				sel := selector{name: word}
				if k < len(s) && s[k] == '{' {
					labels, end, err := matchers(s, k)
					if err != nil {
						return nil, err
					}
					sel.labels, j = labels, end
				}
				out = append(out, sel)
			}
			i = j
		default:
			i++
		}
	}
	return out, nil
}

// matchers reads the label matchers {l op "v", …} starting at s[i] == '{'
// and returns their label names and the index after the '}'.
func matchers(s string, i int) ([]string, int, error) {
	var labels []string
	i++
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i < len(s) && s[i] == '}' {
			return labels, i + 1, nil
		}
		j := i
		for j < len(s) && isIdent(s[j]) {
			j++
		}
		if j == i {
			return nil, 0, fmt.Errorf("expected a label name at %d of %q", i, s)
		}
		labels = append(labels, s[i:j])
		for j < len(s) && strings.IndexByte("=!~ ", s[j]) >= 0 {
			j++
		}
		end := -1
		if j < len(s) {
			end = stringEnd(s, j)
		}
		if end < 0 {
			return nil, 0, fmt.Errorf("expected a quoted value at %d of %q", j, s)
		}
		i = end
	}
}

// stringEnd returns the index after the quoted string starting at s[i], or
// -1 if s[i] does not start one or it is not terminated.
func stringEnd(s string, i int) int {
	q := s[i]
	if q != '"' && q != '\'' {
		return -1
	}
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1
		}
	}
	return -1
}

func isIdent(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// TestSelectors checks the PromQL reading of checkDashboard.
func TestSelectors(t *testing.T) {
	f := func(expr string, want []selector) {
		t.Helper()
		got, err := selectors(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: got %v, want %v", expr, got, want)
		}
	}
	f(`sum by (instance) (rate(swarmmq_published_messages_total{instance=~"$instance"}[$__rate_interval]))`,
		[]selector{{"swarmmq_published_messages_total", []string{"instance"}}})
	f(`histogram_quantile(0.99, sum by (le) (rate(a_bucket{job="x", instance!~"a,b}"}[5m] offset 1h)))`,
		[]selector{{"a_bucket", []string{"job", "instance"}}})
	f(`max(a / on(edge) b) without (x) > 1e-3 and c`, []selector{{"a", nil}, {"b", nil}, {"c", nil}})
	f(`rate(a_sum[${__rate_interval}]) / rate(a_count[1m])`, []selector{{"a_sum", nil}, {"a_count", nil}})
	for _, bad := range []string{`{job="x"}`, `a{job=x}`, `rate(a[5m`, `a{job="x}`} {
		if _, err := selectors(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
