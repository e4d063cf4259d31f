package stages

import (
	"encoding/binary"
	"log/slog"
)

// Sealing markers, meta values of the log (wal.Log.Meta): the sealing
// mode the node last started in, and, for the mode it left, how far each
// partition's log had got in that mode. A start in the other mode then
// knows, cheaply (a comparison with each partition's KeepFrom, no read of
// a message), whether messages stored in the mode it left may still be
// delivered, and warns: a node switched to sealed mode delivers the
// unsealed messages it still holds as they are, and a consumer with a
// keyring refuses them (client.ErrKeyringMismatch); one switched to
// unsealed mode delivers sealed messages that consumers without the
// keyring cannot open.
const (
	metaSealingMode = "sealing/mode" // 1 byte: modeUnsealed or modeSealed
	metaLeftPrefix  = "sealing/left/"
)

// Sealing modes as stored in metaSealingMode.
const (
	modeUnsealed byte = 0
	modeSealed   byte = 1
)

// modeNames are the modes' names, in messages and in metaLeftPrefix keys.
var modeNames = [2]string{modeUnsealed: "unsealed", modeSealed: "sealed"}

// checkSealing records the sealing mode the node starts in and warns if
// the log may hold messages stored in the other mode. It runs after the
// partitions are restored and before anything is served, so the last
// indexes it reads were all written in the mode the node last ran in. A
// log it cannot read or write the markers of (a disk full) only costs the
// warning.
func (n *Node) checkSealing() {
	mode := modeUnsealed
	if n.opts.Keyring != nil {
		mode = modeSealed
	}
	other := 1 - mode
	lg := n.opts.Logger
	prev, known, err := n.log.Meta(metaSealingMode)
	if err != nil {
		lg.Warn("cannot read the sealing mode of the data directory", "err", err)
		return
	}
	if !known || len(prev) != 1 || prev[0] != mode {
		if known && len(prev) == 1 && prev[0] == other {
			if err := n.log.SetMeta(metaLeftPrefix+modeNames[other], n.lastIndexes()); err != nil {
				lg.Warn("cannot record the sealing mode change", "err", err)
			}
		}
		if err := n.log.SetMeta(metaSealingMode, []byte{mode}); err != nil {
			lg.Warn("cannot record the sealing mode", "err", err)
		}
	}
	n.warnOtherMode(other)
}

// lastIndexes returns each partition's last applied index, 8 bytes each.
func (n *Node) lastIndexes() []byte {
	b := make([]byte, 0, 8*len(n.parts))
	for _, p := range n.parts {
		b = binary.BigEndian.AppendUint64(b, p.AppliedIndex())
	}
	return b
}

// warnOtherMode warns if a partition may still retain a message stored
// in mode other: it retains messages and keeps log records from before it
// left that mode. Once none does, the marker goes.
func (n *Node) warnOtherMode(other byte) {
	key := metaLeftPrefix + modeNames[other]
	v, ok, err := n.log.Meta(key)
	if err != nil || !ok || len(v) != 8*len(n.parts) {
		return
	}
	parts, msgs := 0, int64(0)
	for i, p := range n.parts {
		upto := binary.BigEndian.Uint64(v[8*i:])
		if m := p.RetainedMsgs(); m > 0 && p.KeepFrom() <= upto {
			parts++
			msgs += m
		}
	}
	if parts == 0 {
		_ = n.log.SetMeta(key, nil)
		return
	}
	attrs := []any{slog.Int("partitions", parts), slog.Int64("retained_messages_there", msgs)}
	if other == modeUnsealed {
		n.opts.Logger.Warn("sealed mode over a data directory that may still hold messages stored unsealed (in clear): "+
			"the node delivers them as they are, and a consumer with a keyring gives them back and stops; consume them "+
			"without --key-file, or start on a new data directory", attrs...)
		return
	}
	n.opts.Logger.Warn("unsealed mode over a data directory that may still hold messages stored sealed: a consumer "+
		"without the keyring cannot open them (it gives them back and stops); consume them with the keyring, or "+
		"start on a new data directory", attrs...)
}
