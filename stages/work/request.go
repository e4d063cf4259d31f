package work

import (
	"sync"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/queue"
)

// Kind says what a Request asks for.
type Kind uint8

// The request kinds. Record kinds carry a log record made inside the node
// (fanout's feedback) rather than a client request.
const (
	KindPublish Kind = iota + 1
	KindFetch
	KindAck
	KindNack
	KindGroupCreate // a record fanout asks persist to log
	KindDeadLetter  // a record fanout asks persist to log
	KindAdmin       // an operator's record (the admin API); Done gets its outcome
	KindTerm        // TERM: a consumer ends deliveries (a logged record, answered ACK_OK)
	KindProgress    // PROGRESS: a consumer still works on deliveries (volatile, answered NACK_OK)
)

// Conn is what the stages need of a client connection. netio's Conn
// implements it; tests use fakes.
type Conn interface {
	// Send queues b for writing; b may be reused once Send returns.
	Send(b []byte) error
	// SendError sends an ERROR frame and closes the connection if the code
	// is fatal; the error says the connection is gone.
	SendError(corr uint64, code frame.Code, msg string) error
	// Closed reports whether the connection is gone.
	Closed() bool
	// MaxFrame is the largest frame, header included, the connection
	// may carry (negotiated by HELLO).
	MaxFrame() int
}

// maxKeptResults bounds the Results capacity a pooled Request keeps.
const maxKeptResults = 4096

// Request is one client request (or one internal record) in flight.
type Request struct {
	Kind      Kind
	Conn      Conn   // nil for internal records
	Corr      uint64 // correlation id of the request frame
	Partition uint32
	Dest      []byte // view into Buf (or into a fanout-owned slice for records)
	Group     []byte
	RecvNanos int64 // when decode took the frame (monotonic-ish wall clock)
	// Forwarded is set on a request another node forwarded here for its
	// client (Conn answers through the peer link): it is never forwarded
	// again.
	Forwarded bool

	// PUBLISH: the raw message section and one result per message.
	// StartResults sizes Results; a message is resolved once Resolve gave
	// it its answer (rejected, a duplicate, or stored with its seq), and
	// only unresolved messages are stored. Results is what PUBLISH_ACK
	// carries.
	Pub      frame.Publish
	Results  []frame.AckEntry
	resolved []bool
	open     int // messages not resolved
	// Session: the PUBLISH carries frame.FlagSession, so its messages are
	// published in producer session Producer (the connection's) and
	// deduplicated against that session's messages only.
	Session  bool
	Producer uint64

	// FETCH
	Max    int
	WaitMs uint32
	Parked bool // counted once as a long poll
	// Start is where the group starts if this FETCH creates it (Kind 0:
	// the oldest retained message).
	Start queue.Start

	// ACK, NACK, DeadLetter: sequence numbers; NACK delay.
	Seqs    []uint64
	DelayMs uint32
	// Returned is, for an applied NACK, how many of Seqs were handed back
	// (the count NACK_OK carries).
	Returned int
	// NackRelease is a NACK with frame.FlagRelease: the seqs are given back
	// without counting their attempt.
	NackRelease bool
	// Reason is a TERM's reason (a view into the frame).
	Reason []byte

	// Record is the record proposed for this request (filled by the
	// sequencer: route, or fanout for its own records); the partition
	// log's proposal and committed entry point at it.
	Record queue.Record
	// Err, when set, is what the request is answered with (an ERROR frame).
	Err error
	// Done, for KindAdmin, is called once by the fanout worker: with the
	// result of the record once it applied, or with the error that kept
	// it from being committed. The request is released after it returns.
	Done func(res queue.Result, err error)

	in netio.Inbound // the frame's pooled buffer; zero for internal records
}

var requestPool = sync.Pool{New: func() any { return new(Request) }}

// NewRequest returns a cleared Request that owns in's buffer (in may be
// the zero Inbound for internal records).
func NewRequest(kind Kind, in netio.Inbound) *Request {
	r := requestPool.Get().(*Request)
	r.Kind = kind
	r.in = in
	return r
}

// Frame returns the request frame as it arrived, header included, or nil
// for an internal record. It is valid until Release.
func (r *Request) Frame() []byte {
	if r.in.Buf == nil {
		return nil
	}
	return r.in.Buf.B
}

// Release returns the Request and its buffer to their pools. The Request and
// every view into it must not be used afterwards.
func (r *Request) Release() {
	if r.in.Buf != nil {
		r.in.Release()
	}
	results, resolved, seqs := r.Results[:0], r.resolved[:0], r.Seqs[:0]
	if cap(results) > maxKeptResults {
		results, resolved = nil, nil
	}
	if cap(seqs) > maxKeptResults {
		seqs = nil
	}
	*r = Request{Results: results, resolved: resolved, Seqs: seqs}
	requestPool.Put(r)
}

// StartResults gives a PUBLISH of n messages n unresolved results.
func (r *Request) StartResults(n int) {
	if cap(r.Results) < n {
		r.Results = make([]frame.AckEntry, n)
		r.resolved = make([]bool, n)
	}
	r.Results, r.resolved = r.Results[:n], r.resolved[:n]
	clear(r.Results)
	clear(r.resolved)
	r.open = n
}

// Resolve gives message i of a PUBLISH its answer: it is rejected (a
// non-OK code), a duplicate of a stored message, or stored (its seq).
// Resolving a message again replaces its answer.
func (r *Request) Resolve(i int, e frame.AckEntry) {
	if !r.resolved[i] {
		r.resolved[i] = true
		r.open--
	}
	r.Results[i] = e
}

// Resolved reports whether message i of a PUBLISH already has its answer.
func (r *Request) Resolved(i int) bool { return r.resolved[i] }

// Unresolved returns how many messages of a PUBLISH have no answer yet:
// the ones its record stores.
func (r *Request) Unresolved() int { return r.open }
