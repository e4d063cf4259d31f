// Package work defines the items that travel on the rings between the
// node's stages, and the small loop every stage worker runs.
//
// A Request is created by decode from one frame, flows through verify →
// dedupe → route → persist → fanout → ack (FETCH and NACK skip persist;
// from route to fanout a PUBLISH or ACK travels inside a plog.Proposal and
// comes back inside the plog.Output of its record), and is released by the
// stage that writes its reply. Exactly one stage owns a
// Request at a time: the ring hand-off is the synchronisation, so Request is
// not safe for concurrent use and needs no lock.
//
//	netio ─► decode ─► verify ─► dedupe ─► route ─► persist ─► fanout ─► ack
//	                                         └──── FETCH, NACK ───►┘
//
// The frame bytes stay in the pooled buffer the Request owns; every view in
// the Request (destination, group, messages) points into it and is valid
// until Release.
package work
