// Package router is the route stage, the node's sequencer: it turns each
// request into what the partition log or the partition's fanout worker
// takes.
//
// decode already resolved destination → partition (SHA-256, cached in
// route.Cache). The owner table (package owner) says whether this node
// leads the partition: if not, the request goes to the Forwarder (a
// cluster's, when set) unless it was itself forwarded here; a request not
// forwarded is answered NOT_LEADER: a FETCH or NACK at once (ERROR, naming
// the leader this node knows), a PUBLISH or ACK by the partition log in
// its turn (plog's order), so a PUBLISH gets NOT_LEADER per message. PUBLISH and ACK
// change the log: route fills the request's record (a PUBLISH's
// unresolved messages, stamped with the batch's time) and proposes it to
// the partition log (package plog); FETCH and NACK change only volatile
// delivery state and go straight to the partition's fanout worker. One
// goroutine (work.Runner).
package router
