package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProducerKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "producer.key")
	if err := GenerateProducerKey(path); err != nil {
		t.Fatal(err)
	}
	if err := GenerateProducerKey(path); err == nil || !strings.Contains(err.Error(), "not overwriting") {
		t.Fatalf("second generate: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	key, err := ReadProducerKey(path)
	if err != nil || len(key) != 32 {
		t.Fatalf("read: %d bytes, %v", len(key), err)
	}
	other := filepath.Join(dir, "other.key")
	if err := GenerateProducerKey(other); err != nil {
		t.Fatal(err)
	}
	if k2, _ := ReadProducerKey(other); string(k2) == string(key) {
		t.Fatal("two generated keys are equal")
	}
	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 31), strings.Repeat("ab", 33)} {
		p := filepath.Join(dir, "bad.key")
		if err := os.WriteFile(p, []byte(bad+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadProducerKey(p); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
