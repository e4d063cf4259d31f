// Command swarmctl shows and manages what a SwarmMQ node holds, through
// the node's admin HTTP API (docs/admin.md):
//
//	swarmctl status                          # the node: id, version, health, uptime, partitions led;
//	                                         # a cluster member: every node, each partition's leader and replicas
//	swarmctl dest ls                         # destinations: depth, bytes, oldest age, last seq, publish rate, groups
//	swarmctl dest info orders                # one destination, its limits and its groups
//	swarmctl dest create audit --retention limits --max-age 168h
//	swarmctl dest edit audit --max-age 720h  # only the limits given change
//	swarmctl dest purge orders               # asks first, unless --force
//	swarmctl dest delete orders              # asks first, unless --force
//	swarmctl group ls orders                 # the groups of a destination
//	swarmctl group info orders billing       # one group: lag, pending, in flight, its members
//	swarmctl group reset orders billing --to earliest|latest|seq N|time 2026-12-05T17:00:00Z
//	swarmctl group delete orders billing     # asks first, unless --force
//	swarmctl msg get orders 42               # one message, not delivered
//	swarmctl dlq replay orders               # orders.dlq back into orders
//	swarmctl --http 10.0.0.5:8080 --json dest ls
//
// --http is the node's admin address (node.http_addr, default
// 127.0.0.1:8080), not its client port; with a comma-separated list the
// first address that answers is used. In a cluster any member will do: a
// request about one destination goes to the leader of its partition (a 421
// followed), waiting up to --leader-wait during an election. Tables are
// for people, --json prints the node's JSON for scripts. It exits 0 on
// success, 1 on an error (the node unreachable, an unknown destination or
// group, no leader) and 2 on a bad command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/swarmmq/swarmmq/cmd/internal/version"
	"github.com/swarmmq/swarmmq/conf/clientconf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// parserOptions are the kong options of the command line.
func parserOptions() []kong.Option {
	return []kong.Option{
		kong.Name("swarmctl"),
		kong.Description("Show and manage what a SwarmMQ node holds, through its admin HTTP address."),
		clientconf.CtlVars(),
		kong.Embed(&version.Flag{}), version.Vars("swarmctl"),
	}
}
