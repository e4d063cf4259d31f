// Package adminapi holds the JSON bodies of the node's admin API
// (/v1/..., docs/admin.md), shared by the node (package stages) and
// swarmctl. It is a leaf: plain types, no goroutines, no I/O.
package adminapi

import "encoding/json"

// Paths of the admin API; a destination or group name is one path
// segment, escaped (url.PathEscape).
const (
	PathStatus       = "/v1/status"
	PathDestinations = "/v1/destinations"
)

// QueryLeader, as a query parameter of a read of one destination
// (?leader=1), asks for the answer of its partition's leader: another
// node answers 421 naming it. Without it any node that holds a replica of
// the partition answers with what it holds (a follower's may lag).
const QueryLeader = "leader"

// Sub-paths of a destination (after PathDestinations/{name}).
const (
	SubPurge    = "/purge"
	SubReplay   = "/replay"
	SubMessages = "/messages/"
	SubGroups   = "/groups"
	SubReset    = "/reset" // after SubGroups/{group}
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
	// Publish is what the node that answers (the partition's leader)
	// stored for the destination.
	Publish Publish `json:"publish"`
	Limits  Limits  `json:"limits"`
	Groups  []Group `json:"groups"`
}

// Publish is what a node stored for a destination as the leader of its
// partition: PUBLISHes it took (directly or forwarded) and committed,
// not duplicates, not refused. Counts are since the node started (or the
// destination was deleted); rates are per second over the last 10
// seconds and the last minute (over the time since the node started, at
// least a second, when that is shorter). Bytes are the messages' wire size
// (header and payload).
type Publish struct {
	Messages       uint64  `json:"messages"`
	Bytes          uint64  `json:"bytes"`
	MsgsPerSec10s  float64 `json:"msgs_per_sec_10s"`
	MsgsPerSec1m   float64 `json:"msgs_per_sec_1m"`
	BytesPerSec10s float64 `json:"bytes_per_sec_10s"`
	BytesPerSec1m  float64 `json:"bytes_per_sec_1m"`
}

// Limits are a destination's effective limits: its own where it set them
// (dest create), else the node's; 0 means unlimited.
type Limits struct {
	Retention         string  `json:"retention"` // "interest" or "limits"
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
	// Redeliveries counts deliveries to the group with attempt > 1, and
	// DeadLettered its messages moved to ".dlq", since the node started
	// (each node counts what it delivered and applied).
	Redeliveries uint64 `json:"redeliveries"`
	DeadLettered uint64 `json:"dead_lettered"`
	// Members are the consumers fetching for the group on the node that
	// answers (the partition's leader), by connection id.
	Members []GroupMember `json:"members"`
}

// GroupMember is one consumer fetching for a group: one connection. It
// is forgotten when its connection closes, or when it has not fetched for
// 10 minutes (twice the longest long poll) with no FETCH waiting.
type GroupMember struct {
	// Conn is the connection's id on the node (as its logs name it); 0
	// stands for every FETCH other cluster members forwarded for their
	// clients (Forwarded), which carry no connection of their own.
	Conn      uint64 `json:"conn"`
	Remote    string `json:"remote,omitempty"`    // the client's address
	ClientID  string `json:"client_id,omitempty"` // from its HELLO
	Forwarded bool   `json:"forwarded,omitempty"`
	// LastFetchAgeSeconds is the time since its last FETCH arrived.
	LastFetchAgeSeconds float64 `json:"last_fetch_age_seconds"`
	// Delivered counts the messages sent to it; InFlight those it holds:
	// not acknowledged, given back, terminated, dead-lettered, expired or
	// delivered again to another member (one whose ack timeout passed
	// counts until it is delivered again).
	Delivered uint64 `json:"delivered"`
	InFlight  int    `json:"in_flight"`
	// Waiting says a FETCH of it is parked: a long poll.
	Waiting bool `json:"waiting"`
}

