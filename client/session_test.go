package client

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client/clienttest"
	"github.com/swarmmq/swarmmq/frame"
)

// publishFrames returns the PUBLISH frames s received.
func publishFrames(s *clienttest.Server) []clienttest.Frame {
	var out []clienttest.Frame
	for _, f := range s.Frames() {
		if f.Type == frame.TypePublish {
			out = append(out, f)
		}
	}
	return out
}

// TestProducerSession: the Client opens a session at connect, stamps its
// id on every message and marks its PUBLISH frames SESSION; PublishWithID
// frames are not marked (application ids).
func TestProducerSession(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true})
	c := dial(t, s, nil)
	require.NotZero(t, c.ProducerID())
	_, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.NoError(t, err)
	_, err = c.PublishWithID(testCtx(t), "q", [16]byte{1}, []byte("b"))
	require.NoError(t, err)
	pubs := publishFrames(s)
	require.Len(t, pubs, 2)
	require.Equal(t, frame.FlagSession, pubs[0].Flags)
	require.Zero(t, pubs[1].Flags)
	for _, m := range s.Messages("q") {
		require.Equal(t, c.ProducerID(), m.Producer)
	}
}

// TestNoProducerSession: a node that opens no sessions (BAD_REQUEST to
// PRODUCER) still serves the Client, which then publishes application ids.
func TestNoProducerSession(t *testing.T) {
	s := startServer(t, clienttest.Options{Record: true, Intercept: func(c *clienttest.Conn, f clienttest.Frame) bool {
		if f.Type != frame.TypeProducer {
			return false
		}
		_ = c.Send(frame.AppendError(nil, f.Corr, frame.CodeBadRequest, "no sessions here"))
		return true
	}})
	c := dial(t, s, nil)
	require.Zero(t, c.ProducerID())
	res, err := c.Publish(testCtx(t), "q", []byte("a"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), res[0].Seq)
	pubs := publishFrames(s)
	require.Len(t, pubs, 1)
	require.Zero(t, pubs[0].Flags)
}

// TestResumeSession: a Client given another's Session resumes it: same
// producer id, stamped on its messages.
func TestResumeSession(t *testing.T) {
	s := startServer(t, clienttest.Options{})
	first := dial(t, s, nil)
	sess := first.Session()
	require.NotZero(t, sess.ID)
	again := dial(t, s, func(o *Options) { o.Session = sess })
	require.Equal(t, sess, again.Session())
	require.Equal(t, sess.ID, again.ProducerID())
	forged := dial(t, s, func(o *Options) { o.Session = Session{ID: sess.ID} })
	require.NotEqual(t, sess.ID, forged.ProducerID(), "a wrong token opens a new session")
}
