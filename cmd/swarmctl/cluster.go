package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/swarmmq/swarmmq/stages/adminapi"
)

// firstHealth reads /health from the first address of the --http list
// that answers, and remembers the members it lists.
func (a *api) firstHealth(ctx context.Context) (adminapi.Health, error) {
	var h adminapi.Health
	body, code, addr, err := a.sendFirst(ctx, http.MethodGet, "", adminapi.PathHealth, nil)
	if err != nil {
		return h, err
	}
	if code != http.StatusOK && code != http.StatusServiceUnavailable {
		return h, fmt.Errorf("node %s answered /health %d: %s", addr, code, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return h, fmt.Errorf("node %s answered /health with JSON this swarmctl does not read: %w", addr, err)
	}
	a.learn(h)
	return h, nil
}

// status prints the node (a single node) or the cluster (a member: every
// node's /health put together).
func status(ctx context.Context, a *api, asJSON bool, out io.Writer) error {
	h, err := a.firstHealth(ctx)
	if err != nil {
		return err
	}
	if len(h.Members) == 0 {
		return show(ctx, a, adminapi.PathStatus, asJSON, out, printStatus)
	}
	cs := clusterStatus(h, a.healths(ctx, h))
	if asJSON {
		b, err := json.MarshalIndent(cs, "", "  ")
		if err != nil {
			return err
		}
		_, err = out.Write(append(b, '\n'))
		return err
	}
	return printCluster(out, cs)
}

// nodeHealth is one member's /health, or why it did not answer.
type nodeHealth struct {
	member adminapi.Member
	h      adminapi.Health
	err    error
}

// healths reads every member's /health (first's is known already), all
// at once; in the order of the member list.
func (a *api) healths(ctx context.Context, first adminapi.Health) []nodeHealth {
	out := make([]nodeHealth, len(first.Members))
	var wg sync.WaitGroup
	for i, m := range first.Members {
		out[i].member = m
		switch {
		case m.ID == first.NodeID:
			out[i].h = first
		case m.HTTP == "":
			out[i].err = fmt.Errorf("no admin address known (no http_address in cluster.nodes)")
		default:
			wg.Go(func() { out[i].h, out[i].err = a.health(ctx, m.HTTP) })
		}
	}
	wg.Wait()
	return out
}

// clusterStatus puts the members' healths together. A partition's leader
// is the node that says it leads it (the highest term if two do, for a
// moment); a replica's apply lag is against the leader's commit index
// when the leader answered, else against its own.
func clusterStatus(first adminapi.Health, nodes []nodeHealth) adminapi.ClusterStatus {
	cs := adminapi.ClusterStatus{Cluster: first.Cluster, Partitions: first.Partitions,
		Nodes: []adminapi.ClusterNode{}, Placement: []adminapi.PartitionStatus{}}
	// replicas[p][id] is node id's view of partition p.
	replicas := make([]map[string]adminapi.Replica, first.Partitions)
	for _, n := range nodes {
		cn := adminapi.ClusterNode{Member: n.member, PartitionsLed: []uint32{}}
		if n.err != nil {
			cn.Error = n.err.Error()
			cs.Nodes = append(cs.Nodes, cn)
			continue
		}
		cn.Up, cn.Status, cn.Reason, cn.Version = true, n.h.Status, n.h.Error, n.h.Version
		cn.UptimeSeconds, cn.Incarnation = n.h.UptimeSeconds, n.h.Incarnation
		cn.PartitionsLed = append(cn.PartitionsLed, n.h.PartitionsLed...)
		cs.Nodes = append(cs.Nodes, cn)
		for _, r := range n.h.Replicas {
			if r.Partition >= first.Partitions {
				continue
			}
			if replicas[r.Partition] == nil {
				replicas[r.Partition] = map[string]adminapi.Replica{}
			}
			replicas[r.Partition][n.member.ID] = r
		}
	}
	for p := range first.Partitions {
		cs.Placement = append(cs.Placement, partitionStatus(p, cs.Nodes, replicas[p]))
	}
	return cs
}

// partitionStatus is partition p as the nodes' views tell it.
func partitionStatus(p uint32, nodes []adminapi.ClusterNode, views map[string]adminapi.Replica) adminapi.PartitionStatus {
	ps := adminapi.PartitionStatus{Partition: p, Replicas: []adminapi.ReplicaStatus{}}
	var set []string
	for _, v := range views {
		set = v.Replicas
		ps.Term = max(ps.Term, v.Term)
	}
	for _, n := range nodes {
		if v, ok := views[n.ID]; ok && slices.Contains(n.PartitionsLed, p) && (ps.Leader == "" || v.Term >= ps.Term) {
			ps.Leader, ps.Term = n.ID, v.Term
		}
	}
	leader, leaderUp := views[ps.Leader]
	for _, id := range set {
		rs := adminapi.ReplicaStatus{ID: id}
		if v, ok := views[id]; ok {
			commit := v.Commit
			if leaderUp {
				commit = max(commit, leader.Commit)
			}
			lag := commit - min(v.Applied, commit)
			rs.Up, rs.Applied, rs.ApplyLag = true, v.Applied, &lag
		}
		ps.Replicas = append(ps.Replicas, rs)
	}
	return ps
}

func printCluster(out io.Writer, cs adminapi.ClusterStatus) error {
	up, led := 0, 0
	for _, n := range cs.Nodes {
		if n.Up {
			up++
		}
	}
	for _, p := range cs.Placement {
		if p.Leader != "" {
			led++
		}
	}
	fmt.Fprintf(out, "Cluster %s: %d of %d nodes up, %d of %d partitions with a leader\n\n", cs.Cluster, up, len(cs.Nodes), led, cs.Partitions)
	incarnation := slices.ContainsFunc(cs.Nodes, func(n adminapi.ClusterNode) bool { return len(n.Incarnation) > 0 })
	tw := table(out)
	head := "NODE\tHEALTH\tVERSION\tUPTIME\tLEADS"
	if incarnation {
		head += "\tINCARNATION"
	}
	fmt.Fprintln(tw, head+"\tCLIENT\tPEER\tHTTP")
	var down []string
	for _, n := range cs.Nodes {
		health, version, uptime, leads, inc := "down", "-", "-", "-", "-"
		if n.Up {
			health, version, uptime, leads = n.Status, n.Version, seconds(n.UptimeSeconds), strconv.Itoa(len(n.PartitionsLed))
			if len(n.Incarnation) > 0 {
				inc = strings.Trim(string(n.Incarnation), `"`)
			}
			if n.Reason != "" {
				down = append(down, fmt.Sprintf("%s is %s: %s", n.ID, n.Status, n.Reason))
			}
		} else {
			down = append(down, fmt.Sprintf("%s is down: %s", n.ID, n.Error))
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", n.ID, health, version, uptime, leads)
		if incarnation {
			row += "\t" + inc
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row, dash(n.Client), dash(n.Peer), dash(n.HTTP))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range down {
		fmt.Fprintln(out, d)
	}
	fmt.Fprintln(out)
	tw = table(out)
	fmt.Fprintln(tw, "PARTITION\tLEADER\tTERM\tREPLICAS (APPLY LAG)")
	for _, p := range cs.Placement {
		leader, term := "-", "-"
		if p.Leader != "" {
			leader, term = p.Leader, strconv.FormatUint(p.Term, 10)
		}
		reps := make([]string, len(p.Replicas))
		for i, r := range p.Replicas {
			lag := "down"
			if r.ApplyLag != nil {
				lag = strconv.FormatUint(*r.ApplyLag, 10)
			}
			reps[i] = r.ID + " " + lag
		}
		replicas := strings.Join(reps, ", ")
		if replicas == "" {
			replicas = "(no replica answered)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", p.Partition, leader, term, replicas)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// destinations lists the destinations: a single node's, or in a cluster
// each partition's from its leader (the node that says it leads it), with
// a warning on warn for the partitions no node that answered leads.
func destinations(ctx context.Context, a *api, asJSON bool, out, warn io.Writer) error {
	h, err := a.firstHealth(ctx)
	if err != nil {
		return err
	}
	if len(h.Members) == 0 {
		return show(ctx, a, adminapi.PathDestinations, asJSON, out, printDestinations)
	}
	nodes := a.healths(ctx, h)
	lists := make([][]adminapi.Destination, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		if n.err != nil || len(n.h.PartitionsLed) == 0 {
			continue
		}
		wg.Go(func() {
			var body []byte
			var code int
			if body, code, errs[i] = a.send(ctx, http.MethodGet, n.member.HTTP, adminapi.PathDestinations, nil); errs[i] == nil {
				_, errs[i] = a.decode(n.member.HTTP, adminapi.PathDestinations, body, code, &lists[i])
			}
		})
	}
	wg.Wait()
	all := []adminapi.Destination{}
	covered := make([]bool, h.Partitions)
	for i, n := range nodes {
		if errs[i] != nil {
			fmt.Fprintf(warn, "swarmctl: %s: %v\n", n.member.ID, errs[i])
			continue
		}
		if n.err != nil {
			continue
		}
		for _, p := range n.h.PartitionsLed {
			if p < h.Partitions {
				covered[p] = true
			}
		}
		for _, d := range lists[i] {
			if slices.Contains(n.h.PartitionsLed, d.Partition) {
				all = append(all, d)
			}
		}
	}
	slices.SortFunc(all, func(x, y adminapi.Destination) int { return strings.Compare(x.Name, y.Name) })
	var missing []string
	for p, ok := range covered {
		if !ok {
			missing = append(missing, strconv.Itoa(p))
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(warn, "swarmctl: no leader answered for partitions %s: their destinations are not listed (swarmctl status)\n",
			strings.Join(missing, ", "))
	}
	if asJSON {
		b, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		_, err = out.Write(append(b, '\n'))
		return err
	}
	return printDestinations(out, all)
}
