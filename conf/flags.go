package conf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
)

// NodeFlags is the command line of the node binary (parsed by kong). A flag
// that is given beats the config file; nil or empty means "not given".
type NodeFlags struct {
	Config     string `help:"YAML config file (e.g. configs/mvp-cluster.yaml); without it the node runs on embedded defaults." type:"existingfile" placeholder:"FILE"`
	NodeID     string `name:"node-id" help:"This node's id; must be listed in cluster.nodes when the config lists any (default node-1)." placeholder:"ID"`
	Port       *int   `help:"Client port (default 9001, or the port of this node's cluster.nodes address; 0 = any free port)." placeholder:"PORT"`
	Bind       string `help:"Interface the client port listens on (default 127.0.0.1)." placeholder:"IP"`
	DataDir    string `name:"data-dir" help:"Directory of the Pebble log (default ./data)." placeholder:"DIR"`
	HTTPAddr   string `name:"http-addr" help:"Address of /health, /ready, /metrics and /debug/pprof, or off (default 127.0.0.1:8080)." placeholder:"HOST:PORT"`
	Fsync      string `help:"always (every ack is fsynced, default) or interval." enum:",always,interval" default:""`
	MinFree    *Size  `name:"min-free" help:"Free space kept on the data directory's disk: below it publishes are refused with DISK_FULL; at least 32MB, or 0 = no reserve (default 256MB)." placeholder:"SIZE"`
	LogLevel   string `name:"log-level" help:"debug, info, warn or error." enum:",debug,info,warn,error" default:""`
	Dump       bool   `name:"print-config" help:"Print the effective config as YAML and exit."`
	GenKeyring string `name:"gen-keyring" help:"Write a new keyring with one fresh current key to FILE (mode 0600, never overwriting) and exit." placeholder:"FILE"`
}

// LoadNode builds the effective config: embedded defaults, then the file
// (if any), then the flags, then validation. Every problem found is in the
// error.
func LoadNode(f NodeFlags) (Config, error) {
	c := Default()
	var parseErr error
	if f.Config != "" {
		src, err := os.ReadFile(f.Config)
		if err != nil {
			return c, fmt.Errorf("cannot read config: %w", err)
		}
		// A file that does not parse still gets validated, so the
		// operator sees every problem at once.
		c, parseErr = Parse(src)
	}
	f.apply(&c)
	if f.Port == nil && c.Node.Port == DefaultPort {
		// A node listed in cluster.nodes listens on its listed port.
		if m, ok := c.Self(); ok {
			if _, port, err := net.SplitHostPort(m.Address); err == nil {
				if n, err := strconv.Atoi(port); err == nil {
					c.Node.Port = n
				}
			}
		}
	}
	if err := errors.Join(parseErr, c.Validate()); err != nil {
		return c, fmt.Errorf("invalid configuration %s:\n%w", f.Config, err)
	}
	return c, nil
}

func (f NodeFlags) apply(c *Config) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Node.ID, f.NodeID)
	set(&c.Node.Bind, f.Bind)
	set(&c.Node.DataDir, f.DataDir)
	set(&c.Node.HTTPAddr, f.HTTPAddr)
	set(&c.Performance.Fsync, f.Fsync)
	set(&c.Log.Level, f.LogLevel)
	if f.Port != nil {
		c.Node.Port = *f.Port
	}
	if f.MinFree != nil {
		c.Storage.MinFree = *f.MinFree
	}
}
