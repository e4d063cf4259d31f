package version

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/stretchr/testify/require"
)

func TestGet(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.7", Main: debug.Module{Version: "v0.0.0-20261205145500-f1fc4cd0a1b2+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "f1fc4cd0a1b2c3"}, {Key: "vcs.modified", Value: "true"}}}
	f := func(version, commit string, bi *debug.BuildInfo, want string) {
		t.Helper()
		require.Equal(t, want, get(version, commit, bi).String())
	}
	// Stamped by the Makefile: the stamp wins, and the work tree state is
	// in the version (git describe --dirty).
	f("v1.2.0-3-gf1fc4cd-dirty", "f1fc4cd0a1b2c3d4", bi, "v1.2.0-3-gf1fc4cd-dirty (commit f1fc4cd0a1b2c3d4, go1.26.7)")
	// Plain go build in a checkout: the toolchain's version and revision.
	f("", "", bi, "v0.0.0-20261205145500-f1fc4cd0a1b2+dirty (commit f1fc4cd0a1b2c3, modified, go1.26.7)")
	// Nothing known (no build info, or built outside a checkout).
	f("", "", nil, "unknown (commit unknown, "+runtime.Version()+")")
	f("", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel) (commit unknown, "+runtime.Version()+")")
}

func TestFlag(t *testing.T) {
	var cli struct {
		Name string
	}
	var out bytes.Buffer
	exited := -1
	p, err := kong.New(&cli, kong.Name("node"), kong.Embed(&Flag{}), Vars("node"),
		kong.Writers(&out, &out), kong.Exit(func(code int) { exited = code }))
	require.NoError(t, err)
	_, _ = p.Parse([]string{"--version"})
	require.Equal(t, 0, exited)
	require.Equal(t, "node "+Get().String()+"\n", out.String())
	require.True(t, strings.HasPrefix(out.String(), "node "))
}
