package soak

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/swarmmq/swarmmq/frame"
)

// Shapes of the hostile patterns (issue 8, section 2).
const (
	hostileConns  = 20       // connections per pattern
	publishSize   = 64 << 10 // pattern A: one 64 KiB message per PUBLISH
	fetchMessages = 16       // pattern B: 16 × 64 KiB ≈ 1 MiB per MESSAGES
	bCycle        = 5 * time.Second
	pingEvery     = 250 * time.Millisecond
	dialTimeout   = 5 * time.Second
	destA, destB  = "hostile-a", "hostile-b"
)

// hostileIP is the local address the hostile clients of kind ('A': the
// publishers, 'B': the fetchers) dial from in the phase numbered phase
// (0, 1, …): 127.0.<phase+1>.2 and .3. The node's per-address penalty
// after FLOW_CONTROL then hits them and not the well-behaved pair on
// 127.0.0.1 (as clients on other machines would be; on Linux all of
// 127.0.0.0/8 is loopback), and a penalty earned in one phase or by one
// kind of client does not turn the others away: B's fetchers never exceed
// their credits, and must not be refused for A's publishers.
func hostileIP(phase int, kind byte) net.IP {
	last := byte(2)
	if kind == 'B' {
		last = 3
	}
	return net.IPv4(127, 0, byte(phase+1), last)
}

// hostileStats counts what the hostile clients did in a phase.
type hostileStats struct {
	conns    atomic.Int64 // connections opened
	requests atomic.Int64 // requests written (PINGs not counted)
	refused  atomic.Int64 // dials or handshakes that failed (refused while penalized)
}

// hello dials addr from src and completes HELLO; it reads nothing
// after HELLO_OK. A refusal (ERROR TOO_MANY_CONNECTIONS while the node
// penalizes the address) is an error: the callers redial at once, as a
// hostile client would.
func hello(ctx context.Context, addr string, src net.IP) (net.Conn, uint32, error) {
	d := net.Dialer{Timeout: dialTimeout, LocalAddr: &net.TCPAddr{IP: src}}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	_ = nc.SetDeadline(time.Now().Add(dialTimeout))
	if _, err := nc.Write(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("hostile"), Credits: 1024})); err != nil {
		_ = nc.Close()
		return nil, 0, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		_ = nc.Close()
		return nil, 0, err
	}
	b := make([]byte, 4+binary.BigEndian.Uint32(hdr[:]))
	copy(b, hdr[:])
	if _, err := io.ReadFull(nc, b[4:]); err != nil {
		_ = nc.Close()
		return nil, 0, err
	}
	f, _, err := frame.Decode(b, len(b))
	if err != nil || f.Type != frame.TypeHelloOK {
		_ = nc.Close()
		return nil, 0, fmt.Errorf("handshake answered %v %v", f.Type, err)
	}
	ok, err := frame.DecodeHelloOK(f.Body)
	_ = nc.SetDeadline(time.Time{})
	return nc, ok.Credits, err
}

// runPublishers is pattern A: conns connections publishing 64 KiB messages
// back to back, past their credits, never reading a reply; each reconnects
// when the node closes it.
func runPublishers(ctx context.Context, wg *sync.WaitGroup, addr string, src net.IP, st *hostileStats) {
	for range hostileConns {
		wg.Go(func() {
			m := frame.Message{Payload: make([]byte, publishSize)}
			_, _ = rand.Read(m.ID[:8]) // the rest of the id counts
			var buf []byte
			for ctx.Err() == nil {
				nc, _, err := hello(ctx, addr, src)
				if err != nil {
					st.refused.Add(1)
					continue
				}
				st.conns.Add(1)
				stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
				for corr := uint64(2); ctx.Err() == nil; corr++ {
					binary.BigEndian.PutUint64(m.ID[8:], binary.BigEndian.Uint64(m.ID[8:])+1)
					buf = frame.AppendPublish(buf[:0], corr, []byte(destA), []frame.Message{m})
					if _, err := nc.Write(buf); err != nil {
						break
					}
					st.requests.Add(1)
				}
				stop()
				_ = nc.Close()
			}
		})
	}
}

// runFetchers is pattern B: conns connections each sending as many FETCHes
// as its credits allow (about 1 MiB of messages each) and never reading;
// each PINGs (which takes no credit) to notice when the node closes it,
// and starts over on a new connection every bCycle.
func runFetchers(ctx context.Context, wg *sync.WaitGroup, addr string, src net.IP, st *hostileStats) {
	for i := range hostileConns {
		wg.Go(func() {
			group := []byte(fmt.Sprintf("b-%d", i))
			for ctx.Err() == nil {
				nc, credits, err := hello(ctx, addr, src)
				if err != nil {
					st.refused.Add(1)
					continue
				}
				st.conns.Add(1)
				var b []byte
				for c := range credits {
					b = frame.AppendFetch(b, uint64(c)+2, frame.Fetch{Destination: []byte(destB), Group: group, Max: fetchMessages})
				}
				if _, err := nc.Write(b); err == nil {
					st.requests.Add(int64(credits))
					pingUntilClosed(ctx, nc)
				}
				_ = nc.Close()
			}
		})
	}
}

// pingUntilClosed PINGs nc until a write fails, ctx ends or bCycle passes.
func pingUntilClosed(ctx context.Context, nc net.Conn) {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	end := time.After(bCycle)
	for corr := uint64(1 << 32); ; corr++ {
		select {
		case <-ctx.Done():
			return
		case <-end:
			return
		case <-t.C:
		}
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := nc.Write(frame.AppendPing(nil, corr)); err != nil {
			return
		}
	}
}
