package frame

import "encoding/binary"

// Hello is the body of HELLO, the first frame a client sends. A decoded
// Hello is safe for concurrent reads.
type Hello struct {
	// ClientID names the client in logs and metrics; it may be empty.
	ClientID []byte
	// Credits is how many requests the client wants to have outstanding;
	// 0 asks for the server's maximum.
	Credits uint32
	// MaxFrame is the largest whole frame the client accepts; 0 means no
	// limit of the client's own.
	MaxFrame uint32
}

// HelloOK is the body of HELLO_OK, the server's answer to HELLO: the values
// in force on this connection. A decoded HelloOK is safe for concurrent
// reads.
type HelloOK struct {
	// NodeID names the server node.
	NodeID []byte
	// Credits is how many requests the client may have outstanding.
	Credits uint32
	// MaxFrame is the largest whole frame either side may send.
	MaxFrame uint32
	// Partitions is the number of partitions of the cluster.
	Partitions uint32
}

// AppendHello appends a whole HELLO frame.
func AppendHello(dst []byte, corr uint64, h Hello) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeHello, corr)
	dst = appendStr(dst, h.ClientID)
	dst = binary.BigEndian.AppendUint32(dst, h.Credits)
	dst = binary.BigEndian.AppendUint32(dst, h.MaxFrame)
	PatchLength(dst, start)
	return dst
}

// DecodeHello decodes a HELLO body. ClientID is a view into body, valid as
// long as body is not modified or reused. Errors have CodeMalformed.
func DecodeHello(body []byte) (Hello, error) {
	r := reader{b: body}
	h := Hello{ClientID: r.str(), Credits: r.u32(), MaxFrame: r.u32()}
	if err := r.end(); err != nil {
		return Hello{}, err
	}
	return h, nil
}

// AppendHelloOK appends a whole HELLO_OK frame; corr is the HELLO's.
func AppendHelloOK(dst []byte, corr uint64, h HelloOK) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeHelloOK, corr)
	dst = appendStr(dst, h.NodeID)
	dst = binary.BigEndian.AppendUint32(dst, h.Credits)
	dst = binary.BigEndian.AppendUint32(dst, h.MaxFrame)
	dst = binary.BigEndian.AppendUint32(dst, h.Partitions)
	PatchLength(dst, start)
	return dst
}

// DecodeHelloOK decodes a HELLO_OK body. NodeID is a view into body, valid
// as long as body is not modified or reused. Errors have CodeMalformed.
func DecodeHelloOK(body []byte) (HelloOK, error) {
	r := reader{b: body}
	h := HelloOK{NodeID: r.str(), Credits: r.u32(), MaxFrame: r.u32(), Partitions: r.u32()}
	if err := r.end(); err != nil {
		return HelloOK{}, err
	}
	return h, nil
}
