package frame

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestPeerGolden runs testdata/peer:
//
//	encode-peer
//	<one frame per line: TYPE corr=N key=value…>
//	----
//	<hex, 16 bytes a line>
//
//	decode-peer [max-frame=N]
//	<hex; white space and # comments ignored>
//	----
//	<each frame in text form, then "need more bytes" or the error>
//
// Regenerate with: go test ./frame/ -run TestPeerGolden -rewrite
func TestPeerGolden(t *testing.T) {
	datadriven.RunTest(t, "testdata/peer", func(t *testing.T, d *datadriven.TestData) string {
		switch d.Cmd {
		case "encode-peer":
			var b []byte
			for line := range strings.SplitSeq(strings.TrimSpace(d.Input), "\n") {
				var err error
				if b, err = encodePeerLine(b, line); err != nil {
					d.Fatalf(t, "%v", err)
				}
			}
			return hexLines(b)
		case "decode-peer":
			maxFrame := 0
			d.MaybeScanArgs(t, "max-frame", &maxFrame)
			b, err := parseHex(d.Input)
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			checkPeerPrefixes(t, b, maxFrame)
			return decodePeerAll(b, maxFrame)
		}
		d.Fatalf(t, "unknown command %q", d.Cmd)
		return ""
	})
}

// encodePeerLine appends the frame described by line, for example
// `PEER_HELLO corr=1 cluster=a node=n1 to=n2 partitions=16 max_frame=4096`.
func encodePeerLine(b []byte, line string) ([]byte, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty line")
	}
	kv := map[string]string{}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		kv[k] = v
	}
	num := func(k string) uint64 {
		n, _ := strconv.ParseUint(kv[k], 10, 64)
		return n
	}
	corr := num("corr")
	switch fields[0] {
	case "PEER_HELLO":
		return AppendPeerHello(b, corr, PeerHello{Cluster: []byte(kv["cluster"]), NodeID: []byte(kv["node"]),
			To: []byte(kv["to"]), Partitions: uint32(num("partitions")), MaxFrame: uint32(num("max_frame"))}), nil
	case "PEER_HELLO_OK":
		return AppendPeerHelloOK(b, corr, PeerHelloOK{Cluster: []byte(kv["cluster"]), NodeID: []byte(kv["node"]),
			Partitions: uint32(num("partitions")), MaxFrame: uint32(num("max_frame"))}), nil
	case "RAFT", "REQUEST", "RESPONSE":
		t := map[string]Type{"RAFT": TypeRaft, "REQUEST": TypeRequest, "RESPONSE": TypeResponse}[fields[0]]
		return AppendPeerFrame(b, t, corr, []byte(kv["payload"])), nil
	case "ERROR":
		return AppendError(b, corr, Code(num("code")), strings.ReplaceAll(kv["message"], "_", " ")), nil
	case "PING":
		return AppendPing(b, corr), nil
	case "PONG":
		return AppendPong(b, corr), nil
	}
	return nil, fmt.Errorf("unknown frame %q", fields[0])
}

func hexLines(b []byte) string {
	var out strings.Builder
	for len(b) > 0 {
		n := min(16, len(b))
		for i, c := range b[:n] {
			if i > 0 {
				out.WriteByte(' ')
			}
			out.WriteString(hex.EncodeToString([]byte{c}))
		}
		out.WriteByte('\n')
		b = b[n:]
	}
	return out.String()
}

// decodePeerAll decodes every frame of b with DecodePeer and its body with
// the decoder of its type.
func decodePeerAll(b []byte, maxFrame int) string {
	var out strings.Builder
	for len(b) > 0 {
		f, n, err := DecodePeer(b, maxFrame)
		switch {
		case err != nil:
			fmt.Fprintf(&out, "error: %v\n", describeErr(err))
			return out.String()
		case n == 0:
			fmt.Fprintf(&out, "need more bytes (%d buffered)\n", len(b))
			return out.String()
		}
		text, err := formatPeer(f)
		if err != nil {
			fmt.Fprintf(&out, "%s corr=%d\n  body error: %v\n", f.Type, f.Corr, describeErr(err))
		} else {
			fmt.Fprintf(&out, "%s\n", text)
		}
		b = b[n:]
	}
	return out.String()
}