// APIError is the JSON body of every admin error answer. An answer 421
// (this node does not lead the destination's partition: a write, or a
// read of one destination) names the partition, and its leader when the
// node knows it.
type APIError struct {
	Error     string  `json:"error"`
	Partition *uint32 `json:"partition,omitempty"`
	Leader    string  `json:"leader,omitempty"`
	// MayHaveApplied (with 421) says the change was proposed and the
	// leadership moved before it committed: it may still apply, so it is
	// not safe to send again blindly.
	MayHaveApplied bool `json:"may_have_applied,omitempty"`
}

// CreateDestination is the body of POST /v1/destinations. A zero limit
// takes the node's; -1 makes it unlimited.
type CreateDestination struct {
	Name          string  `json:"name"`
	Retention     string  `json:"retention,omitempty"` // "interest", "limits" or "" (the node's)
	MaxMsgs       int64   `json:"max_msgs,omitempty"`
	MaxBytes      int64   `json:"max_bytes,omitempty"`
	MaxAgeSeconds float64 `json:"max_age_seconds,omitempty"`
}

// EditDestination is the body of PATCH /v1/destinations/{name}: the
// fields given change, the others stay. Values are as in
// CreateDestination: "" or 0 take the node's, -1 is unlimited.
type EditDestination struct {
	Retention     *string  `json:"retention,omitempty"`
	MaxMsgs       *int64   `json:"max_msgs,omitempty"`
	MaxBytes      *int64   `json:"max_bytes,omitempty"`
	MaxAgeSeconds *float64 `json:"max_age_seconds,omitempty"`
}

// Reset is the body of POST /v1/destinations/{name}/groups/{group}/reset.
type Reset struct {
	// To is "earliest", "latest", "seq" (Seq) or "time" (Time).
	To   string `json:"to"`
	Seq  uint64 `json:"seq,omitempty"`
	Time string `json:"time,omitempty"` // RFC 3339
}

// Change is the answer of every write: what was done, once it is in the
// partition's log and applied.
type Change struct {
	Action      string `json:"action"` // create, edit, purge, delete, reset, group-delete, replay
	Destination string `json:"destination"`
	Group       string `json:"group,omitempty"`
	Partition   uint32 `json:"partition"`
	// Messages is how many messages a purge or delete dropped, or a
	// replay moved back.
	Messages uint64 `json:"messages"`
	// NextSeq is, after a reset, the first seq the group reads.
	NextSeq uint64 `json:"next_seq,omitempty"`
}

// Message is the body of GET /v1/destinations/{name}/messages/{seq}: one
// retained message, read without delivering it.
type Message struct {
	Destination string `json:"destination"`
	Seq         uint64 `json:"seq"`
	ID          string `json:"id"` // 32 hex digits
	Producer    uint64 `json:"producer"`
	Timestamp   string `json:"timestamp"` // the producer's time, RFC 3339
	StoredAt    string `json:"stored_at"` // the time of the record that stored it
	KeyID       uint32 `json:"key_id"`    // 0: not sealed
	Size        int    `json:"size"`      // payload bytes
	Payload     []byte `json:"payload"`   // base64 in JSON; sealed bytes if key_id is not 0
	// Headers are the message's header fields in their stored order
	// (docs/protocol.md §6); absent when it has none.
	Headers []HeaderField `json:"headers,omitempty"`
	// DeadLetter is, for a message of a ".dlq" destination, where it came
	// from (absent if the node does not know: dead-lettered by an older
	// version).
	DeadLetter *DeadLetter `json:"dead_letter,omitempty"`
}

// HeaderField is one field of a message's header block.
type HeaderField struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// DeadLetter says why and from where a message was dead-lettered.
type DeadLetter struct {
	Destination string `json:"destination"` // where it was published
	Group       string `json:"group"`       // the group that gave up on it
	Seq         uint64 `json:"seq"`         // its seq there
	Attempts    uint32 `json:"attempts"`    // deliveries to the group
	Reason      string `json:"reason"`      // "max_deliver": delivered that many times without an ack
}

