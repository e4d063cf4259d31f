package stages

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/swarmmq/swarmmq/cluster/replica"
	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
	"github.com/swarmmq/swarmmq/route"
	"github.com/swarmmq/swarmmq/stages/adminapi"
	"github.com/swarmmq/swarmmq/stages/plog"
	"github.com/swarmmq/swarmmq/stages/work"
	"github.com/swarmmq/swarmmq/wal"
)

// The admin API's writes (docs/admin.md). Each is one record proposed to
// the destination's partition log, like a publish: it is committed (and,
// in a cluster, replicated) before it applies, and the answer waits until
// the fanout worker applied it on this node.

func (h *httpServer) routeAdminWrites() {
	h.mux.HandleFunc("POST /v1/destinations", h.v1CreateDestination)
	h.mux.HandleFunc("DELETE /v1/destinations/{name}", h.v1DeleteDestination)
	h.mux.HandleFunc("PATCH /v1/destinations/{name}", h.v1EditDestination)
	h.mux.HandleFunc("POST /v1/destinations/{name}/purge", h.v1Purge)
	h.mux.HandleFunc("POST /v1/destinations/{name}/replay", h.v1Replay)
	h.mux.HandleFunc("GET /v1/destinations/{name}/messages/{seq}", h.v1Message)
	h.mux.HandleFunc("POST /v1/destinations/{name}/groups/{group}/reset", h.v1Reset)
	h.mux.HandleFunc("DELETE /v1/destinations/{name}/groups/{group}", h.v1DeleteGroup)
}

// maxAdminBody bounds a write's JSON body.
const maxAdminBody = 64 << 10

// apiError is an error answer: its status and body.
type apiError struct {
	code int
	body adminapi.APIError
}

func (e *apiError) Error() string { return e.body.Error }

func errorf(code int, format string, args ...any) *apiError {
	return &apiError{code: code, body: adminapi.APIError{Error: fmt.Sprintf(format, args...)}}
}

// answer writes v (201 or 200), or err as its apiError (500 otherwise).
func answer(w http.ResponseWriter, code int, v any, err error) {
	if err == nil {
		writeJSON(w, code, v)
		return
	}
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.code, ae.body)
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

// decodeBody reads r's JSON body into v; unknown fields are refused.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "cannot read the request body: %v", err)
	}
	return nil
}

// destName checks a destination name from a path or a body.
func destName(name string) ([]byte, error) {
	if !frame.ValidDestination([]byte(name)) {
		return nil, errorf(http.StatusBadRequest, "bad destination name %q: 1-251 bytes of [A-Za-z0-9._-], or up to 255 ending in .dlq", name)
	}
	return []byte(name), nil
}

// groupName checks a group name.
func groupName(name string) ([]byte, error) {
	if !frame.ValidName([]byte(name)) {
		return nil, errorf(http.StatusBadRequest, "bad group name %q: 1-255 bytes of [A-Za-z0-9._-]", name)
	}
	return []byte(name), nil
}

func (h *httpServer) v1CreateDestination(w http.ResponseWriter, r *http.Request) {
	var body adminapi.CreateDestination
	ch, err := func() (adminapi.Change, error) {
		if err := decodeBody(r, &body); err != nil {
			return adminapi.Change{}, err
		}
		rec, err := createRecord(body)
		if err != nil {
			return adminapi.Change{}, err
		}
		if err := h.n.leadsDest(rec.Dest); err != nil {
			return adminapi.Change{}, err
		}
		if ok, err := h.n.hasDest(r.Context(), rec.Dest); err != nil || ok {
			if err == nil {
				err = errorf(http.StatusConflict, "destination %s exists (delete it first to create it anew)", body.Name)
			}
			return adminapi.Change{}, err
		}
		return h.n.change(r.Context(), "create", rec)
	}()
	answer(w, http.StatusCreated, ch, err)
}