// formatPeer decodes f's body and prints it, or returns the body's error.
func formatPeer(f Frame) (string, error) {
	head := fmt.Sprintf("%s corr=%d", f.Type, f.Corr)
	switch f.Type {
	case TypePeerHello:
		h, err := DecodePeerHello(f.Body)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s cluster=%q node=%q to=%q partitions=%d max_frame=%d",
			head, h.Cluster, h.NodeID, h.To, h.Partitions, h.MaxFrame), nil
	case TypePeerHelloOK:
		h, err := DecodePeerHelloOK(f.Body)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s cluster=%q node=%q partitions=%d max_frame=%d",
			head, h.Cluster, h.NodeID, h.Partitions, h.MaxFrame), nil
	case TypeError:
		code, msg, err := DecodeError(f.Body)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s code=%s message=%q", head, code, msg), nil
	case TypePing, TypePong:
		return head, DecodeEmpty(f.Body)
	}
	return fmt.Sprintf("%s payload=%q", head, f.Body), nil
}

// checkPeerPrefixes checks that every prefix of b either needs more bytes
// or gives the result the whole of b gives.
func checkPeerPrefixes(t testing.TB, b []byte, maxFrame int) {
	f, n, err := DecodePeer(b, maxFrame)
	for k := range len(b) {
		pf, pn, perr := DecodePeer(b[:k], maxFrame)
		switch {
		case perr != nil:
			if perr != err {
				t.Fatalf("prefix %d: error %v, whole input: %v", k, perr, err)
			}
		case pn > 0:
			if pn != n || pf.Header != f.Header || !bytes.Equal(pf.Body, f.Body) {
				t.Fatalf("prefix %d: frame of %d bytes, whole input: %d bytes, %v", k, pn, n, err)
			}
		case err == nil && n > 0 && n <= k:
			t.Fatalf("prefix %d: need more bytes, but the frame has %d", k, n)
		}
	}
}

// TestPeerTypesApart checks that client connections refuse every
// node-to-node type and peer links refuse every client request type.
func TestPeerTypesApart(t *testing.T) {
	for ty := range 256 {
		b := AppendPeerFrame(nil, Type(ty), 1, nil)
		_, _, cerr := Decode(b, 0)
		_, _, perr := DecodePeer(b, 0)
		client := Type(ty) >= TypeHello && Type(ty) <= TypeProgress
		peer := Type(ty) >= TypePeerHello && Type(ty) <= TypeResponse ||
			Type(ty) == TypeError || Type(ty) == TypePing || Type(ty) == TypePong
		if (cerr == nil) != client {
			t.Errorf("type %d on a client connection: %v", ty, cerr)
		}
		if (perr == nil) != peer {
			t.Errorf("type %d on a peer link: %v", ty, perr)
		}
		if perr != nil && CodeOf(perr) != CodeUnknownType {
			t.Errorf("type %d on a peer link: %v, want UNKNOWN_TYPE", ty, perr)
		}
	}
	if TypeRaft.String() != "RAFT" || Type(69).String() != "TYPE(69)" {
		t.Errorf("names: %s %s", TypeRaft, Type(69))
	}
}

// peerGoldenInputs returns the inputs of every decode-peer block and the
// outputs of every encode-peer block of testdata/peer.
func peerGoldenInputs(tb testing.TB) [][]byte {
	data, err := os.ReadFile("testdata/peer")
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for block := range strings.SplitSeq(string(data), "\n\n") {
		lines := strings.Split(strings.TrimLeft(block, "\n"), "\n")
		for len(lines) > 0 && strings.HasPrefix(lines[0], "#") {
			lines = lines[1:]
		}
		if len(lines) == 0 {
			continue
		}
		input, output, ok := strings.Cut(strings.Join(lines[1:], "\n"), "----\n")
		if !ok {
			continue
		}
		text := input
		if strings.HasPrefix(lines[0], "encode-peer") {
			text = output
		}
		b, err := parseHex(text)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) < 5 {
		tb.Fatalf("found only %d golden peer inputs", len(out))
	}
	return out
}

