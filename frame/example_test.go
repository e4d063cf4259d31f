package frame_test

import (
	"errors"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
)

// A client builds a PUBLISH batch in place; the server cuts the stream into
// frames and walks the messages without copying them.
func Example() {
	var buf []byte
	start := len(buf)
	buf = frame.StartPublish(buf, 1, []byte("test-queue"))
	for i, text := range []string{"Hello", "SwarmMQ"} {
		buf = frame.AppendMessage(buf, frame.Message{ID: [16]byte{15: byte(i + 1)}, Payload: []byte(text)})
	}
	frame.FinishPublish(buf, start, 2)

	f, n, err := frame.Decode(buf, frame.DefaultMaxFrame)
	if err != nil || n == 0 {
		panic("no frame")
	}
	p, err := frame.DecodePublish(f.Body, 1000)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v corr=%d destination=%s count=%d\n", f.Type, f.Corr, p.Destination, p.Count)
	for m, raw, ok := p.Next(); ok; m, raw, ok = p.Next() {
		fmt.Printf("%q %d bytes, crc ok: %v\n", m.Payload, len(raw), m.Verify())
	}
	// Output:
	// PUBLISH corr=1 destination=test-queue count=2
	// "Hello" 49 bytes, crc ok: true
	// "SwarmMQ" 51 bytes, crc ok: true
}

// Decode reports n == 0 until a whole frame has arrived, and rejects a
// frame longer than the max frame from its length prefix alone.
func ExampleDecode() {
	ping := frame.AppendPing(nil, 7)
	_, n, err := frame.Decode(ping[:10], frame.DefaultMaxFrame)
	fmt.Println(n, err)
	f, n, err := frame.Decode(ping, frame.DefaultMaxFrame)
	fmt.Println(f.Type, f.Corr, n, err)

	_, _, err = frame.Decode([]byte{0xff, 0xff, 0xff, 0xff}, frame.DefaultMaxFrame)
	var fe *frame.Error
	if errors.As(err, &fe) {
		fmt.Println(fe.Code, fe.Code.Fatal())
	}
	// Output:
	// 0 <nil>
	// PING 7 16 <nil>
	// TOO_LARGE true
}

// A server answers a bad request with an ERROR frame; the client turns it
// back into an error.
func ExampleAppendError() {
	b := frame.AppendError(nil, 2, frame.CodeDestinationFull, "destination q is full")
	f, _, _ := frame.Decode(b, 0)
	code, msg, _ := frame.DecodeError(f.Body)
	err := &frame.Error{Code: code, Msg: string(msg)}
	fmt.Println(f.Corr, err, code.Fatal())
	// Output:
	// 2 swarmmq: DESTINATION_FULL: destination q is full false
}

// The server answers a PUBLISH with one entry per message, in order.
func ExampleAppendPublishAck() {
	b := frame.AppendPublishAck(nil, 1, []frame.AckEntry{
		{Code: frame.CodeOK, Seq: 41},
		{Code: frame.CodeOK, Flags: frame.FlagDuplicate, Seq: 17},
		{Code: frame.CodeDestinationFull},
	})
	f, _, _ := frame.Decode(b, 0)
	pa, _ := frame.DecodePublishAck(f.Body)
	for i := range pa.Len() {
		e := pa.Entry(i)
		fmt.Println(e.Code, e.Seq, e.Duplicate())
	}
	// Output:
	// OK 41 false
	// OK 17 true
	// DESTINATION_FULL 0 false
}
