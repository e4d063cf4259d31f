package netio

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/swarmmq/swarmmq/frame"
)

// ProducerKeySize is the size of Options.ProducerKey.
const ProducerKeySize = 32

// Producer returns the producer id of the session the connection holds
// (see PRODUCER in docs/protocol.md), or 0 before it sent PRODUCER. Safe
// for concurrent use.
func (c *Conn) Producer() uint64 { return c.producer.Load() }

// producerSession answers PRODUCER: it opens a new producer session (id 0)
// or resumes the one the id and token name, binds it to the connection
// and answers PRODUCER_OK. A connection holds at most one session for its
// life. A wrong token is answered BAD_PRODUCER (not fatal).
//
// A session is the pair (id, token): the id is 64 random bits, the token
// the first 16 bytes of HMAC-SHA256(ProducerKey, id), so the server keeps
// nothing per session to check a resume, and a resume works after a
// restart as long as ProducerKey is the same. Only the client that got
// PRODUCER_OK knows the token: consumers see producer ids in messages,
// but cannot publish in the session.
func (c *Conn) producerSession(in inbuf, f frame.Frame) (closeNow bool) {
	opts := &c.srv.opts
	p, err := frame.DecodeProducer(f.Body)
	if err != nil {
		return c.fail(in, f.Corr, frame.CodeOf(err), err.Error())
	}
	code, msg := frame.CodeOK, ""
	switch {
	case len(opts.ProducerKey) == 0:
		code, msg = frame.CodeBadRequest, "this server does not open producer sessions"
	case c.producer.Load() != 0:
		code, msg = frame.CodeBadRequest, fmt.Sprintf("this connection already holds producer session %d", c.producer.Load())
	case p.ID == 0:
		p.ID = newProducerID()
	case !hmac.Equal(p.Token[:], producerToken(opts.ProducerKey, p.ID)):
		code, msg = frame.CodeBadProducer, fmt.Sprintf("wrong token for producer session %d: open a new session", p.ID)
	}
	if code != frame.CodeOK {
		c.srv.metrics.protocolErrors.Inc()
		c.reply(func(dst []byte) []byte { return frame.AppendError(dst, f.Corr, code, msg) }, false)
		return false
	}
	copy(p.Token[:], producerToken(opts.ProducerKey, p.ID))
	c.producer.Store(p.ID)
	c.reply(func(dst []byte) []byte {
		return frame.AppendProducerOK(dst, f.Corr, frame.ProducerOK{ID: p.ID, Token: p.Token, Window: opts.ProducerWindow})
	}, false)
	c.srv.opts.Logger.Debug("netio: producer session", "conn", c.id, "producer", p.ID)
	return false
}

// newProducerID returns a random non-zero producer id.
func newProducerID() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// producerToken returns the token of producer id under key.
func producerToken(key []byte, id uint64) []byte {
	m := hmac.New(sha256.New, key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	m.Write(b[:])
	return m.Sum(nil)[:frame.TokenSize]
}
