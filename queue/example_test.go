package queue_test

import (
	"encoding/binary"
	"fmt"

	"github.com/swarmmq/swarmmq/queue"
)

// appendMessage appends a wire message (crc left 0: queue does not check
// it, package frame does).
func appendMessage(dst []byte, id byte, payload string) []byte {
	var hdr [44]byte
	hdr[15] = id
	binary.BigEndian.PutUint32(hdr[40:], uint32(len(payload)))
	return append(append(dst, hdr[:]...), payload...)
}

func Example() {
	p, err := queue.New(0, queue.Options{})
	if err != nil {
		panic(err)
	}
	raw := appendMessage(nil, 1, "hello")
	raw = appendMessage(raw, 2, "world")
	raw = appendMessage(raw, 1, "hello") // a retry of the first message

	// persist encodes the record into the log; fanout decodes and applies it.
	var rec queue.Record
	if err := queue.DecodeRecord(queue.AppendMessagesRecord(nil, 1e9, []byte("greetings"), 3, raw), &rec); err != nil {
		panic(err)
	}
	res, _ := p.Apply(1, &rec, nil)
	fmt.Println("publish:", res)

	group := queue.Record{Type: queue.RecordGroupCreate, Time: 1e9, Dest: []byte("greetings"), Group: []byte("workers")}
	if _, err := p.Apply(2, &group, nil); err != nil {
		panic(err)
	}

	ds, _ := p.Deliver([]byte("greetings"), []byte("workers"), 10, 2e9, nil)
	ack := queue.Record{Type: queue.RecordAck, Time: 2e9, Dest: []byte("greetings"), Group: []byte("workers")}
	for _, d := range ds {
		fmt.Printf("seq=%d attempt=%d payload=%s\n", d.Seq, d.Attempt, d.Msg[44:])
		ack.Seqs = append(ack.Seqs, d.Seq)
	}
	if _, err := p.Apply(3, &ack, nil); err != nil {
		panic(err)
	}
	fmt.Println("retained bytes after the ack:", p.RetainedBytes())
	seq, dup := p.Lookup([]byte("greetings"), false, 0, [16]byte{15: 2})
	fmt.Println("window:", seq, dup)
	// Output:
	// publish: [{0 1 false 0} {0 2 false 0} {0 1 true 0}]
	// seq=1 attempt=1 payload=hello
	// seq=2 attempt=1 payload=world
	// retained bytes after the ack: 0
	// window: 2 true
}