// createRecord checks body and makes its RecordDestConfig.
func createRecord(body adminapi.CreateDestination) (queue.Record, error) {
	name, err := destName(body.Name)
	if err != nil {
		return queue.Record{}, err
	}
	ret, err := queue.ParseRetention(body.Retention)
	if err != nil {
		return queue.Record{}, errorf(http.StatusBadRequest, "retention %q: want interest or limits", body.Retention)
	}
	maxAge, err := maxAgeOf(body.MaxAgeSeconds)
	if err != nil {
		return queue.Record{}, err
	}
	cfg := queue.DestConfig{Retention: ret, MaxMsgs: body.MaxMsgs, MaxBytes: body.MaxBytes, MaxAge: maxAge}
	return queue.Record{Type: queue.RecordDestConfig, Dest: name, Config: cfg}, nil
}

// maxAgeOf is max_age_seconds as a DestConfig's MaxAge (-1: unlimited).
func maxAgeOf(a float64) (time.Duration, error) {
	switch {
	case math.IsNaN(a) || a*float64(time.Second) >= math.MaxInt64:
		return 0, errorf(http.StatusBadRequest, "max_age_seconds %v is out of range", a)
	case a < 0:
		return -1, nil // unlimited
	}
	return time.Duration(a * float64(time.Second)), nil
}

func (h *httpServer) v1EditDestination(w http.ResponseWriter, r *http.Request) {
	ch, err := func() (adminapi.Change, error) {
		name, err := destName(r.PathValue("name"))
		if err != nil {
			return adminapi.Change{}, err
		}
		var body adminapi.EditDestination
		if err := decodeBody(r, &body); err != nil {
			return adminapi.Change{}, err
		}
		rec, err := editRecord(name, body)
		if err != nil {
			return adminapi.Change{}, err
		}
		return h.n.change(r.Context(), "edit", rec)
	}()
	answer(w, http.StatusOK, ch, err)
}

// editRecord checks body and makes its RecordDestEdit.
func editRecord(name []byte, body adminapi.EditDestination) (queue.Record, error) {
	rec := queue.Record{Type: queue.RecordDestEdit, Dest: name}
	if body.Retention != nil {
		ret, err := queue.ParseRetention(*body.Retention)
		if err != nil {
			return rec, errorf(http.StatusBadRequest, "retention %q: want interest or limits", *body.Retention)
		}
		rec.Flags |= queue.EditRetention
		rec.Config.Retention = ret
	}
	if body.MaxMsgs != nil {
		rec.Flags |= queue.EditMaxMsgs
		rec.Config.MaxMsgs = *body.MaxMsgs
	}
	if body.MaxBytes != nil {
		rec.Flags |= queue.EditMaxBytes
		rec.Config.MaxBytes = *body.MaxBytes
	}
	if body.MaxAgeSeconds != nil {
		maxAge, err := maxAgeOf(*body.MaxAgeSeconds)
		if err != nil {
			return rec, err
		}
		rec.Flags |= queue.EditMaxAge
		rec.Config.MaxAge = maxAge
	}
	if rec.Flags == 0 {
		return rec, errorf(http.StatusBadRequest, "nothing to change: give retention, max_msgs, max_bytes or max_age_seconds")
	}
	return rec, nil
}

func (h *httpServer) v1DeleteDestination(w http.ResponseWriter, r *http.Request) {
	h.destChange(w, r, "delete", queue.RecordDestDelete)
}

func (h *httpServer) v1Purge(w http.ResponseWriter, r *http.Request) {
	h.destChange(w, r, "purge", queue.RecordPurge)
}

func (h *httpServer) v1Replay(w http.ResponseWriter, r *http.Request) {
	h.destChange(w, r, "replay", queue.RecordReplay)
}

