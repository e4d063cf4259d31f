package stages

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/route"
	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/stages/fanout"
)

// adminTimeout bounds how long an admin read waits for the fanout workers.
const adminTimeout = 5 * time.Second

func (h *httpServer) routeAdmin() {
	h.mux.HandleFunc("GET /v1/status", h.v1Status)
	h.mux.HandleFunc("GET /v1/destinations", h.v1Destinations)
	h.mux.HandleFunc("GET /v1/destinations/{name}", h.v1Destination)
	h.mux.HandleFunc("GET /v1/destinations/{name}/groups", h.v1Groups)
	h.mux.HandleFunc("GET /v1/destinations/{name}/groups/{group}", h.v1Group)
	h.routeAdminWrites()
}

func (h *httpServer) v1Status(w http.ResponseWriter, r *http.Request) {
	n := h.n
	dests, err := n.destinations(r.Context(), "")
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	status, errText := n.status()
	writeJSON(w, http.StatusOK, adminapi.Status{
		NodeID: n.opts.NodeID, Cluster: n.opts.ClusterName, Version: n.version(), Status: status, Error: errText,
		Addr: n.server.Addr().String(), UptimeSeconds: time.Since(n.start).Seconds(),
		Partitions: n.opts.Partitions, PartitionsLed: n.owners.Load().Led([]uint32{}),
		Destinations: len(dests), Connections: n.server.Connections(),
	})
}

// readHere returns nil if this node answers a read of dest: it holds a
// replica of dest's partition (a follower's may lag), and leads it when
// the request asks for the leader's answer (adminapi.QueryLeader, as
// swarmctl does). Otherwise the answer is 421 naming the leader.
func (n *Node) readHere(r *http.Request, dest []byte) error {
	if r.URL.Query().Has(adminapi.QueryLeader) || !n.holds(route.Partition(dest, n.opts.Partitions)) {
		return n.leadsDest(dest)
	}
	return nil
}

// holds reports whether partition p is replicated here (every partition
// on a single node).
func (n *Node) holds(p uint32) bool {
	if n.cluster == nil {
		return true
	}
	_, found := slices.BinarySearch(n.cluster.hosted, p)
	return found
}

// version is the node's build, "unknown" if not stamped.
func (n *Node) version() string {
	if n.opts.Version == "" {
		return "unknown"
	}
	return n.opts.Version
}

func (h *httpServer) v1Destinations(w http.ResponseWriter, r *http.Request) {
	dests, err := h.n.destinations(r.Context(), "")
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, dests)
}

func (h *httpServer) v1Destination(w http.ResponseWriter, r *http.Request) {
	if d, ok := h.destination(w, r); ok {
		writeJSON(w, http.StatusOK, d)
	}
}

func (h *httpServer) v1Groups(w http.ResponseWriter, r *http.Request) {
	if d, ok := h.destination(w, r); ok {
		writeJSON(w, http.StatusOK, d.Groups)
	}
}

func (h *httpServer) v1Group(w http.ResponseWriter, r *http.Request) {
	d, ok := h.destination(w, r)
	if !ok {
		return
	}
	name := r.PathValue("group")
	i := slices.IndexFunc(d.Groups, func(g adminapi.Group) bool { return g.Name == name })
	if i < 0 {
		writeError(w, http.StatusNotFound, "no group "+name+" on destination "+d.Name)
		return
	}
	writeJSON(w, http.StatusOK, d.Groups[i])
}

// destination finds the destination named in r's path, or answers the
// error itself and returns false. readHere says which node answers.
func (h *httpServer) destination(w http.ResponseWriter, r *http.Request) (adminapi.Destination, bool) {
	name := r.PathValue("name")
	if err := h.n.readHere(r, []byte(name)); err != nil {
		answer(w, 0, nil, err)
		return adminapi.Destination{}, false
	}
	dests, err := h.n.destinations(r.Context(), name)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return adminapi.Destination{}, false
	}
	if len(dests) == 0 {
		writeError(w, http.StatusNotFound, "no destination "+name)
		return adminapi.Destination{}, false
	}
	return dests[0], true
}

// destinations reads the destinations (only the one called name, if name
// is not "") from the partitions, on the fanout workers that own them,
// sorted by name.
func (n *Node) destinations(ctx context.Context, name string) ([]adminapi.Destination, error) {
	if n.fan == nil {
		return nil, errors.New("the node is not started")
	}
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	now := n.opts.Now()
	dests := []adminapi.Destination{}
	err := n.fan.InspectLive(ctx, func(p *queue.Partition, l fanout.Live) {
		p.Destinations(func(d queue.DestStats) {
			if name == "" || string(d.Name) == name {
				dests = append(dests, destinationOf(p.ID(), d, now, limitsOf(d.Limits), l))
			}
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(dests, func(a, b adminapi.Destination) int { return strings.Compare(a.Name, b.Name) })
	return dests, nil
}

// destinationOf copies d (views valid only during the callback), with
// the publish counts and group members l knows.
func destinationOf(partition uint32, d queue.DestStats, now int64, lim adminapi.Limits, l fanout.Live) adminapi.Destination {
	out := adminapi.Destination{
		Name: string(d.Name), Partition: partition, Depth: d.Msgs, Bytes: d.Bytes,
		FirstSeq: d.FirstSeq, LastSeq: d.LastSeq, Publish: publishOf(l.Publishes(d.Name)), Limits: lim,
		Groups: make([]adminapi.Group, 0, len(d.Groups)),
	}
	if d.OldestTime != 0 {
		out.OldestAgeSeconds = max(time.Duration(now-d.OldestTime), 0).Seconds()
	}
	for _, g := range d.Groups {
		inFlight := uint64(max(g.Pending, 0))
		out.Groups = append(out.Groups, adminapi.Group{
			Name: string(g.Name), Lag: g.Lag, Pending: g.Lag - min(inFlight, g.Lag), InFlight: g.Pending, AckFloor: g.Floor,
			Redeliveries: g.Redeliveries, DeadLettered: g.DeadLettered, Members: membersOf(l.Members(d.Name, g.Name), now),
		})
	}
	return out
}

func publishOf(p fanout.Publishes) adminapi.Publish {
	return adminapi.Publish{Messages: p.Msgs, Bytes: p.Bytes, MsgsPerSec10s: p.MsgRate10s, MsgsPerSec1m: p.MsgRate1m,
		BytesPerSec10s: p.ByteRate10s, BytesPerSec1m: p.ByteRate1m}
}

func membersOf(ms []fanout.Member, now int64) []adminapi.GroupMember {
	out := make([]adminapi.GroupMember, 0, len(ms))
	for _, m := range ms {
		out = append(out, adminapi.GroupMember{Conn: m.Conn, Remote: m.Remote, ClientID: m.ClientID, Forwarded: m.Forwarded,
			LastFetchAgeSeconds: max(time.Duration(now-m.LastFetch), 0).Seconds(), Delivered: m.Delivered,
			InFlight: m.InFlight, Waiting: m.Waiting})
	}
	return out
}

func limitsOf(l queue.Limits) adminapi.Limits {
	return adminapi.Limits{Retention: l.Retention.String(), MaxMsgs: l.MaxMsgs, MaxBytes: l.MaxBytes, MaxAgeSeconds: l.MaxAge.Seconds(),
		MaxDeliver: l.MaxDeliver, AckTimeoutSeconds: l.AckTimeout.Seconds()}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, adminapi.APIError{Error: msg})
}
