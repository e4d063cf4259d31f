package rlog

import (
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/swarmmq/swarmmq/cluster/replica"
)

// FuzzDecodeMessage feeds arbitrary RAFT payloads to the decoders (raft
// messages, leader announcements, incarnation messages and chunks): they never panic, and what they
// accept encodes back to the same payload or message.
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range []replica.Message{
		{Partition: 3, Msg: &pb.Message{Type: pb.MessageType_MsgApp.Enum(), To: proto.Uint64(RaftID("n2", 0)),
			From: proto.Uint64(RaftID("n1", 1)), Term: proto.Uint64(4), Index: proto.Uint64(9), LogTerm: proto.Uint64(4),
			Commit: proto.Uint64(8), Entries: []*pb.Entry{{Term: proto.Uint64(4), Index: proto.Uint64(10), Data: []byte("rec")}}}},
		{Partition: 0, Msg: &pb.Message{Type: pb.MessageType_MsgHeartbeat.Enum(), To: proto.Uint64(1), From: proto.Uint64(2)}},
		{Partition: 1, Msg: &pb.Message{Type: pb.MessageType_MsgSnap.Enum(), Snapshot: &pb.Snapshot{Data: []byte{1, 2, 3},
			Metadata: &pb.SnapshotMetadata{Index: proto.Uint64(7), Term: proto.Uint64(2)}}}},
	} {
		b, err := AppendMessage(nil, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(AppendAnnouncement(nil, Announcement{Partition: 2, Term: 9, Leader: RaftID("n1", 1)}))
	f.Add(appendIncMessage(nil, incMessage{kind: kindAnswer, flags: flagRecorded | flagState, inc: 7}))
	f.Add(appendChunk(nil, chunk{id: 3, seq: 1, total: 4, data: []byte("part")}))
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0, 0, 0, 1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := DecodeAnnouncement(b); err == nil {
			if again := AppendAnnouncement(nil, a); string(again) != string(b) {
				t.Fatalf("announcement round trip: %x vs %x", again, b)
			}
		}
		if c, err := decodeChunk(b); err == nil {
			if again := appendChunk(nil, c); string(again) != string(b) {
				t.Fatalf("chunk round trip: %x vs %x", again, b)
			}
		}
		if im, err := decodeIncMessage(b); err == nil {
			if again := appendIncMessage(nil, im); string(again) != string(b) {
				t.Fatalf("incarnation message round trip: %x vs %x", again, b)
			}
		}
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		again, err := AppendMessage(nil, m)
		if err != nil {
			t.Fatalf("a decoded message does not encode: %v", err)
		}
		m2, err := DecodeMessage(again)
		if err != nil || m2.Partition != m.Partition || !proto.Equal(m.Msg, m2.Msg) {
			t.Fatalf("round trip: %v, %v vs %v", err, m, m2)
		}
	})
}
