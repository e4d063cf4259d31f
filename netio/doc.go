// Package netio is SwarmMQ's network front end and the only package that
// uses gnet. It accepts client connections — plaintext through gnet, TLS
// 1.3 through crypto/tls —, runs the connection-level protocol itself
// (HELLO, PING, limits, timeouts) and hands every other whole frame to the
// node's first ring; replies come back through Conn.Send from any
// goroutine.
//
//	clients ─► gnet event loops ──────┐
//	clients ─► TLS reader goroutines ─┴─► Conn.consume ─► graph.Ring[Inbound] ─► decode ─► …
//	clients ◄─ gnet event loops ◄─────┐
//	clients ◄─ TLS writer goroutines ◄┴── per-connection write queue ◄─ Conn.Send ◄─ ack
//
// # Listeners and transports
//
// Without Options.TLS, the listener at Addr is plaintext, served by gnet.
// With it, the listener at Addr speaks TLS 1.3 only (MinVersion is forced to
// tls.VersionTLS13 on the server's copy of the config), and a plaintext gnet
// listener runs only when PlainAddr is set, for trusted networks and
// benchmarks. Both feed the same ring, share one connection limit
// (MaxConns), one set of metrics and hooks, and one implementation of the
// protocol below: a Conn has a transport (transport.go) — gnetConn or
// tlsConn — that only moves bytes; decoding, HELLO, PING, errors, limits,
// parking, deadlines and the write queue are written once (protocol.go,
// conn.go, housekeep.go).
//
// Why two transports: gnet multiplexes non-blocking sockets over a few event
// loops and has no TLS; crypto/tls needs blocking reads and writes, so each
// TLS connection has a reader and a writer goroutine. That costs two
// goroutines (a few KiB of stack each), tls.Conn's record buffers and a 16
// KiB inbound buffer per connection, and a goroutine switch per batch of
// frames, where gnet costs a few event loops in all. In exchange a TLS
// reader can truly stop reading a connection (see Backpressure).
//
// # Connection protocol
//
//	client                                   server
//	[TLS 1.3 handshake] ◄──────────────────► (TLS listener only)
//	HELLO{client_id, credits, max_frame} ──►
//	                                     ◄── HELLO_OK{node_id, credits, max_frame, partitions}
//	PING ──►                             ◄── PONG            (answered by netio)
//	METADATA ──►                         ◄── METADATA_OK     (answered by netio, metadata.go)
//	PUBLISH / FETCH / ACK / NACK … ──►        to the ring     (answered by the stages)
//
// HELLO must come first (else ERROR HANDSHAKE_REQUIRED and close) and within
// HandshakeTimeout of the accept (else HANDSHAKE_TIMEOUT); on the TLS
// listener that one deadline covers the TLS handshake too, and a client
// that has not completed the TLS handshake by then is closed without a
// frame (it has no TLS session to read one). A second HELLO gets
// BAD_REQUEST, and so does (then closes) a HELLO whose max_frame is not 0
// and is below MaxFrame: the node accepts messages that need frames of
// MaxFrame bytes to be delivered. HELLO_OK grants max_frame = MaxFrame and credits
// = min(asked, Credits, MaxInbound/max_frame), at least 1. A frame that does
// not decode gets ERROR with its code (MALFORMED, TOO_LARGE — as soon as the
// four length bytes arrive —, UNSUPPORTED_VERSION, UNKNOWN_TYPE) and that
// connection alone is closed. Fatal errors (frame.Code.Fatal) are written
// after the replies already queued, then the connection closes. A
// connection over MaxConns or over MaxConnsPerIP from its IP address, or
// arriving after StopReading, gets ERROR TOO_MANY_CONNECTIONS or
// SHUTTING_DOWN (over TLS after the TLS handshake, by at most 64 goroutines
// at once; beyond that it is closed silently). So does a connection from
// an IP address penalized after FLOW_CONTROL (below), refused before any
// of its bytes is read. A connection with no whole
// frame received and no request outstanding (handed to the ring, reply not
// yet sent: a long-polling FETCH is outstanding) for IdleTimeout gets
// IDLE_TIMEOUT and is closed; halfway there it is sent a PING, which a live
// client answers with a PONG that restarts the clock; see idle.go.
//
// # Goroutines
//
// Start runs, through a graph.Group (pprof label stage=netio):
//   - gnet.Run (when there is a plaintext listener), whose engine starts
//     gnet's own goroutines (one acceptor and NumEventLoop event loops) and
//     joins them before Run returns;
//   - the TLS accept loop (with Options.TLS), and for each TLS connection a
//     reader goroutine (TLS handshake, then read → consume) which starts a
//     writer goroutine once the handshake is done, and waits for it before
//     the connection is forgotten; a short-lived goroutine per connection
//     turned away over TLS;
//   - the housekeeper, which wakes connections held back by a full ring when
//     the ring signals SpaceC, and closes connections past their handshake or
//     idle deadline (a ticker at a quarter of the shortest timeout).
//
// Every gnet callback runs on the event loop owning the connection and never
// blocks. State touched only by the goroutine reading a connection (its
// event loop, or its TLS reader) lives in Conn.loop; everything else is
// atomic or under a mutex. No two of netio's locks are ever held together
// (Server.mu, Server.gnetMu, Server.conns, Server.parked, Conn.mu,
// tlsSide.mu, penalties.mu, Server.refusals). Calls into gnet from other goroutines (Execute, Wake) are
// made under gnetMu.RLock, which Stop takes exclusively before gnet closes
// its pollers. The OnClose hook runs on the connection's event loop or TLS
// reader goroutine.
//
// # Credits, backpressure and memory
//
// Credits are counted exactly. A request (every frame but HELLO, PING,
// PRODUCER and METADATA) takes a credit when netio decodes it; it gives
// it back when a frame that answers a request — PUBLISH_ACK, MESSAGES, ACK_OK, NACK_OK or ERROR — is
// queued for the connection by Send or SendError (budget.go: replies). A
// FETCH held in a long poll keeps its credit until answered. The request
// that would take a connection above the credits HELLO_OK granted gets
// ERROR FLOW_CONTROL, naming its correlation id, and the connection is
// closed: at that request, however few bytes it has sent. The server
// decrements when it queues a reply, before the client can see it, so a
// client that counts a request outstanding until its reply arrives never
// meets FLOW_CONTROL.
//
// A connection closed with FLOW_CONTROL (at the request beyond its credits,
// or a partial frame beyond MaxInbound) penalizes its remote IP address
// (penalty.go): for FlowControlPenalty, doubling on repeat offences up to
// 30s, new connections from it get ERROR TOO_MANY_CONNECTIONS ("address …
// penalized for exceeding its credits: retry after …"), before anything
// is read, so a client that reconnects at once to offend again costs an
// accept and a write rather than a read of every request up to the one too
// many. The refusal is held (refusal.go): written when the penalty ends or
// one second after the accept, whichever comes first (over TLS, before the
// TLS handshake), so such a client dials once a second per connection
// instead of thousands of times. At most 256 refusals are held at once on
// the plaintext listener, beyond that they are answered at once; over TLS
// each held refusal takes one of the 64 rejecting goroutines (below). The table remembers at most 4,096
// addresses (the one penalized longest ago is forgotten first) and forgets
// one after 30s without offence; its mutex is never held with another.
//
// A request is handed on (TryPush to the ring) unless the connection must
// wait; then it joins the connection's backlog, in order, and the
// connection parks until woken. It waits when
//   - the ring is full (woken by the ring's SpaceC);
//   - its requests in the pipeline — handed on and not yet released by the
//     stages (Inbound.Release) — reach MaxPipeline bytes, unless it has
//     none there (one request always goes, however large);
//   - its replies not yet written (netio's queue plus what the transport
//     holds) reach half of MaxOutbound;
//   - the server's budget is spent — requests in the pipeline plus replies
//     not yet written, over every connection, reach MaxBuffered — and the
//     connection holds any such bytes itself (so a connection holding
//     none may always send one request: no one is locked out).
//
// Bytes freed (a release, a write) wake the waiting connections through the
// housekeeper, which also retries them every probeEvery. Requests of a
// closed connection stay counted until the stages release them.
//
// gnet reads a readable socket on every event-loop turn and has no way to
// pause one connection, so on the plaintext listener a connection that
// waits keeps receiving: its whole frames go to the backlog, still counted
// against its credits one by one, so what it holds is bounded by its
// credits × its frames (and a partial frame by MaxInbound: beyond it ERROR
// FLOW_CONTROL). The backlog is counted in the budget's inbound bytes but
// does not spend the budget: only bytes that drain by themselves do, so
// the budget cannot deadlock. A TLS reader, while its connection waits,
// does not read at all: the kernel's receive buffer fills, TCP's window
// closes and the client's writes block. It reads only while less than one
// whole frame is buffered, at most 16 KiB beyond it and never past
// MaxInbound. (The flip side: a waiting TLS connection notices that its
// peer went away only once it reads again.)
//
// Replies: from one MaxFrame of unwritten replies (or half of MaxOutbound,
// if less) a connection is Backlogged: its socket has taken what it can,
// and the stages build no more of its large replies until it drains (the
// fanout stage holds its FETCHes back), so a client that never reads
// costs no encoding and about one reply of heap. If the bytes held for a
// connection would exceed MaxOutbound, the client is not reading: ERROR
// SLOW_CONSUMER (below). If replies are queued
// and make no write progress for WriteStallTimeout — the housekeeper checks
// every probeEvery, re-reading what gnet holds unwritten, as gnet reports no
// "written" event; a TLS writer reports after each 256 KiB — the
// connection gets ERROR SLOW_CONSUMER too and is closed.
//
// # Writes
//
// Conn.Send copies the bytes into the connection's queue and, if no flush is
// pending, asks the transport for one. gnet: the flush runs on the
// connection's event loop (gnet.EventLoop.Execute) and writes everything
// queued in one call; gnet writes what the socket takes and buffers the
// rest. TLS: the writer goroutine takes everything queued and writes it
// (blocking) through tls.Conn, in 16 KiB records. If the bytes held for a
// connection exceed MaxOutbound (netio's queue plus gnet's buffer; netio's
// queue while the TLS writer is blocked on the socket), the client is not
// reading: the queue is dropped and the connection closed with ERROR
// SLOW_CONSUMER. A closing TLS connection gets one second (closeLinger) for
// its last writes — a blocked write is cut off after it, so a client that
// does not read may never see the ERROR — and the socket is then closed
// without a TLS close_notify (Go's crypto/tls reports that as io.EOF at a
// record boundary; every frame is length-prefixed, so nothing can be
// truncated unnoticed).
//
// # Shutdown
//
// StopReading stops accepting (new connections get ERROR SHUTTING_DOWN) and
// stops reading: what arrives is dropped. Stop then waits, bounded by its
// ctx, for each connection's queued writes to reach the socket (gnet has no
// "drained" event, so Stop re-checks every 2 ms; a TLS writer reports back
// by finishing), sends ERROR SHUTTING_DOWN, closes it — a TLS connection
// still in its TLS handshake is closed at once —, stops gnet, closes the TLS
// listener and every TLS socket left, and waits for every goroutine. A node
// calls StopReading, then stops the stages behind netio so their last
// replies are sent, then Stop.
//
// A connection closed with unread bytes still in the kernel's receive
// buffer is reset (RST) by the kernel, which may discard the final ERROR
// before the peer reads it; netio closes promptly rather than lingering.
//
// # Metrics
//
// swarmmq_netio_connections, _accepted_total, _closed_total,
// _frames_in_total and _protocol_errors_total count both listeners;
// _bytes_in_total and _bytes_out_total count bytes on the socket for gnet
// and plaintext bytes (inside TLS) for TLS connections;
// _penalized_refused_total counts connections refused because their address
// is penalized; _tls_handshake_errors_total counts TLS handshakes that failed (wrong
// version, refused or missing client certificate, timeout, not TLS at all);
// _buffered_bytes{kind="inbound|pipeline|outbound"} and
// _buffered_limit_bytes show the budget; _flow_control_total,
// _write_stalls_total (also counted in _slow_consumers_total) and
// _byte_waits_total (a connection made to wait for bytes) count its
// interventions.
package netio