// destChange proposes a record that names only the destination.
func (h *httpServer) destChange(w http.ResponseWriter, r *http.Request, action string, t queue.RecordType) {
	name, err := destName(r.PathValue("name"))
	if err == nil && t == queue.RecordReplay && frame.IsDeadLetter(name) {
		err = errorf(http.StatusBadRequest, "replay names the destination whose dead letters go back (%s), not %s",
			bytes.TrimSuffix(name, []byte(frame.DeadLetterSuffix)), name)
	}
	var ch adminapi.Change
	if err == nil {
		ch, err = h.n.change(r.Context(), action, queue.Record{Type: t, Dest: name})
	}
	answer(w, http.StatusOK, ch, err)
}

func (h *httpServer) v1DeleteGroup(w http.ResponseWriter, r *http.Request) {
	ch, err := func() (adminapi.Change, error) {
		dest, err := destName(r.PathValue("name"))
		if err != nil {
			return adminapi.Change{}, err
		}
		group, err := groupName(r.PathValue("group"))
		if err != nil {
			return adminapi.Change{}, err
		}
		return h.n.change(r.Context(), "group-delete", queue.Record{Type: queue.RecordGroupDelete, Dest: dest, Group: group})
	}()
	answer(w, http.StatusOK, ch, err)
}

func (h *httpServer) v1Reset(w http.ResponseWriter, r *http.Request) {
	ch, err := func() (adminapi.Change, error) {
		dest, err := destName(r.PathValue("name"))
		if err != nil {
			return adminapi.Change{}, err
		}
		group, err := groupName(r.PathValue("group"))
		if err != nil {
			return adminapi.Change{}, err
		}
		var body adminapi.Reset
		if err := decodeBody(r, &body); err != nil {
			return adminapi.Change{}, err
		}
		start, err := startOf(body)
		if err != nil {
			return adminapi.Change{}, err
		}
		return h.n.change(r.Context(), "reset", queue.Record{Type: queue.RecordGroupReset, Dest: dest, Group: group, Start: start})
	}()
	answer(w, http.StatusOK, ch, err)
}

// startOf turns a reset's body into a start position.
func startOf(b adminapi.Reset) (queue.Start, error) {
	switch b.To {
	case "earliest":
		return queue.Start{Kind: queue.StartEarliest}, nil
	case "latest":
		return queue.Start{Kind: queue.StartLatest}, nil
	case "seq":
		if b.Seq == 0 {
			return queue.Start{}, errorf(http.StatusBadRequest, "reset to seq: seq must be 1 or more")
		}
		return queue.Start{Kind: queue.StartSeq, At: b.Seq}, nil
	case "time":
		t, err := time.Parse(time.RFC3339Nano, b.Time)
		if err != nil {
			return queue.Start{}, errorf(http.StatusBadRequest, "reset to time %q: want RFC 3339 (2026-12-05T17:00:00Z)", b.Time)
		}
		return queue.Start{Kind: queue.StartTime, At: uint64(max(t.UnixNano(), 0))}, nil
	}
	return queue.Start{}, errorf(http.StatusBadRequest, "reset to %q: want earliest, latest, seq or time", b.To)
}

// change proposes rec to its destination's partition log, waits until it
// applied here, and says what it did.
func (n *Node) change(ctx context.Context, action string, rec queue.Record) (adminapi.Change, error) {
	p := route.Partition(rec.Dest, n.opts.Partitions)
	ch := adminapi.Change{Action: action, Destination: string(rec.Dest), Group: string(rec.Group), Partition: p}
	res, err := n.proposeAdmin(ctx, p, rec)
	if err != nil {
		return ch, err
	}
	switch res.Code {
	case queue.CodeNoDestination:
		what := "no destination " + ch.Destination
		if rec.Type == queue.RecordReplay {
			what = "no dead letters to replay: no destination " + ch.Destination + frame.DeadLetterSuffix
		}
		return ch, errorf(http.StatusNotFound, "%s", what)
	case queue.CodeNoGroup:
		return ch, errorf(http.StatusNotFound, "no group %s on destination %s", ch.Group, ch.Destination)
	}
	ch.Messages = res.Count
	if rec.Type == queue.RecordGroupReset {
		ch.NextSeq = res.Seq
	}
	return ch, nil
}

