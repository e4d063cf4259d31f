package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/swarmmq/swarmmq/stages/adminapi"
)

// errNotFound marks an answer 404 (an unknown destination or group).
var errNotFound = errors.New("not found")

// api asks a node's admin HTTP API. Not safe for concurrent use: it
// remembers which address answered, and the cluster's members.
type api struct {
	addrs   []string
	timeout time.Duration
	// leaderWait bounds how long a request waits for a partition's leader
	// to be known (an election) before it gives up.
	leaderWait time.Duration
	hc         *http.Client
	// members maps a node id to its admin address, from /health.
	members map[string]string
}

// newAPI returns an api over the comma-separated host:port list addrs.
func newAPI(addrs string, timeout, leaderWait time.Duration) (*api, error) {
	a := &api{timeout: timeout, leaderWait: leaderWait, hc: &http.Client{Timeout: timeout}}
	for _, s := range strings.Split(addrs, ",") {
		if s = strings.TrimSpace(s); s != "" {
			a.addrs = append(a.addrs, strings.TrimPrefix(s, "http://"))
		}
	}
	if len(a.addrs) == 0 {
		return nil, errors.New("--http: no address given (the node's admin HTTP address, host:port)")
	}
	return a, nil
}

// get fetches path from the first address that answers and decodes the
// JSON body into v; it returns the raw body too (for --json). A 404 wraps
// errNotFound with the node's message.
func (a *api) get(ctx context.Context, path string, v any) ([]byte, error) {
	return a.do(ctx, http.MethodGet, path, nil, v)
}

// Bounds of following a partition's leader.
const (
	// leaderBackoffMin and leaderBackoffMax bound the wait between two
	// tries while no leader is known (an election).
	leaderBackoffMin = 50 * time.Millisecond
	leaderBackoffMax = 500 * time.Millisecond
)

