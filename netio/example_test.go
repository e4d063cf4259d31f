package netio_test

import (
	"context"
	"fmt"
	"net"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
)

// Example starts a server, performs the handshake as a client, and answers
// one request from the consumer side of the ring.
func Example() {
	ring := graph.NewRing[netio.Inbound](1024)
	srv, err := netio.New(netio.Options{Addr: "127.0.0.1:0", NodeID: "node-1", Partitions: 16}, ring)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = srv.Stop(context.Background()) }()

	nc, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = nc.Close() }()
	req := frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("example"), Credits: 64})
	req = frame.AppendFetch(req, 2, frame.Fetch{Destination: []byte("test-queue"), Group: []byte("g")})
	if _, err := nc.Write(req); err != nil {
		fmt.Println(err)
		return
	}

	// The consumer (the decode stage, in a node) gets the FETCH.
	<-ring.C()
	in := ring.PopBatch(nil, 1)[0]
	f, _ := in.Frame()
	fmt.Println("server got", f.Type, "corr", f.Corr, "from", in.Conn.ClientID())
	_ = in.Conn.SendError(f.Corr, frame.CodeBadGroup, "just an example")
	in.Release()

	// The client reads HELLO_OK, then the reply.
	buf := make([]byte, 0, 4096)
	for replies := 0; replies < 2; {
		chunk := make([]byte, 4096)
		n, err := nc.Read(chunk)
		if err != nil {
			fmt.Println(err)
			return
		}
		buf = append(buf, chunk[:n]...)
		for {
			f, size, err := frame.Decode(buf, 0)
			if err != nil || size == 0 {
				break
			}
			switch f.Type {
			case frame.TypeHelloOK:
				ok, _ := frame.DecodeHelloOK(f.Body)
				fmt.Println("client got HELLO_OK from", string(ok.NodeID), "credits", ok.Credits)
			case frame.TypeError:
				code, msg, _ := frame.DecodeError(f.Body)
				fmt.Println("client got ERROR", code, string(msg), "corr", f.Corr)
			}
			buf = buf[size:]
			replies++
		}
	}
	// Output:
	// server got FETCH corr 2 from example
	// client got HELLO_OK from node-1 credits 32
	// client got ERROR BAD_GROUP just an example corr 2
}
