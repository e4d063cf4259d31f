package peer

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// ErrRefused marks a link refused at its handshake, by the peer or by
// this node; the error also holds the *frame.Error with PEER_REFUSED and
// the reason.
var ErrRefused = errors.New("swarmmq/peer: link refused")

// dialLoop keeps a link to l's peer up: dial, handshake, serve until the
// connection fails, and again, with a capped, jittered exponential backoff
// between failed attempts. It returns when the transport closes.
func (l *link) dialLoop() {
	t := l.t
	attempt := 0
	for {
		select {
		case <-t.quit:
			return
		default:
		}
		nc, fr, maxFrame, err := l.dial()
		if err != nil {
			if l.setErr(err) {
				t.opts.Logger.Warn("cannot link to peer", "peer", l.id, "addr", l.addr, "err", err)
			}
			if errors.Is(err, ErrRefused) {
				attempt = 64 // a refusal will not change soon: retry at the cap
			}
			if !t.wait(backoff(attempt, t.opts.BackoffMin, t.opts.BackoffMax, t.jitter())) {
				return
			}
			attempt++
			continue
		}
		began := time.Now()
		l.serve(nc, fr, maxFrame)
		t.untrack(nc)
		attempt = 0
		if time.Since(began) < t.opts.BackoffMax {
			// A link that fails at once must not be redialled in a loop.
			attempt = 1
			if !t.wait(backoff(0, t.opts.BackoffMin, t.opts.BackoffMax, t.jitter())) {
				return
			}
		}
	}
}

// dial connects to the peer and runs the handshake as the dialling side.
func (l *link) dial() (net.Conn, *frameReader, int, error) {
	t := l.t
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.DialTimeout)
	defer cancel()
	d := net.Dialer{}
	raw, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("cannot dial %s: %w", l.addr, err)
	}
	if !t.track(raw) {
		return nil, nil, 0, ErrClosed
	}
	nc, fr, maxFrame, err := l.handshake(ctx, raw)
	if err != nil {
		t.untrack(raw)
		return nil, nil, 0, err
	}
	return nc, fr, maxFrame, nil
}

// handshake runs TLS (when configured) and PEER_HELLO on raw.
func (l *link) handshake(ctx context.Context, raw net.Conn) (net.Conn, *frameReader, int, error) {
	t := l.t
	nc := raw
	_ = raw.SetDeadline(time.Now().Add(t.opts.DialTimeout + t.opts.HandshakeTimeout))
	if t.opts.TLS != nil {
		tc := tls.Client(raw, clientTLS(t.opts.TLS, l.addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, 0, fmt.Errorf("TLS handshake with %s: %w", l.addr, err)
		}
		nc = tc
	}
	hello := frame.AppendPeerHello(nil, 1, frame.PeerHello{Cluster: []byte(t.opts.ClusterName),
		NodeID: []byte(t.opts.ID), To: []byte(l.id), Partitions: t.opts.Partitions, MaxFrame: uint32(t.opts.MaxFrame)})
	if _, err := nc.Write(hello); err != nil {
		return nil, nil, 0, fmt.Errorf("cannot send PEER_HELLO to %s: %w", l.addr, err)
	}
	fr := newFrameReader(nc, t.opts.MaxFrame)
	f, _, err := fr.next()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("no PEER_HELLO_OK from %s: %w", l.addr, err)
	}
	theirs, err := l.checkHelloOK(f)
	if err != nil {
		if !isRemote(err) {
			_, _ = nc.Write(frame.AppendError(nil, 0, frame.CodeOf(err), err.Error()))
		}
		return nil, nil, 0, err
	}
	_ = raw.SetDeadline(time.Time{})
	return nc, fr, min(t.opts.MaxFrame, theirs), nil
}

// remoteError is a refusal the peer sent (as opposed to one this node
// decided).
type remoteError struct{ err error }

func (e *remoteError) Error() string { return e.err.Error() }
func (e *remoteError) Unwrap() error { return e.err }

func isRemote(err error) bool {
	var r *remoteError
	return errors.As(err, &r)
}

// checkHelloOK checks the accepting node's answer.
func (l *link) checkHelloOK(f frame.Frame) (maxFrame int, err error) {
	t := l.t
	switch f.Type {
	case frame.TypeError:
		code, msg, err := frame.DecodeError(f.Body)
		if err != nil {
			return 0, fmt.Errorf("%s answered a malformed ERROR: %w", l.id, err)
		}
		return 0, &remoteError{fmt.Errorf("%w by %s at %s: %w", ErrRefused, l.id, l.addr, &frame.Error{Code: code, Msg: string(msg)})}
	case frame.TypePeerHelloOK:
	default:
		return 0, &frame.Error{Code: frame.CodeHandshakeRequired, Msg: "expected PEER_HELLO_OK, got " + f.Type.String()}
	}
	h, err := frame.DecodePeerHelloOK(f.Body)
	if err != nil {
		return 0, err
	}
	reason := mismatch(t.opts.ClusterName, t.opts.Partitions, h.Cluster, h.Partitions)
	if reason == "" && string(h.NodeID) != l.id {
		reason = fmt.Sprintf("%s answered as node %q, not %q: check its peer address", l.addr, h.NodeID, l.id)
	}
	if reason == "" && h.MaxFrame < 4096 {
		reason = fmt.Sprintf("max frame %d is below 4096", h.MaxFrame)
	}
	if reason != "" {
		t.refused.Inc()
		t.opts.Logger.Error("refused peer link", "peer", l.id, "addr", l.addr, "reason", reason)
		return 0, fmt.Errorf("%w: %w", ErrRefused, &frame.Error{Code: frame.CodePeerRefused, Msg: reason})
	}
	return int(h.MaxFrame), nil
}

