package e2e

import (
	"strings"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/stages"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// expectErrorFor reads one frame and checks that it is an ERROR with code
// want answering corr.
func expectErrorFor(t *testing.T, r *nodetest.Raw, corr uint64, want frame.Code) string {
	t.Helper()
	f := r.Read()
	if f.Type != frame.TypeError || f.Corr != corr {
		t.Fatalf("answered %s corr %d, want ERROR corr %d", f.Type, f.Corr, corr)
	}
	code, msg, err := frame.DecodeError(f.Body)
	if err != nil || code != want {
		t.Fatalf("ERROR %s %q (%v), want %s", code, msg, err, want)
	}
	return string(msg)
}

// TestDestinationNameBound checks over TCP that a destination of 252 bytes
// is refused on every request, and that a destination of 251 bytes can be
// dead-lettered to a 255-byte .dlq destination that FETCH and ACK address.
func TestDestinationNameBound(t *testing.T) {
	n := nodetest.Start(t, func(o *stages.Options) { o.Queue.MaxDeliver = 1 })
	r := nodetest.Handshake(t, n.AddrString())
	tooLong := []byte(strings.Repeat("L", frame.MaxDestinationLen+1))
	g := []byte("g")
	for _, req := range []func(corr uint64) []byte{
		func(c uint64) []byte { return frame.AppendPublish(nil, c, tooLong, []frame.Message{msg(1, "x")}) },
		func(c uint64) []byte {
			return frame.AppendFetch(nil, c, frame.Fetch{Destination: tooLong, Group: g, Max: 1})
		},
		func(c uint64) []byte { return frame.AppendAck(nil, c, tooLong, g, []uint64{1}) },
		func(c uint64) []byte { return frame.AppendNack(nil, c, tooLong, g, 0, []uint64{1}) },
	} {
		corr := r.NextCorr()
		r.Write(req(corr))
		expectErrorFor(t, r, corr, frame.CodeBadDestination)
	}

	longest := strings.Repeat("D", frame.MaxDestinationLen)
	if acks := publishRaw(t, r, longest, msg(2, "to-dlq")); acks[0].Code != frame.CodeOK {
		t.Fatalf("publish to a %d-byte destination: %+v", len(longest), acks)
	}
	if got := fetchRaw(t, r, longest, "g", 1); len(got) != 1 {
		t.Fatalf("fetched %v", got)
	}
	// max_deliver 1: the NACK dead-letters it.
	corr := r.NextCorr()
	r.Write(frame.AppendNack(nil, corr, []byte(longest), g, 0, []uint64{1}))
	if f := r.Read(); f.Type != frame.TypeNackOK {
		t.Fatalf("nack answered %s", f.Type)
	}
	dlq := longest + frame.DeadLetterSuffix
	corr = r.NextCorr()
	r.Write(frame.AppendFetch(nil, corr, frame.Fetch{Destination: []byte(dlq), Group: g, Max: 1, WaitMS: uint32(nodetest.Timeout.Milliseconds())}))
	f := r.Read()
	ms, err := frame.DecodeMessages(f.Body)
	if f.Type != frame.TypeMessages || err != nil {
		t.Fatalf("fetch of the %d-byte dead-letter destination answered %s %v", len(dlq), f.Type, err)
	}
	d, ok := ms.Next()
	if !ok || string(d.Message.Payload) != "to-dlq" {
		t.Fatalf("dead letter %+v %v", d, ok)
	}
	corr = r.NextCorr()
	r.Write(frame.AppendAck(nil, corr, []byte(dlq), g, []uint64{d.Seq}))
	if f := r.Read(); f.Type != frame.TypeAckOK {
		t.Fatalf("ack on the dead-letter destination answered %s", f.Type)
	}
}