// do sends method path with the JSON of in (if not nil) to the first
// address that answers, and decodes the answer into v as get does. An
// answer 421 (the node does not lead the destination's partition) is
// followed: the request goes to the leader it names, at its admin address
// from the member list of /health; while no leader is known (an election)
// it is asked again, with a backoff, for at most leaderWait.
func (a *api) do(ctx context.Context, method, path string, in, v any) ([]byte, error) {
	var reqBody []byte
	if in != nil {
		var err error
		if reqBody, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(a.leaderWait)
	backoff := leaderBackoffMin
	target := "" // "": the --http list
	for hops := 0; ; {
		body, code, addr, err := a.sendFirst(ctx, method, target, path, reqBody)
		if err != nil && target != "" && time.Now().Before(deadline) {
			// The leader named did not answer (it may just have failed):
			// ask the --http list again.
			target = ""
			if err := sleep(ctx, &backoff); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil && target != "" {
			return nil, fmt.Errorf("%w; no other leader was known within %s (--leader-wait)", err, a.leaderWait)
		}
		if err != nil {
			return nil, err
		}
		if code != http.StatusMisdirectedRequest {
			return a.decode(addr, path, body, code, v)
		}
		e := apiError(body)
		switch {
		case e.MayHaveApplied:
			return nil, fmt.Errorf("node %s: %s", addr, e.Error)
		case e.Leader != "" && (hops == 0 || time.Now().Before(deadline)):
			hops++
			leaderAddr, err := a.memberHTTP(ctx, addr, e.Leader)
			if err != nil {
				return nil, err
			}
			if hops > 1 { // the leader named last time did not lead either: let the leadership settle
				if err := sleep(ctx, &backoff); err != nil {
					return nil, err
				}
			}
			target = leaderAddr
			continue
		case time.Now().Before(deadline):
			// No leader known (an election): ask the same node again.
			target = addr
			if err := sleep(ctx, &backoff); err != nil {
				return nil, err
			}
			continue
		}
		return nil, noLeader(addr, e, a.leaderWait)
	}
}

// noLeader says that no leader could be found for the partition of a
// 421 answer e within wait.
func noLeader(addr string, e adminapi.APIError, wait time.Duration) error {
	part := "the destination's partition"
	if e.Partition != nil {
		part = fmt.Sprintf("partition %d", *e.Partition)
	}
	if e.Leader != "" {
		return fmt.Errorf("the leadership of %s kept moving for %s (last: node %s, said by %s); try again", part, wait, e.Leader, addr)
	}
	return fmt.Errorf("no leader is known for %s after waiting %s (--leader-wait): an election is under way or too few "+
		"of its replicas are up (swarmctl status shows them); node %s said: %s", part, wait, addr, e.Error)
}

// sleep waits *backoff (or until ctx ends), then doubles it up to
// leaderBackoffMax.
func sleep(ctx context.Context, backoff *time.Duration) error {
	t := time.NewTimer(*backoff)
	defer t.Stop()
	*backoff = min(*backoff*2, leaderBackoffMax)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apiError reads an error answer's body (its text if it is not the API's
// JSON).
func apiError(body []byte) adminapi.APIError {
	var e adminapi.APIError
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(body))
	}
	return e
}

// decode turns the answer code, body of addr into v, or into an error.
func (a *api) decode(addr, path string, body []byte, code int, v any) ([]byte, error) {
	if code/100 != 2 {
		e := apiError(body)
		switch code {
		case http.StatusNotFound:
			return nil, fmt.Errorf("%s: %w", e.Error, errNotFound)
		case http.StatusBadRequest, http.StatusConflict:
			return nil, errors.New(e.Error)
		}
		return nil, fmt.Errorf("node %s answered %d: %s", addr, code, e.Error)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("node %s answered %s with JSON this swarmctl does not read: %w", addr, path, err)
	}
	return body, nil
}

// sendFirst sends the request to target, or when target is "" to the
// first address of the --http list that answers (remembered for the next
// request). It returns the answer and the address that gave it.
func (a *api) sendFirst(ctx context.Context, method, target, path string, reqBody []byte) ([]byte, int, string, error) {
	if target != "" {
		body, code, err := a.send(ctx, method, target, path, reqBody)
		if err != nil {
			return nil, 0, "", fmt.Errorf("cannot reach %s: %s", target, unreachable(target, err))
		}
		return body, code, target, nil
	}
	var errs []string
	for i, addr := range a.addrs {
		body, code, err := a.send(ctx, method, addr, path, reqBody)
		if err != nil {
			errs = append(errs, unreachable(addr, err))
			continue
		}
		// Keep the address that answered first for the next request.
		a.addrs[0], a.addrs[i] = a.addrs[i], a.addrs[0]
		return body, code, addr, nil
	}
	return nil, 0, "", fmt.Errorf("cannot reach the node's admin HTTP address (--http, node.http_addr; not the client port such as 9001):\n  %s",
		strings.Join(errs, "\n  "))
}

// memberHTTP returns the admin address of node id, from the member list
// of addr's /health (read once, and again when id is not in it).
func (a *api) memberHTTP(ctx context.Context, addr, id string) (string, error) {
	if h, ok := a.members[id]; ok && h != "" {
		return h, nil
	}
	h, err := a.health(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("the leader is node %s; cannot read the member list from %s: %w", id, addr, err)
	}
	a.learn(h)
	if a.members[id] == "" {
		return "", fmt.Errorf("the leader is node %s, but %s lists no admin address for it (no http_address in "+
			"cluster.nodes?): pass that address with --http", id, addr)
	}
	return a.members[id], nil
}

// learn remembers the members of h.
func (a *api) learn(h adminapi.Health) {
	if a.members == nil {
		a.members = map[string]string{}
	}
	for _, m := range h.Members {
		a.members[m.ID] = m.HTTP
	}
}

// health reads addr's /health, answered 200 (ok) or 503 (not ok) with the
// same JSON body.
func (a *api) health(ctx context.Context, addr string) (adminapi.Health, error) {
	var h adminapi.Health
	body, code, err := a.send(ctx, http.MethodGet, addr, adminapi.PathHealth, nil)
	if err != nil {
		return h, errors.New(unreachable(addr, err))
	}
	if code != http.StatusOK && code != http.StatusServiceUnavailable {
		return h, fmt.Errorf("%s answered /health %d: %s", addr, code, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return h, fmt.Errorf("%s answered /health with JSON this swarmctl does not read: %w", addr, err)
	}
	return h, nil
}

func (a *api) send(ctx context.Context, method, addr, path string, reqBody []byte) ([]byte, int, error) {
	var rd io.Reader
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, rd)
	if err != nil {
		return nil, 0, err
	}
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode == http.StatusNotFound && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		// Not the node's API answering (an older node, or another server).
		return nil, 0, fmt.Errorf("%s answered 404 without the admin API's JSON (is it a SwarmMQ node's admin address?)", path)
	}
	return body, resp.StatusCode, nil
}

// unreachable says why addr did not answer, with a hint when it looks like
// the client port.
func unreachable(addr string, err error) string {
	var op *net.OpError
	var ue *url.Error
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		return fmt.Sprintf("%s: %v", addr, op.Err)
	case errors.As(err, &ue) && ue.Timeout():
		return fmt.Sprintf("%s: no answer within the timeout (--timeout)", addr)
	case errors.As(err, &ue):
		return fmt.Sprintf("%s: %v (it did not answer HTTP: the node's client port? swarmctl needs the admin HTTP address)", addr, ue.Err)
	}
	return fmt.Sprintf("%s: %v", addr, err)
}

// destPath is the path of destination name.
func destPath(name string) string {
	return adminapi.PathDestinations + "/" + url.PathEscape(name)
}

// atLeader asks for the answer of the destination's leader in a read of
// path: in a cluster, not a follower's replica, which may lag.
func atLeader(path string) string {
	return path + "?" + adminapi.QueryLeader + "=1"
}

// groupPath is the path of group of destination name; "" lists them all.
func groupPath(name, group string) string {
	p := destPath(name) + "/groups"
	if group != "" {
		p += "/" + url.PathEscape(group)
	}
	return p
}
