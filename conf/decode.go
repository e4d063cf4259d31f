package conf

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

var (
	sizeType     = reflect.TypeFor[Size]()
	durationType = reflect.TypeFor[Duration]()
)

// decoder fills a struct from a YAML tree, collecting every problem and
// the key paths it set. It is used by one goroutine for one document.
type decoder struct {
	errs []error
	set  map[string]bool
	bad  map[string]bool
}

// decodeStrict parses YAML src into dst (a pointer to a struct whose fields
// carry `yaml:"name"` tags), keeping dst's existing values for absent keys.
// Every unknown key and every value of the wrong kind is reported; the
// returned error joins them all. The decoder returned holds the key paths
// src gives a value (set, for example "node.data_dir") and those with a
// problem (bad); empty reports a document without keys.
func decodeStrict(src []byte, dst any) (d decoder, empty bool, err error) {
	var tree any
	if err := yaml.Unmarshal(src, &tree); err != nil {
		return d, false, fmt.Errorf("cannot parse YAML: %w", err)
	}
	d = decoder{set: map[string]bool{}, bad: map[string]bool{}}
	if tree == nil {
		return d, true, nil
	}
	d.setValue(reflect.ValueOf(dst).Elem(), tree, "")
	return d, false, errors.Join(d.errs...)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// problem records a problem at path; the empty path is the whole file.
func (d *decoder) problem(path, format string, args ...any) {
	d.bad[path] = true
	if path == "" {
		path = "top level"
	}
	d.errs = append(d.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// setValue stores node into v, reporting problems under path.
func (d *decoder) setValue(v reflect.Value, node any, path string) {
	if path != "" {
		d.set[path] = true
	}
	switch {
	case v.Type() == sizeType:
		d.setSize(v, node, path)
	case v.Type() == durationType:
		d.setDuration(v, node, path)
	case v.Kind() == reflect.Struct:
		d.setStruct(v, node, path)
	case v.Kind() == reflect.Slice:
		d.setSlice(v, node, path)
	case v.Kind() == reflect.String:
		s, ok := scalarString(node)
		if !ok {
			d.problem(path, "want a string, got %s", describe(node))
			return
		}
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, ok := node.(bool)
		if !ok {
			d.problem(path, "want true or false, got %s", describe(node))
			return
		}
		v.SetBool(b)
	case v.CanInt():
		n, ok := toInt(node)
		if !ok || v.OverflowInt(n) {
			d.problem(path, "want a whole number, got %s", describe(node))
			return
		}
		v.SetInt(n)
	default:
		panic(fmt.Sprintf("BUG: conf: unsupported field kind %s at %s", v.Kind(), path))
	}
}

func (d *decoder) setStruct(v reflect.Value, node any, path string) {
	fields := map[string]int{}
	for i := 0; i < v.NumField(); i++ {
		if tag := strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	m, ok := node.(map[string]any)
	if !ok {
		if node != nil {
			d.problem(path, "want a mapping of keys (%s), got %s", knownKeys(fields), describe(node))
		}
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i, ok := fields[k]
		if !ok {
			d.problem(joinPath(path, k), "unknown key (known: %s)", knownKeys(fields))
			continue
		}
		d.setValue(v.Field(i), m[k], joinPath(path, k))
	}
}

func knownKeys(fields map[string]int) string {
	ks := make([]string, 0, len(fields))
	for k := range fields {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

func (d *decoder) setSlice(v reflect.Value, node any, path string) {
	list, ok := node.([]any)
	if !ok {
		if node != nil {
			d.problem(path, "want a list, got %s", describe(node))
		}
		return
	}
	out := reflect.MakeSlice(v.Type(), len(list), len(list))
	for i, item := range list {
		d.setValue(out.Index(i), item, fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(out)
}

func (d *decoder) setSize(v reflect.Value, node any, path string) {
	if n, ok := toInt(node); ok && n >= 0 {
		v.SetInt(n)
		return
	}
	s, ok := node.(string)
	if !ok {
		d.problem(path, "want a size such as 1MB, got %s", describe(node))
		return
	}
	sz, err := ParseSize(s)
	if err != nil {
		d.problem(path, "%v", err)
		return
	}
	v.SetInt(int64(sz))
}

func (d *decoder) setDuration(v reflect.Value, node any, path string) {
	if n, ok := toInt(node); ok && n == 0 {
		v.SetInt(0)
		return
	}
	s, ok := node.(string)
	if !ok {
		d.problem(path, "want a duration such as 5s, got %s", describe(node))
		return
	}
	dur, err := ParseDuration(s)
	if err != nil {
		d.problem(path, "%v", err)
		return
	}
	v.SetInt(int64(dur))
}

func scalarString(node any) (string, bool) {
	switch x := node.(type) {
	case string:
		return x, true
	case nil:
		return "", true
	}
	return "", false
}

func toInt(node any) (int64, bool) {
	switch x := node.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > 1<<62 {
			return 0, false
		}
		return int64(x), true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	}
	return 0, false
}

func describe(node any) string {
	switch x := node.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("%q", x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%v", node)
}
