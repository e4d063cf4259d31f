package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/swarmmq/swarmmq/cluster/placement"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio/promtext"
	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/wal"
)

// httpServer serves the admin surface: /health, /ready, /metrics, the
// read-only /v1/ API (admin.go, docs/admin.md) and /debug/pprof/*. It
// owns one goroutine (the HTTP server's accept loop).
type httpServer struct {
	n   *Node
	ln  net.Listener
	srv *http.Server
	mux *http.ServeMux
	g   graph.Group
}

// Health is the JSON body of /health.
type Health struct {
	NodeID        string   `json:"node_id"`
	Cluster       string   `json:"cluster"`
	Status        string   `json:"status"`
	Addr          string   `json:"addr"`
	Partitions    uint32   `json:"partitions"`
	PartitionsLed []uint32 `json:"partitions_led"`
	Peers         []string `json:"peers"`
	Fsync         string   `json:"fsync"`
	TLS           bool     `json:"tls"`
	Sealed        bool     `json:"sealed"`
	UptimeSeconds float64  `json:"uptime_seconds"`
	Connections   int      `json:"connections"`
	Error         string   `json:"error,omitempty"`

	// A cluster member's (absent on a single node): the partitions it
	// replicates and does not lead, the raft term of each it leads (by
	// partition number), and its peer links (Peers lists their ids).
	PartitionsFollowed []FollowedHealth  `json:"partitions_followed,omitempty"`
	PartitionTerms     map[string]uint64 `json:"partition_terms,omitempty"`
	PeerLinks          []PeerHealth      `json:"peer_links,omitempty"`

	// Version is the node binary's build ("unknown" if not stamped).
	Version string `json:"version"`
	// Members (a cluster member's) are every node of cluster.nodes, this
	// one included, with its addresses: swarmctl finds the cluster from
	// any one node. Replicas are the partitions replicated here, led or
	// not, with their raft progress and replica set.
	Members  []adminapi.Member  `json:"members,omitempty"`
	Replicas []adminapi.Replica `json:"replicas,omitempty"`
	// Incarnation is a member's incarnation (cluster/rlog): 0 if it created
	// the cluster, one more at each start on a wiped data directory.
	Incarnation *uint16 `json:"incarnation,omitempty"`
}

func (n *Node) startHTTP() error {
	if n.opts.HTTPAddr == "" || n.opts.HTTPAddr == "off" {
		return nil
	}
	ln, err := net.Listen("tcp", n.opts.HTTPAddr)
	if err != nil {
		return err
	}
	h := &httpServer{n: n, ln: ln, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /health", h.health)
	h.mux.HandleFunc("GET /ready", h.readyz)
	h.mux.HandleFunc("GET /metrics", h.metrics)
	h.routeAdmin()
	h.mux.HandleFunc("/debug/pprof/", pprof.Index)
	h.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	h.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	h.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	h.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	h.g.Go("http", func() error {
		if err := h.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	n.http = h
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		n.opts.Logger.Warn("HTTP admin endpoints (/metrics, /debug/pprof) listen beyond loopback", "addr", ln.Addr().String())
	}
	return nil
}

func (h *httpServer) addr() net.Addr { return h.ln.Addr() }

func (h *httpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *httpServer) stop(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	return errors.Join(err, h.g.Wait())
}

func (h *httpServer) health(w http.ResponseWriter, _ *http.Request) {
	n := h.n
	led := n.owners.Load().Led([]uint32{})
	status, errText := n.status()
	body := Health{
		NodeID: n.opts.NodeID, Cluster: n.opts.ClusterName, Status: status,
		Addr: n.server.Addr().String(), Partitions: n.opts.Partitions, PartitionsLed: led,
		Peers: []string{}, Fsync: n.opts.Sync.String(), TLS: n.opts.TLS != nil, Sealed: n.opts.Keyring != nil,
		UptimeSeconds: time.Since(n.start).Seconds(), Connections: n.server.Connections(),
		Error: errText,
	}
	body.Version = n.version()
	n.clusterHealth(&body)
	h.clusterMembers(&body)
	w.Header().Set("Content-Type", "application/json")
	if status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}

// clusterMembers fills body's Members (sorted by id, so that every node
// lists them in the same order) and Replicas on a cluster member. This
// node's own HTTP address is the one it listens on.
func (h *httpServer) clusterMembers(body *Health) {
	n := h.n
	c := n.opts.Cluster
	if c == nil || n.cluster == nil {
		return
	}
	ids := make([]string, len(c.Members))
	body.Members = make([]adminapi.Member, len(c.Members))
	for i, m := range c.Members {
		ids[i] = m.ID
		body.Members[i] = adminapi.Member{ID: m.ID, Client: m.Client, Peer: m.Peer, HTTP: m.HTTP}
		if m.ID == n.opts.NodeID {
			body.Members[i].HTTP = h.addr().String()
		}
	}
	slices.SortFunc(body.Members, func(a, b adminapi.Member) int { return strings.Compare(a.ID, b.ID) })
	body.Replicas = []adminapi.Replica{}
	for _, s := range n.cluster.log.Status() {
		replicas, err := placement.Replicas(s.Partition, ids, c.ReplicationFactor)
		if err != nil {
			replicas = []string{}
		}
		body.Replicas = append(body.Replicas, adminapi.Replica{Partition: s.Partition, Leader: s.Leader, Term: s.Term,
			Commit: s.Commit, Applied: s.Applied, Replicas: replicas})
	}
}

func (h *httpServer) readyz(w http.ResponseWriter, _ *http.Request) {
	if status, errText := h.n.status(); status != "ok" {
		http.Error(w, "not ready: "+status+" "+errText+"\n", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// metrics serves the node's set, then the Go runtime and process metrics,
// in the Prometheus text format with HELP and TYPE lines (netio/promtext).
func (h *httpServer) metrics(w http.ResponseWriter, _ *http.Request) {
	var buf bytes.Buffer
	h.n.opts.Metrics.WritePrometheus(&buf)
	metrics.WriteProcessMetrics(&buf)
	metrics.WriteFDMetrics(&buf)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = promtext.Write(w, buf.Bytes())
}

// status is "ok", "stopping", "disk_full" (new messages are refused with
// DISK_FULL until space returns, by itself), or "failed" (the log failed:
// every publish and ack now answers STORAGE until the node is restarted).
func (n *Node) status() (string, string) {
	if st, err := n.health(); st != wal.HealthOK {
		return st, err.Error()
	}
	if !n.ready.Load() {
		return "stopping", ""
	}
	if !n.caughtUp() {
		return "catching_up", "a replicated partition has no known leader or has not applied its committed entries yet"
	}
	return "ok", ""
}
