package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/swarmmq/swarmmq/client"
)

// printer writes deliveries to a buffered stdout: payloads one per line,
// or JSON objects one per line. Not safe for concurrent use.
type printer struct {
	w    *bufio.Writer
	json bool
	enc  *json.Encoder
}

func newPrinter(w *bufio.Writer, asJSON bool) *printer {
	p := &printer{w: w, json: asJSON}
	if asJSON {
		p.enc = json.NewEncoder(w)
		p.enc.SetEscapeHTML(false)
	}
	return p
}

// record is the JSON form of a delivery. A payload that is not valid UTF-8
// is base64 (standard, padded) and PayloadBase64 says so. KeyID is the
// key that sealed it (0: not sealed); the payload is the plaintext.
// Headers, when the message has any, maps each key to its values in
// order.
type record struct {
	Destination   string              `json:"destination"`
	Group         string              `json:"group"`
	Seq           uint64              `json:"seq"`
	Attempt       uint32              `json:"attempt"`
	ID            string              `json:"id"`
	Timestamp     string              `json:"timestamp"`
	Producer      string              `json:"producer"`
	KeyID         uint32              `json:"key_id"`
	Headers       map[string][]string `json:"headers,omitempty"`
	Payload       string              `json:"payload"`
	PayloadBase64 bool                `json:"payload_base64,omitempty"`
}

func toRecord(d client.Delivery) record {
	r := record{
		Destination: d.Destination, Group: d.Group, Seq: d.Seq, Attempt: d.Attempt,
		ID:        hex.EncodeToString(d.ID[:]),
		Timestamp: d.Timestamp.UTC().Format(time.RFC3339Nano),
		Producer:  strconv.FormatUint(d.Producer, 16),
		KeyID:     d.KeyID,
		Headers:   d.Headers,
	}
	if utf8.Valid(d.Payload) {
		r.Payload = string(d.Payload)
	} else {
		r.Payload, r.PayloadBase64 = base64.StdEncoding.EncodeToString(d.Payload), true
	}
	return r
}

// print writes a batch and flushes it.
func (p *printer) print(ds []client.Delivery) error {
	for _, d := range ds {
		if p.json {
			if err := p.enc.Encode(toRecord(d)); err != nil {
				return err
			}
			continue
		}
		_, _ = p.w.Write(d.Payload)
		_ = p.w.WriteByte('\n')
	}
	return p.w.Flush()
}
