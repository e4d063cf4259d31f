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
)

// CtlVars are the kong variables CtlFlags' defaults refer to.
func CtlVars() kong.Vars {
	return kong.Vars{"default_http": DefaultAdminHTTP, "default_ctl_timeout": DefaultCtlTimeout.String()}
}

// CtlFlags is the command line of swarmctl (parsed by kong with CtlVars);
// the help tags document the fields. The command kong selects
// ("status", "dest ls", "dest info <name>", "group ls <dest>",
// "group info <dest> <group>") says which one to run.
type CtlFlags struct {
	HTTP    string        `name:"http" help:"The node's admin HTTP address (node.http_addr, not the client port); a comma-separated list is tried in order and the first that answers is used (default: ${default})." default:"${default_http}" placeholder:"HOST:PORT[,HOST:PORT]"`
	JSON    bool          `name:"json" help:"Print the node's JSON instead of a table."`
	Timeout time.Duration `help:"Bound of each request to the node (default: ${default})." default:"${default_ctl_timeout}" placeholder:"DURATION"`

	Status struct{} `cmd:"" help:"The node: id, version, health, uptime, partitions led, destinations."`
	Dest   struct {
		Ls   struct{} `cmd:"" help:"Destinations with depth, bytes, oldest message age, last seq and groups."`
		Info struct {
			Name string `arg:"" help:"Destination name."`
		} `cmd:"" help:"One destination: its counters, its limits and every group's lag, pending and in flight."`
	} `cmd:"" help:"Inspect destinations."`
	Group struct {
		Ls struct {
			Dest string `arg:"" help:"Destination name."`
		} `cmd:"" help:"The consumer groups of a destination."`
		Info struct {
			Dest  string `arg:"" help:"Destination name."`
			Group string `arg:"" help:"Group name."`
		} `cmd:"" help:"One consumer group: lag, pending, in flight, ack floor."`
	} `cmd:"" help:"Inspect consumer groups."`
}