// FuzzDecodePeer feeds DecodePeer the first split bytes of an input, then
// all of it; every whole frame's body is decoded, and one that decodes is
// re-encoded to the same bytes.
func FuzzDecodePeer(f *testing.F) {
	for _, b := range peerGoldenInputs(f) {
		f.Add(b, uint(len(b)/2), 0)
		f.Add(b, uint(5), 40)
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint, maxFrame int) {
		k := int(split % uint(len(b)+1))
		pf, pn, perr := DecodePeer(b[:k], maxFrame)
		for len(b) > 0 {
			fr, n, err := DecodePeer(b, maxFrame)
			if perr != nil && perr != err || pn > 0 && (pn != n || !bytes.Equal(pf.Body, fr.Body)) {
				t.Fatalf("prefix %d: %v n=%d; whole: %v n=%d", k, perr, pn, err, n)
			}
			perr, pn = nil, 0
			if n < 0 || n > len(b) {
				t.Fatalf("n=%d with %d bytes", n, len(b))
			}
			if err != nil || n == 0 {
				return
			}
			if again := reencodePeer(t, fr); again != nil && !bytes.Equal(again, b[:n]) {
				t.Fatalf("re-encoded %x\nfrom %x", again, b[:n])
			}
			b = b[n:]
		}
	})
}

// reencodePeer decodes fr's body and encodes it again, or returns nil when
// the body does not decode (after checking the error is a *Error).
func reencodePeer(t *testing.T, fr Frame) []byte {
	var again []byte
	var err error
	switch fr.Type {
	case TypePeerHello:
		var h PeerHello
		if h, err = DecodePeerHello(fr.Body); err == nil {
			again = AppendPeerHello(nil, fr.Corr, h)
		}
	case TypePeerHelloOK:
		var h PeerHelloOK
		if h, err = DecodePeerHelloOK(fr.Body); err == nil {
			again = AppendPeerHelloOK(nil, fr.Corr, h)
		}
	case TypeError:
		var code Code
		var msg []byte
		if code, msg, err = DecodeError(fr.Body); err == nil {
			again = AppendError(nil, fr.Corr, code, string(msg))
		}
	case TypePing, TypePong:
		if err = DecodeEmpty(fr.Body); err == nil {
			again = AppendPeerFrame(nil, fr.Type, fr.Corr, nil)
		}
	default:
		again = AppendPeerFrame(nil, fr.Type, fr.Corr, fr.Body)
	}
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("%T is not *Error", err)
		}
		return nil
	}
	if fr.Flags != 0 {
		again[6], again[7] = byte(fr.Flags>>8), byte(fr.Flags)
	}
	return again
}

// TestPeerDocExample keeps the PEER_HELLO example of docs/protocol.md §10
// true: verbatim the input of a decode-peer block of testdata/peer, and
// one whole, valid PEER_HELLO.
func TestPeerDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/peer")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## 10. Node-to-node frames")
	if !ok {
		t.Fatal("docs/protocol.md has no section 10")
	}
	_, block, ok := strings.Cut(section, "```text\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("section 10 has no example")
	}
	if !strings.Contains(string(golden), "decode-peer\n"+block+"----\n") {
		t.Fatalf("the example is not a decode-peer input of testdata/peer:\n%s", block)
	}
	b, err := parseHex(block)
	if err != nil {
		t.Fatal(err)
	}
	f, n, err := DecodePeer(b, 0)
	if err != nil || n != len(b) || f.Type != TypePeerHello {
		t.Fatalf("example: %v, %d of %d bytes, %s", err, n, len(b), f.Type)
	}
	if _, err := DecodePeerHello(f.Body); err != nil {
		t.Fatal(err)
	}
}
