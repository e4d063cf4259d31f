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

// decodeStrict parses YAML src into dst (a pointer to a struct whose fields
// carry `yaml:"name"` tags), keeping dst's existing values for absent keys.
// Every unknown key and every value of the wrong kind is reported; the
// returned error joins them all.
func decodeStrict(src []byte, dst any) error {
	var tree any
	if err := yaml.Unmarshal(src, &tree); err != nil {
		return fmt.Errorf("cannot parse YAML: %w", err)
	}
	if tree == nil {
		return nil
	}
	var errs []error
	setValue(reflect.ValueOf(dst).Elem(), tree, "", &errs)
	return errors.Join(errs...)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func problem(errs *[]error, path, format string, args ...any) {
	*errs = append(*errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// setValue stores node into v, reporting problems under path.
func setValue(v reflect.Value, node any, path string, errs *[]error) {
	switch {
	case v.Type() == sizeType:
		setSize(v, node, path, errs)
	case v.Type() == durationType:
		setDuration(v, node, path, errs)
	case v.Kind() == reflect.Struct:
		setStruct(v, node, path, errs)
	case v.Kind() == reflect.Slice:
		setSlice(v, node, path, errs)
	case v.Kind() == reflect.String:
		s, ok := scalarString(node)
		if !ok {
			problem(errs, path, "want a string, got %s", describe(node))
			return
		}
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, ok := node.(bool)
		if !ok {
			problem(errs, path, "want true or false, got %s", describe(node))
			return
		}
		v.SetBool(b)
	case v.CanInt():
		n, ok := toInt(node)
		if !ok || v.OverflowInt(n) {
			problem(errs, path, "want a whole number, got %s", describe(node))
			return
		}
		v.SetInt(n)
	default:
		panic(fmt.Sprintf("BUG: conf: unsupported field kind %s at %s", v.Kind(), path))
	}
}

func setStruct(v reflect.Value, node any, path string, errs *[]error) {
	m, ok := node.(map[string]any)
	if !ok {
		if node != nil {
			problem(errs, path, "want a mapping of keys, got %s", describe(node))
		}
		return
	}
	fields := map[string]int{}
	for i := 0; i < v.NumField(); i++ {
		if tag := strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			fields[tag] = i
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i, ok := fields[k]
		if !ok {
			problem(errs, joinPath(path, k), "unknown key (known: %s)", knownKeys(fields))
			continue
		}
		setValue(v.Field(i), m[k], joinPath(path, k), errs)
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

func setSlice(v reflect.Value, node any, path string, errs *[]error) {
	list, ok := node.([]any)
	if !ok {
		if node != nil {
			problem(errs, path, "want a list, got %s", describe(node))
		}
		return
	}
	out := reflect.MakeSlice(v.Type(), len(list), len(list))
	for i, item := range list {
		setValue(out.Index(i), item, fmt.Sprintf("%s[%d]", path, i), errs)
	}
	v.Set(out)
}

func setSize(v reflect.Value, node any, path string, errs *[]error) {
	if n, ok := toInt(node); ok && n >= 0 {
		v.SetInt(n)
		return
	}
	s, ok := node.(string)
	if !ok {
		problem(errs, path, "want a size such as 1MB, got %s", describe(node))
		return
	}
	sz, err := ParseSize(s)
	if err != nil {
		problem(errs, path, "%v", err)
		return
	}
	v.SetInt(int64(sz))
}

func setDuration(v reflect.Value, node any, path string, errs *[]error) {
	if n, ok := toInt(node); ok && n == 0 {
		v.SetInt(0)
		return
	}
	s, ok := node.(string)
	if !ok {
		problem(errs, path, "want a duration such as 5s, got %s", describe(node))
		return
	}
	d, err := ParseDuration(s)
	if err != nil {
		problem(errs, path, "%v", err)
		return
	}
	v.SetInt(int64(d))
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
