// Package makefile tests the targets of the repository's Makefile that
// manage files: what clean and clean-data delete, that make certs keeps
// existing certificates unless FORCE=1, and that make build stamps the
// version; and the test/integration alias.
package makefile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// root is the repository, two levels up from this package.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	require.NoError(t, err)
	return dir
}

// mk runs make with the repository's Makefile in dir.
func mk(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", append([]string{"-f", filepath.Join(root(t), "Makefile"), "-C", dir}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// touch creates dir/name and its parents.
func touch(t *testing.T, dir, name string) {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// TestClean: make clean deletes build outputs only; make clean-data
// deletes the default node's log and says so; neither touches the
// certificates or a keyring.
func TestClean(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"bin/node", "data/MANIFEST-000001", "certs/ca-key.pem", "keyring.yaml"} {
		touch(t, dir, f)
	}
	mk(t, dir, "clean")
	require.False(t, exists(dir, "bin"))
	for _, f := range []string{"data/MANIFEST-000001", "certs/ca-key.pem", "keyring.yaml"} {
		require.True(t, exists(dir, f), f)
	}
	out := mk(t, dir, "clean-data")
	require.Contains(t, out, "deleting ./data: the message log")
	require.False(t, exists(dir, "data"))
	require.True(t, exists(dir, "certs/ca-key.pem"))
	require.True(t, exists(dir, "keyring.yaml"))
}

// TestCertsKeepsExisting: make certs does not overwrite certificates;
// FORCE=1 does.
func TestCertsKeepsExisting(t *testing.T) {
	dir := root(t)
	// -n: print the commands; the command itself refuses existing files
	// (cmd/swarm-certs tests that).
	require.NotContains(t, mk(t, dir, "-n", "certs"), "--force")
	require.Contains(t, mk(t, dir, "-n", "certs", "FORCE=1"), "swarm-certs --force certs")
	require.NotContains(t, mk(t, dir, "-n", "certs", "FORCE=0"), "--force")
}

// TestBuildStampsVersion: make build links the commit into --version.
func TestBuildStampsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	commit, err := exec.Command("git", "-C", root(t), "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := t.TempDir()
	mk(t, root(t), "build", "CMDS=swarm-certs", "BIN="+bin)
	out, err := exec.Command(filepath.Join(bin, "swarm-certs"), "--version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "(commit "+strings.TrimSpace(string(commit))+", go1.")
	require.NotContains(t, string(out), "unknown")
}

// TestIntegrationAlias: `go test ./test/integration/` (the command the
// product sketch gives) runs the end-to-end tests: test/integration is a
// symbolic link to test/e2e, which `./...` does not follow, so `make test`
// runs them once.
func TestIntegrationAlias(t *testing.T) {
	target, err := os.Readlink(filepath.Join(root(t), "test", "integration"))
	require.NoError(t, err)
	require.Equal(t, "e2e", target)
	out, err := exec.Command("go", "list", "-C", root(t), "-f", "{{.Name}} {{len .TestGoFiles}}", "./test/integration/").Output()
	require.NoError(t, err)
	require.Regexp(t, `^e2e [1-9]\d*\n$`, string(out))
	all, err := exec.Command("go", "list", "-C", root(t), "./...").Output()
	require.NoError(t, err)
	require.NotContains(t, string(all), "test/integration")
	require.Contains(t, string(all), "test/e2e")
}
