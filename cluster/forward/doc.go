// Package forward carries client requests between the nodes of a cluster:
// a node that receives a request for a partition another node leads hands
// it to the leader over the peer link and answers the client with the
// leader's reply, so a client may talk to any node.
//
// Two halves. On the receiving node, the router stage gives the Forwarder
// each request for a partition it does not lead; the Forwarder wraps the
// request's frame, as the client sent it, in a REQUEST to the leader
// (Envelope) and, when the RESPONSE comes, writes the reply frames to the
// client's connection unchanged (they carry the client's correlation id).
// On the leader, the Server turns each REQUEST into an inbound frame of its
// decode stage, as if its own client had sent it, with a Replier that
// answers through the peer link instead of a connection.
//
// A forwarded request is never forwarded again: a leader that has lost the
// partition meanwhile answers NOT_LEADER, and the client (which learns the
// leaders from METADATA) retries with the same message ids. Failures of
// the link, of the leader, and the bounds on requests in flight all turn
// into NOT_LEADER for the same reason: it is the one answer that tells a
// client to look for the leader and retry. docs/cluster.md ("Forwarding")
// has the rest.
package forward
