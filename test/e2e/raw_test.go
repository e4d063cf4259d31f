package e2e

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/swarmmq/swarmmq/frame"
	"github.com/swarmmq/swarmmq/test/nodetest"
)

// msg returns a valid unsealed message with a distinct id.
func msg(i int, payload string) frame.Message {
	var id [16]byte
	binary.BigEndian.PutUint64(id[8:], uint64(i))
	copy(id[:8], "rawtest!")
	return frame.Message{ID: id, Timestamp: 1, Producer: 7, Payload: []byte(payload)}
}

// publishRaw publishes msgs and returns the PUBLISH_ACK entries.
func publishRaw(t *testing.T, r *nodetest.Raw, dest string, msgs ...frame.Message) []frame.AckEntry {
	t.Helper()
	corr := r.NextCorr()
	r.Write(frame.AppendPublish(nil, corr, []byte(dest), msgs))
	f := r.Read()
	if f.Type != frame.TypePublishAck || f.Corr != corr {
		t.Fatalf("publish answered %s corr %d (want PUBLISH_ACK %d)", f.Type, f.Corr, corr)
	}
	pa, err := frame.DecodePublishAck(f.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]frame.AckEntry, pa.Len())
	for i := range out {
		out[i] = pa.Entry(i)
	}
	return out
}

// fetchRaw fetches up to max messages and returns their payloads.
func fetchRaw(t *testing.T, r *nodetest.Raw, dest, group string, max uint32) []string {
	t.Helper()
	_, out := fetchSeqs(t, r, dest, group, max)
	return out
}

func TestRawPublishFetch(t *testing.T) {
	n := nodetest.Start(t, nil)
	r := nodetest.Handshake(t, n.AddrString())
	acks := publishRaw(t, r, "q", msg(1, "a"), msg(2, "b"))
	if fmt.Sprint(acks) != fmt.Sprint([]frame.AckEntry{{Seq: 1}, {Seq: 2}}) {
		t.Fatalf("acks %v", acks)
	}
	if got := fetchRaw(t, r, "q", "g", 10); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("fetched %v", got)
	}
}
