package frame

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// testFrame is an owned, comparable form of a frame for the tests: the
// datadriven commands parse and print it, the property test generates it,
// and encodeFrame/decodeFrame go through the package's public API.
type testFrame struct {
	Header
	// Body is nil (PING, PONG), Hello, HelloOK, Fetch or one of the body
	// types below.
	Body any
}

type publishBody struct {
	Dest []byte
	Msgs []Message
}

type delivery struct {
	Seq     uint64
	Attempt uint32
	Msg     Message
}

type messagesBody struct{ Deliveries []delivery }

type publishAckBody struct{ Entries []AckEntry }

type ackBody struct {
	Dest, Group []byte
	Seqs        []uint64
}

type nackBody struct {
	Dest, Group []byte
	DelayMS     uint32
	Seqs        []uint64
}

type termBody struct {
	Dest, Group, Reason []byte
	Seqs                []uint64
}

type progressBody ackBody

type countBody struct{ Count uint32 }

type errorBody struct {
	Code Code
	Msg  []byte
}

// encodeFrame appends tf with the public encoders. Message CRCs are written
// as given in the Message (so tests can write bad ones), and Flags are
// patched in, since the encoders always write 0.
func encodeFrame(dst []byte, tf testFrame) []byte {
	start := len(dst)
	switch b := tf.Body.(type) {
	case nil:
		switch tf.Type {
		case TypePing:
			dst = AppendPing(dst, tf.Corr)
		case TypeMetadata:
			dst = AppendMetadata(dst, tf.Corr)
		default:
			dst = AppendPong(dst, tf.Corr)
		}
	case Hello:
		dst = AppendHello(dst, tf.Corr, b)
	case HelloOK:
		dst = AppendHelloOK(dst, tf.Corr, b)
	case publishBody:
		dst = StartPublish(dst, tf.Corr, b.Dest)
		for _, m := range b.Msgs {
			dst = appendMessageCRC(dst, m)
		}
		FinishPublish(dst, start, uint32(len(b.Msgs)))
	case publishAckBody:
		dst = AppendPublishAck(dst, tf.Corr, b.Entries)
	case Fetch:
		dst = AppendFetch(dst, tf.Corr, b)
	case messagesBody:
		dst = StartMessages(dst, tf.Corr)
		for _, d := range b.Deliveries {
			dst = AppendDelivery(dst, d.Seq, d.Attempt, appendMessageCRC(nil, d.Msg))
		}
		FinishMessages(dst, start, uint32(len(b.Deliveries)))
	case ackBody:
		dst = AppendAck(dst, tf.Corr, b.Dest, b.Group, b.Seqs)
	case nackBody:
		dst = AppendNack(dst, tf.Corr, b.Dest, b.Group, b.DelayMS, b.Seqs)
	case termBody:
		dst = AppendTerm(dst, tf.Corr, b.Dest, b.Group, b.Reason, b.Seqs)
	case progressBody:
		dst = AppendProgress(dst, tf.Corr, b.Dest, b.Group, b.Seqs)
	case countBody:
		if tf.Type == TypeAckOK {
			dst = AppendAckOK(dst, tf.Corr, b.Count)
		} else {
			dst = AppendNackOK(dst, tf.Corr, b.Count)
		}
	case errorBody:
		dst = AppendError(dst, tf.Corr, b.Code, string(b.Msg))
	case Producer:
		dst = AppendProducer(dst, tf.Corr, b)
	case ProducerOK:
		dst = AppendProducerOK(dst, tf.Corr, b)
	case Metadata:
		dst = AppendMetadataOK(dst, tf.Corr, b)
	}
	binary.BigEndian.PutUint16(dst[start+6:], tf.Flags)
	return dst
}

// appendMessageCRC appends m with AppendMessage, then overwrites the CRC
// it computed with m.CRC.
func appendMessageCRC(dst []byte, m Message) []byte {
	off := len(dst)
	dst = AppendMessage(dst, m)
	binary.BigEndian.PutUint32(dst[off+msgCRC:], m.CRC)
	return dst
}