// notLeader is the answer for a partition this node does not lead: it
// names the leader when this node knows it.
func (n *Node) notLeader(p uint32, dest []byte) *apiError {
	l := n.owners.Load().Leader(p)
	to := "no leader is known yet (an election?)"
	if l.ID != "" {
		to = fmt.Sprintf("ask its leader, node %s (client address %s)", l.ID, l.Addr)
	}
	e := errorf(http.StatusMisdirectedRequest,
		"this node does not lead partition %d (destination %s): %s", p, dest, to)
	e.body.Partition = &p
	e.body.Leader = l.ID
	return e
}

// leadsDest returns nil if this node leads dest's partition, else the
// answer 421 naming the leader.
func (n *Node) leadsDest(dest []byte) error {
	p := route.Partition(dest, n.opts.Partitions)
	if n.owners == nil || !n.owners.Load().Leads(p) {
		return n.notLeader(p, dest)
	}
	return nil
}

// proposeAdmin appends rec to partition p's log through the log's input
// ring and waits for its result on this node.
func (n *Node) proposeAdmin(ctx context.Context, p uint32, rec queue.Record) (queue.Result, error) {
	if n.propose == nil {
		return queue.Result{}, errorf(http.StatusServiceUnavailable, "the node is not started")
	}
	if !n.owners.Load().Leads(p) {
		return queue.Result{}, n.notLeader(p, rec.Dest)
	}
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	type outcome struct {
		res queue.Result
		err error
	}
	done := make(chan outcome, 1)
	r := work.NewRequest(work.KindAdmin, netio.Inbound{})
	r.Partition = p
	r.Dest, r.Group = bytes.Clone(rec.Dest), bytes.Clone(rec.Group)
	r.Record = rec
	r.Record.Dest, r.Record.Group, r.Record.Time = r.Dest, r.Group, n.opts.Now()
	r.Done = func(res queue.Result, err error) { done <- outcome{res, err} }
	if err := n.propose.Push(ctx, plog.Proposal{Partition: p, Record: &r.Record, Req: r}); err != nil {
		r.Release()
		return queue.Result{}, errorf(http.StatusServiceUnavailable, "cannot propose the change: %v", err)
	}
	select {
	case o := <-done:
		return o.res, n.proposalError(o.err, p, rec.Dest)
	case <-ctx.Done():
		return queue.Result{}, errorf(http.StatusGatewayTimeout,
			"the change was proposed but did not apply within %s; it may still apply: look before retrying", adminTimeout)
	}
}

// proposalError maps why a proposal failed to an answer.
func (n *Node) proposalError(err error, p uint32, dest []byte) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, plog.ErrNotLeader):
		e := n.notLeader(p, dest)
		if errors.Is(err, replica.ErrUnknown) {
			// Proposed, then the leadership moved before it committed.
			e.body.Error = fmt.Sprintf("this node stopped leading partition %d (destination %s) while the change "+
				"was being written: it may still apply; look before retrying", p, dest)
			e.body.MayHaveApplied = true
		}
		return e
	case errors.Is(err, wal.ErrDiskFull):
		return errorf(http.StatusInsufficientStorage, "the node's disk is full (storage.min_free): %v", err)
	}
	return errorf(http.StatusServiceUnavailable, "the change was not written: %v", err)
}

// hasDest reports whether destination name exists.
func (n *Node) hasDest(ctx context.Context, name []byte) (bool, error) {
	found := false
	err := n.inspectPartition(ctx, route.Partition(name, n.opts.Partitions), func(q *queue.Partition) {
		found = q.HasDest(name)
	})
	return found, err
}

