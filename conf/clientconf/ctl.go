package clientconf

import (
	"time"

	"github.com/alecthomas/kong"
)

// Defaults of swarmctl.
const (
	// DefaultAdminHTTP is the node's admin HTTP address swarmctl asks (the
	// node's node.http_addr default).
	DefaultAdminHTTP = "127.0.0.1:8080"
	// DefaultCtlTimeout bounds each request of swarmctl.
	DefaultCtlTimeout = 5 * time.Second
	// DefaultLeaderWait bounds how long swarmctl waits for a partition's
	// leader to be known (an election) before it gives up.
	DefaultLeaderWait = 10 * time.Second
)

// CtlVars are the kong variables CtlFlags' defaults refer to.
func CtlVars() kong.Vars {
	return kong.Vars{"default_http": DefaultAdminHTTP, "default_ctl_timeout": DefaultCtlTimeout.String(),
		"default_leader_wait": DefaultLeaderWait.String()}
}

// CtlFlags is the command line of swarmctl (parsed by kong with CtlVars);
// the help tags document the fields. The command kong selects (such as
// "status", "dest info <name>", "group reset <dest> <group>") says which
// one to run.
type CtlFlags struct {
	HTTP    string        `name:"http" help:"The node's admin HTTP address (node.http_addr, not the client port); a comma-separated list is tried in order and the first that answers is used (default: ${default})." default:"${default_http}" placeholder:"HOST:PORT[,HOST:PORT]"`
	JSON    bool          `name:"json" help:"Print the node's JSON instead of a table."`
	Timeout time.Duration `help:"Bound of each request to the node (default: ${default})." default:"${default_ctl_timeout}" placeholder:"DURATION"`
	// LeaderWait bounds the wait for a partition's leader during an
	// election (a request to a node that does not lead the destination's
	// partition goes to its leader).
	LeaderWait time.Duration `name:"leader-wait" help:"In a cluster, how long to wait for a destination's partition to have a leader (an election) before giving up (default: ${default})." default:"${default_leader_wait}" placeholder:"DURATION"`

	Status struct{} `cmd:"" help:"The node (id, version, health, uptime, partitions led, destinations) or, for a cluster member, the cluster: every node and every partition's leader and replicas."`
	Dest   struct {
		Ls   struct{} `cmd:"" help:"Destinations with depth, bytes, oldest message age, last seq, publish rate (10s, 1m), messages published and groups."`
		Info struct {
			Name string `arg:"" help:"Destination name."`
		} `cmd:"" help:"One destination: its counters and publish rate, its limits and every group's lag, pending and in flight."`
		Create struct {
			Name      string        `arg:"" help:"Destination name."`
			Retention string        `help:"interest (a message goes once every group acknowledged it) or limits (messages stay until the limits drop them, whatever was acknowledged); default: the node's." enum:"interest,limits," default:""`
			MaxMsgs   int64         `name:"max-msgs" help:"Most messages retained (0: the node's, -1: unlimited)."`
			MaxBytes  int64         `name:"max-bytes" help:"Most payload bytes retained (0: the node's, -1: unlimited)."`
			MaxAge    time.Duration `name:"max-age" help:"Messages older than this are dropped (0: the node's, -1s: unlimited)."`
		} `cmd:"" help:"Create a destination with its own retention and limits (over the node's)."`
		Edit struct {
			Name      string         `arg:"" help:"Destination name."`
			Retention *string        `help:"interest or limits; \"\" for the node's." enum:"interest,limits,"`
			MaxMsgs   *int64         `name:"max-msgs" help:"Most messages retained (0: the node's, -1: unlimited)."`
			MaxBytes  *int64         `name:"max-bytes" help:"Most payload bytes retained (0: the node's, -1: unlimited)."`
			MaxAge    *time.Duration `name:"max-age" help:"Messages older than this are dropped (0: the node's, -1s: unlimited)."`
		} `cmd:"" help:"Change an existing destination's retention or limits (only the flags given); messages already stored stay."`
		Purge struct {
			Name  string `arg:"" help:"Destination name."`
			Force bool   `help:"Do not ask for confirmation."`
		} `cmd:"" help:"Drop every message of a destination (its groups are done with them; seqs go on)."`
		Delete struct {
			Name  string `arg:"" help:"Destination name."`
			Force bool   `help:"Do not ask for confirmation."`
		} `cmd:"" help:"Delete a destination: its messages, groups and limits."`
	} `cmd:"" help:"Inspect and manage destinations."`
	Group struct {
		Ls struct {
			Dest string `arg:"" help:"Destination name."`
		} `cmd:"" help:"The consumer groups of a destination."`
		Info struct {
			Dest  string `arg:"" help:"Destination name."`
			Group string `arg:"" help:"Group name."`
		} `cmd:"" help:"One consumer group: lag, pending, in flight, ack floor, and its members (the connections fetching for it)."`
		Reset struct {
			Dest  string `arg:"" help:"Destination name."`
			Group string `arg:"" help:"Group name."`
			Value string `arg:"" optional:"" help:"The seq or time of --to seq or --to time (or write --to seq:N, --to time:T)."`
			To    string `required:"" help:"Where the group goes: earliest, latest, seq N, or time T (RFC 3339)." placeholder:"POSITION"`
		} `cmd:"" help:"Move a group: it reads again (or skips) from the position on."`
		Delete struct {
			Dest  string `arg:"" help:"Destination name."`
			Group string `arg:"" help:"Group name."`
			Force bool   `help:"Do not ask for confirmation."`
		} `cmd:"" help:"Delete a consumer group."`
	} `cmd:"" help:"Inspect and manage consumer groups."`
	Msg struct {
		Get struct {
			Dest string `arg:"" help:"Destination name."`
			Seq  uint64 `arg:"" help:"The message's seq."`
			Raw  bool   `help:"Write only the payload's bytes."`
		} `cmd:"" help:"Show one retained message without delivering it."`
	} `cmd:"" help:"Read messages."`
	DLQ struct {
		Replay struct {
			Dest string `arg:"" help:"The destination whose dead letters (DEST.dlq) go back to it."`
		} `cmd:"" help:"Move every message of DEST.dlq back to DEST, under new seqs, ids unchanged."`
	} `cmd:"" name:"dlq" help:"Dead-letter destinations."`
}