// PathHealth is the node's health, read by probes and by swarmctl status.
const PathHealth = "/health"

// Health is the part of the node's /health body (answered 200 when the
// node is ok, 503 otherwise) that swarmctl reads; the node's body has more
// (docs/admin.md, docs/cluster.md).
type Health struct {
	NodeID        string   `json:"node_id"`
	Cluster       string   `json:"cluster"`
	Version       string   `json:"version"`
	Status        string   `json:"status"`
	Error         string   `json:"error,omitempty"`
	Addr          string   `json:"addr"`
	UptimeSeconds float64  `json:"uptime_seconds"`
	Partitions    uint32   `json:"partitions"`
	PartitionsLed []uint32 `json:"partitions_led"`
	// Members and Replicas are a cluster member's (absent on a single
	// node).
	Members  []Member  `json:"members,omitempty"`
	Replicas []Replica `json:"replicas,omitempty"`
	// Incarnation is the node's incarnation, if the node reports one
	// (kept as the node wrote it).
	Incarnation json.RawMessage `json:"incarnation,omitempty"`
}

// Member is one node of the cluster (cluster.nodes), as /health lists
// them: this node included, sorted by id.
type Member struct {
	ID     string `json:"id"`
	Client string `json:"client"`         // the address clients dial
	Peer   string `json:"peer"`           // the address nodes dial
	HTTP   string `json:"http,omitempty"` // the admin address; "" if not known
}

// Replica is one partition replicated on the node that answers /health,
// as its raft log sees it.
type Replica struct {
	Partition uint32 `json:"partition"`
	// Leader is the leader's node id as this node knows it ("" none known);
	// Term the raft term.
	Leader string `json:"leader"`
	Term   uint64 `json:"term"`
	// Commit is the commit index this node knows, Applied how far its
	// raft log has handed committed entries to be applied.
	Commit  uint64 `json:"commit"`
	Applied uint64 `json:"applied"`
	// Replicas are the nodes that replicate the partition (placement).
	Replicas []string `json:"replicas"`
}

// ClusterStatus is what swarmctl status prints for a cluster (--json):
// every node's /health, put together.
type ClusterStatus struct {
	Cluster    string            `json:"cluster"`
	Partitions uint32            `json:"partitions"`
	Nodes      []ClusterNode     `json:"nodes"`
	Placement  []PartitionStatus `json:"placement"`
}

// ClusterNode is one member in ClusterStatus.
type ClusterNode struct {
	Member
	// Up says the node answered /health; Error says why not.
	Up            bool            `json:"up"`
	Error         string          `json:"error,omitempty"`
	Status        string          `json:"status,omitempty"` // its health: ok, catching_up, disk_full, ...
	Reason        string          `json:"reason,omitempty"` // why it is not ok
	Version       string          `json:"version,omitempty"`
	UptimeSeconds float64         `json:"uptime_seconds,omitempty"`
	Incarnation   json.RawMessage `json:"incarnation,omitempty"`
	PartitionsLed []uint32        `json:"partitions_led"`
}

// PartitionStatus is one partition in ClusterStatus: its leader (the node
// that says it leads it; "" none up) and its replicas.
type PartitionStatus struct {
	Partition uint32          `json:"partition"`
	Leader    string          `json:"leader"`
	Term      uint64          `json:"term"`
	Replicas  []ReplicaStatus `json:"replicas"`
}

// ReplicaStatus is one replica of a partition. ApplyLag is the entries
// the leader knows committed that the replica has not applied (against its
// own commit index when the leader did not answer); absent when the
// replica's node did not answer.
type ReplicaStatus struct {
	ID       string  `json:"id"`
	Up       bool    `json:"up"`
	Applied  uint64  `json:"applied"`
	ApplyLag *uint64 `json:"apply_lag,omitempty"`
}
