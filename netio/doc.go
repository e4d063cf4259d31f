// Package netio is SwarmMQ's network front end and the only package that
// uses gnet. It accepts client connections, runs the connection-level
// protocol itself (HELLO, PING, limits, timeouts) and hands every other
// whole frame to the node's first ring; replies come back through
// Conn.Send from any goroutine.
//
//	clients ─► gnet event loops ─► OnTraffic ─► graph.Ring[Inbound] ─► decode ─► …
//	clients ◄─ gnet event loops ◄─ per-connection write queue ◄─ Conn.Send ◄─ ack
//
// # Connection protocol
//
//	client                                   server
//	HELLO{client_id, credits, max_frame} ──►
//	                                     ◄── HELLO_OK{node_id, credits, max_frame, partitions}
//	PING ──►                             ◄── PONG            (answered by netio)
//	PUBLISH / FETCH / ACK / NACK … ──►        to the ring     (answered by the stages)
//
// HELLO must come first (else ERROR HANDSHAKE_REQUIRED and close) and within
// HandshakeTimeout (else HANDSHAKE_TIMEOUT); a second HELLO gets BAD_REQUEST.
// HELLO_OK grants max_frame = min(asked, MaxFrame) and credits =
// min(asked, Credits, MaxInbound/max_frame), at least 1. A frame that does
// not decode gets ERROR with its code (MALFORMED, TOO_LARGE — as soon as the
// four length bytes arrive —, UNSUPPORTED_VERSION, UNKNOWN_TYPE) and that
// connection alone is closed. Fatal errors (frame.Code.Fatal) are written
// after the replies already queued, then the connection closes.
//
// # Goroutines
//
// Start runs, through a graph.Group (pprof label stage=netio):
//   - gnet.Run, whose engine starts gnet's own goroutines (one acceptor and
//     NumEventLoop event loops) and joins them before Run returns;
//   - the housekeeper, which wakes connections held back by a full ring when
//     the ring signals SpaceC, and closes connections past their handshake or
//     idle deadline (a ticker at a quarter of the shortest timeout).
//
// Every gnet callback runs on the event loop owning the connection and never
// blocks. State touched only there lives in Conn.loop; everything else is
// atomic or under a mutex. No two of netio's locks are ever held together
// (Server.mu, Server.gnetMu, Server.conns, Server.parked, Conn.mu). Calls
// into gnet from other goroutines (Execute, Wake) are made under
// gnetMu.RLock, which Stop takes exclusively before gnet closes its pollers.
//
// # Backpressure (what gnet does, and what netio does about it)
//
// gnet reads a readable socket on every event-loop turn, up to 64 KiB, and
// calls OnTraffic; bytes OnTraffic does not Discard are appended to the
// connection's inbound buffer and presented again, before newer bytes, on
// the next OnTraffic: after the next read, or after Conn.Wake. gnet has no
// way to pause reading one connection, so the inbound buffer of a
// connection that is held back keeps growing while the client sends.
//
// So when the ring is full, OnTraffic leaves the frame and everything after
// it in gnet's buffer, parks the connection and returns; the first pop that
// makes room fires the ring's SpaceC, and the housekeeper wakes every parked
// connection, which retries in order — nothing is lost or reordered. If a
// connection's unconsumed bytes exceed MaxInbound, it gets ERROR
// FLOW_CONTROL and is closed. Because a client may have at most its granted
// credits of requests outstanding, each at most max_frame bytes, and the
// grant keeps credits × max_frame ≤ MaxInbound, a client that respects its
// credits (counting every request, PING included, until it is answered)
// never meets FLOW_CONTROL.
//
// # Writes
//
// Conn.Send copies the bytes into the connection's queue and, if no flush is
// pending, schedules one on the connection's event loop
// (gnet.EventLoop.Execute); the flush writes everything queued in one call.
// gnet writes what the socket takes and buffers the rest. If gnet's buffer
// plus the queue would exceed MaxOutbound, the client is not reading: the
// queue is dropped and the connection closed with ERROR SLOW_CONSUMER.
//
// # Shutdown
//
// StopReading stops accepting (new connections get ERROR SHUTTING_DOWN) and
// stops reading. Stop then waits, bounded by its ctx, for each connection's
// queued writes to reach the socket (gnet has no "drained" event, so Stop
// re-checks every 2 ms), sends ERROR SHUTTING_DOWN, closes it, stops gnet and
// waits for every goroutine. A node calls StopReading, then stops the stages
// behind netio so their last replies are sent, then Stop.
//
// A connection closed with unread bytes still in the kernel's receive
// buffer is reset (RST) by the kernel, which may discard the final ERROR
// before the peer reads it; netio closes promptly rather than lingering.
package netio
