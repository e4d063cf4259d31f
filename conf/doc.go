// Package conf holds SwarmMQ's configuration: the YAML schema of a node's
// config file, the kong command-line structs of the binaries, and the rules
// that merge them (a flag beats the file, the file beats the defaults).
//
// Decoding is strict: every unknown key and every bad value is reported, all
// at once, with its path (for example "performance.ack_timeout: invalid
// duration \"5x\""), so an operator fixes a config in one pass. Defaults come
// from each package's DefaultX constants.
//
// A relative path written in the file (node.data_dir and the security
// files) is relative to the file's directory; one given as a flag, or a
// default, is relative to the working directory.
//
// The cluster section is static membership: every node of a cluster runs
// the same file with its own --node-id. LoadNode resolves this node's entry
// (its port, its admin address) and Config.Membership gives the resolved
// view the cluster parts are built from: this node (Self), the others
// (Peers), the partition count and the replication factor. Validation
// checks the whole list (distinct ids and addresses, a peer address on
// every node of a multi-node cluster, an odd replication factor no larger
// than the node count) and lists every problem with its key path.
//
// Sizes are written like "512KB", "1MB", "2GiB" or a plain byte count; KB, MB
// and GB are binary multiples (1024), as in most broker configs. Durations use
// Go's syntax: "5s", "2m", "150ms".
//
// The package is pure: it reads the bytes it is given and never starts a
// goroutine.
package conf
