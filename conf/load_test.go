package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/cockroachdb/datadriven"
)

// TestLoad runs the traces of testdata/load, each file in a fresh working
// directory:
//
//	file name=PATH      writes the input to PATH (parents created)
//	dir name=PATH       creates the directory PATH
//	node FLAG...        runs the node's command line (kong, then LoadNode)
//	                    and prints every problem, or the --check-config summary
//
// Flags are written as datadriven arguments: --node-id=node-2, --port=0.
func TestLoad(t *testing.T) {
	datadriven.Walk(t, "testdata/load", func(t *testing.T, path string) {
		abs, err := filepath.Abs(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Chdir(t.TempDir())
		datadriven.RunTest(t, abs, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "file", "dir":
				var name string
				d.ScanArgs(t, "name", &name)
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					t.Fatal(err)
				}
				if d.Cmd == "dir" {
					err = os.MkdirAll(name, 0o755)
				} else {
					err = os.WriteFile(name, []byte(d.Input), 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
				return ""
			case "node":
				return loadNode(t, d.CmdArgs)
			}
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		})
	})
}

// loadNode parses args as the node's command line and loads the config.
func loadNode(t *testing.T, args []datadriven.CmdArg) string {
	t.Helper()
	var flags NodeFlags
	p, err := kong.New(&flags, kong.Name("node"))
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	for _, a := range args {
		argv = append(argv, strings.Join(append([]string{a.Key}, a.Vals...), "="))
	}
	if _, err := p.Parse(argv); err != nil {
		return "command line: " + err.Error() + "\n"
	}
	c, err := LoadNode(flags)
	if err != nil {
		return err.Error() + "\n"
	}
	return c.Summary()
}