// inspectPartition runs fn on partition p, on its fanout worker.
func (n *Node) inspectPartition(ctx context.Context, p uint32, fn func(q *queue.Partition)) error {
	if n.fan == nil {
		return errorf(http.StatusServiceUnavailable, "the node is not started")
	}
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	err := n.fan.Inspect(ctx, func(q *queue.Partition) {
		if q.ID() == p {
			fn(q)
		}
	})
	if err != nil {
		return errorf(http.StatusServiceUnavailable, "%v", err)
	}
	return nil
}

func (h *httpServer) v1Message(w http.ResponseWriter, r *http.Request) {
	m, err := func() (adminapi.Message, error) {
		name, err := destName(r.PathValue("name"))
		if err != nil {
			return adminapi.Message{}, err
		}
		if err := h.n.readHere(r, name); err != nil {
			return adminapi.Message{}, err
		}
		seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
		if err != nil || seq == 0 {
			return adminapi.Message{}, errorf(http.StatusBadRequest, "bad seq %q: want a number from 1", r.PathValue("seq"))
		}
		return h.n.peek(r.Context(), name, seq)
	}()
	answer(w, http.StatusOK, m, err)
}

// peek reads message seq of dest without delivering it: from memory, or
// from the log.
func (n *Node) peek(ctx context.Context, dest []byte, seq uint64) (adminapi.Message, error) {
	p := route.Partition(dest, n.opts.Partitions)
	var pk queue.Peek
	var found, known bool
	err := n.inspectPartition(ctx, p, func(q *queue.Partition) {
		known = q.HasDest(dest)
		pk, found = q.Peek(dest, seq)
		pk.Msg = bytes.Clone(pk.Msg)
	})
	switch {
	case err != nil:
		return adminapi.Message{}, err
	case !known:
		return adminapi.Message{}, errorf(http.StatusNotFound, "no destination %s", dest)
	case !found:
		return adminapi.Message{}, errorf(http.StatusNotFound, "no message %d retained in %s (acknowledged by every group, purged, expired, or not yet stored)", seq, dest)
	}
	raw := pk.Msg
	if raw == nil {
		rec, err := n.log.Read(p, pk.Loc.Index, nil)
		if err == nil {
			raw, err = queue.MessageAt(rec, pk.Loc)
		}
		if err != nil {
			return adminapi.Message{}, errorf(http.StatusInternalServerError, "cannot read message %d of %s from the log: %v", seq, dest, err)
		}
	}
	m, _, err := frame.ParseMessage(raw)
	if err != nil {
		return adminapi.Message{}, errorf(http.StatusInternalServerError, "message %d of %s: %v", seq, dest, err)
	}
	out := adminapi.Message{
		Destination: string(dest), Seq: seq, ID: hex.EncodeToString(m.ID[:]), Producer: m.Producer,
		Timestamp: time.Unix(0, m.Timestamp).UTC().Format(time.RFC3339Nano),
		StoredAt:  time.Unix(0, pk.Time).UTC().Format(time.RFC3339Nano),
		KeyID:     m.KeyID, Size: len(m.Payload), Payload: bytes.Clone(m.Payload),
	}
	frame.HeaderFields(m.Headers, func(k, v []byte) bool {
		out.Headers = append(out.Headers, adminapi.HeaderField{Key: string(k), Value: string(v)})
		return true
	})
	if o := pk.Origin; o != nil {
		out.DeadLetter = &adminapi.DeadLetter{Destination: string(bytes.TrimSuffix(dest, []byte(frame.DeadLetterSuffix))),
			Group: o.Group, Seq: o.Seq, Attempts: o.Attempts, Reason: reasonName(o.Reason, o.Note)}
	}
	return out, nil
}

// reasonName names a dead-letter reason in the API: "max_deliver", or
// "terminated: <the consumer's reason>".
func reasonName(r uint8, note string) string {
	switch r {
	case queue.ReasonMaxDeliver:
		return "max_deliver"
	case queue.ReasonTerminated:
		return "terminated: " + note
	}
	return "reason " + strconv.Itoa(int(r))
}
