package conf

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Size is a byte count that YAML may write as "1MB".
type Size int64

// String formats s with the largest binary unit that divides it.
func (s Size) String() string {
	units := []struct {
		name string
		n    int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}}
	for _, u := range units {
		if s != 0 && int64(s)%u.n == 0 {
			return fmt.Sprintf("%d%s", int64(s)/u.n, u.name)
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// ParseSize parses "1MB", "512KiB", "64k", "100B" or "4096".
func ParseSize(v string) (Size, error) {
	t := strings.TrimSpace(v)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToUpper(strings.TrimSpace(t[i:]))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 1MB, 512KB, 4096)", v)
	}
	mult := map[string]int64{
		"": 1, "B": 1,
		"K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10,
		"M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20,
		"G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q", v, unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: too large", v)
	}
	return Size(n * mult), nil
}

// Duration is a time.Duration that YAML writes as "5s".
type Duration time.Duration

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses Go duration syntax; "0" is allowed.
func ParseDuration(v string) (Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 5s, 2m, 150ms)", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative", v)
	}
	return Duration(d), nil
}

// UnmarshalText parses a size with ParseSize (command-line flags).
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalYAML writes s as "1MB".
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalYAML writes d as "5s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
