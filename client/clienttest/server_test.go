package clienttest

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/swarmmq/swarmmq/frame"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rawConn is a client that speaks frames by hand.
type rawConn struct {
	t   *testing.T
	nc  net.Conn
	buf []byte
}

func dialRaw(t *testing.T, s *Server) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(10*time.Second)))
	return &rawConn{t: t, nc: nc}
}

func (r *rawConn) send(b []byte) {
	_, err := r.nc.Write(b)
	require.NoError(r.t, err)
}

// recv reads the next frame; its body is a copy.
func (r *rawConn) recv() frame.Frame {
	for {
		f, n, err := frame.Decode(r.buf, 0)
		require.NoError(r.t, err)
		if n > 0 {
			f.Body = append([]byte(nil), f.Body...)
			r.buf = r.buf[n:]
			return f
		}
		chunk := make([]byte, 4096)
		m, err := r.nc.Read(chunk)
		require.NoError(r.t, err)
		r.buf = append(r.buf, chunk[:m]...)
	}
}

func (r *rawConn) hello() frame.HelloOK {
	r.send(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("raw"), Credits: 8}))
	f := r.recv()
	require.Equal(r.t, frame.TypeHelloOK, f.Type)
	ok, err := frame.DecodeHelloOK(f.Body)
	require.NoError(r.t, err)
	return ok
}

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

func TestServer(t *testing.T) {
	s := start(t, Options{Record: true, MaxFrame: 4096})
	r := dialRaw(t, s)
	ok := r.hello()
	require.Equal(t, DefaultNodeID, string(ok.NodeID))
	require.Equal(t, uint32(8), ok.Credits)
	require.Equal(t, uint32(4096), ok.MaxFrame)

	m := frame.Message{ID: [16]byte{1}, Payload: []byte("hi")}
	r.send(frame.AppendPublish(nil, 2, []byte("q"), []frame.Message{m, m}))
	f := r.recv()
	require.Equal(t, uint64(2), f.Corr)
	pa, err := frame.DecodePublishAck(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.AckEntry{Seq: 1}, pa.Entry(0))
	require.Equal(t, frame.AckEntry{Flags: frame.FlagDuplicate, Seq: 1}, pa.Entry(1))

	r.send(frame.AppendFetch(nil, 3, frame.Fetch{Destination: []byte("q"), Group: []byte("g"), Max: 5}))
	f = r.recv()
	ms, err := frame.DecodeMessages(f.Body)
	require.NoError(t, err)
	require.Equal(t, uint32(1), ms.Count)

	// Nothing left: a long poll that runs out answers an empty batch.
	r.send(frame.AppendFetch(nil, 4, frame.Fetch{Destination: []byte("q"), Group: []byte("g"), WaitMS: 1}))
	f = r.recv()
	require.Equal(t, uint64(4), f.Corr)
	ms, err = frame.DecodeMessages(f.Body)
	require.NoError(t, err)
	require.Zero(t, ms.Count)

	r.send(frame.AppendNack(nil, 5, []byte("q"), []byte("g"), 0, []uint64{1}))
	f = r.recv()
	n, err := frame.DecodeNackOK(f.Body)
	require.NoError(t, err)
	require.Equal(t, uint32(1), n)
	r.send(frame.AppendFetch(nil, 6, frame.Fetch{Destination: []byte("q"), Group: []byte("g")}))
	f = r.recv()
	ms, err = frame.DecodeMessages(f.Body)
	require.NoError(t, err)
	d, _ := ms.Next()
	require.Equal(t, uint32(2), d.Attempt)
	r.send(frame.AppendAck(nil, 7, []byte("q"), []byte("g"), []uint64{1}))
	require.Equal(t, frame.TypeAckOK, r.recv().Type)

	require.Len(t, s.Frames(), 7)
	require.Len(t, s.Messages("q"), 1)
}

func TestServerParkedFetch(t *testing.T) {
	s := start(t, Options{})
	r := dialRaw(t, s)
	r.hello()
	r.send(frame.AppendFetch(nil, 2, frame.Fetch{Destination: []byte("q"), Group: []byte("g"), WaitMS: 60000}))
	w := dialRaw(t, s)
	w.hello()
	w.send(frame.AppendPublish(nil, 2, []byte("q"), []frame.Message{{Payload: []byte("x")}}))
	require.Equal(t, frame.TypePublishAck, w.recv().Type)
	f := r.recv()
	ms, err := frame.DecodeMessages(f.Body)
	require.NoError(t, err)
	require.Equal(t, uint32(1), ms.Count)
	// A fetch parked when the server closes is stopped.
	r.send(frame.AppendFetch(nil, 3, frame.Fetch{Destination: []byte("q"), Group: []byte("g"), WaitMS: 60000}))
	s.Close()
}

func TestServerErrors(t *testing.T) {
	s := start(t, Options{HelloError: &frame.Error{Code: frame.CodeAuthFailed, Msg: "no"}})
	r := dialRaw(t, s)
	r.send(frame.AppendHello(nil, 1, frame.Hello{}))
	f := r.recv()
	code, msg, err := frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeAuthFailed, code)
	require.Equal(t, "no", string(msg))

	s2 := start(t, Options{})
	r2 := dialRaw(t, s2)
	r2.hello()
	r2.send(frame.AppendHelloOK(nil, 9, frame.HelloOK{}))
	f = r2.recv()
	require.Equal(t, frame.TypeError, f.Type)
	code, _, err = frame.DecodeError(f.Body)
	require.NoError(t, err)
	require.Equal(t, frame.CodeUnknownType, code)
}