// mismatch says why a peer with cluster name and partition count is not
// of this node's cluster, or "".
func mismatch(cluster string, partitions uint32, theirCluster []byte, theirPartitions uint32) string {
	switch {
	case !bytes.Equal(theirCluster, []byte(cluster)):
		return fmt.Sprintf("cluster name %q is not this cluster's %q", theirCluster, cluster)
	case theirPartitions != partitions:
		return fmt.Sprintf("partition count %d is not this cluster's %d", theirPartitions, partitions)
	}
	return ""
}

// acceptLoop accepts connections until the listener closes; each runs its
// handshake on a goroutine of its own, at most maxHandshakes at once.
func (t *Transport) acceptLoop() {
	for {
		nc, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.opts.Logger.Warn("peer accept failed", "err", err)
			if !t.wait(10 * time.Millisecond) {
				return
			}
			continue
		}
		select {
		case t.sem <- struct{}{}:
		default:
			t.opts.Logger.Warn("too many peer handshakes in progress: connection closed", "remote", nc.RemoteAddr().String())
			_ = nc.Close()
			continue
		}
		if !t.track(nc) {
			<-t.sem
			continue
		}
		t.group.Go("peer-inbound", func() error { t.serveInbound(nc); return nil })
	}
}

// serveInbound runs the accepting side of the handshake, then serves the
// link until it fails.
func (t *Transport) serveInbound(raw net.Conn) {
	defer t.untrack(raw)
	l, nc, fr, maxFrame, err := t.acceptHandshake(raw)
	<-t.sem
	if err != nil {
		return
	}
	l.serve(nc, fr, maxFrame)
}

// acceptHandshake runs TLS (when configured), reads PEER_HELLO and accepts
// or refuses it.
func (t *Transport) acceptHandshake(raw net.Conn) (*link, net.Conn, *frameReader, int, error) {
	remote := raw.RemoteAddr().String()
	_ = raw.SetDeadline(time.Now().Add(t.opts.HandshakeTimeout))
	nc := raw
	if t.accept != nil {
		tc := tls.Server(raw, t.accept)
		if err := tc.Handshake(); err != nil {
			t.opts.Logger.Warn("peer TLS handshake failed", "remote", remote, "err", err)
			return nil, nil, nil, 0, err
		}
		nc = tc
	}
	fr := newFrameReader(nc, t.opts.MaxFrame)
	f, _, err := fr.next()
	if err != nil {
		code, msg := frame.CodeHandshakeTimeout, "no PEER_HELLO in time"
		if fe, ok := errors.AsType[*frame.Error](err); ok {
			code, msg = fe.Code, fe.Msg
		}
		t.opts.Logger.Warn("peer handshake failed", "remote", remote, "err", err)
		_, _ = nc.Write(frame.AppendError(nil, 0, code, msg))
		return nil, nil, nil, 0, err
	}
	l, maxFrame, err := t.checkHello(f)
	if err != nil {
		t.refused.Inc()
		t.opts.Logger.Error("refused peer link", "remote", remote, "reason", err.Error())
		_, _ = nc.Write(frame.AppendError(nil, f.Corr, frame.CodeOf(err), err.Error()))
		return nil, nil, nil, 0, err
	}
	ok := frame.AppendPeerHelloOK(nil, f.Corr, frame.PeerHelloOK{Cluster: []byte(t.opts.ClusterName),
		NodeID: []byte(t.opts.ID), Partitions: t.opts.Partitions, MaxFrame: uint32(t.opts.MaxFrame)})
	if _, err := nc.Write(ok); err != nil {
		return nil, nil, nil, 0, err
	}
	_ = raw.SetDeadline(time.Time{})
	return l, nc, fr, min(t.opts.MaxFrame, maxFrame), nil
}

// checkHello decides whether to accept a PEER_HELLO; a refusal is a
// *frame.Error whose message is the reason.
func (t *Transport) checkHello(f frame.Frame) (*link, int, error) {
	if f.Type != frame.TypePeerHello {
		return nil, 0, &frame.Error{Code: frame.CodeHandshakeRequired, Msg: "expected PEER_HELLO, got " + f.Type.String()}
	}
	h, err := frame.DecodePeerHello(f.Body)
	if err != nil {
		return nil, 0, err
	}
	refuse := func(format string, args ...any) (*link, int, error) {
		return nil, 0, &frame.Error{Code: frame.CodePeerRefused, Msg: fmt.Sprintf(format, args...)}
	}
	if reason := mismatch(t.opts.ClusterName, t.opts.Partitions, h.Cluster, h.Partitions); reason != "" {
		return refuse("node %q: %s", h.NodeID, reason)
	}
	from := string(h.NodeID)
	switch l := t.links[from]; {
	case from == t.opts.ID:
		return refuse("node %q claims this node's own id", from)
	case string(h.To) != t.opts.ID:
		return refuse("node %q dialled node %q but reached node %q: check its peer addresses", from, h.To, t.opts.ID)
	case l == nil:
		return refuse("node id %q is not in this node's cluster configuration", from)
	case l.dials:
		return refuse("node %q must not dial node %q: the node with the lower id dials", from, t.opts.ID)
	case h.MaxFrame < 4096:
		return refuse("node %q: max frame %d is below 4096", from, h.MaxFrame)
	case l.live():
		return refuse("node %q is already linked to node %q and alive: a second node with the same id?", from, t.opts.ID)
	default:
		return l, int(h.MaxFrame), nil
	}
}
