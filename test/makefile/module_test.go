package makefile

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// goCmd runs the go command in dir. What an application of the client
// needs is in the module cache once the repository has built; anything
// missing comes through the module proxy, as for make test itself.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOSUMDB=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// TestClientModuleBuildsAlone builds an application that imports the
// client library the way a user's service would, in a module of its own,
// and checks what that pulls in: the client is its own module
// (client/go.mod), whose go directive names no patch release, and an
// application's build has no storage engine, event loop, raft or metrics
// library in it; only the wire codec, routing hash and sealing it shares
// with the node. The application's go.mod names the repository's
// directories (replace), as an unpublished module must.
func TestClientModuleBuildsAlone(t *testing.T) {
	repo := root(t)
	mod, err := os.ReadFile(filepath.Join(repo, "client", "go.mod"))
	require.NoError(t, err, "the client is its own module")
	require.Contains(t, string(mod), "module github.com/swarmmq/swarmmq/client\n")
	for _, f := range []string{"client/go.mod", "go.mod"} {
		b, err := os.ReadFile(filepath.Join(repo, f))
		require.NoError(t, err)
		require.Regexp(t, `(?m)^go 1\.\d+$`, string(b),
			"%s: the go directive must not force a patch release on applications", f)
	}

	app := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(app, "go.mod"), []byte(`module example.com/app

go 1.26

require github.com/swarmmq/swarmmq/client v0.0.0-00010101000000-000000000000

replace (
	github.com/swarmmq/swarmmq/client => `+filepath.Join(repo, "client")+`
	github.com/swarmmq/swarmmq => `+repo+`
)
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(app, "main.go"), []byte(`package main

import (
	"context"
	"fmt"

	"github.com/swarmmq/swarmmq/client"
)

func main() {
	c, err := client.Dial(context.Background(), client.Options{Addr: "127.0.0.1:1"})
	fmt.Println(c, err)
}
`), 0o644))

	goCmd(t, app, "mod", "tidy")
	goCmd(t, app, "build", "-o", filepath.Join(app, "app"), ".")
	deps := goCmd(t, app, "list", "-deps", ".")
	for _, heavy := range []string{
		"github.com/cockroachdb/pebble", "github.com/panjf2000/gnet", "go.etcd.io/raft",
		"github.com/VictoriaMetrics/metrics", "github.com/alecthomas/kong",
		"github.com/swarmmq/swarmmq/stages", "github.com/swarmmq/swarmmq/netio",
		"github.com/swarmmq/swarmmq/wal", "github.com/swarmmq/swarmmq/queue",
	} {
		require.NotContains(t, deps, heavy, "an application of the client builds %s", heavy)
	}
	require.Contains(t, deps, "github.com/swarmmq/swarmmq/client\n")

	tidy, err := os.ReadFile(filepath.Join(app, "go.mod"))
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`(?m)^go 1\.26$`), string(tidy),
		"tidy raised the application's go directive:\n%s", tidy)
	for _, heavy := range []string{"pebble", "gnet", "raft", "VictoriaMetrics", "kong"} {
		require.NotContains(t, string(tidy), heavy, "the application's go.mod requires %s:\n%s", heavy, tidy)
	}
}
