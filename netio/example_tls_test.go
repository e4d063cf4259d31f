package netio_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/graph"
	"github.com/swarmmq/swarmmq/netio"
	"github.com/swarmmq/swarmmq/netio/tlsconf"
	"github.com/swarmmq/swarmmq/netio/tlsconf/certgen"
)

// Example_tls serves TLS 1.3 on Addr (a node would load its config with
// ServerTLSConfig from PEM files; here the certificates are made on the
// spot) and performs the handshake as a client would.
func Example_tls() {
	v := certgen.ValidFor(time.Now(), time.Hour)
	ca, _ := certgen.NewCA("example CA", v)
	node, _ := ca.IssueServer("node-1", []string{"127.0.0.1"}, v)

	ring := graph.NewRing[netio.Inbound](1024)
	srv, err := netio.New(netio.Options{
		Addr: "127.0.0.1:0", NodeID: "node-1", Partitions: 16,
		TLS: &tls.Config{Certificates: []tls.Certificate{node.TLSCertificate()}},
	}, ring)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = srv.Stop(context.Background()) }()

	// The client side: tlsconf.Client("ca.pem", "", "", "") with files.
	cfg, _ := tlsconf.Client("", "", "", "")
	cfg.RootCAs = ca.Pool()
	nc, err := tls.Dial("tcp", srv.Addr().String(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = nc.Close() }()
	if _, err := nc.Write(frame.AppendHello(nil, 1, frame.Hello{ClientID: []byte("example")})); err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, 0, 512)
	for {
		chunk := make([]byte, 512)
		n, err := nc.Read(chunk)
		if err != nil {
			fmt.Println(err)
			return
		}
		buf = append(buf, chunk[:n]...)
		if f, size, err := frame.Decode(buf, 0); err == nil && size > 0 {
			ok, _ := frame.DecodeHelloOK(f.Body)
			fmt.Println("HELLO_OK from", string(ok.NodeID), "over", tls.VersionName(nc.ConnectionState().Version))
			return
		}
	}
	// Output:
	// HELLO_OK from node-1 over TLS 1.3
}
