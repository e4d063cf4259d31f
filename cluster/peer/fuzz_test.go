package peer

import (
	"bytes"
	"errors"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
)

// FuzzHandshake feeds arbitrary bytes to both sides' handshake checks: the
// accepting side reads a PEER_HELLO, the dialling side a PEER_HELLO_OK.
// Nothing panics, every failure carries a wire code, and a frame is
// accepted only when it is exactly what the checks allow.
func FuzzHandshake(f *testing.F) {
	hello := func(cluster, from, to string, partitions uint32) []byte {
		return frame.AppendPeerHello(nil, 1, frame.PeerHello{Cluster: []byte(cluster), NodeID: []byte(from),
			To: []byte(to), Partitions: partitions, MaxFrame: 4096})
	}
	f.Add(hello("test", "node-1", "node-2", 16))
	f.Add(hello("other", "node-1", "node-2", 16))
	f.Add(hello("test", "node-3", "node-2", 16))
	f.Add(frame.AppendPeerHelloOK(nil, 1, frame.PeerHelloOK{Cluster: []byte("test"), NodeID: []byte("node-2"),
		Partitions: 16, MaxFrame: 1 << 20}))
	f.Add(frame.AppendError(nil, 0, frame.CodePeerRefused, "no"))
	f.Add([]byte{0, 0, 0, 12, 1, 0x40})
	acceptor, err := New(Options{ID: "node-2", ClusterName: "test", Partitions: 16, ListenAddr: "127.0.0.1:0",
		Handler: newRecorder(), Peers: map[string]string{"node-1": "127.0.0.1:1", "node-3": "127.0.0.1:3"}})
	if err != nil {
		f.Fatal(err)
	}
	dialler, err := New(Options{ID: "node-1", ClusterName: "test", Partitions: 16, ListenAddr: "127.0.0.1:0",
		Handler: newRecorder(), Peers: map[string]string{"node-2": "127.0.0.1:2"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, _, err := newFrameReader(bytes.NewReader(b), 4096).next()
		if err != nil {
			return
		}
		l, maxFrame, err := acceptor.checkHello(fr)
		if err == nil {
			h, herr := frame.DecodePeerHello(fr.Body)
			if herr != nil || string(h.NodeID) != "node-1" || l.id != "node-1" || string(h.Cluster) != "test" ||
				h.Partitions != 16 || maxFrame < 4096 {
				t.Fatalf("accepted %x", b)
			}
		} else if _, ok := err.(*frame.Error); !ok {
			t.Fatalf("%T is not *frame.Error: %v", err, err)
		}
		_, err = dialler.links["node-2"].checkHelloOK(fr)
		if err == nil {
			h, herr := frame.DecodePeerHelloOK(fr.Body)
			if herr != nil || string(h.NodeID) != "node-2" || string(h.Cluster) != "test" || h.Partitions != 16 {
				t.Fatalf("accepted %x", b)
			}
		} else if _, ok := errors.AsType[*frame.Error](err); !ok {
			t.Fatalf("no wire code in %v", err)
		}
	})
}
