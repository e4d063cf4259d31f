// Package ack is the last stage: it answers requests whose effect is
// decided and durable.
//
// A PUBLISH_ACK leaves only after the sync covering its messages (persist)
// and their application (fanout, which assigned the sequence numbers); an
// ACK_OK only after the ack record is durable and applied; NACK_OK after the
// delivery state changed. Requests that failed get an ERROR frame with
// their code. The stage encodes into one reused buffer per goroutine and
// releases every Request it answers. One goroutine (work.Runner).
package ack
