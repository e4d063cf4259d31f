// Package version says which build of SwarmMQ a command is, for the
// --version flag of every command.
//
// `make build` stamps the version (`git describe --tags --always --dirty`)
// and the commit in with -ldflags (see Stamp). A plain `go build` or
// `go install` stamps nothing; the Go toolchain then records the module
// version and, inside a git checkout, the VCS revision in the binary
// (runtime/debug.ReadBuildInfo), which Get falls back to.
//
// The package owns no goroutines and is safe for concurrent use.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/alecthomas/kong"
)

// Set by the linker: go build -ldflags "-X <package>.stamped=… -X <package>.stampedCommit=…".
// They are variables only because -X can set nothing else; nothing
// writes them at run time.
var (
	stamped       string
	stampedCommit string
)

// Info is what is known about a build.
type Info struct {
	Version  string // "v1.2.3", "v1.2.3-4-gabcdef0", "(devel)" or "unknown"
	Commit   string // the full commit hash, or "unknown"
	Modified bool   // built from a work tree with uncommitted changes (when known from the toolchain)
	Go       string // the Go version that built it
}

// Get returns the build's Info: the stamped values, else the toolchain's.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(stamped, stampedCommit, bi)
}

// get is Get with its inputs explicit; bi may be nil.
func get(version, commit string, bi *debug.BuildInfo) Info {
	info := Info{Version: version, Commit: commit, Go: runtime.Version()}
	if bi != nil {
		if info.Version == "" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.modified":
				info.Modified = commit == "" && s.Value == "true"
			}
		}
		if bi.GoVersion != "" {
			info.Go = bi.GoVersion
		}
	}
	if info.Version == "" {
		info.Version = "unknown"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// String is the line --version prints for the command called name:
// "node v1.2.3 (commit 0123abc…, go1.26.0)".
func (i Info) String() string {
	commit := i.Commit
	if i.Modified {
		commit += ", modified"
	}
	return fmt.Sprintf("%s (commit %s, %s)", i.Version, commit, i.Go)
}

// Flag is the --version flag; add it to a command line with
// kong.Embed(&version.Flag{}) together with Vars.
type Flag struct {
	Version kong.VersionFlag `help:"Print the version, the commit and the Go version it was built with, and exit."`
}

// Vars holds the text kong's version flag prints for the command called
// name.
func Vars(name string) kong.Vars {
	return kong.Vars{"version": name + " " + Get().String()}
}
