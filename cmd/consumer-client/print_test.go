package main

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/swarmmq/swarmmq/client"
)

func TestPrint(t *testing.T) {
	ds := []client.Delivery{
		{Destination: "q", Group: "g", Seq: 1, Attempt: 1, ID: [16]byte{0xab, 15: 1},
			Timestamp: time.Unix(1700000000, 123456789), Producer: 0xbeef, KeyID: 2, Payload: []byte("Hello <SwarmMQ>")},
		{Destination: "q", Group: "g", Seq: 2, Attempt: 3, Timestamp: time.Unix(0, 0), Payload: []byte{0xff, 0x00}},
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	require.NoError(t, newPrinter(w, false).print(ds))
	require.Equal(t, "Hello <SwarmMQ>\n\xff\x00\n", buf.String())

	buf.Reset()
	require.NoError(t, newPrinter(w, true).print(ds))
	require.Equal(t,
		`{"destination":"q","group":"g","seq":1,"attempt":1,"id":"ab000000000000000000000000000001",`+
			`"timestamp":"2023-11-14T22:13:20.123456789Z","producer":"beef","key_id":2,"payload":"Hello <SwarmMQ>"}`+"\n"+
			`{"destination":"q","group":"g","seq":2,"attempt":3,"id":"00000000000000000000000000000000",`+
			`"timestamp":"1970-01-01T00:00:00Z","producer":"0","key_id":0,"payload":"/wA=","payload_base64":true}`+"\n",
		buf.String())
}

// TestPrintHeaders: --json shows a message's headers (each key with its
// values in order); the bare-payload format stays one payload a line.
func TestPrintHeaders(t *testing.T) {
	ds := []client.Delivery{{Destination: "q", Group: "g", Seq: 1, Attempt: 1, Timestamp: time.Unix(0, 0),
		Headers: client.Headers{"traceparent": {"00-ab-cd-01"}, "x": {"1", "2"}}, Payload: []byte("hi")}}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	require.NoError(t, newPrinter(w, false).print(ds))
	require.Equal(t, "hi\n", buf.String())
	buf.Reset()
	require.NoError(t, newPrinter(w, true).print(ds))
	require.Equal(t, `{"destination":"q","group":"g","seq":1,"attempt":1,"id":"00000000000000000000000000000000",`+
		`"timestamp":"1970-01-01T00:00:00Z","producer":"0","key_id":0,"headers":{"traceparent":["00-ab-cd-01"],"x":["1","2"]},`+
		`"payload":"hi"}`+"\n", buf.String())
}
