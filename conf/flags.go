package conf

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// NodeFlags is the command line of the node binary (parsed by kong). A flag
// that is given beats the config file; nil or empty means "not given".
// Relative paths in flags are relative to the working directory.
type NodeFlags struct {
	Config         string `help:"YAML config file (e.g. configs/mvp-cluster.yaml); relative paths in it are relative to its directory. Without it the node runs on embedded defaults." placeholder:"FILE"`
	NodeID         string `name:"node-id" help:"This node's id among cluster.nodes; required when the config lists more than one node (default: node.id, the only listed node, or node-1)." placeholder:"ID"`
	Port           *int   `help:"Client port (default 9001, or the port of this node's cluster.nodes address; 0 = any free port)." placeholder:"PORT"`
	Bind           string `help:"Interface the client port listens on (default 127.0.0.1)." placeholder:"IP"`
	DataDir        string `name:"data-dir" help:"Directory of the Pebble log (default ./data)." placeholder:"DIR"`
	HTTPAddr       string `name:"http-addr" help:"Address of /health, /ready, /metrics and /debug/pprof, or off (default: this node's cluster.nodes http_address, else 127.0.0.1:8080)." placeholder:"HOST:PORT"`
	Fsync          string `help:"always (every ack is fsynced, default) or interval." enum:",always,interval" default:""`
	MinFree        *Size  `name:"min-free" help:"Free space kept on the data directory's disk: below it publishes are refused with DISK_FULL; at least 32MB, or 0 = no reserve (default 256MB)." placeholder:"SIZE"`
	LogLevel       string `name:"log-level" help:"debug, info, warn or error." enum:",debug,info,warn,error" default:""`
	Dump           bool   `name:"print-config" help:"Print the effective config as YAML and exit."`
	Check          bool   `name:"check-config" help:"Validate the config (a cluster's too), print this node's resolved view of it and exit: 0 if valid, 1 with every problem listed."`
	GenProducerKey string `name:"gen-producer-key" help:"Write a new producer key (security.producer_key_file, shared by every node of a cluster) to FILE (mode 0600, never overwriting) and exit." placeholder:"FILE"`
	GenKeyring     string `name:"gen-keyring" help:"Write a new keyring with one fresh current key to FILE (mode 0600, never overwriting) and exit." placeholder:"FILE"`
}

// LoadNode builds the effective config: embedded defaults, then the file
// (if any), then the flags, then this node's entry of cluster.nodes, then
// validation. Every problem found is in the error.
func LoadNode(f NodeFlags) (Config, error) {
	c := Default()
	var parseErr error
	if f.Config != "" {
		var err error
		c, err = parseFile(f.Config)
		// A file that does not parse still gets validated, so the
		// operator sees every problem at once.
		if pe, ok := errors.AsType[*parseError](err); ok {
			parseErr = pe.err
		} else if err != nil {
			return c, err
		}
	}
	f.apply(&c)
	c.resolveSelf(f)
	if err := errors.Join(parseErr, c.Validate()); err != nil {
		return c, fmt.Errorf("invalid configuration %s:\n%w", c.source(), err)
	}
	return c, nil
}

// source names where the config came from, for the heading of errors.
func (c *Config) source() string {
	if c.from.file == "" {
		return "(embedded defaults and command-line flags, no --config)"
	}
	return "in " + c.from.file
}

// resolveSelf picks this node's id and takes its port and admin address
// from its cluster.nodes entry where no flag or node key gives them.
func (c *Config) resolveSelf(f NodeFlags) {
	c.from.idFlag = f.NodeID != ""
	if !c.from.idFlag && !c.from.set["node.id"] {
		switch n := len(c.Cluster.Nodes); {
		case n == 1:
			c.Node.ID = c.Cluster.Nodes[0].ID
		case n > 1:
			c.Node.ID = "" // each node of a cluster must say which it is
		}
	}
	if c.Cluster.ReplicationFactor == 0 {
		c.Cluster.ReplicationFactor = c.replicationFactor()
	}
	m, ok := c.Self()
	if !ok {
		return
	}
	if f.Port == nil && !c.from.set["node.port"] {
		if _, port, err := net.SplitHostPort(m.Address); err == nil {
			if n, err := strconv.Atoi(port); err == nil {
				c.Node.Port = n
			}
		}
	}
	if f.HTTPAddr == "" && m.HTTPAddress != "" {
		c.Node.HTTPAddr = m.HTTPAddress
	}
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
	if f.DataDir != "" {
		delete(c.from.written, "node.data_dir")
	}
	if f.Port != nil {
		c.Node.Port = *f.Port
	}
	if f.MinFree != nil {
		c.Storage.MinFree = *f.MinFree
	}
}
