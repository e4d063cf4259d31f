package conformance

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// A matcher stands for a value in an expected frame or client result: an
// object whose keys are among these. {"any": true} matches any value;
// {"min": a, "max": b} a number in [a, b] (either bound may be left out);
// {"contains": "s"} a string holding s; {"not": v} anything but v.
var matcherKeys = []string{"any", "min", "max", "contains", "not"}

func isMatcher(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k := range m {
		if !slices.Contains(matcherKeys, k) {
			return false
		}
	}
	return true
}

// normalize rewrites an expected frame into decode's form: flags of 0
// left out, payload_hex that is text given as payload.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if isMatcher(v) {
			return v
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = normalize(x)
		}
		if f, ok := out["flags"]; ok {
			if n, err := toUint(f, 16); err == nil && n == 0 {
				delete(out, "flags")
			}
		}
		if h, ok := out["payload_hex"].(string); ok {
			if b, err := hex.DecodeString(h); err == nil && utf8.Valid(b) {
				delete(out, "payload_hex")
				out["payload"] = string(b)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// match compares an expected value (with matchers) with an actual one;
// path names the field in the error.
func match(path string, want, got any) error {
	if m, ok := want.(map[string]any); ok && isMatcher(m) {
		return matchOne(path, m, got)
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: got %s, want an object", path, show(got))
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing (the frame has %s)", path, k, strings.Join(slices.Sorted(maps.Keys(g)), ", "))
			}
			if err := match(path+"."+k, w[k], gv); err != nil {
				return err
			}
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				return fmt.Errorf("%s.%s: unexpected field, value %s", path, k, show(g[k]))
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: got %s, want %d items %s", path, show(got), len(w), show(want))
		}
		for i := range w {
			if err := match(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if !scalarEqual(want, got) {
		return fmt.Errorf("%s: got %s, want %s", path, show(got), show(want))
	}
	return nil
}

// scalarEqual compares numbers by value (a json.Number, a decimal string
// or a Go integer) and other scalars as they are.
func scalarEqual(want, got any) bool {
	wn, werr := toUint(want, 64)
	gn, gerr := toUint(got, 64)
	if werr == nil && gerr == nil {
		return wn == gn
	}
	return fmt.Sprint(want) == fmt.Sprint(got)
}

func matchOne(path string, m map[string]any, got any) error {
	if _, ok := m["any"]; ok {
		return nil
	}
	if s, ok := m["contains"].(string); ok {
		if g, isStr := got.(string); !isStr || !strings.Contains(g, s) {
			return fmt.Errorf("%s: got %s, want a string containing %q", path, show(got), s)
		}
	}
	if v, ok := m["not"]; ok && scalarEqual(v, got) {
		return fmt.Errorf("%s: got %s, want anything else", path, show(got))
	}
	for _, bound := range []string{"min", "max"} {
		b, ok := m[bound]
		if !ok {
			continue
		}
		bn, err := toUint(b, 64)
		gn, gerr := toUint(got, 64)
		switch {
		case err != nil || gerr != nil:
			return fmt.Errorf("%s: got %s, want a number (%s %v)", path, show(got), bound, b)
		case bound == "min" && gn < bn, bound == "max" && gn > bn:
			return fmt.Errorf("%s: got %d, want %s %d", path, gn, bound, bn)
		}
	}
	return nil
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
