// Package adminapi holds the JSON bodies of the node's read-only admin
// API (GET /v1/..., docs/admin.md), shared by the node (package stages)
// and swarmctl. It is a leaf: plain types, no goroutines, no I/O.
package adminapi

// Paths of the admin API; a destination or group name is one path
// segment, escaped (url.PathEscape).
const (
	PathStatus       = "/v1/status"
	PathDestinations = "/v1/destinations"
)

// Status is the JSON body of GET /v1/status.
type Status struct {
	NodeID        string   `json:"node_id"`
	Cluster       string   `json:"cluster"`
	Version       string   `json:"version"`
	Status        string   `json:"status"`
	Error         string   `json:"error,omitempty"`
	Addr          string   `json:"addr"`
	UptimeSeconds float64  `json:"uptime_seconds"`
	Partitions    uint32   `json:"partitions"`
	PartitionsLed []uint32 `json:"partitions_led"`
	Destinations  int      `json:"destinations"`
	Connections   int      `json:"connections"`
}

// Destination is one destination in GET /v1/destinations and the body of
// GET /v1/destinations/{name}.
type Destination struct {
	Name      string `json:"name"`
	Partition uint32 `json:"partition"`
	// Depth is the number of retained messages, Bytes their payload bytes.
	Depth    int64  `json:"depth"`
	Bytes    int64  `json:"bytes"`
	FirstSeq uint64 `json:"first_seq"` // the oldest retained seq (last_seq+1 when empty)
	LastSeq  uint64 `json:"last_seq"`
	// OldestAgeSeconds is the age of the oldest retained message, 0 when
	// none is retained.
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	Limits           Limits  `json:"limits"`
	Groups           []Group `json:"groups"`
}

// Limits are a destination's limits (today the node's, for every
// destination); 0 means unlimited.
type Limits struct {
	MaxMsgs           int64   `json:"max_msgs"`
	MaxBytes          int64   `json:"max_bytes"`
	MaxAgeSeconds     float64 `json:"max_age_seconds"`
	MaxDeliver        int     `json:"max_deliver"`
	AckTimeoutSeconds float64 `json:"ack_timeout_seconds"`
}

// Group is one consumer group of a destination, and the body of
// GET /v1/destinations/{name}/groups/{group}.
type Group struct {
	Name string `json:"name"`
	// Lag is the messages up to last_seq the group has not finished
	// (acknowledged or dead-lettered): pending plus in flight.
	Lag uint64 `json:"lag"`
	// Pending is the part of Lag not delivered right now (never
	// delivered, or given back and waiting for redelivery).
	Pending uint64 `json:"pending"`
	// InFlight is delivered and not yet acknowledged.
	InFlight int `json:"in_flight"`
	// AckFloor: every seq below it is finished for the group.
	AckFloor uint64 `json:"ack_floor"`
}

// APIError is the JSON body of every admin error answer.
type APIError struct {
	Error string `json:"error"`
}
