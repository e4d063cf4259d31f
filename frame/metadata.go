package frame

import (
	"encoding/binary"
	"math"
)

// METADATA asks a node which node leads each partition; METADATA_OK
// answers with a table of nodes and, per partition, the index of its
// leader in that table:
//
//	METADATA     (empty)
//	METADATA_OK  epoch u64 | nodes u16 | nodes × address str | partitions u32 | partitions × leader u16
//
// An address is a node's client address, host:port, as clients dial it;
// the empty address means the node that sent the METADATA_OK (the one the
// client is talking to, whatever address it dialled). leader is an index
// into the node table, or [NoLeader] while the partition has no known
// leader (an election). epoch grows whenever a leader changes as the
// answering node saw it: of two answers of one node, the one with the
// larger epoch is the newer.

// NoLeader, as a partition's leader in METADATA_OK, says that the node
// knows no leader for the partition.
const NoLeader uint16 = math.MaxUint16

// MaxMetadataNodes is the most nodes a METADATA_OK table holds: every
// index but [NoLeader].
const MaxMetadataNodes = int(NoLeader)

// errLeader is the error of a METADATA_OK leader index outside its node
// table.
var errLeader = &Error{Code: CodeMalformed, Msg: "leader index is not in the node table"}

// Metadata is the body of METADATA_OK. A decoded Metadata is a view into
// its body, valid as long as the body is not modified or reused, and safe
// for concurrent reads.
type Metadata struct {
	// Epoch grows whenever a leader changes.
	Epoch uint64
	// Nodes holds the client addresses of the nodes that lead a
	// partition; "" is the node that answered.
	Nodes [][]byte
	// Leaders has one entry per partition: an index into Nodes, or
	// NoLeader.
	Leaders []uint16
}

// AppendMetadata appends a whole METADATA frame.
func AppendMetadata(dst []byte, corr uint64) []byte {
	return appendHeader(dst, TypeMetadata, corr)
}

// AppendMetadataOK appends a whole METADATA_OK frame; corr is the
// METADATA's. It does not check m: a table of more than MaxMetadataNodes
// nodes, or a leader index out of the table, makes a frame its receiver
// refuses.
func AppendMetadataOK(dst []byte, corr uint64, m Metadata) []byte {
	start := len(dst)
	dst = appendHeader(dst, TypeMetadataOK, corr)
	dst = binary.BigEndian.AppendUint64(dst, m.Epoch)
	dst = binary.BigEndian.AppendUint16(dst, uint16(min(len(m.Nodes), math.MaxUint16)))
	for _, n := range m.Nodes[:min(len(m.Nodes), math.MaxUint16)] {
		dst = appendStr(dst, n)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(min(len(m.Leaders), math.MaxUint32)))
	for _, l := range m.Leaders {
		dst = binary.BigEndian.AppendUint16(dst, l)
	}
	PatchLength(dst, start)
	return dst
}

// DecodeMetadataOK decodes a METADATA_OK body into m, reusing the
// capacity of m.Nodes and m.Leaders (so a caller that keeps m decodes
// without allocating). The addresses are views into body. A leader index
// that is neither NoLeader nor in the node table fails with CodeMalformed,
// as does every other error.
func DecodeMetadataOK(body []byte, m *Metadata) error {
	r := reader{b: body}
	epoch := r.u64()
	nodes := m.Nodes[:0]
	for n := int(r.u16()); n > 0 && r.err == nil; n-- {
		nodes = append(nodes, r.str())
	}
	leaders := m.Leaders[:0]
	raw := r.items(r.u32(), 2)
	if err := r.end(); err != nil {
		return err
	}
	for i := 0; i < len(raw); i += 2 {
		l := binary.BigEndian.Uint16(raw[i:])
		if l != NoLeader && int(l) >= len(nodes) {
			return errLeader
		}
		leaders = append(leaders, l)
	}
	m.Epoch, m.Nodes, m.Leaders = epoch, nodes, leaders
	return nil
}
