package wal

import (
	"os"
	"os/exec"
	"testing"

	"go.uber.org/goleak"
)

// childEnv marks a child process started by runChild.
const childEnv = "SWARMMQ_WAL_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// A child runs a scenario that leaves Pebble's goroutines behind
		// or kills the process on purpose: no leak check.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

// inChild reports whether the test runs as a child process.
func inChild() bool { return os.Getenv(childEnv) != "" }

// runChild runs test name alone in a child process and returns its output.
func runChild(t *testing.T, name string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
