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
// remembers which address answered.
type api struct {
	addrs   []string
	timeout time.Duration
	hc      *http.Client
}

// newAPI returns an api over the comma-separated host:port list addrs.
func newAPI(addrs string, timeout time.Duration) (*api, error) {
	a := &api{timeout: timeout, hc: &http.Client{Timeout: timeout}}
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

// do sends method path with the JSON of in (if not nil) to the first
// address that answers, and decodes the answer into v as get does.
func (a *api) do(ctx context.Context, method, path string, in, v any) ([]byte, error) {
	var reqBody []byte
	if in != nil {
		var err error
		if reqBody, err = json.Marshal(in); err != nil {
			return nil, err
		}
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
		if code/100 != 2 {
			var e adminapi.APIError
			if json.Unmarshal(body, &e) != nil || e.Error == "" {
				e.Error = strings.TrimSpace(string(body))
			}
			switch code {
			case http.StatusNotFound:
				return nil, fmt.Errorf("%s: %w", e.Error, errNotFound)
			case http.StatusBadRequest, http.StatusConflict:
				return nil, errors.New(e.Error)
			case http.StatusMisdirectedRequest:
				if e.Leader != "" {
					return nil, fmt.Errorf("%s (the leader is %s)", e.Error, e.Leader)
				}
				return nil, fmt.Errorf("node %s: %s", addr, e.Error)
			}
			return nil, fmt.Errorf("node %s answered %d: %s", addr, code, e.Error)
		}
		if err := json.Unmarshal(body, v); err != nil {
			return nil, fmt.Errorf("node %s answered %s with JSON this swarmctl does not read: %w", addr, path, err)
		}
		return body, nil
	}
	return nil, fmt.Errorf("cannot reach the node's admin HTTP address (--http, node.http_addr; not the client port such as 9001):\n  %s",
		strings.Join(errs, "\n  "))
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

// groupPath is the path of group of destination name; "" lists them all.
func groupPath(name, group string) string {
	p := destPath(name) + "/groups"
	if group != "" {
		p += "/" + url.PathEscape(group)
	}
	return p
}