// own copies b; empty becomes nil so that decoded values compare equal to
// generated ones.
func own(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

func ownMessage(m Message) Message {
	m.Payload = own(m.Payload)
	return m
}

// decodeFrame decodes f's body with the DecodeX function of its type and
// copies the result. It checks the iterators' invariants on the way.
func decodeFrame(t testing.TB, f Frame, maxCount int) (testFrame, error) {
	tf := testFrame{Header: f.Header}
	var err error
	switch f.Type {
	case TypePing, TypePong, TypeMetadata:
		err = DecodeEmpty(f.Body)
	case TypeHello:
		var h Hello
		h, err = DecodeHelloFlags(f.Body, f.Flags)
		h.ClientID = own(h.ClientID)
		tf.Body = h
	case TypeHelloOK:
		var h HelloOK
		h, err = DecodeHelloOKFlags(f.Body, f.Flags)
		h.NodeID = own(h.NodeID)
		tf.Body = h
	case TypePublish:
		tf.Body, err = decodePublishBody(t, f.Body, maxCount)
	case TypePublishAck:
		tf.Body, err = decodePublishAckBody(f.Body)
	case TypeFetch:
		var fe Fetch
		fe, err = DecodeFetchFlags(f.Body, f.Flags)
		fe.Destination, fe.Group = own(fe.Destination), own(fe.Group)
		tf.Body = fe
	case TypeMessages:
		tf.Body, err = decodeMessagesBody(t, f.Body)
	case TypeAck, TypeNack, TypeProgress:
		tf.Body, err = decodeSeqsBody(f.Type, f.Body)
	case TypeTerm:
		tf.Body, err = decodeTermBody(f.Body)
	case TypeAckOK, TypeNackOK:
		var c uint32
		c, err = decodeCount(f.Body)
		tf.Body = countBody{Count: c}
	case TypeError:
		code, msg, e := DecodeError(f.Body)
		tf.Body, err = errorBody{Code: code, Msg: own(msg)}, e
	case TypeProducer:
		tf.Body, err = DecodeProducer(f.Body)
	case TypeProducerOK:
		tf.Body, err = DecodeProducerOK(f.Body)
	case TypeMetadataOK:
		tf.Body, err = decodeMetadataBody(f.Body)
	default:
		t.Fatalf("Decode returned type %v", f.Type)
	}
	if err != nil {
		return testFrame{Header: f.Header}, err
	}
	return tf, nil
}

func decodePublishBody(t testing.TB, body []byte, maxCount int) (any, error) {
	p, err := DecodePublish(body, maxCount)
	if err != nil {
		return nil, err
	}
	pb := publishBody{Dest: own(p.Destination)}
	var joined []byte
	for m, raw, ok := p.Next(); ok; m, raw, ok = p.Next() {
		checkRaw(t, m, raw)
		joined = append(joined, raw...)
		pb.Msgs = append(pb.Msgs, ownMessage(m))
	}
	if len(pb.Msgs) != int(p.Count) || !bytes.Equal(joined, p.Raw) {
		t.Fatalf("Next yielded %d messages (%d bytes), want %d (%d bytes)",
			len(pb.Msgs), len(joined), p.Count, len(p.Raw))
	}
	return pb, nil
}

func decodeMessagesBody(t testing.TB, body []byte) (any, error) {
	ms, err := DecodeMessages(body)
	if err != nil {
		return nil, err
	}
	var mb messagesBody
	for d, ok := ms.Next(); ok; d, ok = ms.Next() {
		checkRaw(t, d.Message, d.Raw)
		mb.Deliveries = append(mb.Deliveries,
			delivery{Seq: d.Seq, Attempt: d.Attempt, Msg: ownMessage(d.Message)})
	}
	if len(mb.Deliveries) != int(ms.Count) {
		t.Fatalf("Next yielded %d deliveries, want %d", len(mb.Deliveries), ms.Count)
	}
	return mb, nil
}

// checkRaw checks that raw is m's exact wire form.
func checkRaw(t testing.TB, m Message, raw []byte) {
	m2, n, err := ParseMessage(raw)
	if err != nil || n != len(raw) || !bytes.Equal(m2.Payload, m.Payload) || m2.CRC != m.CRC {
		t.Fatalf("raw %x is not the wire form of %+v (n=%d err=%v)", raw, m, n, err)
	}
	if got := m.Verify(); got != (checksum(raw) == m.CRC) {
		t.Fatalf("Verify()=%v disagrees with the CRC of the raw bytes", got)
	}
}

func decodePublishAckBody(body []byte) (any, error) {
	pa, err := DecodePublishAck(body)
	if err != nil {
		return nil, err
	}
	var b publishAckBody
	for i := range pa.Len() {
		b.Entries = append(b.Entries, pa.Entry(i))
	}
	return b, nil
}

func decodeSeqsBody(typ Type, body []byte) (any, error) {
	if typ == TypeAck || typ == TypeProgress {
		decode := map[Type]func([]byte) (Ack, error){TypeAck: DecodeAck, TypeProgress: DecodeProgress}[typ]
		a, err := decode(body)
		if err != nil {
			return nil, err
		}
		b := ackBody{Dest: own(a.Destination), Group: own(a.Group)}
		for i := range a.Len() {
			b.Seqs = append(b.Seqs, a.Seq(i))
		}
		if typ == TypeProgress {
			return progressBody(b), nil
		}
		return b, nil
	}
	n, err := DecodeNack(body)
	if err != nil {
		return nil, err
	}
	b := nackBody{Dest: own(n.Destination), Group: own(n.Group), DelayMS: n.DelayMS}
	for i := range n.Len() {
		b.Seqs = append(b.Seqs, n.Seq(i))
	}
	return b, nil
}

func decodeTermBody(body []byte) (any, error) {
	tm, err := DecodeTerm(body)
	if err != nil {
		return nil, err
	}
	b := termBody{Dest: own(tm.Destination), Group: own(tm.Group), Reason: own(tm.Reason)}
	for i := range tm.Len() {
		b.Seqs = append(b.Seqs, tm.Seq(i))
	}
	return b, nil
}

// decodeMetadataBody decodes a METADATA_OK body and copies its addresses
// (an empty address, the answering node, becomes nil).
func decodeMetadataBody(body []byte) (any, error) {
	var m Metadata
	if err := DecodeMetadataOK(body, &m); err != nil {
		return nil, err
	}
	for i, n := range m.Nodes {
		m.Nodes[i] = own(n)
	}
	return m, nil
}
